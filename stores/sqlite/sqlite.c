/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite.c: the `sqlite` store, the embedded default: stream records in one
 * SQLite file in WAL mode (docs/stores.md).
 *
 * Central type: struct sqlite_store, one per YAML instance, holding a pool of
 * connections (sqlite_conn.c), each with every statement prepared once.
 * create() makes sure the file exists with mode 0600, switches it to WAL,
 * migrates the schema (sqlite_schema.c), opens one writer connection and
 * the pool of readers. Reads (get, list, events) borrow a pooled
 * connection for their duration. A reserve is kept in memory (sqlite_pending.c) and its
 * commit inserts the whole row LIVE, so a start costs one write. Writes
 * (commit, stop, media, events_prune, health, the delivery cursors' claim
 * and advance, and the abort of a row an older version left PENDING) queue
 * on the writer and are applied in batches, one transaction for all the writes
 * that arrived while the previous batch ran (group commit, see "the
 * writer" below). That is why the plugin declares BC_PLUGIN_THREAD_SAFE.
 * This file holds the operations, then the option table, the descriptor
 * and the entry point, in that order.
 *
 * Each write is one statement, run after everything in it that can fail,
 * so a failed write leaves nothing behind: stop() reads the row, copies it
 * as STOPPED for the caller, then runs the conditional UPDATE (state =
 * LIVE) under the batch's write lock. The ABI 1.1 ops that write an event
 * (commit_event, stop_event, media) run a second statement, the INSERT of
 * the event, in the same transaction; when that one fails the whole batch
 * is rolled back, so no change is ever kept without its event. With
 * synchronous=full the batch holding a commit, a stop or a media change is
 * on disk before any of its callers returns, as those must be. Records go
 * into a caller's sink on the caller's own thread, after its batch
 * (host.h: a sink is the call's), from a copy the leader made.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <broadcast/store.h>

#include "group_commit.h"
#include "sqlite_conn.h"
#include "sqlite_pending.h"
#include "sqlite_schema.h"

#ifndef BC_STATE_DIR
#define BC_STATE_DIR "/var/lib/broadcast"
#endif

/* How per-request errors name the file: they reach API callers, who have
 * no business knowing server paths (create() errors and the startup log
 * line name it for the operator). */
#define SQLITE_DB_NAME "the stream database"

struct sqlite_store {
	const struct bc_host_api *api;
	struct bc_host *host;
	const char *path; /* borrowed from the config view (lives as long as we do) */
	struct sqlite_pool pool; /* readers: get, list */
	struct sqlite_pending pending; /* reserved, not yet committed */
	struct sqlite_writer {
		struct gc_queue gc;     /* the group commit: ops wait here for a batch */
		struct sqlite_conn conn; /* the leader's only; every write runs on it */
		int sync_full;          /* configured synchronous=full */
		int sync_now_full;      /* what conn is set to now */
		int ready;              /* gc and conn are initialised */
		/* The leader's only (leaders take turns under lock): */
		/* The SQLite code failing writes now, 0 if none. Atomic: the
		 * leader writes it, reserve() reads it from any thread. */
		atomic_int fault_rc;
		unsigned long fault_batches; /* write transactions failed since */
		int probed;             /* this batch's health op really wrote */
	} writer;
};


/* ---- helpers ------------------------------------------------------------ */

static void sqlite_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static const char *sqlite_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s != NULL ? (const char *)s : "";
}

/* Hand `rec` to the host's sink (which copies it). */
static enum bc_status sqlite_record_put(struct sqlite_store *s, const struct bc_record *rec,
                                        struct bc_record_sink *out, struct bc_error *err)
{
	enum bc_status status = s->api->record_put(out, rec);

	if (status != BC_OK)
		return s->api->fail(err, status, status == BC_E_NOMEM ? "sqlite.nomem"
		                                                       : "sqlite.bad_record",
		                    "the host refused record %s", rec->id);
	return BC_OK;
}

/* A view of the current row of `st` (SQLITE_RECORD_COLUMNS), valid until
 * the statement steps or resets. */
static void sqlite_row_view(sqlite3_stmt *st, struct bc_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->struct_size = sizeof *rec;
	rec->id = sqlite_text(st, 0);
	rec->name = sqlite_text(st, 1);
	rec->type = sqlite_text(st, 2);
	rec->provider = sqlite_text(st, 3);
	rec->owner = sqlite_text(st, 4);
	rec->state = (enum bc_stream_state)sqlite3_column_int(st, 5);
	rec->start_ms = sqlite3_column_int64(st, 6);
	rec->stop_ms = sqlite3_column_int64(st, 7);
	rec->meta = sqlite_text(st, 8);
	rec->media = (enum bc_media_state)sqlite3_column_int(st, 9);
	rec->publish_ms = sqlite3_column_int64(st, 10);
	rec->media_ms = sqlite3_column_int64(st, 11);
	rec->stop_reason = sqlite_text(st, 12);
	rec->event_seq = (uint64_t)sqlite3_column_int64(st, 13);
}

/* Hand the current row of `st` to the host. */
static enum bc_status sqlite_row_put(struct sqlite_store *s, sqlite3_stmt *st,
                                     struct bc_record_sink *out, struct bc_error *err)
{
	struct bc_record rec;

	sqlite_row_view(st, &rec);
	return sqlite_record_put(s, &rec, out, err);
}

/* A record a write op read (and changed) for its caller's sink, which only
 * the caller's thread may fill: the leader copies the row here, the caller
 * puts it once its batch is over. Strings live in buf (one block). */
struct sqlite_row {
	struct bc_record rec;
	char *buf;
	int have;
};

static const char *sqlite_row_copy_str(char **at, const char *str)
{
	char *copy = *at;
	size_t len = strlen(str) + 1;

	memcpy(copy, str, len);
	*at += len;
	return copy;
}

/* Copy the current row of `st` into `row`: 0, or -1 when out of memory. */
static int sqlite_row_copy(sqlite3_stmt *st, struct sqlite_row *row)
{
	struct bc_record v;
	size_t len;
	char *at;

	sqlite_row_view(st, &v);
	len = strlen(v.id) + strlen(v.name) + strlen(v.type) + strlen(v.provider) +
	      strlen(v.owner) + strlen(v.meta) + strlen(v.stop_reason) + 7;
	row->buf = malloc(len);
	if (row->buf == NULL)
		return -1;
	at = row->buf;
	row->rec = v;
	row->rec.id = sqlite_row_copy_str(&at, v.id);
	row->rec.name = sqlite_row_copy_str(&at, v.name);
	row->rec.type = sqlite_row_copy_str(&at, v.type);
	row->rec.provider = sqlite_row_copy_str(&at, v.provider);
	row->rec.owner = sqlite_row_copy_str(&at, v.owner);
	row->rec.meta = sqlite_row_copy_str(&at, v.meta);
	row->rec.stop_reason = sqlite_row_copy_str(&at, v.stop_reason);
	row->have = 1;
	return 0;
}

/* Run the prepared GET for `id`: BC_OK with the row put into `out` (when
 * `out` is NULL, only whether it exists), BC_E_NOT_FOUND without touching
 * err (the caller words it), or a failure. */
static enum bc_status sqlite_get_row(struct sqlite_store *s, struct sqlite_conn *c,
                                     const char *id, struct bc_record_sink *out,
                                     struct bc_error *err)
{
	sqlite3_stmt *st = c->st[SQLITE_ST_GET];
	enum bc_status status;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status = out != NULL ? sqlite_row_put(s, st, out, err) : BC_OK;
	} else if (rc == SQLITE_DONE) {
		status = BC_E_NOT_FOUND;
	} else {
		status = sqlite_conn_fail(s->api, err, c->db, rc, SQLITE_DB_NAME, "reading a record");
	}
	sqlite_done(st);
	return status;
}

