/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_postgres.c: Check suite for the `postgres` store
 * (stores/postgres/), loaded from store_postgres.so through its entry symbol
 * by the stub host, against a real throwaway PostgreSQL server that
 * tests/support/pg-cluster.sh starts on a free loopback port.
 *
 * Covers what several nodes sharing one database rely on: two instances
 * (two "nodes") see each other's streams; 50 concurrent stops of one stream
 * across both give exactly one OK; concurrent first starts migrate the
 * schema once; a server stop/restart/crash turns calls into
 * store.unavailable and the store recovers by itself without losing what it
 * acknowledged; an idle pool survives a restart without failing a call; a
 * connection killed mid-statement leaves no partial update; statement
 * timeouts are 504s; passwords never reach logs or messages. The store
 * semantics shared with sqlite come first, from the conformance suite
 * (tests/support/store_conformance.c), run here against postgres.
 *
 * Exits 77 (skipped) only when pg-cluster.sh cannot get PostgreSQL's server
 * binaries onto this machine; it prints why.
 */
#include "config.h"

#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stubhost.h"

#include "store_conformance.h"

/* The server, from pg-cluster.sh's output; set in main before any fork. */
static struct {
	char script[1024];
	char dir[512];
	char port[16];
	char password[128];
	char conninfo[1024];
} pg;

static const char *so_path;
static const struct bc_plugin *plugin;
static const struct bc_store_ops *ops;

/* ---- helpers ---------------------------------------------------------------- */

/* Run pg-cluster.sh with an action on our cluster; returns its exit status. */
static int cluster(const char *action)
{
	char cmd[2048];
	int rc;
	snprintf(cmd, sizeof cmd, "sh '%s' %s '%s' >/dev/null", pg.script, action, pg.dir);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A schema name no other test (or earlier run) uses. */
static const char *fresh_schema(void)
{
	static char buf[64];
	static unsigned counter;
	snprintf(buf, sizeof buf, "t%ld_%u_%u", (long)getpid(), (unsigned)(now_ms() % 100000),
	         counter++);
	return buf;
}

/* A lowercase UUIDv4-shaped id. */
static void make_id(char out[37], unsigned n)
{
	static unsigned salt;
	if (salt == 0)
		salt = (unsigned)getpid() & 0xffff;
	snprintf(out, 37, "%08x-0000-4000-8000-%04x%08x", n, salt, (unsigned)(now_ms() & 0xffffffff));
}

struct node {
	struct stubhost *sh;
	void *st;
};

/* Open an instance with conninfo + schema + extra key/value pairs. */
static enum bc_status node_try_open(struct node *n, const char *name, const char *schema,
                                    const char *const *extra, struct bc_error *err)
{
	const char *kv[32];
	size_t k = 0;
	kv[k++] = "conninfo";
	kv[k++] = pg.conninfo;
	kv[k++] = "schema";
	kv[k++] = schema;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 28; i++)
		kv[k++] = extra[i];
	kv[k] = NULL;
	n->sh = stubhost_new(name, plugin->options, kv);
	n->st = NULL;
	bc_error_clear(err);
	return ops->create(stubhost_api(), stubhost_host(n->sh), stubhost_config(n->sh), &n->st,
	                   err);
}

static void node_open(struct node *n, const char *name, const char *schema,
                      const char *const *extra)
{
	struct bc_error err;
	enum bc_status st = node_try_open(n, name, schema, extra, &err);
	ck_assert_msg(st == BC_OK, "create: %d %s: %s\nlog:\n%s", st, err.code, err.message,
	              stubhost_log_text(n->sh));
}

static void node_close(struct node *n)
{
	if (n->st != NULL)
		ops->destroy(n->st);
	n->st = NULL;
	if (n->sh != NULL) {
		const char *log = stubhost_log_text(n->sh);
		/* Whatever happened, the password never reached a log line. */
		ck_assert_msg(strstr(log, pg.password) == NULL, "password logged:\n%s", log);
		stubhost_free(n->sh);
	}
	n->sh = NULL;
}

static void record_init(struct bc_record *r, const char *id, const char *owner, int64_t start)
{
	memset(r, 0, sizeof *r);
	r->struct_size = sizeof *r;
	r->id = id;
	r->name = "name";
	r->type = "hls";
	r->provider = "test";
	r->owner = owner;
	r->state = BC_STATE_PENDING;
	r->start_ms = start;
	r->meta = "{}";
}

