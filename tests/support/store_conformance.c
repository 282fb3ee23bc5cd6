/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_conformance.c: the store conformance suite of store_conformance.h.
 *
 * Each test opens a store on a fresh database through the stub host, drives
 * it through bc_store_ops only, and closes it. Records read back come from
 * the framework's own record sink (records.c), so the suite sees exactly
 * what the dispatcher would. Worker threads never call ck_assert (Check
 * can only fail from the test's own thread): they count outcomes, and the
 * test asserts on the counts.
 *
 * The store gets a copy of the stub host's table with record_put and
 * event_put replaced by the suite's (cf_api): record_put still fills the
 * framework's sink, and for the sinks a test registered (struct cf_xsink)
 * also keeps the ABI 1.1 members of the record and which thread put it;
 * event_put fills the suite's struct cf_evsink. So the 1.1 checks do not
 * depend on how far the host's own sinks have got.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_conformance.h"
#include "stubhost.h"

static const struct store_fixture *cf_fx;

/* Several suites (fixtures) per program: each one's test cases set cf_fx
 * in a checked fixture, which runs in the test's own process. */
#define CF_SLOTS 4
static const struct store_fixture *cf_slots[CF_SLOTS];
static unsigned cf_n_slots;
static void cf_setup0(void) { cf_fx = cf_slots[0]; }
static void cf_setup1(void) { cf_fx = cf_slots[1]; }
static void cf_setup2(void) { cf_fx = cf_slots[2]; }
static void cf_setup3(void) { cf_fx = cf_slots[3]; }
static void (*const cf_setups[CF_SLOTS])(void) = { cf_setup0, cf_setup1, cf_setup2, cf_setup3 };

struct cf_store {
	const struct bc_plugin *plugin;
	const struct bc_store_ops *ops;
	struct stubhost *sh;
	void *inst;
	int serialise;        /* the plugin is not thread-safe: lock like the host */
	pthread_mutex_t lock;
};

#define CF_T0 INT64_C(1700000000000)

/* An op expected to fail: its status, the same status in `err`, and a
 * dotted code ("store.not_found"), filled by this call (err is cleared
 * first, so a code left from an earlier failure cannot pass for it). */
#define CF_EXPECT_FAILURE(call, want, errp)                                              \
	do {                                                                             \
		memset((errp), 0, sizeof *(errp));                                       \
		enum bc_status cf_got_ = (call);                                         \
		ck_assert_int_eq(cf_got_, (want));                                       \
		ck_assert_int_eq((errp)->status, (want));                                \
		ck_assert_msg(strchr((errp)->code, '.') != NULL,                         \
		              "a failure without a dotted code: \"%s\"", (errp)->code); \
	} while (0)

/* ---- helpers ---------------------------------------------------------------- */

static void cf_id(char out[37], unsigned tag, unsigned n)
{
	snprintf(out, 37, "%08x-0000-4000-8000-%012x", tag, n);
}

/* ---- the suite's host table and sinks (ABI 1.1) ------------------------------ */

/* The ABI 1.1 members of one record a store put, as it passed them. */
struct cf_ext {
	enum bc_media_state media;
	int64_t publish_ms, media_ms;
	char stop_reason[32];
	uint64_t event_seq;
};

/* A record sink that also keeps the 1.1 members (ext[i] goes with
 * rs.items[i]); register with cf_xsink_init before passing &x->rs. */
struct cf_xsink {
	struct bc_record_sink rs; /* what the store writes into */
	struct cf_ext *ext;
	size_t n, cap;
	pthread_t thread;         /* the only thread allowed to put into it */
	unsigned wrong_thread;    /* puts from another thread (host.h forbids them) */
};

#define CF_MAX_XSINKS 64
static pthread_mutex_t cf_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cf_xsink *cf_reg[CF_MAX_XSINKS];

static void cf_xsink_init(struct cf_xsink *x)
{
	memset(x, 0, sizeof *x);
	bc_record_sink_init(&x->rs);
	x->thread = pthread_self();
	pthread_mutex_lock(&cf_reg_lock);
	for (size_t i = 0; i < CF_MAX_XSINKS; i++)
		if (cf_reg[i] == NULL) {
			cf_reg[i] = x;
			x = NULL;
			break;
		}
	pthread_mutex_unlock(&cf_reg_lock);
	ck_assert_msg(x == NULL, "too many extended sinks at once");
}

/* Empty it (it stays registered). */
static void cf_xsink_clear(struct cf_xsink *x)
{
	bc_record_sink_free(&x->rs);
	x->n = 0;
}

static void cf_xsink_free(struct cf_xsink *x)
{
	pthread_mutex_lock(&cf_reg_lock);
	for (size_t i = 0; i < CF_MAX_XSINKS; i++)
		if (cf_reg[i] == x)
			cf_reg[i] = NULL;
	pthread_mutex_unlock(&cf_reg_lock);
	bc_record_sink_free(&x->rs);
	free(x->ext);
	x->ext = NULL;
	x->n = x->cap = 0;
}

static enum bc_status cf_record_put(struct bc_record_sink *sink, const struct bc_record *record)
{
	enum bc_status st = bc_record_put(sink, record);
	struct cf_xsink *x = NULL;
	struct bc_record full;

	pthread_mutex_lock(&cf_reg_lock);
	for (size_t i = 0; i < CF_MAX_XSINKS && x == NULL; i++)
		if (cf_reg[i] != NULL && &cf_reg[i]->rs == sink)
			x = cf_reg[i];
	pthread_mutex_unlock(&cf_reg_lock);
	if (x == NULL || st != BC_OK)
		return st;
	if (!pthread_equal(x->thread, pthread_self()))
		x->wrong_thread++;
	/* Zero-extend what an older store passed, as the host does. */
	memset(&full, 0, sizeof full);
	memcpy(&full, record,
	       record->struct_size < sizeof full ? record->struct_size : sizeof full);
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		struct cf_ext *v = realloc(x->ext, cap * sizeof *v);
		if (v == NULL)
			return BC_E_NOMEM;
		x->ext = v;
		x->cap = cap;
	}
	memset(&x->ext[x->n], 0, sizeof x->ext[x->n]);
	x->ext[x->n].media = full.media;
	x->ext[x->n].publish_ms = full.publish_ms;
	x->ext[x->n].media_ms = full.media_ms;
	snprintf(x->ext[x->n].stop_reason, sizeof x->ext[x->n].stop_reason, "%s",
	         full.stop_reason != NULL ? full.stop_reason : "(null)");
	x->ext[x->n].event_seq = full.event_seq;
	x->n++;
	return BC_OK;
}

/* One event as a store handed it to event_put(), copied. */
struct cf_ev {
	uint64_t cursor, seq;
	int64_t time_ms;
	char *stream_id, *type, *owner, *data;
};

/* The suite's event sink: passed to events() as a struct bc_event_sink *. */
struct cf_evsink {
	struct cf_ev *items;
	size_t n, cap;
	pthread_t thread;
	unsigned wrong_thread; /* puts from another thread */
	unsigned bad;          /* NULL strings, a struct_size of 0 */
};

static void cf_evsink_init(struct cf_evsink *e)
{
	memset(e, 0, sizeof *e);
	e->thread = pthread_self();
}

static void cf_evsink_clear(struct cf_evsink *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->items[i].stream_id);
		free(e->items[i].type);
		free(e->items[i].owner);
		free(e->items[i].data);
	}
	e->n = 0;
}

static void cf_evsink_free(struct cf_evsink *e)
{
	cf_evsink_clear(e);
	free(e->items);
	e->items = NULL;
	e->cap = 0;
}

static enum bc_status cf_event_put(struct bc_event_sink *sink, const struct bc_event *event)
{
	struct cf_evsink *e = (struct cf_evsink *)sink;
	struct bc_event full;
	struct cf_ev *c;

	if (e == NULL || event == NULL || event->struct_size == 0) {
		if (e != NULL)
			e->bad++;
		return BC_E_INVALID;
	}
	if (!pthread_equal(e->thread, pthread_self()))
		e->wrong_thread++;
	memset(&full, 0, sizeof full);
	memcpy(&full, event, event->struct_size < sizeof full ? event->struct_size : sizeof full);
	if (full.stream_id == NULL || full.type == NULL || full.owner == NULL || full.data == NULL)
		e->bad++;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct cf_ev *v = realloc(e->items, cap * sizeof *v);
		if (v == NULL)
			return BC_E_NOMEM;
		e->items = v;
		e->cap = cap;
	}
	c = &e->items[e->n++];
	c->cursor = full.cursor;
	c->seq = full.seq;
	c->time_ms = full.time_ms;
	c->stream_id = strdup(full.stream_id ? full.stream_id : "");
	c->type = strdup(full.type ? full.type : "");
	c->owner = strdup(full.owner ? full.owner : "");
	c->data = strdup(full.data ? full.data : "");
	if (!c->stream_id || !c->type || !c->owner || !c->data)
		return BC_E_NOMEM;
	return BC_OK;
}

static struct bc_host_api cf_api;

static const struct bc_host_api *cf_host_api(void)
{
	cf_api = *stubhost_api();
	cf_api.record_put = cf_record_put;
	cf_api.event_put = cf_event_put;
	if (cf_api.fail_v == NULL)
		cf_api.fail_v = bc_vfail;
	return &cf_api;
}

static void cf_open(struct cf_store *s, const char *const *kv)
{
	struct bc_error err;
	enum bc_status st;

	memset(&err, 0, sizeof err);
	s->sh = stubhost_new(s->plugin->name, s->plugin, kv);
	st = s->ops->create(cf_host_api(), stubhost_host(s->sh), stubhost_config(s->sh),
	                    &s->inst, &err);
	ck_assert_msg(st == BC_OK, "create: %d %s: %s", st, err.code, err.message);
}

static void cf_close(struct cf_store *s)
{
	if (s->inst != NULL)
		s->ops->destroy(s->inst);
	s->inst = NULL;
	stubhost_free(s->sh);
	s->sh = NULL;
}

/* Load the plugin and open a store on a new, empty database. */
static void cf_start(struct cf_store *s)
{
	memset(s, 0, sizeof *s);
	s->plugin = stubhost_load_plugin(cf_fx->so_path, BC_KIND_STORE, cf_fx->plugin_name);
	s->ops = s->plugin->ops;
	ck_assert_ptr_nonnull(s->ops);
	ck_assert_uint_ge(s->ops->struct_size, sizeof(struct bc_store_ops));
	s->serialise = (s->plugin->flags & BC_PLUGIN_THREAD_SAFE) == 0;
	pthread_mutex_init(&s->lock, NULL);
	cf_open(s, cf_fx->fresh_config(cf_fx->arg));
}

static void cf_finish(struct cf_store *s)
{
	cf_close(s);
	pthread_mutex_destroy(&s->lock);
	if (cf_fx->cleanup != NULL)
		cf_fx->cleanup(cf_fx->arg);
}

static void cf_enter(struct cf_store *s)
{
	if (s->serialise)
		pthread_mutex_lock(&s->lock);
}

static void cf_leave(struct cf_store *s)
{
	if (s->serialise)
		pthread_mutex_unlock(&s->lock);
}