/* ---- the writer: one connection, group commit ------------------------------ */

/*
 * Every write (commit, stop, media, events_prune, health's lock probe, and
 * the abort of a row an older version left PENDING) is a struct sqlite_op
 * queued on s->writer. Callers queue on our mutex, never
 * on SQLite's write lock, whose busy handler sleeps up to 100 ms between
 * retries. The first caller to find no batch running becomes the leader:
 * it takes every queued op, runs BEGIN IMMEDIATE, each op (one write
 * statement), COMMIT, and then wakes the followers, each with the result it
 * would have had alone. So N concurrent writes cost one fsync, not N.
 * The queue and the hand-off are stores/common/group_commit.c's.
 */
enum sqlite_op_kind {
	SQLITE_OP_INSERT,  /* the commit of a reservation held in memory */
	SQLITE_OP_COMMIT,  /* the commit of a PENDING row in the file */
	SQLITE_OP_ABORT,
	SQLITE_OP_STOP,
	SQLITE_OP_HEALTH,
	SQLITE_OP_MEDIA,   /* since ABI 1.1 */
	SQLITE_OP_PRUNE,   /* since ABI 1.1: events_prune */
	SQLITE_OP_CLAIM,   /* since ABI 1.1: cursor_claim */
	SQLITE_OP_ADVANCE  /* since ABI 1.1: cursor_advance */
};

struct sqlite_op {
	struct gc_op gc;             /* first: the group commit's link */
	enum sqlite_op_kind kind;
	const struct bc_record *rec; /* insert: borrowed */
	const char *id;              /* the others: borrowed */
	const char *meta;            /* insert, commit */
	int64_t stop_ms;             /* stop */
	const char *reason;          /* stop: the stop_reason to keep ("" for stop()) */
	enum bc_media_state media;   /* media */
	int64_t at_ms;               /* media */
	int64_t before_ms;           /* prune */
	uint64_t keep;               /* prune */
	uint64_t deleted;            /* prune: the leader's answer */
	const char *holder;          /* claim, advance (id is the cursor's name) */
	uint64_t cursor;             /* claim: initial, then the answer; advance */
	int64_t now_ms, lease_ms;    /* claim */
	/* insert, commit, stop, media: the event to write with the change, a
	 * zero-extended copy of the caller's (its strings borrowed), or none. */
	struct bc_event event;
	int has_event;
	struct sqlite_row row;       /* stop, media: the record for the caller's sink */
	struct bc_error *err;        /* the caller's; the leader fills it */
	enum bc_status status;
	/* Set by an op whose event failed after its change was written: the
	 * SQLite code, and the whole batch is rolled back (nothing of the op
	 * may stay, and SQLite only undid the failed statement). */
	int undo_rc;
};

static struct sqlite_op *sqlite_op_next(const struct sqlite_op *op)
{
	return (struct sqlite_op *)op->gc.next;
}

static const char *const sqlite_op_names[] = {
	[SQLITE_OP_INSERT] = "commit",   [SQLITE_OP_COMMIT] = "commit",
	[SQLITE_OP_ABORT] = "abort",     [SQLITE_OP_STOP] = "stop",
	[SQLITE_OP_HEALTH] = "health check", [SQLITE_OP_MEDIA] = "media change",
	[SQLITE_OP_PRUNE] = "event pruning", [SQLITE_OP_CLAIM] = "delivery cursor claim",
	[SQLITE_OP_ADVANCE] = "delivery cursor advance",
};

/* Step a statement without parameters or rows (transaction control). */
static int sqlite_exec_st(struct sqlite_conn *c, enum sqlite_stmt_id id)
{
	int rc = sqlite3_step(c->st[id]);

	sqlite3_reset(c->st[id]);
	return rc;
}

/* Write op's event for record `id` (owned by `owner`, unless the event
 * names one) with `seq`, after the op's change: the op's second statement.
 * When it fails the change is already in the transaction, so the op asks
 * its batch to roll back (undo_rc). */
static enum bc_status sqlite_event_insert(struct sqlite_store *s, struct sqlite_conn *c,
                                          struct sqlite_op *op, const char *id,
                                          const char *owner, uint64_t seq)
{
	const struct bc_event *ev = &op->event;
	sqlite3_stmt *st = c->st[SQLITE_ST_EVENT_INSERT];
	enum bc_status status = BC_OK;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_text(st, 3, ev->type != NULL ? ev->type : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->time_ms);
	sqlite3_bind_text(st, 5, ev->owner != NULL ? ev->owner : owner != NULL ? owner : "", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ev->data != NULL && ev->data[0] ? ev->data : "{}", -1,
	                  SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "writing an event");
		op->undo_rc = rc;
	}
	sqlite_done(st);
	return status;
}

static enum bc_status sqlite_op_insert(struct sqlite_store *s, struct sqlite_conn *c,
                                       struct sqlite_op *op)
{
	const struct bc_record *r = op->rec;
	sqlite3_stmt *st = c->st[SQLITE_ST_INSERT_LIVE];
	enum bc_status status = BC_OK;
	int rc;

	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name ? r->name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->type ? r->type : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->provider ? r->provider : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->owner ? r->owner : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->start_ms);
	sqlite3_bind_text(st, 7, op->meta && op->meta[0] ? op->meta : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, s->api->now_ms());
	sqlite3_bind_int64(st, 9, op->has_event ? 1 : 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		status = s->api->fail(op->err, BC_E_CONFLICT, "sqlite.duplicate_id",
		                      "a stream with id %s already exists", r->id);
	else if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME, "commit");
	sqlite_done(st);
	if (status == BC_OK && op->has_event)
		status = sqlite_event_insert(s, c, op, r->id, r->owner, 1);
	return status;
}

static enum bc_status sqlite_op_commit(struct sqlite_store *s, struct sqlite_conn *c,
                                       struct sqlite_op *op)
{
	sqlite3_stmt *st = c->st[SQLITE_ST_COMMIT];
	enum bc_status status = BC_OK;
	int rc;

	sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, op->meta && op->meta[0] ? op->meta : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, s->api->now_ms());
	sqlite3_bind_int64(st, 4, op->has_event ? 1 : 0);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME, "commit");
	else if (sqlite3_changes(c->db) == 0)
		status = s->api->fail(op->err, BC_E_NOT_FOUND, "store.not_found",
		                      "no pending stream with id %s to commit", op->id);
	sqlite_done(st);
	if (status == BC_OK && op->has_event)
		status = sqlite_event_insert(s, c, op, op->id, NULL, 1);
	return status;
}

static enum bc_status sqlite_op_abort(struct sqlite_store *s, struct sqlite_conn *c,
                                      struct sqlite_op *op)
{
	sqlite3_stmt *st = c->st[SQLITE_ST_ABORT];
	enum bc_status status = BC_OK;
	int rc;

	sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME, "abort");
	sqlite_done(st);
	return status;
}

/* Read first, write last: the row is read (and copied for the caller) before
 * the one UPDATE, so the op can fail only before it writes, and a failed op
 * leaves nothing in the batch's transaction (but for its event, see
 * sqlite_event_insert). The leader holds the write lock (BEGIN IMMEDIATE),
 * so the row cannot change in between; the UPDATE stays conditional on
 * LIVE all the same. The caller ignores the copy of an op that failed. */
static enum bc_status sqlite_op_stop(struct sqlite_store *s, struct sqlite_conn *c,
                                     struct sqlite_op *op)
{
	sqlite3_stmt *get = c->st[SQLITE_ST_GET], *st = c->st[SQLITE_ST_STOP];
	enum bc_stream_state state = 0;
	enum bc_status status;
	uint64_t seq = 0;
	int rc;

