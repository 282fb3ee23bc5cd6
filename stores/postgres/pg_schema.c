/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg_schema.c: the postgres store's versioned schema, its migrations and the
 * SQL of its prepared statements (layout and rules in pg_schema.h).
 *
 * To change the schema: append a step to `migrations` (never edit a shipped
 * one: nodes already ran it), bump PG_SCHEMA_VERSION, and adapt the
 * statements. Every step runs in the same transaction as the version row it
 * writes, so a node that dies mid-migration leaves nothing half done.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_schema.h"

#define COLUMNS                                                                  \
	"id, name, type, provider, owner, state, start_ms, stop_ms, meta, media, "    \
	"publish_ms, media_ms, stop_reason, event_seq"
#define EVENT_COLUMNS "cursor, stream_id, seq, type, time_ms, owner, data"

/* The tail of every statement that writes an event: given a CTE `s` holding
 * the changed row (id, owner and its new event_seq; no row when nothing
 * changed), take the next cursor from the one-row counter and insert the
 * event. The counter UPDATE joins `s`, so a call that changed nothing
 * neither writes to the counter nor writes an event. These statements run
 * in batches (pg_batch.h) whose first statement locks the counter, so
 * every event writer takes the counter before any stream row (no
 * deadlock), and holds it until its batch commits. Under READ COMMITTED a
 * writer that waited
 * for the lock re-reads the committed counter (EvalPlanQual), so cursors
 * are handed out and committed in the same order. The arguments name the
 * statement's PG_EVENT_PARAMS parameters (type, time_ms, owner, data). */
#define EVENT_TAIL(t, tm, o, d)                                                           \
	", c AS (UPDATE %1$s.event_counter SET last_cursor = last_cursor + 1 FROM s "       \
	"RETURNING last_cursor), "                                                          \
	"e AS (INSERT INTO %1$s.events (cursor, stream_id, seq, type, time_ms, owner, data) " \
	"SELECT c.last_cursor, s.id, s.event_seq, " t ", " tm "::bigint, "                 \
	"coalesce(nullif(" o ", ''), s.owner), " d " FROM s, c RETURNING cursor) "

/* The WHERE of a write to one stream in one state. "state + 0" is not
 * indexable on purpose, so the primary key is the only index a plan can
 * use. With "state = N", a generic plan made while the table was empty
 * (the statements are prepared when a connection opens) took
 * streams_by_state (state, start_ms, id) for both conditions and kept it
 * for the connection's life: as the table grew, every write walked all the
 * dead index entries of its state's range, and on a new database the
 * store's throughput halved every few seconds until autovacuum analysed
 * the table (docs/performance.md). */
#define BY_ID_IN_STATE(n) "id = $1 AND state + 0 = " n

/* One migration: the SQL statements (with %1$s for the quoted schema) that
 * take the schema from version-1 to version. */
struct migration {
	int version;
	const char *description;
	const char *const *steps;
};

static const char *const v1_steps[] = {
	"CREATE TABLE %1$s.streams ("
	" id text COLLATE \"C\" NOT NULL PRIMARY KEY,"
	" name text NOT NULL,"
	" type text NOT NULL,"
	" provider text NOT NULL,"
	" owner text NOT NULL,"
	" state smallint NOT NULL CHECK (state IN (1, 2, 3)),"
	" start_ms bigint NOT NULL,"
	" stop_ms bigint NOT NULL DEFAULT 0,"
	" meta text NOT NULL DEFAULT '{}',"
	" updated_at timestamptz NOT NULL DEFAULT now())",
	"CREATE INDEX streams_recent ON %1$s.streams (start_ms DESC, id DESC)",
	"CREATE INDEX streams_by_state ON %1$s.streams (state, start_ms DESC, id DESC)",
	"CREATE INDEX streams_by_owner ON %1$s.streams (owner, state, start_ms DESC, id DESC)",
	NULL
};

