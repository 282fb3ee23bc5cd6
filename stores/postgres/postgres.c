/* SPDX-License-Identifier: Apache-2.0 */
/*
 * postgres.c: the store `type: postgres`, stream records in PostgreSQL so
 * several broadcastd nodes behind a load balancer share one set of streams.
 *
 * The central object is struct pg_store, one per YAML instance: a
 * connection pool (pg_pool.c, the only file that knows libpq's calling
 * conventions) and the schema's prepared statements (pg_schema.c, which
 * also creates and migrates the tables). This file maps store.h's
 * operations onto those statements and rows onto struct bc_record.
 *
 * Each operation is one statement: reserve is an INSERT (no row inserted:
 * the id exists), commit and abort are conditional UPDATE/DELETE on
 * state = PENDING, and stop is `UPDATE ... WHERE state = LIVE RETURNING`,
 * which the row lock makes exactly-one-winner across any number of nodes;
 * losers read the row again and answer CONFLICT with what is stored.
 * The ABI 1.1 ops that write an event (commit_event, stop_event, media) are
 * the same conditional UPDATE with the event's INSERT and the cursor
 * counter's UPDATE in data-modifying CTEs of that one statement, so the
 * change and its event commit together or not at all, and only a call
 * that changed the row writes one (pg_schema.c, EVENT_TAIL).
 * The writes of reserve, commit, stop and media run in batches, one
 * transaction for the writes of many concurrent calls (pg_batch.h); the
 * others are autocommit statements of their own, so no transaction is
 * left open or half applied.
 * Reads (get, list, health, and abort, which is idempotent) are retried
 * once on a fresh connection when the first one turns out to be dead;
 * writes are not, because the first attempt may have been applied.
 *
 * Thread-safe (BC_PLUGIN_THREAD_SAFE): calls share only the pool, which
 * hands each call its own connection.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <broadcast/broadcast.h>

#include "pg_batch.h"
#include "pg_pool.h"
#include "pg_schema.h"

struct pg_store {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct pg_pool *pool;
	struct pg_batch *batch; /* the writes of reserve, commit, stop and media */
	struct pg_statements stmts;
	char *schema;
};

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Run a prepared statement on a pooled connection. `retry_safe`: running it
 * twice has the effect of running it once, so a dead connection may be
 * replaced and the statement run again. */
static enum bc_status run_stmt(struct pg_store *s, enum pg_stmt which, int nparams,
                               const char *const *params, int retry_safe, PGresult **res,
                               struct bc_error *err)
{
	for (int attempt = 0;; attempt++) {
		struct pg_slot *slot = NULL;
		enum bc_status st;
		int lost;

		st = pg_pool_acquire(s->pool, &slot, err);
		if (st != BC_OK)
			return st;
		st = pg_pool_exec(s->pool, slot, 1, pg_stmt_name(which), nparams, params, res, err);
		lost = pg_slot_lost(slot);
		pg_pool_release(s->pool, slot);
		if (st == BC_OK || !retry_safe || !lost || attempt >= 1)
			return st;
	}
}

/* Run a write statement in the next batch (pg_batch.h): `flags` are
 * PG_WRITE_*. Never retried: the first attempt may have been applied. */
static enum bc_status write_stmt(struct pg_store *s, enum pg_stmt which, int nparams,
                                 const char *const *params, unsigned flags, PGresult **res,
                                 struct bc_error *err)
{
	return pg_batch_exec(s->batch, pg_stmt_name(which), nparams, params, flags, res, err);
}

