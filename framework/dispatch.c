/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dispatch.c: the one API dispatcher. Every frontend (and the embedding
 * API) calls bc_dispatch(); this file alone decides routes' methods,
 * authentication, ownership, rate limits, parameter validation, the stream
 * lifecycle and every error body, so two transports can never disagree
 * (STYLE rule 12).
 *
 * Lifecycle (docs/architecture.md): start = validate, pick the provider by
 * stream type, store.reserve (PENDING), provider.start, store.commit; any
 * failure rolls back (provider.stop of what was minted, store.abort) so no
 * stream is left behind. stop = store.get, owner check, 409 when stopped,
 * provider.stop, store.stop (conditional, so two racing stops give one 200
 * and one 409). Response shapes are render.c's.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bc_render.h"
#include "bc_runtime.h"

#define MAX_NAME_LEN 255

/* What one call works with. */
struct call {
	struct bc_context *ctx;
	struct bc_generation *gen;
	struct bc_params params;
	const char *caller; /* owner identity; never NULL */
	int is_admin;       /* may read and stop any stream, and reload */
	/* the answer */
	int http_status;
	enum bc_status status;
	json_t *body;
	char *text;         /* non-JSON body (metrics) */
	size_t text_len;
	unsigned retry_after;
	const char *allow;
	const char *www_authenticate;
};

typedef void (*op_fn)(struct call *c);

static void op_start(struct call *c);
static void op_stop(struct call *c);
static void op_get(struct call *c);
static void op_list(struct call *c);
static void op_health(struct call *c);
static void op_metrics(struct call *c);
static void op_plugins(struct call *c);
static void op_reload(struct call *c);
static void op_events(struct call *c);

static const struct op {
	const char *name;
	const char *method;
	op_fn fn;
	int is_public; /* no token needed (health checks of load balancers) */
	/* Reads parameters from a body. The others never parse one (a body
	 * sent to them is ignored): a public route must not run a parser on an
	 * outsider's bytes it has no use for. get and list take theirs from the
	 * query string over HTTP, but from the body over the Unix socket. */
	int body_params;
} ops[] = {
	{ "start", "POST", op_start, 0, 1 },
	{ "stop", "POST", op_stop, 0, 1 },
	{ "get", "GET", op_get, 0, 1 },
	{ "list", "GET", op_list, 0, 1 },
	{ "health", "GET", op_health, 1, 0 },
	{ "metrics", "GET", op_metrics, 0, 0 },
	{ "plugins", "GET", op_plugins, 0, 0 },
	{ "reload", "POST", op_reload, 0, 0 },
	{ "events", "GET", op_events, 0, 1 },
};

/* ---- answers -------------------------------------------------------------- */

/* The one place a call's HTTP status is set: from its bc_status and code
 * (error.c's bc_http_status). */
static void set_status(struct call *c, enum bc_status st, const char *code)
{
	c->http_status = bc_http_status(st, code);
	c->status = st;
}

static void fail_call(struct call *c, enum bc_status st, const char *code, const char *fmt, ...)
        BC_PRINTF(4, 5);

static void fail_call(struct call *c, enum bc_status st, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_decref(c->body);
	c->body = bc_render_error(code, msg);
	set_status(c, st, code);
}

static void fail_nomem(struct call *c)
{
	fail_call(c, BC_E_NOMEM, BC_CODE_NOMEM, "out of memory");
}

/* Answer with an error a store or provider reported. */
static void fail_from(struct call *c, const struct bc_error *err, enum bc_status st,
                      const char *fallback_code)
{
	enum bc_status s = st != BC_OK ? st : BC_E_INTERNAL;
	fail_call(c, s, err->code[0] ? err->code : fallback_code, "%s",
	          err->message[0] ? err->message : "the operation failed");
	if (s == BC_E_UNAVAILABLE)
		c->retry_after = 1;
}

static void ok(struct call *c, json_t *body)
{
	json_decref(c->body);
	c->body = body;
	set_status(c, BC_OK, NULL);
	if (body == NULL)
		fail_nomem(c);
}

/* ---- helpers ---------------------------------------------------------------- */

static struct bc_instance *provider_by_name(struct bc_generation *gen, const char *name)
{
	for (size_t i = 0; i < gen->n_providers; i++)
		if (strcmp(bc_instance_name(gen->providers[i]), name) == 0)
			return gen->providers[i];
	return NULL;
}

