/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_lifecycle.c: Check suite "lifecycle": the dispatcher and the stream
 * lifecycle through the embedding API (broadcast/embed.h), with the real
 * test provider and memory store plugins loaded through the ABI
 * (BROADCAST_PLUGIN_PATH). Rollback on provider and store failure, the
 * seed's response shapes, every error code the dispatcher makes itself, and
 * configuration errors with file:line:column.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bc_runtime.h"

static const char *base_config =
	"log: {level: error}\n"
	"store: {type: memory%s}\n"
	"providers:\n"
	"  - {name: test, type: test%s}\n";

static struct bc_context *open_text(const char *text)
{
	char err[1024] = "";
	struct bc_context *ctx = NULL;
	enum bc_status st = bc_context_open_string("test.yaml", text, strlen(text), &ctx, err,
	                                           sizeof err);
	ck_assert_msg(st == BC_OK, "open failed: %s", err);
	return ctx;
}

static struct bc_context *open_ctx(const char *store_opts, const char *prov_opts)
{
	char text[1024];
	snprintf(text, sizeof text, base_config, store_opts, prov_opts);
	return open_text(text);
}

struct answer {
	int status;
	json_t *body;
	char *text;
	const char *allow;
};

/* One call: kv is NULL-terminated key, value pairs. */
static struct answer call(struct bc_context *ctx, const char *op, const char *method,
                          const char *const *kv, const char *body, const char *ctype)
{
	struct bc_request req;
	struct bc_response resp;
	struct answer a;
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.struct_size = sizeof req;
	resp.struct_size = sizeof resp;
	req.op = op;
	req.method = method;
	req.params = kv;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = ctype;
	req.caller = "alice";
	bc_context_call(ctx, &req, &resp);
	a.status = resp.status;
	a.allow = resp.allow;
	a.text = strdup(resp.body);
	a.body = strcmp(resp.content_type, "application/json") == 0 ? json_loads(resp.body, 0, NULL)
	                                                           : NULL;
	ck_assert_ptr_nonnull(resp.body);
	ck_assert_uint_eq(strlen(resp.body), resp.body_len);
	bc_response_release(&resp);
	ck_assert_ptr_null(resp.body);
	return a;
}

static void answer_free(struct answer *a)
{
	json_decref(a->body);
	free(a->text);
}

static const char *error_code(const struct answer *a)
{
	return json_string_value(json_object_get(json_object_get(a->body, "error"), "code"));
}