/* Hand row `row` of a COLUMNS result to the host. */
static enum bc_status put_row(struct pg_store *s, PGresult *res, int row,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct bc_record r;
	enum bc_status st;

	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	r.id = PQgetvalue(res, row, PG_COL_ID);
	r.name = PQgetvalue(res, row, PG_COL_NAME);
	r.type = PQgetvalue(res, row, PG_COL_TYPE);
	r.provider = PQgetvalue(res, row, PG_COL_PROVIDER);
	r.owner = PQgetvalue(res, row, PG_COL_OWNER);
	r.state = (enum bc_stream_state)atoi(PQgetvalue(res, row, PG_COL_STATE));
	r.start_ms = strtoll(PQgetvalue(res, row, PG_COL_START_MS), NULL, 10);
	r.stop_ms = strtoll(PQgetvalue(res, row, PG_COL_STOP_MS), NULL, 10);
	r.meta = PQgetvalue(res, row, PG_COL_META);
	r.media = (enum bc_media_state)atoi(PQgetvalue(res, row, PG_COL_MEDIA));
	r.publish_ms = strtoll(PQgetvalue(res, row, PG_COL_PUBLISH_MS), NULL, 10);
	r.media_ms = strtoll(PQgetvalue(res, row, PG_COL_MEDIA_MS), NULL, 10);
	r.stop_reason = PQgetvalue(res, row, PG_COL_STOP_REASON);
	r.event_seq = strtoull(PQgetvalue(res, row, PG_COL_EVENT_SEQ), NULL, 10);
	st = s->api->record_put(out, &r);
	if (st != BC_OK)
		return s->api->fail(err, st, "postgres.record_put", "the host refused record %s",
		                    r.id);
	return BC_OK;
}

static int is_stopped_row(PGresult *res)
{
	return atoi(PQgetvalue(res, 0, PG_COL_STATE)) == BC_STATE_STOPPED;
}

/* The text parameters of an event (PG_EVENT_PARAMS of them, from params[0]);
 * time_buf holds the number. The store assigns cursor and seq, so those of
 * `ev` are ignored. BC_E_INVALID when there is no event to write. */
static enum bc_status event_params(struct pg_store *s, const struct bc_event *ev,
                                   const char **params, char time_buf[32],
                                   struct bc_error *err)
{
	if (ev == NULL || !BC_HAS_MEMBER(ev, struct bc_event, data) || ev->type == NULL ||
	    ev->type[0] == '\0')
		return s->api->fail(err, BC_E_INVALID, "postgres.bad_event",
		                    "an event with a type is required");
	snprintf(time_buf, 32, "%" PRId64, ev->time_ms);
	params[0] = ev->type;
	params[1] = time_buf;
	params[2] = str_or_empty(ev->owner); /* "": the record's owner */
	params[3] = ev->data != NULL && ev->data[0] != '\0' ? ev->data : "{}";
	return BC_OK;
}

/* ---- operations ----------------------------------------------------------- */

static enum bc_status pg_reserve(void *instance, const struct bc_record *rec,
                                 struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char start[32];
	const char *params[7];
	enum bc_status st;

	snprintf(start, sizeof start, "%" PRId64, rec->start_ms);
	params[0] = str_or_empty(rec->id);
	params[1] = str_or_empty(rec->name);
	params[2] = str_or_empty(rec->type);
	params[3] = str_or_empty(rec->provider);
	params[4] = str_or_empty(rec->owner);
	params[5] = start;
	params[6] = BC_HAS_MEMBER(rec, struct bc_record, meta) && rec->meta && rec->meta[0]
	                    ? rec->meta
	                    : "{}";
	/* Not durable (store.h): the commit that follows flushes it. */
	st = write_stmt(s, PG_STMT_RESERVE, 7, params, 0, &res, err);
	if (st == BC_OK && strcmp(PQcmdTuples(res), "1") != 0)
		st = s->api->fail(err, BC_E_CONFLICT, "store.duplicate_id",
		                  "a stream with id %s exists already", params[0]);
	PQclear(res);
	return st;
}

static enum bc_status pg_commit(void *instance, const char *id, const char *meta,
                                struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	const char *params[2] = { str_or_empty(id), meta && meta[0] ? meta : "{}" };
	enum bc_status st = write_stmt(s, PG_STMT_COMMIT, 2, params, PG_WRITE_DURABLE, &res, err);
	if (st == BC_OK && strcmp(PQcmdTuples(res), "1") != 0)
		st = s->api->fail(err, BC_E_NOT_FOUND, "store.not_found",
		                  "no pending stream has id %s", params[0]);
	PQclear(res);
	return st;
}