/* "hls, rtmp": every type some provider serves, for messages. */
static void supported_types(struct bc_generation *gen, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < gen->n_providers; i++) {
		struct bc_instance *p = gen->providers[i];
		for (size_t k = 0; k < bc_instance_type_count(p); k++) {
			const char *t = bc_instance_type_at(p, k);
			int seen = 0;
			for (size_t j = 0; j < i && !seen; j++)
				seen = bc_instance_serves_type(gen->providers[j], t);
			for (size_t j = 0; j < k && !seen; j++)
				seen = strcmp(bc_instance_type_at(p, j), t) == 0;
			if (seen)
				continue;
			if (out[0] != '\0')
				strncat(out, ", ", size - strlen(out) - 1);
			strncat(out, t, size - strlen(out) - 1);
		}
	}
	if (out[0] == '\0')
		snprintf(out, size, "(none: no provider is configured)");
}

static int valid_token_text(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
		      s[n] == '-'))
			return 0;
	return n >= 1 && n <= max;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n > MAX_NAME_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static enum bc_status provider_start(struct bc_instance *p, const struct bc_stream_info *info,
                                     struct bc_endpoint *ep, struct bc_error *err)
{
	enum bc_status st;
	bc_instance_enter(p);
	st = bc_instance_plugin(p)->ops.provider.start(bc_instance_state(p), info, ep, err);
	bc_instance_leave(p);
	return st;
}


#define STORE_CALL(c, st, op, ...)                                                       \
	do {                                                                             \
		struct bc_instance *s_ = (c)->gen->store;                                \
		bc_instance_enter(s_);                                                   \
		(st) = bc_instance_plugin(s_)->ops.store.op(bc_instance_state(s_), __VA_ARGS__); \
		bc_instance_leave(s_);                                                   \
	} while (0)

/* One failure of a store or provider, counted for /metrics: the counter is
 * chosen by the kind of the instance that failed; the labels are the
 * operation and the failure's dotted code. */
static void count_error(struct call *c, struct bc_instance *inst, const struct bc_error *err,
                        const char *what)
{
	char labels[160];
	int is_store = bc_instance_plugin(inst)->desc.kind == BC_KIND_STORE;
	snprintf(labels, sizeof labels, "op=\"%s\",code=\"%s\"", what,
	         err->code[0] ? err->code : "unknown");
	bc_metrics_counter_add(bc_ctx_metrics(c->ctx),
	                       is_store ? "store_errors_total" : "provider_errors_total",
	                       bc_instance_name(inst), labels, 1);
}

/* The id parameter: required, a UUID; returned lowercased into out. */
static int take_id(struct call *c, char out[37])
{
	const char *id = bc_params_get(&c->params, "id");
	if (id == NULL || id[0] == '\0') {
		fail_call(c, BC_E_INVALID, "request.missing_parameter",
		          "parameter 'id' is required (the id start returned)");
		return -1;
	}
	if (!bc_uuid_valid(id)) {
		fail_call(c, BC_E_INVALID, "stream.bad_id",
		          "parameter 'id' must be a stream id as start returned it (a UUID)");
		return -1;
	}
	for (size_t i = 0; i < 36; i++)
		out[i] = (char)((id[i] >= 'A' && id[i] <= 'F') ? id[i] - 'A' + 'a' : id[i]);
	out[36] = '\0';
	return 0;
}

/* Read one record (any state). 0: found in sink->items[0]; -1: answered. */
static int load_record(struct call *c, const char *id, struct bc_record_sink *sink)
{
	struct bc_error err;
	enum bc_status st;
	bc_error_clear(&err);
	bc_record_sink_init(sink);
	STORE_CALL(c, st, get, id, sink, &err);
	if (st == BC_OK && sink->status != BC_OK)
		st = bc_fail(&err, sink->status, "store.bad_record", "the store returned a bad record");
	if (st == BC_OK && sink->n == 0)
		st = bc_fail(&err, BC_E_INTERNAL, "store.no_record", "the store returned no record");
	if (st == BC_OK && sink->items[0].state == BC_STATE_PENDING)
		st = BC_E_NOT_FOUND; /* still being started: not visible yet */
	if (st == BC_E_NOT_FOUND) {
		fail_call(c, BC_E_NOT_FOUND, "stream.not_found", "no stream has id %s", id);
		return -1;
	}
	if (st != BC_OK) {
		count_error(c, c->gen->store, &err, "store");
		fail_from(c, &err, st, "store.error");
		return -1;
	}
	return 0;
}

/* Owners see their own streams; a stranger learns only "forbidden". */
static int check_owner(struct call *c, const struct bc_record_copy *r)
{
	if (c->is_admin || strcmp(r->owner, c->caller) == 0)
		return 0;
	fail_call(c, BC_E_FORBIDDEN, "stream.forbidden",
	          "stream %s belongs to another caller; only its owner may use it", r->id);
	return -1;
}