	sqlite3_bind_text(get, 1, op->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW)
		state = (enum bc_stream_state)sqlite3_column_int(get, 5);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME, "stop");
	else if (state != BC_STATE_LIVE && state != BC_STATE_STOPPED)
		/* none, or PENDING: not a started stream */
		status = s->api->fail(op->err, BC_E_NOT_FOUND, "store.not_found",
		                      "no live or stopped stream with id %s", op->id);
	else if (sqlite_row_copy(get, &op->row) != 0)
		status = s->api->fail(op->err, BC_E_NOMEM, "sqlite.nomem", "out of memory");
	else if (state == BC_STATE_STOPPED)
		/* Lost a race, or stopped before: the caller sees the stop that won. */
		status = s->api->fail(op->err, BC_E_CONFLICT, "store.already_stopped",
		                      "stream %s is already stopped", op->id);
	else {
		status = BC_OK;
		seq = op->row.rec.event_seq + (op->has_event ? 1 : 0);
		op->row.rec.state = BC_STATE_STOPPED;
		op->row.rec.stop_ms = op->stop_ms;
		op->row.rec.stop_reason = op->reason; /* the caller's, alive until it returns */
		op->row.rec.event_seq = seq;
	}
	sqlite_done(get);
	if (status != BC_OK)
		return status;
	sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, op->stop_ms);
	sqlite3_bind_int64(st, 3, s->api->now_ms());
	sqlite3_bind_text(st, 4, op->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME, "stop");
	else if (sqlite3_changes(c->db) != 1)
		status = s->api->fail(op->err, BC_E_INTERNAL, "sqlite.error",
		                      "stream %s changed under the write lock", op->id);
	sqlite_done(st);
	if (status == BC_OK && op->has_event)
		status = sqlite_event_insert(s, c, op, op->id, op->row.rec.owner, seq);
	return status;
}

/* As stop: read the row, decide, copy it as it will be, one UPDATE, then
 * the event. */
static enum bc_status sqlite_op_media(struct sqlite_store *s, struct sqlite_conn *c,
                                      struct sqlite_op *op)
{
	sqlite3_stmt *get = c->st[SQLITE_ST_GET], *st = c->st[SQLITE_ST_MEDIA];
	enum bc_stream_state state = 0;
	enum bc_media_state media = 0;
	enum bc_status status = BC_OK;
	uint64_t seq = 0;
	int rc;

	sqlite3_bind_text(get, 1, op->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		state = (enum bc_stream_state)sqlite3_column_int(get, 5);
		media = (enum bc_media_state)sqlite3_column_int(get, 9);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "media change");
	else if (rc == SQLITE_DONE)
		status = s->api->fail(op->err, BC_E_NOT_FOUND, "store.not_found",
		                      "no stream with id %s", op->id);
	else if (state != BC_STATE_LIVE)
		status = s->api->fail(op->err, BC_E_CONFLICT, "store.not_live",
		                      "stream %s is not live", op->id);
	else if (media == op->media)
		status = s->api->fail(op->err, BC_E_CONFLICT, "store.media_unchanged",
		                      "stream %s is %s already", op->id,
		                      op->media == BC_MEDIA_PUBLISHING ? "publishing" : "idle");
	else if (sqlite_row_copy(get, &op->row) != 0)
		status = s->api->fail(op->err, BC_E_NOMEM, "sqlite.nomem", "out of memory");
	else {
		seq = op->row.rec.event_seq + (op->has_event ? 1 : 0);
		op->row.rec.media = op->media;
		op->row.rec.media_ms = op->at_ms;
		if (op->media == BC_MEDIA_PUBLISHING)
			op->row.rec.publish_ms = op->at_ms;
		op->row.rec.event_seq = seq;
	}
	sqlite_done(get);
	if (status != BC_OK)
		return status;
	sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)op->media);
	sqlite3_bind_int64(st, 3, op->at_ms);
	sqlite3_bind_int64(st, 4, s->api->now_ms());
	sqlite3_bind_int64(st, 5, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME, "media change");
	else if (sqlite3_changes(c->db) != 1)
		status = s->api->fail(op->err, BC_E_INTERNAL, "sqlite.error",
		                      "stream %s changed under the write lock", op->id);
	sqlite_done(st);
	if (status == BC_OK && op->has_event)
		status = sqlite_event_insert(s, c, op, op->id, op->row.rec.owner, seq);
	return status;
}

static enum bc_status sqlite_op_prune(struct sqlite_store *s, struct sqlite_conn *c,
                                      struct sqlite_op *op)
{
	sqlite3_stmt *st = c->st[SQLITE_ST_EVENTS_PRUNE];
	enum bc_status status = BC_OK;
	int rc;

	sqlite3_bind_int64(st, 1, op->before_ms);
	sqlite3_bind_int64(st, 2, op->keep > (uint64_t)INT64_MAX ? INT64_MAX
	                                                          : (sqlite3_int64)op->keep);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "event pruning");
	else
		op->deleted = (uint64_t)sqlite3_changes64(c->db);
	sqlite_done(st);
	return status;
}

/* cursor_claim: read the cursor, decide, then one write (the INSERT of a
 * new cursor or the UPDATE of its lease). The batch's BEGIN IMMEDIATE holds
 * the file's write lock, so no other writer, in this process or another,
 * claims between the read and the write. */
static enum bc_status sqlite_op_claim(struct sqlite_store *s, struct sqlite_conn *c,
                                      struct sqlite_op *op)
{
	sqlite3_stmt *get = c->st[SQLITE_ST_CURSOR_GET], *st;
	enum bc_status status = BC_OK;
	uint64_t cursor = 0;
	int rc, exists = 0;

	sqlite3_bind_text(get, 1, op->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		exists = 1;
		cursor = (uint64_t)sqlite3_column_int64(get, 0);
		if (strcmp(sqlite_text(get, 1), op->holder) != 0 &&
		    sqlite3_column_int64(get, 2) > op->now_ms)
			status = s->api->fail(op->err, BC_E_CONFLICT, "store.cursor_held",
			                      "delivery cursor %s is held by another host", op->id);
	} else if (rc != SQLITE_DONE) {
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "reading a delivery cursor");
	}
	sqlite_done(get);
	if (status == BC_OK && !exists) {
		cursor = op->cursor;
		if (cursor == BC_CURSOR_HEAD) {
			st = c->st[SQLITE_ST_CURSOR_HEAD];
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				cursor = (uint64_t)sqlite3_column_int64(st, 0);
			else
				status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
				                          "reading the feed's head");
			sqlite_done(st);
		}
	}
	if (status != BC_OK)
		return status;
	st = c->st[exists ? SQLITE_ST_CURSOR_LEASE : SQLITE_ST_CURSOR_INSERT];
	sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
	if (exists) {
		sqlite3_bind_text(st, 2, op->holder, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, op->now_ms + op->lease_ms);
		sqlite3_bind_int64(st, 4, s->api->now_ms());
	} else {
		sqlite3_bind_int64(st, 2, cursor > (uint64_t)INT64_MAX ? INT64_MAX
		                                                       : (sqlite3_int64)cursor);
		sqlite3_bind_text(st, 3, op->holder, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, op->now_ms + op->lease_ms);
		sqlite3_bind_int64(st, 5, s->api->now_ms());
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "writing a delivery cursor");
	else
		op->cursor = cursor;
	sqlite_done(st);
	return status;
}