static enum bc_status pg_commit_event(void *instance, const char *id, const char *meta,
                                      const struct bc_event *event, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char tm[32];
	const char *params[2 + PG_EVENT_PARAMS] = { str_or_empty(id), meta && meta[0] ? meta : "{}" };
	enum bc_status st = event_params(s, event, params + 2, tm, err);
	if (st != BC_OK)
		return st;
	st = write_stmt(s, PG_STMT_COMMIT_EVENT, 2 + PG_EVENT_PARAMS, params,
	                PG_WRITE_DURABLE | PG_WRITE_EVENT, &res, err);
	if (st == BC_OK && PQntuples(res) != 1)
		st = s->api->fail(err, BC_E_NOT_FOUND, "store.not_found",
		                  "no pending stream has id %s", params[0]);
	PQclear(res);
	return st;
}

static enum bc_status pg_abort(void *instance, const char *id, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	const char *params[1] = { str_or_empty(id) };
	/* Deleting what is already gone is fine: safe to retry. */
	enum bc_status st = run_stmt(s, PG_STMT_ABORT, 1, params, 1, &res, err);
	PQclear(res);
	return st;
}

static enum bc_status pg_get(void *instance, const char *id, struct bc_record_sink *out,
                             struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	const char *params[1] = { str_or_empty(id) };
	enum bc_status st = run_stmt(s, PG_STMT_GET, 1, params, 1, &res, err);
	if (st == BC_OK) {
		if (PQntuples(res) == 0)
			st = s->api->fail(err, BC_E_NOT_FOUND, "store.not_found",
			                  "no stream has id %s", params[0]);
		else
			st = put_row(s, res, 0, out, err);
	}
	PQclear(res);
	return st;
}

/* stop() and stop_event(): `which` with params[0] the id; a loser writes
 * nothing and answers from the stored row. */
static enum bc_status stop_common(struct pg_store *s, enum pg_stmt which, int nparams,
                                  const char *const *params, struct bc_record_sink *out,
                                  struct bc_error *err)
{
	/* A LIVE row seen after a failed UPDATE was PENDING a moment ago and
	 * committed since: try again, a few times at most. */
	for (int attempt = 0; attempt < 3; attempt++) {
		PGresult *res = NULL;
		enum bc_status st = write_stmt(s, which, nparams, params,
		                               PG_WRITE_DURABLE |
		                                       (which == PG_STMT_STOP ? 0 : PG_WRITE_EVENT),
		                               &res, err);
		if (st != BC_OK) {
			PQclear(res);
			return st;
		}
		if (PQntuples(res) == 1) {
			st = put_row(s, res, 0, out, err);
			PQclear(res);
			return st;
		}
		PQclear(res);
		res = NULL;
		/* Nothing LIVE: read what is there, in a new snapshot so a stop that
		 * just beat us on another node is visible. */
		st = run_stmt(s, PG_STMT_GET, 1, params, 1, &res, err);
		if (st != BC_OK) {
			PQclear(res);
			return st;
		}
		if (PQntuples(res) == 0 ||
		    atoi(PQgetvalue(res, 0, PG_COL_STATE)) == BC_STATE_PENDING) {
			PQclear(res);
			return s->api->fail(err, BC_E_NOT_FOUND, "store.not_found",
			                    "no started stream has id %s", params[0]);
		}
		if (is_stopped_row(res)) {
			st = put_row(s, res, 0, out, err);
			PQclear(res);
			if (st != BC_OK)
				return st;
			return s->api->fail(err, BC_E_CONFLICT, "store.already_stopped",
			                    "stream %s is already stopped", params[0]);
		}
		PQclear(res);
	}
	return s->api->fail(err, BC_E_INTERNAL, "postgres.stop_race",
	                    "stream %s kept changing state while stopping it; retry", params[0]);
}

static enum bc_status pg_stop(void *instance, const char *id, int64_t stop_ms,
                              struct bc_record_sink *out, struct bc_error *err)
{
	char stop[32];
	const char *params[2] = { str_or_empty(id), stop };