/* reserve + commit one stream; ck-asserts success. */
static void start_stream(struct node *n, const char *id, const char *owner, int64_t start)
{
	struct bc_record r;
	struct bc_error err;
	record_init(&r, id, owner, start);
	bc_error_clear(&err);
	ck_assert_msg(ops->reserve(n->st, &r, &err) == BC_OK, "reserve: %s %s", err.code,
	              err.message);
	ck_assert_msg(ops->commit(n->st, id, "{\"k\":\"v\"}", &err) == BC_OK, "commit: %s %s",
	              err.code, err.message);
}

static enum bc_status get_state(struct node *n, const char *id, enum bc_stream_state *state,
                                struct bc_error *err)
{
	struct bc_record_sink sink;
	enum bc_status st;
	bc_record_sink_init(&sink);
	bc_error_clear(err);
	st = ops->get(n->st, id, &sink, err);
	if (st == BC_OK) {
		ck_assert_uint_eq(sink.n, 1);
		*state = sink.items[0].state;
	}
	bc_record_sink_free(&sink);
	return st;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* A libpq connection of the test's own, for locks and inspection. */
static PGconn *test_conn(void)
{
	PGconn *c = PQconnectdb(pg.conninfo);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "test connection: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

static void sql_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	              "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

static long sql_long(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long v;
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
	              PQerrorMessage(c));
	v = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* ---- the conformance suite's fixture --------------------------------------------- */

/* The schema of the last fresh config: same_config() names it again, for a
 * second instance on the same data. */
static char conf_schema[64];

static const char *const *conf_fresh(void *arg)
{
	static const char *kv[5];
	(void)arg;
	snprintf(conf_schema, sizeof conf_schema, "%s", fresh_schema());
	kv[0] = "conninfo";
	kv[1] = pg.conninfo;
	kv[2] = "schema";
	kv[3] = conf_schema;
	kv[4] = NULL;
	return kv;
}

static const char *const *conf_same(void *arg)
{
	static const char *kv[5];
	(void)arg;
	kv[0] = "conninfo";
	kv[1] = pg.conninfo;
	kv[2] = "schema";
	kv[3] = conf_schema;
	kv[4] = NULL;
	return kv;
}

/* Drop the test's schema, so the throwaway cluster stays small. */
static void conf_cleanup(void *arg)
{
	char sql[128];
	PGconn *c;
	(void)arg;
	if (conf_schema[0] == '\0')
		return;
	c = PQconnectdb(pg.conninfo);
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", conf_schema);
	PQsetNoticeProcessor(c, quiet, NULL);
	if (PQstatus(c) == CONNECTION_OK)
		PQclear(PQexec(c, sql));
	PQfinish(c);
}

/* ---- descriptor -------------------------------------------------------------------- */

START_TEST(test_descriptor)
{
	int saw_conninfo = 0, saw_password = 0;
	ck_assert_int_eq(plugin->kind, BC_KIND_STORE);
	ck_assert_str_eq(plugin->name, "postgres");
	ck_assert(plugin->flags & BC_PLUGIN_THREAD_SAFE);
	ck_assert_ptr_nonnull(ops->health);
	for (const struct bc_option *o = plugin->options; o->struct_size != 0; o++) {
		if (strcmp(o->name, "conninfo") == 0)
			saw_conninfo = (o->flags & BC_OPT_SECRET) != 0;
		if (strcmp(o->name, "password") == 0)
			saw_password = (o->flags & BC_OPT_SECRET) != 0;
	}
	ck_assert_msg(saw_conninfo && saw_password, "conninfo and password must be secret");
}
END_TEST

/* ---- one node: the operations ------------------------------------------------------ */

START_TEST(test_lifecycle)
{
	struct node a;
	struct bc_record r;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37], id2[37];
	enum bc_stream_state state;

	node_open(&a, "pg-a", fresh_schema(), NULL);
	make_id(id, 1);
	make_id(id2, 2);
	record_init(&r, id, "alice", 1000);
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_OK);
	/* PENDING: gettable, not listed, not stoppable. */
	ck_assert_int_eq(get_state(&a, id, &state, &err), BC_OK);
	ck_assert_int_eq(state, BC_STATE_PENDING);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, id, 2000, &sink, &err), BC_E_NOT_FOUND);
	bc_record_sink_free(&sink);
	/* A duplicate id is a conflict. */
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_E_CONFLICT);
	ck_assert_str_eq(err.code, "store.duplicate_id");
	ck_assert_int_eq(ops->commit(a.st, id, "{\"token_hash\":\"ab\"}", &err), BC_OK);
	/* commit twice: no PENDING record any more. */
	ck_assert_int_eq(ops->commit(a.st, id, "{}", &err), BC_E_NOT_FOUND);
	/* abort never deletes a LIVE record, and is idempotent. */
	ck_assert_int_eq(ops->abort(a.st, id, &err), BC_OK);
	ck_assert_int_eq(ops->abort(a.st, id2, &err), BC_OK);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->get(a.st, id, &sink, &err), BC_OK);
	ck_assert_str_eq(sink.items[0].meta, "{\"token_hash\":\"ab\"}");
	ck_assert_str_eq(sink.items[0].owner, "alice");
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_int_eq(sink.items[0].start_ms, 1000);
	ck_assert_int_eq(sink.items[0].stop_ms, 0);
	bc_record_sink_free(&sink);
	/* stop, then stop again: CONFLICT with the stored record. */
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, id, 5000, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].stop_ms, 5000);
	bc_record_sink_free(&sink);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, id, 6000, &sink, &err), BC_E_CONFLICT);
	ck_assert_str_eq(err.code, "store.already_stopped");
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].stop_ms, 5000);
	bc_record_sink_free(&sink);
	/* Unknown ids. */
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->get(a.st, id2, &sink, &err), BC_E_NOT_FOUND);
	ck_assert_int_eq(ops->stop(a.st, id2, 1, &sink, &err), BC_E_NOT_FOUND);
	ck_assert_uint_eq(sink.n, 0);
	bc_record_sink_free(&sink);
	/* An aborted PENDING record is gone. */
	record_init(&r, id2, "alice", 1000);
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_OK);
	ck_assert_int_eq(ops->abort(a.st, id2, &err), BC_OK);
	ck_assert_int_eq(get_state(&a, id2, &state, &err), BC_E_NOT_FOUND);
	/* Text the database cannot hold is a 400, not a 500. */
	record_init(&r, id2, "alice", 1000);
	r.name = "bad \xff\xfe utf-8";
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_E_INVALID);
	ck_assert_int_eq(ops->health(a.st, &err), BC_OK);
	node_close(&a);
}
END_TEST