/* ---- start ----------------------------------------------------------------- */

static void op_start(struct call *c)
{
	const char *type = bc_params_get(&c->params, "type");
	const char *name = bc_params_get(&c->params, "name");
	const char *want = bc_params_get(&c->params, "provider");
	struct bc_instance *prov = NULL;
	struct bc_endpoint ep = { NULL, NULL };
	struct bc_record rec;
	struct bc_stream_info info;
	struct bc_error err;
	enum bc_status st;
	char id[37], types[512], labels[96];
	char *meta = NULL;
	json_t *answer = NULL;
	int reserved = 0, minted = 0;

	if (type == NULL || type[0] == '\0')
		type = "hls";
	if (name == NULL)
		name = "";
	if (!valid_token_text(type, 32)) {
		supported_types(c->gen, types, sizeof types);
		fail_call(c, BC_E_INVALID, "stream.bad_type",
		          "parameter 'type' must be one of: %s", types);
		return;
	}
	if (!valid_name(name)) {
		fail_call(c, BC_E_INVALID, "stream.bad_name",
		          "parameter 'name' must be at most %d bytes without control characters",
		          MAX_NAME_LEN);
		return;
	}
	if (want != NULL && want[0] != '\0') {
		prov = provider_by_name(c->gen, want);
		if (prov == NULL || !bc_instance_serves_type(prov, type)) {
			fail_call(c, BC_E_INVALID, "stream.bad_provider",
			          prov == NULL ? "no provider is named '%s'"
			                       : "provider '%s' does not serve this stream type",
			          want);
			return;
		}
	}
	for (size_t i = 0; prov == NULL && i < c->gen->n_providers; i++)
		if (bc_instance_serves_type(c->gen->providers[i], type))
			prov = c->gen->providers[i];
	if (prov == NULL) {
		supported_types(c->gen, types, sizeof types);
		fail_call(c, BC_E_INVALID, "stream.bad_type",
		          "unsupported stream type '%s'; supported types: %s", type, types);
		return;
	}
	if (bc_uuid4(id) != BC_OK) {
		fail_call(c, BC_E_INTERNAL, "internal.random", "the random generator failed");
		return;
	}

	memset(&rec, 0, sizeof rec);
	rec.struct_size = sizeof rec;
	rec.id = id;
	rec.name = name;
	rec.type = type;
	rec.provider = bc_instance_name(prov);
	rec.owner = c->caller;
	rec.state = BC_STATE_PENDING;
	rec.start_ms = bc_now_ms();
	rec.meta = "{}";

	bc_error_clear(&err);
	STORE_CALL(c, st, reserve, &rec, &err);
	if (st != BC_OK) {
		count_error(c, c->gen->store, &err, "store");
		fail_from(c, &err, st, "store.error");
		goto out;
	}
	reserved = 1;

	if (bc_endpoint_init(&ep) != 0) {
		fail_nomem(c);
		goto out;
	}
	memset(&info, 0, sizeof info);
	info.struct_size = sizeof info;
	info.id = id;
	info.name = name;
	info.type = type;
	info.owner = c->caller;
	info.start_ms = rec.start_ms;
	info.host_private = ep.meta;
	bc_error_clear(&err);
	st = provider_start(prov, &info, &ep, &err);
	if (st != BC_OK) {
		count_error(c, prov, &err, "start");
		bc_log(BC_LOG_WARN, bc_instance_name(prov), "start of stream %s failed: %s: %s", id,
		       err.code[0] ? err.code : bc_status_name(st), err.message);
		fail_from(c, &err, st, "provider.error");
		goto out;
	}
	minted = 1;

	meta = json_dumps(ep.meta, JSON_COMPACT | JSON_SORT_KEYS);
	if (meta == NULL) {
		fail_nomem(c);
		goto out;
	}
	/* The answer is built before the commit: once committed, a stream whose
	 * endpoint nobody received could only be stopped by guessing its id. */
	{
		struct bc_record_copy copy = { .id = id, .name = (char *)name, .start_ms = rec.start_ms };
		answer = bc_render_start(&copy, ep.sections);
	}
	if (answer == NULL) {
		bc_log(BC_LOG_ERROR, bc_instance_name(prov), "start of stream %s: the answer could "
		       "not be rendered; rolling back", id);
		fail_nomem(c);
		goto out;
	}
	bc_error_clear(&err);
	rec.state = BC_STATE_LIVE;
	st = bc_stream_commit(c->ctx, c->gen, &rec, meta, &err);
	if (st != BC_OK) {
		count_error(c, c->gen->store, &err, "store");
		fail_from(c, &err, st, "store.error");
		goto out;
	}
	reserved = minted = 0;

	snprintf(labels, sizeof labels, "type=\"%s\"", type);
	bc_metrics_counter_add(bc_ctx_metrics(c->ctx), "streams_started_total",
	                       bc_instance_name(prov), labels, 1);
	bc_log(BC_LOG_INFO, bc_instance_name(prov), "stream %s started (type %s, owner %s)", id,
	       type, c->caller);
	ok(c, answer);
	answer = NULL;
out:
	/* Roll back in reverse: what the provider minted, then the reservation. */
	if (minted) {
		struct bc_error e2;
		bc_error_clear(&e2);
		info.stop_ms = bc_now_ms();
		if (bc_instance_provider_stop(prov, &info, &e2) != BC_OK)
			bc_log(BC_LOG_ERROR, bc_instance_name(prov), "rollback of stream %s: the "
			       "provider could not finish it: %s: %s", id, e2.code, e2.message);
	}
	if (reserved) {
		struct bc_error e2;
		enum bc_status s2;
		bc_error_clear(&e2);
		STORE_CALL(c, s2, abort, id, &e2);
		if (s2 != BC_OK)
			bc_log(BC_LOG_ERROR, bc_instance_name(c->gen->store), "rollback of stream %s: "
			       "abort failed: %s: %s; the pending record stays invisible", id,
			       e2.code, e2.message);
	}
	json_decref(answer);
	free(meta);
	bc_endpoint_free(&ep);
}