static int matches(const char *re, const char *s)
{
	regex_t r;
	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	int m = s != NULL && regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

/* A counter's value in the metrics text, or -1. */
static double metric(struct bc_context *ctx, const char *series)
{
	struct answer a = call(ctx, "metrics", "GET", NULL, NULL, NULL);
	double v = -1;
	const char *p = strstr(a.text, series);
	if (p != NULL)
		v = atof(p + strlen(series) + 1);
	answer_free(&a);
	return v;
}

static size_t live_count(struct bc_context *ctx)
{
	const char *kv[] = { "state", "all", NULL };
	struct answer a = call(ctx, "list", "GET", kv, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	size_t n = json_array_size(json_object_get(a.body, "streams"));
	answer_free(&a);
	return n;
}

START_TEST(start_has_seed_shape)
{
	struct bc_context *ctx = open_ctx("", "");
	const char *kv[] = { "type", "hls", "name", "some_name", NULL };
	struct answer a = call(ctx, "start", "POST", kv, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	/* Key order is part of the wire API. */
	ck_assert_msg(matches("^\\{\"stream\":\\{\"id\":\"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
	                      "[89ab][0-9a-f]{3}-[0-9a-f]{12}\",\"name\":\"some_name\","
	                      "\"start_date\":\"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:"
	                      "[0-9]{2}\"\\},\"endpoint\":\\{\"S3\":\\{\"aws_access_key_id\":"
	                      "\"ASIA[A-Z0-9]+\",\"aws_secret_access_key\":\"[A-Z0-9]+\","
	                      "\"aws_session_token\":\"[A-Za-z0-9]+\",\"aws_expiration\":3600\\.0,"
	                      "\"s3_bucket_name\":\"test-bucket\",\"s3_bucket_path\":\"alice/"
	                      "[0-9a-f-]{36}/\",\"s3_bucket_region\":\"us-west-1\"\\}\\}\\}$",
	                      a.text),
	              "body: %s", a.text);
	answer_free(&a);
	bc_context_close(ctx);
}
END_TEST

START_TEST(start_defaults_and_validation)
{
	struct bc_context *ctx = open_ctx("", "");
	struct answer a = call(ctx, "start", "POST", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 200); /* type defaults to hls, name to "" */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a.body, "stream"), "name")), "");
	answer_free(&a);

	const char *bad_type[] = { "type", "webrtc", NULL };
	a = call(ctx, "start", "POST", bad_type, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(error_code(&a), "stream.bad_type");
	ck_assert_msg(strstr(a.text, "supported types: hls") != NULL, "%s", a.text);
	answer_free(&a);

	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	const char *long_kv[] = { "name", longname, NULL };
	a = call(ctx, "start", "POST", long_kv, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(error_code(&a), "stream.bad_name");
	answer_free(&a);

	const char *bad_prov[] = { "provider", "nope", NULL };
	a = call(ctx, "start", "POST", bad_prov, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(error_code(&a), "stream.bad_provider");
	answer_free(&a);
	ck_assert_uint_eq(live_count(ctx), 1);
	bc_context_close(ctx);
}
END_TEST

START_TEST(stop_has_seed_shape_and_conflict)
{
	struct bc_context *ctx = open_ctx("", "");
	const char *kv[] = { "name", "cam", NULL };
	struct answer a = call(ctx, "start", "POST", kv, NULL, NULL);
	char id[37];
	snprintf(id, sizeof id, "%s",
	         json_string_value(json_object_get(json_object_get(a.body, "stream"), "id")));
	answer_free(&a);

	const char *idkv[] = { "id", id, NULL };
	a = call(ctx, "stop", "POST", idkv, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	ck_assert_msg(matches("^\\{\"stream\":\\{\"id\":\"[0-9a-f-]{36}\",\"name\":\"cam\","
	                      "\"start_date\":\"[0-9: -]{19}\",\"stop_date\":\"[0-9: -]{19}\"\\}\\}$",
	                      a.text), "body: %s", a.text);
	char first_stop[20];
	snprintf(first_stop, sizeof first_stop, "%s",
	         json_string_value(json_object_get(json_object_get(a.body, "stream"), "stop_date")));
	answer_free(&a);

	a = call(ctx, "stop", "POST", idkv, NULL, NULL);
	ck_assert_int_eq(a.status, 409);
	ck_assert_str_eq(error_code(&a), "stream.already_stopped");
	/* The stored record comes with it, with the first stop's date. */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a.body, "stream"),
	                                                   "stop_date")), first_stop);
	answer_free(&a);

	a = call(ctx, "get", "GET", idkv, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a.body, "stream"),
	                                                   "state")), "stopped");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a.body, "stream"),
	                                                   "owner")), "alice");
	answer_free(&a);
	bc_context_close(ctx);
}
END_TEST

