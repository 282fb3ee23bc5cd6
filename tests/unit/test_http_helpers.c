/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_http_helpers.c: the pure helpers of the HTTP frontend (listen
 * syntax, the Host header, the DNS-rebinding and cross-origin rules). They
 * are static in http.c, so http.c is compiled into this test; the other
 * sources of the plugin are linked beside it (frontends/http/local.mk).
 */
#include "http.c"

#include <check.h>

/* ---- http_parse_listen ---------------------------------------------------- */

static void listen_ok(const char *item, const char *host, unsigned port, int v6, int loopback)
{
	struct http_tls_addr a;
	const char *why = "unset";
	int lo = -1;

	ck_assert_msg(http_parse_listen(item, &a, &lo, &why) == 0, "%s: %s", item,
	              why ? why : "(null)");
	ck_assert_ptr_null(why);
	ck_assert_str_eq(a.host, host);
	ck_assert_uint_eq(a.port, port);
	ck_assert_int_eq(a.is_v6, v6);
	ck_assert_int_eq(lo, loopback);
	ck_assert_ptr_eq(a.shown, item);
}

static void listen_bad(const char *item, const char *want_why)
{
	struct http_tls_addr a;
	const char *why = NULL;
	int lo = -1;

	ck_assert_int_eq(http_parse_listen(item, &a, &lo, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want_why) != NULL, "%s: got '%s', want '%s'",
	              item ? item : "(null)", why, want_why);
}

START_TEST(test_parse_listen_ok)
{
	listen_ok("127.0.0.1:8080", "127.0.0.1", 8080, 0, 1);
	listen_ok("127.8.9.10:1", "127.8.9.10", 1, 0, 1);
	listen_ok("0.0.0.0:65535", "0.0.0.0", 65535, 0, 0);
	listen_ok("192.0.2.7:443", "192.0.2.7", 443, 0, 0);
	listen_ok("[::1]:9", "::1", 9, 1, 1);
	listen_ok("[::]:80", "::", 80, 1, 0);
	listen_ok("[2001:db8::1]:8443", "2001:db8::1", 8443, 1, 0);
}
END_TEST

START_TEST(test_parse_listen_refused)
{
	char longer[HTTP_ADDR_MAX + 8];

	listen_bad(NULL, "is empty or too long");
	listen_bad("", "is empty or too long");
	memset(longer, '1', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	listen_bad(longer, "is empty or too long");
	listen_bad("8080", "needs a host");
	listen_bad("[::1]8080", "must be \"[IPv6 address]:port\"");
	listen_bad("[::1:8080", "must be \"[IPv6 address]:port\"");
	listen_bad("127.0.0.1:0", "has no valid port (1-65535)");
	listen_bad("127.0.0.1:65536", "has no valid port (1-65535)");
	listen_bad("127.0.0.1:", "has no valid port (1-65535)");
	listen_bad("127.0.0.1:80x", "has no valid port (1-65535)");
	listen_bad("127.0.0.1:-80", "has no valid port (1-65535)");
	listen_bad("localhost:80", "host names are not resolved");
	listen_bad("::1:80", "host names are not resolved"); /* v6 needs brackets */
	listen_bad("[127.0.0.1]:80", "no valid IPv6 address");
	listen_bad("[not-an-address]:80", "no valid IPv6 address");
}
END_TEST

/* ---- http_host_name --------------------------------------------------------- */

static void host_name_ok(const char *value, const char *want)
{
	char out[64];
	ck_assert_msg(http_host_name(value, out, sizeof out) == 0, "%s refused", value);
	ck_assert_str_eq(out, want);
}

static void host_name_bad(const char *value)
{
	char out[64];
	ck_assert_msg(http_host_name(value, out, sizeof out) == -1, "%s accepted", value);
}

START_TEST(test_host_name)
{
	char small[4];

	host_name_ok("[::1]:8080", "::1");
	host_name_ok("[::1]", "::1");
	host_name_ok("Example.COM:80", "Example.COM");
	host_name_ok("example.com", "example.com");
	host_name_ok("127.0.0.1:65535", "127.0.0.1");
	host_name_bad("example.com:");
	host_name_bad("example.com:123456");
	host_name_bad("example.com:8x");
	host_name_bad("example.com:80:90");
	host_name_bad("[::1");
	host_name_bad("[::1]x");
	host_name_bad("[]:80");
	host_name_bad(":80");
	host_name_bad("");
	/* what does not fit is refused, not cut */
	ck_assert_int_eq(http_host_name("abcd", small, sizeof small), -1);
	ck_assert_int_eq(http_host_name("abc", small, sizeof small), 0);
	ck_assert_str_eq(small, "abc");
}
END_TEST

/* ---- http_host_allowed ------------------------------------------------------ */

START_TEST(test_host_allowed_default)
{
	struct http_frontend fe;

	memset(&fe, 0, sizeof fe);
	/* no tokens, no allowed_hosts: IP literals and localhost only */
	ck_assert_int_eq(http_host_allowed(&fe, NULL), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "127.0.0.1:8080"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "192.0.2.1"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "[::1]:8080"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "LocalHost:8080"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "rebind.example:8080"), 0);
	ck_assert_int_eq(http_host_allowed(&fe, "localhost.example"), 0);
	ck_assert_int_eq(http_host_allowed(&fe, "127.0.0.1:port"), 0);
	/* with tokens: any well-formed Host */
	fe.has_tokens = 1;
	ck_assert_int_eq(http_host_allowed(&fe, "rebind.example:8080"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "127.0.0.1:port"), 0);
}
END_TEST

