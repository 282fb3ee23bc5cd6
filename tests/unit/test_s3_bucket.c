/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_s3_bucket.c: where create_bucket sends its requests (virtual-hosted
 * or path-style URL) and how an S3 error body's code is read. The helpers
 * are static, so s3_bucket.c is compiled into this test
 * (providers/s3/local.mk); the requests are test_s3_policy's.
 */
#include "s3_bucket.c"

#include <check.h>

static void url_is(const char *endpoint, const char *bucket, const char *want)
{
	struct s3_bucket_config c;
	char *url;

	memset(&c, 0, sizeof c);
	c.endpoint = endpoint;
	c.bucket = bucket;
	c.region = "eu-west-3";
	url = s3_bucket_url(&c);
	ck_assert_ptr_nonnull(url);
	ck_assert_str_eq(url, want);
	free(url);
}

START_TEST(test_url)
{
	/* AWS: virtual-hosted, or path-style when the name has a dot (TLS) */
	url_is(NULL, "stream-bucket", "https://stream-bucket.s3.eu-west-3.amazonaws.com/");
	url_is(NULL, "media.example.com", "https://s3.eu-west-3.amazonaws.com/media.example.com");
	/* a custom endpoint: path-style, its trailing slashes dropped */
	url_is("http://127.0.0.1:9000", "b", "http://127.0.0.1:9000/b");
	url_is("http://127.0.0.1:9000//", "b", "http://127.0.0.1:9000/b");
	url_is("https://minio.example/", "a.b", "https://minio.example/a.b");
	/* the name is percent-encoded */
	url_is("http://h", "a b", "http://h/a%20b");
}
END_TEST

static void code_is(const char *body, int too_big, size_t outsz, const char *want)
{
	struct s3_http_response r;
	char out[64];

	memset(&r, 0, sizeof r);
	r.body = (char *)(uintptr_t)body;
	r.body_len = body != NULL ? strlen(body) : 0;
	r.too_big = too_big;
	memset(out, 'X', sizeof out);
	s3_bucket_error_code(&r, out, outsz);
	ck_assert_str_eq(out, want);
}

START_TEST(test_error_code)
{
	code_is("<Error><Code>BucketAlreadyOwnedByYou</Code><Message>m</Message></Error>", 0, 64,
	        "BucketAlreadyOwnedByYou");
	/* only [A-Za-z0-9.] survive: nothing to inject into a log line */
	code_is("<Error><Code>Bad Code\n-x_1.y</Code></Error>", 0, 64, "BadCodex1.y");
	/* cut to the buffer */
	code_is("<Error><Code>AccessDenied</Code></Error>", 0, 7, "Access");
	/* no code: a body that is not an S3 error, none, or one cut short */
	code_is("<html>502</html>", 0, 64, "");
	code_is(NULL, 0, 64, "");
	code_is("<Error><Code>AccessDenied</Code></Error>", 1, 64, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s3_bucket");
	TCase *tc = tcase_create("helpers");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_error_code);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