START_TEST(stop_errors)
{
	struct bc_context *ctx = open_ctx("", "");
	struct answer a = call(ctx, "stop", "POST", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(error_code(&a), "request.missing_parameter");
	answer_free(&a);
	const char *bad[] = { "id", "../../etc/passwd", NULL };
	a = call(ctx, "stop", "POST", bad, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(error_code(&a), "stream.bad_id");
	answer_free(&a);
	const char *unknown[] = { "id", "0b6f2a4e-8c1d-4f7a-9e3b-5d2c1a0f9e8d", NULL };
	a = call(ctx, "stop", "POST", unknown, NULL, NULL);
	ck_assert_int_eq(a.status, 404);
	ck_assert_str_eq(error_code(&a), "stream.not_found");
	answer_free(&a);
	bc_context_close(ctx);
}
END_TEST

START_TEST(provider_start_failure_leaves_nothing)
{
	const char *words[] = { "invalid", "unavailable", "timeout", "upstream", "internal" };
	const int http[] = { 400, 503, 504, 502, 500 };
	struct bc_context *ctx = open_ctx("", "");
	for (size_t i = 0; i < 5; i++) {
		char name[64];
		snprintf(name, sizeof name, "fail-start-%s", words[i]);
		const char *kv[] = { "name", name, NULL };
		struct answer a = call(ctx, "start", "POST", kv, NULL, NULL);
		ck_assert_int_eq(a.status, http[i]);
		ck_assert_str_eq(error_code(&a), "test.injected");
		answer_free(&a);
	}
	ck_assert_uint_eq(live_count(ctx), 0);
	ck_assert(metric(ctx, "broadcast_test_minted_total{instance=\"test\"}") < 0);
	bc_context_close(ctx);
}
END_TEST

START_TEST(store_commit_failure_rolls_back_provider)
{
	struct bc_context *ctx = open_ctx(", fail_commit: unavailable", "");
	struct answer a = call(ctx, "start", "POST", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(error_code(&a), "memory.injected");
	answer_free(&a);
	/* What start() minted was finished again, and no record is visible. */
	ck_assert(metric(ctx, "broadcast_test_minted_total{instance=\"test\"}") == 1);
	ck_assert(metric(ctx, "broadcast_test_finished_total{instance=\"test\"}") == 1);
	ck_assert_uint_eq(live_count(ctx), 0);
	bc_context_close(ctx);
}
END_TEST

START_TEST(store_reserve_failure_mints_nothing)
{
	struct bc_context *ctx = open_ctx(", fail_reserve: timeout", "");
	struct answer a = call(ctx, "start", "POST", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 504);
	answer_free(&a);
	ck_assert(metric(ctx, "broadcast_test_minted_total{instance=\"test\"}") < 0);
	bc_context_close(ctx);
}
END_TEST

START_TEST(provider_stop_failure_keeps_stream_live)
{
	struct bc_context *ctx = open_ctx("", "");
	const char *kv[] = { "name", "fail-stop-unavailable", NULL };
	struct answer a = call(ctx, "start", "POST", kv, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	char id[37];
	snprintf(id, sizeof id, "%s",
	         json_string_value(json_object_get(json_object_get(a.body, "stream"), "id")));
	answer_free(&a);
	const char *idkv[] = { "id", id, NULL };
	a = call(ctx, "stop", "POST", idkv, NULL, NULL);
	ck_assert_int_eq(a.status, 503);
	answer_free(&a);
	a = call(ctx, "get", "GET", idkv, NULL, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a.body, "stream"),
	                                                   "state")), "live");
	answer_free(&a);
	bc_context_close(ctx);
}
END_TEST

START_TEST(routes_methods_and_params)
{
	struct bc_context *ctx = open_ctx("", "");
	struct answer a = call(ctx, "frobnicate", "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 404);
	ck_assert_str_eq(error_code(&a), "api.not_found");
	answer_free(&a);
	a = call(ctx, NULL, "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 404);
	answer_free(&a);
	a = call(ctx, "start", "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 405);
	ck_assert_str_eq(a.allow, "POST");
	ck_assert_str_eq(error_code(&a), "api.method_not_allowed");
	answer_free(&a);
	a = call(ctx, "start", "POST", NULL, "{\"type\":\"hls\",\"name\":\"json\"}",
	         "application/json; charset=utf-8");
	ck_assert_int_eq(a.status, 200);
	answer_free(&a);
	a = call(ctx, "start", "POST", NULL, "name=form+name%21", "application/x-www-form-urlencoded");
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a.body, "stream"), "name")),
	                 "form name!");
	answer_free(&a);
	const char *kv[] = { "name", "a", NULL };
	a = call(ctx, "start", "POST", kv, "name=b", "application/x-www-form-urlencoded");
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(error_code(&a), "request.duplicate_parameter");
	answer_free(&a);
	a = call(ctx, "start", "POST", NULL, "<xml/>", "application/xml");
	ck_assert_int_eq(a.status, 415);
	answer_free(&a);
	ck_assert_uint_eq(live_count(ctx), 2);
	bc_context_close(ctx);
}
END_TEST