START_TEST(test_keyset_list)
{
	struct node a;
	struct bc_list_query q;
	struct bc_record_sink sink;
	struct bc_error err;
	char ids[7][37], seen[8][37];
	size_t n_seen = 0;
	/* Ties on start_ms are broken by id, descending. */
	const int64_t starts[7] = { 100, 200, 200, 200, 300, 300, 50 };
	const char *owners[7] = { "alice", "bob", "alice", "alice", "bob", "alice", "alice" };
	struct bc_record r;

	node_open(&a, "pg-list", fresh_schema(), NULL);
	for (int i = 0; i < 6; i++) {
		make_id(ids[i], 0x100 + (unsigned)i);
		start_stream(&a, ids[i], owners[i], starts[i]);
	}
	make_id(ids[6], 0x200); /* stays PENDING */
	record_init(&r, ids[6], "alice", starts[6]);
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_OK);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, ids[1], 999, &sink, &err), BC_OK);
	bc_record_sink_free(&sink);

	/* All (LIVE + STOPPED), two at a time. */
	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.limit = 2;
	for (;;) {
		bc_record_sink_init(&sink);
		ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
		ck_assert_uint_le(sink.n, 2);
		for (size_t i = 0; i < sink.n; i++) {
			ck_assert_uint_lt(n_seen, 7);
			snprintf(seen[n_seen++], 37, "%s", sink.items[i].id);
		}
		if (sink.n < 2) {
			bc_record_sink_free(&sink);
			break;
		}
		q.after_start_ms = sink.items[1].start_ms;
		snprintf(seen[7], 37, "%s", sink.items[1].id);
		q.after_id = seen[7];
		bc_record_sink_free(&sink);
	}
	ck_assert_uint_eq(n_seen, 6);
	/* Expected order: 300s (id desc), 200s (id desc), 100. */
	ck_assert_str_eq(seen[0], strcmp(ids[4], ids[5]) > 0 ? ids[4] : ids[5]);
	ck_assert_str_eq(seen[5], ids[0]);
	for (size_t i = 2; i < 5; i++)
		ck_assert_msg(strcmp(seen[i], seen[i + 1]) > 0 || i == 4, "order at %zu", i);
	/* Filters: owner, state, PENDING only when asked. */
	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.limit = 100;
	q.owner = "bob";
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 2);
	bc_record_sink_free(&sink);
	q.owner = NULL;
	q.state = BC_STATE_STOPPED;
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, ids[1]);
	bc_record_sink_free(&sink);
	q.state = BC_STATE_PENDING;
	q.owner = "alice";
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, ids[6]);
	bc_record_sink_free(&sink);
	/* Owner + cursor. */
	q.state = BC_STATE_LIVE;
	q.after_start_ms = 200;
	q.after_id = "ffffffff-ffff-ffff-ffff-ffffffffffff";
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 3); /* alice's two at 200 and one at 100 */
	bc_record_sink_free(&sink);
	node_close(&a);
}
END_TEST

