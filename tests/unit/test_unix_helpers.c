/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_unix_helpers.c: the option logic of the Unix socket frontend (mode,
 * user and group ids, the socket path's folder) and its check() on configs
 * built by the stub host as broadcastd builds them. The helpers are static
 * in unix.c, so unix.c is compiled into this test (frontends/unix/local.mk).
 */
#include "unix.c"

#include <check.h>

#include "stubhost.h"

START_TEST(test_parse_mode)
{
	static const char *const bad[] = { "", "8", "0800", "0668", "07777", "1777", "-660",
		                           "0x1f", "660 ", "rw", NULL };
	unsigned m = 12345;

	ck_assert_int_eq(unix_parse_mode("0660", &m), 0);
	ck_assert_uint_eq(m, 0660);
	ck_assert_int_eq(unix_parse_mode("777", &m), 0);
	ck_assert_uint_eq(m, 0777);
	ck_assert_int_eq(unix_parse_mode("0", &m), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(unix_parse_mode("0000", &m), 0);
	ck_assert_uint_eq(m, 0);
	m = 12345;
	ck_assert_int_eq(unix_parse_mode(NULL, &m), -1);
	for (size_t i = 0; bad[i] != NULL; i++)
		ck_assert_msg(unix_parse_mode(bad[i], &m) == -1, "mode \"%s\" accepted", bad[i]);
	ck_assert_uint_eq(m, 12345); /* untouched on failure */
}
END_TEST

START_TEST(test_parse_id)
{
	unsigned id = 7;

	ck_assert_int_eq(unix_parse_id("0", 0, &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(unix_parse_id("1000", 1, &id), 0);
	ck_assert_uint_eq(id, 1000);
	/* names the system knows (root is uid 0 and gid 0 everywhere) */
	id = 7;
	ck_assert_int_eq(unix_parse_id("root", 0, &id), 0);
	ck_assert_uint_eq(id, 0);
	id = 7;
	ck_assert_int_eq(unix_parse_id("root", 1, &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(unix_parse_id(NULL, 0, &id), -1);
	ck_assert_int_eq(unix_parse_id("", 0, &id), -1);
	ck_assert_int_eq(unix_parse_id("-1", 0, &id), -1);
	ck_assert_int_eq(unix_parse_id("4294967295", 0, &id), -1); /* (uid_t)-1 */
	ck_assert_int_eq(unix_parse_id("99999999999999999999", 1, &id), -1);
	ck_assert_int_eq(unix_parse_id("no-such-user-bc19", 0, &id), -1);
	ck_assert_int_eq(unix_parse_id("no-such-group-bc19", 1, &id), -1);
}
END_TEST

START_TEST(test_dir_of)
{
	char dir[32], tiny[4];

	ck_assert_int_eq(unix_dir_of("/run/broadcast/control.sock", dir, sizeof dir), 0);
	ck_assert_str_eq(dir, "/run/broadcast");
	ck_assert_int_eq(unix_dir_of("control.sock", dir, sizeof dir), 0);
	ck_assert_str_eq(dir, ".");
	ck_assert_int_eq(unix_dir_of("/control.sock", dir, sizeof dir), 0);
	ck_assert_str_eq(dir, "/");
	ck_assert_int_eq(unix_dir_of("a/b.sock", dir, sizeof dir), 0);
	ck_assert_str_eq(dir, "a");
	/* what does not fit is refused, not cut */
	ck_assert_int_eq(unix_dir_of("/abc/x.sock", tiny, sizeof tiny), -1);
	ck_assert_int_eq(unix_dir_of("/ab/x.sock", tiny, sizeof tiny), 0);
	ck_assert_str_eq(tiny, "/ab");
}
END_TEST

/* ---- check() on real configurations ---------------------------------------- */

static char tmpdir[256];

static void tmp_setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/bc-unix-XXXXXX", t != NULL && t[0] ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/file", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static const struct bc_plugin *unix_descriptor(void)
{
	const struct bc_plugin *const *list = bc_plugin_entry(BC_ABI_MAJOR, BC_ABI_MINOR);
	ck_assert_ptr_nonnull(list);
	ck_assert_ptr_nonnull(list[0]);
	ck_assert_int_eq(list[0]->kind, BC_KIND_FRONTEND);
	return list[0];
}

/* check() on the config of kv (path is added unless kv sets it): its
 * status, with the code in `code`. */
static enum bc_status check_of(const char *const *kv, char *code, size_t code_len)
{
	const char *full[32];
	char path[512];
	size_t n = 0;
	int has_path = 0;
	struct stubhost *sh;
	struct bc_error err;
	enum bc_status st;

	for (size_t i = 0; kv != NULL && kv[i] != NULL; i++) {
		has_path |= i % 2 == 0 && strcmp(kv[i], "path") == 0;
		full[n++] = kv[i];
	}
	if (!has_path) {
		snprintf(path, sizeof path, "%s/control.sock", tmpdir);
		full[n++] = "path";
		full[n++] = path;
	}
	full[n] = NULL;
	sh = stubhost_new("unix", unix_descriptor(), full);
	bc_error_clear(&err);
	st = unix_check(stubhost_api(), stubhost_config(sh), &err);
	snprintf(code, code_len, "%s", err.code);
	stubhost_free(sh);
	return st;
}

START_TEST(test_check_ok)
{
	char code[64];

	ck_assert_int_eq(check_of(NULL, code, sizeof code), BC_OK);
	ck_assert_int_eq(check_of((const char *[]){ "mode", "0600", "allow_uids", "0",
		                                    "allow_uids", "root", "allow_gids", "root",
		                                    "group", "0", NULL },
		                  code, sizeof code),
		         BC_OK);
	/* a bare duration is seconds, as in broadcast.yaml: 1 s is above the
	 * 100 ms floor (read as 1 ms it would not be) */
	ck_assert_int_eq(check_of((const char *[]){ "idle_timeout", "1", NULL }, code, sizeof code),
	                 BC_OK);
}
END_TEST

START_TEST(test_check_refused)
{
	char code[64], path[512], longpath[200];
	FILE *f;

	ck_assert_int_eq(check_of((const char *[]){ "mode", "0999", NULL }, code, sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.bad_mode");
	ck_assert_int_eq(check_of((const char *[]){ "allow_uids", "no-such-user-bc19", NULL }, code,
	                          sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.bad_id");
	ck_assert_int_eq(check_of((const char *[]){ "allow_gids", "no-such-group-bc19", NULL },
	                          code, sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.bad_id");
	ck_assert_int_eq(check_of((const char *[]){ "group", "no-such-group-bc19", NULL }, code,
	                          sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.bad_id");

	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	ck_assert_int_eq(check_of((const char *[]){ "path", longpath, NULL }, code, sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.path_too_long");

	snprintf(path, sizeof path, "%s/no/such/control.sock", tmpdir);
	ck_assert_int_eq(check_of((const char *[]){ "path", path, NULL }, code, sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.bad_path");
	/* one missing level is fine: create() makes it */
	snprintf(path, sizeof path, "%s/one/control.sock", tmpdir);
	ck_assert_int_eq(check_of((const char *[]){ "path", path, NULL }, code, sizeof code),
	                 BC_OK);

	snprintf(path, sizeof path, "%s/file", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(check_of((const char *[]){ "path", path, NULL }, code, sizeof code),
	                 BC_E_INVALID);
	ck_assert_str_eq(code, "unix.not_a_socket");
	{
		char file_dir[600];
		snprintf(file_dir, sizeof file_dir, "%s/x.sock", path);
		ck_assert_int_eq(check_of((const char *[]){ "path", file_dir, NULL }, code,
		                          sizeof code),
		                 BC_E_INVALID);
		ck_assert_str_eq(code, "unix.bad_path");
	}
}
END_TEST

/* The limits are the framework's to refuse, with its message. */
START_TEST(test_config_limits)
{
	const struct bc_plugin *p = unix_descriptor();
	char *msg;

	msg = stubhost_config_error("unix", p, (const char *[]){ "idle_timeout", "50ms", NULL });
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "idle_timeout") != NULL, "%s", msg);
	free(msg);
	msg = stubhost_config_error("unix", p, (const char *[]){ "max_line", "32", NULL });
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "max_line") != NULL, "%s", msg);
	free(msg);
	msg = stubhost_config_error("unix", p, (const char *[]){ "max_clients", "0", NULL });
	ck_assert_ptr_nonnull(msg);
	free(msg);
	msg = stubhost_config_error("unix", p, (const char *[]){ "socket", "/x", NULL });
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "unknown option 'socket'") != NULL, "%s", msg);
	free(msg);
}
END_TEST

static Suite *unix_helpers_suite(void)
{
	Suite *s = suite_create("unix_helpers");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_mode);
	tcase_add_test(tc, test_parse_id);
	tcase_add_test(tc, test_dir_of);
	suite_add_tcase(s, tc);
	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_check_ok);
	tcase_add_test(tc, test_check_refused);
	tcase_add_test(tc, test_config_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(unix_helpers_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