/* ABI 1.1: media state and the event outbox. Adding NOT NULL columns with
 * constant defaults does not rewrite the table (PostgreSQL 11+); the CHECK
 * reads it once. LIVE rows become IDLE with media_ms = the migration's time,
 * so a stream that was publishing before the upgrade gets a whole
 * idle_timeout for its provider to say so, rather than being stopped at
 * once for an idle time nobody measured; STOPPED rows keep media 0 and
 * stop_reason "" (not known). No row has an event yet (event_seq 0). */
static const char *const v2_steps[] = {
	"ALTER TABLE %1$s.streams"
	" ADD COLUMN media smallint NOT NULL DEFAULT 0 CHECK (media IN (0, 1, 2)),"
	" ADD COLUMN publish_ms bigint NOT NULL DEFAULT 0,"
	" ADD COLUMN media_ms bigint NOT NULL DEFAULT 0,"
	" ADD COLUMN stop_reason text NOT NULL DEFAULT '',"
	" ADD COLUMN event_seq bigint NOT NULL DEFAULT 0",
	"UPDATE %1$s.streams SET media = 1,"
	" media_ms = (extract(epoch FROM now()) * 1000)::bigint WHERE state = 2",
	"CREATE TABLE %1$s.events ("
	" cursor bigint NOT NULL PRIMARY KEY,"
	" stream_id text COLLATE \"C\" NOT NULL,"
	" seq bigint NOT NULL,"
	" type text NOT NULL,"
	" time_ms bigint NOT NULL,"
	" owner text NOT NULL,"
	" data text NOT NULL,"
	" UNIQUE (stream_id, seq))",
	"CREATE INDEX events_by_owner ON %1$s.events (owner, cursor)",
	"CREATE INDEX events_by_time ON %1$s.events (time_ms)",
	"CREATE TABLE %1$s.event_counter ("
	" one boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (one),"
	" last_cursor bigint NOT NULL)",
	"INSERT INTO %1$s.event_counter (one, last_cursor) VALUES (true, 0)",
	NULL
};

/* ABI 1.1: the webhooks' delivery cursors (cursor_claim, cursor_advance;
 * docs/webhooks.md). lease_until_ms is in the nodes' clocks (the host's
 * now_ms), like every other time the host passes. */
static const char *const v3_steps[] = {
	"CREATE TABLE %1$s.delivery_cursors ("
	" name text COLLATE \"C\" NOT NULL PRIMARY KEY,"
	" cursor bigint NOT NULL,"
	" holder text NOT NULL,"
	" lease_until_ms bigint NOT NULL,"
	" updated_at timestamptz NOT NULL DEFAULT now())",
	NULL
};
static const struct migration migrations[] = {
	{ 1, "streams table with keyset, state and owner indexes", v1_steps },
	{ 2, "media state, stop reason and the event outbox (ABI 1.1)", v2_steps },
	{ 3, "delivery cursors of the webhooks (ABI 1.1)", v3_steps },
};

static const char *const stmt_names[PG_STMT_COUNT] = {
	[PG_STMT_RESERVE] = "bc_reserve",
	[PG_STMT_COMMIT] = "bc_commit",
	[PG_STMT_COMMIT_EVENT] = "bc_commit_event",
	[PG_STMT_ABORT] = "bc_abort",
	[PG_STMT_GET] = "bc_get",
	[PG_STMT_STOP] = "bc_stop",
	[PG_STMT_STOP_EVENT] = "bc_stop_event",
	[PG_STMT_MEDIA] = "bc_media",
	[PG_STMT_LIST] = "bc_list",
	[PG_STMT_LIST_OWNER] = "bc_list_owner",
	[PG_STMT_LIST_AFTER] = "bc_list_after",
	[PG_STMT_LIST_OWNER_AFTER] = "bc_list_owner_after",
	[PG_STMT_EVENTS] = "bc_events",
	[PG_STMT_EVENTS_OWNER] = "bc_events_owner",
	[PG_STMT_EVENTS_PRUNE] = "bc_events_prune",
	[PG_STMT_WRITABLE] = "bc_writable",
	[PG_STMT_REAP] = "bc_reap",
	[PG_STMT_CURSOR_CLAIM] = "bc_cursor_claim",
	[PG_STMT_CURSOR_ADVANCE] = "bc_cursor_advance",
	[PG_STMT_LOCK_COUNTER] = "bc_lock_counter",
	[PG_STMT_NO_FLUSH] = "bc_no_flush",
};

