/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_conn.c: opening SQLite connections with the store's settings,
 * preparing the store's statements once per connection, the pool that lends
 * connections to calling threads, and the one mapping of SQLite result codes
 * to bc_status (sqlite_conn.h). What the statements mean is sqlite.c's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sqlite_conn.h"
#include "sqlite_schema.h"

#define SQLITE_STR(x) #x
#define SQLITE_XSTR(x) SQLITE_STR(x)

/* Indexed by enum sqlite_stmt_id. Parameters are numbered so one binding
 * routine fits every list variant (SQLite accepts bindings to numbers a
 * statement does not use, up to its largest ?N: every list variant ends
 * with ?7, the media filter, 0 for none). */
static const char *const sqlite_sql[SQLITE_ST_COUNT] = {
	[SQLITE_ST_INSERT_LIVE] =
		"INSERT INTO streams (id, name, type, provider, owner, state, start_ms, stop_ms,"
		" meta, created_ms, updated_ms, media, media_ms, event_seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, 2, ?6, 0, ?7, ?8, ?8, 1, ?6, ?9)",
	[SQLITE_ST_COMMIT] =
		"UPDATE streams SET state = 2, meta = ?2, updated_ms = ?3, media = 1,"
		" media_ms = start_ms, event_seq = ?4"
		" WHERE id = ?1 AND state = 1",
	[SQLITE_ST_ABORT] = "DELETE FROM streams WHERE id = ?1 AND state = 1",
	[SQLITE_ST_GET] = "SELECT " SQLITE_RECORD_COLUMNS " FROM streams WHERE id = ?1",
	/* The condition on state is what makes exactly one of several
	 * concurrent stops win: the write lock serialises the UPDATEs and
	 * only the first still sees state = 2. */
	[SQLITE_ST_STOP] =
		"UPDATE streams SET state = 3, stop_ms = ?2, updated_ms = ?3, stop_reason = ?4,"
		" event_seq = ?5 WHERE id = ?1 AND state = 2",
	[SQLITE_ST_LIST] =
		"SELECT " SQLITE_RECORD_COLUMNS " FROM streams"
		" WHERE state IN (?2, ?3) AND (?7 = 0 OR (state = 2 AND media = ?7))"
		" ORDER BY start_ms DESC, id DESC LIMIT ?6",
	[SQLITE_ST_LIST_OWNER] =
		"SELECT " SQLITE_RECORD_COLUMNS " FROM streams"
		" WHERE owner = ?1 AND state IN (?2, ?3) AND (?7 = 0 OR (state = 2 AND media = ?7))"
		" ORDER BY start_ms DESC, id DESC LIMIT ?6",
	[SQLITE_ST_LIST_AFTER] =
		"SELECT " SQLITE_RECORD_COLUMNS " FROM streams"
		" WHERE (start_ms, id) < (?4, ?5) AND state IN (?2, ?3)"
		" AND (?7 = 0 OR (state = 2 AND media = ?7))"
		" ORDER BY start_ms DESC, id DESC LIMIT ?6",
	[SQLITE_ST_LIST_OWNER_AFTER] =
		"SELECT " SQLITE_RECORD_COLUMNS " FROM streams"
		" WHERE owner = ?1 AND (start_ms, id) < (?4, ?5) AND state IN (?2, ?3)"
		" AND (?7 = 0 OR (state = 2 AND media = ?7))"
		" ORDER BY start_ms DESC, id DESC LIMIT ?6",
	/* "state = 2" as a constant, so SQLite may use the partial index. */
	[SQLITE_ST_LIST_LIVE] =
		"SELECT " SQLITE_RECORD_COLUMNS " FROM streams"
		" WHERE state = 2 AND (?7 = 0 OR media = ?7)"
		" ORDER BY start_ms DESC, id DESC LIMIT ?6",
	[SQLITE_ST_LIST_LIVE_AFTER] =
		"SELECT " SQLITE_RECORD_COLUMNS " FROM streams"
		" WHERE state = 2 AND (start_ms, id) < (?4, ?5) AND (?7 = 0 OR media = ?7)"
		" ORDER BY start_ms DESC, id DESC LIMIT ?6",
	[SQLITE_ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[SQLITE_ST_ROLLBACK] = "ROLLBACK",
	[SQLITE_ST_TX_COMMIT] = "COMMIT",
	/* Rewrites page 1 with what it holds: a real write, to find out
	 * whether a failing disk or file takes writes again. */
	[SQLITE_ST_WRITE_PROBE] = "PRAGMA user_version = " SQLITE_XSTR(SQLITE_SCHEMA_VERSION),
	/* Conditional like the stop: only a LIVE row in another state. */
	[SQLITE_ST_MEDIA] =
		"UPDATE streams SET media = ?2, media_ms = ?3,"
		" publish_ms = CASE WHEN ?2 = 2 THEN ?3 ELSE publish_ms END,"
		" event_seq = ?5, updated_ms = ?4"
		" WHERE id = ?1 AND state = 2 AND media <> ?2",
	/* cursor is left to AUTOINCREMENT: the file has one writer at a time,
	 * so cursors are handed out in commit order. */
	[SQLITE_ST_EVENT_INSERT] =
		"INSERT INTO events (stream_id, seq, type, time_ms, owner, data)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQLITE_ST_EVENTS] =
		"SELECT " SQLITE_EVENT_COLUMNS " FROM events WHERE cursor > ?1"
		" ORDER BY cursor LIMIT ?3",
	[SQLITE_ST_EVENTS_OWNER] =
		"SELECT " SQLITE_EVENT_COLUMNS " FROM events WHERE owner = ?2 AND cursor > ?1"
		" ORDER BY cursor LIMIT ?3",
	/* ?1: written before (time_ms); ?2: keep the newest ?2, 0 for no
	 * count bound. The subquery finds the newest cursor beyond them. */
	[SQLITE_ST_EVENTS_PRUNE] =
		"DELETE FROM events WHERE time_ms < ?1 OR (?2 > 0 AND cursor <= coalesce("
		"(SELECT cursor FROM events ORDER BY cursor DESC LIMIT 1 OFFSET ?2), 0))",
	[SQLITE_ST_CURSOR_GET] =
		"SELECT cursor, holder, lease_until_ms FROM delivery_cursors WHERE name = ?1",
	/* AUTOINCREMENT's counter: also right after every event was pruned. */
	[SQLITE_ST_CURSOR_HEAD] =
		"SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)",
	[SQLITE_ST_CURSOR_INSERT] =
		"INSERT INTO delivery_cursors (name, cursor, holder, lease_until_ms, updated_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQLITE_ST_CURSOR_LEASE] =
		"UPDATE delivery_cursors SET holder = ?2, lease_until_ms = ?3, updated_ms = ?4"
		" WHERE name = ?1",
	[SQLITE_ST_CURSOR_MOVE] =
		"UPDATE delivery_cursors SET cursor = max(cursor, ?3), updated_ms = ?4"
		" WHERE name = ?1 AND holder = ?2",
};

const char *sqlite_conn_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "sqlite.busy";
	case SQLITE_FULL:
		return "sqlite.full";
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_PROTOCOL:
		return "sqlite.io";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "sqlite.corrupt";
	case SQLITE_NOMEM:
		return "sqlite.nomem";
	default:
		return "sqlite.error";
	}
}

