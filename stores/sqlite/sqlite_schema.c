/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_schema.c: the sqlite store's schema as an ordered list of
 * migrations, and the code that applies them (sqlite_schema.h).
 *
 * Migration i takes a database from user_version i to i + 1. They are
 * applied under BEGIN IMMEDIATE, so two daemons opening one new file at once
 * cannot both create the table, and a migration that fails leaves the file
 * as it was. Never edit a released migration: append a new one.
 */
#include "config.h"

#include <stdio.h>

#include "sqlite_conn.h"
#include "sqlite_schema.h"

/*
 * Version 1. One row a stream; `state` is enum bc_stream_state (1 PENDING,
 * 2 LIVE, 3 STOPPED), times are ms since the epoch, stop_ms is 0 until the
 * stream stops, meta is the host's JSON text kept verbatim. The indexes
 * serve list()'s keyset order (start_ms DESC, id DESC), with and without an
 * owner, and finding PENDING leftovers by state.
 */
static const char *const sqlite_migrations[] = {
	"CREATE TABLE streams ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL DEFAULT '',"
	" type TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" owner TEXT NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
	" start_ms INTEGER NOT NULL,"
	" stop_ms INTEGER NOT NULL DEFAULT 0,"
	" meta TEXT NOT NULL DEFAULT '{}',"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"CREATE INDEX streams_by_start ON streams (start_ms DESC, id DESC);"
	"CREATE INDEX streams_by_owner ON streams (owner, start_ms DESC, id DESC);"
	"CREATE INDEX streams_by_state ON streams (state);",
	/*
	 * Version 2. streams_by_state indexed a 3-valued column and was
	 * rewritten by every commit and stop; its only use is finding PENDING
	 * leftovers (oldest first), so a partial index on PENDING rows serves
	 * that, and a row leaves it at commit and is never in it again: stop()
	 * and the stored LIVE and STOPPED rows cost it nothing.
	 */
	"DROP INDEX streams_by_state;"
	"CREATE INDEX streams_pending ON streams (created_ms) WHERE state = 1;",
	/*
	 * Version 3 (ABI 1.1). Each record's media state (1 idle, 2
	 * publishing), when publishing last began and when the state last
	 * changed, why it stopped, and the seq of its last event; and the
	 * event outbox, written in the same transaction as the change. Rows
	 * of version 2 become idle since their start (their real media state
	 * was never kept) with no events. `cursor` is AUTOINCREMENT so a
	 * pruned cursor is never handed out again (a plain rowid reuses the
	 * largest one once it is deleted). events_by_time serves pruning by
	 * age, events_by_owner a caller's own feed.
	 */
	"ALTER TABLE streams ADD COLUMN media INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE streams ADD COLUMN publish_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE streams ADD COLUMN media_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE streams ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE streams ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE streams SET media_ms = start_ms;"
	"CREATE TABLE events ("
	" cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
	" stream_id TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" owner TEXT NOT NULL,"
	" data TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX events_by_time ON events (time_ms);"
	"CREATE INDEX events_by_owner ON events (owner, cursor);",
	/*
	 * Version 4 (ABI 1.1). The delivery cursors of the webhooks
	 * (cursor_claim, cursor_advance; docs/webhooks.md): per name, the
	 * cursor of the last event acknowledged or given up, and who delivers
	 * for it until when.
	 */
	"CREATE TABLE delivery_cursors ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" cursor INTEGER NOT NULL,"
	" holder TEXT NOT NULL,"
	" lease_until_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);",
	/*
	 * Version 5. The LIVE records, newest first: the host re-reads them
	 * every 5 s (framework/media.c) and `GET /streams?state=live` asks
	 * for them, and without this index that list walked streams_by_start
	 * over every stored record, stopped ones included (7.3 ms at 31 000
	 * records, docs/performance.md). Partial, as streams_pending: a row
	 * enters at its commit and leaves at its stop, so the index holds the
	 * live streams only, and a batch of writes touches its one or two
	 * pages once.
	 */
	"CREATE INDEX streams_live_by_start ON streams (start_ms DESC, id DESC) WHERE state = 2;",
};

_Static_assert(sizeof sqlite_migrations / sizeof sqlite_migrations[0] == SQLITE_SCHEMA_VERSION,
               "SQLITE_SCHEMA_VERSION must equal the number of migrations");

static int sqlite_schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

enum bc_status sqlite_schema_migrate(sqlite3 *db, const char *path, int *from,
                                     const struct bc_host_api *api, struct bc_error *err)
{
	char sql[64];
	int version = 0, rc, began = 0;
	enum bc_status st = BC_OK;

	/* The common case, a current file, needs no write lock. */
	rc = sqlite_schema_version(db, &version);
	if (rc != SQLITE_OK)
		return sqlite_conn_fail(api, err, db, rc, path, "reading the schema version");
	*from = version;
	if (version == SQLITE_SCHEMA_VERSION)
		return BC_OK;
	if (version < SQLITE_SCHEMA_VERSION) {
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return sqlite_conn_fail(api, err, db, rc, path, "locking for a migration");
		began = 1;
		/* Another process may have migrated while we waited for the lock. */
		rc = sqlite_schema_version(db, &version);
		if (rc != SQLITE_OK) {
			st = sqlite_conn_fail(api, err, db, rc, path, "reading the schema version");
			goto out;
		}
	}
	if (version > SQLITE_SCHEMA_VERSION) {
		st = api->fail(err, BC_E_UNSUPPORTED, "sqlite.schema_too_new",
		               "%s has schema version %d, but this broadcast knows versions up "
		               "to %d: a newer broadcast wrote it. Run that newer version, or "
		               "point `path` at another file",
		               path, version, SQLITE_SCHEMA_VERSION);
		goto out;
	}
	for (int v = version; v < SQLITE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, sqlite_migrations[v], NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		}
		if (rc != SQLITE_OK) {
			st = sqlite_conn_fail(api, err, db, rc, path, "migrating the schema");
			goto out;
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		st = sqlite_conn_fail(api, err, db, rc, path, "committing the migration");
	else
		began = 0;
out:
	/* Keep err as set: the rollback's own failure would only hide the cause. */
	if (began)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}