/* Statement templates; %1$s is the quoted schema. States are numbers
 * (enum bc_stream_state), which the CHECK above pins. */
static const char *const stmt_sql[PG_STMT_COUNT] = {
	[PG_STMT_RESERVE] =
		"INSERT INTO %1$s.streams (id, name, type, provider, owner, state, start_ms, "
		"stop_ms, meta) VALUES ($1, $2, $3, $4, $5, 1, $6::bigint, 0, $7) "
		"ON CONFLICT (id) DO NOTHING",
	/* commit() of a 1.0 host: the media state starts too, without an event. */
	[PG_STMT_COMMIT] =
		"UPDATE %1$s.streams SET state = 2, meta = $2, media = 1, media_ms = start_ms, "
		"updated_at = now() WHERE " BY_ID_IN_STATE("1"),
	[PG_STMT_COMMIT_EVENT] =
		"WITH s AS (UPDATE %1$s.streams SET state = 2, meta = $2, media = 1, "
		"media_ms = start_ms, publish_ms = 0, event_seq = 1, updated_at = now() "
		"WHERE " BY_ID_IN_STATE("1") " RETURNING id, owner, event_seq)"
		EVENT_TAIL("$3", "$4", "$5", "$6") "SELECT id FROM s",
	[PG_STMT_ABORT] = "DELETE FROM %1$s.streams WHERE " BY_ID_IN_STATE("1"),
	[PG_STMT_GET] = "SELECT " COLUMNS " FROM %1$s.streams WHERE id = $1",
	/* The conditional stop: one statement, so of racing stops the row lock
	 * lets exactly one see state = 2; the others re-check the committed row
	 * (READ COMMITTED re-evaluates WHERE) and update nothing. */
	[PG_STMT_STOP] =
		"UPDATE %1$s.streams SET state = 3, stop_ms = $2::bigint, updated_at = now() "
		"WHERE " BY_ID_IN_STATE("2") " RETURNING " COLUMNS,
	/* The same, with its event: losers change nothing, so they write none. */
	[PG_STMT_STOP_EVENT] =
		"WITH s AS (UPDATE %1$s.streams SET state = 3, stop_ms = $2::bigint, "
		"stop_reason = $3, event_seq = event_seq + 1, updated_at = now() "
		"WHERE " BY_ID_IN_STATE("2") " RETURNING " COLUMNS ")"
		EVENT_TAIL("$4", "$5", "$6", "$7") "SELECT " COLUMNS " FROM s",
	[PG_STMT_MEDIA] =
		"WITH s AS (UPDATE %1$s.streams SET media = $2::smallint, media_ms = $3::bigint, "
		"publish_ms = CASE WHEN $2::smallint = 2 THEN $3::bigint ELSE publish_ms END, "
		"event_seq = event_seq + 1, updated_at = now() "
		"WHERE " BY_ID_IN_STATE("2") " AND media <> $2::smallint RETURNING " COLUMNS ")"
		EVENT_TAIL("$4", "$5", "$6", "$7") "SELECT " COLUMNS " FROM s",
	[PG_STMT_LIST] =
		"SELECT " COLUMNS " FROM %1$s.streams WHERE state = ANY ($1::smallint[]) "
		"AND ($3::smallint = 0 OR media = $3::smallint) "
		"ORDER BY start_ms DESC, id DESC LIMIT $2::integer",
	[PG_STMT_LIST_OWNER] =
		"SELECT " COLUMNS " FROM %1$s.streams WHERE state = ANY ($1::smallint[]) "
		"AND ($3::smallint = 0 OR media = $3::smallint) "
		"AND owner = $4 ORDER BY start_ms DESC, id DESC LIMIT $2::integer",
	[PG_STMT_LIST_AFTER] =
		"SELECT " COLUMNS " FROM %1$s.streams WHERE state = ANY ($1::smallint[]) "
		"AND ($3::smallint = 0 OR media = $3::smallint) "
		"AND (start_ms, id) < ($4::bigint, $5::text) "
		"ORDER BY start_ms DESC, id DESC LIMIT $2::integer",
	[PG_STMT_LIST_OWNER_AFTER] =
		"SELECT " COLUMNS " FROM %1$s.streams WHERE state = ANY ($1::smallint[]) "
		"AND ($3::smallint = 0 OR media = $3::smallint) "
		"AND owner = $4 AND (start_ms, id) < ($5::bigint, $6::text) "
		"ORDER BY start_ms DESC, id DESC LIMIT $2::integer",
	[PG_STMT_EVENTS] =
		"SELECT " EVENT_COLUMNS " FROM %1$s.events WHERE cursor > $1::bigint "
		"ORDER BY cursor LIMIT $2::integer",
	[PG_STMT_EVENTS_OWNER] =
		"SELECT " EVENT_COLUMNS " FROM %1$s.events WHERE cursor > $1::bigint "
		"AND owner = $3 ORDER BY cursor LIMIT $2::integer",
	/* By age, and beyond the newest $2. The counter is left alone, so a
	 * pruned cursor is never handed out again. */
	[PG_STMT_EVENTS_PRUNE] =
		"WITH d AS (DELETE FROM %1$s.events WHERE time_ms < $1::bigint "
		"OR ($2::bigint > 0 AND cursor <= (SELECT cursor FROM %1$s.events "
		"ORDER BY cursor DESC OFFSET $2::bigint LIMIT 1)) RETURNING 1) "
		"SELECT count(*) FROM d",
	[PG_STMT_WRITABLE] = "SELECT NOT pg_is_in_recovery()",
	/* The database's clock, not the nodes': they may disagree. */
	[PG_STMT_REAP] = "DELETE FROM %1$s.streams WHERE state = 1 "
	                 "AND updated_at < now() - interval '" PG_REAP_AFTER "'",
	/* One statement, so the compare-and-set of the lease is atomic: the
	 * INSERT's conflict path locks the row and re-checks its WHERE on the
	 * committed version; a claim that loses returns no row. The head is
	 * the counter's committed value: every cursor up to it is committed
	 * (EVENT_TAIL hands cursors out in commit order). */
	[PG_STMT_CURSOR_CLAIM] =
		"INSERT INTO %1$s.delivery_cursors AS d (name, cursor, holder, lease_until_ms) "
		"SELECT $1, CASE WHEN $3::boolean THEN (SELECT last_cursor FROM "
		"%1$s.event_counter) ELSE $4::bigint END, $2, $5::bigint + $6::bigint "
		"ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
		"lease_until_ms = excluded.lease_until_ms, updated_at = now() "
		"WHERE d.holder = excluded.holder OR d.lease_until_ms <= $5::bigint "
		"RETURNING d.cursor",
	[PG_STMT_CURSOR_ADVANCE] =
		"WITH u AS (UPDATE %1$s.delivery_cursors SET cursor = greatest(cursor, $3::bigint), "
		"updated_at = now() WHERE name = $1 AND holder = $2 RETURNING 1) "
		"SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM %1$s.delivery_cursors "
		"WHERE name = $1)",
	/* The first statement of a batch that writes events (pg_batch.h). */
	[PG_STMT_LOCK_COUNTER] = "SELECT last_cursor FROM %1$s.event_counter FOR UPDATE",
	/* Until the end of this transaction only. */
	[PG_STMT_NO_FLUSH] = "SELECT set_config('synchronous_commit', 'off', true)",
};