static enum bc_status sqlite_op_advance(struct sqlite_store *s, struct sqlite_conn *c,
                                        struct sqlite_op *op)
{
	sqlite3_stmt *st = c->st[SQLITE_ST_CURSOR_MOVE], *get = c->st[SQLITE_ST_CURSOR_GET];
	enum bc_status status = BC_OK;
	int rc;

	sqlite3_bind_text(st, 1, op->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, op->holder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, op->cursor > (uint64_t)INT64_MAX ? INT64_MAX
	                                                           : (sqlite3_int64)op->cursor);
	sqlite3_bind_int64(st, 4, s->api->now_ms());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "moving a delivery cursor");
	sqlite_done(st);
	if (status != BC_OK || sqlite3_changes(c->db) == 1)
		return status;
	/* Nothing changed: tell "taken over" from "no such cursor". */
	sqlite3_bind_text(get, 1, op->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW)
		status = s->api->fail(op->err, BC_E_CONFLICT, "store.cursor_held",
		                      "delivery cursor %s is held by another host", op->id);
	else if (rc == SQLITE_DONE)
		status = s->api->fail(op->err, BC_E_NOT_FOUND, "store.cursor_not_found",
		                      "no delivery cursor %s", op->id);
	else
		status = sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
		                          "reading a delivery cursor");
	sqlite_done(get);
	return status;
}

static enum bc_status sqlite_op_run(struct sqlite_store *s, struct sqlite_conn *c,
                                    struct sqlite_op *op)
{
	switch (op->kind) {
	case SQLITE_OP_INSERT:
		return sqlite_op_insert(s, c, op);
	case SQLITE_OP_COMMIT:
		return sqlite_op_commit(s, c, op);
	case SQLITE_OP_ABORT:
		return sqlite_op_abort(s, c, op);
	case SQLITE_OP_STOP:
		return sqlite_op_stop(s, c, op);
	case SQLITE_OP_MEDIA:
		return sqlite_op_media(s, c, op);
	case SQLITE_OP_PRUNE:
		return sqlite_op_prune(s, c, op);
	case SQLITE_OP_CLAIM:
		return sqlite_op_claim(s, c, op);
	case SQLITE_OP_ADVANCE:
		return sqlite_op_advance(s, c, op);
	case SQLITE_OP_HEALTH:
		/* BEGIN IMMEDIATE got the write lock: normally that is the
		 * answer. But while writes fail, a full disk or an unwritable
		 * file still grants the lock, so write page 1 for real (the same
		 * bytes); COMMIT then says whether the file takes writes. */
		if (s->writer.fault_rc != 0) {
			int rc = sqlite_exec_st(c, SQLITE_ST_WRITE_PROBE);
			if (rc != SQLITE_DONE)
				return sqlite_conn_fail(s->api, op->err, c->db, rc, SQLITE_DB_NAME,
				                        "health check");
			s->writer.probed = 1;
		}
		break;
	}
	return BC_OK;
}

/* Fail every op of `from` onwards, and every op before it that had
 * succeeded, with SQLite's error `rc`: the transaction holding them is gone. */
static void sqlite_batch_fail(struct sqlite_store *s, struct sqlite_op *batch,
                              struct sqlite_op *from, int rc, const char *what)
{
	int after = 0;

	for (struct sqlite_op *op = batch; op != NULL; op = sqlite_op_next(op)) {
		if (op == from)
			after = 1;
		if (after || op->status == BC_OK)
			op->status = sqlite_conn_fail(s->api, op->err, s->writer.conn.db, rc,
			                              SQLITE_DB_NAME,
			                              what != NULL ? what : sqlite_op_names[op->kind]);
	}
}

/*
 * Run `batch` in one transaction on the writer connection. The leader only;
 * sets every op's status.
 *
 * Only commit, stop and media changes must be durable on return (store.h),
 * so a batch without them (aborts, health, event pruning) commits with
 * synchronous=NORMAL: in WAL
 * mode that appends to the WAL without fsync. Losing such a batch in a
 * crash is harmless: a lost abort leaves an invisible PENDING row. The
 * next FULL commit fsyncs the WAL file, which makes every frame
 * appended before it durable too, and SQLite syncs the WAL before any
 * checkpoint. SQLite refuses to change synchronous inside a transaction, so
 * it is switched between batches, only when it changes.
 *
 * Returns SQLITE_OK when the transaction committed, else the SQLite code
 * that failed the whole batch.
 */
static int sqlite_batch_run(struct sqlite_store *s, struct sqlite_op *batch)
{
	struct sqlite_writer *w = &s->writer;
	struct sqlite_conn *c = &w->conn;
	int durable = 0, rc;

	for (struct sqlite_op *op = batch; op != NULL; op = sqlite_op_next(op)) {
		op->status = BC_OK;
		if (op->kind != SQLITE_OP_ABORT && op->kind != SQLITE_OP_HEALTH &&
		    op->kind != SQLITE_OP_PRUNE)
			durable = 1;
	}
	if (w->sync_full && durable != w->sync_now_full) {
		/* sqlite3_exec, not a prepared statement: the pragma acts when
		 * compiled, so two prepared ones left every connection at the
		 * later one's setting (issue 24). */
		rc = sqlite3_exec(c->db, durable ? "PRAGMA synchronous = FULL"
		                                 : "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			w->sync_now_full = durable;
		} else if (durable) {
			/* Never commit a durable batch at NORMAL. */
			sqlite_batch_fail(s, batch, batch, rc, "setting synchronous");
			return rc;
		}
	}
	rc = sqlite_exec_st(c, SQLITE_ST_BEGIN_IMMEDIATE);
	if (rc != SQLITE_DONE) {
		sqlite_batch_fail(s, batch, batch, rc, NULL);
		return rc;
	}
	for (struct sqlite_op *op = batch; op != NULL; op = sqlite_op_next(op)) {
		/* Every op writes with one statement, after everything that can
		 * fail in it (see sqlite_op_stop), and SQLite undoes a failed
		 * statement by itself: so a failed op leaves nothing behind
		 * without a SAVEPOINT around it. (One per op cost a savepoint
		 * allocation and free each, which made glibc trim and refault
		 * its heap on every write: 20 % of the daemon's CPU in a profile.) */
		op->status = sqlite_op_run(s, c, op);
		/* IOERR, FULL, NOMEM and the like can roll back the whole
		 * transaction: then every op of the batch failed with it. An
		 * op whose event failed after its change (undo_rc) needs the
		 * same, by hand: its change must not commit without its event. */
		if (sqlite3_get_autocommit(c->db) || op->undo_rc != 0) {
			rc = sqlite3_get_autocommit(c->db) ? sqlite3_extended_errcode(c->db)
			                                   : op->undo_rc;
			op->status = BC_OK; /* re-described with the others */
			sqlite_batch_fail(s, batch, op, rc != SQLITE_OK ? rc : SQLITE_ERROR, NULL);
			if (!sqlite3_get_autocommit(c->db))
				sqlite_exec_st(c, SQLITE_ST_ROLLBACK);
			return rc != SQLITE_OK ? rc : SQLITE_ERROR;
		}
	}
	rc = sqlite_exec_st(c, SQLITE_ST_TX_COMMIT);
	if (rc != SQLITE_DONE) {
		/* Ops that failed on their own keep their answer (it did not
		 * depend on the commit); the rest were never durable. */
		sqlite_batch_fail(s, batch, NULL, rc, "committing");
		if (!sqlite3_get_autocommit(c->db))
			sqlite_exec_st(c, SQLITE_ST_ROLLBACK);
		return rc;
	}
	return SQLITE_OK;
}

/* ---- faults: telling the operator, cleaning up after ------------------------ */