/* ---- stop -------------------------------------------------------------------- */

static void op_stop(struct call *c)
{
	struct bc_record_sink sink, stopped;
	struct bc_error err;
	enum bc_status st;
	char id[37];
	int provider_failed = 0;

	bc_record_sink_init(&sink);
	bc_record_sink_init(&stopped);
	if (take_id(c, id) != 0 || load_record(c, id, &sink) != 0 ||
	    check_owner(c, &sink.items[0]) != 0)
		goto out;
	if (sink.items[0].state == BC_STATE_STOPPED) {
		json_decref(c->body);
		c->body = bc_render_conflict(&sink.items[0]);
		set_status(c, BC_E_CONFLICT, "stream.already_stopped");
		goto out;
	}
	bc_media_overlay(c->ctx, c->gen, sink.items, 1);
	bc_error_clear(&err);
	st = bc_stream_stop_run(c->ctx, c->gen, &sink.items[0], "api", &stopped, &err,
	                        &provider_failed);
	if (provider_failed) {
		struct bc_instance *prov = provider_by_name(c->gen, sink.items[0].provider);
		if (prov != NULL)
			count_error(c, prov, &err, "stop");
		fail_from(c, &err, st, "provider.error");
		goto out;
	}
	if (st == BC_E_CONFLICT && stopped.n > 0) {
		/* Another node or request stopped it first. */
		json_decref(c->body);
		c->body = bc_render_conflict(&stopped.items[0]);
		set_status(c, BC_E_CONFLICT, "stream.already_stopped");
		goto out;
	}
	if (st == BC_E_NOT_FOUND) {
		fail_call(c, BC_E_NOT_FOUND, "stream.not_found", "no stream has id %s", id);
		goto out;
	}
	if (st != BC_OK) {
		count_error(c, c->gen->store, &err, "store");
		fail_from(c, &err, st, "store.error");
		goto out;
	}
	ok(c, bc_render_stop(&stopped.items[0]));
out:
	bc_record_sink_free(&sink);
	bc_record_sink_free(&stopped);
}

/* ---- get, list ------------------------------------------------------------- */

static void op_get(struct call *c)
{
	struct bc_record_sink sink;
	char id[37];
	bc_record_sink_init(&sink);
	if (take_id(c, id) == 0 && load_record(c, id, &sink) == 0 &&
	    check_owner(c, &sink.items[0]) == 0) {
		bc_media_overlay(c->ctx, c->gen, sink.items, sink.n);
		ok(c, bc_render_record_wrapped(&sink.items[0]));
	}
	bc_record_sink_free(&sink);
}

static int parse_cursor(const char *text, int64_t *start_ms, char id[37])
{
	char *end = NULL;
	long long v;
	if (text == NULL)
		return -1;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '_' || v < 0 || !bc_uuid_valid(end + 1))
		return -1;
	*start_ms = (int64_t)v;
	memcpy(id, end + 1, 37);
	return 0;
}

