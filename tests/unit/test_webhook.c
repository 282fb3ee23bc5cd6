/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_webhook.c: Check suite "webhook": what framework/webhook.c promises
 * receivers and operators without a network: the X-Broadcast-Signature
 * value (a vector computed with Python's hmac, the recipe of
 * docs/webhooks.md), the delivery id, and the validation of `webhooks:`
 * (every refusal with FILE:LINE:COLUMN and no secret in the message,
 * derived names, the secret registered for redaction). Deliveries
 * themselves are tests/integration/test_webhooks.py's.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bc_webhook.h"

#define SECRET "whsec-0123456789abcdef"

START_TEST(signature_vector)
{
	char sig[128];
	const char *body = "{\"cursor\":7}";

	bc_webhook_sign(SECRET, 1767268805, body, strlen(body), sig, sizeof sig);
	/* python3: hmac.new(b"whsec-0123456789abcdef", b'1767268805.{"cursor":7}',
	 * hashlib.sha256).hexdigest() */
	ck_assert_str_eq(sig, "t=1767268805,v1=f8ba1db91d41c629ca7dabd673c1cbcc0fd7fb87eede2d40b7bf"
	                      "bca3240ed358");
}
END_TEST

START_TEST(delivery_id)
{
	char id[33], other[33];

	/* The first half of sha256("app:7"). */
	bc_webhook_delivery_id("app", 7, id);
	ck_assert_str_eq(id, "247336b8d52eaab8bbb8e2e830591a99");
	bc_webhook_delivery_id("app", 8, other);
	ck_assert_str_ne(id, other);
	bc_webhook_delivery_id("app2", 7, other);
	ck_assert_str_ne(id, other);
}
END_TEST

/* Build the set of a YAML text's `webhooks`: the status, and *msg. */
static enum bc_status build(const char *yaml, struct bc_webhook_set **set, char **msg)
{
	struct bc_doc *doc = NULL;
	enum bc_status st;

	*msg = NULL;
	ck_assert_int_eq(bc_doc_load_string("t.yaml", yaml, strlen(yaml), &doc, msg), BC_OK);
	st = bc_webhook_set_build(doc, bc_node_get(doc->root, "webhooks"), set, msg);
	bc_doc_free(doc);
	return st;
}

static void refused(const char *yaml, const char *want)
{
	struct bc_webhook_set *set = NULL;
	char *msg = NULL;

	ck_assert_msg(build(yaml, &set, &msg) == BC_E_INVALID, "accepted: %s", yaml);
	ck_assert_ptr_null(set);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strncmp(msg, "t.yaml:", 7) == 0, "no position: %s", msg);
	ck_assert_msg(strstr(msg, want) != NULL, "want '%s' in: %s", want, msg);
	ck_assert_msg(strstr(msg, SECRET) == NULL, "secret in: %s", msg);
	free(msg);
}

START_TEST(validation)
{
	refused("webhooks: {url: x}\n", "`webhooks` must be a list");
	refused("webhooks:\n  - {url: \"ftp://h/x\", secret: " SECRET "}\n",
	        "webhook 1: url must be an http:// or https:// URL");
	refused("webhooks:\n  - {url: \"https:///x\", secret: " SECRET "}\n", "with a host");
	refused("webhooks:\n  - {url: \"https://h/a b\", secret: " SECRET "}\n", "url must be");
	refused("webhooks:\n  - {url: \"https://h\", secret: short}\n",
	        "secret must be at least 16 characters");
	refused("webhooks:\n  - {url: \"https://h\"}\n", "secret");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", events: [x.y]}\n",
	        "unknown event type 'x.y'");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", name: \"a b\"}\n",
	        "name 'a b' must be");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", retry_base: 2s, "
	        "retry_max: 1s}\n", "retry_max must be at least retry_base");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", timeout: 20s}\n",
	        "lease must be at least twice the timeout");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", ca_file: "
	        "/no-such-folder-here/ca.pem}\n", "ca_file /no-such-folder-here/ca.pem cannot be read");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", ca_file: /}\n",
	        "ca_file / cannot be read: not a file");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET "}\n"
	        "  - {url: \"https://h\", secret: " SECRET "}\n", "two webhooks are named 'wh-");
	refused("webhooks:\n  - {url: \"https://h\", secret: " SECRET ", retries: 3}\n", "retries");
}
END_TEST

START_TEST(names_and_defaults)
{
	struct bc_webhook_set *set = NULL;
	char *msg = NULL;

	ck_assert_int_eq(build("webhooks: []\n", &set, &msg), BC_OK);
	ck_assert_ptr_null(set);
	ck_assert_int_eq(build("log: {level: info}\n", &set, &msg), BC_OK);
	ck_assert_ptr_null(set);
	ck_assert_int_eq(build("webhooks:\n  - {url: \"https://h/x\", secret: " SECRET "}\n"
	                       "  - {name: two, url: \"http://h:1/y?q=1\", secret: " SECRET
	                       ", events: stream.stopped}\n", &set, &msg), BC_OK);
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(set->n, 2);
	/* wh- and 12 hex digits of sha256("https://h/x") */
	ck_assert_int_eq((int)strlen(set->names[0]), 15);
	ck_assert(strncmp(set->names[0], "wh-", 3) == 0);
	ck_assert_str_eq(set->names[1], "two");
	ck_assert_int_eq(bc_config_int(set->cfgs[0], "timeout"), 10000);
	ck_assert_int_eq(bc_config_int(set->cfgs[0], "max_attempts"), 20);
	ck_assert_int_eq(bc_config_int(set->cfgs[0], "max_age"), 86400000);
	ck_assert_int_eq(bc_config_int(set->cfgs[0], "retry_base"), 1000);
	ck_assert_int_eq(bc_config_int(set->cfgs[0], "retry_max"), 300000);
	ck_assert_int_eq(bc_config_int(set->cfgs[0], "lease"), 30000);
	ck_assert_uint_eq(bc_config_list_len(set->cfgs[1], "events"), 1);
	bc_webhook_set_free(set);
}
END_TEST

static Suite *webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, signature_vector);
	tcase_add_test(tc, delivery_id);
	tcase_add_test(tc, validation);
	tcase_add_test(tc, names_and_defaults);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