/* ---- two nodes ------------------------------------------------------------------------- */

START_TEST(test_two_nodes)
{
	struct node a, b;
	struct bc_record_sink sink;
	struct bc_error err;
	struct bc_list_query q;
	char id[37];
	const char *schema = fresh_schema();
	char schema_copy[64];

	snprintf(schema_copy, sizeof schema_copy, "%s", schema);
	node_open(&a, "node-a", schema_copy, NULL);
	node_open(&b, "node-b", schema_copy, NULL);
	make_id(id, 7);
	start_stream(&a, id, "carol", 1234);
	/* B sees it, stops it; A's stop then conflicts with B's record. */
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->get(b.st, id, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_str_eq(sink.items[0].meta, "{\"k\":\"v\"}");
	bc_record_sink_free(&sink);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(b.st, id, 4321, &sink, &err), BC_OK);
	bc_record_sink_free(&sink);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, id, 9999, &sink, &err), BC_E_CONFLICT);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].stop_ms, 4321);
	bc_record_sink_free(&sink);
	/* Both list the same. */
	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.limit = 10;
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].stop_ms, 4321);
	bc_record_sink_free(&sink);
	node_close(&a);
	node_close(&b);
}
END_TEST

#define RACERS 50

struct racer {
	struct node *n;
	const char *id;
	pthread_barrier_t *go;
	int64_t stop_ms;
	enum bc_status st;
	int64_t got_stop_ms;
	size_t got_n;
	char code[64];
};

static void *race_stop(void *arg)
{
	struct racer *r = arg;
	struct bc_record_sink sink;
	struct bc_error err;
	bc_record_sink_init(&sink);
	bc_error_clear(&err);
	pthread_barrier_wait(r->go);
	r->st = ops->stop(r->n->st, r->id, r->stop_ms, &sink, &err);
	r->got_n = sink.n;
	r->got_stop_ms = sink.n ? sink.items[0].stop_ms : -1;
	snprintf(r->code, sizeof r->code, "%s", err.code);
	bc_record_sink_free(&sink);
	return NULL;
}

START_TEST(test_concurrent_stops)
{
	struct node a, b;
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	pthread_barrier_t go;
	char id[37], schema[64];
	int ok = 0, conflict = 0;
	int64_t winner_ms = -1;
	/* Generous: under valgrind 25 callers per node queue for 8 connections. */
	const char *const pool8[] = { "pool_size", "8", "statement_timeout", "30s", NULL };

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "race-a", schema, pool8);
	node_open(&b, "race-b", schema, pool8);
	for (int round = 0; round < 3; round++) {
		make_id(id, 0x500 + (unsigned)round);
		start_stream(&a, id, "dave", 10 + round);
		pthread_barrier_init(&go, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			racers[i] = (struct racer){ .n = (i % 2) ? &b : &a, .id = id, .go = &go,
				                    .stop_ms = 100000 + i };
			ck_assert_int_eq(pthread_create(&threads[i], NULL, race_stop, &racers[i]), 0);
		}
		ok = conflict = 0;
		for (int i = 0; i < RACERS; i++)
			pthread_join(threads[i], NULL);
		pthread_barrier_destroy(&go);
		for (int i = 0; i < RACERS; i++) {
			ck_assert_msg(racers[i].st == BC_OK || racers[i].st == BC_E_CONFLICT,
			              "racer %d: status %d %s", i, racers[i].st, racers[i].code);
			ck_assert_uint_eq(racers[i].got_n, 1);
			if (racers[i].st == BC_OK) {
				ok++;
				winner_ms = racers[i].stop_ms;
				ck_assert_int_eq(racers[i].got_stop_ms, racers[i].stop_ms);
			} else {
				conflict++;
			}
		}
		ck_assert_int_eq(ok, 1);
		ck_assert_int_eq(conflict, RACERS - 1);
		/* Every loser saw the winner's record, not a stale one. */
		for (int i = 0; i < RACERS; i++)
			ck_assert_int_eq(racers[i].got_stop_ms, winner_ms);
	}
	node_close(&a);
	node_close(&b);
}
END_TEST

struct opener {
	struct node n;
	const char *schema;
	pthread_barrier_t *go;
	enum bc_status st;
	struct bc_error err;
	char name[32];
};

static void *open_node(void *arg)
{
	struct opener *o = arg;
	pthread_barrier_wait(o->go);
	o->st = node_try_open(&o->n, o->name, o->schema, NULL, &o->err);
	return NULL;
}

/* Nodes starting together against an empty database: each migrates under
 * the advisory lock, one creates, none fails. */