static void op_list(struct call *c)
{
	const char *state = bc_params_get(&c->params, "state");
	const char *limit_s = bc_params_get(&c->params, "limit");
	const char *cursor = bc_params_get(&c->params, "cursor");
	const char *media = bc_params_get(&c->params, "media");
	struct bc_list_query q;
	struct bc_record_sink sink;
	struct bc_error err;
	enum bc_status st;
	char after_id[37], next[80];
	long limit = 100;

	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	bc_record_sink_init(&sink);
	if (state == NULL || strcmp(state, "all") == 0 || state[0] == '\0')
		q.state = 0;
	else if (strcmp(state, "live") == 0)
		q.state = BC_STATE_LIVE;
	else if (strcmp(state, "stopped") == 0)
		q.state = BC_STATE_STOPPED;
	else {
		fail_call(c, BC_E_INVALID, "request.bad_parameter",
		          "parameter 'state' must be live, stopped or all");
		return;
	}
	if (media == NULL || media[0] == '\0')
		q.media = 0;
	else if (strcmp(media, "idle") == 0)
		q.media = BC_MEDIA_IDLE;
	else if (strcmp(media, "publishing") == 0)
		q.media = BC_MEDIA_PUBLISHING;
	else {
		fail_call(c, BC_E_INVALID, "request.bad_parameter",
		          "parameter 'media' must be idle or publishing");
		return;
	}
	if (limit_s != NULL) {
		char *end = NULL;
		limit = strtol(limit_s, &end, 10);
		if (end == limit_s || *end != '\0' || limit < 1 || limit > 1000) {
			fail_call(c, BC_E_INVALID, "request.bad_parameter",
			          "parameter 'limit' must be an integer from 1 to 1000");
			return;
		}
	}
	if (cursor != NULL && cursor[0] != '\0') {
		if (parse_cursor(cursor, &q.after_start_ms, after_id) != 0) {
			fail_call(c, BC_E_INVALID, "request.bad_parameter",
			          "parameter 'cursor' must be a next_cursor a list call returned");
			return;
		}
		q.after_id = after_id;
	}
	q.owner = c->is_admin ? NULL : c->caller;
	q.limit = (unsigned)limit + 1; /* one more tells whether a next page exists */
	if (q.limit > 1000)
		q.limit = 1000;
	bc_error_clear(&err);
	STORE_CALL(c, st, list, &q, &sink, &err);
	if (st == BC_OK && sink.status != BC_OK)
		st = bc_fail(&err, sink.status, "store.bad_record", "the store returned a bad record");
	if (st != BC_OK) {
		count_error(c, c->gen->store, &err, "store");
		fail_from(c, &err, st, "store.error");
		goto out;
	}
	{
		size_t shown = sink.n > (size_t)limit ? (size_t)limit : sink.n;
		const char *next_cursor = NULL;
		if (sink.n > shown || (sink.n == 1000 && shown == 1000)) {
			const struct bc_record_copy *last = &sink.items[shown - 1];
			snprintf(next, sizeof next, "%" PRId64 "_%s", last->start_ms, last->id);
			next_cursor = next;
		}
		bc_media_overlay(c->ctx, c->gen, sink.items, shown);
		if (q.media != 0) {
			/* Only LIVE records in that state. A 1.0 store ignores the
			 * filter: the page is filtered here (it may come out
			 * shorter than limit; next_cursor still goes on). */
			size_t k = 0;
			for (size_t i = 0; i < shown; i++) {
				if (sink.items[i].state == BC_STATE_LIVE && sink.items[i].media == q.media) {
					struct bc_record_copy t = sink.items[k];
					sink.items[k] = sink.items[i];
					sink.items[i] = t;
					k++;
				}
			}
			shown = k;
		}
		ok(c, bc_render_list(sink.items, shown, next_cursor));
	}
out:
	bc_record_sink_free(&sink);
}

/* ---- health, metrics, plugins, reload --------------------------------------- */

/* The detail of an unhealthy component goes to the log, which is where an
 * operator looks; the public body carries only its name, status and code.
 * Load balancers poll health every few seconds, so this is debug level:
 * the store and provider log their own failures when they happen. */
static void health_log(struct bc_instance *inst, enum bc_status st, const struct bc_error *err)
{
	if (st != BC_OK)
		bc_log(BC_LOG_DEBUG, bc_instance_name(inst), "health: %s: %s",
		       err->code[0] ? err->code : bc_status_name(st),
		       err->message[0] ? err->message : "not healthy");
}