START_TEST(list_paginates)
{
	struct bc_context *ctx = open_ctx("", "");
	for (int i = 0; i < 7; i++) {
		struct answer a = call(ctx, "start", "POST", NULL, NULL, NULL);
		ck_assert_int_eq(a.status, 200);
		answer_free(&a);
	}
	char cursor[80] = "";
	size_t seen = 0, pages = 0;
	for (;;) {
		const char *kv[] = { "limit", "3", "cursor", cursor, NULL };
		struct answer a = call(ctx, "list", "GET", kv, NULL, NULL);
		ck_assert_int_eq(a.status, 200);
		seen += json_array_size(json_object_get(a.body, "streams"));
		pages++;
		const char *next = json_string_value(json_object_get(a.body, "next_cursor"));
		if (next == NULL) {
			answer_free(&a);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", next);
		answer_free(&a);
		ck_assert_uint_lt(pages, 10);
	}
	ck_assert_uint_eq(seen, 7);
	ck_assert_uint_eq(pages, 3);
	const char *bad[] = { "limit", "0", NULL };
	struct answer a = call(ctx, "list", "GET", bad, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	answer_free(&a);
	const char *badc[] = { "cursor", "garbage", NULL };
	a = call(ctx, "list", "GET", badc, NULL, NULL);
	ck_assert_int_eq(a.status, 400);
	answer_free(&a);
	bc_context_close(ctx);
}
END_TEST

START_TEST(health_plugins_metrics)
{
	struct bc_context *ctx = open_ctx("", "");
	struct answer a = call(ctx, "health", "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(a.body, "status")), "ok");
	answer_free(&a);
	a = call(ctx, "plugins", "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	ck_assert_msg(strstr(a.text, "\"name\":\"test\",\"kind\":\"provider\"") != NULL, "%s", a.text);
	ck_assert_msg(strstr(a.text, "\"name\":\"memory\",\"kind\":\"store\"") != NULL, "%s", a.text);
	answer_free(&a);
	a = call(ctx, "metrics", "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 200);
	ck_assert_msg(strstr(a.text, "broadcast_requests_total{instance=\"embedded\",op=\"health\","
	                             "status=\"200\"} 1") != NULL, "%s", a.text);
	ck_assert_msg(strstr(a.text, "# TYPE broadcast_request_duration_seconds histogram") != NULL,
	              "%s", a.text);
	answer_free(&a);
	bc_context_close(ctx);

	ctx = open_ctx("", ", fail_start: unavailable");
	a = call(ctx, "health", "GET", NULL, NULL, NULL);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(json_string_value(json_object_get(a.body, "status")), "unavailable");
	answer_free(&a);
	bc_context_close(ctx);
}
END_TEST

START_TEST(embed_helpers)
{
	struct bc_context *ctx = open_ctx("", "");
	struct bc_response r;
	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	ck_assert_int_eq(bc_stream_start(ctx, NULL, "embedded", "bob", &r), BC_OK);
	ck_assert_int_eq(r.status, 200);
	json_t *body = json_loads(r.body, 0, NULL);
	char id[37];
	snprintf(id, sizeof id, "%s",
	         json_string_value(json_object_get(json_object_get(body, "stream"), "id")));
	json_decref(body);
	bc_response_release(&r);
	r.struct_size = sizeof r;
	ck_assert_int_eq(bc_stream_stop(ctx, id, "bob", &r), BC_OK);
	bc_response_release(&r);
	r.struct_size = sizeof r;
	ck_assert_int_eq(bc_stream_stop(ctx, id, "bob", &r), BC_E_CONFLICT);
	ck_assert_int_eq(r.status, 409);
	bc_response_release(&r);
	bc_context_close(ctx);
}
END_TEST

/* ---- the streams_live gauge -------------------------------------------- */

static const char *db_config =
	"log: {level: error}\n"
	"store: {type: sqlite, path: %s}\n"
	"providers:\n"
	"  - {name: test, type: test%s}\n";

static struct bc_context *open_db(const char *db, const char *prov_opts)
{
	char text[1024];
	snprintf(text, sizeof text, db_config, db, prov_opts);
	return open_text(text);
}

/* The gauge as /metrics shows it (the line, not the # TYPE line). */
static double live_gauge(struct bc_context *ctx)
{
	return metric(ctx, "\nbroadcast_streams_live");
}

static char *start_named(struct bc_context *ctx, const char *name, int want_status)
{
	const char *kv[] = { "name", name, NULL };
	struct answer a = call(ctx, "start", "POST", kv, NULL, NULL);
	ck_assert_int_eq(a.status, want_status);
	char *id = want_status == 200 ? strdup(json_string_value(json_object_get(
	                                        json_object_get(a.body, "stream"), "id")))
	                              : NULL;
	answer_free(&a);
	return id;
}

static void stop_id(struct bc_context *ctx, const char *id, int want_status)
{
	const char *kv[] = { "id", id, NULL };
	struct answer a = call(ctx, "stop", "POST", kv, NULL, NULL);
	ck_assert_int_eq(a.status, want_status);
	answer_free(&a);
}

/* Poll the gauge until it shows `want` or `seconds` pass. */
static double live_gauge_wait(struct bc_context *ctx, double want, int seconds)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	double v = live_gauge(ctx);
	for (int i = 0; v != want && i < seconds * 10; i++) {
		nanosleep(&pause, NULL);
		v = live_gauge(ctx);
	}
	return v;
}

/* "Another node": a process of its own that, once told through `go`,
 * starts one stream in the same database and exits (the stream stays
 * live). Forked before this process opens a context. */
static pid_t other_node(const char *db, int go[2])
{
	pid_t pid;
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char byte;
		close(go[1]);
		if (read(go[0], &byte, 1) != 1)
			_exit(2);
		char text[1024], err[1024];
		struct bc_context *ctx = NULL;
		snprintf(text, sizeof text, db_config, db, "");
		if (bc_context_open_string("node2.yaml", text, strlen(text), &ctx, err,
		                           sizeof err) != BC_OK)
			_exit(3);
		struct bc_response r;
		memset(&r, 0, sizeof r);
		r.struct_size = sizeof r;
		enum bc_status st = bc_stream_start(ctx, NULL, "node2", "alice", &r);
		bc_response_release(&r);
		bc_context_close(ctx);
		_exit(st == BC_OK ? 0 : 4);
	}
	close(go[0]);
	return pid;
}

START_TEST(live_gauge_is_a_kept_count)
{
	char dir[] = "/tmp/bc-test-gauge-XXXXXX", db[256];
	int go[2], status = 0;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/streams.db", dir);
	pid_t node2 = other_node(db, go);

	/* start, stop, a second stop, a failed start */
	struct bc_context *ctx = open_db(db, "");
	ck_assert(live_gauge(ctx) == 0);
	char *a = start_named(ctx, "a", 200), *b = start_named(ctx, "b", 200);
	char *c = start_named(ctx, "c", 200);
	ck_assert(live_gauge(ctx) == 3);
	stop_id(ctx, b, 200);
	ck_assert(live_gauge(ctx) == 2);
	stop_id(ctx, b, 409);
	start_named(ctx, "fail-start-unavailable", 503);
	ck_assert(live_gauge(ctx) == 2);

	/* several nodes: another node's start shows at the next re-read */
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	ck_assert_int_eq(waitpid(node2, &status, 0), node2);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "node 2: %d", status);
	ck_assert_msg(live_gauge_wait(ctx, 3, 8) == 3, "another node's stream not counted");
	bc_context_close(ctx);

	/* a restart starts from the store */
	ctx = open_db(db, "");
	ck_assert(live_gauge(ctx) == 3);
	stop_id(ctx, a, 200);
	ck_assert(live_gauge(ctx) == 2);
	bc_context_close(ctx);

	/* auto-stops count down too */
	ctx = open_db(db, ", max_duration: 100ms");
	ck_assert_msg(live_gauge_wait(ctx, 0, 8) == 0, "auto-stopped streams still counted");
	ck_assert(metric(ctx, "broadcast_auto_stops_total{instance=\"test\","
	                      "reason=\"max_duration\"}") == 2);
	bc_context_close(ctx);

	free(a);
	free(b);
	free(c);
	const char *const tails[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++) {
		char f[300];
		snprintf(f, sizeof f, "%s%s", db, tails[i]);
		unlink(f);
	}
	rmdir(dir);
}
END_TEST