START_TEST(test_concurrent_migration)
{
	struct opener o[6];
	pthread_t t[6];
	pthread_barrier_t go;
	char schema[64], sql[256];
	PGconn *c;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	pthread_barrier_init(&go, NULL, 6);
	for (int i = 0; i < 6; i++) {
		memset(&o[i], 0, sizeof o[i]);
		o[i].schema = schema;
		o[i].go = &go;
		snprintf(o[i].name, sizeof o[i].name, "mig-%d", i);
		ck_assert_int_eq(pthread_create(&t[i], NULL, open_node, &o[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < 6; i++) {
		ck_assert_msg(o[i].st == BC_OK, "node %d: %s %s", i, o[i].err.code,
		              o[i].err.message);
		node_close(&o[i].n);
	}
	c = test_conn();
	snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\".schema_version", schema);
	ck_assert_int_eq(sql_long(c, sql), 1);
	snprintf(sql, sizeof sql, "SELECT max(version) FROM \"%s\".schema_version", schema);
	ck_assert_int_eq(sql_long(c, sql), 1);
	/* A database from a newer broadcastd is refused, not guessed at. */
	snprintf(sql, sizeof sql,
	         "INSERT INTO \"%s\".schema_version (version, description) VALUES (99, 'x')",
	         schema);
	sql_ok(c, sql);
	PQfinish(c);
	{
		struct node n;
		struct bc_error err;
		ck_assert_int_eq(node_try_open(&n, "newer", schema, NULL, &err), BC_E_INVALID);
		ck_assert_str_eq(err.code, "postgres.schema_too_new");
		node_close(&n);
	}
}
END_TEST

/* ---- failures ------------------------------------------------------------------------------ */

START_TEST(test_bad_config)
{
	struct node n;
	struct bc_error err;
	char conninfo[1200];
	const char *const bad_schema[] = { NULL };
	(void)bad_schema;

	ck_assert_int_eq(node_try_open(&n, "bad", "Robert'); DROP", NULL, &err), BC_E_INVALID);
	ck_assert_str_eq(err.code, "postgres.bad_schema");
	node_close(&n);
	ck_assert_int_eq(node_try_open(&n, "bad", "pg_catalog", NULL, &err), BC_E_INVALID);
	node_close(&n);

	/* A conninfo libpq cannot parse: the message must not echo it. */
	{
		const char *kv[] = { "conninfo", "host=127.0.0.1 password=hunter2secret junk",
			             NULL };
		n.sh = stubhost_new("bad", plugin->options, kv);
		n.st = NULL;
		bc_error_clear(&err);
		ck_assert_int_eq(ops->create(stubhost_api(), stubhost_host(n.sh),
		                             stubhost_config(n.sh), &n.st, &err),
		                 BC_E_INVALID);
		ck_assert_str_eq(err.code, "postgres.bad_conninfo");
		ck_assert_ptr_null(strstr(err.message, "hunter2"));
		ck_assert(!stubhost_log_contains(n.sh, "hunter2"));
		node_close(&n);
	}
	/* A wrong password: unavailable, and the password stays out of sight. */
	{
		snprintf(conninfo, sizeof conninfo,
		         "host=127.0.0.1 port=%s dbname=broadcast user=broadcast "
		         "password=wrong-Secret-42",
		         pg.port);
		const char *kv[] = { "conninfo", conninfo, NULL };
		n.sh = stubhost_new("badpw", plugin->options, kv);
		n.st = NULL;
		bc_error_clear(&err);
		ck_assert_int_eq(ops->create(stubhost_api(), stubhost_host(n.sh),
		                             stubhost_config(n.sh), &n.st, &err),
		                 BC_E_UNAVAILABLE);
		ck_assert_str_eq(err.code, "store.unavailable");
		ck_assert_ptr_null(strstr(err.message, "wrong-Secret-42"));
		ck_assert(!stubhost_log_contains(n.sh, "wrong-Secret-42"));
		ck_assert(stubhost_log_contains(n.sh, "password authentication failed"));
		node_close(&n);
	}
	/* The password as its own option, conninfo without one. */
	{
		snprintf(conninfo, sizeof conninfo,
		         "postgresql://broadcast@127.0.0.1:%s/broadcast", pg.port);
		const char *kv[] = { "conninfo", conninfo,     "password", pg.password,
			             "schema",   fresh_schema(), "sslmode",  "disable",
			             NULL };
		n.sh = stubhost_new("pwopt", plugin->options, kv);
		n.st = NULL;
		bc_error_clear(&err);
		ck_assert_msg(ops->create(stubhost_api(), stubhost_host(n.sh),
		                          stubhost_config(n.sh), &n.st, &err) == BC_OK,
		              "%s %s", err.code, err.message);
		ck_assert(stubhost_log_contains(n.sh, "fingerprint"));
		ck_assert(!stubhost_log_contains(n.sh, conninfo));
		node_close(&n);
	}
	/* Nothing listens there: unavailable, quickly. */
	{
		int64_t t0 = now_ms();
		const char *kv[] = { "conninfo", "host=127.0.0.1 port=1 dbname=x user=x", NULL };
		n.sh = stubhost_new("nobody", plugin->options, kv);
		n.st = NULL;
		bc_error_clear(&err);
		ck_assert_int_eq(ops->create(stubhost_api(), stubhost_host(n.sh),
		                             stubhost_config(n.sh), &n.st, &err),
		                 BC_E_UNAVAILABLE);
		ck_assert_int_lt(now_ms() - t0, 3000);
		node_close(&n);
	}
}
END_TEST

/* A statement waiting on a row lock past statement_timeout is a TIMEOUT, and
 * the connection stays usable. */
START_TEST(test_statement_timeout)
{
	struct node a;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37], schema[64], sql[256];
	const char *const fast[] = { "statement_timeout", "300ms", "pool_size", "1", NULL };
	PGconn *c;
	int64_t t0;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "slow", schema, fast);
	make_id(id, 0x900);
	start_stream(&a, id, "erin", 1);
	c = test_conn();
	sql_ok(c, "BEGIN");
	snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\".streams WHERE id = '%s' FOR UPDATE",
	         schema, id);
	sql_ok(c, sql);
	t0 = now_ms();
	bc_record_sink_init(&sink);
	bc_error_clear(&err);
	ck_assert_int_eq(ops->stop(a.st, id, 77, &sink, &err), BC_E_TIMEOUT);
	ck_assert_str_eq(err.code, "store.timeout");
	ck_assert_int_lt(now_ms() - t0, 2000);
	bc_record_sink_free(&sink);
	sql_ok(c, "ROLLBACK");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, id, 78, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].stop_ms, 78);
	bc_record_sink_free(&sink);
	PQfinish(c);
	node_close(&a);
}
END_TEST