static const int stmt_nparams[PG_STMT_COUNT] = {
	[PG_STMT_RESERVE] = 7, [PG_STMT_COMMIT] = 2,
	[PG_STMT_COMMIT_EVENT] = 2 + PG_EVENT_PARAMS, [PG_STMT_ABORT] = 1, [PG_STMT_GET] = 1,
	[PG_STMT_STOP] = 2, [PG_STMT_STOP_EVENT] = 3 + PG_EVENT_PARAMS,
	[PG_STMT_MEDIA] = 3 + PG_EVENT_PARAMS, [PG_STMT_LIST] = 3, [PG_STMT_LIST_OWNER] = 4,
	[PG_STMT_LIST_AFTER] = 5, [PG_STMT_LIST_OWNER_AFTER] = 6, [PG_STMT_EVENTS] = 2,
	[PG_STMT_EVENTS_OWNER] = 3, [PG_STMT_EVENTS_PRUNE] = 2, [PG_STMT_WRITABLE] = 0,
	[PG_STMT_REAP] = 0, [PG_STMT_CURSOR_CLAIM] = 6, [PG_STMT_CURSOR_ADVANCE] = 3,
	[PG_STMT_LOCK_COUNTER] = 0, [PG_STMT_NO_FLUSH] = 0,
};