/*
 * A fault (a full disk, an unwritable file, a lock held by another process)
 * fails every write while it lasts; the store recovers by itself when it
 * ends, since each batch starts a new transaction. The leader logs once
 * when writes start failing and once when they succeed again (not once per
 * request: the access log has those). A start whose commit failed leaves
 * nothing behind: its reservation is in memory, and the host's abort drops
 * it.
 */

/* After each batch, by its leader: `rc` is what sqlite_batch_run returned,
 * `wrote` whether the batch changed the file. */
static void sqlite_batch_after(struct sqlite_store *s, int rc, int wrote)
{
	struct sqlite_writer *w = &s->writer;

	if (rc != SQLITE_OK) {
		if (w->fault_rc == 0 || (w->fault_rc & 0xff) != (rc & 0xff))
			s->api->log(s->host, BC_LOG_ERROR, "writes to %s fail: %s: %s (SQLite code "
			            "%d); starts and stops answer 503 until that is fixed, then "
			            "recover by themselves",
			            s->path, sqlite_conn_code(rc), sqlite3_errstr(rc), rc);
		w->fault_rc = rc;
		w->fault_batches++;
		return;
	}
	/* An empty transaction proves nothing: a full disk commits it. */
	if (w->fault_rc != 0 && wrote) {
		s->api->log(s->host, BC_LOG_INFO, "writes to %s succeed again (%lu write "
		            "transactions failed meanwhile)", s->path, w->fault_batches);
		w->fault_rc = 0;
		w->fault_batches = 0;
	}
}

/* The group commit's leader (group_commit.h): run `batch` as one
 * transaction and count it. */
static void sqlite_batch_lead(void *arg, struct gc_op *batch_gc)
{
	struct sqlite_store *s = arg;
	struct sqlite_writer *w = &s->writer;
	struct sqlite_op *batch = (struct sqlite_op *)batch_gc;
	uint64_t n = 0;
	int changes = sqlite3_total_changes(w->conn.db), rc;

	w->probed = 0;
	rc = sqlite_batch_run(s, batch);
	sqlite_batch_after(s, rc, w->probed || sqlite3_total_changes(w->conn.db) != changes);
	for (struct sqlite_op *o = batch; o != NULL; o = sqlite_op_next(o))
		n++;
	s->api->counter_add(s->host, "sqlite_write_transactions_total", NULL, 1);
	s->api->counter_add(s->host, "sqlite_write_operations_total", NULL, n);
}

/* Queue `op` and return its status once the batch holding it committed.
 * Any thread. */
static enum bc_status sqlite_write(struct sqlite_store *s, struct sqlite_op *op)
{
	gc_submit(&s->writer.gc, &op->gc);
	return op->status;
}

/* ---- operations ----------------------------------------------------------- */

static enum bc_status sqlite_health(void *instance, struct bc_error *err);

/* In memory only (see sqlite_pending.h): the commit writes the row. */
static enum bc_status sqlite_reserve(void *instance, const struct bc_record *record,
                                     struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_conn *c;
	struct bc_record r;
	enum bc_status status;

	/* Zero-extend what an older host passed (ABI principle 2). */
	memset(&r, 0, sizeof r);
	if (record != NULL)
		memcpy(&r, record, record->struct_size < sizeof r ? record->struct_size : sizeof r);
	if (r.id == NULL || r.id[0] == '\0')
		return s->api->fail(err, BC_E_INVALID, "sqlite.bad_record",
		                    "reserve needs a record with an id");
	/* While writes fail, fail the start here, before the provider mints
	 * anything its commit could not keep (an STS call a start during a
	 * database outage): unless a real write, the health probe, succeeds. */
	if (atomic_load(&s->writer.fault_rc) != 0) {
		status = sqlite_health(s, err);
		if (status != BC_OK)
			return status;
	}
	/* The file holds no row with this id? (The INSERT at commit would
	 * find out too, but the contract says reserve answers the conflict.) */
	c = sqlite_pool_acquire(&s->pool);
	status = sqlite_get_row(s, c, r.id, NULL, err);
	sqlite_pool_release(&s->pool, c);
	if (status == BC_E_NOT_FOUND)
		status = sqlite_pending_add(&s->pending, &r);
	else if (status == BC_OK)
		status = BC_E_CONFLICT;
	if (status == BC_E_CONFLICT)
		return s->api->fail(err, BC_E_CONFLICT, "sqlite.duplicate_id",
		                    "a stream with id %s already exists", r.id);
	if (status == BC_E_NOMEM)
		return s->api->fail(err, BC_E_NOMEM, "sqlite.nomem", "out of memory");
	return status;
}

/* Copy what the host passed of `event` (zero-extended) into op. */
static void sqlite_op_event(struct sqlite_op *op, const struct bc_event *event)
{
	memset(&op->event, 0, sizeof op->event);
	if (event == NULL || event->struct_size == 0)
		return;
	memcpy(&op->event, event,
	       event->struct_size < sizeof op->event ? event->struct_size : sizeof op->event);
	op->has_event = 1;
}

static enum bc_status sqlite_commit_with(struct sqlite_store *s, const char *id,
                                         const char *meta, const struct bc_event *event,
                                         struct bc_error *err)
{
	struct sqlite_reserved *r = sqlite_pending_begin_commit(&s->pending, id);
	struct sqlite_op op;
	enum bc_status status;

	memset(&op, 0, sizeof op);
	/* Not reserved here: a PENDING row an older version left in the file. */
	op.kind = r != NULL ? SQLITE_OP_INSERT : SQLITE_OP_COMMIT;
	op.rec = r != NULL ? &r->rec : NULL;
	op.id = id;
	op.meta = meta;
	op.err = err;
	sqlite_op_event(&op, event);
	status = sqlite_write(s, &op);
	if (r != NULL)
		sqlite_pending_end_commit(&s->pending, r, status == BC_OK);
	return status;
}

static enum bc_status sqlite_commit(void *instance, const char *id, const char *meta,
                                    struct bc_error *err)
{
	return sqlite_commit_with(instance, id, meta, NULL, err);
}

/* commit() with its stream.started event: one transaction (ABI 1.1). */
static enum bc_status sqlite_commit_event(void *instance, const char *id, const char *meta,
                                          const struct bc_event *event, struct bc_error *err)
{
	struct sqlite_store *s = instance;

	if (event == NULL)
		return s->api->fail(err, BC_E_INVALID, "sqlite.bad_event",
		                    "commit_event needs an event");
	return sqlite_commit_with(s, id, meta, event, err);
}

static enum bc_status sqlite_abort(void *instance, const char *id, struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_op op;

	if (sqlite_pending_abort(&s->pending, id))
		return BC_OK;
	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_ABORT;
	op.id = id;
	op.err = err;
	return sqlite_write(s, &op);
}

static enum bc_status sqlite_get(void *instance, const char *id, struct bc_record_sink *out,
                                 struct bc_error *err)
{
	struct sqlite_store *s = instance;
	const struct bc_record *reserved;
	struct sqlite_conn *c;
	enum bc_status status = BC_E_NOT_FOUND;

	sqlite_pending_lock(&s->pending);
	reserved = sqlite_pending_lookup(&s->pending, id);
	if (reserved != NULL)
		status = sqlite_record_put(s, reserved, out, err);
	sqlite_pending_unlock(&s->pending);
	if (reserved != NULL)
		return status;
	c = sqlite_pool_acquire(&s->pool);
	status = sqlite_get_row(s, c, id, out, err);
	sqlite_pool_release(&s->pool, c);
	if (status == BC_E_NOT_FOUND)
		return s->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no stream with id %s",
		                    id);
	return status;
}

