/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_embed.c: Check suite "embed": the process-wide state behind
 * broadcast/embed.h. One context per process (a second open is refused with
 * BC_E_CONFLICT while the first is open), and the secrets the log redacts
 * follow the configuration in force: a reload forgets those of replaced
 * instances, closing forgets them all. Opening answers the status embed.h
 * documents (BC_E_UNAVAILABLE for a listener that cannot bind, BC_E_INVALID
 * for a configuration error), and bc_stream_start_typed() gives the
 * started stream without JSON. Uses the test provider (its `secret` option
 * is BC_OPT_SECRET), the memory and sqlite stores and the http frontend
 * through BROADCAST_PLUGIN_PATH.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* A listener that cannot bind is BC_E_UNAVAILABLE (the http frontend's
 * create() answers so), not a configuration error; nothing stays open. */
START_TEST(taken_port_is_unavailable)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	struct bc_context *ctx = NULL;
	char text[512], err[2048] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(text, sizeof text,
	         "log: {level: error}\nstore: {type: memory}\n"
	         "providers:\n  - {type: test}\n"
	         "frontends:\n  - {type: http, listen: \"127.0.0.1:%u\"}\n",
	         (unsigned)ntohs(sa.sin_port));
	enum bc_status st = bc_context_open_string("taken.yaml", text, strlen(text), &ctx, err,
	                                           sizeof err);
	ck_assert_msg(st == BC_E_UNAVAILABLE, "%s: %s", bc_status_name(st), err);
	ck_assert_ptr_null(ctx);
	ck_assert_msg(strstr(err, "http.listen_failed") != NULL, "%s", err);
	close(fd);

	/* The same through a failing provider create() (the test provider
	 * answers BC_E_UNAVAILABLE), and the context can be opened again. */
	const char *bad = "log: {level: error}\nstore: {type: memory}\n"
	                  "providers:\n  - {type: test, fail_create: true}\n";
	st = bc_context_open_string("bad.yaml", bad, strlen(bad), &ctx, err, sizeof err);
	ck_assert_msg(st == BC_E_UNAVAILABLE, "%s: %s", bc_status_name(st), err);
	ck_assert_msg(strstr(err, "test.create_failed") != NULL, "%s", err);
	ctx = open_text("after-failure-1", BC_OK, err, sizeof err);
	bc_context_close(ctx);
}
END_TEST

/* An sqlite path whose folder cannot exist (a parent is a regular file, so
 * even root cannot create it) is refused by the store's check() as a
 * configuration error, BC_E_INVALID, with the message --check-config
 * gives; a syntax error is BC_E_INVALID too. */
START_TEST(impossible_store_path_is_invalid)
{
	char file[] = "/tmp/bc-test-embed-file-XXXXXX";
	char text[512], err[2048] = "";
	struct bc_context *ctx = NULL;
	int fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(text, sizeof text,
	         "log: {level: error}\nstore: {type: sqlite, path: \"%s/x/streams.db\"}\n"
	         "providers:\n  - {type: test}\n", file);
	enum bc_status st = bc_context_open_string("sq.yaml", text, strlen(text), &ctx, err,
	                                           sizeof err);
	ck_assert_msg(st == BC_E_INVALID, "%s: %s", bc_status_name(st), err);
	ck_assert_ptr_null(ctx);
	ck_assert_msg(strstr(err, "sq.yaml:2:") == err && strstr(err, "sqlite.no_directory"),
	              "%s", err);
	unlink(file);

	st = bc_context_open_string("syntax.yaml", "store: [", 8, &ctx, err, sizeof err);
	ck_assert_msg(st == BC_E_INVALID, "%s: %s", bc_status_name(st), err);
	ck_assert_ptr_null(ctx);
}
END_TEST

static const struct bc_started_field *field(const struct bc_started *s, const char *name)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return &s->fields[i];
	return NULL;
}

/* bc_stream_start_typed(): the id, dates and endpoint fields of the JSON,
 * typed, with the provider's secret flags; release frees everything (ASan's
 * leak check) and zeroes it. */
