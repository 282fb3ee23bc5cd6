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
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_conformance.h"
#include "stubhost.h"

static const struct store_fixture *cf_fx;

struct cf_store {
	const struct bc_plugin *plugin;
	const struct bc_store_ops *ops;
	struct stubhost *sh;
	void *inst;
	int serialise;        /* the plugin is not thread-safe: lock like the host */
	pthread_mutex_t lock;
};

#define CF_T0 INT64_C(1700000000000)

/* ---- helpers ---------------------------------------------------------------- */

static void cf_id(char out[37], unsigned tag, unsigned n)
{
	snprintf(out, 37, "%08x-0000-4000-8000-%012x", tag, n);
}

static void cf_open(struct cf_store *s, const char *const *kv)
{
	struct bc_error err;
	enum bc_status st;

	memset(&err, 0, sizeof err);
	s->sh = stubhost_new(s->plugin->name, s->plugin->options, kv);
	st = s->ops->create(stubhost_api(), stubhost_host(s->sh), stubhost_config(s->sh),
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
	ck_assert_int_eq(cf_reserve(&s, id, "b", "bob", CF_T0 + 1, &err), BC_E_CONFLICT);
	ck_assert_int_eq(err.status, BC_E_CONFLICT);
	ck_assert_str_ne(err.code, "");
	ck_assert_int_eq(cf_commit(&s, id, "{}", &err), BC_OK);
	ck_assert_int_eq(cf_reserve(&s, id, "c", "carol", CF_T0 + 2, &err), BC_E_CONFLICT);
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
	ck_assert_int_eq(cf_get(&s, id, &sink, &err), BC_E_NOT_FOUND);
	ck_assert_uint_eq(sink.n, 0);
	ck_assert_int_eq(cf_abort(&s, id, &err), BC_OK); /* idempotent */
	ck_assert_int_eq(cf_commit(&s, id, "{}", &err), BC_E_NOT_FOUND);
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
	ck_assert_int_eq(cf_commit(&s, live, "{}", &err), BC_E_NOT_FOUND);
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
	ck_assert_int_eq(cf_get(&s, id, &sink, &err), BC_E_NOT_FOUND);
	ck_assert_str_eq(err.code, "store.not_found");
	ck_assert_int_eq(cf_stop(&s, id, CF_T0, &sink, &err), BC_E_NOT_FOUND);
	ck_assert_str_eq(err.code, "store.not_found");
	ck_assert_int_eq(cf_commit(&s, id, "{}", &err), BC_E_NOT_FOUND);
	ck_assert_uint_eq(sink.n, 0);
	/* A PENDING stream has not started yet: it cannot be stopped. */
	ck_assert_int_eq(cf_reserve(&s, id, "a", "alice", CF_T0, &err), BC_OK);
	ck_assert_int_eq(cf_stop(&s, id, CF_T0 + 1, &sink, &err), BC_E_NOT_FOUND);
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
	ck_assert_int_eq(cf_stop(&s, id, CF_T0 + 99000, &sink, &err), BC_E_CONFLICT);
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
	ck_assert_int_eq(cf_stop(&s, live, CF_T0 + 10, &sink, &err), BC_E_CONFLICT);
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

Suite *store_conformance_suite(const char *suite_name, const struct store_fixture *fx)
{
	Suite *s = suite_create(suite_name);
	TCase *basic = tcase_create("conformance");
	TCase *conc = tcase_create("concurrency");

	cf_fx = fx;
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
	tcase_add_test(conc, test_concurrent_cycles);
	tcase_add_test(conc, test_concurrent_stop_race);
	tcase_set_timeout(conc, 120);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, conc);
	return s;
}
