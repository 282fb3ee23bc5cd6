/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_embed.c: Check suite "embed": the process-wide state behind
 * broadcast/embed.h. One context per process (a second open is refused with
 * BC_E_CONFLICT while the first is open), and the secrets the log redacts
 * follow the configuration in force: a reload forgets those of replaced
 * instances, closing forgets them all. Uses the test provider (its `secret`
 * option is BC_OPT_SECRET) and the memory store through BROADCAST_PLUGIN_PATH.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bc_runtime.h"

static const char *config_fmt =
	"log: {level: error}\n"
	"store: {type: memory}\n"
	"providers:\n"
	"  - {name: test, type: test, secret: %s}\n";

static struct bc_context *open_text(const char *secret, enum bc_status want, char *err,
                                    size_t errlen)
{
	char text[512];
	struct bc_context *ctx = NULL;
	snprintf(text, sizeof text, config_fmt, secret);
	err[0] = '\0';
	enum bc_status st = bc_context_open_string("embed.yaml", text, strlen(text), &ctx, err,
	                                           errlen);
	ck_assert_msg(st == want, "open: %s, want %s: %s", bc_status_name(st),
	              bc_status_name(want), err);
	if (want != BC_OK)
		ck_assert_ptr_null(ctx);
	return ctx;
}

START_TEST(second_context_is_refused)
{
	char err[1024];
	struct bc_context *first = open_text("first-secret-1", BC_OK, err, sizeof err);
	struct bc_context *second = open_text("second-secret-2", BC_E_CONFLICT, err, sizeof err);
	ck_assert_msg(strstr(err, "another broadcast context is open in this process") != NULL,
	              "%s", err);
	/* The refused open changed nothing of the first one's. */
	ck_assert_int_eq(bc_log_get_level(), BC_LOG_ERROR);
	bc_context_close(second); /* NULL: a no-op */
	bc_context_close(first);

	/* Closed: the next one opens. */
	second = open_text("second-secret-2", BC_OK, err, sizeof err);
	bc_context_close(second);
}
END_TEST

/* What one log line with `text` comes out as on stderr. */
static char *logged(const char *text)
{
	char path[] = "/tmp/bc-test-embed-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *out = calloc(1, 4096);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	bc_log(BC_LOG_ERROR, "test", "line: %s", text);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	ck_assert_int_ge(pread(fd, out, 4095, 0), 1);
	close(fd);
	unlink(path);
	return out;
}

static int redacted(const char *secret)
{
	char *line = logged(secret);
	int hidden = strstr(line, secret) == NULL && strstr(line, "[redacted]") != NULL;
	free(line);
	return hidden;
}

static void write_config(const char *path, const char *secret)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, config_fmt, secret);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(reload_forgets_replaced_secrets)
{
	char path[] = "/tmp/bc-test-embed-conf-XXXXXX";
	char err[1024] = "";
	struct bc_context *ctx = NULL;
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);

	write_config(path, "old-secret-aaaa");
	ck_assert_msg(bc_context_open(path, &ctx, err, sizeof err) == BC_OK, "%s", err);
	ck_assert(redacted("old-secret-aaaa"));

	/* The provider's options changed: a new instance replaces it. */
	write_config(path, "new-secret-bbbb");
	ck_assert_msg(bc_context_reload(ctx, err, sizeof err) == BC_OK, "%s", err);
	ck_assert(redacted("new-secret-bbbb"));
	ck_assert_msg(!redacted("old-secret-aaaa"), "the replaced secret is still kept");

	/* Unchanged: the instance is kept, and so is its secret. */
	ck_assert_msg(bc_context_reload(ctx, err, sizeof err) == BC_OK, "%s", err);
	ck_assert(redacted("new-secret-bbbb"));

	/* A refused reload leaves what it registered behind only until the
	 * next reload that succeeds. */
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "store: {type: memory}\nproviders:\n"
	           "  - {type: test, fail_create: true, secret: refused-secret-cccc}\n");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_ne(bc_context_reload(ctx, err, sizeof err), BC_OK);
	write_config(path, "new-secret-bbbb");
	ck_assert_msg(bc_context_reload(ctx, err, sizeof err) == BC_OK, "%s", err);
	ck_assert(!redacted("refused-secret-cccc"));
	ck_assert(redacted("new-secret-bbbb"));

	/* Closed: nothing is kept. */
	bc_context_close(ctx);
	ck_assert(!redacted("new-secret-bbbb"));
	unlink(path);
}
END_TEST

static Suite *embed_suite(void)
{
	Suite *s = suite_create("embed");
	TCase *tc = tcase_create("process");
	tcase_add_test(tc, second_context_is_refused);
	tcase_add_test(tc, reload_forgets_replaced_secrets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(embed_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
