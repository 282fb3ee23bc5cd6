/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_s3_sts.c: the STS request body s3_sts.c posts (the query protocol's
 * form, every value percent-encoded as SigV4 wants). The helpers are static,
 * so s3_sts.c is compiled into this test (providers/s3/local.mk); the calls
 * themselves are test_s3_policy's and test_s3_sts.py's, against the double.
 */
#include "s3_sts.c"

#include <check.h>

START_TEST(test_form_federation)
{
	struct s3_sts_call c;
	char *form;

	memset(&c, 0, sizeof c);
	c.name = "alice-0a1b2c3d";
	c.policy = "{\"Version\":\"2012-10-17\"}";
	c.duration_s = 3600;
	c.role_arn = "arn:aws:iam::1:role/ignored";
	c.external_id = "ignored";
	form = s3_sts_form(&c);
	ck_assert_ptr_nonnull(form);
	ck_assert_str_eq(form, "Action=GetFederationToken&Version=2011-06-15&Name=alice-0a1b2c3d"
	                       "&Policy=%7B%22Version%22%3A%222012-10-17%22%7D"
	                       "&DurationSeconds=3600");
	free(form);
}
END_TEST

START_TEST(test_form_assume_role)
{
	struct s3_sts_call c;
	char *form;

	memset(&c, 0, sizeof c);
	c.assume_role = 1;
	c.name = "s.1_2~x";
	c.policy = "a b/c+d=e&f";
	c.duration_s = 43200;
	c.role_arn = "arn:aws:iam::123456789012:role/uploader";
	c.external_id = "ext-42";
	form = s3_sts_form(&c);
	ck_assert_ptr_nonnull(form);
	ck_assert_str_eq(form, "Action=AssumeRole&Version=2011-06-15"
	                       "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fuploader"
	                       "&RoleSessionName=s.1_2~x&ExternalId=ext-42"
	                       "&Policy=a%20b%2Fc%2Bd%3De%26f&DurationSeconds=43200");
	free(form);
	/* an empty ExternalId is left out, as is a NULL one */
	c.external_id = "";
	form = s3_sts_form(&c);
	ck_assert_ptr_nonnull(form);
	ck_assert_ptr_null(strstr(form, "ExternalId"));
	free(form);
	c.external_id = NULL;
	form = s3_sts_form(&c);
	ck_assert_ptr_nonnull(form);
	ck_assert_ptr_null(strstr(form, "ExternalId"));
	free(form);
}
END_TEST

START_TEST(test_form_add)
{
	char *form = NULL;
	size_t len = 0;

	ck_assert_int_eq(s3_sts_form_add(&form, &len, "A", ""), 0);
	ck_assert_str_eq(form, "A=");
	ck_assert_int_eq(s3_sts_form_add(&form, &len, "B", "\xc3\xa9"), 0);
	ck_assert_str_eq(form, "A=&B=%C3%A9");
	ck_assert_uint_eq(len, strlen(form));
	free(form);
}
END_TEST

START_TEST(test_strdup0)
{
	char *s = s3_sts_strdup0("x");
	ck_assert_str_eq(s, "x");
	s3_sts_free_secret(s);
	ck_assert_ptr_null(s3_sts_strdup0(""));
	ck_assert_ptr_null(s3_sts_strdup0(NULL));
	s3_sts_free_secret(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s3_sts");
	TCase *tc = tcase_create("form");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_form_federation);
	tcase_add_test(tc, test_form_assume_role);
	tcase_add_test(tc, test_form_add);
	tcase_add_test(tc, test_strdup0);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