/* ---- configuration errors ---------------------------------------------- */

/* Open `text`, which must fail with exactly `want`; its message. */
static char *open_error(const char *text, enum bc_status want)
{
	struct bc_context *ctx = NULL;
	char err[1024] = "";
	enum bc_status st = bc_context_open_string("conf.yaml", text, strlen(text), &ctx, err,
	                                           sizeof err);
	ck_assert_msg(st == want, "config gave %s, want %s: %s (%s)", bc_status_name(st),
	              bc_status_name(want), text, err);
	ck_assert_ptr_null(ctx);
	return strdup(err);
}

#define EXPECT_ERROR(text, needle) EXPECT_ERROR_ST(text, BC_E_INVALID, needle)
#define EXPECT_ERROR_ST(text, want, needle)                                          \
	do {                                                                         \
		char *e_ = open_error(text, want);                                   \
		ck_assert_msg(strstr(e_, needle) != NULL, "want '%s' in '%s'", needle, e_); \
		free(e_);                                                            \
	} while (0)

START_TEST(config_errors)
{
	EXPECT_ERROR("store: {type: memory}\nprovider: []\n", "conf.yaml:2:1: unknown top-level "
	             "key 'provider'; valid keys: log, plugin_dir, store, providers, frontends");
	EXPECT_ERROR("providers: [{type: test}]\n", "no `store` configured");
	EXPECT_ERROR("store: {type: memory}\n", "`providers` must be a non-empty list");
	EXPECT_ERROR("store: {type: memory}\nproviders:\n  - type: nosuch\n",
	             "conf.yaml:3:11: unknown provider type 'nosuch'; available: ");
	EXPECT_ERROR("store: {type: memory}\nproviders:\n  - type: nosuch\n", "test");
	EXPECT_ERROR("store: {type: memory}\nproviders:\n  - name: x\n",
	             "this provider has no `type`");
	EXPECT_ERROR("store: {type: memory}\nproviders:\n  - {type: test}\n  - {type: test}\n",
	             "two instances are named 'test'");
	EXPECT_ERROR_ST("store: {type: memory}\nproviders:\n  - {type: test, fail_create: true}\n",
	                BC_E_UNAVAILABLE,
	                "provider test (type test): test.create_failed: told to fail create");
	EXPECT_ERROR("log: {level: loud}\nstore: {type: memory}\nproviders: [{type: test}]\n",
	             "conf.yaml:1:14: log level must be one of error, warn, info, debug");
	EXPECT_ERROR("store: {type: memory}\nproviders: [{type: test, fail_start: sometimes}]\n",
	             "fail_start");
	EXPECT_ERROR("store: {type: memory}\nproviders: [{type: test}]\n"
	             "frontends: [{type: nosuchfrontend}]\n", "unknown frontend type");
}
END_TEST

