/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rtmp_form.c: Check suite for the rtmp provider's input helpers,
 * which its callback listener relies on before any key is looked at:
 * rtmp_form.c (nginx-rtmp's form bodies: duplicates, bad escapes, control
 * and non-ASCII bytes, prefixes of other names, lengths), rtmp_allow.c (the
 * `allow` option, parsed from a configuration built by the framework against
 * provider_rtmp.so's real option table: defaults, prefixes, IPv4-mapped
 * IPv6, refused items) and rtmp_keys.c (one publisher at a time, a stale
 * publisher and its reaping, a done from another client, resume). The sources are internal
 * to the .so, so they are compiled into this test; the end-to-end paths run
 * through the daemon and nginx (tests/integration/test_rtmp*.py).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp_allow.h"
#include "rtmp_form.h"
#include "rtmp_keys.h"
#include "stubhost.h"

#define ID_A "0a1b2c3d-0000-4000-8000-00000000000a"
#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static enum rtmp_form_result get(const char *body, const char *key, char *out, size_t size)
{
	return rtmp_form_get(body, strlen(body), key, out, size);
}

START_TEST(form_reads_nginx_rtmp_bodies)
{
	const char *body = "app=live&flashver=FMLE%2F3.0&tcurl=rtmp%3A%2F%2F127.0.0.1%3A1935%2Flive"
	                   "&addr=127.0.0.1&clientid=12&call=publish&name=k3y_-Z&type=live";
	char v[64];

	ck_assert_int_eq(get(body, "name", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "k3y_-Z");
	ck_assert_int_eq(get(body, "tcurl", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "rtmp://127.0.0.1:1935/live");
	ck_assert_int_eq(get(body, "flashver", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "FMLE/3.0");
	ck_assert_int_eq(get("a=x+y", "a", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "x y");
	ck_assert_int_eq(get(body, "pageurl", v, sizeof(v)), RTMP_FORM_ABSENT);
	/* a name that another one starts with is not it */
	ck_assert_int_eq(get("namex=1&xname=2&name=3", "name", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "3");
	ck_assert_int_eq(get("name=", "name", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(get("name&a=1", "name", v, sizeof(v)), RTMP_FORM_OK);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(get("", "name", v, sizeof(v)), RTMP_FORM_ABSENT);
}
END_TEST

START_TEST(form_refuses_what_nginx_rtmp_never_sends)
{
	char v[8];
	static const char *const bad[] = {
		"name=a&name=b",   /* twice: which would count? */
		"name=a&name",
		"name=%",          /* cut escapes */
		"name=%4",
		"name=%G1",
		"name=%0A",        /* control characters, escaped or not */
		"name=a\tb",
		"name=%FF",        /* not ASCII, escaped or not */
		"name=\xc3\xa9",
		"name=%00",
		"name=12345678",   /* longer than out */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(get(bad[i], "name", v, sizeof(v)) == RTMP_FORM_BAD, "%s", bad[i]);
	ck_assert_int_eq(get("name=1234567", "name", v, sizeof(v)), RTMP_FORM_OK);
}
END_TEST

/* The allow list of a configuration the framework built from `allow`
 * items (NULL: the option unset), or NULL and *st when refused. */
static struct rtmp_allow *allow_of(const char *const *items, enum bc_status *st,
                                   struct bc_error *err)
{
	const struct bc_plugin *plugin;
	const char *kv[16];
	struct stubhost *sh;
	struct rtmp_allow *a = NULL;
	size_t n = 0;
	const char *so = getenv("RTMP_PROVIDER_SO");
	char path[1024];

	if (so == NULL) {
		snprintf(path, sizeof(path), "%s/providers/rtmp/.libs/provider_rtmp.so",
		         getenv("BC_BUILDDIR") ? getenv("BC_BUILDDIR") : ".");
		so = path;
	}
	plugin = stubhost_load_plugin(so, BC_KIND_PROVIDER, "rtmp");
	kv[n++] = "rtmp_url";
	kv[n++] = "rtmp://127.0.0.1/live";
	while (items != NULL && *items != NULL && n < 14) {
		kv[n++] = "allow";
		kv[n++] = *items++;
	}
	kv[n] = NULL;
	sh = stubhost_new("rtmp", plugin, kv);
	*st = rtmp_allow_parse(stubhost_api(), stubhost_config(sh), "allow", &a, err);
	stubhost_free(sh);
	return a;
}

START_TEST(allow_default_is_loopback)
{
	struct bc_error err;
	enum bc_status st;
	struct rtmp_allow *a = allow_of(NULL, &st, &err);

	ck_assert_int_eq(st, BC_OK);
	ck_assert(rtmp_allow_match(a, "127.0.0.1"));
	ck_assert(rtmp_allow_match(a, "::1"));
	ck_assert(rtmp_allow_match(a, "::ffff:127.0.0.1"));
	ck_assert(!rtmp_allow_match(a, "127.0.0.2"));
	ck_assert(!rtmp_allow_match(a, "10.0.0.1"));
	ck_assert(!rtmp_allow_match(a, "127.0.0.1/8"));
	ck_assert(!rtmp_allow_match(a, "localhost"));
	ck_assert(!rtmp_allow_match(a, ""));
	ck_assert(!rtmp_allow_match(a, NULL));
	rtmp_allow_free(a);
}
END_TEST

START_TEST(allow_networks)
{
	static const char *const items[] = { "10.0.0.0/8", "192.168.1.128/25", "fd00::/8",
		                             "203.0.113.7", NULL };
	struct bc_error err;
	enum bc_status st;
	struct rtmp_allow *a = allow_of(items, &st, &err);

	ck_assert_int_eq(st, BC_OK);
	ck_assert(rtmp_allow_match(a, "10.255.1.2"));
	ck_assert(rtmp_allow_match(a, "::ffff:10.1.2.3"));
	ck_assert(!rtmp_allow_match(a, "11.0.0.1"));
	ck_assert(rtmp_allow_match(a, "192.168.1.200"));
	ck_assert(!rtmp_allow_match(a, "192.168.1.127"));
	ck_assert(rtmp_allow_match(a, "fd12::1"));
	ck_assert(!rtmp_allow_match(a, "fe80::1"));
	ck_assert(rtmp_allow_match(a, "203.0.113.7"));
	ck_assert(!rtmp_allow_match(a, "203.0.113.8"));
	ck_assert(!rtmp_allow_match(a, "127.0.0.1"));
	rtmp_allow_free(a);
}
END_TEST

START_TEST(allow_refuses_bad_items)
{
	static const char *const bad[] = { "10.0.0.0/33", "::1/129", "1.2.3.4/", "1.2.3.4/x",
		                           "example.com", "1.2.3", "10.0.0.0/8/8", "/8" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *items[] = { "127.0.0.1", bad[i], NULL };
		struct bc_error err;
		enum bc_status st;
		struct rtmp_allow *a = allow_of(items, &st, &err);

		ck_assert_ptr_null(a);
		ck_assert_int_eq(st, BC_E_INVALID);
		ck_assert_str_eq(err.code, "rtmp.bad_allow");
		ck_assert_msg(strstr(err.message, bad[i]) != NULL, "%s", err.message);
	}
}
END_TEST

START_TEST(keys_one_publisher_at_a_time)
{
	struct rtmp_keys *k = rtmp_keys_create(stubhost_api(), 60000);
	char id[RTMP_ID_LEN + 1];
	int adopted = 0;

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(rtmp_keys_add(k, ID_A, HASH_A, 0, 0), BC_OK);
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_B, "1", "10.0.0.1", id), RTMP_KEY_UNKNOWN);
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "1", "10.0.0.1", id), RTMP_KEY_OK);
	ck_assert_str_eq(id, ID_A);
	/* a second publisher, even the same client again */
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "2", "10.0.0.2", id), RTMP_KEY_BUSY);
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "1", "10.0.0.1", id), RTMP_KEY_BUSY);
	/* updates and done only from the publisher */
	ck_assert_int_eq(rtmp_keys_update(k, HASH_A, "2", "10.0.0.2", id, &adopted),
	                 RTMP_KEY_NOT_PUBLISHER);
	ck_assert_int_eq(rtmp_keys_done(k, HASH_A, "2", id), RTMP_KEY_NOT_PUBLISHER);
	ck_assert_int_eq(rtmp_keys_update(k, HASH_A, "1", "10.0.0.1", id, &adopted), RTMP_KEY_OK);
	ck_assert_int_eq(adopted, 0);
	ck_assert_int_eq(rtmp_keys_done(k, HASH_A, "1", id), RTMP_KEY_OK);
	ck_assert_int_eq(rtmp_keys_done(k, HASH_A, "1", id), RTMP_KEY_NOT_PUBLISHER);
	/* free again: the key publishes again while its stream is live */
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "3", "10.0.0.3", id), RTMP_KEY_OK);
	ck_assert_int_eq(rtmp_keys_remove(k, ID_A), 1);
	ck_assert_int_eq(rtmp_keys_remove(k, ID_A), 0);
	ck_assert_int_eq(rtmp_keys_update(k, HASH_A, "3", "10.0.0.3", id, &adopted),
	                 RTMP_KEY_UNKNOWN);
	ck_assert_uint_eq(rtmp_keys_count(k), 0);
	rtmp_keys_destroy(k);
}
END_TEST