struct stopper {
	struct node *n;
	const char *id;
	enum bc_status st;
	char code[64];
};

static void *do_stop(void *arg)
{
	struct stopper *s = arg;
	struct bc_record_sink sink;
	struct bc_error err;
	bc_record_sink_init(&sink);
	bc_error_clear(&err);
	s->st = ops->stop(s->n->st, s->id, 55, &sink, &err);
	snprintf(s->code, sizeof s->code, "%s", err.code);
	bc_record_sink_free(&sink);
	return NULL;
}

/* The server kills the connection while a stop waits: UNAVAILABLE, the row
 * is untouched, the next call reconnects. */
START_TEST(test_connection_killed_mid_statement)
{
	struct node a;
	struct stopper s;
	pthread_t t;
	char id[37], schema[64], sql[512];
	enum bc_stream_state state;
	struct bc_error err;
	PGconn *c;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "victim", schema, NULL);
	make_id(id, 0xa00);
	start_stream(&a, id, "frank", 1);
	c = test_conn();
	sql_ok(c, "BEGIN");
	snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\".streams WHERE id = '%s' FOR UPDATE",
	         schema, id);
	sql_ok(c, sql);
	s = (struct stopper){ .n = &a, .id = id };
	ck_assert_int_eq(pthread_create(&t, NULL, do_stop, &s), 0);
	/* Wait until the stop is blocked on our lock, then kill its backend. */
	for (int i = 0; i < 100; i++) {
		if (sql_long(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
		                "'broadcastd/victim' AND wait_event_type = 'Lock'") > 0)
			break;
		usleep(20000);
	}
	sql_ok(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
	          "application_name = 'broadcastd/victim' AND wait_event_type = 'Lock'");
	pthread_join(t, NULL);
	ck_assert_int_eq(s.st, BC_E_UNAVAILABLE);
	ck_assert_str_eq(s.code, "store.unavailable");
	sql_ok(c, "ROLLBACK");
	PQfinish(c);
	ck_assert_int_eq(get_state(&a, id, &state, &err), BC_OK);
	ck_assert_int_eq(state, BC_STATE_LIVE);
	s.st = BC_E_INTERNAL;
	do_stop(&s);
	ck_assert_int_eq(s.st, BC_OK);
	node_close(&a);
}
END_TEST

/* Server down: calls fail fast with store.unavailable and health says so;
 * back up: the same instance works again, with everything it acknowledged. */