static void op_health(struct call *c)
{
	json_t *providers = json_array();
	json_t *store_item, *body;
	struct bc_error err;
	enum bc_status st = BC_OK, all = BC_OK;
	struct bc_instance *s = c->gen->store;

	bc_error_clear(&err);
	if (bc_instance_plugin(s)->ops.store.health != NULL)
		STORE_CALL(c, st, health, &err);
	if (st != BC_OK)
		all = st;
	health_log(s, st, &err);
	store_item = bc_render_health_item(bc_instance_name(s), st, &err, c->is_admin);
	for (size_t i = 0; i < c->gen->n_providers; i++) {
		struct bc_instance *p = c->gen->providers[i];
		bc_error_clear(&err);
		st = BC_OK;
		if (bc_instance_plugin(p)->ops.provider.health != NULL) {
			bc_instance_enter(p);
			st = bc_instance_plugin(p)->ops.provider.health(bc_instance_state(p), &err);
			bc_instance_leave(p);
		}
		if (st != BC_OK && all == BC_OK)
			all = st;
		health_log(p, st, &err);
		json_array_append_new(providers,
		                      bc_render_health_item(bc_instance_name(p), st, &err, c->is_admin));
	}
	body = bc_render_health(all == BC_OK, store_item, providers);
	if (body == NULL) {
		fail_nomem(c);
		return;
	}
	if (all != BC_OK) {
		json_decref(c->body);
		c->body = body;
		set_status(c, BC_E_UNAVAILABLE, NULL);
		c->retry_after = 5;
		return;
	}
	ok(c, body);
}

static void op_metrics(struct call *c)
{
	double live, publishing;

	/* Counts media.c keeps; a scrape reads no store (docs/events.md). */
	bc_media_gauges(c->ctx, &live, &publishing);
	bc_metrics_gauge_set(bc_ctx_metrics(c->ctx), "streams_live", NULL, NULL, live);
	bc_metrics_gauge_set(bc_ctx_metrics(c->ctx), "streams_publishing", NULL, NULL, publishing);
	c->text = bc_metrics_render(bc_ctx_metrics(c->ctx), &c->text_len);
	if (c->text == NULL) {
		fail_nomem(c);
		return;
	}
	set_status(c, BC_OK, NULL);
}

static void op_plugins(struct call *c)
{
	ok(c, bc_render_plugins(bc_ctx_registry(c->ctx)));
}

static void op_reload(struct call *c)
{
	struct bc_error err;
	enum bc_status st;
	if (!c->is_admin) {
		fail_call(c, BC_E_FORBIDDEN, "api.forbidden",
		          "only an administrator (root or the daemon's user on the unix socket) "
		          "may reload the configuration");
		return;
	}
	/* The reload waits for requests on the old configuration to finish:
	 * this one must not hold it while waiting. */
	bc_gen_release(c->ctx, c->gen);
	c->gen = NULL;
	bc_error_clear(&err);
	st = bc_ctx_request_reload(c->ctx, &err);
	if (st != BC_OK) {
		fail_from(c, &err, st, "api.reload_failed");
		return;
	}
	ok(c, bc_render_reload());
}

/* ---- events (ABI 1.1, docs/events.md) ---------------------------------------- */