START_TEST(test_host_allowed_listed)
{
	static char api_name[] = "api.example.com", media_name[] = "media.example", star[] = "*";
	char *listed[] = { api_name, media_name, NULL };
	char *any[] = { star, NULL };
	struct http_frontend fe;

	memset(&fe, 0, sizeof fe);
	fe.allowed_hosts = listed;
	ck_assert_int_eq(http_host_allowed(&fe, "API.Example.com:443"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "media.example"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "127.0.0.1"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "localhost"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "other.example"), 0);
	ck_assert_int_eq(http_host_allowed(&fe, "api.example.com.evil"), 0);
	/* a list is the rule, tokens or not */
	fe.has_tokens = 1;
	ck_assert_int_eq(http_host_allowed(&fe, "other.example"), 0);
	fe.allowed_hosts = any;
	fe.has_tokens = 0;
	ck_assert_int_eq(http_host_allowed(&fe, "other.example:1"), 1);
	ck_assert_int_eq(http_host_allowed(&fe, "other.example:x"), 0);
}
END_TEST

/* ---- http_origin_allowed ---------------------------------------------------- */

START_TEST(test_origin_allowed)
{
	struct http_frontend fe;
	const char *host = "127.0.0.1:8080";

	memset(&fe, 0, sizeof fe);
	/* not a browser, or a method that changes nothing */
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", NULL, host, NULL), 1);
	ck_assert_int_eq(http_origin_allowed(&fe, "GET", "http://evil.example", host, NULL), 1);
	ck_assert_int_eq(http_origin_allowed(&fe, "HEAD", "http://evil.example", host, NULL), 1);
	ck_assert_int_eq(http_origin_allowed(&fe, "OPTIONS", "http://evil.example", host, NULL),
	                 1);
	/* an allowed CORS origin */
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "https://app.example", host,
	                                     "https://app.example"),
	                 1);
	/* the listener's own origin, either scheme, Host compared without case */
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "http://127.0.0.1:8080", host, NULL), 1);
	ck_assert_int_eq(http_origin_allowed(&fe, "DELETE", "https://127.0.0.1:8080", host, NULL),
	                 1);
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "http://Api.Example", "api.example",
	                                     NULL),
	                 1);
	/* a foreign page */
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "http://evil.example", host, NULL), 0);
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "http://127.0.0.1:8081", host, NULL), 0);
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "http://127.0.0.1", host, NULL), 0);
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "ftp://127.0.0.1:8080", host, NULL), 0);
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "null", host, NULL), 0);
	ck_assert_int_eq(http_origin_allowed(&fe, "post", "http://evil.example", host, NULL), 0);
	/* an Origin but no Host: nothing to compare with */
	ck_assert_int_eq(http_origin_allowed(&fe, "POST", "http://127.0.0.1:8080", NULL, NULL), 0);
}
END_TEST

static Suite *http_helpers_suite(void)
{
	Suite *s = suite_create("http_helpers");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse_listen_ok);
	tcase_add_test(tc, test_parse_listen_refused);
	tcase_add_test(tc, test_host_name);
	tcase_add_test(tc, test_host_allowed_default);
	tcase_add_test(tc, test_host_allowed_listed);
	tcase_add_test(tc, test_origin_allowed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_helpers_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