START_TEST(test_server_restart)
{
	struct node a;
	struct bc_record r;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37], id2[37], id3[37], schema[64];
	enum bc_stream_state state;
	enum bc_status st = BC_E_INTERNAL;
	int64_t t0;
	const char *const opts[] = { "connect_timeout", "2s", NULL };

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "restart", schema, opts);
	make_id(id, 0xb00);
	make_id(id2, 0xb01);
	make_id(id3, 0xb02);
	start_stream(&a, id, "gina", 1);
	start_stream(&a, id3, "gina", 2);

	/* 1. A restart while the pool is idle costs no request: the dead
	 *    connections are noticed on acquire. A write proves it (no retry). */
	ck_assert_int_eq(cluster("restart"), 0);
	bc_record_sink_init(&sink);
	bc_error_clear(&err);
	ck_assert_msg(ops->stop(a.st, id3, 3, &sink, &err) == BC_OK, "stop after restart: %s %s",
	              err.code, err.message);
	bc_record_sink_free(&sink);

	/* 2. Down. */
	ck_assert_int_eq(cluster("stop"), 0);
	t0 = now_ms();
	ck_assert_int_eq(get_state(&a, id, &state, &err), BC_E_UNAVAILABLE);
	ck_assert_str_eq(err.code, "store.unavailable");
	ck_assert_int_eq(ops->health(a.st, &err), BC_E_UNAVAILABLE);
	record_init(&r, id2, "gina", 2);
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_E_UNAVAILABLE);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop(a.st, id, 9, &sink, &err), BC_E_UNAVAILABLE);
	bc_record_sink_free(&sink);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert(stubhost_log_contains(a.sh, "unreachable"));

	/* 3. Back (after a crash this time: immediate shutdown, recovery). */
	ck_assert_int_eq(cluster("start"), 0);
	ck_assert_int_eq(cluster("kill"), 0);
	ck_assert_int_eq(cluster("start"), 0);
	t0 = now_ms();
	while (now_ms() - t0 < 10000) {
		st = get_state(&a, id, &state, &err);
		if (st == BC_OK)
			break;
		ck_assert_int_eq(st, BC_E_UNAVAILABLE);
		usleep(100000);
	}
	ck_assert_msg(st == BC_OK, "no recovery: %s %s", err.code, err.message);
	ck_assert_int_eq(state, BC_STATE_LIVE);
	ck_assert_int_eq(get_state(&a, id3, &state, &err), BC_OK);
	ck_assert_int_eq(state, BC_STATE_STOPPED);
	ck_assert_int_eq(get_state(&a, id2, &state, &err), BC_E_NOT_FOUND);
	ck_assert_int_eq(ops->health(a.st, &err), BC_OK);
	start_stream(&a, id2, "gina", 3);
	ck_assert(stubhost_log_contains(a.sh, "reachable again"));
	node_close(&a);
}
END_TEST

/* A start cut between reserve and abort (the database went away) leaves a
 * PENDING row; a later new connection removes it once it is old. */
START_TEST(test_abandoned_pending_reaped)
{
	struct node a, b;
	struct bc_record r;
	struct bc_error err;
	enum bc_stream_state state;
	char id_old[37], id_new[37], schema[64], sql[256];
	PGconn *c;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "reap-a", schema, NULL);
	make_id(id_old, 0xd00);
	make_id(id_new, 0xd01);
	record_init(&r, id_old, "ivy", 1);
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_OK);
	record_init(&r, id_new, "ivy", 2);
	ck_assert_int_eq(ops->reserve(a.st, &r, &err), BC_OK);
	c = test_conn();
	snprintf(sql, sizeof sql,
	         "UPDATE \"%s\".streams SET updated_at = now() - interval '1 hour' WHERE id = '%s'",
	         schema, id_old);
	sql_ok(c, sql);
	PQfinish(c);
	node_open(&b, "reap-b", schema, NULL);
	ck_assert_int_eq(get_state(&b, id_old, &state, &err), BC_E_NOT_FOUND);
	ck_assert_int_eq(get_state(&b, id_new, &state, &err), BC_OK);
	ck_assert_int_eq(state, BC_STATE_PENDING);
	ck_assert_int_eq(ops->commit(a.st, id_new, "{}", &err), BC_OK);
	node_close(&a);
	node_close(&b);
}
END_TEST

struct getter {
	struct node *n;
	const char *id;
	int failures;
};

static void *many_gets(void *arg)
{
	struct getter *g = arg;
	enum bc_stream_state state;
	struct bc_error err;
	for (int i = 0; i < 50; i++)
		if (get_state(g->n, g->id, &state, &err) != BC_OK)
			g->failures++;
	return NULL;
}