	snprintf(stop, sizeof stop, "%" PRId64, stop_ms);
	return stop_common(instance, PG_STMT_STOP, 2, params, out, err);
}

static enum bc_status pg_stop_event(void *instance, const char *id, int64_t stop_ms,
                                    const char *reason, const struct bc_event *event,
                                    struct bc_record_sink *out, struct bc_error *err)
{
	struct pg_store *s = instance;
	char stop[32], tm[32];
	const char *params[3 + PG_EVENT_PARAMS] = { str_or_empty(id), stop, str_or_empty(reason) };
	enum bc_status st = event_params(s, event, params + 3, tm, err);
	if (st != BC_OK)
		return st;
	snprintf(stop, sizeof stop, "%" PRId64, stop_ms);
	return stop_common(s, PG_STMT_STOP_EVENT, 3 + PG_EVENT_PARAMS, params, out, err);
}

static enum bc_status pg_media(void *instance, const char *id, enum bc_media_state media,
                               int64_t at_ms, const struct bc_event *event,
                               struct bc_record_sink *out, struct bc_error *err)
{
	struct pg_store *s = instance;
	char m[8], at[32], tm[32];
	const char *params[3 + PG_EVENT_PARAMS] = { str_or_empty(id), m, at };
	enum bc_status st;

	if (media != BC_MEDIA_IDLE && media != BC_MEDIA_PUBLISHING)
		return s->api->fail(err, BC_E_INVALID, "postgres.bad_media",
		                    "media state %d is neither idle (1) nor publishing (2)",
		                    (int)media);
	st = event_params(s, event, params + 3, tm, err);
	if (st != BC_OK)
		return st;
	snprintf(m, sizeof m, "%d", (int)media);
	snprintf(at, sizeof at, "%" PRId64, at_ms);
	/* As in stop_common: a miss on a row that is LIVE and in the other
	 * state now was PENDING (or changed) a moment ago: try again. */
	for (int attempt = 0; attempt < 3; attempt++) {
		PGresult *res = NULL;
		int state;
		st = write_stmt(s, PG_STMT_MEDIA, 3 + PG_EVENT_PARAMS, params,
		                PG_WRITE_DURABLE | PG_WRITE_EVENT, &res, err);
		if (st != BC_OK) {
			PQclear(res);
			return st;
		}
		if (PQntuples(res) == 1) {
			st = put_row(s, res, 0, out, err);
			PQclear(res);
			return st;
		}
		PQclear(res);
		res = NULL;
		st = run_stmt(s, PG_STMT_GET, 1, params, 1, &res, err);
		if (st != BC_OK) {
			PQclear(res);
			return st;
		}
		if (PQntuples(res) == 0) {
			PQclear(res);
			return s->api->fail(err, BC_E_NOT_FOUND, "store.not_found",
			                    "no stream has id %s", params[0]);
		}
		state = atoi(PQgetvalue(res, 0, PG_COL_STATE));
		if (state == BC_STATE_PENDING) { /* not visible, as for stop() */
			PQclear(res);
			return s->api->fail(err, BC_E_NOT_FOUND, "store.not_found",
			                    "no stream has id %s", params[0]);
		}
		if (state != BC_STATE_LIVE) {
			PQclear(res);
			return s->api->fail(err, BC_E_CONFLICT, "store.not_live",
			                    "stream %s is not live", params[0]);
		}
		if (atoi(PQgetvalue(res, 0, PG_COL_MEDIA)) == (int)media) {
			PQclear(res);
			return s->api->fail(err, BC_E_CONFLICT, "store.media_unchanged",
			                    "stream %s is %s already", params[0],
			                    media == BC_MEDIA_PUBLISHING ? "publishing" : "idle");
		}
		PQclear(res);
	}
	return s->api->fail(err, BC_E_INTERNAL, "postgres.media_race",
	                    "stream %s kept changing state while setting its media; retry",
	                    params[0]);
}