enum bc_status sqlite_conn_fail(const struct bc_host_api *api, struct bc_error *err,
                                sqlite3 *db, int rc, const char *path, const char *what)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	const char *code = sqlite_conn_code(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return api->fail(err, BC_E_UNAVAILABLE, code,
		                 "%s: %s is locked by another writer for longer than "
		                 "busy_timeout (%s); retry, or find the process holding it",
		                 what, path, msg);
	case SQLITE_FULL:
		return api->fail(err, BC_E_UNAVAILABLE, code,
		                 "%s: the disk holding %s is full (%s); free some space",
		                 what, path, msg);
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_PROTOCOL:
		return api->fail(err, BC_E_UNAVAILABLE, code,
		                 "%s: cannot read or write %s (%s); check the file, its "
		                 "folder's permissions and the disk",
		                 what, path, msg);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return api->fail(err, BC_E_UNAVAILABLE, code,
		                 "%s: %s is not a usable SQLite database (%s); restore it from a "
		                 "backup or point `path` at another file",
		                 what, path, msg);
	case SQLITE_NOMEM:
		return api->fail(err, BC_E_NOMEM, code, "%s: out of memory", what);
	default:
		return api->fail(err, BC_E_INTERNAL, code, "%s on %s: %s (%d)", what, path, msg,
		                 rc);
	}
}

