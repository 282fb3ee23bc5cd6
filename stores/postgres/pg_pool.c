/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg_pool.c: the connection pool of the postgres store (see pg_pool.h for
 * the contract). Everything libpq-specific about connecting, waiting and
 * classifying errors is here; postgres.c and pg_schema.c only say which
 * statement to run.
 *
 * Why statements run through libpq's asynchronous calls: the synchronous
 * PQexec* wait forever when the server vanishes without a RST (a network
 * partition, a paused VM). statement_timeout cannot help then, so we poll
 * the socket with our own deadline and drop the connection when it passes.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_pool.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000
/* How long after statement_timeout the client gives up by itself: the server
 * should have answered 57014 by then. */
#define CLIENT_GRACE_MS 1000

struct pg_slot {
	PGconn *conn;
	int in_use;
	unsigned setup_gen; /* pool->setup_gen when setup last ran on conn */
	int lost;           /* the last failure was at the connection level */
};

struct pg_pool {
	const struct bc_host_api *api;
	struct bc_host *host;
	/* connection parameters, copied */
	char *conninfo, *password, *sslmode, *appname, *options;
	char connect_timeout_s[24];
	char *scrub[2]; /* password values never to show in a message */
	char fp[17];
	int64_t stmt_ms;
	unsigned size;
	struct pg_slot *slots;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a slot was released */
	/* guarded by mu */
	int is_down;
	int64_t backoff_ms, next_connect_ms;
	pg_setup_fn setup;
	void *setup_arg;
	unsigned setup_gen;
};

/* ---- small helpers -------------------------------------------------------- */

static int64_t mono_ms(const struct pg_pool *pool)
{
	return pool->api->monotonic_ms();
}

static char *dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

/* Copy a libpq or server message into out: one line, without any password
 * value (libpq never quotes one in a connection error, but a conninfo parse
 * error echoes the conninfo's text, so we do not rely on that). */