static enum bc_status pg_list(void *instance, const struct bc_list_query *q,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char states[16], limit[16], after[32], media_s[8];
	const char *params[6];
	/* Members beyond an older host's struct_size read as unset. */
	const char *owner = BC_HAS_MEMBER(q, struct bc_list_query, owner) ? q->owner : NULL;
	enum bc_stream_state state = BC_HAS_MEMBER(q, struct bc_list_query, state) ? q->state : 0;
	unsigned lim = BC_HAS_MEMBER(q, struct bc_list_query, limit) ? q->limit : 100;
	const char *after_id = BC_HAS_MEMBER(q, struct bc_list_query, after_id) ? q->after_id
	                                                                         : NULL;
	enum bc_media_state media = BC_HAS_MEMBER(q, struct bc_list_query, media) ? q->media : 0;
	int n = 3, has_owner = owner != NULL, has_after = after_id != NULL;
	enum pg_stmt which;
	enum bc_status st;

	lim = lim < 1 ? 1 : lim > 1000 ? 1000 : lim;
	if (media != 0 && state != 0 && state != BC_STATE_LIVE)
		snprintf(states, sizeof states, "{}"); /* a media state is LIVE records' only */
	else if (media != 0)
		snprintf(states, sizeof states, "{%d}", BC_STATE_LIVE);
	else if (state != 0)
		snprintf(states, sizeof states, "{%d}", (int)state);
	else
		snprintf(states, sizeof states, "{%d,%d}", BC_STATE_LIVE, BC_STATE_STOPPED);
	snprintf(limit, sizeof limit, "%u", lim);
	snprintf(media_s, sizeof media_s, "%d", (int)media);
	params[0] = states;
	params[1] = limit;
	params[2] = media_s;
	if (has_owner)
		params[n++] = owner;
	if (has_after) {
		snprintf(after, sizeof after, "%" PRId64, q->after_start_ms);
		params[n++] = after;
		params[n++] = after_id;
	}
	which = has_owner ? (has_after ? PG_STMT_LIST_OWNER_AFTER : PG_STMT_LIST_OWNER)
	                  : (has_after ? PG_STMT_LIST_AFTER : PG_STMT_LIST);
	st = run_stmt(s, which, n, params, 1, &res, err);
	for (int i = 0; st == BC_OK && i < PQntuples(res); i++)
		st = put_row(s, res, i, out, err);
	PQclear(res);
	return st;
}

static uint64_t strtou64(const char *v)
{
	return (uint64_t)strtoull(v, NULL, 10);
}

static enum bc_status pg_events(void *instance, const struct bc_event_query *q,
                                struct bc_event_sink *out, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char after[32], limit[16];
	uint64_t aft = BC_HAS_MEMBER(q, struct bc_event_query, after) ? q->after : 0;
	unsigned lim = BC_HAS_MEMBER(q, struct bc_event_query, limit) ? q->limit : 100;
	const char *owner = BC_HAS_MEMBER(q, struct bc_event_query, owner) ? q->owner : NULL;
	const char *params[3];
	enum bc_status st;

	if (!BC_HAS_MEMBER(s->api, struct bc_host_api, event_put) || s->api->event_put == NULL)
		return s->api->fail(err, BC_E_INTERNAL, "postgres.no_event_put",
		                    "the host has no event sink");
	if (lim < 1 || lim > 1000)
		return s->api->fail(err, BC_E_INVALID, "postgres.bad_limit",
		                    "an events query's limit must be 1..1000, not %u", lim);
	/* Cursors are bigint: beyond INT64_MAX there is nothing to find. */
	snprintf(after, sizeof after, "%" PRIu64, aft > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX
	                                                                     : aft);
	snprintf(limit, sizeof limit, "%u", lim);
	params[0] = after;
	params[1] = limit;
	params[2] = owner;
	st = run_stmt(s, owner != NULL ? PG_STMT_EVENTS_OWNER : PG_STMT_EVENTS,
	              owner != NULL ? 3 : 2, params, 1, &res, err);
	for (int i = 0; st == BC_OK && i < PQntuples(res); i++) {
		struct bc_event e;
		enum bc_status put;
		memset(&e, 0, sizeof e);
		e.struct_size = sizeof e;
		e.cursor = strtou64(PQgetvalue(res, i, PG_ECOL_CURSOR));
		e.stream_id = PQgetvalue(res, i, PG_ECOL_STREAM_ID);
		e.seq = strtou64(PQgetvalue(res, i, PG_ECOL_SEQ));
		e.type = PQgetvalue(res, i, PG_ECOL_TYPE);
		e.time_ms = strtoll(PQgetvalue(res, i, PG_ECOL_TIME_MS), NULL, 10);
		e.owner = PQgetvalue(res, i, PG_ECOL_OWNER);
		e.data = PQgetvalue(res, i, PG_ECOL_DATA);
		put = s->api->event_put(out, &e);
		if (put != BC_OK)
			st = s->api->fail(err, put, "postgres.event_put",
			                  "the host refused event %" PRIu64, e.cursor);
	}
	PQclear(res);
	return st;
}