/* Run a stop or media op and put its record into `out` on this thread
 * (host.h: a sink is the call's), also for a losing stop (BC_E_CONFLICT).
 * Should the host refuse the copy, the call fails, though its change may
 * be committed (a host out of memory; a retried stop answers 409). */
static enum bc_status sqlite_write_put(struct sqlite_store *s, struct sqlite_op *op,
                                       struct bc_record_sink *out, struct bc_error *err)
{
	enum bc_status status = sqlite_write(s, op);

	if (op->row.have && (status == BC_OK || status == BC_E_CONFLICT)) {
		enum bc_status put = sqlite_record_put(s, &op->row.rec, out, err);
		if (put != BC_OK)
			status = put;
	}
	free(op->row.buf);
	op->row.buf = NULL;
	op->row.have = 0;
	return status;
}

static enum bc_status sqlite_stop(void *instance, const char *id, int64_t stop_ms,
                                  struct bc_record_sink *out, struct bc_error *err)
{
	struct sqlite_op op;

	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_STOP;
	op.id = id;
	op.stop_ms = stop_ms;
	op.reason = "";
	op.err = err;
	return sqlite_write_put(instance, &op, out, err);
}

/* stop() with its reason and stream.stopped event, written only by the
 * stop that wins (ABI 1.1). */
static enum bc_status sqlite_stop_event(void *instance, const char *id, int64_t stop_ms,
                                        const char *reason, const struct bc_event *event,
                                        struct bc_record_sink *out, struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_op op;

	if (event == NULL)
		return s->api->fail(err, BC_E_INVALID, "sqlite.bad_event",
		                    "stop_event needs an event");
	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_STOP;
	op.id = id;
	op.stop_ms = stop_ms;
	op.reason = reason != NULL ? reason : "";
	op.err = err;
	sqlite_op_event(&op, event);
	return sqlite_write_put(s, &op, out, err);
}

/* The media state of a LIVE record, with its event (ABI 1.1). */
static enum bc_status sqlite_media(void *instance, const char *id, enum bc_media_state media,
                                   int64_t at_ms, const struct bc_event *event,
                                   struct bc_record_sink *out, struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_op op;

	if (media != BC_MEDIA_IDLE && media != BC_MEDIA_PUBLISHING)
		return s->api->fail(err, BC_E_INVALID, "store.bad_media",
		                    "media state %d is neither idle nor publishing", (int)media);
	if (event == NULL)
		return s->api->fail(err, BC_E_INVALID, "sqlite.bad_event", "media needs an event");
	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_MEDIA;
	op.id = id;
	op.media = media;
	op.at_ms = at_ms;
	op.err = err;
	sqlite_op_event(&op, event);
	return sqlite_write_put(s, &op, out, err);
}

/* The feed in cursor order, on a reader: WAL gives it one snapshot, and
 * since the file has one writer at a time, a cursor is visible only after
 * every smaller one (ABI 1.1). */
static enum bc_status sqlite_events(void *instance, const struct bc_event_query *query,
                                    struct bc_event_sink *out, struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct bc_event_query q;
	struct sqlite_conn *c;
	sqlite3_stmt *st;
	enum bc_status status = BC_OK;
	int rc;

	memset(&q, 0, sizeof q);
	if (query != NULL)
		memcpy(&q, query, query->struct_size < sizeof q ? query->struct_size : sizeof q);
	if (q.limit < 1 || q.limit > 1000)
		return s->api->fail(err, BC_E_INVALID, "store.bad_limit",
		                    "events limit %u is outside 1..1000", q.limit);
	if (!BC_HAS_MEMBER(s->api, struct bc_host_api, event_put) || s->api->event_put == NULL)
		return s->api->fail(err, BC_E_UNSUPPORTED, "sqlite.old_host",
		                    "the host has no event_put");
	c = sqlite_pool_acquire(&s->pool);
	st = c->st[q.owner != NULL ? SQLITE_ST_EVENTS_OWNER : SQLITE_ST_EVENTS];
	sqlite3_bind_int64(st, 1, q.after > (uint64_t)INT64_MAX ? INT64_MAX
	                                                        : (sqlite3_int64)q.after);
	if (q.owner != NULL)
		sqlite3_bind_text(st, 2, q.owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)q.limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bc_event ev;

		memset(&ev, 0, sizeof ev);
		ev.struct_size = sizeof ev;
		ev.cursor = (uint64_t)sqlite3_column_int64(st, 0);
		ev.stream_id = sqlite_text(st, 1);
		ev.seq = (uint64_t)sqlite3_column_int64(st, 2);
		ev.type = sqlite_text(st, 3);
		ev.time_ms = sqlite3_column_int64(st, 4);
		ev.owner = sqlite_text(st, 5);
		ev.data = sqlite_text(st, 6);
		status = s->api->event_put(out, &ev);
		if (status != BC_OK) {
			status = s->api->fail(err, status, status == BC_E_NOMEM ? "sqlite.nomem"
			                                                         : "sqlite.bad_event",
			                      "the host refused event %llu",
			                      (unsigned long long)ev.cursor);
			break;
		}
	}
	if (status == BC_OK && rc != SQLITE_DONE)
		status = sqlite_conn_fail(s->api, err, c->db, rc, SQLITE_DB_NAME, "reading events");
	sqlite_done(st);
	sqlite_pool_release(&s->pool, c);
	return status;
}

/* On the writer, in its queue like every write; not fsync'ed on its own
 * (a prune lost in a crash is done again by the next one). */
static enum bc_status sqlite_events_prune(void *instance, int64_t before_ms, uint64_t keep,
                                          uint64_t *deleted, struct bc_error *err)
{
	struct sqlite_op op;
	enum bc_status status;

	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_PRUNE;
	op.before_ms = before_ms;
	op.keep = keep;
	op.err = err;
	status = sqlite_write(instance, &op);
	if (deleted != NULL)
		*deleted = status == BC_OK ? op.deleted : 0;
	return status;
}

/* The delivery cursors: writes on the writer like every other (durable,
 * so an acknowledged event is not delivered again after a crash). */
static enum bc_status sqlite_cursor_claim(void *instance, const char *name, const char *holder,
                                          uint64_t initial_cursor, int64_t now_ms,
                                          int64_t lease_ms, uint64_t *cursor,
                                          struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_op op;
	enum bc_status status;

	if (name == NULL || holder == NULL || cursor == NULL || lease_ms < 0)
		return s->api->fail(err, BC_E_INVALID, "store.bad_cursor",
		                    "cursor_claim needs a name, a holder and a lease >= 0");
	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_CLAIM;
	op.id = name;
	op.holder = holder;
	op.cursor = initial_cursor;
	op.now_ms = now_ms;
	op.lease_ms = lease_ms;
	op.err = err;
	status = sqlite_write(s, &op);
	if (status == BC_OK)
		*cursor = op.cursor;
	return status;
}

static enum bc_status sqlite_cursor_advance(void *instance, const char *name,
                                            const char *holder, uint64_t cursor,
                                            struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_op op;

	if (name == NULL || holder == NULL)
		return s->api->fail(err, BC_E_INVALID, "store.bad_cursor",
		                    "cursor_advance needs a name and a holder");
	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_ADVANCE;
	op.id = name;
	op.holder = holder;
	op.cursor = cursor;
	op.err = err;
	return sqlite_write(s, &op);
}

static enum bc_status sqlite_list(void *instance, const struct bc_list_query *query,
                                  struct bc_record_sink *out, struct bc_error *err)
{
	struct sqlite_store *s = instance;
	struct sqlite_conn *c;
	struct bc_list_query q;
	sqlite3_stmt *st;
	enum bc_status status = BC_OK;
	const struct bc_record **mem = NULL;
	size_t n_mem = 0, i_mem = 0;
	int rc, which, locked = 0;