int pg_schema_name_ok(const char *schema)
{
	size_t n = schema ? strlen(schema) : 0;
	if (n == 0 || n > 63 || (schema[0] >= '0' && schema[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = schema[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	/* pg_* names are reserved for the system. */
	return strncmp(schema, "pg_", 3) != 0;
}

/* A template with %1$s replaced by the quoted schema, in new memory. */
static char *expand(const char *tmpl, const char *schema)
{
	char quoted[80];
	char *out;
	int n;
	snprintf(quoted, sizeof quoted, "\"%s\"", schema);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	/* Templates without %1$s ("BEGIN") are fine: C ignores unused arguments. */
	/* cppcheck-suppress wrongPrintfScanfArgNum */
	n = snprintf(NULL, 0, tmpl, quoted);
	if (n < 0)
		return NULL;
	out = malloc((size_t)n + 1);
	if (out != NULL)
		snprintf(out, (size_t)n + 1, tmpl, quoted);
#pragma GCC diagnostic pop
	return out;
}

const char *pg_stmt_name(enum pg_stmt stmt)
{
	return stmt_names[stmt];
}

enum bc_status pg_statements_init(struct pg_statements *out, const char *schema,
                                  const struct bc_host_api *api, struct bc_error *err)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < PG_STMT_COUNT; i++) {
		out->sql[i] = expand(stmt_sql[i], schema);
		if (out->sql[i] == NULL) {
			pg_statements_free(out);
			return api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
		}
	}
	return BC_OK;
}

void pg_statements_free(struct pg_statements *stmts)
{
	for (int i = 0; i < PG_STMT_COUNT; i++) {
		free(stmts->sql[i]);
		stmts->sql[i] = NULL;
	}
}

enum bc_status pg_schema_prepare(struct pg_pool *pool, struct pg_slot *slot, void *arg,
                                 struct bc_error *err)
{
	const struct pg_statements *stmts = arg;
	PGresult *res = NULL;
	enum bc_status st;
	for (int i = 0; i < PG_STMT_COUNT; i++) {
		st = pg_pool_prepare(pool, slot, stmt_names[i], stmts->sql[i], stmt_nparams[i],
		                     err);
		if (st != BC_OK)
			return st;
	}
	st = pg_pool_exec(pool, slot, 1, stmt_names[PG_STMT_REAP], 0, NULL, &res, err);
	PQclear(res);
	return st;
}

/* ---- migrations ------------------------------------------------------------- */

/* Run one SQL text (a template) on slot; *res gets the result when wanted. */
static enum bc_status run(struct pg_pool *pool, struct pg_slot *slot, const struct bc_host_api *api,
                          const char *schema, const char *tmpl, int nparams,
                          const char *const *params, PGresult **res, struct bc_error *err)
{
	PGresult *r = NULL;
	enum bc_status st;
	char *sql = expand(tmpl, schema);
	if (sql == NULL)
		return api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
	st = pg_pool_exec(pool, slot, 0, sql, nparams, params, &r, err);
	free(sql);
	if (res != NULL)
		*res = r;
	else
		PQclear(r);
	return st;
}

/* The advisory lock key of a schema: a fixed tag in the high half (so we
 * do not collide with other applications' small keys) and a FNV-1a hash
 * of the name in the low half. */
static long long lock_key(const char *schema)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)schema; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return (long long)(((uint64_t)0x62726463u << 32) | h); /* "brdc" */
}