static enum bc_status pg_events_prune(void *instance, int64_t before_ms, uint64_t keep,
                                      uint64_t *deleted, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char before[32], kp[32];
	const char *params[2] = { before, kp };
	enum bc_status st;

	if (deleted != NULL)
		*deleted = 0;
	snprintf(before, sizeof before, "%" PRId64, before_ms);
	snprintf(kp, sizeof kp, "%" PRIu64, keep > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : keep);
	/* Deleting what is already gone is fine: safe to retry. */
	st = run_stmt(s, PG_STMT_EVENTS_PRUNE, 2, params, 1, &res, err);
	if (st == BC_OK && deleted != NULL && PQntuples(res) == 1)
		*deleted = strtou64(PQgetvalue(res, 0, 0));
	PQclear(res);
	return st;
}

/* Both cursor statements are idempotent for one holder (a claim renews,
 * an advance never moves back): safe to retry on a fresh connection. */
static enum bc_status pg_cursor_claim(void *instance, const char *name, const char *holder,
                                      uint64_t initial_cursor, int64_t now_ms, int64_t lease_ms,
                                      uint64_t *cursor, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char init[32], now[32], lease[32];
	const char *params[6] = { name, holder, initial_cursor == BC_CURSOR_HEAD ? "t" : "f",
		                  init, now, lease };
	enum bc_status st;

	if (name == NULL || holder == NULL || cursor == NULL || lease_ms < 0)
		return s->api->fail(err, BC_E_INVALID, "store.bad_cursor",
		                    "cursor_claim needs a name, a holder and a lease >= 0");
	snprintf(init, sizeof init, "%" PRIu64,
	         initial_cursor > (uint64_t)INT64_MAX ? (uint64_t)0 : initial_cursor);
	snprintf(now, sizeof now, "%" PRId64, now_ms);
	snprintf(lease, sizeof lease, "%" PRId64, lease_ms);
	st = run_stmt(s, PG_STMT_CURSOR_CLAIM, 6, params, 1, &res, err);
	if (st == BC_OK && PQntuples(res) == 1)
		*cursor = strtou64(PQgetvalue(res, 0, 0));
	else if (st == BC_OK)
		st = s->api->fail(err, BC_E_CONFLICT, "store.cursor_held",
		                  "delivery cursor %s is held by another node", name);
	PQclear(res);
	return st;
}

static enum bc_status pg_cursor_advance(void *instance, const char *name, const char *holder,
                                        uint64_t cursor, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char cur[32];
	const char *params[3] = { name, holder, cur };
	enum bc_status st;

	if (name == NULL || holder == NULL)
		return s->api->fail(err, BC_E_INVALID, "store.bad_cursor",
		                    "cursor_advance needs a name and a holder");
	snprintf(cur, sizeof cur, "%" PRIu64,
	         cursor > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : cursor);
	st = run_stmt(s, PG_STMT_CURSOR_ADVANCE, 3, params, 1, &res, err);
	if (st == BC_OK && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "1") != 0)) {
		if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "0") != 0)
			st = s->api->fail(err, BC_E_CONFLICT, "store.cursor_held",
			                  "delivery cursor %s is held by another node", name);
		else
			st = s->api->fail(err, BC_E_NOT_FOUND, "store.cursor_not_found",
			                  "no delivery cursor %s", name);
	}
	PQclear(res);
	return st;
}