	memset(&q, 0, sizeof q);
	if (query != NULL)
		memcpy(&q, query, query->struct_size < sizeof q ? query->struct_size : sizeof q);
	if (q.limit < 1 || q.limit > 1000)
		return s->api->fail(err, BC_E_INVALID, "store.bad_limit",
		                    "list limit %u is outside 1..1000", q.limit);
	if ((int)q.state < 0 || q.state > BC_STATE_STOPPED)
		return s->api->fail(err, BC_E_INVALID, "store.bad_state",
		                    "list state %d is not a stream state", (int)q.state);
	if ((int)q.media < 0 || q.media > BC_MEDIA_PUBLISHING)
		return s->api->fail(err, BC_E_INVALID, "store.bad_media",
		                    "list media %d is not a media state", (int)q.media);
	which = q.owner != NULL ? (q.after_id != NULL ? SQLITE_ST_LIST_OWNER_AFTER
	                                               : SQLITE_ST_LIST_OWNER)
	                        : (q.after_id != NULL ? SQLITE_ST_LIST_AFTER : SQLITE_ST_LIST);
	/* Only LIVE records (a media state is theirs only): the partial index
	 * of schema 5, instead of every stored record. */
	if (q.owner == NULL && (q.state == BC_STATE_LIVE || (q.state == 0 && q.media != 0)))
		which = q.after_id != NULL ? SQLITE_ST_LIST_LIVE_AFTER : SQLITE_ST_LIST_LIVE;
	c = sqlite_pool_acquire(&s->pool);
	st = c->st[which];
	if (q.owner != NULL)
		sqlite3_bind_text(st, 1, q.owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, q.state != 0 ? (int)q.state : BC_STATE_LIVE);
	sqlite3_bind_int(st, 3, q.state != 0 ? (int)q.state : BC_STATE_STOPPED);
	if (q.after_id != NULL) {
		sqlite3_bind_int64(st, 4, q.after_start_ms);
		sqlite3_bind_text(st, 5, q.after_id, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 6, (int)q.limit);
	sqlite3_bind_int(st, 7, (int)q.media);
	/* PENDING records are reservations in memory (and rows an older
	 * version left): merge the two, both newest first, under the table's
	 * lock so none is committed halfway through. Only asked for by hand. */
	if (q.state == BC_STATE_PENDING && q.media == 0) {
		sqlite_pending_lock(&s->pending);
		locked = 1;
		if (sqlite_pending_collect(&s->pending, q.owner, q.after_start_ms, q.after_id, &mem,
		                           &n_mem) != 0)
			status = s->api->fail(err, BC_E_NOMEM, "sqlite.nomem", "out of memory");
	}
	rc = status == BC_OK ? sqlite3_step(st) : SQLITE_DONE;
	for (unsigned put = 0; status == BC_OK && put < q.limit; put++) {
		if (rc == SQLITE_ROW &&
		    (i_mem == n_mem ||
		     sqlite_pending_order(sqlite3_column_int64(st, 6), sqlite_text(st, 0),
		                          mem[i_mem]->start_ms, mem[i_mem]->id) > 0)) {
			status = sqlite_row_put(s, st, out, err);
			rc = sqlite3_step(st);
		} else if (i_mem < n_mem) {
			status = sqlite_record_put(s, mem[i_mem++], out, err);
		} else {
			break;
		}
	}
	if (status == BC_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		status = sqlite_conn_fail(s->api, err, c->db, rc, SQLITE_DB_NAME, "list");
	if (locked)
		sqlite_pending_unlock(&s->pending);
	free(mem);
	sqlite_done(st);
	sqlite_pool_release(&s->pool, c);
	return status;
}

/* "Can take writes now": take the write lock (waiting up to busy_timeout
 * for another process's writer) in the writer's queue; while writes are
 * failing, also write for real (see sqlite_op_run), so a full disk or an
 * unwritable file keeps /healthz at 503 until it takes writes again. */
static enum bc_status sqlite_health(void *instance, struct bc_error *err)
{
	struct sqlite_op op;

	memset(&op, 0, sizeof op);
	op.kind = SQLITE_OP_HEALTH;
	op.err = err;
	return sqlite_write(instance, &op);
}

/* ---- lifecycle ------------------------------------------------------------ */

/* ABI 1.1 check(), and the first step of create(): `path` names a file
 * (not ":memory:", which would be one database per connection, and lost)
 * in an existing folder (we never create folders: a typo in `path` should
 * fail loudly, not scatter databases) that the daemon may create files in
 * (SQLite keeps PATH-wal and PATH-shm beside the database), and an existing
 * file is readable and writable. access() answers for the daemon's user
 * and a read-only mount without writing anything. */
static enum bc_status sqlite_check(const struct bc_host_api *api, const struct bc_config *cfg,
                                   struct bc_error *err)
{
	const char *path = api->cfg_str(cfg, "path");
	const char *slash;
	char dir[4096];
	struct stat sb;

	if (path == NULL || path[0] == '\0' || strcmp(path, ":memory:") == 0)
		return api->fail(err, BC_E_INVALID, "sqlite.bad_path",
		                 "`path` must name a database file");
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - path) >= sizeof dir)
		return api->fail(err, BC_E_INVALID, "sqlite.bad_path", "path %s is too long", path);
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return api->fail(err, BC_E_INVALID, "sqlite.no_directory",
		                 "the folder %s of path %s does not exist: create it for the "
		                 "daemon's user (mkdir -p %s) or set `path` to a file in an "
		                 "existing folder",
		                 dir, path, dir);
	if (access(dir, W_OK | X_OK) != 0)
		return api->fail(err, BC_E_UNAVAILABLE, "sqlite.io",
		                 "cannot create files in the folder %s of path %s: %s; SQLite "
		                 "keeps PATH-wal and PATH-shm beside the database, so the "
		                 "daemon's user needs write access to the folder",
		                 dir, path, strerror(errno));
	if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) != 0)
		return api->fail(err, BC_E_UNAVAILABLE, "sqlite.io",
		                 "cannot open %s for reading and writing: %s; check its owner "
		                 "and permissions",
		                 path, strerror(errno));
	return BC_OK;
}

/* The file is created 0600: stream records name owners and upstream ids,
 * nobody else's business. SQLite gives its -wal and -shm files the
 * database file's mode. */
static enum bc_status sqlite_prepare_file(struct sqlite_store *s, struct bc_error *err)
{
	struct stat sb;
	int fd;

	fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return s->api->fail(err, BC_E_UNAVAILABLE, "sqlite.io",
		                    "cannot open or create %s: %s; check the folder's owner and "
		                    "permissions",
		                    s->path, strerror(errno));
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
		s->api->log(s->host, BC_LOG_WARN,
		            "%s is readable by other users (mode %03o): chmod 600 it", s->path,
		            (unsigned)(sb.st_mode & 0777));
	close(fd);
	return BC_OK;
}

/* WAL: readers never block the writer and a commit is one append and fsync.
 * It is a property of the file, so one connection sets it for all. */
static enum bc_status sqlite_set_wal(struct sqlite_store *s, sqlite3 *db, struct bc_error *err)
{
	sqlite3_stmt *st = NULL;
	enum bc_status status = BC_OK;
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *mode = sqlite_text(st, 0);
		if (strcmp(mode, "wal") != 0)
			status = s->api->fail(err, BC_E_UNAVAILABLE, "sqlite.no_wal",
			                      "%s cannot use WAL mode (it stays in %s mode); put "
			                      "it on a local file system",
			                      s->path, mode);
	} else {
		status = sqlite_conn_fail(s->api, err, db, rc, s->path, "enabling WAL");
	}
	sqlite3_finalize(st);
	return status;
}