static void scrub_message(const struct pg_pool *pool, const char *msg, char *out, size_t len)
{
	size_t n = 0;
	if (len == 0)
		return;
	for (const char *p = msg ? msg : ""; *p != '\0' && n + 1 < len;) {
		int hit = 0;
		for (size_t i = 0; i < 2; i++) {
			const char *s = pool->scrub[i];
			size_t sl = s ? strlen(s) : 0;
			if (sl > 0 && strncmp(p, s, sl) == 0) {
				const char *r = "[redacted]";
				for (; *r != '\0' && n + 1 < len; r++)
					out[n++] = *r;
				p += sl;
				hit = 1;
				break;
			}
		}
		if (hit)
			continue;
		out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
		p++;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* ---- create / destroy -------------------------------------------------------- */

enum bc_status pg_pool_check_conninfo(const struct bc_host_api *api, const char *conninfo,
                                      struct bc_error *err)
{
	PQconninfoOption *parsed;
	char *errmsg = NULL;
	char fp[17];

	if (conninfo == NULL || conninfo[0] == '\0')
		return BC_OK;
	parsed = PQconninfoParse(conninfo, &errmsg);
	if (parsed != NULL) {
		PQconninfoFree(parsed);
		return BC_OK;
	}
	if (errmsg == NULL) /* libpq says nothing when it had no memory */
		return api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
	/* it quotes the text, which may hold a password: never pass it on */
	memset(errmsg, 0, strlen(errmsg));
	PQfreemem(errmsg);
	api->fingerprint(conninfo, fp);
	return api->fail(err, BC_E_INVALID, "postgres.bad_conninfo",
	                 "conninfo (fingerprint %s) is not a valid libpq connection "
	                 "string or postgresql:// URI; see "
	                 "https://www.postgresql.org/docs/current/libpq-connect.html",
	                 fp);
}

enum bc_status pg_pool_create(const struct bc_host_api *api, struct bc_host *host,
                              const struct pg_pool_config *cfg, struct pg_pool **out,
                              struct bc_error *err)
{
	struct pg_pool *pool = NULL;
	PQconninfoOption *parsed = NULL;
	char *errmsg = NULL;
	const char *their_options = NULL;
	enum bc_status st = BC_OK;
	pthread_condattr_t ca;
	int64_t cts;
	size_t olen;

	*out = NULL;
	pool = calloc(1, sizeof *pool);
	if (pool == NULL)
		return api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
	pool->api = api;
	pool->host = host;
	pool->size = cfg->size > 0 ? cfg->size : 1;
	pool->stmt_ms = cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms : 5000;
	if (pthread_mutex_init(&pool->mu, NULL) != 0) {
		free(pool);
		return api->fail(err, BC_E_INTERNAL, "postgres.internal", "pthread_mutex_init failed");
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&pool->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&pool->mu);
		free(pool);
		return api->fail(err, BC_E_INTERNAL, "postgres.internal", "pthread_cond_init failed");
	}
	pthread_condattr_destroy(&ca);

	/* Validate the conninfo now, so a typo fails at startup (check() did
	 * too, through pg_pool_check_conninfo). */
	if (cfg->conninfo != NULL && cfg->conninfo[0] != '\0') {
		parsed = PQconninfoParse(cfg->conninfo, &errmsg);
		if (parsed == NULL) {
			st = pg_pool_check_conninfo(api, cfg->conninfo, err);
			if (st == BC_OK) /* parsed this time: a passing lack of memory */
				st = api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
			goto out;
		}
		for (PQconninfoOption *o = parsed; o->keyword != NULL; o++) {
			if (o->val == NULL)
				continue;
			if (strcmp(o->keyword, "password") == 0 && o->val[0] != '\0')
				pool->scrub[0] = strdup(o->val);
			else if (strcmp(o->keyword, "options") == 0)
				their_options = o->val;
		}
	}
	pool->conninfo = dup_or_null(cfg->conninfo);
	pool->password = dup_or_null(cfg->password);
	if (pool->password != NULL)
		pool->scrub[1] = strdup(pool->password);
	pool->sslmode = dup_or_null(cfg->sslmode);
	pool->appname = dup_or_null(cfg->application_name ? cfg->application_name : "broadcastd");
	/* Our timeouts ride in the startup packet: no extra round trip, and they
	 * hold for every statement. A conninfo's own `options` are kept first. */
	olen = (their_options ? strlen(their_options) : 0) + 160;
	pool->options = malloc(olen);
	if (pool->options != NULL)
		snprintf(pool->options, olen,
		         "%s%s-c statement_timeout=%lld -c idle_in_transaction_session_timeout=%lld",
		         their_options ? their_options : "", their_options ? " " : "",
		         (long long)pool->stmt_ms, (long long)pool->stmt_ms * 4 + 10000);
	/* libpq counts whole seconds and treats anything under 2 as 2. */
	cts = (cfg->connect_timeout_ms + 999) / 1000;
	snprintf(pool->connect_timeout_s, sizeof pool->connect_timeout_s, "%lld",
	         (long long)(cts < 2 ? 2 : cts));
	pool->slots = calloc(pool->size, sizeof *pool->slots);
	if (pool->appname == NULL || pool->options == NULL || pool->slots == NULL ||
	    (cfg->conninfo && cfg->conninfo[0] && pool->conninfo == NULL) ||
	    (cfg->password && cfg->password[0] && (!pool->password || !pool->scrub[1]))) {
		st = api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
		goto out;
	}
	{
		/* One fingerprint for both secrets: enough to tell two configs apart. */
		size_t fl = (pool->conninfo ? strlen(pool->conninfo) : 0) +
		            (pool->password ? strlen(pool->password) : 0) + 2;
		char *both = malloc(fl);
		if (both == NULL) {
			st = api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
			goto out;
		}
		snprintf(both, fl, "%s\n%s", pool->conninfo ? pool->conninfo : "",
		         pool->password ? pool->password : "");
		api->fingerprint(both, pool->fp);
		memset(both, 0, fl);
		free(both);
	}
	*out = pool;
	pool = NULL;
out:
	if (errmsg != NULL)
		PQfreemem(errmsg);
	if (parsed != NULL)
		PQconninfoFree(parsed);
	pg_pool_destroy(pool);
	return st;
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

void pg_pool_destroy(struct pg_pool *pool)
{
	if (pool == NULL)
		return;
	for (unsigned i = 0; pool->slots != NULL && i < pool->size; i++)
		if (pool->slots[i].conn != NULL)
			PQfinish(pool->slots[i].conn);
	free(pool->slots);
	wipe_free(pool->conninfo);
	wipe_free(pool->password);
	wipe_free(pool->scrub[0]);
	wipe_free(pool->scrub[1]);
	free(pool->sslmode);
	free(pool->appname);
	free(pool->options);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool);
}

void pg_pool_set_setup(struct pg_pool *pool, pg_setup_fn setup, void *arg)
{
	pthread_mutex_lock(&pool->mu);
	pool->setup = setup;
	pool->setup_arg = arg;
	pool->setup_gen++;
	if (pool->setup_gen == 0) /* 0 means "never ran" in slots */
		pool->setup_gen = 1;
	pthread_mutex_unlock(&pool->mu);
}

const char *pg_pool_fingerprint(const struct pg_pool *pool)
{
	return pool->fp;
}

PGconn *pg_slot_conn(struct pg_slot *slot)
{
	return slot->conn;
}

int pg_slot_lost(const struct pg_slot *slot)
{
	return slot->lost;
}

/* ---- outage bookkeeping --------------------------------------------------------- */

/* A connection attempt failed: back off, and log when this starts an outage. */
static void note_connect_failure(struct pg_pool *pool, const char *why)
{
	int was_down;
	pthread_mutex_lock(&pool->mu);
	was_down = pool->is_down;
	pool->is_down = 1;
	pool->backoff_ms = pool->backoff_ms == 0 ? BACKOFF_FIRST_MS : pool->backoff_ms * 2;
	if (pool->backoff_ms > BACKOFF_MAX_MS)
		pool->backoff_ms = BACKOFF_MAX_MS;
	pool->next_connect_ms = mono_ms(pool) + pool->backoff_ms;
	pthread_mutex_unlock(&pool->mu);
	pool->api->counter_add(pool->host, "postgres_connect_failures_total", NULL, 1);
	if (!was_down)
		pool->api->log(pool->host, BC_LOG_WARN,
		               "database unreachable, retrying with backoff up to %d ms: %s",
		               BACKOFF_MAX_MS, why);
}

static void note_connect_success(struct pg_pool *pool, PGconn *conn)
{
	int was_down;
	pthread_mutex_lock(&pool->mu);
	was_down = pool->is_down;
	pool->is_down = 0;
	pool->backoff_ms = 0;
	pool->next_connect_ms = 0;
	pthread_mutex_unlock(&pool->mu);
	if (was_down)
		pool->api->log(pool->host, BC_LOG_INFO, "database reachable again (%s:%s/%s)",
		               PQhost(conn), PQport(conn), PQdb(conn));
	else
		pool->api->log(pool->host, BC_LOG_DEBUG, "connected to %s:%s/%s as %s",
		               PQhost(conn), PQport(conn), PQdb(conn), PQuser(conn));
}

/* Server notices (e.g. "relation already exists, skipping") go to the
 * host's debug log, not libpq's default of stderr. */
static void pool_notice(void *arg, const char *message)
{
	struct pg_pool *pool = arg;
	char line[512];
	if (!pool->api->log_enabled(pool->host, BC_LOG_DEBUG))
		return;
	scrub_message(pool, message, line, sizeof line);
	pool->api->log(pool->host, BC_LOG_DEBUG, "server notice: %s", line);
}

/* ---- connecting ------------------------------------------------------------------ */

static PGconn *pool_connect(struct pg_pool *pool, char *why, size_t why_len)
{
	const char *keys[16], *vals[16];
	size_t n = 0;
	PGconn *conn;

	/* Before the conninfo: defaults the conninfo may override. */
	keys[n] = "application_name";
	vals[n++] = pool->appname;
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = "keepalives";
	vals[n++] = "1";
	keys[n] = "keepalives_idle";
	vals[n++] = "10";
	keys[n] = "keepalives_interval";
	vals[n++] = "5";
	keys[n] = "keepalives_count";
	vals[n++] = "3";
	if (pool->conninfo != NULL) {
		keys[n] = "dbname"; /* expanded: the whole connection string */
		vals[n++] = pool->conninfo;
	}
	/* After it: our own options win. */
	keys[n] = "connect_timeout";
	vals[n++] = pool->connect_timeout_s;
	keys[n] = "options";
	vals[n++] = pool->options;
	if (pool->password != NULL) {
		keys[n] = "password";
		vals[n++] = pool->password;
	}
	if (pool->sslmode != NULL) {
		keys[n] = "sslmode";
		vals[n++] = pool->sslmode;
	}
	keys[n] = NULL;
	vals[n] = NULL;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		scrub_message(pool, PQerrorMessage(conn), why, why_len);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, pool_notice, pool);
	/* Non-blocking, so a full socket buffer cannot stall a send either. */
	if (PQsetnonblocking(conn, 1) != 0) {
		scrub_message(pool, PQerrorMessage(conn), why, why_len);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* An idle connection has nothing to say: input on it means the server sent
 * a termination notice (a restart, pg_terminate_backend) or closed it. */
static int idle_conn_is_dead(PGconn *conn)
{
	struct pollfd p;
	int fd;
	if (PQstatus(conn) != CONNECTION_OK)
		return 1;
	fd = PQsocket(conn);
	if (fd < 0)
		return 1;
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, 0) != 0;
}

static void slot_close(struct pg_slot *slot)
{
	if (slot->conn != NULL)
		PQfinish(slot->conn);
	slot->conn = NULL;
	slot->setup_gen = 0;
}

/* ---- acquire / release ---------------------------------------------------------------- */

static void deadline_ts(int64_t ms_from_now, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms_from_now / 1000;
	ts->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

enum bc_status pg_pool_acquire(struct pg_pool *pool, struct pg_slot **out,
                               struct bc_error *err)
{
	struct pg_slot *slot = NULL;
	struct timespec until;
	pg_setup_fn setup;
	void *setup_arg;
	unsigned gen;
	int fast_fail;
	enum bc_status st;

	*out = NULL;
	deadline_ts(pool->stmt_ms, &until);
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		struct pg_slot *empty = NULL;
		for (unsigned i = 0; i < pool->size && slot == NULL; i++) {
			if (pool->slots[i].in_use)
				continue;
			if (pool->slots[i].conn != NULL)
				slot = &pool->slots[i];
			else if (empty == NULL)
				empty = &pool->slots[i];
		}
		if (slot == NULL)
			slot = empty;
		if (slot != NULL)
			break;
		if (pthread_cond_timedwait(&pool->cv, &pool->mu, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&pool->mu);
			return pool->api->fail(err, BC_E_UNAVAILABLE, "store.unavailable",
			                       "all %u database connections stayed busy for %lld ms; "
			                       "raise pool_size or retry later",
			                       pool->size, (long long)pool->stmt_ms);
		}
	}
	slot->in_use = 1;
	slot->lost = 0;
	fast_fail = pool->is_down && mono_ms(pool) < pool->next_connect_ms;
	setup = pool->setup;
	setup_arg = pool->setup_arg;
	gen = pool->setup_gen;
	pthread_mutex_unlock(&pool->mu);

	if (slot->conn != NULL && idle_conn_is_dead(slot->conn)) {
		pool->api->log(pool->host, BC_LOG_DEBUG,
		               "an idle connection was closed by the server; reconnecting");
		slot_close(slot);
	}
	if (slot->conn == NULL) {
		char why[512];
		if (fast_fail) {
			pg_pool_release(pool, slot);
			return pool->api->fail(err, BC_E_UNAVAILABLE, "store.unavailable",
			                       "the stream database is unreachable; retry later");
		}
		slot->conn = pool_connect(pool, why, sizeof why);
		if (slot->conn == NULL) {
			note_connect_failure(pool, why);
			pg_pool_release(pool, slot);
			return pool->api->fail(err, BC_E_UNAVAILABLE, "store.unavailable",
			                       "the stream database is unreachable; retry later");
		}
		note_connect_success(pool, slot->conn);
	}
	if (setup != NULL && slot->setup_gen != gen) {
		st = setup(pool, slot, setup_arg, err);
		if (st != BC_OK) {
			slot_close(slot);
			pg_pool_release(pool, slot);
			return st;
		}
		slot->setup_gen = gen;
	}
	*out = slot;
	return BC_OK;
}

void pg_pool_release(struct pg_pool *pool, struct pg_slot *slot)
{
	if (slot == NULL)
		return;
	if (slot->conn != NULL &&
	    (slot->lost || PQstatus(slot->conn) != CONNECTION_OK ||
	     PQtransactionStatus(slot->conn) != PQTRANS_IDLE))
		slot_close(slot); /* never hand out a broken or mid-transaction link */
	pthread_mutex_lock(&pool->mu);
	slot->in_use = 0;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

/* ---- running statements ------------------------------------------------------------------ */

/* Wait until the socket is ready for `events` or the deadline passes.
 * Returns 1 ready, 0 deadline, -1 error. */
static int wait_socket(struct pg_pool *pool, PGconn *conn, short events, int64_t deadline)
{
	struct pollfd p;
	int fd = PQsocket(conn), r;
	if (fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - mono_ms(pool);
		if (left <= 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Hand a failure to a caller's error. */
enum bc_status pg_failure_apply(const struct pg_pool *pool, const struct pg_failure *f,
                                struct bc_error *err)
{
	return pool->api->fail(err, f->status, f->code, "%s", f->message);
}

static enum bc_status set_failure(struct pg_failure *f, enum bc_status status, const char *code,
                                  const char *fmt, ...) BC_PRINTF(4, 5);
static enum bc_status set_failure(struct pg_failure *f, enum bc_status status, const char *code,
                                  const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	f->code = code;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof f->message, fmt, ap);
	va_end(ap);
	return status;
}

/* The connection itself failed: mark the slot so release() drops it, and
 * log (once per outage; the reconnect logs the rest). */
static enum bc_status link_failed_f(struct pg_pool *pool, struct pg_slot *slot, const char *msg,
                                    struct pg_failure *f)
{
	char why[512];
	int was_down;
	slot->lost = 1;
	scrub_message(pool, msg, why, sizeof why);
	pthread_mutex_lock(&pool->mu);
	was_down = pool->is_down;
	pthread_mutex_unlock(&pool->mu);
	if (!was_down)
		pool->api->log(pool->host, BC_LOG_WARN, "database connection lost: %s",
		               why[0] ? why : "no reason given");
	return set_failure(f, BC_E_UNAVAILABLE, "store.unavailable",
	                   "the connection to the stream database was lost; retry later");
}

static enum bc_status link_failed(struct pg_pool *pool, struct pg_slot *slot, const char *msg,
                                  struct bc_error *err)
{
	struct pg_failure f;

	link_failed_f(pool, slot, msg, &f);
	return pg_failure_apply(pool, &f, err);
}

/* Map a finished result to a status (see pg_pool.h), describing a failure
 * in *f. */
static enum bc_status classify_f(struct pg_pool *pool, struct pg_slot *slot, PGresult *res,
                                 struct pg_failure *f)
{
	ExecStatusType rs = PQresultStatus(res);
	const char *state, *primary;
	char msg[512];

	if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK)
		return BC_OK;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (state == NULL)
		state = "";
	if (PQstatus(slot->conn) != CONNECTION_OK || starts_with(state, "08") ||
	    starts_with(state, "57P"))
		return link_failed_f(pool, slot, primary ? primary : PQerrorMessage(slot->conn), f);
	scrub_message(pool, primary ? primary : PQresultErrorMessage(res), msg, sizeof msg);
	if (strcmp(state, "57014") == 0) {
		pool->api->log(pool->host, BC_LOG_WARN, "statement timeout (%lld ms): %s",
		               (long long)pool->stmt_ms, msg);
		return set_failure(f, BC_E_TIMEOUT, "store.timeout",
		                   "the stream database did not answer within %lld ms",
		                   (long long)pool->stmt_ms);
	}
	if (strcmp(state, "23505") == 0)
		return set_failure(f, BC_E_CONFLICT, "store.duplicate", "%s", msg);
	if (starts_with(state, "22")) /* data exception: e.g. bytes that are not UTF-8 */
		return set_failure(f, BC_E_INVALID, "store.bad_value",
		                   "the database refused a value: %s", msg);
	if (strcmp(state, "26000") == 0) {
		/* Our prepared statements vanished (a pooler ran DISCARD ALL):
		 * reconnect and prepare again. */
		slot->lost = 1;
		return set_failure(f, BC_E_UNAVAILABLE, "store.unavailable",
		                   "the database session was reset; retry");
	}
	if (starts_with(state, "53") || starts_with(state, "58") || strcmp(state, "25006") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "55006") == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		pool->api->log(pool->host, BC_LOG_WARN, "database busy or read-only (%s): %s", state,
		               msg);
		return set_failure(f, BC_E_UNAVAILABLE, "store.unavailable",
		                   "the stream database cannot take this now (%s); retry later",
		                   state);
	}
	if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0) {
		pool->api->log(pool->host, BC_LOG_ERROR,
		               "the store's tables are gone (%s): %s; restart broadcastd to "
		               "recreate them", state, msg);
		return set_failure(f, BC_E_INTERNAL, "postgres.schema_missing",
		                   "the store's tables are missing; restart to recreate them");
	}
	pool->api->log(pool->host, BC_LOG_ERROR, "statement failed (%s): %s", state, msg);
	return set_failure(f, BC_E_INTERNAL, "postgres.error", "database error %s: %s",
	                   state[0] ? state : "(none)", msg);
}

/* The server did not answer, not even with its own timeout, by `deadline`:
 * the link is dead or the server is stuck. Drop the connection (release()
 * closes it). w < 0: the socket failed instead. */
static enum bc_status no_answer(struct pg_pool *pool, struct pg_slot *slot, int w,
                                struct pg_failure *f)
{
	if (w < 0)
		return link_failed_f(pool, slot, "socket error", f);
	slot->lost = 1;
	pool->api->log(pool->host, BC_LOG_WARN,
	               "no answer from the database within %lld ms; dropping the connection",
	               (long long)pool->stmt_ms + CLIENT_GRACE_MS);
	return set_failure(f, BC_E_TIMEOUT, "store.timeout",
	                   "the stream database did not answer within %lld ms",
	                   (long long)pool->stmt_ms);
}

/* Send what libpq still holds for the server, by `deadline`. */
static enum bc_status flush_out(struct pg_pool *pool, struct pg_slot *slot, int64_t deadline,
                                struct pg_failure *f)
{
	PGconn *conn = slot->conn;
	int r, w;

	while ((r = PQflush(conn)) == 1) {
		w = wait_socket(pool, conn, POLLIN | POLLOUT, deadline);
		if (w <= 0)
			return no_answer(pool, slot, w, f);
		if (!PQconsumeInput(conn))
			return link_failed_f(pool, slot, PQerrorMessage(conn), f);
	}
	if (r < 0)
		return link_failed_f(pool, slot, PQerrorMessage(conn), f);
	return BC_OK;
}

/* The next result (NULL at the end of one statement's results), waiting
 * for it until `deadline`. *st is BC_OK unless the link or the deadline
 * failed (then NULL is returned too). */
static PGresult *next_result(struct pg_pool *pool, struct pg_slot *slot, int64_t deadline,
                             enum bc_status *st, struct pg_failure *f)
{
	PGconn *conn = slot->conn;
	int w;

	*st = BC_OK;
	while (PQisBusy(conn)) {
		w = wait_socket(pool, conn, POLLIN, deadline);
		if (w <= 0) {
			*st = no_answer(pool, slot, w, f);
			return NULL;
		}
		if (!PQconsumeInput(conn)) {
			*st = link_failed_f(pool, slot, PQerrorMessage(conn), f);
			return NULL;
		}
	}
	return PQgetResult(conn);
}

/* The results of one statement: the first error, or else the last
 * success, in *keep (NULL when the statement gave none). */
static enum bc_status statement_results(struct pg_pool *pool, struct pg_slot *slot,
                                        int64_t deadline, PGresult **keep,
                                        struct pg_failure *f)
{
	enum bc_status st;
	PGresult *r;

	*keep = NULL;
	while ((r = next_result(pool, slot, deadline, &st, f)) != NULL) {
		if (*keep == NULL) {
			*keep = r;
		} else if (PQresultStatus(*keep) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(*keep);
			*keep = r;
		}
	}
	if (st != BC_OK) {
		PQclear(*keep);
		*keep = NULL;
	}
	return st;
}

/* Collect every result of the statement sent on slot, keeping the first
 * error (or the last success), within the client deadline. */
static enum bc_status collect(struct pg_pool *pool, struct pg_slot *slot, PGresult **res,
                              struct bc_error *err)
{
	int64_t deadline = mono_ms(pool) + pool->stmt_ms + CLIENT_GRACE_MS;
	PGresult *keep = NULL;
	struct pg_failure f;
	enum bc_status st = flush_out(pool, slot, deadline, &f);

	if (st == BC_OK)
		st = statement_results(pool, slot, deadline, &keep, &f);
	if (st == BC_OK && keep == NULL)
		st = link_failed_f(pool, slot, PQerrorMessage(slot->conn), &f);
	if (st == BC_OK)
		st = classify_f(pool, slot, keep, &f);
	if (st != BC_OK) {
		PQclear(keep);
		return pg_failure_apply(pool, &f, err);
	}
	*res = keep;
	return BC_OK;
}

/* Leave pipeline mode after a failed pipeline: the link is dropped unless
 * every result up to the sync was read. */
static void pipeline_end(struct pg_slot *slot)
{
	if (PQpipelineStatus(slot->conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(slot->conn))
		slot->lost = 1;
}

enum bc_status pg_pool_pipeline(struct pg_pool *pool, struct pg_slot *slot,
                                struct pg_query *q, int n, int *failed, struct pg_failure *f)
{
	PGconn *conn = slot->conn;
	int64_t deadline = mono_ms(pool) + pool->stmt_ms + CLIENT_GRACE_MS;
	enum bc_status st = BC_OK;
	PGresult *sync;
	int i;

	*failed = -1;
	slot->lost = 0;
	for (i = 0; i < n; i++)
		q[i].res = NULL;
	if (!PQenterPipelineMode(conn))
		return link_failed_f(pool, slot, PQerrorMessage(conn), f);
	for (i = 0; i < n; i++) {
		int sent = q[i].is_prepared
		                   ? PQsendQueryPrepared(conn, q[i].stmt, q[i].nparams, q[i].params,
		                                         NULL, NULL, 0)
		                   : PQsendQueryParams(conn, q[i].stmt, q[i].nparams, NULL,
		                                       q[i].params, NULL, NULL, 0);
		if (!sent) {
			st = link_failed_f(pool, slot, PQerrorMessage(conn), f);
			goto fail;
		}
	}
	if (!PQpipelineSync(conn)) {
		st = link_failed_f(pool, slot, PQerrorMessage(conn), f);
		goto fail;
	}
	st = flush_out(pool, slot, deadline, f);
	/* Every statement's results, then the sync's. After the first error
	 * the server skips the rest (PGRES_PIPELINE_ABORTED) and rolls the
	 * implicit transaction back: nothing of the pipeline is applied. */
	for (i = 0; st == BC_OK && i < n; i++) {
		st = statement_results(pool, slot, deadline, &q[i].res, f);
		if (st != BC_OK)
			break;
		if (q[i].res == NULL) {
			st = link_failed_f(pool, slot, PQerrorMessage(conn), f);
			break;
		}
		if (*failed < 0 && PQresultStatus(q[i].res) != PGRES_PIPELINE_ABORTED &&
		    classify_f(pool, slot, q[i].res, f) != BC_OK) {
			*failed = i;
			st = f->status;
		}
	}
	if (slot->lost)
		goto fail;
	if (*failed >= 0) {
		/* Read the aborted rest and the sync, so the link stays usable. */
		for (; i < n; i++) {
			enum bc_status rest;
			PGresult *r = NULL;
			struct pg_failure ignored;
			rest = statement_results(pool, slot, deadline, &r, &ignored);
			PQclear(r);
			if (rest != BC_OK)
				goto fail;
		}
	}
	if (st != BC_OK && *failed < 0)
		goto fail;
	sync = next_result(pool, slot, deadline, &st, f);
	if (sync == NULL || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
		/* The commit itself failed, or the link: the outcome is unknown. */
		if (st == BC_OK && sync != NULL && *failed < 0)
			st = classify_f(pool, slot, sync, f);
		if (st == BC_OK && *failed < 0)
			st = link_failed_f(pool, slot, PQerrorMessage(conn), f);
		PQclear(sync);
		goto fail;
	}
	PQclear(sync);
	if (!PQexitPipelineMode(conn)) {
		slot->lost = 1;
		if (*failed < 0)
			st = link_failed_f(pool, slot, PQerrorMessage(conn), f);
		goto fail;
	}
	if (*failed >= 0) {
		st = f->status;
		goto fail;
	}
	return BC_OK;
fail:
	for (i = 0; i < n; i++) {
		PQclear(q[i].res);
		q[i].res = NULL;
	}
	pipeline_end(slot);
	return st != BC_OK ? st : f->status;
}

enum bc_status pg_pool_exec(struct pg_pool *pool, struct pg_slot *slot, int is_prepared,
                            const char *stmt, int nparams, const char *const *params,
                            PGresult **res, struct bc_error *err)
{
	int sent;
	*res = NULL;
	slot->lost = 0;
	if (is_prepared)
		sent = PQsendQueryPrepared(slot->conn, stmt, nparams, params, NULL, NULL, 0);
	else
		sent = PQsendQueryParams(slot->conn, stmt, nparams, NULL, params, NULL, NULL, 0);
	if (!sent)
		return link_failed(pool, slot, PQerrorMessage(slot->conn), err);
	return collect(pool, slot, res, err);
}

enum bc_status pg_pool_prepare(struct pg_pool *pool, struct pg_slot *slot, const char *name,
                               const char *sql, int nparams, struct bc_error *err)
{
	PGresult *res = NULL;
	enum bc_status st;
	slot->lost = 0;
	if (!PQsendPrepare(slot->conn, name, sql, nparams, NULL))
		return link_failed(pool, slot, PQerrorMessage(slot->conn), err);
	st = collect(pool, slot, &res, err);
	PQclear(res);
	return st;
}