static enum bc_status pg_health(void *instance, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	enum bc_status st = run_stmt(s, PG_STMT_WRITABLE, 0, NULL, 1, &res, err);
	if (st == BC_OK && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0))
		st = s->api->fail(err, BC_E_UNAVAILABLE, "store.read_only",
		                  "the database is a read-only standby; point conninfo at the "
		                  "primary (target_session_attrs=read-write)");
	PQclear(res);
	return st;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void pg_destroy(void *instance)
{
	struct pg_store *s = instance;
	if (s == NULL)
		return;
	pg_batch_destroy(s->batch);
	pg_pool_destroy(s->pool);
	pg_statements_free(&s->stmts);
	free(s->schema);
	free(s);
}

/* ABI 1.1 check(): the schema name and the conninfo's syntax; connects to
 * nothing (a database down is create()'s to find). */
static enum bc_status pg_check(const struct bc_host_api *api, const struct bc_config *cfg,
                               struct bc_error *err)
{
	const char *schema = api->cfg_str(cfg, "schema");
	if (!pg_schema_name_ok(schema))
		return api->fail(err, BC_E_INVALID, "postgres.bad_schema",
		                 "schema \"%s\" is not a plain lower-case name: use letters a-z, "
		                 "digits and '_', at most 63, not starting with a digit or pg_",
		                 str_or_empty(schema));
	return pg_pool_check_conninfo(api, api->cfg_str(cfg, "conninfo"), err);
}

static enum bc_status pg_create(const struct bc_host_api *api, struct bc_host *host,
                                const struct bc_config *cfg, void **instance,
                                struct bc_error *err)
{
	struct pg_store *s = NULL;
	struct pg_pool_config pc;
	struct pg_slot *slot = NULL;
	char appname[64];
	const char *schema = api->cfg_str(cfg, "schema");
	int64_t pool_size = api->cfg_int(cfg, "pool_size");
	int before = 0;
	enum bc_status st;

	*instance = NULL;
	/* The host ran check() already; again here, so that a direct create()
	 * answers the same (the conninfo is parsed once more by the pool). */
	st = pg_check(api, cfg, err);
	if (st != BC_OK)
		return st;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
	s->api = api;
	s->host = host;
	s->schema = strdup(schema);
	if (s->schema == NULL) {
		st = api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
		goto fail;
	}
	snprintf(appname, sizeof appname, "broadcastd/%s", api->instance_name(host));
	memset(&pc, 0, sizeof pc);
	pc.conninfo = api->cfg_str(cfg, "conninfo");
	pc.password = api->cfg_str(cfg, "password");
	pc.sslmode = api->cfg_str(cfg, "sslmode");
	pc.application_name = appname;
	pc.size = pool_size < 1 ? 1 : pool_size > 100 ? 100 : (unsigned)pool_size;
	pc.connect_timeout_ms = api->cfg_int(cfg, "connect_timeout");
	pc.statement_timeout_ms = api->cfg_int(cfg, "statement_timeout");
	st = pg_pool_create(api, host, &pc, &s->pool, err);
	if (st != BC_OK)
		goto fail;
	st = pg_statements_init(&s->stmts, s->schema, api, err);
	if (st != BC_OK)
		goto fail;
	st = pg_schema_migrate(s->pool, api, s->schema, &before, err);
	if (st != BC_OK)
		goto fail;
	pg_pool_set_setup(s->pool, pg_schema_prepare, &s->stmts);
	{
		const struct pg_batch_statements bs = {
			.lock_counter = pg_stmt_name(PG_STMT_LOCK_COUNTER),
			.no_flush = pg_stmt_name(PG_STMT_NO_FLUSH),
		};
		st = pg_batch_create(api, host, s->pool, &bs, &s->batch, err);
		if (st != BC_OK)
			goto fail;
	}
	/* One connection ready now: proves the statements prepare, and names
	 * the server in the log. */
	st = pg_pool_acquire(s->pool, &slot, err);
	if (st != BC_OK)
		goto fail;
	api->log(host, BC_LOG_INFO,
	         "ready: %s:%s/%s as %s, schema %s at version %d%s, pool of %u, "
	         "conninfo fingerprint %s",
	         PQhost(pg_slot_conn(slot)), PQport(pg_slot_conn(slot)),
	         PQdb(pg_slot_conn(slot)), PQuser(pg_slot_conn(slot)), s->schema,
	         PG_SCHEMA_VERSION,
	         before == PG_SCHEMA_VERSION ? "" : before == 0 ? " (created)" : " (migrated)",
	         pc.size, pg_pool_fingerprint(s->pool));
	pg_pool_release(s->pool, slot);
	*instance = s;
	return BC_OK;
fail:
	pg_destroy(s);
	return st;
}