START_TEST(typed_start_result)
{
	char err[1024];
	struct bc_context *ctx = open_text("typed-secret-1", BC_OK, err, sizeof err);
	struct bc_started started;
	struct bc_response resp;
	const struct bc_started_field *f;

	memset(&started, 0, sizeof started);
	started.struct_size = sizeof started;
	memset(&resp, 0, sizeof resp);
	resp.struct_size = sizeof resp;
	enum bc_status st = bc_stream_start_typed(ctx, "hls", "cam 1", "alice", &started, &resp);
	ck_assert_msg(st == BC_OK, "%s: %s", bc_status_name(st), resp.body ? resp.body : "");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_eq(strlen(started.id), 36);
	ck_assert_ptr_nonnull(strstr(resp.body, started.id)); /* the JSON is kept */
	ck_assert_str_eq(started.name, "cam 1");
	ck_assert_uint_eq(strlen(started.start_date), 19);
	ck_assert_ptr_nonnull(strstr(resp.body, started.start_date));
	ck_assert_int_gt(started.start_ms, 0);
	ck_assert_int_eq(started.start_ms % 1000, 0);
	ck_assert_uint_eq(started.n_fields, 7);
	ck_assert_ptr_nonnull(f = field(&started, "aws_secret_access_key"));
	ck_assert_str_eq(f->section, "S3");
	ck_assert_int_eq(f->is_secret, 1);
	ck_assert_uint_eq(f->struct_size, sizeof *f);
	ck_assert_ptr_nonnull(f = field(&started, "aws_session_token"));
	ck_assert_int_eq(f->is_secret, 1);
	ck_assert_ptr_nonnull(f = field(&started, "aws_access_key_id"));
	ck_assert_int_eq(f->is_secret, 0);
	ck_assert_ptr_nonnull(f = field(&started, "s3_bucket_region"));
	ck_assert_str_eq(f->value, "us-west-1");
	ck_assert_ptr_nonnull(f = field(&started, "aws_expiration"));
	ck_assert_str_eq(f->value, "3600.0");
	ck_assert_int_eq(f->is_secret, 0);
	bc_stream_started_release(&started);
	ck_assert_ptr_null(started.id);
	ck_assert_ptr_null(started.fields);
	ck_assert_uint_eq(started.n_fields, 0);
	ck_assert_uint_eq(started.struct_size, sizeof started);
	bc_stream_started_release(&started); /* released: a no-op */
	bc_response_release(&resp);

	/* ep_json() fields (the test provider's "json-fields" stream) arrive as
	 * JSON in the response and as compact JSON text, flags kept, here. */
	memset(&resp, 0, sizeof resp);
	resp.struct_size = sizeof resp;
	st = bc_stream_start_typed(ctx, "hls", "json-fields", NULL, &started, &resp);
	ck_assert_msg(st == BC_OK, "%s: %s", bc_status_name(st), resp.body ? resp.body : "");
	ck_assert_ptr_nonnull(
	        strstr(resp.body, "\"ice_servers\":[{\"urls\":\"stun:a.example:3478\"}]"));
	ck_assert_ptr_null(strstr(resp.body, "\"bad\""));
	ck_assert_ptr_nonnull(f = field(&started, "ice_servers"));
	ck_assert_str_eq(f->value, "[{\"urls\":\"stun:a.example:3478\"}]");
	ck_assert_int_eq(f->is_secret, 0);
	ck_assert_ptr_nonnull(f = field(&started, "turn"));
	ck_assert_str_eq(f->value, "{\"credential\":\"pw\"}");
	ck_assert_int_eq(f->is_secret, 1);
	bc_stream_started_release(&started);
	bc_response_release(&resp);

	/* Without a response; a refused start fills nothing. */
	st = bc_stream_start_typed(ctx, NULL, NULL, NULL, &started, NULL);
	ck_assert_int_eq(st, BC_OK);
	ck_assert_str_eq(started.name, "");
	bc_stream_started_release(&started);
	st = bc_stream_start_typed(ctx, "nope", NULL, NULL, &started, NULL);
	ck_assert_int_eq(st, BC_E_INVALID);
	ck_assert_ptr_null(started.id);
	ck_assert_uint_eq(started.n_fields, 0);
	started.struct_size = 8;
	ck_assert_int_eq(bc_stream_start_typed(ctx, NULL, NULL, NULL, &started, NULL),
	                 BC_E_INVALID);
	bc_context_close(ctx);
}
END_TEST

static Suite *embed_suite(void)
{
	Suite *s = suite_create("embed");
	TCase *tc = tcase_create("process");
	tcase_add_test(tc, second_context_is_refused);
	tcase_add_test(tc, reload_forgets_replaced_secrets);
	tcase_add_test(tc, taken_port_is_unavailable);
	tcase_add_test(tc, impossible_store_path_is_invalid);
	tcase_add_test(tc, typed_start_result);
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