START_TEST(secrets_never_in_errors)
{
	/* The test provider declares `secret` as BC_OPT_SECRET. */
	char *e = open_error("store: {type: memory}\nproviders: [{type: test, fail_create: true, "
	                     "secret: hunter2-very-secret}]\n",
	                     BC_E_UNAVAILABLE);
	ck_assert_msg(strstr(e, "hunter2") == NULL, "secret in: %s", e);
	free(e);
}
END_TEST

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("dispatch");
	tcase_add_test(tc, start_has_seed_shape);
	tcase_add_test(tc, start_defaults_and_validation);
	tcase_add_test(tc, stop_has_seed_shape_and_conflict);
	tcase_add_test(tc, stop_errors);
	tcase_add_test(tc, provider_start_failure_leaves_nothing);
	tcase_add_test(tc, store_commit_failure_rolls_back_provider);
	tcase_add_test(tc, store_reserve_failure_mints_nothing);
	tcase_add_test(tc, provider_stop_failure_keeps_stream_live);
	tcase_add_test(tc, routes_methods_and_params);
	tcase_add_test(tc, list_paginates);
	tcase_add_test(tc, health_plugins_metrics);
	tcase_add_test(tc, embed_helpers);
	tcase_add_test(tc, live_gauge_is_a_kept_count);
	suite_add_tcase(s, tc);
	TCase *cfg = tcase_create("config");
	tcase_add_test(cfg, config_errors);
	tcase_add_test(cfg, secrets_never_in_errors);
	suite_add_tcase(s, cfg);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lifecycle_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