/* ---- the descriptor ----------------------------------------------------------------- */

static const char *const sslmodes[] = { "disable", "allow",     "prefer",
	                                "require", "verify-ca", "verify-full", NULL };

static const struct bc_option pg_options[] = {
	BC_OPTION(.name = "conninfo", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description =
	                  "libpq connection string or URI, e.g. \"host=db1 dbname=broadcast "
	                  "user=broadcast\" or postgresql://broadcast@db1/broadcast; unset: "
	                  "libpq defaults and PG* variables. Secret: never logged (a fingerprint is)."),
	BC_OPTION(.name = "password", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "Password; overrides one in conninfo. Prefer "
	                         "\"${PGPASSWORD}\" or a ~/.pgpass file over writing it here."),
	BC_OPTION(.name = "sslmode", .type = BC_OPT_ENUM, .enum_values = sslmodes,
	          .description = "TLS to the server, passed to libpq; overrides conninfo's. Use "
	                         "verify-full across machines."),
	BC_OPTION(.name = "pool_size", .type = BC_OPT_INT, .default_value = "4", .min = 1,
	          .max = 100,
	          .description = "Connections kept open; calls beyond it wait up to "
	                         "statement_timeout for one."),
	BC_OPTION(.name = "connect_timeout", .type = BC_OPT_DURATION, .default_value = "5s",
	          .min = 1000, .max = 300000,
	          .description = "How long one connection attempt may take (whole seconds, "
	                         "at least 2)."),
	BC_OPTION(.name = "statement_timeout", .type = BC_OPT_DURATION, .default_value = "5s",
	          .min = 100, .max = 3600000,
	          .description = "Longest a statement may run; then the call fails with 504 "
	                         "store.timeout."),
	BC_OPTION(.name = "schema", .type = BC_OPT_STRING, .default_value = "broadcast",
	          .description = "Schema holding the tables, created and migrated at start; "
	                         "nodes sharing streams must use the same one."),
	BC_OPTION_END
};

static const struct bc_store_ops pg_ops = {
	.struct_size = sizeof(struct bc_store_ops),
	.create = pg_create,
	.reserve = pg_reserve,
	.commit = pg_commit,
	.abort = pg_abort,
	.get = pg_get,
	.stop = pg_stop,
	.list = pg_list,
	.health = pg_health,
	.destroy = pg_destroy,
	.commit_event = pg_commit_event,
	.stop_event = pg_stop_event,
	.media = pg_media,
	.events = pg_events,
	.events_prune = pg_events_prune,
	.check = pg_check,
	.cursor_claim = pg_cursor_claim,
	.cursor_advance = pg_cursor_advance,
};

static const struct bc_plugin pg_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_STORE, .name = "postgres", .version = PACKAGE_VERSION,
	.description = "PostgreSQL stream store: several nodes share one set of streams",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = pg_options, .ops = &pg_ops);

static const struct bc_plugin *const pg_plugins[] = { &pg_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_major;
	(void)host_minor;
	return pg_plugins;
}
