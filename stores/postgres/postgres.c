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
 * Each operation is one autocommit statement, so there is no transaction
 * to leave open or half applied: reserve is an INSERT (unique violation:
 * the id exists), commit and abort are conditional UPDATE/DELETE on
 * state = PENDING, and stop is `UPDATE ... WHERE state = LIVE RETURNING`,
 * which the row lock makes exactly-one-winner across any number of nodes;
 * losers read the row again and answer CONFLICT with what is stored.
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

#include "pg_pool.h"
#include "pg_schema.h"

struct pg_store {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct pg_pool *pool;
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
	st = run_stmt(s, PG_STMT_RESERVE, 7, params, 0, &res, err);
	PQclear(res);
	if (st == BC_E_CONFLICT)
		return s->api->fail(err, BC_E_CONFLICT, "store.duplicate_id",
		                    "a stream with id %s exists already", params[0]);
	return st;
}

static enum bc_status pg_commit(void *instance, const char *id, const char *meta,
                                struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	const char *params[2] = { str_or_empty(id), meta && meta[0] ? meta : "{}" };
	enum bc_status st = run_stmt(s, PG_STMT_COMMIT, 2, params, 0, &res, err);
	if (st == BC_OK && strcmp(PQcmdTuples(res), "1") != 0)
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

static enum bc_status pg_stop(void *instance, const char *id, int64_t stop_ms,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct pg_store *s = instance;
	char stop[32];
	const char *params[2] = { str_or_empty(id), stop };

	snprintf(stop, sizeof stop, "%" PRId64, stop_ms);
	/* A LIVE row seen after a failed UPDATE was PENDING a moment ago and
	 * committed since: try again, a few times at most. */
	for (int attempt = 0; attempt < 3; attempt++) {
		PGresult *res = NULL;
		enum bc_status st = run_stmt(s, PG_STMT_STOP, 2, params, 0, &res, err);
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

static enum bc_status pg_list(void *instance, const struct bc_list_query *q,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct pg_store *s = instance;
	PGresult *res = NULL;
	char states[16], limit[16], after[32];
	const char *params[5];
	/* Members beyond an older host's struct_size read as unset. */
	const char *owner = BC_HAS_MEMBER(q, struct bc_list_query, owner) ? q->owner : NULL;
	enum bc_stream_state state = BC_HAS_MEMBER(q, struct bc_list_query, state) ? q->state : 0;
	unsigned lim = BC_HAS_MEMBER(q, struct bc_list_query, limit) ? q->limit : 100;
	const char *after_id = BC_HAS_MEMBER(q, struct bc_list_query, after_id) ? q->after_id
	                                                                         : NULL;
	int n = 2, has_owner = owner != NULL, has_after = after_id != NULL;
	enum pg_stmt which;
	enum bc_status st;

	lim = lim < 1 ? 1 : lim > 1000 ? 1000 : lim;
	if (state != 0)
		snprintf(states, sizeof states, "{%d}", (int)state);
	else
		snprintf(states, sizeof states, "{%d,%d}", BC_STATE_LIVE, BC_STATE_STOPPED);
	snprintf(limit, sizeof limit, "%u", lim);
	params[0] = states;
	params[1] = limit;
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
	pg_pool_destroy(s->pool);
	pg_statements_free(&s->stmts);
	free(s->schema);
	free(s);
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
	if (!pg_schema_name_ok(schema))
		return api->fail(err, BC_E_INVALID, "postgres.bad_schema",
		                 "schema \"%s\" is not a plain lower-case name: use letters a-z, "
		                 "digits and '_', at most 63, not starting with a digit or pg_",
		                 str_or_empty(schema));
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