/* Open the writer connection on `cc` (the schema must be current). */
static enum bc_status sqlite_writer_open(struct sqlite_store *s,
                                         const struct sqlite_conn_config *cc,
                                         struct bc_error *err)
{
	struct sqlite_writer *w = &s->writer;
	enum bc_status status;

	w->sync_full = cc->synchronous_full;
	w->sync_now_full = cc->synchronous_full;
	status = sqlite_conn_open(&w->conn, cc, s->api, err);
	if (status != BC_OK)
		return status;
	status = sqlite_conn_prepare(&w->conn, cc->path, s->api, err);
	if (status != BC_OK)
		goto fail;
	if (gc_init(&w->gc, 0, sqlite_batch_lead, s) != 0) {
		status = s->api->fail(err, BC_E_INTERNAL, "sqlite.error", "pthread_mutex_init failed");
		goto fail;
	}
	w->ready = 1;
	return BC_OK;
fail:
	sqlite_conn_close(&w->conn);
	return status;
}

/* Accepts a writer that was never opened. */
static void sqlite_writer_close(struct sqlite_writer *w)
{
	if (!w->ready)
		return;
	sqlite_conn_close(&w->conn);
	gc_destroy(&w->gc);
	w->ready = 0;
}

static void sqlite_destroy(void *instance)
{
	struct sqlite_store *s = instance;

	if (s == NULL)
		return;
	sqlite_pool_destroy(&s->pool);
	sqlite_writer_close(&s->writer);
	sqlite_pending_destroy(&s->pending);
	free(s);
}

/* Once a process, before SQLite initializes: no memory statistics. With them
 * on (Debian's default) every sqlite3_malloc() and free of every connection
 * takes one process-wide mutex, which the writer and the readers of the pool
 * then queue on (futex waits in a profile of the start path); the store
 * never reads those statistics. Too late when something in the process has
 * used SQLite already: then the call fails harmlessly. */
static pthread_once_t sqlite_tune_once = PTHREAD_ONCE_INIT;

static void sqlite_tune_library(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static enum bc_status sqlite_create(const struct bc_host_api *api, struct bc_host *host,
                                    const struct bc_config *cfg, void **instance,
                                    struct bc_error *err)
{
	struct sqlite_store *s = NULL;
	struct sqlite_conn setup;
	struct sqlite_conn_config cc;
	const char *sync = api->cfg_str(cfg, "synchronous");
	int64_t connections = api->cfg_int(cfg, "pool_size");
	enum bc_status status;
	int from = 0;

	pthread_once(&sqlite_tune_once, sqlite_tune_library);
	memset(&setup, 0, sizeof setup);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return api->fail(err, BC_E_NOMEM, "sqlite.nomem", "out of memory");
	s->api = api;
	s->host = host;
	if (sqlite_pending_init(&s->pending) != 0) {
		free(s);
		return api->fail(err, BC_E_INTERNAL, "sqlite.error", "pthread_mutex_init failed");
	}
	/* The host ran check() already; again here, so that a direct create()
	 * answers the same. */
	status = sqlite_check(api, cfg, err);
	if (status != BC_OK)
		goto fail;
	s->path = api->cfg_str(cfg, "path");
	memset(&cc, 0, sizeof cc);
	cc.path = s->path;
	cc.busy_timeout_ms = api->cfg_int(cfg, "busy_timeout");
	cc.synchronous_full = sync == NULL || strcmp(sync, "normal") != 0;
	if (connections < 1)
		connections = 1;

	status = sqlite_prepare_file(s, err);
	if (status != BC_OK)
		goto fail;
	status = sqlite_conn_open(&setup, &cc, api, err);
	if (status != BC_OK)
		goto fail;
	status = sqlite_set_wal(s, setup.db, err);
	if (status == BC_OK)
		status = sqlite_schema_migrate(setup.db, s->path, &from, api, err);
	sqlite_conn_close(&setup);
	if (status != BC_OK)
		goto fail;
	if (from == 0)
		api->log(host, BC_LOG_INFO, "%s: created the schema (version %d)", s->path,
		         SQLITE_SCHEMA_VERSION);
	else if (from != SQLITE_SCHEMA_VERSION)
		api->log(host, BC_LOG_INFO, "%s: schema migrated from version %d to %d", s->path,
		         from, SQLITE_SCHEMA_VERSION);
	status = sqlite_writer_open(s, &cc, err);
	if (status != BC_OK)
		goto fail;
	status = sqlite_pool_create(&s->pool, (size_t)connections, &cc, api, err);
	if (status != BC_OK) {
		sqlite_writer_close(&s->writer);
		goto fail;
	}
	api->log(host, BC_LOG_INFO, "opened %s (schema version %d, WAL, synchronous=%s, "
	         "pool_size=%lld readers + 1 writer)", s->path, SQLITE_SCHEMA_VERSION,
	         cc.synchronous_full ? "full" : "normal", (long long)connections);
	*instance = s;
	return BC_OK;
fail:
	sqlite_pending_destroy(&s->pending);
	free(s);
	return status;
}

/* ---- options, descriptor, entry ------------------------------------------------ */

static const char *const sqlite_sync_values[] = { "full", "normal", NULL };

static const struct bc_option sqlite_options[] = {
	BC_OPTION(.name = "path", .type = BC_OPT_STRING, .default_value = BC_STATE_DIR "/streams.db",
	          .description = "The database file, created (mode 0600) when missing; its "
	                         "folder must exist. SQLite keeps PATH-wal and PATH-shm beside "
	                         "it, so use a local file system."),
	BC_OPTION(.name = "busy_timeout", .type = BC_OPT_DURATION, .default_value = "5s",
	          .min = 0, .max = 600000,
	          .description = "How long a write waits for another writer (another thread "
	                         "or process on the same file) before failing with 503 "
	                         "sqlite.busy."),
	BC_OPTION(.name = "synchronous", .type = BC_OPT_ENUM, .default_value = "full",
	          .enum_values = sqlite_sync_values,
	          .description = "full: every start and stop is on disk before it is "
	                         "acknowledged. normal: faster, but a power loss may forget "
	                         "the last acknowledged ones (never corrupts the file)."),
	BC_OPTION(.name = "pool_size", .type = BC_OPT_INT, .default_value = "4", .min = 1,
	          .max = 64,
	          .description = "Read connections kept open: reads (get, list) run in "
	                         "parallel on them. Writes run on one more connection, "
	                         "concurrent ones batched into one transaction."),
	BC_OPTION_END
};

static const struct bc_store_ops sqlite_ops = {
	.struct_size = sizeof(struct bc_store_ops),
	.create = sqlite_create,
	.reserve = sqlite_reserve,
	.commit = sqlite_commit,
	.abort = sqlite_abort,
	.get = sqlite_get,
	.stop = sqlite_stop,
	.list = sqlite_list,
	.health = sqlite_health,
	.destroy = sqlite_destroy,
	.commit_event = sqlite_commit_event,
	.stop_event = sqlite_stop_event,
	.media = sqlite_media,
	.events = sqlite_events,
	.events_prune = sqlite_events_prune,
	.check = sqlite_check,
	.cursor_claim = sqlite_cursor_claim,
	.cursor_advance = sqlite_cursor_advance,
};

static const struct bc_plugin sqlite_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_STORE, .name = "sqlite", .version = PACKAGE_VERSION,
	.description = "stream records in one SQLite file (WAL), the embedded default",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = sqlite_options, .ops = &sqlite_ops);

static const struct bc_plugin *const sqlite_plugins[] = { &sqlite_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? sqlite_plugins : NULL;
}
