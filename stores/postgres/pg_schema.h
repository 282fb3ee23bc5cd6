/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg_schema.h: the postgres store's tables and SQL: the versioned schema
 * with its migrations, and the prepared statements postgres.c runs.
 *
 * Layout (in the configured schema, "broadcast" by default):
 *   schema_version(version, description, applied_at): one row per applied
 *       migration; the highest is the schema's version.
 *   streams(id, name, type, provider, owner, state, start_ms, stop_ms, meta,
 *       updated_at, media, publish_ms, media_ms, stop_reason, event_seq): one
 *       row per stream record (store.h's struct bc_record), keyed by id,
 *       indexed for the keyset list (start_ms DESC, id DESC), by
 *       (state, ...) and by (owner, state, ...). id uses the "C" collation so
 *       the database orders ids byte by byte, as store.h's list asks.
 *   events(cursor, stream_id, seq, type, time_ms, owner, data): the outbox
 *       of ABI 1.1 (store.h's struct bc_event), keyed by cursor, unique on
 *       (stream_id, seq), indexed by (owner, cursor) and by time_ms (prune).
 *   event_counter(one, last_cursor): one row, the last cursor handed out.
 *       Every statement that writes an event increments it in the event's
 *       own transaction and takes cursor = the new value: its row lock makes
 *       event writers of all nodes commit one batch (pg_batch.h) at a time,
 *       in cursor order, so
 *       a reader that has seen cursor C never later finds a new event <= C
 *       (a sequence would not: a smaller value may commit after a larger).
 *       A rolled-back writer rolls the counter back too; a pruned cursor is
 *       never handed out again.
 *
 * Several broadcastd nodes may start at once against one database: each
 * migrates inside one transaction holding a transaction-scoped advisory
 * lock derived from the schema name, so exactly one applies each step and
 * the others see the result. A database migrated by a newer broadcastd
 * (a higher version than we know) is refused rather than guessed at.
 */
#ifndef BC_PG_SCHEMA_H
#define BC_PG_SCHEMA_H

#include "pg_pool.h"

/* The schema version this code writes and reads. */
#define PG_SCHEMA_VERSION 3

/* A PENDING row older than this was abandoned: its node lost the database
 * between reserve and commit/abort (or died). Provider starts take seconds;
 * this is far beyond any of them. An SQL interval. */
#define PG_REAP_AFTER "15 minutes"

/* The store's prepared statements. */
enum pg_stmt {
	PG_STMT_RESERVE,         /* $1 id $2 name $3 type $4 provider $5 owner $6 start_ms $7 meta
	                            -> 0 rows changed: the id exists */
	PG_STMT_COMMIT,          /* $1 id $2 meta */
	PG_STMT_COMMIT_EVENT,    /* $1 id $2 meta + EVENT_PARAMS at $3 -> cursor */
	PG_STMT_ABORT,           /* $1 id */
	PG_STMT_GET,             /* $1 id -> COLUMNS */
	PG_STMT_STOP,            /* $1 id $2 stop_ms -> COLUMNS of the stopped row */
	PG_STMT_STOP_EVENT,      /* $1 id $2 stop_ms $3 reason + EVENT_PARAMS at $4
	                            -> COLUMNS of the stopped row */
	PG_STMT_MEDIA,           /* $1 id $2 media $3 at_ms + EVENT_PARAMS at $4
	                            -> COLUMNS of the changed row */
	PG_STMT_LIST,            /* $1 states (smallint[]) $2 limit $3 media (0: any) */
	PG_STMT_LIST_OWNER,      /*  ... $4 owner */
	PG_STMT_LIST_AFTER,      /*  ... $4 after_start_ms $5 after_id */
	PG_STMT_LIST_OWNER_AFTER,/*  ... $4 owner $5 after_start_ms $6 after_id */
	PG_STMT_EVENTS,          /* $1 after $2 limit -> EVENT_COLUMNS */
	PG_STMT_EVENTS_OWNER,    /*  ... $3 owner */
	PG_STMT_EVENTS_PRUNE,    /* $1 before_ms $2 keep (0: no bound) -> count */
	PG_STMT_WRITABLE,        /* -> one row: 't' when the server takes writes */
	PG_STMT_REAP,            /* delete PENDING rows abandoned PG_REAP_AFTER ago */
	PG_STMT_CURSOR_CLAIM,    /* $1 name $2 holder $3 at head (bool) $4 initial $5 now_ms
	                            $6 lease_ms -> cursor, or no row: held by another */
	PG_STMT_CURSOR_ADVANCE,  /* $1 name $2 holder $3 cursor -> (moved, exists) */
	PG_STMT_LOCK_COUNTER,    /* lock the event counter's row (a batch's first) */
	PG_STMT_NO_FLUSH,        /* this transaction commits without a WAL flush */
	PG_STMT_COUNT
};

/* The event a writing statement takes, as its last four parameters (from
 * the number its comment names): type, time_ms, owner ("": the record's),
 * data. */
#define PG_EVENT_PARAMS 4

/* Result columns of GET, STOP, STOP_EVENT, MEDIA and the LISTs, in this order. */
enum pg_col {
	PG_COL_ID, PG_COL_NAME, PG_COL_TYPE, PG_COL_PROVIDER, PG_COL_OWNER, PG_COL_STATE,
	PG_COL_START_MS, PG_COL_STOP_MS, PG_COL_META,
	PG_COL_MEDIA, PG_COL_PUBLISH_MS, PG_COL_MEDIA_MS, PG_COL_STOP_REASON, PG_COL_EVENT_SEQ
};

/* Result columns of the EVENTS statements. */
enum pg_ecol {
	PG_ECOL_CURSOR, PG_ECOL_STREAM_ID, PG_ECOL_SEQ, PG_ECOL_TYPE, PG_ECOL_TIME_MS,
	PG_ECOL_OWNER, PG_ECOL_DATA
};

/* The statements' SQL for one schema. */
struct pg_statements {
	char *sql[PG_STMT_COUNT];
};

/* 1 when `schema` is a name we accept: [a-z_][a-z0-9_]{0,62} (no quoting
 * surprises, no case folding, within PostgreSQL's 63-byte limit). */
int pg_schema_name_ok(const char *schema);

/* Fill `out` for `schema` (already checked). Returns BC_OK or BC_E_NOMEM. */
enum bc_status pg_statements_init(struct pg_statements *out, const char *schema,
                                  const struct bc_host_api *api, struct bc_error *err);
/* Free what pg_statements_init() made; safe on a zeroed struct. */
void pg_statements_free(struct pg_statements *stmts);
/* The prepared name of a statement ("bc_reserve", ...). */
const char *pg_stmt_name(enum pg_stmt stmt);

/* A pg_setup_fn: PREPARE every statement of `arg` (a struct pg_statements)
 * on a new connection, then delete abandoned PENDING rows (PG_STMT_REAP):
 * new connections are made at startup and after an outage, exactly when a
 * start may have been cut between reserve and abort. */
enum bc_status pg_schema_prepare(struct pg_pool *pool, struct pg_slot *slot, void *arg,
                                 struct bc_error *err);

/* Create `schema` and its tables or migrate them to PG_SCHEMA_VERSION, under
 * the advisory lock. *version gets the version found before (0: new).
 * Returns BC_OK; BC_E_INVALID "postgres.schema_too_new" when the database
 * holds a newer version; pool statuses otherwise. Main thread (create()). */
enum bc_status pg_schema_migrate(struct pg_pool *pool, const struct bc_host_api *api,
                                 const char *schema, int *version, struct bc_error *err);

#endif /* BC_PG_SCHEMA_H */