static int parse_uint(const char *text, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (text == NULL || text[0] == '\0')
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/* GET /events?after=CURSOR&limit=N&wait=SECONDS: the feed, a long-poll when
 * wait > 0. Callers see their own streams' events, administrators all. */
static void op_events(struct call *c)
{
	const char *after_s = bc_params_get(&c->params, "after");
	const char *limit_s = bc_params_get(&c->params, "limit");
	const char *wait_s = bc_params_get(&c->params, "wait");
	uint64_t after = 0, limit = 100, wait = 0;
	struct bc_event_sink sink;
	struct bc_error err;
	enum bc_status st;

	if (after_s != NULL && after_s[0] != '\0' && parse_uint(after_s, UINT64_MAX / 2, &after) != 0) {
		fail_call(c, BC_E_INVALID, "request.bad_parameter",
		          "parameter 'after' must be a cursor: 0 or the 'next' of an earlier answer");
		return;
	}
	if (limit_s != NULL && (parse_uint(limit_s, 1000, &limit) != 0 || limit < 1)) {
		fail_call(c, BC_E_INVALID, "request.bad_parameter",
		          "parameter 'limit' must be an integer from 1 to 1000");
		return;
	}
	if (wait_s != NULL && parse_uint(wait_s, 30, &wait) != 0) {
		fail_call(c, BC_E_INVALID, "request.bad_parameter",
		          "parameter 'wait' must be a whole number of seconds from 0 to 30");
		return;
	}
	bc_event_sink_init(&sink);
	bc_error_clear(&err);
	st = bc_media_events(c->ctx, &c->gen, after, (unsigned)limit,
	                     c->is_admin ? NULL : c->caller, (int64_t)wait * 1000, &sink, &err);
	if (st != BC_OK) {
		count_error(c, c->gen->store, &err, "store");
		fail_from(c, &err, st, "store.error");
	} else {
		ok(c, bc_render_events(sink.items, sink.n,
		                       sink.n > 0 ? sink.items[sink.n - 1].cursor : after));
	}
	bc_event_sink_free(&sink);
}

/* ---- the entry ------------------------------------------------------------------ */

/* The max_body of a call that no frontend made (the embedding API): the
 * frontends' default, read from the one place that states it, the common
 * option table of instance.c. 0 (no limit) only if that lost it. */
static size_t default_max_body(void)
{
	const struct bc_option *o = bc_option_first(bc_common_options(BC_KIND_FRONTEND));
	int64_t v;
	for (; o != NULL; o = bc_option_next(o))
		if (strcmp(o->name, "max_body") == 0 && o->default_value != NULL &&
		    bc_parse_size(o->default_value, &v) == 0 && v > 0)
			return (size_t)v;
	return 0;
}

static const struct bc_frontend_auth *auth_of(struct bc_generation *gen,
                                              const struct bc_instance *frontend)
{
	for (size_t i = 0; gen != NULL && i < gen->n_frontends; i++)
		if (gen->frontends[i].inst == frontend)
			return &gen->frontends[i];
	return NULL;
}

/* uid:0 and the daemon's own uid, as verified by a transport, administer. */
static int is_admin_caller(const char *caller)
{
	char own[32];
	if (caller == NULL)
		return 0;
	snprintf(own, sizeof own, "uid:%u", (unsigned)geteuid());
	return strcmp(caller, "uid:0") == 0 || strcmp(caller, own) == 0;
}

static int valid_caller(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] <= 0x20 || s[n] == '"' || s[n] == '\\' || s[n] == 0x7f)
			return 0;
	return n >= 1 && n <= 128;
}

void bc_dispatch(struct bc_context *ctx, struct bc_instance *frontend,
                 const struct bc_request *raw, struct bc_response *resp)
{
	struct bc_request req;
	struct bc_response out;
	struct call c;
	const struct op *op = NULL;
	const struct bc_frontend_auth *auth;
	struct bc_error err;
	char labels[128];
	int64_t t0 = bc_monotonic_ms();
	size_t resp_size;

	memset(&req, 0, sizeof req);
	if (raw != NULL)
		memcpy(&req, raw, raw->struct_size < sizeof req ? raw->struct_size : sizeof req);
	memset(&c, 0, sizeof c);
	c.ctx = ctx;
	c.caller = "anonymous";
	c.gen = bc_gen_acquire(ctx);
	auth = auth_of(c.gen, frontend);

	for (size_t i = 0; req.op != NULL && i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, req.op) == 0)
			op = &ops[i];
	if (op == NULL) {
		fail_call(&c, BC_E_NOT_FOUND, "api.not_found",
		          "no such API route; see docs/openapi.yaml (POST /stream/start/, "
		          "POST /stream/stop/, GET /streams/ ...)");
		goto answer;
	}
	if (req.method != NULL && strcasecmp(req.method, op->method) != 0 &&
	    !(strcasecmp(req.method, "HEAD") == 0 && strcmp(op->method, "GET") == 0)) {
		fail_call(&c, BC_E_UNSUPPORTED, "api.method_not_allowed",
		          "use %s for this route", op->method);
		c.allow = op->method;
		goto answer;
	}

	/* Who is calling. */
	if (frontend == NULL) {
		/* The embedding program is trusted; it names the owner itself. */
		if (req.caller != NULL && valid_caller(req.caller))
			c.caller = req.caller;
		c.is_admin = 1;
	} else if (req.caller != NULL && valid_caller(req.caller)) {
		/* The transport verified who this is (frontend.h): no token. */
		c.caller = req.caller;
		c.is_admin = is_admin_caller(req.caller);
	} else if (auth != NULL && auth->tokens != NULL) {
		const char *who = bc_tokens_check(auth->tokens, req.bearer);
		if (who != NULL) {
			c.caller = who;
		} else if (!op->is_public) {
			int given = req.bearer != NULL && req.bearer[0] != '\0';
			unsigned retry = 1;
			/* Failures are counted per client address, and only failures:
			 * a valid token was let through above without touching this. */
			if (auth->auth_failures != NULL &&
			    !bc_ratelimit_take(auth->auth_failures, req.peer != NULL ? req.peer : "unknown",
			                       bc_monotonic_ms(), &retry)) {
				fail_call(&c, BC_E_RATE_LIMITED, "auth.too_many_failures",
				          "too many requests with a wrong or missing bearer token from "
				          "this address; retry in %u s with a valid token", retry);
				c.retry_after = retry;
				goto answer;
			}
			fail_call(&c, BC_E_UNAUTHENTICATED,
			          given ? "auth.bad_token" : "auth.missing_token",
			          given ? "the bearer token is not valid; ask the operator for one"
			                : "this API needs a bearer token: send Authorization: Bearer TOKEN");
			c.www_authenticate = given ? "Bearer realm=\"broadcast\", error=\"invalid_token\""
			                           : "Bearer realm=\"broadcast\"";
			goto answer;
		}
	}

	if (auth != NULL && auth->limiter != NULL && !op->is_public) {
		unsigned retry = 1;
		const char *key = strcmp(c.caller, "anonymous") != 0 ? c.caller
		                  : req.peer != NULL                 ? req.peer
		                                                     : "anonymous";
		if (!bc_ratelimit_take(auth->limiter, key, bc_monotonic_ms(), &retry)) {
			fail_call(&c, BC_E_RATE_LIMITED, "api.rate_limited",
			          "too many requests; retry in %u s", retry);
			c.retry_after = retry;
			goto answer;
		}
	}

	if (!op->body_params) {
		req.body = NULL;
		req.body_len = 0;
		req.content_type = NULL;
	}
	bc_error_clear(&err);
	if (bc_params_parse(&req, auth != NULL ? auth->max_body : default_max_body(), &c.params,
	                    &err) != BC_OK) {
		fail_call(&c, err.status, err.code, "%s", err.message);
		goto answer;
	}
	op->fn(&c);