START_TEST(keys_stale_expired_and_resumed)
{
	/* stale at once: a publisher never heard of again frees the key */
	struct rtmp_keys *k = rtmp_keys_create(stubhost_api(), 0);
	char id[RTMP_ID_LEN + 1];
	int adopted = 0;

	char ids[2][RTMP_ID_LEN + 1];

	ck_assert_int_eq(rtmp_keys_add(k, ID_A, HASH_A, 0, 0), BC_OK);
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "1", "10.0.0.1", id), RTMP_KEY_OK);
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "2", "10.0.0.2", id), RTMP_KEY_OK);
	/* the reaper takes the silent publisher away, once */
	ck_assert_uint_eq(rtmp_keys_reap(k, ids, 2), 1);
	ck_assert_str_eq(ids[0], ID_A);
	ck_assert_uint_eq(rtmp_keys_reap(k, ids, 2), 0);
	ck_assert_int_eq(rtmp_keys_done(k, HASH_A, "2", id), RTMP_KEY_NOT_PUBLISHER);
	rtmp_keys_destroy(k);

	k = rtmp_keys_create(stubhost_api(), 60000);
	/* expired long ago: no new publish */
	ck_assert_int_eq(rtmp_keys_add(k, ID_A, HASH_A, 1, 0), BC_OK);
	ck_assert_int_eq(rtmp_keys_publish(k, HASH_A, "1", "10.0.0.1", id), RTMP_KEY_EXPIRED);
	/* resumed: nginx may still hold a publisher; its update adopts it, even
	 * past the expiry (which bounds beginnings only), and a stop before
	 * any callback still asks to cut it */
	ck_assert_int_eq(rtmp_keys_add(k, ID_A, HASH_A, 1, 1), BC_OK);
	ck_assert_uint_eq(rtmp_keys_count(k), 1);
	ck_assert_int_eq(rtmp_keys_update(k, HASH_A, "7", "10.0.0.7", id, &adopted), RTMP_KEY_OK);
	ck_assert_int_eq(adopted, 1);
	ck_assert_str_eq(id, ID_A);
	ck_assert_int_eq(rtmp_keys_add(k, ID_A, HASH_A, 0, 1), BC_OK);
	ck_assert_int_eq(rtmp_keys_remove(k, ID_A), 1);
	rtmp_keys_destroy(k);
	rtmp_keys_destroy(NULL);
}
END_TEST

static Suite *rtmp_suite(void)
{
	Suite *s = suite_create("rtmp_form");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, form_reads_nginx_rtmp_bodies);
	tcase_add_test(tc, form_refuses_what_nginx_rtmp_never_sends);
	tcase_add_test(tc, allow_default_is_loopback);
	tcase_add_test(tc, allow_networks);
	tcase_add_test(tc, allow_refuses_bad_items);
	tcase_add_test(tc, keys_one_publisher_at_a_time);
	tcase_add_test(tc, keys_stale_expired_and_resumed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rtmp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
