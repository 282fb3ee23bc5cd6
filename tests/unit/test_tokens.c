/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tokens.c: Check suite for framework/tokens.c, the bearer tokens of a
 * frontend's tokens_file.
 *
 * Real files in a private temporary directory: parsing and its
 * "FILE:LINE: what; fix" messages, the permission check, check() and
 * generate() verified against each other.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bc_internal.h"

/* sha256("hello") and sha256("world") */
#define HASH_HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define HASH_WORLD "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"

static char tmpdir[64];
static char path[128];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/bc-test-tokens-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof path, "%s/tokens", tmpdir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(tmpdir);
}

static void write_file(const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	/* chmod, not the umask, decides the mode under test */
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Load `text` and expect failure with a message containing `want` (after
 * the file name). */
static void expect_load_error(const char *text, mode_t mode, const char *want)
{
	struct bc_tokens *t = (struct bc_tokens *)1;
	char *msg = NULL;
	char *full;

	write_file(text, mode);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_E_INVALID);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(msg);
	full = bc_strdup_printf("%s%s", path, want);
	ck_assert_msg(strstr(msg, full) != NULL, "message \"%s\" lacks \"%s\"", msg, full);
	free(full);
	free(msg);
}

START_TEST(load_good)
{
	struct bc_tokens *t = NULL;
	char *msg = NULL;

	write_file("# broadcast tokens\n"
	           "\n"
	           "alice:" HASH_HELLO "\n"
	           "   \t\n"
	           "  bob.b@example-1 : " "486EA46224D1BB4FB680F34F7C9AD96A8F24EC88BE73EA8E5A6C65260E9CB8A7"
	           "   # upper case, blanks and a comment\r\n"
	           "# the end, no newline after the last line",
	           0600);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_OK);
	ck_assert_ptr_null(msg);
	ck_assert_uint_eq(bc_tokens_count(t), 2);
	ck_assert_str_eq(bc_tokens_check(t, "hello"), "alice");
	ck_assert_str_eq(bc_tokens_check(t, "world"), "bob.b@example-1");
	ck_assert_ptr_null(bc_tokens_check(t, "hello "));
	ck_assert_ptr_null(bc_tokens_check(t, "Hello"));
	ck_assert_ptr_null(bc_tokens_check(t, ""));
	ck_assert_ptr_null(bc_tokens_check(t, NULL));
	/* the hash itself is not a token */
	ck_assert_ptr_null(bc_tokens_check(t, HASH_HELLO));
	ck_assert_ptr_null(bc_tokens_check(NULL, "hello"));
	bc_tokens_free(t);
	bc_tokens_free(NULL);
}
END_TEST

START_TEST(load_empty)
{
	struct bc_tokens *t = NULL;
	char *msg = NULL;

	write_file("", 0644);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_OK);
	ck_assert_uint_eq(bc_tokens_count(t), 0);
	ck_assert_ptr_null(bc_tokens_check(t, "hello"));
	bc_tokens_free(t);

	write_file("# only comments\n\n#\n", 0400);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_OK);
	ck_assert_uint_eq(bc_tokens_count(t), 0);
	bc_tokens_free(t);
}
END_TEST

START_TEST(load_errors)
{
	expect_load_error("# c\nalice " HASH_HELLO "\n", 0600, ":2: expected \"name:sha256hex\"");
	/* the fix it names is the command that really prints such lines */
	{
		struct bc_tokens *t = NULL;
		char *msg = NULL;
		write_file("alice " HASH_HELLO "\n", 0600);
		ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_E_INVALID);
		ck_assert_ptr_nonnull(strstr(msg, "(`broadcastd --hash-token NAME` prints such a line)"));
		ck_assert_ptr_null(strstr(msg, "broadcastctl"));
		free(msg);
	}
	expect_load_error("\n\nal ice:" HASH_HELLO "\n", 0600, ":3: bad token name");
	expect_load_error(":" HASH_HELLO "\n", 0600, ":1: bad token name");
	expect_load_error("a/b:" HASH_HELLO "\n", 0600, ":1: bad token name");
	expect_load_error("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:"
	                  HASH_HELLO "\n", 0600, ":1: bad token name");
	expect_load_error("alice:" HASH_HELLO "0\n", 0600, ":1: the hash of token \"alice\" is not 64 hex digits");
	expect_load_error("alice:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982\n",
	                  0600, ":1: the hash of token \"alice\" is not 64 hex digits");
	expect_load_error("alice:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982g\n",
	                  0600, ":1: the hash of token \"alice\" is not 64 hex digits");
	expect_load_error("alice:\n", 0600, ":1: the hash of token \"alice\"");
	expect_load_error("alice:" HASH_HELLO "\nbob:" HASH_WORLD "\nalice:" HASH_WORLD "\n",
	                  0600, ":3: token name \"alice\" is already used on line 1");
	expect_load_error("alice:" HASH_HELLO "\n\nbob:" HASH_HELLO "\n", 0600,
	                  ":3: token \"bob\" has the same hash as \"alice\" on line 1");
	expect_load_error("alice:" HASH_HELLO "\n", 0666,
	                  ": is writable by other users; chmod go-w ");
	expect_load_error("alice:" HASH_HELLO "\n", 0620,
	                  ": is writable by other users; chmod go-w ");
	expect_load_error("alice:" HASH_HELLO "\n", 0602,
	                  ": is writable by other users; chmod go-w ");
}
END_TEST