answer:
	if (c.body == NULL && c.text == NULL)
		fail_call(&c, BC_E_INTERNAL, "internal.error", "no answer was produced");
	memset(&out, 0, sizeof out);
	out.struct_size = sizeof out;
	out.status = c.http_status;
	out.code = c.status;
	out.allow = c.allow;
	out.www_authenticate = c.www_authenticate;
	out.retry_after = c.retry_after;
	if (c.text != NULL) {
		out.body = c.text;
		out.body_len = c.text_len;
		out.content_type = "text/plain; version=0.0.4";
	} else {
		out.body = json_dumps(c.body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		out.body_len = out.body ? strlen(out.body) : 0;
		out.content_type = "application/json";
		if (out.body == NULL) {
			out.body = strdup("{\"error\":{\"code\":\"" BC_CODE_NOMEM "\","
			                  "\"message\":\"out of memory\"}}");
			out.body_len = out.body ? strlen(out.body) : 0;
			out.status = bc_http_status(BC_E_NOMEM, BC_CODE_NOMEM);
			out.code = BC_E_NOMEM;
		}
	}
	out.caller = strdup(c.caller);

	snprintf(labels, sizeof labels, "op=\"%s\",status=\"%d\"", op ? op->name : "unknown",
	         out.status);
	bc_metrics_counter_add(bc_ctx_metrics(ctx), "requests_total",
	                       frontend ? bc_instance_name(frontend) : "embedded", labels, 1);
	bc_metrics_observe_request(bc_ctx_metrics(ctx), op ? op->name : "unknown",
	                           (double)(bc_monotonic_ms() - t0) / 1000.0);
	bc_log(BC_LOG_DEBUG, frontend ? bc_instance_name(frontend) : "embedded",
	       "%s %s -> %d %s (caller %s, %lld ms)", req.method ? req.method : "-",
	       op ? op->name : "unknown", out.status, out.code == BC_OK ? "ok" : "error",
	       c.caller, (long long)(bc_monotonic_ms() - t0));

	/* Write back only what the frontend's struct has room for. */
	resp_size = resp->struct_size;
	if (resp_size == 0 || resp_size > sizeof out)
		resp_size = sizeof out;
	if (resp_size < offsetof(struct bc_response, caller) + sizeof(char *)) {
		free(out.caller);
		out.caller = NULL;
	}
	out.struct_size = resp->struct_size ? resp->struct_size : sizeof out;
	memcpy(resp, &out, resp_size);

	json_decref(c.body);
	bc_params_free(&c.params);
	if (c.gen != NULL)
		bc_gen_release(ctx, c.gen);
}

void bc_resp_free_fields(struct bc_response *resp)
{
	size_t size;
	if (resp == NULL)
		return;
	size = resp->struct_size ? resp->struct_size : sizeof *resp;
	free(resp->body);
	if (size >= offsetof(struct bc_response, caller) + sizeof(char *))
		free(resp->caller);
	memset(resp, 0, size < sizeof *resp ? size : sizeof *resp);
	resp->struct_size = size;
}