enum bc_status pg_schema_migrate(struct pg_pool *pool, const struct bc_host_api *api,
                                 const char *schema, int *version, struct bc_error *err)
{
	struct pg_slot *slot = NULL;
	PGresult *res = NULL;
	enum bc_status st;
	char key[32];
	const char *params[1];
	int found = 0;
	const size_t n_migrations = sizeof migrations / sizeof migrations[0];

	*version = 0;
	st = pg_pool_acquire(pool, &slot, err);
	if (st != BC_OK)
		return st;
	st = run(pool, slot, api, schema, "BEGIN", 0, NULL, NULL, err);
	if (st != BC_OK)
		goto out;
	/* Serialise nodes migrating the same schema; released at COMMIT. */
	snprintf(key, sizeof key, "%lld", lock_key(schema));
	params[0] = key;
	st = run(pool, slot, api, schema, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params,
	         NULL, err);
	if (st != BC_OK)
		goto out;
	/* Look before CREATE SCHEMA: a role allowed to use an existing schema
	 * need not be allowed to create one. */
	params[0] = schema;
	st = run(pool, slot, api, schema, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, params,
	         &res, err);
	if (st != BC_OK)
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = NULL;
		st = run(pool, slot, api, schema, "CREATE SCHEMA %1$s", 0, NULL, NULL, err);
		if (st != BC_OK)
			goto out;
	}
	PQclear(res);
	res = NULL;
	st = run(pool, slot, api, schema,
	         "CREATE TABLE IF NOT EXISTS %1$s.schema_version ("
	         " version integer PRIMARY KEY,"
	         " description text NOT NULL,"
	         " applied_at timestamptz NOT NULL DEFAULT now())",
	         0, NULL, NULL, err);
	if (st != BC_OK)
		goto out;
	st = run(pool, slot, api, schema, "SELECT coalesce(max(version), 0) FROM %1$s.schema_version",
	         0, NULL, &res, err);
	if (st != BC_OK)
		goto out;
	found = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	res = NULL;
	*version = found;
	if (found > PG_SCHEMA_VERSION) {
		st = api->fail(err, BC_E_INVALID, "postgres.schema_too_new",
		               "schema \"%s\" is at version %d but this broadcastd knows only up to "
		               "%d: upgrade broadcastd on this node, or use another schema",
		               schema, found, PG_SCHEMA_VERSION);
		goto out;
	}
	for (size_t i = 0; i < n_migrations; i++) {
		const struct migration *m = &migrations[i];
		char v[16];
		const char *vp[2];
		if (m->version <= found)
			continue;
		for (const char *const *step = m->steps; *step != NULL; step++) {
			st = run(pool, slot, api, schema, *step, 0, NULL, NULL, err);
			if (st != BC_OK)
				goto out;
		}
		snprintf(v, sizeof v, "%d", m->version);
		vp[0] = v;
		vp[1] = m->description;
		st = run(pool, slot, api, schema,
		         "INSERT INTO %1$s.schema_version (version, description) VALUES "
		         "($1::integer, $2)", 2, vp, NULL, err);
		if (st != BC_OK)
			goto out;
	}
	st = run(pool, slot, api, schema, "COMMIT", 0, NULL, NULL, err);
out:
	PQclear(res);
	if (st != BC_OK && !pg_slot_lost(slot) &&
	    PQtransactionStatus(pg_slot_conn(slot)) != PQTRANS_IDLE) {
		struct bc_error *none = NULL;
		run(pool, slot, api, schema, "ROLLBACK", 0, NULL, NULL, none);
	}
	pg_pool_release(pool, slot);
	return st;
}
