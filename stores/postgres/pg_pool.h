/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg_pool.h: a small, fixed-size pool of libpq connections for the postgres
 * store (postgres.c), the one file of the plugin that talks to libpq.
 *
 * The central object is struct pg_pool: `size` slots, each holding at most
 * one connection, handed out to one caller at a time (pg_pool_acquire /
 * pg_pool_release). Connections are opened lazily, re-opened after any
 * connection-level failure, and probed on acquire so an idle connection
 * the server closed (a restart) is replaced before it fails a request.
 * While the server is unreachable, connection attempts back off (100 ms
 * doubling to 2 s) and calls fail fast with BC_E_UNAVAILABLE
 * "store.unavailable"; the pool logs the transition down and back up once.
 *
 * Every statement runs with a server-side statement_timeout and a
 * client-side deadline a little later, so a vanished server (no RST) costs
 * a request at most statement_timeout + 1 s, never a hung thread.
 *
 * Threads: every function may be called from any thread, except
 * pg_pool_create / pg_pool_destroy / pg_pool_set_setup (main thread, with no
 * call in flight). A slot is used by its holder only.
 */
#ifndef BC_PG_POOL_H
#define BC_PG_POOL_H

#include <libpq-fe.h>

#include <broadcast/broadcast.h>

/* What the pool needs to connect. Strings are borrowed for pg_pool_create()
 * only (the pool copies them). */
struct pg_pool_config {
	const char *conninfo;       /* libpq connection string or URI; NULL or "": libpq
	                               defaults and PG* environment variables */
	const char *password;       /* NULL or "": none, else overrides conninfo's */
	const char *sslmode;        /* NULL: as conninfo / libpq default */
	const char *application_name; /* shown in pg_stat_activity */
	unsigned size;              /* number of connections, >= 1 */
	int64_t connect_timeout_ms; /* per connection attempt */
	int64_t statement_timeout_ms; /* server-side statement_timeout, > 0 */
};

struct pg_pool;
struct pg_slot;

/* Called once on each new connection before it serves requests (used to
 * PREPARE the store's statements). Returns BC_OK or a failure described
 * with api->fail(); a failure closes the connection. */
typedef enum bc_status (*pg_setup_fn)(struct pg_pool *pool, struct pg_slot *slot, void *arg,
                                      struct bc_error *err);

/* Check the config and make a pool; no connection is opened yet. `api` and
 * `host` are the instance's, borrowed for the pool's life. Returns BC_OK,
 * BC_E_INVALID "postgres.bad_conninfo" (the message never quotes the
 * conninfo: it may hold a password) or BC_E_NOMEM. */
/* Whether libpq can parse `conninfo` (NULL or "": yes), without connecting:
 * BC_OK, BC_E_INVALID "postgres.bad_conninfo" (the message names only a
 * fingerprint: libpq's own quotes the text, password and all), or
 * BC_E_NOMEM when libpq had no memory to say. Any thread. */
enum bc_status pg_pool_check_conninfo(const struct bc_host_api *api, const char *conninfo,
                                      struct bc_error *err);
enum bc_status pg_pool_create(const struct bc_host_api *api, struct bc_host *host,
                              const struct pg_pool_config *cfg, struct pg_pool **out,
                              struct bc_error *err);
/* Close every connection and free the pool. NULL is a no-op. */
void pg_pool_destroy(struct pg_pool *pool);
/* Install the per-connection setup (NULL: none) and make every open
 * connection run it again before its next use. */
void pg_pool_set_setup(struct pg_pool *pool, pg_setup_fn setup, void *arg);
/* A fingerprint of the conninfo and password, for log lines (17 bytes). */
const char *pg_pool_fingerprint(const struct pg_pool *pool);

/* Take a free slot with a working connection, waiting up to the statement
 * timeout for one to be released. Returns BC_OK with *slot set, or
 * BC_E_UNAVAILABLE "store.unavailable" (cannot connect, or every
 * connection busy for that long). */
enum bc_status pg_pool_acquire(struct pg_pool *pool, struct pg_slot **slot,
                               struct bc_error *err);
/* Give a slot back. A connection that failed at the connection level is
 * closed here and re-opened by a later acquire. */
void pg_pool_release(struct pg_pool *pool, struct pg_slot *slot);

/* The connection of a held slot (for PQprepare in a setup function). */
PGconn *pg_slot_conn(struct pg_slot *slot);

/* Run a statement on a held slot and wait for its result with the
 * client-side deadline. `stmt` is a prepared statement's name when
 * `is_prepared`, else SQL text. params are text, NULL for SQL NULL.
 * On BC_OK, *res is the result (free it with PQclear) of a command or a
 * query. On failure *res is NULL and the status tells what happened:
 *   BC_E_UNAVAILABLE "store.unavailable": connection refused or lost, server
 *       shutting down, out of resources, read-only (a standby), lock or
 *       serialization trouble; the slot is re-opened when the link failed;
 *   BC_E_TIMEOUT "store.timeout": statement_timeout or the client deadline;
 *   BC_E_CONFLICT "store.duplicate": a unique constraint;
 *   BC_E_INVALID "store.bad_value": a data exception (SQLSTATE class 22);
 *   BC_E_INTERNAL "postgres.error": anything else (a bug, a changed schema).
 * Failures of the first two kinds are logged here (once per outage for
 * connection loss); callers only return the status. */
enum bc_status pg_pool_exec(struct pg_pool *pool, struct pg_slot *slot, int is_prepared,
                            const char *stmt, int nparams, const char *const *params,
                            PGresult **res, struct bc_error *err);

/* Prepare one named statement on the slot's connection (setup functions).
 * Same statuses as pg_pool_exec. */
enum bc_status pg_pool_prepare(struct pg_pool *pool, struct pg_slot *slot, const char *name,
                               const char *sql, int nparams, struct bc_error *err);

/* A failure, before it is handed to a caller's error: a pipeline hands one
 * failure to every caller whose statement was in it. */
struct pg_failure {
	enum bc_status status;
	const char *code;   /* static */
	char message[600];
};

/* Describe `f` in `err` (api->fail); returns f->status. */
enum bc_status pg_failure_apply(const struct pg_pool *pool, const struct pg_failure *f,
                                struct bc_error *err);

/* One statement of a pipeline: as pg_pool_exec's arguments; `res` is its
 * result after a successful pipeline (the caller PQclear()s it). */
struct pg_query {
	const char *stmt;
	int is_prepared;
	int nparams;
	const char *const *params;
	PGresult *res;
};

/* Run q[0..n-1] as one pipeline ending in one sync, so the server runs them
 * as one implicit transaction: one round trip, one commit (and one WAL
 * flush) for all, in this order. BC_OK: every statement succeeded and the
 * transaction committed; each q[i].res is set. Otherwise every res is
 * NULL, *f says why (as pg_pool_exec's statuses), and *failed tells what:
 *   >= 0: statement *failed failed, the server rolled the transaction back
 *         and skipped the rest; nothing was applied (the link is fine
 *         unless pg_slot_lost());
 *   -1:   the link, the deadline or the commit failed; whether the
 *         transaction committed is unknown.
 * Failures are logged as by pg_pool_exec. */
enum bc_status pg_pool_pipeline(struct pg_pool *pool, struct pg_slot *slot,
                                struct pg_query *q, int n, int *failed, struct pg_failure *f);

/* 1 when the last failure of this slot was at the connection level, so a
 * read-only caller may retry once on a fresh connection. */
int pg_slot_lost(const struct pg_slot *slot);

#endif /* BC_PG_POOL_H */