static enum bc_status cf_reserve_rec(struct cf_store *s, const struct bc_record *r,
                                     struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->reserve(s->inst, r, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_reserve(struct cf_store *s, const char *id, const char *name,
                                 const char *owner, int64_t start_ms, struct bc_error *err)
{
	struct bc_record r;
	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	r.id = id;
	r.name = name;
	r.type = "hls";
	r.provider = "prov-a";
	r.owner = owner;
	r.state = BC_STATE_PENDING;
	r.start_ms = start_ms;
	r.meta = "{}";
	return cf_reserve_rec(s, &r, err);
}

static enum bc_status cf_commit(struct cf_store *s, const char *id, const char *meta,
                                struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->commit(s->inst, id, meta, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_abort(struct cf_store *s, const char *id, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->abort(s->inst, id, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_get(struct cf_store *s, const char *id, struct bc_record_sink *out,
                             struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->get(s->inst, id, out, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_stop(struct cf_store *s, const char *id, int64_t stop_ms,
                              struct bc_record_sink *out, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->stop(s->inst, id, stop_ms, out, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_list(struct cf_store *s, const struct bc_list_query *q,
                              struct bc_record_sink *out, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->list(s->inst, q, out, err);
	cf_leave(s);
	return st;
}

/* reserve + commit, asserting both succeed. */
static void cf_start_stream(struct cf_store *s, const char *id, const char *owner,
                            int64_t start_ms)
{
	struct bc_error err;
	enum bc_status st = cf_reserve(s, id, "n", owner, start_ms, &err);
	ck_assert_msg(st == BC_OK, "reserve %s: %d %s", id, st, err.message);
	st = cf_commit(s, id, "{}", &err);
	ck_assert_msg(st == BC_OK, "commit %s: %d %s", id, st, err.message);
}

static void cf_query(struct bc_list_query *q, const char *owner, enum bc_stream_state state,
                     unsigned limit)
{
	memset(q, 0, sizeof *q);
	q->struct_size = sizeof *q;
	q->owner = owner;
	q->state = state;
	q->limit = limit;
}

/* ---- round trip, duplicates, abort, not found ---------------------------------- */

START_TEST(test_round_trip)
{
	struct cf_store s;
	struct bc_record r;
	struct bc_record_sink sink;
	struct bc_error err;
	const char *meta = "{\"token_sha256\":\"9f86d081884c7d65\",\"note\":\"a \\\"q\\\" \xc3\xa9\"}";
	char id[37], id2[37];

	cf_start(&s);
	cf_id(id, 1, 1);
	cf_id(id2, 1, 2);
	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	r.id = id;
	r.name = "";
	r.type = "hls";
	r.provider = "s3-main";
	r.owner = "alice";
	r.state = BC_STATE_PENDING;
	r.start_ms = CF_T0 + 123;
	r.meta = "{}";
	ck_assert_int_eq(cf_reserve_rec(&s, &r, &err), BC_OK);

	bc_record_sink_init(&sink);
	ck_assert_int_eq(cf_get(&s, id, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_PENDING);
	bc_record_sink_free(&sink);

	ck_assert_int_eq(cf_commit(&s, id, meta, &err), BC_OK);
	ck_assert_int_eq(cf_get(&s, id, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, id);
	ck_assert_str_eq(sink.items[0].name, "");
	ck_assert_str_eq(sink.items[0].type, "hls");
	ck_assert_str_eq(sink.items[0].provider, "s3-main");
	ck_assert_str_eq(sink.items[0].owner, "alice");
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_int_eq(sink.items[0].start_ms, CF_T0 + 123);
	ck_assert_int_eq(sink.items[0].stop_ms, 0);
	ck_assert_str_eq(sink.items[0].meta, meta);
	bc_record_sink_free(&sink);

	/* A name with spaces and UTF-8 survives too. */
	r.id = id2;
	r.name = "my stream \xe2\x9c\x93";
	r.type = "rtmp";
	r.owner = "";
	ck_assert_int_eq(cf_reserve_rec(&s, &r, &err), BC_OK);
	ck_assert_int_eq(cf_commit(&s, id2, "{}", &err), BC_OK);
	ck_assert_int_eq(cf_get(&s, id2, &sink, &err), BC_OK);
	ck_assert_str_eq(sink.items[0].name, "my stream \xe2\x9c\x93");
	ck_assert_str_eq(sink.items[0].type, "rtmp");
	ck_assert_str_eq(sink.items[0].owner, "");
	ck_assert_str_eq(sink.items[0].meta, "{}");
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

START_TEST(test_duplicate_reserve)
{
	struct cf_store s;
	struct bc_error err;
	char id[37];

	cf_start(&s);
	cf_id(id, 2, 1);
	ck_assert_int_eq(cf_reserve(&s, id, "a", "alice", CF_T0, &err), BC_OK);
	CF_EXPECT_FAILURE(cf_reserve(&s, id, "b", "bob", CF_T0 + 1, &err), BC_E_CONFLICT, &err);
	ck_assert_int_eq(err.status, BC_E_CONFLICT);
	ck_assert_str_ne(err.code, "");
	ck_assert_int_eq(cf_commit(&s, id, "{}", &err), BC_OK);
	CF_EXPECT_FAILURE(cf_reserve(&s, id, "c", "carol", CF_T0 + 2, &err), BC_E_CONFLICT, &err);
	cf_finish(&s);
}
END_TEST

START_TEST(test_abort)
{
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37], live[37];

	cf_start(&s);
	cf_id(id, 3, 1);
	cf_id(live, 3, 2);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(cf_reserve(&s, id, "a", "alice", CF_T0, &err), BC_OK);
	ck_assert_int_eq(cf_abort(&s, id, &err), BC_OK);
	CF_EXPECT_FAILURE(cf_get(&s, id, &sink, &err), BC_E_NOT_FOUND, &err);
	ck_assert_uint_eq(sink.n, 0);
	ck_assert_int_eq(cf_abort(&s, id, &err), BC_OK); /* idempotent */
	CF_EXPECT_FAILURE(cf_commit(&s, id, "{}", &err), BC_E_NOT_FOUND, &err);
	ck_assert_str_eq(err.code, "store.not_found");
	/* The id is free again after an abort. */
	ck_assert_int_eq(cf_reserve(&s, id, "a", "alice", CF_T0, &err), BC_OK);

	/* abort never deletes a LIVE (or STOPPED) record. */
	cf_start_stream(&s, live, "alice", CF_T0);
	ck_assert_int_eq(cf_abort(&s, live, &err), BC_OK);
	ck_assert_int_eq(cf_get(&s, live, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	bc_record_sink_free(&sink);
	ck_assert_int_eq(cf_stop(&s, live, CF_T0 + 5, &sink, &err), BC_OK);
	bc_record_sink_free(&sink);
	ck_assert_int_eq(cf_abort(&s, live, &err), BC_OK);
	ck_assert_int_eq(cf_get(&s, live, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	bc_record_sink_free(&sink);
	/* commit only turns PENDING records LIVE. */
	CF_EXPECT_FAILURE(cf_commit(&s, live, "{}", &err), BC_E_NOT_FOUND, &err);
	cf_finish(&s);
}
END_TEST

START_TEST(test_not_found)
{
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37];

	cf_start(&s);
	cf_id(id, 4, 1);
	bc_record_sink_init(&sink);
	CF_EXPECT_FAILURE(cf_get(&s, id, &sink, &err), BC_E_NOT_FOUND, &err);
	ck_assert_str_eq(err.code, "store.not_found");
	CF_EXPECT_FAILURE(cf_stop(&s, id, CF_T0, &sink, &err), BC_E_NOT_FOUND, &err);
	ck_assert_str_eq(err.code, "store.not_found");
	CF_EXPECT_FAILURE(cf_commit(&s, id, "{}", &err), BC_E_NOT_FOUND, &err);
	ck_assert_uint_eq(sink.n, 0);
	/* A PENDING stream has not started yet: it cannot be stopped. */
	ck_assert_int_eq(cf_reserve(&s, id, "a", "alice", CF_T0, &err), BC_OK);
	CF_EXPECT_FAILURE(cf_stop(&s, id, CF_T0 + 1, &sink, &err), BC_E_NOT_FOUND, &err);
	ck_assert_uint_eq(sink.n, 0);
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

START_TEST(test_health)
{
	struct cf_store s;
	struct bc_error err;

	cf_start(&s);
	memset(&err, 0, sizeof err);
	if (s.ops->health != NULL)
		ck_assert_msg(s.ops->health(s.inst, &err) == BC_OK, "health: %s", err.message);
	cf_finish(&s);
}
END_TEST

/* ---- stop ------------------------------------------------------------------------ */

START_TEST(test_stop)
{
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37];

	cf_start(&s);
	cf_id(id, 5, 1);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(cf_reserve(&s, id, "show", "alice", CF_T0, &err), BC_OK);
	ck_assert_int_eq(cf_commit(&s, id, "{\"k\":\"v\"}", &err), BC_OK);

	ck_assert_int_eq(cf_stop(&s, id, CF_T0 + 60000, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, id);
	ck_assert_str_eq(sink.items[0].name, "show");
	ck_assert_str_eq(sink.items[0].owner, "alice");
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].start_ms, CF_T0);
	ck_assert_int_eq(sink.items[0].stop_ms, CF_T0 + 60000);
	ck_assert_str_eq(sink.items[0].meta, "{\"k\":\"v\"}");
	bc_record_sink_free(&sink);

	ck_assert_int_eq(cf_get(&s, id, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].stop_ms, CF_T0 + 60000);
	bc_record_sink_free(&sink);

	/* The second stop loses and sees the first one's stop_ms. */
	CF_EXPECT_FAILURE(cf_stop(&s, id, CF_T0 + 99000, &sink, &err), BC_E_CONFLICT, &err);
	ck_assert_int_eq(err.status, BC_E_CONFLICT);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].stop_ms, CF_T0 + 60000);
	ck_assert_str_eq(sink.items[0].name, "show");
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

/* ---- list ------------------------------------------------------------------------- */

static int cf_cmp_desc(const struct bc_record_copy *a, const struct bc_record_copy *b)
{
	if (a->start_ms != b->start_ms)
		return a->start_ms > b->start_ms ? -1 : 1;
	return -strcmp(a->id, b->id);
}

/* Assert the sink is in strict list order. */
static void cf_assert_order(const struct bc_record_sink *sink)
{
	for (size_t i = 1; i < sink->n; i++)
		ck_assert_msg(cf_cmp_desc(&sink->items[i - 1], &sink->items[i]) < 0,
		              "row %zu (%s, %lld) is not after row %zu (%s, %lld)", i,
		              sink->items[i].id, (long long)sink->items[i].start_ms, i - 1,
		              sink->items[i - 1].id, (long long)sink->items[i - 1].start_ms);
}

START_TEST(test_pending_not_listed)
{
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_list_query q;
	struct bc_error err;
	char pending[37], live[37];

	cf_start(&s);
	cf_id(pending, 6, 1);
	cf_id(live, 6, 2);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(cf_reserve(&s, pending, "p", "alice", CF_T0 + 10, &err), BC_OK);
	cf_start_stream(&s, live, "alice", CF_T0);
	cf_query(&q, NULL, 0, 100);
	ck_assert_int_eq(cf_list(&s, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, live);
	bc_record_sink_free(&sink);
	cf_query(&q, NULL, BC_STATE_PENDING, 100);
	ck_assert_int_eq(cf_list(&s, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, pending);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_PENDING);
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

START_TEST(test_list_order)
{
	/* Inserted out of order, with ties on start_ms broken by id. */
	static const struct { unsigned n; int64_t start; } rows[] = {
		{ 5, 2000 }, { 1, 1000 }, { 9, 1000 }, { 3, 3000 }, { 7, 1000 }, { 2, 2000 },
	};
	static const unsigned want[] = { 3, 5, 2, 9, 7, 1 };
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_list_query q;
	struct bc_error err;
	char id[37];

	cf_start(&s);
	bc_record_sink_init(&sink);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cf_id(id, 7, rows[i].n);
		cf_start_stream(&s, id, "alice", CF_T0 + rows[i].start);
	}
	cf_query(&q, NULL, 0, 1000);
	ck_assert_int_eq(cf_list(&s, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 6);
	for (size_t i = 0; i < 6; i++) {
		cf_id(id, 7, want[i]);
		ck_assert_str_eq(sink.items[i].id, id);
	}
	cf_assert_order(&sink);
	bc_record_sink_free(&sink);
	/* limit is honoured. */
	cf_query(&q, NULL, 0, 2);
	ck_assert_int_eq(cf_list(&s, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 2);
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

/* Page through everything `owner`/`state` selects with `limit`, asserting
 * order and filters within and across pages. Copies the ids seen into
 * `ids` (at most `max`), returns their number and the pages it took. */
static size_t cf_page_all(struct cf_store *s, const char *owner, enum bc_stream_state state,
                          unsigned limit, char ids[][37], size_t max, size_t *pages)
{
	char last_id[37] = "";
	size_t n = 0;
	int64_t last_start = 0;

	*pages = 0;
	for (;;) {
		struct bc_record_sink sink;
		struct bc_list_query q;
		struct bc_error err;

		bc_record_sink_init(&sink);
		cf_query(&q, owner, state, limit);
		if (last_id[0] != '\0') {
			q.after_start_ms = last_start;
			q.after_id = last_id;
		}
		ck_assert_int_eq(cf_list(s, &q, &sink, &err), BC_OK);
		ck_assert_uint_le(sink.n, limit);
		cf_assert_order(&sink);
		if (sink.n == 0) {
			bc_record_sink_free(&sink);
			break;
		}
		(*pages)++;
		ck_assert_uint_lt(*pages, 100);
		for (size_t i = 0; i < sink.n; i++) {
			if (last_id[0] != '\0' || i > 0) {
				struct bc_record_copy prev = { .id = last_id, .start_ms = last_start };
				if (i > 0)
					prev = sink.items[i - 1];
				ck_assert(cf_cmp_desc(&prev, &sink.items[i]) < 0);
			}
			if (owner != NULL)
				ck_assert_str_eq(sink.items[i].owner, owner);
			if (state != 0)
				ck_assert_int_eq(sink.items[i].state, state);
			else
				ck_assert_int_ne(sink.items[i].state, BC_STATE_PENDING);
			ck_assert_uint_lt(n, max);
			snprintf(ids[n++], 37, "%s", sink.items[i].id);
		}
		snprintf(last_id, sizeof last_id, "%s", sink.items[sink.n - 1].id);
		last_start = sink.items[sink.n - 1].start_ms;
		bc_record_sink_free(&sink);
	}
	return n;
}

START_TEST(test_list_pagination)
{
	struct cf_store s;
	char ids[64][37], id[37];
	size_t n, pages;
	int seen[25];

	cf_start(&s);
	/* Three records per start_ms, so page edges fall inside ties. */
	for (unsigned i = 0; i < 25; i++) {
		cf_id(id, 8, (i * 7919u) % 1000u);
		cf_start_stream(&s, id, "alice", CF_T0 + i / 3);
	}
	n = cf_page_all(&s, NULL, 0, 7, ids, 64, &pages);
	ck_assert_uint_eq(n, 25);
	ck_assert_uint_eq(pages, 4);
	memset(seen, 0, sizeof seen);
	for (size_t k = 0; k < n; k++) {
		int found = 0;
		for (unsigned i = 0; i < 25; i++) {
			cf_id(id, 8, (i * 7919u) % 1000u);
			if (strcmp(id, ids[k]) == 0) {
				seen[i]++;
				found = 1;
			}
		}
		ck_assert_msg(found, "unknown id %s", ids[k]);
	}
	for (unsigned i = 0; i < 25; i++)
		ck_assert_int_eq(seen[i], 1);
	cf_finish(&s);
}
END_TEST

START_TEST(test_list_filters)
{
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_error err;
	char ids[64][37], id[37];
	size_t n, pages;

	cf_start(&s);
	bc_record_sink_init(&sink);
	/* 20 streams: even ones alice's, odd bob's; every third one stopped. */
	for (unsigned i = 0; i < 20; i++) {
		cf_id(id, 9, i);
		cf_start_stream(&s, id, i % 2 ? "bob" : "alice", CF_T0 + i / 2);
		if (i % 3 == 0) {
			ck_assert_int_eq(cf_stop(&s, id, CF_T0 + 100, &sink, &err), BC_OK);
			bc_record_sink_free(&sink);
		}
	}
	n = cf_page_all(&s, "alice", 0, 3, ids, 64, &pages);
	ck_assert_uint_eq(n, 10);
	n = cf_page_all(&s, "bob", 0, 100, ids, 64, &pages);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(pages, 1);
	n = cf_page_all(&s, "nobody", 0, 5, ids, 64, &pages);
	ck_assert_uint_eq(n, 0);
	n = cf_page_all(&s, NULL, BC_STATE_STOPPED, 4, ids, 64, &pages);
	ck_assert_uint_eq(n, 7); /* 0, 3, 6, 9, 12, 15, 18 */
	n = cf_page_all(&s, NULL, BC_STATE_LIVE, 4, ids, 64, &pages);
	ck_assert_uint_eq(n, 13);
	n = cf_page_all(&s, "alice", BC_STATE_STOPPED, 2, ids, 64, &pages);
	ck_assert_uint_eq(n, 4); /* 0, 6, 12, 18 */
	n = cf_page_all(&s, "bob", BC_STATE_LIVE, 2, ids, 64, &pages);
	ck_assert_uint_eq(n, 7); /* 10 minus 3, 9, 15 */
	n = cf_page_all(&s, NULL, 0, 1, ids, 64, &pages);
	ck_assert_uint_eq(n, 20);
	cf_finish(&s);
}
END_TEST

/* ---- durability --------------------------------------------------------------------- */

START_TEST(test_durability)
{
	struct cf_store s;
	struct bc_record_sink sink;
	struct bc_error err;
	char live[37], stopped[37], pending[37];

	cf_start(&s);
	if (cf_fx->no_reopen) {
		cf_finish(&s);
		return;
	}
	cf_id(live, 10, 1);
	cf_id(stopped, 10, 2);
	cf_id(pending, 10, 3);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(cf_reserve(&s, live, "kept", "alice", CF_T0, &err), BC_OK);
	ck_assert_int_eq(cf_commit(&s, live, "{\"a\":\"1\"}", &err), BC_OK);
	cf_start_stream(&s, stopped, "bob", CF_T0 + 1);
	ck_assert_int_eq(cf_stop(&s, stopped, CF_T0 + 7, &sink, &err), BC_OK);
	bc_record_sink_free(&sink);
	ck_assert_int_eq(cf_reserve(&s, pending, "p", "carol", CF_T0 + 2, &err), BC_OK);

	cf_close(&s);
	cf_open(&s, cf_fx->same_config(cf_fx->arg));

	ck_assert_int_eq(cf_get(&s, live, &sink, &err), BC_OK);
	ck_assert_str_eq(sink.items[0].name, "kept");
	ck_assert_str_eq(sink.items[0].meta, "{\"a\":\"1\"}");
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_int_eq(sink.items[0].start_ms, CF_T0);
	bc_record_sink_free(&sink);
	ck_assert_int_eq(cf_get(&s, stopped, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].stop_ms, CF_T0 + 7);
	bc_record_sink_free(&sink);
	/* A stop after the restart still works, and still only once. */
	ck_assert_int_eq(cf_stop(&s, live, CF_T0 + 9, &sink, &err), BC_OK);
	bc_record_sink_free(&sink);
	CF_EXPECT_FAILURE(cf_stop(&s, live, CF_T0 + 10, &sink, &err), BC_E_CONFLICT, &err);
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------------- */

#define CF_THREADS 8
#define CF_CYCLES 50

struct cf_worker {
	struct cf_store *s;
	unsigned index;
	unsigned ok, bad;        /* cycles that went exactly right / wrong */
	char first_error[1024];
	/* racing stops */
	unsigned wins, conflicts, others;
	int64_t seen_stop[CF_CYCLES];
};

static void cf_worker_fail(struct cf_worker *w, const char *what, enum bc_status st,
                           const struct bc_error *err)
{
	w->bad++;
	if (w->first_error[0] == '\0')
		snprintf(w->first_error, sizeof w->first_error, "thread %u: %s: %d %s: %s",
		         w->index, what, st, err->code, err->message);
}

/* Each thread runs its own streams through start, stop, a losing stop and a
 * get, while the others do the same. */
static void *cf_cycle_worker(void *arg)
{
	struct cf_worker *w = arg;
	struct bc_error err;
	enum bc_status st;
	char id[37];

	for (unsigned i = 0; i < CF_CYCLES; i++) {
		struct bc_record_sink sink;
		int64_t start = CF_T0 + i, stop = CF_T0 + 1000 + w->index;

		bc_record_sink_init(&sink);
		cf_id(id, 0x100 + w->index, i);
		if ((st = cf_reserve(w->s, id, "c", "alice", start, &err)) != BC_OK) {
			cf_worker_fail(w, "reserve", st, &err);
			continue;
		}
		if ((st = cf_commit(w->s, id, "{\"t\":\"x\"}", &err)) != BC_OK) {
			cf_worker_fail(w, "commit", st, &err);
			continue;
		}
		st = cf_stop(w->s, id, stop, &sink, &err);
		if (st != BC_OK || sink.n != 1 || sink.items[0].stop_ms != stop) {
			cf_worker_fail(w, "stop", st, &err);
			bc_record_sink_free(&sink);
			continue;
		}
		bc_record_sink_free(&sink);
		st = cf_stop(w->s, id, stop + 1, &sink, &err);
		if (st != BC_E_CONFLICT || sink.n != 1 || sink.items[0].stop_ms != stop) {
			cf_worker_fail(w, "second stop", st, &err);
			bc_record_sink_free(&sink);
			continue;
		}
		bc_record_sink_free(&sink);
		st = cf_get(w->s, id, &sink, &err);
		if (st != BC_OK || sink.n != 1 || sink.items[0].state != BC_STATE_STOPPED ||
		    strcmp(sink.items[0].meta, "{\"t\":\"x\"}") != 0) {
			cf_worker_fail(w, "get", st, &err);
			bc_record_sink_free(&sink);
			continue;
		}
		bc_record_sink_free(&sink);
		w->ok++;
	}
	return NULL;
}

START_TEST(test_concurrent_cycles)
{
	struct cf_store s;
	struct cf_worker w[CF_THREADS];
	pthread_t t[CF_THREADS];
	char ids[CF_THREADS * CF_CYCLES + 8][37];
	size_t n, pages;

	cf_start(&s);
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i < CF_THREADS; i++) {
		w[i].s = &s;
		w[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, cf_cycle_worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < CF_THREADS; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < CF_THREADS; i++) {
		ck_assert_msg(w[i].bad == 0, "%u bad cycles, first: %s", w[i].bad,
		              w[i].first_error);
		ck_assert_uint_eq(w[i].ok, CF_CYCLES);
	}
	n = cf_page_all(&s, NULL, BC_STATE_STOPPED, 97, ids, CF_THREADS * CF_CYCLES + 8, &pages);
	ck_assert_uint_eq(n, CF_THREADS * CF_CYCLES);
	cf_finish(&s);
}
END_TEST

/* Every thread stops the same streams: exactly one wins each. */
static void *cf_race_worker(void *arg)
{
	struct cf_worker *w = arg;
	char id[37];

	for (unsigned i = 0; i < CF_CYCLES; i++) {
		struct bc_record_sink sink;
		struct bc_error err;
		enum bc_status st;

		bc_record_sink_init(&sink);
		cf_id(id, 0x200, i);
		st = cf_stop(w->s, id, CF_T0 + 1000 + w->index, &sink, &err);
		if (st == BC_OK)
			w->wins++;
		else if (st == BC_E_CONFLICT)
			w->conflicts++;
		else
			cf_worker_fail(w, "racing stop", st, &err);
		w->seen_stop[i] = sink.n == 1 ? sink.items[0].stop_ms : -1;
		bc_record_sink_free(&sink);
	}
	return NULL;
}

START_TEST(test_concurrent_stop_race)
{
	struct cf_store s;
	struct cf_worker w[CF_THREADS];
	pthread_t t[CF_THREADS];
	unsigned wins = 0, conflicts = 0;
	char id[37];

	cf_start(&s);
	for (unsigned i = 0; i < CF_CYCLES; i++) {
		cf_id(id, 0x200, i);
		cf_start_stream(&s, id, "alice", CF_T0 + i);
	}
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i < CF_THREADS; i++) {
		w[i].s = &s;
		w[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, cf_race_worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < CF_THREADS; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < CF_THREADS; i++) {
		ck_assert_msg(w[i].bad == 0, "%s", w[i].first_error);
		wins += w[i].wins;
		conflicts += w[i].conflicts;
	}
	ck_assert_uint_eq(wins, CF_CYCLES);
	ck_assert_uint_eq(conflicts, CF_CYCLES * (CF_THREADS - 1));
	/* Winners and losers of one stream all saw the winner's stop_ms. */
	for (unsigned i = 0; i < CF_CYCLES; i++)
		for (unsigned k = 1; k < CF_THREADS; k++)
			ck_assert_int_eq(w[k].seen_stop[i], w[0].seen_stop[i]);
	cf_finish(&s);
}
END_TEST

/* ---- ABI 1.1: media state and the event outbox ---------------------------------------- */

/* The store has the five 1.1 ops (every store in the tree must). */
static void cf_require_events(const struct cf_store *s)
{
	ck_assert_msg(s->ops->struct_size >= offsetof(struct bc_store_ops, events_prune) +
	                                              sizeof s->ops->events_prune,
	              "the store was built against ABI 1.0: it lacks the 1.1 ops");
	ck_assert_msg(s->ops->commit_event != NULL && s->ops->stop_event != NULL &&
	              s->ops->media != NULL && s->ops->events != NULL &&
	              s->ops->events_prune != NULL,
	              "the store lacks one of commit_event, stop_event, media, events, "
	              "events_prune");
}

/* An event as the host makes it; cursor and seq are poison the store must
 * ignore (it assigns both). */
static void cf_event(struct bc_event *ev, const char *id, const char *type, int64_t time_ms,
                     const char *owner, const char *data)
{
	memset(ev, 0, sizeof *ev);
	ev->struct_size = sizeof *ev;
	ev->cursor = UINT64_C(77777777);
	ev->stream_id = id;
	ev->seq = 999;
	ev->type = type;
	ev->time_ms = time_ms;
	ev->owner = owner;
	ev->data = data;
}

static enum bc_status cf_commit_event(struct cf_store *s, const char *id, const char *meta,
                                      const struct bc_event *ev, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->commit_event(s->inst, id, meta, ev, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_stop_event(struct cf_store *s, const char *id, int64_t stop_ms,
                                    const char *reason, const struct bc_event *ev,
                                    struct cf_xsink *out, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->stop_event(s->inst, id, stop_ms, reason, ev, &out->rs, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_media(struct cf_store *s, const char *id, enum bc_media_state media,
                               int64_t at_ms, const struct bc_event *ev, struct cf_xsink *out,
                               struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->media(s->inst, id, media, at_ms, ev, &out->rs, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_events_q(struct cf_store *s, const struct bc_event_query *q,
                                  struct cf_evsink *out, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->events(s->inst, q, (struct bc_event_sink *)out, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_events(struct cf_store *s, uint64_t after, unsigned limit,
                                const char *owner, struct cf_evsink *out, struct bc_error *err)
{
	struct bc_event_query q;

	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.after = after;
	q.limit = limit;
	q.owner = owner;
	return cf_events_q(s, &q, out, err);
}

static enum bc_status cf_prune(struct cf_store *s, int64_t before_ms, uint64_t keep,
                               uint64_t *deleted, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	*deleted = UINT64_C(12345); /* must be overwritten */
	cf_enter(s);
	st = s->ops->events_prune(s->inst, before_ms, keep, deleted, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_get_x(struct cf_store *s, const char *id, struct cf_xsink *out,
                               struct bc_error *err)
{
	return cf_get(s, id, &out->rs, err);
}

/* Every event of the feed (paging by 1000), into `out`. */
static void cf_all_events(struct cf_store *s, struct cf_evsink *out)
{
	struct bc_error err;
	uint64_t after = 0;

	cf_evsink_clear(out);
	for (;;) {
		size_t before = out->n;
		enum bc_status st = cf_events(s, after, 1000, NULL, out, &err);
		ck_assert_msg(st == BC_OK, "events: %d %s: %s", st, err.code, err.message);
		if (out->n == before)
			break;
		after = out->items[out->n - 1].cursor;
	}
	ck_assert_uint_eq(out->wrong_thread, 0);
	ck_assert_uint_eq(out->bad, 0);
}

/* Cursors strictly increasing, none 0. */
static void cf_assert_cursors(const struct cf_evsink *e)
{
	for (size_t i = 0; i < e->n; i++) {
		ck_assert_uint_gt(e->items[i].cursor, 0);
		if (i > 0)
			ck_assert_msg(e->items[i].cursor > e->items[i - 1].cursor,
			              "event %zu has cursor %llu after %llu", i,
			              (unsigned long long)e->items[i].cursor,
			              (unsigned long long)e->items[i - 1].cursor);
	}
}

/* reserve + commit_event (stream.started at start_ms), asserting both. */
static void cf_start_event(struct cf_store *s, const char *id, const char *owner,
                           int64_t start_ms)
{
	struct bc_event ev;
	struct bc_error err;
	enum bc_status st = cf_reserve(s, id, "n", owner, start_ms, &err);

	ck_assert_msg(st == BC_OK, "reserve %s: %d %s", id, st, err.message);
	cf_event(&ev, id, "stream.started", start_ms, owner, "{\"e\":\"started\"}");
	st = cf_commit_event(s, id, "{}", &ev, &err);
	ck_assert_msg(st == BC_OK, "commit_event %s: %d %s: %s", id, st, err.code, err.message);
}

/* The media op, asserting BC_OK and the updated record it put. */
static void cf_media_ok(struct cf_store *s, const char *id, const char *owner,
                        enum bc_media_state media, int64_t at_ms, uint64_t want_seq)
{
	struct cf_xsink x;
	struct bc_event ev;
	struct bc_error err;
	enum bc_status st;

	cf_xsink_init(&x);
	cf_event(&ev, id, media == BC_MEDIA_PUBLISHING ? "stream.publishing" : "stream.idle",
	         at_ms, owner, "{\"e\":\"media\"}");
	st = cf_media(s, id, media, at_ms, &ev, &x, &err);
	ck_assert_msg(st == BC_OK, "media %s: %d %s: %s", id, st, err.code, err.message);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_uint_eq(x.rs.n, 1);
	ck_assert_str_eq(x.rs.items[0].id, id);
	ck_assert_int_eq(x.rs.items[0].state, BC_STATE_LIVE);
	ck_assert_int_eq(x.ext[0].media, media);
	ck_assert_int_eq(x.ext[0].media_ms, at_ms);
	if (media == BC_MEDIA_PUBLISHING)
		ck_assert_int_eq(x.ext[0].publish_ms, at_ms);
	ck_assert_uint_eq(x.ext[0].event_seq, want_seq);
	ck_assert_uint_eq(x.wrong_thread, 0);
	cf_xsink_free(&x);
}

START_TEST(test_commit_event)
{
	struct cf_store s;
	struct cf_xsink x;
	struct cf_evsink e;
	struct bc_event ev;
	struct bc_error err;
	const char *data = "{\"stream\":{\"id\":\"x\",\"name\":\"a \\\"q\\\" \xc3\xa9\"}}";
	char id[37], plain[37], unknown[37];

	cf_start(&s);
	cf_require_events(&s);
	cf_id(id, 0x20, 1);
	cf_id(plain, 0x20, 2);
	cf_id(unknown, 0x20, 3);
	cf_xsink_init(&x);
	cf_evsink_init(&e);

	ck_assert_int_eq(cf_reserve(&s, id, "show", "alice", CF_T0 + 5, &err), BC_OK);
	/* Nothing is written for a PENDING record. */
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 0);
	cf_event(&ev, id, "stream.started", CF_T0 + 6, "alice", data);
	ck_assert_int_eq(cf_commit_event(&s, id, "{\"k\":\"v\"}", &ev, &err), BC_OK);

	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_int_eq(x.rs.items[0].state, BC_STATE_LIVE);
	ck_assert_str_eq(x.rs.items[0].meta, "{\"k\":\"v\"}");
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_IDLE);
	ck_assert_int_eq(x.ext[0].media_ms, CF_T0 + 5); /* the record's start_ms */
	ck_assert_int_eq(x.ext[0].publish_ms, 0);
	ck_assert_str_eq(x.ext[0].stop_reason, "");
	ck_assert_uint_eq(x.ext[0].event_seq, 1);
	cf_xsink_clear(&x);

	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_gt(e.items[0].cursor, 0);
	ck_assert_str_eq(e.items[0].stream_id, id);
	ck_assert_uint_eq(e.items[0].seq, 1);
	ck_assert_str_eq(e.items[0].type, "stream.started");
	ck_assert_int_eq(e.items[0].time_ms, CF_T0 + 6);
	ck_assert_str_eq(e.items[0].owner, "alice");
	ck_assert_str_eq(e.items[0].data, data);

	/* A second commit_event, or one of an unknown id: not found, no event. */
	CF_EXPECT_FAILURE(cf_commit_event(&s, id, "{}", &ev, &err), BC_E_NOT_FOUND, &err);
	ck_assert_int_eq(err.status, BC_E_NOT_FOUND);
	ck_assert_str_eq(err.code, "store.not_found");
	cf_event(&ev, unknown, "stream.started", CF_T0 + 6, "alice", "{}");
	CF_EXPECT_FAILURE(cf_commit_event(&s, unknown, "{}", &ev, &err), BC_E_NOT_FOUND, &err);
	ck_assert_str_eq(err.code, "store.not_found");
	/* After an abort, too. */
	ck_assert_int_eq(cf_reserve(&s, unknown, "n", "alice", CF_T0, &err), BC_OK);
	ck_assert_int_eq(cf_abort(&s, unknown, &err), BC_OK);
	CF_EXPECT_FAILURE(cf_commit_event(&s, unknown, "{}", &ev, &err), BC_E_NOT_FOUND, &err);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_uint_eq(x.ext[0].event_seq, 1);
	cf_xsink_clear(&x);

	/* A plain commit (the 1.0 path) starts the media state too, without
	 * an event. */
	ck_assert_int_eq(cf_reserve(&s, plain, "p", "bob", CF_T0 + 9, &err), BC_OK);
	ck_assert_int_eq(cf_commit(&s, plain, "{}", &err), BC_OK);
	ck_assert_int_eq(cf_get_x(&s, plain, &x, &err), BC_OK);
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_IDLE);
	ck_assert_int_eq(x.ext[0].media_ms, CF_T0 + 9);
	ck_assert_uint_eq(x.ext[0].event_seq, 0);
	cf_xsink_clear(&x);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_eq(x.wrong_thread, 0);
	cf_xsink_free(&x);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

START_TEST(test_media)
{
	struct cf_store s;
	struct cf_xsink x;
	struct cf_evsink e;
	struct bc_event ev;
	struct bc_error err;
	char id[37], unknown[37];

	cf_start(&s);
	cf_require_events(&s);
	cf_id(id, 0x21, 1);
	cf_id(unknown, 0x21, 2);
	cf_xsink_init(&x);
	cf_evsink_init(&e);
	cf_start_event(&s, id, "alice", CF_T0);

	/* Already IDLE: a conflict that writes nothing. */
	cf_event(&ev, id, "stream.idle", CF_T0 + 1, "alice", "{}");
	CF_EXPECT_FAILURE(cf_media(&s, id, BC_MEDIA_IDLE, CF_T0 + 1, &ev, &x, &err), BC_E_CONFLICT, &err);
	ck_assert_int_eq(err.status, BC_E_CONFLICT);
	ck_assert_str_ne(err.code, "");
	cf_xsink_clear(&x);

	cf_media_ok(&s, id, "alice", BC_MEDIA_PUBLISHING, CF_T0 + 10, 2);
	cf_event(&ev, id, "stream.publishing", CF_T0 + 11, "alice", "{}");
	ck_assert_int_eq(cf_media(&s, id, BC_MEDIA_PUBLISHING, CF_T0 + 11, &ev, &x, &err),
	                 BC_E_CONFLICT);
	cf_xsink_clear(&x);
	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_PUBLISHING);
	ck_assert_int_eq(x.ext[0].publish_ms, CF_T0 + 10);
	ck_assert_int_eq(x.ext[0].media_ms, CF_T0 + 10);
	ck_assert_uint_eq(x.ext[0].event_seq, 2);
	cf_xsink_clear(&x);

	/* Idle again: publish_ms stays when publishing last began. */
	cf_media_ok(&s, id, "alice", BC_MEDIA_IDLE, CF_T0 + 20, 3);
	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_IDLE);
	ck_assert_int_eq(x.ext[0].publish_ms, CF_T0 + 10);
	ck_assert_int_eq(x.ext[0].media_ms, CF_T0 + 20);
	cf_xsink_clear(&x);
	cf_media_ok(&s, id, "alice", BC_MEDIA_PUBLISHING, CF_T0 + 30, 4);

	/* Unknown: not found. */
	cf_event(&ev, unknown, "stream.publishing", CF_T0 + 31, "alice", "{}");
	ck_assert_int_eq(cf_media(&s, unknown, BC_MEDIA_PUBLISHING, CF_T0 + 31, &ev, &x, &err),
	                 BC_E_NOT_FOUND);
	ck_assert_str_eq(err.code, "store.not_found");
	ck_assert_uint_eq(x.rs.n, 0);

	/* Pending (reserved, not committed): not visible, as for stop(). */
	{
		char pending[37];
		cf_id(pending, 0x21, 3);
		ck_assert_int_eq(cf_reserve(&s, pending, "p", "alice", CF_T0 + 32, &err), BC_OK);
		cf_event(&ev, pending, "stream.publishing", CF_T0 + 33, "alice", "{}");
		ck_assert_int_eq(cf_media(&s, pending, BC_MEDIA_PUBLISHING, CF_T0 + 33, &ev, &x,
		                          &err),
		                 BC_E_NOT_FOUND);
		ck_assert_uint_eq(x.rs.n, 0);
		ck_assert_int_eq(s.ops->abort(s.inst, pending, &err), BC_OK);
	}

	/* Stopped: media is kept as it was at stop, and cannot change. */
	cf_event(&ev, id, "stream.stopped", CF_T0 + 40, "alice", "{}");
	ck_assert_int_eq(cf_stop_event(&s, id, CF_T0 + 40, "api", &ev, &x, &err), BC_OK);
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_PUBLISHING);
	ck_assert_uint_eq(x.ext[0].event_seq, 5);
	cf_xsink_clear(&x);
	cf_event(&ev, id, "stream.idle", CF_T0 + 41, "alice", "{}");
	CF_EXPECT_FAILURE(cf_media(&s, id, BC_MEDIA_IDLE, CF_T0 + 41, &ev, &x, &err), BC_E_CONFLICT, &err);
	cf_xsink_clear(&x);
	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_int_eq(x.rs.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_PUBLISHING);
	ck_assert_int_eq(x.ext[0].publish_ms, CF_T0 + 30);
	ck_assert_int_eq(x.ext[0].media_ms, CF_T0 + 30);
	ck_assert_uint_eq(x.ext[0].event_seq, 5);
	cf_xsink_clear(&x);

	/* The feed: one event per change, seq without gaps, in order. */
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 5);
	cf_assert_cursors(&e);
	{
		static const char *const types[] = { "stream.started", "stream.publishing",
			                             "stream.idle", "stream.publishing",
			                             "stream.stopped" };
		static const int64_t times[] = { CF_T0, CF_T0 + 10, CF_T0 + 20, CF_T0 + 30,
			                         CF_T0 + 40 };
		for (size_t i = 0; i < 5; i++) {
			ck_assert_str_eq(e.items[i].stream_id, id);
			ck_assert_uint_eq(e.items[i].seq, i + 1);
			ck_assert_str_eq(e.items[i].type, types[i]);
			ck_assert_int_eq(e.items[i].time_ms, times[i]);
		}
	}
	ck_assert_uint_eq(x.wrong_thread, 0);
	cf_xsink_free(&x);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

START_TEST(test_stop_event)
{
	struct cf_store s;
	struct cf_xsink x;
	struct cf_evsink e;
	struct bc_event ev;
	struct bc_error err;
	char id[37], pending[37], unknown[37];

	cf_start(&s);
	cf_require_events(&s);
	cf_id(id, 0x22, 1);
	cf_id(pending, 0x22, 2);
	cf_id(unknown, 0x22, 3);
	cf_xsink_init(&x);
	cf_evsink_init(&e);
	cf_start_event(&s, id, "alice", CF_T0);

	cf_event(&ev, id, "stream.stopped", CF_T0 + 60000, "alice", "{\"reason\":\"idle_timeout\"}");
	ck_assert_int_eq(cf_stop_event(&s, id, CF_T0 + 60000, "idle_timeout", &ev, &x, &err),
	                 BC_OK);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_str_eq(x.rs.items[0].id, id);
	ck_assert_int_eq(x.rs.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(x.rs.items[0].stop_ms, CF_T0 + 60000);
	ck_assert_str_eq(x.ext[0].stop_reason, "idle_timeout");
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_IDLE);
	ck_assert_uint_eq(x.ext[0].event_seq, 2);
	cf_xsink_clear(&x);

	/* The second stop loses, sees the first one's record and writes nothing. */
	cf_event(&ev, id, "stream.stopped", CF_T0 + 70000, "alice", "{\"reason\":\"api\"}");
	ck_assert_int_eq(cf_stop_event(&s, id, CF_T0 + 70000, "api", &ev, &x, &err),
	                 BC_E_CONFLICT);
	ck_assert_int_eq(err.status, BC_E_CONFLICT);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_int_eq(x.rs.items[0].stop_ms, CF_T0 + 60000);
	ck_assert_str_eq(x.ext[0].stop_reason, "idle_timeout");
	ck_assert_uint_eq(x.ext[0].event_seq, 2);
	cf_xsink_clear(&x);
	/* A plain stop loses the same way. */
	CF_EXPECT_FAILURE(cf_stop(&s, id, CF_T0 + 80000, &x.rs, &err), BC_E_CONFLICT, &err);
	cf_xsink_clear(&x);

	/* Unknown, and PENDING (not started): not found, nothing written. */
	cf_event(&ev, unknown, "stream.stopped", CF_T0, "alice", "{}");
	ck_assert_int_eq(cf_stop_event(&s, unknown, CF_T0 + 1, "api", &ev, &x, &err),
	                 BC_E_NOT_FOUND);
	ck_assert_str_eq(err.code, "store.not_found");
	ck_assert_uint_eq(x.rs.n, 0);
	ck_assert_int_eq(cf_reserve(&s, pending, "p", "alice", CF_T0, &err), BC_OK);
	cf_event(&ev, pending, "stream.stopped", CF_T0, "alice", "{}");
	ck_assert_int_eq(cf_stop_event(&s, pending, CF_T0 + 1, "api", &ev, &x, &err),
	                 BC_E_NOT_FOUND);
	ck_assert_uint_eq(x.rs.n, 0);
	ck_assert_int_eq(cf_get_x(&s, pending, &x, &err), BC_OK);
	ck_assert_int_eq(x.rs.items[0].state, BC_STATE_PENDING);
	cf_xsink_clear(&x);

	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 2);
	cf_assert_cursors(&e);
	ck_assert_str_eq(e.items[1].type, "stream.stopped");
	ck_assert_uint_eq(e.items[1].seq, 2);
	ck_assert_int_eq(e.items[1].time_ms, CF_T0 + 60000);
	ck_assert_str_eq(e.items[1].data, "{\"reason\":\"idle_timeout\"}");
	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_str_eq(x.ext[0].stop_reason, "idle_timeout");
	ck_assert_uint_eq(x.ext[0].event_seq, 2);
	ck_assert_uint_eq(x.wrong_thread, 0);
	cf_xsink_free(&x);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

/* Several streams' changes interleaved: one feed in cursor order, each
 * stream's seq 1, 2, 3... and its record's event_seq the last of them. */
START_TEST(test_event_seq_interleaved)
{
	struct cf_store s;
	struct cf_xsink x;
	struct cf_evsink e;
	struct bc_event ev;
	struct bc_error err;
	char a[37], b[37];
	uint64_t next_a = 1, next_b = 1;

	cf_start(&s);
	cf_require_events(&s);
	cf_id(a, 0x23, 1);
	cf_id(b, 0x23, 2);
	cf_xsink_init(&x);
	cf_evsink_init(&e);
	cf_start_event(&s, a, "alice", CF_T0);
	cf_start_event(&s, b, "bob", CF_T0 + 1);
	cf_media_ok(&s, a, "alice", BC_MEDIA_PUBLISHING, CF_T0 + 2, 2);
	cf_media_ok(&s, b, "bob", BC_MEDIA_PUBLISHING, CF_T0 + 3, 2);
	cf_media_ok(&s, a, "alice", BC_MEDIA_IDLE, CF_T0 + 4, 3);
	cf_event(&ev, a, "stream.stopped", CF_T0 + 5, "alice", "{}");
	ck_assert_int_eq(cf_stop_event(&s, a, CF_T0 + 5, "api", &ev, &x, &err), BC_OK);
	ck_assert_uint_eq(x.ext[0].event_seq, 4);
	cf_xsink_clear(&x);
	cf_media_ok(&s, b, "bob", BC_MEDIA_IDLE, CF_T0 + 6, 3);
	cf_event(&ev, b, "stream.stopped", CF_T0 + 7, "bob", "{}");
	ck_assert_int_eq(cf_stop_event(&s, b, CF_T0 + 7, "max_duration", &ev, &x, &err), BC_OK);
	ck_assert_uint_eq(x.ext[0].event_seq, 4);
	ck_assert_str_eq(x.ext[0].stop_reason, "max_duration");
	cf_xsink_clear(&x);

	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 8);
	cf_assert_cursors(&e);
	for (size_t i = 0; i < e.n; i++) {
		/* Written in time order here, so the feed is in time order too. */
		ck_assert_int_eq(e.items[i].time_ms, CF_T0 + (int64_t)i);
		if (strcmp(e.items[i].stream_id, a) == 0) {
			ck_assert_uint_eq(e.items[i].seq, next_a++);
			ck_assert_str_eq(e.items[i].owner, "alice");
		} else {
			ck_assert_str_eq(e.items[i].stream_id, b);
			ck_assert_uint_eq(e.items[i].seq, next_b++);
			ck_assert_str_eq(e.items[i].owner, "bob");
		}
	}
	ck_assert_uint_eq(next_a, 5);
	ck_assert_uint_eq(next_b, 5);
	cf_xsink_free(&x);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

START_TEST(test_events_query)
{
	struct cf_store s;
	struct cf_evsink all, e;
	struct bc_event_query q;
	struct bc_error err;
	char id[37];
	uint64_t after = 0;
	size_t seen = 0, n_alice = 0;

	cf_start(&s);
	cf_require_events(&s);
	cf_evsink_init(&all);
	cf_evsink_init(&e);
	/* 6 streams, alternating owners, 2 events each: 12 events. */
	for (unsigned i = 0; i < 6; i++) {
		cf_id(id, 0x24, i);
		cf_start_event(&s, id, i % 2 ? "bob" : "alice", CF_T0 + i);
		cf_media_ok(&s, id, i % 2 ? "bob" : "alice", BC_MEDIA_PUBLISHING, CF_T0 + 10 + i, 2);
	}
	cf_all_events(&s, &all);
	ck_assert_uint_eq(all.n, 12);
	cf_assert_cursors(&all);

	/* limit, and paging with after = the last cursor seen. */
	ck_assert_int_eq(cf_events(&s, 0, 5, NULL, &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 5);
	for (size_t i = 0; i < 5; i++)
		ck_assert_uint_eq(e.items[i].cursor, all.items[i].cursor);
	cf_evsink_clear(&e);
	for (;;) {
		ck_assert_int_eq(cf_events(&s, after, 5, NULL, &e, &err), BC_OK);
		ck_assert_uint_le(e.n, 5);
		if (e.n == 0)
			break;
		for (size_t i = 0; i < e.n; i++) {
			ck_assert_uint_lt(seen, all.n);
			ck_assert_uint_eq(e.items[i].cursor, all.items[seen].cursor);
			ck_assert_str_eq(e.items[i].stream_id, all.items[seen].stream_id);
			seen++;
		}
		after = e.items[e.n - 1].cursor;
		cf_evsink_clear(&e);
	}
	ck_assert_uint_eq(seen, 12);
	/* after a cursor in the middle: strictly after it. */
	ck_assert_int_eq(cf_events(&s, all.items[6].cursor, 1000, NULL, &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 5);
	ck_assert_uint_eq(e.items[0].cursor, all.items[7].cursor);
	cf_evsink_clear(&e);
	/* after the last one, or beyond: nothing. */
	ck_assert_int_eq(cf_events(&s, all.items[11].cursor, 1000, NULL, &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_int_eq(cf_events(&s, all.items[11].cursor + 1000, 10, NULL, &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 0);

	/* owner */
	ck_assert_int_eq(cf_events(&s, 0, 1000, "alice", &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 6);
	cf_assert_cursors(&e);
	for (size_t i = 0; i < e.n; i++)
		ck_assert_str_eq(e.items[i].owner, "alice");
	for (size_t i = 0; i < all.n; i++)
		if (strcmp(all.items[i].owner, "alice") == 0) {
			ck_assert_uint_eq(all.items[i].cursor, e.items[n_alice].cursor);
			n_alice++;
		}
	ck_assert_uint_eq(n_alice, 6);
	cf_evsink_clear(&e);
	/* owner with limit and after: the owner's next ones, not the feed's. */
	ck_assert_int_eq(cf_events(&s, all.items[0].cursor, 2, "bob", &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_str_eq(e.items[0].owner, "bob");
	ck_assert_str_eq(e.items[1].owner, "bob");
	cf_evsink_clear(&e);
	ck_assert_int_eq(cf_events(&s, 0, 10, "nobody", &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 0);

	/* limit outside 1..1000 */
	CF_EXPECT_FAILURE(cf_events(&s, 0, 0, NULL, &e, &err), BC_E_INVALID, &err);
	ck_assert_int_eq(err.status, BC_E_INVALID);
	CF_EXPECT_FAILURE(cf_events(&s, 0, 1001, NULL, &e, &err), BC_E_INVALID, &err);
	ck_assert_uint_eq(e.n, 0);

	/* A query from a host whose struct ended before `owner`: all owners. */
	memset(&q, 0, sizeof q);
	q.struct_size = offsetof(struct bc_event_query, owner);
	q.after = 0;
	q.limit = 1000;
	q.owner = "must not be read";
	ck_assert_int_eq(cf_events_q(&s, &q, &e, &err), BC_OK);
	ck_assert_uint_eq(e.n, 12);
	ck_assert_uint_eq(e.wrong_thread, 0);
	cf_evsink_free(&e);
	cf_evsink_free(&all);
	cf_finish(&s);
}
END_TEST

START_TEST(test_events_prune)
{
	struct cf_store s;
	struct cf_evsink e;
	struct bc_error err;
	uint64_t deleted, max_cursor;
	char id[37];

	cf_start(&s);
	cf_require_events(&s);
	cf_evsink_init(&e);
	/* 10 events with times T0+0 .. T0+9, each its own stream. */
	for (unsigned i = 0; i < 10; i++) {
		cf_id(id, 0x25, i);
		cf_start_event(&s, id, "alice", CF_T0 + i);
	}
	/* Nothing before T0: nothing goes. */
	ck_assert_int_eq(cf_prune(&s, CF_T0, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 0);
	/* By time: strictly before T0+4. */
	ck_assert_int_eq(cf_prune(&s, CF_T0 + 4, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 4);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 6);
	for (size_t i = 0; i < e.n; i++)
		ck_assert_int_eq(e.items[i].time_ms, CF_T0 + 4 + (int64_t)i);
	/* By count: keep the newest 2 (before_ms 0: no time bound). */
	ck_assert_int_eq(cf_prune(&s, 0, 2, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 4);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_int_eq(e.items[0].time_ms, CF_T0 + 8);
	ck_assert_int_eq(e.items[1].time_ms, CF_T0 + 9);
	max_cursor = e.items[1].cursor;
	/* Fewer than keep: nothing; again: nothing. */
	ck_assert_int_eq(cf_prune(&s, 0, 5, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 0);
	/* Both bounds: the time one takes T0+8, the count one nothing more. */
	ck_assert_int_eq(cf_prune(&s, CF_T0 + 9, 1, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 1);
	/* Everything. */
	ck_assert_int_eq(cf_prune(&s, CF_T0 + 1000, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 1);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 0);
	/* Cursors are never reused, not even when the feed was emptied. */
	cf_id(id, 0x25, 100);
	cf_start_event(&s, id, "alice", CF_T0 + 100);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_gt(e.items[0].cursor, max_cursor);
	ck_assert_uint_eq(e.items[0].seq, 1);
	/* Pruning events leaves the records as they are. */
	ck_assert_int_eq(cf_prune(&s, CF_T0 + 1000, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 1);
	cf_media_ok(&s, id, "alice", BC_MEDIA_PUBLISHING, CF_T0 + 101, 2);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_eq(e.items[0].seq, 2);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

START_TEST(test_list_media)
{
	struct cf_store s;
	struct cf_xsink x;
	struct bc_list_query q;
	struct bc_event ev;
	struct bc_error err;
	char id[37];

	cf_start(&s);
	cf_require_events(&s);
	cf_xsink_init(&x);
	/* 12 streams: i % 3 == 0 idle, 1 publishing, 2 publishing then idle;
	 * i >= 9 stopped (9 idle, 10 publishing, 11 idle); even ones alice's. */
	for (unsigned i = 0; i < 12; i++) {
		const char *owner = i % 2 ? "bob" : "alice";
		cf_id(id, 0x26, i);
		cf_start_event(&s, id, owner, CF_T0 + i / 2);
		if (i % 3 != 0)
			cf_media_ok(&s, id, owner, BC_MEDIA_PUBLISHING, CF_T0 + 100, 2);
		if (i % 3 == 2)
			cf_media_ok(&s, id, owner, BC_MEDIA_IDLE, CF_T0 + 200, 3);
		if (i >= 9) {
			cf_event(&ev, id, "stream.stopped", CF_T0 + 300, owner, "{}");
			ck_assert_int_eq(cf_stop_event(&s, id, CF_T0 + 300, "api", &ev, &x, &err),
			                 BC_OK);
			cf_xsink_clear(&x);
		}
	}
	/* Only LIVE records in that state, in list order, paged. */
	for (int m = BC_MEDIA_IDLE; m <= BC_MEDIA_PUBLISHING; m++) {
		const char *last_id = NULL;
		char last[37] = "";
		int64_t last_start = 0;
		size_t n = 0;
		for (;;) {
			size_t got;
			cf_query(&q, NULL, 0, 2);
			q.media = (enum bc_media_state)m;
			if (last_id != NULL) {
				q.after_start_ms = last_start;
				q.after_id = last_id;
			}
			cf_xsink_clear(&x);
			ck_assert_int_eq(cf_list(&s, &q, &x.rs, &err), BC_OK);
			got = x.rs.n;
			ck_assert_uint_eq(x.n, got);
			cf_assert_order(&x.rs);
			for (size_t i = 0; i < got; i++) {
				ck_assert_int_eq(x.rs.items[i].state, BC_STATE_LIVE);
				ck_assert_int_eq(x.ext[i].media, m);
			}
			n += got;
			if (got == 0)
				break;
			snprintf(last, sizeof last, "%s", x.rs.items[got - 1].id);
			last_id = last;
			last_start = x.rs.items[got - 1].start_ms;
		}
		/* live: 0..8; idle: 0, 3, 6, 2, 5, 8; publishing: 1, 4, 7 */
		ck_assert_uint_eq(n, m == BC_MEDIA_IDLE ? 6 : 3);
	}
	/* With an owner: alice's live publishing ones are 4 only. */
	cf_query(&q, "alice", 0, 100);
	q.media = BC_MEDIA_PUBLISHING;
	cf_xsink_clear(&x);
	ck_assert_int_eq(cf_list(&s, &q, &x.rs, &err), BC_OK);
	ck_assert_uint_eq(x.rs.n, 1);
	cf_id(id, 0x26, 4);
	ck_assert_str_eq(x.rs.items[0].id, id);
	/* With state LIVE: the same as 0. */
	cf_query(&q, NULL, BC_STATE_LIVE, 100);
	q.media = BC_MEDIA_IDLE;
	cf_xsink_clear(&x);
	ck_assert_int_eq(cf_list(&s, &q, &x.rs, &err), BC_OK);
	ck_assert_uint_eq(x.rs.n, 6);
	/* 0: any media, stopped ones too. */
	cf_query(&q, NULL, 0, 100);
	cf_xsink_clear(&x);
	ck_assert_int_eq(cf_list(&s, &q, &x.rs, &err), BC_OK);
	ck_assert_uint_eq(x.rs.n, 12);
	/* A query from a host whose struct ended before `media`: no filter. */
	cf_query(&q, NULL, 0, 100);
	q.struct_size = offsetof(struct bc_list_query, media);
	q.media = BC_MEDIA_PUBLISHING; /* beyond struct_size: must be ignored */
	cf_xsink_clear(&x);
	ck_assert_int_eq(cf_list(&s, &q, &x.rs, &err), BC_OK);
	ck_assert_uint_eq(x.rs.n, 12);
	ck_assert_uint_eq(x.wrong_thread, 0);
	cf_xsink_free(&x);
	cf_finish(&s);
}
END_TEST

START_TEST(test_events_durable)
{
	struct cf_store s;
	struct cf_xsink x;
	struct cf_evsink e;
	struct bc_event ev;
	struct bc_error err;
	uint64_t last;
	char id[37];

	cf_start(&s);
	if (cf_fx->no_reopen) {
		cf_finish(&s);
		return;
	}
	cf_require_events(&s);
	cf_xsink_init(&x);
	cf_evsink_init(&e);
	cf_id(id, 0x27, 1);
	cf_start_event(&s, id, "alice", CF_T0);
	cf_media_ok(&s, id, "alice", BC_MEDIA_PUBLISHING, CF_T0 + 5, 2);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 2);
	last = e.items[1].cursor;

	cf_close(&s);
	cf_open(&s, cf_fx->same_config(cf_fx->arg));

	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_int_eq(x.ext[0].media, BC_MEDIA_PUBLISHING);
	ck_assert_int_eq(x.ext[0].publish_ms, CF_T0 + 5);
	ck_assert_int_eq(x.ext[0].media_ms, CF_T0 + 5);
	ck_assert_uint_eq(x.ext[0].event_seq, 2);
	cf_xsink_clear(&x);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_uint_eq(e.items[1].cursor, last);
	/* seq and cursors go on after the reopen. */
	cf_event(&ev, id, "stream.stopped", CF_T0 + 9, "alice", "{}");
	ck_assert_int_eq(cf_stop_event(&s, id, CF_T0 + 9, "provider", &ev, &x, &err), BC_OK);
	ck_assert_uint_eq(x.ext[0].event_seq, 3);
	cf_xsink_clear(&x);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 3);
	ck_assert_uint_gt(e.items[2].cursor, last);
	ck_assert_uint_eq(e.items[2].seq, 3);
	ck_assert_int_eq(cf_get_x(&s, id, &x, &err), BC_OK);
	ck_assert_str_eq(x.ext[0].stop_reason, "provider");
	cf_xsink_free(&x);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

/* ---- ABI 1.1 under concurrency ----------------------------------------------------------- */

struct cf_ev_worker {
	struct cf_store *s;
	unsigned index;
	unsigned wins, conflicts, bad, wrong_thread;
	char first_error[1024];
	int64_t seen_stop[CF_CYCLES];
	char seen_reason[CF_CYCLES][32];
	/* the follower */
	atomic_int *writers_done;
	size_t followed;
};

static void cf_ev_fail(struct cf_ev_worker *w, const char *what, enum bc_status st,
                       const struct bc_error *err)
{
	w->bad++;
	if (w->first_error[0] == '\0')
		snprintf(w->first_error, sizeof w->first_error, "thread %u: %s: %d %s: %s",
		         w->index, what, st, err->code, err->message);
}

static const char *const cf_reasons[] = { "api", "idle_timeout", "max_duration", "provider" };
/* The event data of each reason (a JSON object, as the host's). */
static const char *const cf_reason_data[] = {
	"{\"reason\":\"api\"}", "{\"reason\":\"idle_timeout\"}",
	"{\"reason\":\"max_duration\"}", "{\"reason\":\"provider\"}",
};

static const char *cf_data_of(const char *reason)
{
	for (size_t i = 0; i < 4; i++)
		if (strcmp(reason, cf_reasons[i]) == 0)
			return cf_reason_data[i];
	return "?";
}

/* Every thread stop_event()s the same streams, with its own reason. */
static void *cf_ev_race_worker(void *arg)
{
	struct cf_ev_worker *w = arg;
	const char *reason = cf_reasons[w->index % 4];
	char id[37];

	for (unsigned i = 0; i < CF_CYCLES; i++) {
		struct cf_xsink x;
		struct bc_event ev;
		struct bc_error err;
		enum bc_status st;

		cf_id(id, 0x300, i);
		cf_xsink_init(&x);
		cf_event(&ev, id, "stream.stopped", CF_T0 + 1000 + w->index, "alice",
		         cf_reason_data[w->index % 4]);
		st = cf_stop_event(w->s, id, CF_T0 + 1000 + w->index, reason, &ev, &x, &err);
		if (st == BC_OK)
			w->wins++;
		else if (st == BC_E_CONFLICT)
			w->conflicts++;
		else
			cf_ev_fail(w, "racing stop_event", st, &err);
		w->seen_stop[i] = x.n == 1 ? x.rs.items[0].stop_ms : -1;
		snprintf(w->seen_reason[i], sizeof w->seen_reason[i], "%s",
		         x.n == 1 ? x.ext[0].stop_reason : "-");
		w->wrong_thread += x.wrong_thread;
		cf_xsink_free(&x);
	}
	return NULL;
}

START_TEST(test_concurrent_stop_event_race)
{
	struct cf_store s;
	struct cf_ev_worker w[CF_THREADS];
	pthread_t t[CF_THREADS];
	struct cf_evsink e;
	unsigned wins = 0, conflicts = 0;
	unsigned stopped[CF_CYCLES];
	char id[37];

	cf_start(&s);
	cf_require_events(&s);
	for (unsigned i = 0; i < CF_CYCLES; i++) {
		cf_id(id, 0x300, i);
		cf_start_event(&s, id, "alice", CF_T0 + i);
	}
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i < CF_THREADS; i++) {
		w[i].s = &s;
		w[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, cf_ev_race_worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < CF_THREADS; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < CF_THREADS; i++) {
		ck_assert_msg(w[i].bad == 0, "%s", w[i].first_error);
		ck_assert_msg(w[i].wrong_thread == 0,
		              "thread %u: %u records put from another thread (host.h: a sink "
		              "is the call's)", i, w[i].wrong_thread);
		wins += w[i].wins;
		conflicts += w[i].conflicts;
	}
	ck_assert_uint_eq(wins, CF_CYCLES);
	ck_assert_uint_eq(conflicts, CF_CYCLES * (CF_THREADS - 1));
	for (unsigned i = 0; i < CF_CYCLES; i++)
		for (unsigned k = 1; k < CF_THREADS; k++) {
			ck_assert_int_eq(w[k].seen_stop[i], w[0].seen_stop[i]);
			ck_assert_str_eq(w[k].seen_reason[i], w[0].seen_reason[i]);
		}
	/* Exactly one stream.stopped per stream, the winner's, with seq 2. */
	cf_evsink_init(&e);
	cf_all_events(&s, &e);
	cf_assert_cursors(&e);
	ck_assert_uint_eq(e.n, 2 * CF_CYCLES);
	memset(stopped, 0, sizeof stopped);
	for (size_t k = 0; k < e.n; k++) {
		if (strcmp(e.items[k].type, "stream.stopped") != 0)
			continue;
		for (unsigned i = 0; i < CF_CYCLES; i++) {
			cf_id(id, 0x300, i);
			if (strcmp(id, e.items[k].stream_id) == 0) {
				stopped[i]++;
				ck_assert_uint_eq(e.items[k].seq, 2);
				ck_assert_int_eq(e.items[k].time_ms, w[0].seen_stop[i]);
				ck_assert_str_eq(e.items[k].data, cf_data_of(w[0].seen_reason[i]));
			}
		}
	}
	for (unsigned i = 0; i < CF_CYCLES; i++)
		ck_assert_uint_eq(stopped[i], 1);
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

#define CF_EV_CYCLES 20

/* Each thread runs its own streams through started, publishing, idle and
 * stopped, while the others do the same and a follower reads the feed. */
static void *cf_ev_cycle_worker(void *arg)
{
	struct cf_ev_worker *w = arg;
	char id[37];

	for (unsigned i = 0; i < CF_EV_CYCLES; i++) {
		struct cf_xsink x;
		struct bc_event ev;
		struct bc_error err;
		enum bc_status st;
		int64_t t = CF_T0 + i * 10;

		cf_id(id, 0x400 + w->index, i);
		cf_xsink_init(&x);
		if ((st = cf_reserve(w->s, id, "c", "alice", t, &err)) != BC_OK) {
			cf_ev_fail(w, "reserve", st, &err);
			goto next;
		}
		cf_event(&ev, id, "stream.started", t, "alice", "{}");
		if ((st = cf_commit_event(w->s, id, "{}", &ev, &err)) != BC_OK) {
			cf_ev_fail(w, "commit_event", st, &err);
			goto next;
		}
		cf_event(&ev, id, "stream.publishing", t + 1, "alice", "{}");
		st = cf_media(w->s, id, BC_MEDIA_PUBLISHING, t + 1, &ev, &x, &err);
		if (st != BC_OK || x.n != 1 || x.ext[0].event_seq != 2) {
			cf_ev_fail(w, "media publishing", st, &err);
			goto next;
		}
		cf_xsink_clear(&x);
		cf_event(&ev, id, "stream.idle", t + 2, "alice", "{}");
		st = cf_media(w->s, id, BC_MEDIA_IDLE, t + 2, &ev, &x, &err);
		if (st != BC_OK || x.n != 1 || x.ext[0].event_seq != 3) {
			cf_ev_fail(w, "media idle", st, &err);
			goto next;
		}
		cf_xsink_clear(&x);
		cf_event(&ev, id, "stream.stopped", t + 3, "alice", "{}");
		st = cf_stop_event(w->s, id, t + 3, "api", &ev, &x, &err);
		if (st != BC_OK || x.n != 1 || x.ext[0].event_seq != 4) {
			cf_ev_fail(w, "stop_event", st, &err);
			goto next;
		}
		w->wins++;
	next:
		w->wrong_thread += x.wrong_thread;
		cf_xsink_free(&x);
	}
	return NULL;
}

/* Follows the feed by cursor while it is written: it must see every event
 * exactly once, which fails when a smaller cursor becomes visible after a
 * greater one (cursor order must be commit order). */
static void *cf_ev_follower(void *arg)
{
	struct cf_ev_worker *w = arg;
	struct cf_evsink e;
	struct bc_error err;
	uint64_t after = 0;
	int last_round = 0;

	cf_evsink_init(&e);
	for (;;) {
		enum bc_status st;
		if (!last_round && atomic_load(w->writers_done))
			last_round = 1; /* one more drain after the writers ended */
		cf_evsink_clear(&e);
		st = cf_events(w->s, after, 7, NULL, &e, &err);
		if (st != BC_OK) {
			cf_ev_fail(w, "events", st, &err);
			break;
		}
		for (size_t i = 0; i < e.n; i++) {
			if (e.items[i].cursor <= after) {
				cf_ev_fail(w, "cursor not increasing", BC_OK, &err);
				break;
			}
			after = e.items[i].cursor;
			w->followed++;
		}
		if (e.n == 0 && last_round)
			break;
	}
	w->wrong_thread += e.wrong_thread;
	cf_evsink_free(&e);
	return NULL;
}

START_TEST(test_concurrent_event_cycles)
{
	struct cf_store s;
	struct cf_ev_worker w[CF_THREADS + 1];
	pthread_t t[CF_THREADS + 1];
	struct cf_evsink e;
	atomic_int done = 0;
	char id[37];

	cf_start(&s);
	cf_require_events(&s);
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i <= CF_THREADS; i++) {
		w[i].s = &s;
		w[i].index = i;
		w[i].writers_done = &done;
		ck_assert_int_eq(pthread_create(&t[i], NULL,
		                                i < CF_THREADS ? cf_ev_cycle_worker : cf_ev_follower,
		                                &w[i]), 0);
	}
	for (unsigned i = 0; i < CF_THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&done, 1);
	pthread_join(t[CF_THREADS], NULL);
	for (unsigned i = 0; i <= CF_THREADS; i++) {
		ck_assert_msg(w[i].bad == 0, "%u bad, first: %s", w[i].bad, w[i].first_error);
		ck_assert_msg(w[i].wrong_thread == 0, "thread %u: %u puts from another thread",
		              i, w[i].wrong_thread);
	}
	for (unsigned i = 0; i < CF_THREADS; i++)
		ck_assert_uint_eq(w[i].wins, CF_EV_CYCLES);

	cf_evsink_init(&e);
	cf_all_events(&s, &e);
	cf_assert_cursors(&e);
	ck_assert_uint_eq(e.n, CF_THREADS * CF_EV_CYCLES * 4);
	/* The follower saw every one of them. */
	ck_assert_uint_eq(w[CF_THREADS].followed, e.n);
	/* Per stream: started, publishing, idle, stopped with seq 1..4. */
	for (unsigned k = 0; k < CF_THREADS; k++)
		for (unsigned i = 0; i < CF_EV_CYCLES; i++) {
			static const char *const types[] = { "stream.started", "stream.publishing",
				                             "stream.idle", "stream.stopped" };
			uint64_t next = 1;
			cf_id(id, 0x400 + k, i);
			for (size_t j = 0; j < e.n; j++) {
				if (strcmp(e.items[j].stream_id, id) != 0)
					continue;
				ck_assert_uint_le(next, 4);
				ck_assert_uint_eq(e.items[j].seq, next);
				ck_assert_str_eq(e.items[j].type, types[next - 1]);
				next++;
			}
			ck_assert_uint_eq(next, 5);
		}
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

/* ---- ABI: structs from an older host ----------------------------------------------------- */

START_TEST(test_older_structs)
{
	struct cf_store s;
	struct bc_record r;
	struct bc_record_sink sink;
	struct bc_list_query q;
	struct bc_error err;
	char id[37], id2[37];

	cf_start(&s);
	cf_id(id, 11, 1);
	cf_id(id2, 11, 2);
	bc_record_sink_init(&sink);
	/* A host whose bc_record ended before `meta`: the store must not read
	 * it (here a poisoned value) and keep "{}". */
	memset(&r, 0, sizeof r);
	r.struct_size = offsetof(struct bc_record, meta);
	r.id = id;
	r.name = "old";
	r.type = "hls";
	r.provider = "p";
	r.owner = "alice";
	r.state = BC_STATE_PENDING;
	r.start_ms = CF_T0;
	r.meta = "{\"must\":\"not be read\"}";
	ck_assert_int_eq(cf_reserve_rec(&s, &r, &err), BC_OK);
	ck_assert_int_eq(cf_get(&s, id, &sink, &err), BC_OK);
	ck_assert_str_eq(sink.items[0].name, "old");
	ck_assert_str_eq(sink.items[0].meta, "{}");
	bc_record_sink_free(&sink);
	ck_assert_int_eq(cf_commit(&s, id, "{}", &err), BC_OK);
	cf_start_stream(&s, id2, "alice", CF_T0 + 1);

	/* A bc_list_query that ended before the cursor: from the top. */
	cf_query(&q, NULL, 0, 10);
	q.struct_size = offsetof(struct bc_list_query, after_start_ms);
	q.after_start_ms = CF_T0 + 1;
	q.after_id = id2; /* beyond struct_size: must be ignored */
	ck_assert_int_eq(cf_list(&s, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 2);
	ck_assert_str_eq(sink.items[0].id, id2);
	bc_record_sink_free(&sink);
	cf_finish(&s);
}
END_TEST

/* ---- delivery cursors (ABI 1.1: cursor_claim, cursor_advance) ------------ */

static enum bc_status cf_claim(struct cf_store *s, const char *name, const char *holder,
                               uint64_t initial, int64_t now_ms, int64_t lease_ms,
                               uint64_t *cursor, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->cursor_claim(s->inst, name, holder, initial, now_ms, lease_ms, cursor, err);
	cf_leave(s);
	return st;
}

static enum bc_status cf_advance(struct cf_store *s, const char *name, const char *holder,
                                 uint64_t cursor, struct bc_error *err)
{
	enum bc_status st;
	memset(err, 0, sizeof *err);
	cf_enter(s);
	st = s->ops->cursor_advance(s->inst, name, holder, cursor, err);
	cf_leave(s);
	return st;
}

/* The cursor ops are optional (a store without them gets in-memory cursors
 * in the host), but both or neither, and only with the event ops. */
static int cf_has_cursors(const struct cf_store *s)
{
	ck_assert_msg((s->ops->cursor_claim == NULL) == (s->ops->cursor_advance == NULL),
	              "cursor_claim and cursor_advance: both or neither");
	if (s->ops->cursor_claim != NULL)
		cf_require_events(s);
	return s->ops->cursor_claim != NULL;
}

START_TEST(test_cursor_claim_advance)
{
	struct cf_store s;
	struct cf_evsink e;
	struct bc_error err;
	uint64_t cur;
	char id[37];
	const int64_t now = CF_T0, lease = 30000;

	cf_start(&s);
	if (!cf_has_cursors(&s)) {
		cf_finish(&s);
		return;
	}
	cf_evsink_init(&e);
	/* At the head of an empty feed: 0. */
	cur = 99;
	ck_assert_int_eq(cf_claim(&s, "a", "h1", BC_CURSOR_HEAD, now, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, 0);
	/* At the head of a feed with events: its last cursor. */
	cf_id(id, 0x31, 1);
	cf_start_event(&s, id, "alice", CF_T0);
	cf_id(id, 0x31, 2);
	cf_start_event(&s, id, "alice", CF_T0);
	cf_all_events(&s, &e);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_int_eq(cf_claim(&s, "b", "h1", BC_CURSOR_HEAD, now, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, e.items[1].cursor);
	ck_assert_int_eq(cf_claim(&s, "c", "h1", 5, now, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, 5);
	/* An existing cursor keeps its place whatever initial_cursor says. */
	ck_assert_int_eq(cf_claim(&s, "a", "h1", 77, now + 1, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, 0);
	/* Another holder while the lease is live: conflict, nothing put. */
	cur = 4242;
	CF_EXPECT_FAILURE(cf_claim(&s, "a", "h2", BC_CURSOR_HEAD, now + lease - 1, lease, &cur,
	                          &err), BC_E_CONFLICT, &err);
	ck_assert_str_eq(err.code, "store.cursor_held");
	ck_assert_uint_eq(cur, 4242);
	/* Advance: forward only, by the holder only. */
	ck_assert_int_eq(cf_advance(&s, "a", "h1", 7, &err), BC_OK);
	ck_assert_int_eq(cf_advance(&s, "a", "h1", 3, &err), BC_OK);
	ck_assert_int_eq(cf_claim(&s, "a", "h1", 0, now + 2, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, 7);
	CF_EXPECT_FAILURE(cf_advance(&s, "a", "h2", 9, &err), BC_E_CONFLICT, &err);
	ck_assert_str_eq(err.code, "store.cursor_held");
	CF_EXPECT_FAILURE(cf_advance(&s, "nope", "h1", 9, &err), BC_E_NOT_FOUND, &err);
	/* The lease lapses: another holder takes it over, where it was. */
	ck_assert_int_eq(cf_claim(&s, "a", "h2", 0, now + 2 + lease, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, 7);
	CF_EXPECT_FAILURE(cf_advance(&s, "a", "h1", 8, &err), BC_E_CONFLICT, &err);
	ck_assert_int_eq(cf_advance(&s, "a", "h2", 8, &err), BC_OK);
	/* Given up with lease 0: the next holder need not wait. */
	ck_assert_int_eq(cf_claim(&s, "a", "h2", 0, now + 3 + lease, 0, &cur, &err), BC_OK);
	ck_assert_int_eq(cf_claim(&s, "a", "h1", 0, now + 3 + lease, lease, &cur, &err), BC_OK);
	ck_assert_uint_eq(cur, 8);
	/* Durable. */
	if (!cf_fx->no_reopen) {
		cf_close(&s);
		cf_open(&s, cf_fx->same_config(cf_fx->arg));
		ck_assert_int_eq(cf_claim(&s, "a", "h1", 0, now + 4 + lease, lease, &cur, &err),
		                 BC_OK);
		ck_assert_uint_eq(cur, 8);
		ck_assert_int_eq(cf_claim(&s, "b", "h3", 0, now + 4 + lease, lease, &cur, &err),
		                 BC_OK);
		ck_assert_uint_eq(cur, e.items[1].cursor);
	}
	cf_evsink_free(&e);
	cf_finish(&s);
}
END_TEST

struct cf_claimer {
	struct cf_store *s;
	char holder[16];
	int64_t now;
	enum bc_status st;
};

static void *cf_claim_worker(void *arg)
{
	struct cf_claimer *c = arg;
	struct bc_error err;
	uint64_t cur;
	c->st = cf_claim(c->s, "race", c->holder, BC_CURSOR_HEAD, c->now, 30000, &cur, &err);
	return NULL;
}

/* Of 8 holders claiming one new cursor at once, exactly one gets it. */
START_TEST(test_cursor_claim_race)
{
	struct cf_store s;
	struct cf_claimer c[8];
	pthread_t t[8];
	unsigned ok = 0;

	cf_start(&s);
	if (!cf_has_cursors(&s)) {
		cf_finish(&s);
		return;
	}
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 8; i++) {
			c[i].s = &s;
			snprintf(c[i].holder, sizeof c[i].holder, "h%d.%d", round, i);
			/* Each round after the first starts when the last lease lapsed. */
			c[i].now = CF_T0 + round * 40000;
			ck_assert_int_eq(pthread_create(&t[i], NULL, cf_claim_worker, &c[i]), 0);
		}
		ok = 0;
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			ck_assert_msg(c[i].st == BC_OK || c[i].st == BC_E_CONFLICT, "claim: %d",
			              c[i].st);
			ok += c[i].st == BC_OK;
		}
		ck_assert_uint_eq(ok, 1);
	}
	cf_finish(&s);
}
END_TEST

Suite *store_conformance_suite(const char *suite_name, const struct store_fixture *fx)
{
	Suite *s = suite_create(suite_name);
	TCase *basic = tcase_create("conformance");
	TCase *events = tcase_create("events");
	TCase *conc = tcase_create("concurrency");
	void (*setup)(void);

	if (cf_n_slots >= CF_SLOTS) { /* outside a test: no ck_assert here */
		fprintf(stderr, "store_conformance_suite: at most %d suites\n", CF_SLOTS);
		abort();
	}
	cf_slots[cf_n_slots] = fx;
	setup = cf_setups[cf_n_slots++];
	cf_fx = fx;
	tcase_add_checked_fixture(basic, setup, NULL);
	tcase_add_checked_fixture(events, setup, NULL);
	tcase_add_checked_fixture(conc, setup, NULL);
	tcase_add_test(basic, test_round_trip);
	tcase_add_test(basic, test_duplicate_reserve);
	tcase_add_test(basic, test_abort);
	tcase_add_test(basic, test_not_found);
	tcase_add_test(basic, test_health);
	tcase_add_test(basic, test_stop);
	tcase_add_test(basic, test_pending_not_listed);
	tcase_add_test(basic, test_list_order);
	tcase_add_test(basic, test_list_pagination);
	tcase_add_test(basic, test_list_filters);
	tcase_add_test(basic, test_durability);
	tcase_add_test(basic, test_older_structs);
	tcase_set_timeout(basic, 60);
	tcase_add_test(events, test_commit_event);
	tcase_add_test(events, test_media);
	tcase_add_test(events, test_stop_event);
	tcase_add_test(events, test_event_seq_interleaved);
	tcase_add_test(events, test_events_query);
	tcase_add_test(events, test_events_prune);
	tcase_add_test(events, test_list_media);
	tcase_add_test(events, test_events_durable);
	tcase_add_test(events, test_cursor_claim_advance);
	tcase_set_timeout(events, 60);
	tcase_add_test(conc, test_concurrent_cycles);
	tcase_add_test(conc, test_concurrent_stop_race);
	tcase_add_test(conc, test_concurrent_stop_event_race);
	tcase_add_test(conc, test_concurrent_event_cycles);
	tcase_add_test(conc, test_cursor_claim_race);
	tcase_set_timeout(conc, 120);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, events);
	suite_add_tcase(s, conc);
	return s;
}