enum bc_status sqlite_conn_open(struct sqlite_conn *c, const struct sqlite_conn_config *cfg,
                                const struct bc_host_api *api, struct bc_error *err)
{
	/* NOMUTEX: the pool never lends one connection to two threads. */
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	const char *sync = cfg->synchronous_full ? "PRAGMA synchronous = FULL"
	                                         : "PRAGMA synchronous = NORMAL";
	enum bc_status st;
	int rc;

	memset(c, 0, sizeof *c);
	rc = sqlite3_open_v2(cfg->path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		st = sqlite_conn_fail(api, err, c->db, rc, cfg->path, "opening");
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	rc = sqlite3_busy_timeout(c->db, cfg->busy_timeout_ms > INT32_MAX
	                                         ? INT32_MAX
	                                         : (int)cfg->busy_timeout_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, sync, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		st = sqlite_conn_fail(api, err, c->db, rc, cfg->path, "configuring");
		goto fail;
	}
	return BC_OK;
fail:
	sqlite_conn_close(c);
	return st;
}

enum bc_status sqlite_conn_prepare(struct sqlite_conn *c, const char *path,
                                   const struct bc_host_api *api, struct bc_error *err)
{
	for (size_t i = 0; i < SQLITE_ST_COUNT; i++) {
		/* PERSISTENT: these live as long as the connection. */
		int rc;

		rc = sqlite3_prepare_v3(c->db, sqlite_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &c->st[i], NULL);
		if (rc != SQLITE_OK) {
			enum bc_status st =
				sqlite_conn_fail(api, err, c->db, rc, path, "preparing statements");
			for (size_t j = 0; j < SQLITE_ST_COUNT; j++) {
				sqlite3_finalize(c->st[j]);
				c->st[j] = NULL;
			}
			return st;
		}
	}
	return BC_OK;
}

void sqlite_conn_close(struct sqlite_conn *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < SQLITE_ST_COUNT; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	/* All statements are finalized, so close_v2 closes at once. */
	sqlite3_close_v2(c->db);
	c->db = NULL;
}

/* ---- the pool ------------------------------------------------------------ */

enum bc_status sqlite_pool_create(struct sqlite_pool *p, size_t n,
                                  const struct sqlite_conn_config *cfg,
                                  const struct bc_host_api *api, struct bc_error *err)
{
	enum bc_status st = BC_OK;

	memset(p, 0, sizeof *p);
	p->conns = calloc(n, sizeof *p->conns);
	p->idle = calloc(n, sizeof *p->idle);
	if (p->conns == NULL || p->idle == NULL) {
		st = api->fail(err, BC_E_NOMEM, "sqlite.nomem", "out of memory");
		goto fail;
	}
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		st = api->fail(err, BC_E_INTERNAL, "sqlite.error", "pthread_mutex_init failed");
		goto fail;
	}
	if (pthread_cond_init(&p->cond, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		st = api->fail(err, BC_E_INTERNAL, "sqlite.error", "pthread_cond_init failed");
		goto fail;
	}
	for (; p->n < n; p->n++) {
		struct sqlite_conn *c = &p->conns[p->n];
		st = sqlite_conn_open(c, cfg, api, err);
		if (st == BC_OK) {
			st = sqlite_conn_prepare(c, cfg->path, api, err);
			if (st != BC_OK)
				sqlite_conn_close(c);
		}
		if (st != BC_OK) {
			sqlite_pool_destroy(p);
			return st;
		}
		p->idle[p->n_idle++] = p->n;
	}
	return BC_OK;
fail:
	free(p->conns);
	free(p->idle);
	memset(p, 0, sizeof *p);
	return st;
}

void sqlite_pool_destroy(struct sqlite_pool *p)
{
	if (p == NULL || p->conns == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		sqlite_conn_close(&p->conns[i]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->conns);
	free(p->idle);
	memset(p, 0, sizeof *p);
}

struct sqlite_conn *sqlite_pool_acquire(struct sqlite_pool *p)
{
	struct sqlite_conn *c;

	pthread_mutex_lock(&p->lock);
	while (p->n_idle == 0)
		pthread_cond_wait(&p->cond, &p->lock);
	c = &p->conns[p->idle[--p->n_idle]];
	pthread_mutex_unlock(&p->lock);
	return c;
}

void sqlite_pool_release(struct sqlite_pool *p, struct sqlite_conn *c)
{
	pthread_mutex_lock(&p->lock);
	p->idle[p->n_idle++] = (size_t)(c - p->conns);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
