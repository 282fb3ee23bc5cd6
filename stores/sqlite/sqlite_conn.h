/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_conn.h: the SQLite connections of the sqlite store, the only part
 * of the plugin besides sqlite_schema.c that calls libsqlite3.
 *
 * The central objects are struct sqlite_conn (one sqlite3 handle with every
 * statement the store runs, prepared once when the connection opens) and
 * struct sqlite_pool (a fixed set of them, each lent to one caller at a
 * time). The pool is what makes reads thread-safe: a connection is never
 * used by two threads at once, so connections are opened with
 * SQLITE_OPEN_NOMUTEX, and in WAL mode readers on one connection run while
 * the writer commits. Writes do not use the pool: sqlite.c runs them all on
 * one more connection, in batches, so in-process writers queue on a mutex
 * instead of meeting on SQLite's write lock; busy_timeout is only how long
 * that connection waits for another process's writer.
 *
 * Statements and what the store does with them live in sqlite.c; mapping
 * SQLite result codes to bc_status and dotted codes lives here
 * (sqlite_conn_fail), so every path reports the same way.
 */
#ifndef BC_SQLITE_CONN_H
#define BC_SQLITE_CONN_H

#include <pthread.h>

#include <sqlite3.h>

#include <broadcast/store.h>

/* The statements of one connection, by index into struct sqlite_conn.st. */
enum sqlite_stmt_id {
	SQLITE_ST_INSERT_LIVE,      /* commit of a reservation held in memory */
	SQLITE_ST_COMMIT,           /* commit of a PENDING row an older version left */
	SQLITE_ST_ABORT,
	SQLITE_ST_GET,
	SQLITE_ST_STOP,
	SQLITE_ST_LIST,             /* the four list variants: filters by owner */
	SQLITE_ST_LIST_OWNER,       /* and/or a keyset cursor, so each one uses */
	SQLITE_ST_LIST_AFTER,       /* an index instead of a filter on a NULL */
	SQLITE_ST_LIST_OWNER_AFTER, /* parameter */
	SQLITE_ST_LIST_LIVE,        /* LIVE records only, and after a cursor: the */
	SQLITE_ST_LIST_LIVE_AFTER,  /* partial index streams_live_by_start (schema 5) */
	SQLITE_ST_BEGIN_IMMEDIATE,
	SQLITE_ST_ROLLBACK,
	SQLITE_ST_TX_COMMIT,        /* COMMIT (SQLITE_ST_COMMIT is the store's commit) */
	SQLITE_ST_WRITE_PROBE,      /* health's real write while writes fail */
	SQLITE_ST_MEDIA,            /* since ABI 1.1: the media state of a LIVE row */
	SQLITE_ST_EVENT_INSERT,     /* an event, in the transaction of its change */
	SQLITE_ST_EVENTS,           /* the feed after a cursor */
	SQLITE_ST_EVENTS_OWNER,     /* one owner's feed after a cursor */
	SQLITE_ST_EVENTS_PRUNE,     /* by age and by count, in one statement */
	SQLITE_ST_CURSOR_GET,       /* since schema 4: a delivery cursor */
	SQLITE_ST_CURSOR_HEAD,      /* the greatest event cursor ever handed out */
	SQLITE_ST_CURSOR_INSERT,
	SQLITE_ST_CURSOR_LEASE,     /* a claim: holder and lease */
	SQLITE_ST_CURSOR_MOVE,      /* an advance */
	SQLITE_ST_COUNT
};

/* The columns every SELECT of a record returns, in this order (9..13
 * since schema version 3, ABI 1.1). */
#define SQLITE_RECORD_COLUMNS                                                  \
	"id, name, type, provider, owner, state, start_ms, stop_ms, meta, media, " \
	"publish_ms, media_ms, stop_reason, event_seq"

/* The columns every SELECT of an event returns, in this order. */
#define SQLITE_EVENT_COLUMNS "cursor, stream_id, seq, type, time_ms, owner, data"

struct sqlite_conn {
	sqlite3 *db;
	sqlite3_stmt *st[SQLITE_ST_COUNT];
};

/* How to open every connection. Strings are borrowed for the call. */
struct sqlite_conn_config {
	const char *path;        /* the database file; its folder must exist */
	int64_t busy_timeout_ms; /* how long a writer waits for the write lock */
	int synchronous_full;    /* 1: PRAGMA synchronous=FULL, 0: NORMAL */
};

/*
 * Describe the SQLite failure `rc` on `db` (may be NULL) while doing `what`
 * (e.g. "reserve") on `path`, through api->fail, and return its status:
 * BUSY/LOCKED -> BC_E_UNAVAILABLE "sqlite.busy"; IOERR, CANTOPEN, READONLY,
 * PERM, PROTOCOL -> BC_E_UNAVAILABLE "sqlite.io"; FULL -> BC_E_UNAVAILABLE
 * "sqlite.full"; CORRUPT, NOTADB -> BC_E_UNAVAILABLE "sqlite.corrupt";
 * NOMEM -> BC_E_NOMEM "sqlite.nomem"; anything else -> BC_E_INTERNAL
 * "sqlite.error". The message carries SQLite's own text.
 */
enum bc_status sqlite_conn_fail(const struct bc_host_api *api, struct bc_error *err,
                                sqlite3 *db, int rc, const char *path, const char *what);
/* The dotted code sqlite_conn_fail() gives `rc` ("sqlite.busy", ...), for
 * log lines. */
const char *sqlite_conn_code(int rc);

/*
 * Open `c` on cfg->path (creating the file if needed), set the busy timeout
 * and synchronous mode. Statements are not prepared yet (the schema may not
 * exist): call sqlite_conn_prepare() after sqlite_schema_migrate(). On
 * failure `c` is closed and the error described. Main thread.
 */
enum bc_status sqlite_conn_open(struct sqlite_conn *c, const struct sqlite_conn_config *cfg,
                                const struct bc_host_api *api, struct bc_error *err);
/* Prepare every statement of `c`. On failure the prepared ones are
 * finalized (the connection stays open). */
enum bc_status sqlite_conn_prepare(struct sqlite_conn *c, const char *path,
                                   const struct bc_host_api *api, struct bc_error *err);
/* Finalize the statements and close the handle. Accepts a closed `c`. */
void sqlite_conn_close(struct sqlite_conn *c);

struct sqlite_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sqlite_conn *conns; /* n of them, all open and prepared */
	size_t n;
	size_t *idle;              /* stack of indexes of idle connections */
	size_t n_idle;
};

/* Open `n` connections on cfg (the schema must be current). Main thread. */
enum bc_status sqlite_pool_create(struct sqlite_pool *p, size_t n,
                                  const struct sqlite_conn_config *cfg,
                                  const struct bc_host_api *api, struct bc_error *err);
/* Close every connection. Main thread, none lent out. Accepts a zeroed pool. */
void sqlite_pool_destroy(struct sqlite_pool *p);
/* Borrow a connection, waiting while all are lent. Any thread. */
struct sqlite_conn *sqlite_pool_acquire(struct sqlite_pool *p);
/* Return what sqlite_pool_acquire gave. Any thread. */
void sqlite_pool_release(struct sqlite_pool *p, struct sqlite_conn *c);

#endif /* BC_SQLITE_CONN_H */