/* More threads than connections: callers wait for a free one. */
START_TEST(test_pool_sharing)
{
	struct node a;
	struct getter g[8];
	pthread_t t[8];
	char id[37];
	const char *const small[] = { "pool_size", "2", NULL };
	PGconn *c;

	node_open(&a, "pool2", fresh_schema(), small);
	make_id(id, 0xc00);
	start_stream(&a, id, "hank", 1);
	for (int i = 0; i < 8; i++) {
		g[i] = (struct getter){ .n = &a, .id = id };
		ck_assert_int_eq(pthread_create(&t[i], NULL, many_gets, &g[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(g[i].failures, 0);
	}
	c = test_conn();
	ck_assert_int_le(sql_long(c, "SELECT count(*) FROM pg_stat_activity WHERE "
	                             "application_name = 'broadcastd/pool2'"),
	                 2);
	PQfinish(c);
	node_close(&a);
}
END_TEST

/* ---- main --------------------------------------------------------------------------------- */

/* Every test runs in its own process (CK_FORK): load the plugin there, where
 * Check can report a failure to load it. */
static void load_plugin(void)
{
	plugin = stubhost_load_plugin(so_path, BC_KIND_STORE, "postgres");
	ops = plugin->ops;
}

static Suite *postgres_suite(void)
{
	Suite *s = suite_create("store_postgres");
	TCase *tc = tcase_create("postgres");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, load_plugin, NULL);
	tcase_add_test(tc, test_descriptor);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_keyset_list);
	tcase_add_test(tc, test_two_nodes);
	tcase_add_test(tc, test_concurrent_stops);
	tcase_add_test(tc, test_concurrent_migration);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_statement_timeout);
	tcase_add_test(tc, test_connection_killed_mid_statement);
	tcase_add_test(tc, test_pool_sharing);
	tcase_add_test(tc, test_abandoned_pending_reaped);
	tcase_add_test(tc, test_server_restart);
	suite_add_tcase(s, tc);
	return s;
}

/* Start the cluster and read its KEY=VALUE lines. Returns 0, 77 (skip) or 1. */
static int start_cluster(void)
{
	char cmd[2048], line[2048];
	FILE *p;
	int rc;
	snprintf(cmd, sizeof cmd, "sh '%s' start", pg.script);
	p = popen(cmd, "r");
	if (p == NULL)
		return 1;
	while (fgets(line, sizeof line, p) != NULL) {
		char *v = strchr(line, '=');
		size_t len;
		if (v == NULL)
			continue;
		*v++ = '\0';
		len = strlen(v);
		while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\''))
			v[--len] = '\0';
		if (*v == '\'')
			v++;
		if (strcmp(line, "PG_DIR") == 0)
			snprintf(pg.dir, sizeof pg.dir, "%s", v);
		else if (strcmp(line, "PG_PORT") == 0)
			snprintf(pg.port, sizeof pg.port, "%s", v);
		else if (strcmp(line, "PG_PASSWORD") == 0)
			snprintf(pg.password, sizeof pg.password, "%s", v);
		else if (strcmp(line, "PG_CONNINFO") == 0)
			snprintf(pg.conninfo, sizeof pg.conninfo, "%s", v);
	}
	rc = pclose(p);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
	if (rc == 77)
		return 77;
	if (rc != 0 || pg.dir[0] == '\0' || pg.conninfo[0] == '\0' || pg.password[0] == '\0') {
		fprintf(stderr, "test_store_postgres: pg-cluster.sh start failed (exit %d)\n", rc);
		return 1;
	}
	return 0;
}

static pid_t main_pid;

/* Also on early exits; Check's forked test processes exit too and must not. */
static void destroy_cluster(void)
{
	if (getpid() == main_pid && pg.dir[0] != '\0')
		cluster("destroy");
}

int main(void)
{
	const char *srcdir = getenv("BC_SRCDIR");
	const char *builddir = getenv("BC_BUILDDIR");
	static char so[1024];
	SRunner *sr;
	int failed, rc;

	snprintf(pg.script, sizeof pg.script, "%s/tests/support/pg-cluster.sh",
	         srcdir ? srcdir : ".");
	snprintf(so, sizeof so, "%s/stores/postgres/.libs/store_postgres.so",
	         builddir ? builddir : ".");
	so_path = so;
	main_pid = getpid();
	atexit(destroy_cluster);
	rc = start_cluster();
	if (rc == 77) {
		fprintf(stderr, "test_store_postgres: SKIP: PostgreSQL's server cannot be installed "
		                "here (see pg-cluster.sh's message above)\n");
		return 77;
	}
	if (rc != 0)
		return 1;

	{
		static struct store_fixture fx;
		fx.so_path = so_path;
		fx.plugin_name = "postgres";
		fx.fresh_config = conf_fresh;
		fx.same_config = conf_same;
		fx.cleanup = conf_cleanup;
		fx.arg = NULL;
		sr = srunner_create(store_conformance_suite("store_postgres_conformance", &fx));
	}
	srunner_add_suite(sr, postgres_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