START_TEST(load_error_hides_token)
{
	/* a raw token pasted where its hash belongs is not echoed back */
	struct bc_tokens *t = NULL;
	char *msg = NULL;

	write_file("alice:rawSECRETtokenvalue\n", 0600);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_E_INVALID);
	ck_assert_ptr_null(strstr(msg, "rawSECRET"));
	free(msg);
	write_file("rawSECRETtokenvalue\n", 0600);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_E_INVALID);
	ck_assert_ptr_null(strstr(msg, "rawSECRET"));
	free(msg);
}
END_TEST

START_TEST(load_unreadable)
{
	struct bc_tokens *t = NULL;
	char *msg = NULL;
	char *missing = bc_strdup_printf("%s/missing", tmpdir);

	ck_assert_int_eq(bc_tokens_load(missing, &t, &msg), BC_E_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, missing));
	ck_assert_ptr_nonnull(strstr(msg, "No such file"));
	free(msg);
	/* a directory is not a tokens file */
	ck_assert_int_eq(bc_tokens_load(tmpdir, &t, &msg), BC_E_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "not a regular file"));
	free(msg);
	free(missing);
}
END_TEST

START_TEST(generate_roundtrip)
{
	char *token = NULL, *line = NULL, *token2 = NULL, *line2 = NULL;
	struct bc_tokens *t = NULL;
	char *msg = NULL, *text;

	ck_assert_int_eq(bc_tokens_generate("ci-bot@example.org", &token, &line), 0);
	/* 32 bytes of base64url without padding: 43 characters */
	ck_assert_uint_eq(strlen(token), 43);
	ck_assert_uint_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                "0123456789-_"), 43);
	ck_assert_uint_eq(strlen(line), strlen("ci-bot@example.org:") + 64);
	ck_assert_int_eq(strncmp(line, "ci-bot@example.org:", 19), 0);
	/* the line keeps no trace of the token */
	ck_assert_ptr_null(strstr(line, token));

	ck_assert_int_eq(bc_tokens_generate("other", &token2, &line2), 0);
	ck_assert_str_ne(token, token2);

	text = bc_strdup_printf("%s\n%s\n", line, line2);
	write_file(text, 0600);
	ck_assert_int_eq(bc_tokens_load(path, &t, &msg), BC_OK);
	ck_assert_uint_eq(bc_tokens_count(t), 2);
	ck_assert_str_eq(bc_tokens_check(t, token), "ci-bot@example.org");
	ck_assert_str_eq(bc_tokens_check(t, token2), "other");
	token[0] = token[0] == 'A' ? 'B' : 'A';
	ck_assert_ptr_null(bc_tokens_check(t, token));
	bc_tokens_free(t);
	free(text);
	free(token);
	free(line);
	free(token2);
	free(line2);
}
END_TEST

START_TEST(generate_bad_name)
{
	char *token = (char *)1, *line = (char *)1;

	ck_assert_int_eq(bc_tokens_generate("bad name", &token, &line), -1);
	ck_assert_ptr_null(token);
	ck_assert_ptr_null(line);
	ck_assert_int_eq(bc_tokens_generate("", &token, &line), -1);
	ck_assert_int_eq(bc_tokens_generate("a:b", &token, &line), -1);
	ck_assert_int_eq(bc_tokens_generate(NULL, &token, &line), -1);
	ck_assert_int_eq(bc_tokens_generate("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                                    "aaaaaaaaaa", &token, &line), -1);
	ck_assert_int_eq(bc_tokens_generate("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                                    "aaaaaaaaa", &token, &line), 0);
	free(token);
	free(line);
}
END_TEST

static Suite *tokens_suite(void)
{
	Suite *s = suite_create("tokens");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, load_good);
	tcase_add_test(tc, load_empty);
	tcase_add_test(tc, load_errors);
	tcase_add_test(tc, load_error_hides_token);
	tcase_add_test(tc, load_unreadable);
	tcase_add_test(tc, generate_roundtrip);
	tcase_add_test(tc, generate_bad_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tokens_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
