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
 * timeouts are 504s; passwords never reach logs or messages. ABI 1.1:
 * the media state and event feed field by field, a schema-version-1
 * database upgraded in place by nodes starting together, stop_event raced
 * across two nodes (one winner, one event), and a follower of the feed that
 * misses nothing while writers on two pools race (cursor order is commit
 * order; it fails against a sequence-drawn cursor). The store
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

/* The schema version stores/postgres/pg_schema.h writes (one row per
 * migration in schema_version). */
#define SCHEMA_VERSION 3

/* The stub host's table, with the framework's event sink when the stub
 * lacks one: what the nodes of these tests are created with. */
static struct bc_host_api test_api;

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
	n->sh = stubhost_new(name, plugin, kv);
	n->st = NULL;
	bc_error_clear(err);
	return ops->create(&test_api, stubhost_host(n->sh), stubhost_config(n->sh), &n->st, err);
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
	ck_assert_int_eq(sql_long(c, sql), SCHEMA_VERSION);
	snprintf(sql, sizeof sql, "SELECT max(version) FROM \"%s\".schema_version", schema);
	ck_assert_int_eq(sql_long(c, sql), SCHEMA_VERSION);
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
		n.sh = stubhost_new("bad", plugin, kv);
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
		n.sh = stubhost_new("badpw", plugin, kv);
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
		n.sh = stubhost_new("pwopt", plugin, kv);
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
		n.sh = stubhost_new("nobody", plugin, kv);
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

/* ---- ABI 1.1: media state and the event outbox ------------------------------------------ */

static void event_init(struct bc_event *e, const char *id, const char *type, int64_t time_ms,
                       const char *owner)
{
	memset(e, 0, sizeof *e);
	e->struct_size = sizeof *e;
	e->stream_id = id;
	e->type = type;
	e->time_ms = time_ms;
	e->owner = owner;
	e->data = "{\"stream\":{}}";
	e->cursor = 999999; /* ignored: the store assigns cursor and seq */
	e->seq = 999999;
}

/* reserve + commit_event one stream; ck-asserts success. Not for threads. */
static void start_stream_event(struct node *n, const char *id, const char *owner, int64_t start)
{
	struct bc_record r;
	struct bc_event e;
	struct bc_error err;
	record_init(&r, id, owner, start);
	event_init(&e, id, "stream.started", start, owner);
	bc_error_clear(&err);
	ck_assert_msg(ops->reserve(n->st, &r, &err) == BC_OK, "reserve: %s %s", err.code,
	              err.message);
	ck_assert_msg(ops->commit_event(n->st, id, "{}", &e, &err) == BC_OK,
	              "commit_event: %s %s", err.code, err.message);
}

/* get `id` into a one-record sink (freed by the caller); ck-asserts success. */
static void get_record(struct node *n, const char *id, struct bc_record_sink *sink)
{
	struct bc_error err;
	bc_record_sink_init(sink);
	bc_error_clear(&err);
	ck_assert_msg(ops->get(n->st, id, sink, &err) == BC_OK, "get %s: %s %s", id, err.code,
	              err.message);
	ck_assert_uint_eq(sink->n, 1);
}

/* Every event after `after`, paging by `limit`, into sink (owner may be NULL). */
static void read_events(struct node *n, uint64_t after, unsigned limit, const char *owner,
                        struct bc_event_sink *sink)
{
	struct bc_event_query q;
	struct bc_error err;
	bc_event_sink_init(sink);
	for (;;) {
		size_t before = sink->n;
		memset(&q, 0, sizeof q);
		q.struct_size = sizeof q;
		q.after = after;
		q.limit = limit;
		q.owner = owner;
		bc_error_clear(&err);
		ck_assert_msg(ops->events(n->st, &q, sink, &err) == BC_OK, "events: %s %s",
		              err.code, err.message);
		ck_assert_uint_le(sink->n - before, limit);
		if (sink->n == before)
			return;
		after = sink->items[sink->n - 1].cursor;
	}
}

/* The whole 1.1 life of streams on one node, checked field by field. */
START_TEST(test_events_lifecycle)
{
	struct node a;
	struct bc_record_sink sink;
	struct bc_event_sink ev;
	struct bc_event e;
	struct bc_error err;
	struct bc_list_query q;
	char id[37], id2[37], id3[37];
	uint64_t deleted = 99, last;

	node_open(&a, "pg-ev", fresh_schema(), NULL);
	make_id(id, 0xe00);
	make_id(id2, 0xe01);
	make_id(id3, 0xe02);
	start_stream_event(&a, id, "alice", 1000);
	get_record(&a, id, &sink);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_int_eq(sink.items[0].media, BC_MEDIA_IDLE);
	ck_assert_int_eq(sink.items[0].media_ms, 1000);
	ck_assert_int_eq(sink.items[0].publish_ms, 0);
	ck_assert_uint_eq(sink.items[0].event_seq, 1);
	ck_assert_str_eq(sink.items[0].stop_reason, "");
	bc_record_sink_free(&sink);
	/* commit_event twice, or of nothing: not found, no event. */
	event_init(&e, id, "stream.started", 1000, "alice");
	ck_assert_int_eq(ops->commit_event(a.st, id, "{}", &e, &err), BC_E_NOT_FOUND);
	ck_assert_int_eq(ops->commit_event(a.st, id2, "{}", &e, &err), BC_E_NOT_FOUND);

	/* Media: publishing, the same again (conflict, nothing written), idle. */
	event_init(&e, id, "stream.publishing", 2000, "alice");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->media(a.st, id, BC_MEDIA_PUBLISHING, 2000, &e, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].media, BC_MEDIA_PUBLISHING);
	ck_assert_int_eq(sink.items[0].publish_ms, 2000);
	ck_assert_int_eq(sink.items[0].media_ms, 2000);
	ck_assert_uint_eq(sink.items[0].event_seq, 2);
	bc_record_sink_free(&sink);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->media(a.st, id, BC_MEDIA_PUBLISHING, 2500, &e, &sink, &err),
	                 BC_E_CONFLICT);
	bc_record_sink_free(&sink);
	ck_assert_int_eq(ops->media(a.st, id2, BC_MEDIA_PUBLISHING, 2500, &e, &sink, &err),
	                 BC_E_NOT_FOUND);
	ck_assert_int_eq(ops->media(a.st, id, (enum bc_media_state)7, 2500, &e, &sink, &err),
	                 BC_E_INVALID);
	event_init(&e, id, "stream.idle", 3000, "alice");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->media(a.st, id, BC_MEDIA_IDLE, 3000, &e, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].media, BC_MEDIA_IDLE);
	ck_assert_int_eq(sink.items[0].publish_ms, 2000); /* when publishing last began */
	ck_assert_int_eq(sink.items[0].media_ms, 3000);
	ck_assert_uint_eq(sink.items[0].event_seq, 3);
	bc_record_sink_free(&sink);

	/* The list's media filter: LIVE records in that state only. */
	start_stream_event(&a, id2, "bob", 1100);
	event_init(&e, id2, "stream.publishing", 2100, "bob");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->media(a.st, id2, BC_MEDIA_PUBLISHING, 2100, &e, &sink, &err), BC_OK);
	bc_record_sink_free(&sink);
	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.limit = 10;
	q.media = BC_MEDIA_PUBLISHING;
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, id2);
	bc_record_sink_free(&sink);
	q.media = BC_MEDIA_IDLE;
	q.owner = "alice";
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].id, id);
	bc_record_sink_free(&sink);

	/* stop_event: the reason and the event; a second one writes nothing. */
	event_init(&e, id, "stream.stopped", 4000, "alice");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop_event(a.st, id, 4000, "idle_timeout", &e, &sink, &err), BC_OK);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].media, BC_MEDIA_IDLE); /* as it was at stop */
	ck_assert_str_eq(sink.items[0].stop_reason, "idle_timeout");
	ck_assert_uint_eq(sink.items[0].event_seq, 4);
	bc_record_sink_free(&sink);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop_event(a.st, id, 5000, "api", &e, &sink, &err), BC_E_CONFLICT);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_str_eq(sink.items[0].stop_reason, "idle_timeout");
	ck_assert_int_eq(sink.items[0].stop_ms, 4000);
	bc_record_sink_free(&sink);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->media(a.st, id, BC_MEDIA_PUBLISHING, 5000, &e, &sink, &err),
	                 BC_E_CONFLICT);
	ck_assert_int_eq(ops->stop_event(a.st, id3, 5000, "api", &e, &sink, &err), BC_E_NOT_FOUND);
	bc_record_sink_free(&sink);
	/* A media filter with another state: nothing. */
	q.owner = NULL;
	q.state = BC_STATE_STOPPED;
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->list(a.st, &q, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.n, 0);
	bc_record_sink_free(&sink);

	/* The feed: cursor order, seq per stream, owner, after, limit. */
	read_events(&a, 0, 2, NULL, &ev);
	ck_assert_uint_eq(ev.n, 6);
	for (size_t i = 0; i < ev.n; i++) {
		ck_assert_uint_eq(ev.items[i].cursor, i + 1); /* a fresh counter: 1, 2, ... */
		ck_assert_str_eq(ev.items[i].data, "{\"stream\":{}}");
	}
	ck_assert_str_eq(ev.items[0].type, "stream.started");
	ck_assert_str_eq(ev.items[0].stream_id, id);
	ck_assert_uint_eq(ev.items[0].seq, 1);
	ck_assert_str_eq(ev.items[5].type, "stream.stopped");
	ck_assert_uint_eq(ev.items[5].seq, 4);
	ck_assert_int_eq(ev.items[5].time_ms, 4000);
	ck_assert_str_eq(ev.items[5].owner, "alice");
	last = ev.items[5].cursor;
	bc_event_sink_free(&ev);
	read_events(&a, 0, 100, "bob", &ev);
	ck_assert_uint_eq(ev.n, 2);
	ck_assert_uint_eq(ev.items[1].seq, 2);
	bc_event_sink_free(&ev);
	read_events(&a, 4, 100, NULL, &ev);
	ck_assert_uint_eq(ev.n, 2);
	bc_event_sink_free(&ev);

	/* Prune by count, then by age; cursors go on from where they were. */
	ck_assert_int_eq(ops->events_prune(a.st, 0, 4, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 2);
	ck_assert_int_eq(ops->events_prune(a.st, 0, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 0);
	ck_assert_int_eq(ops->events_prune(a.st, 3001, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 3); /* 3000, 1100 and 2100; 4000 stays */
	read_events(&a, 0, 100, NULL, &ev);
	ck_assert_uint_eq(ev.n, 1);
	ck_assert_uint_eq(ev.items[0].cursor, last);
	bc_event_sink_free(&ev);
	ck_assert_int_eq(ops->events_prune(a.st, INT64_MAX, 0, &deleted, &err), BC_OK);
	ck_assert_uint_eq(deleted, 1);
	start_stream_event(&a, id3, "carol", 1200);
	read_events(&a, 0, 100, NULL, &ev);
	ck_assert_uint_eq(ev.n, 1);
	ck_assert_uint_eq(ev.items[0].cursor, last + 1);
	bc_event_sink_free(&ev);
	node_close(&a);
}
END_TEST

/* The version-1 layout as broadcastd 1.0 created it, with rows in it. */
static void make_v1_schema(PGconn *c, const char *schema, const char *live, const char *stopped,
                           const char *pending)
{
	char sql[2048];
	snprintf(sql, sizeof sql,
	         "CREATE SCHEMA \"%1$s\";"
	         "CREATE TABLE \"%1$s\".schema_version (version integer PRIMARY KEY,"
	         " description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
	         "INSERT INTO \"%1$s\".schema_version (version, description) VALUES (1, 'v1');"
	         "CREATE TABLE \"%1$s\".streams (id text COLLATE \"C\" NOT NULL PRIMARY KEY,"
	         " name text NOT NULL, type text NOT NULL, provider text NOT NULL,"
	         " owner text NOT NULL, state smallint NOT NULL CHECK (state IN (1, 2, 3)),"
	         " start_ms bigint NOT NULL, stop_ms bigint NOT NULL DEFAULT 0,"
	         " meta text NOT NULL DEFAULT '{}',"
	         " updated_at timestamptz NOT NULL DEFAULT now());"
	         "CREATE INDEX streams_recent ON \"%1$s\".streams (start_ms DESC, id DESC);"
	         "CREATE INDEX streams_by_state ON \"%1$s\".streams (state, start_ms DESC, id DESC);"
	         "CREATE INDEX streams_by_owner ON \"%1$s\".streams"
	         " (owner, state, start_ms DESC, id DESC)",
	         schema);
	sql_ok(c, sql);
	snprintf(sql, sizeof sql,
	         "INSERT INTO \"%s\".streams (id, name, type, provider, owner, state, start_ms,"
	         " stop_ms, meta) VALUES ('%s', 'n', 'hls', 'test', 'olga', 2, 1000, 0, '{\"a\":1}'),"
	         " ('%s', 'n', 'hls', 'test', 'olga', 3, 1001, 2002, '{}'),"
	         " ('%s', 'n', 'hls', 'test', 'olga', 1, 1002, 0, '{}')",
	         schema, live, stopped, pending);
	sql_ok(c, sql);
}

/* A database of broadcast 1.0 (schema version 1, streams in every state)
 * upgrades in place, by several nodes starting at once: one migrates, the
 * records keep every field, LIVE ones become IDLE with the media timer
 * starting at the upgrade, and the 1.1 ops work on them. */
START_TEST(test_migrate_from_v1)
{
	struct opener o[4];
	pthread_t t[4];
	pthread_barrier_t go;
	struct bc_record_sink sink;
	struct bc_event_sink ev;
	struct bc_event e;
	struct bc_error err;
	char schema[64], sql[256], live[37], stopped[37], pending[37];
	int64_t t0, t1;
	int migrated = 0;
	PGconn *c;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	make_id(live, 0xf00);
	make_id(stopped, 0xf01);
	make_id(pending, 0xf02);
	c = test_conn();
	make_v1_schema(c, schema, live, stopped, pending);
	t0 = sql_long(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint");
	pthread_barrier_init(&go, NULL, 4);
	for (int i = 0; i < 4; i++) {
		memset(&o[i], 0, sizeof o[i]);
		o[i].schema = schema;
		o[i].go = &go;
		snprintf(o[i].name, sizeof o[i].name, "up-%d", i);
		ck_assert_int_eq(pthread_create(&t[i], NULL, open_node, &o[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	t1 = sql_long(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint");
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(o[i].st == BC_OK, "node %d: %s %s", i, o[i].err.code,
		              o[i].err.message);
		migrated += stubhost_log_contains(o[i].n.sh, "(migrated)");
	}
	ck_assert_int_eq(migrated, 1);
	snprintf(sql, sizeof sql, "SELECT max(version) FROM \"%s\".schema_version", schema);
	ck_assert_int_eq(sql_long(c, sql), SCHEMA_VERSION);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\".schema_version", schema);
	ck_assert_int_eq(sql_long(c, sql), SCHEMA_VERSION);

	get_record(&o[0].n, live, &sink);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_str_eq(sink.items[0].meta, "{\"a\":1}");
	ck_assert_int_eq(sink.items[0].start_ms, 1000);
	ck_assert_int_eq(sink.items[0].media, BC_MEDIA_IDLE);
	ck_assert_int_ge(sink.items[0].media_ms, t0);
	ck_assert_int_le(sink.items[0].media_ms, t1);
	ck_assert_int_eq(sink.items[0].publish_ms, 0);
	ck_assert_uint_eq(sink.items[0].event_seq, 0);
	bc_record_sink_free(&sink);
	get_record(&o[1].n, stopped, &sink);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_STOPPED);
	ck_assert_int_eq(sink.items[0].stop_ms, 2002);
	ck_assert_int_eq(sink.items[0].media, 0); /* not known */
	ck_assert_str_eq(sink.items[0].stop_reason, "");
	bc_record_sink_free(&sink);

	/* The 1.1 ops on rows from 1.0: a migrated stream's first event is 1. */
	event_init(&e, pending, "stream.started", 1002, "olga");
	ck_assert_int_eq(ops->commit_event(o[2].n.st, pending, "{}", &e, &err), BC_OK);
	event_init(&e, live, "stream.publishing", 5000, "olga");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->media(o[3].n.st, live, BC_MEDIA_PUBLISHING, 5000, &e, &sink, &err),
	                 BC_OK);
	ck_assert_uint_eq(sink.items[0].event_seq, 1);
	bc_record_sink_free(&sink);
	event_init(&e, live, "stream.stopped", 6000, "olga");
	bc_record_sink_init(&sink);
	ck_assert_int_eq(ops->stop_event(o[0].n.st, live, 6000, "api", &e, &sink, &err), BC_OK);
	ck_assert_uint_eq(sink.items[0].event_seq, 2);
	ck_assert_int_eq(sink.items[0].media, BC_MEDIA_PUBLISHING);
	bc_record_sink_free(&sink);
	read_events(&o[1].n, 0, 10, "olga", &ev);
	ck_assert_uint_eq(ev.n, 3);
	ck_assert_str_eq(ev.items[0].stream_id, pending);
	ck_assert_uint_eq(ev.items[0].seq, 1);
	ck_assert_str_eq(ev.items[2].type, "stream.stopped");
	ck_assert_uint_eq(ev.items[2].seq, 2);
	bc_event_sink_free(&ev);
	for (int i = 0; i < 4; i++)
		node_close(&o[i].n);
	/* Reopening finds nothing left to do. */
	{
		struct node n;
		node_open(&n, "up-again", schema, NULL);
		ck_assert(!stubhost_log_contains(n.sh, "(migrated)"));
		node_close(&n);
	}
	PQfinish(c);
}
END_TEST

struct ev_racer {
	struct node *n;
	const char *id;
	pthread_barrier_t *go;
	int64_t stop_ms;
	const char *reason;
	enum bc_status st;
	char stop_reason[32];
	size_t got_n;
	char code[64];
};

static void *race_stop_event(void *arg)
{
	struct ev_racer *r = arg;
	struct bc_record_sink sink;
	struct bc_event e;
	struct bc_error err;
	bc_record_sink_init(&sink);
	bc_error_clear(&err);
	event_init(&e, r->id, "stream.stopped", r->stop_ms, "dave");
	pthread_barrier_wait(r->go);
	r->st = ops->stop_event(r->n->st, r->id, r->stop_ms, r->reason, &e, &sink, &err);
	r->got_n = sink.n;
	snprintf(r->stop_reason, sizeof r->stop_reason, "%s",
	         sink.n && sink.items[0].stop_reason ? sink.items[0].stop_reason : "?");
	snprintf(r->code, sizeof r->code, "%s", err.code);
	bc_record_sink_free(&sink);
	return NULL;
}

/* stop_event raced by 50 callers on two nodes: one winner, one event. */
START_TEST(test_stop_event_race_two_nodes)
{
	static const char *const reasons[] = { "api", "idle_timeout", "max_duration", "provider" };
	struct node a, b;
	struct ev_racer racers[RACERS];
	pthread_t threads[RACERS];
	pthread_barrier_t go;
	struct bc_event_sink ev;
	char ids[3][37], schema[64], sql[256];
	const char *const pool8[] = { "pool_size", "8", "statement_timeout", "30s", NULL };
	PGconn *c;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "evrace-a", schema, pool8);
	node_open(&b, "evrace-b", schema, pool8);
	for (int round = 0; round < 3; round++) {
		int ok = 0, winner = -1;
		make_id(ids[round], 0x600 + (unsigned)round);
		start_stream_event(&a, ids[round], "dave", 10 + round);
		pthread_barrier_init(&go, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			racers[i] = (struct ev_racer){ .n = (i % 2) ? &b : &a, .id = ids[round],
				                       .go = &go, .stop_ms = 100000 + i,
				                       .reason = reasons[i % 4] };
			ck_assert_int_eq(
			        pthread_create(&threads[i], NULL, race_stop_event, &racers[i]), 0);
		}
		for (int i = 0; i < RACERS; i++)
			pthread_join(threads[i], NULL);
		pthread_barrier_destroy(&go);
		for (int i = 0; i < RACERS; i++) {
			ck_assert_msg(racers[i].st == BC_OK || racers[i].st == BC_E_CONFLICT,
			              "racer %d: status %d %s", i, racers[i].st, racers[i].code);
			ck_assert_uint_eq(racers[i].got_n, 1);
			if (racers[i].st == BC_OK) {
				ok++;
				winner = i;
			}
		}
		ck_assert_int_eq(ok, 1);
		/* Losers saw the winner's reason. */
		for (int i = 0; i < RACERS; i++)
			ck_assert_str_eq(racers[i].stop_reason, reasons[winner % 4]);
		read_events(&b, 0, 100, NULL, &ev);
		ck_assert_uint_eq(ev.n, 2 * ((size_t)round + 1));
		ck_assert_str_eq(ev.items[ev.n - 1].type, "stream.stopped");
		ck_assert_str_eq(ev.items[ev.n - 1].stream_id, ids[round]);
		ck_assert_uint_eq(ev.items[ev.n - 1].seq, 2);
		ck_assert_int_eq(ev.items[ev.n - 1].time_ms, racers[winner].stop_ms);
		bc_event_sink_free(&ev);
	}
	c = test_conn();
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM \"%s\".events WHERE type = 'stream.stopped'", schema);
	ck_assert_int_eq(sql_long(c, sql), 3);
	PQfinish(c);
	node_close(&a);
	node_close(&b);
}
END_TEST

/* ---- batched writes (pg_batch.h) ------------------------------------------------------------ */

#define BW_WRITERS 12

struct bw_writer {
	struct node *n;
	char id[37];
	const char *meta;
	volatile int *queued;
	pthread_mutex_t *mu;
	enum bc_status st;
	char code[64];
};

static void *bw_commit(void *arg)
{
	struct bw_writer *w = arg;
	struct bc_event e;
	struct bc_error err;
	event_init(&e, w->id, "stream.started", 1000, "bob");
	bc_error_clear(&err);
	pthread_mutex_lock(w->mu);
	(*w->queued)++;
	pthread_mutex_unlock(w->mu);
	w->st = ops->commit_event(w->n->st, w->id, w->meta, &e, &err);
	snprintf(w->code, sizeof w->code, "%s", w->st == BC_OK ? "" : err.code);
	return NULL;
}

/* Hold the event counter's lock from another connection while BW_WRITERS
 * commits queue behind it, release it, and return the transactions the
 * store ran for them. w[bad] gets meta that is not UTF-8 (bad < 0: none). */
static uint64_t bw_run(struct node *a, const char *schema, struct bw_writer *w, int bad)
{
	PGconn *c = test_conn();
	pthread_t t[BW_WRITERS];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	volatile int queued = 0;
	uint64_t tx0;
	char sql[256];

	for (int i = 0; i < BW_WRITERS; i++) {
		struct bc_record r;
		struct bc_error err;
		make_id(w[i].id, 0x5000 + (unsigned)i);
		record_init(&r, w[i].id, "bob", 1000);
		bc_error_clear(&err);
		ck_assert_msg(ops->reserve(a->st, &r, &err) == BC_OK, "reserve: %s", err.code);
		w[i].n = a;
		w[i].meta = i == bad ? "{\"k\":\"\xff\xfe\"}" : "{}";
		w[i].queued = &queued;
		w[i].mu = &mu;
	}
	tx0 = stubhost_counter(a->sh, "postgres_write_transactions_total", NULL);
	sql_ok(c, "BEGIN");
	snprintf(sql, sizeof sql, "SELECT last_cursor FROM \"%s\".event_counter FOR UPDATE", schema);
	sql_ok(c, sql);
	for (int i = 0; i < BW_WRITERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, bw_commit, &w[i]), 0);
	/* Every writer is about to queue; give the last ones time to. */
	for (;;) {
		int n;
		pthread_mutex_lock(&mu);
		n = queued;
		pthread_mutex_unlock(&mu);
		if (n == BW_WRITERS)
			break;
		usleep(1000);
	}
	usleep(300 * 1000);
	sql_ok(c, "COMMIT");
	for (int i = 0; i < BW_WRITERS; i++)
		pthread_join(t[i], NULL);
	PQfinish(c);
	return stubhost_counter(a->sh, "postgres_write_transactions_total", NULL) - tx0;
}

/* Writes that arrive while one runs go together in the next transaction,
 * and each caller gets its own answer. */
START_TEST(test_writes_batched)
{
	struct node a;
	struct bw_writer w[BW_WRITERS];
	struct bc_event_sink ev;
	char schema[64];
	uint64_t tx;

	memset(w, 0, sizeof w);
	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "postgres", schema, NULL);
	tx = bw_run(&a, schema, w, -1);
	for (int i = 0; i < BW_WRITERS; i++)
		ck_assert_msg(w[i].st == BC_OK, "commit %d: %d %s", i, w[i].st, w[i].code);
	/* One for the writer that found the lock held, one for all the others. */
	ck_assert_msg(tx <= 2, "%llu transactions for %d writes queued together",
	              (unsigned long long)tx, BW_WRITERS);
	read_events(&a, 0, 100, NULL, &ev);
	ck_assert_uint_eq(ev.n, BW_WRITERS);
	for (size_t i = 0; i < ev.n; i++)
		ck_assert_uint_eq(ev.items[i].cursor, i + 1);
	bc_event_sink_free(&ev);
	node_close(&a);
}
END_TEST

/* A write the database refuses rolls its batch back; every other write of
 * that batch is then done alone and succeeds, and only the bad one fails. */
START_TEST(test_batch_failure_isolated)
{
	struct node a;
	struct bw_writer w[BW_WRITERS];
	struct bc_event_sink ev;
	enum bc_stream_state state;
	struct bc_error err;
	char schema[64];
	const int bad = 7;

	memset(w, 0, sizeof w);
	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "postgres", schema, NULL);
	bw_run(&a, schema, w, bad);
	for (int i = 0; i < BW_WRITERS; i++) {
		if (i == bad) {
			ck_assert_msg(w[i].st == BC_E_INVALID && strcmp(w[i].code, "store.bad_value") == 0,
			              "the bad commit answered %d %s", w[i].st, w[i].code);
			ck_assert_int_eq(get_state(&a, w[i].id, &state, &err), BC_OK);
			ck_assert_int_eq(state, BC_STATE_PENDING);
		} else {
			ck_assert_msg(w[i].st == BC_OK, "commit %d: %d %s", i, w[i].st, w[i].code);
			ck_assert_int_eq(get_state(&a, w[i].id, &state, &err), BC_OK);
			ck_assert_int_eq(state, BC_STATE_LIVE);
		}
	}
	read_events(&a, 0, 100, NULL, &ev);
	ck_assert_uint_eq(ev.n, BW_WRITERS - 1);
	for (size_t i = 0; i < ev.n; i++) {
		ck_assert_uint_eq(ev.items[i].cursor, i + 1); /* the rollback left no gap */
		ck_assert_str_ne(ev.items[i].stream_id, w[bad].id);
	}
	bc_event_sink_free(&ev);
	node_close(&a);
}
END_TEST

/* The writes of a start and a stop find their row by the primary key only,
 * also on a new, empty table (see BY_ID_IN_STATE in pg_schema.c): a plan
 * through streams_by_state walked every dead entry of a state as the table
 * grew. Counted by the server's own index statistics. */
START_TEST(test_writes_use_primary_key)
{
	static const char *const pool_of_one[] = { "pool_size", "1", NULL };
	struct node a;
	PGconn *c;
	char schema[64], sql[512];
	long by_state0, pkey0, by_state, pkey = 0;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "postgres", schema, pool_of_one);
	c = test_conn();
	snprintf(sql, sizeof sql,
	         "SELECT coalesce(sum(idx_scan) FILTER (WHERE indexrelname = 'streams_by_state'), 0)"
	         " * 1000000000 + coalesce(sum(idx_scan) FILTER (WHERE indexrelname = "
	         "'streams_pkey'), 0) FROM pg_stat_user_indexes WHERE schemaname = '%s'", schema);
	{
		long v = sql_long(c, sql);
		by_state0 = v / 1000000000;
		pkey0 = v % 1000000000;
	}
	for (unsigned i = 0; i < 60; i++) {
		struct bc_record_sink sink;
		struct bc_event e;
		struct bc_error err;
		char id[37];
		make_id(id, 0x7000 + i);
		start_stream_event(&a, id, "pat", 1000 + i);
		event_init(&e, id, "stream.stopped", 2000 + i, "pat");
		bc_record_sink_init(&sink);
		bc_error_clear(&err);
		ck_assert_msg(ops->stop_event(a.st, id, 2000 + i, "api", &e, &sink, &err) == BC_OK,
		              "stop_event: %s", err.code);
		bc_record_sink_free(&sink);
	}
	/* A backend reports its statistics within a second of going idle. */
	for (int tries = 0; tries < 100; tries++) {
		long v;
		PQclear(PQexec(c, "SELECT pg_stat_clear_snapshot()"));
		v = sql_long(c, sql);
		by_state = v / 1000000000;
		pkey = v % 1000000000;
		if (pkey - pkey0 >= 120)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(pkey - pkey0 >= 120, "the primary key served %ld lookups, not 120+",
	              pkey - pkey0);
	/* Each new connection reaps abandoned PENDING rows through
	 * streams_by_state (one, with a pool of one); without BY_ID_IN_STATE
	 * every commit and stop used it too. */
	ck_assert_msg(by_state - by_state0 <= 2, "streams_by_state served %ld writes",
	              by_state - by_state0);
	PQfinish(c);
	node_close(&a);
}
END_TEST

/* ---- cursor order under concurrent writers on two pools ------------------------------------ */

#define CW_WRITERS 8  /* per pair of nodes: 4 on each */
#define CW_ROUNDS 40  /* streams per writer, 4 events each */
#define CW_EVENTS (CW_WRITERS * CW_ROUNDS * 4)

struct cw_writer {
	struct node *n;
	unsigned tag;
	int failures;
	char what[1024];
};

static void cw_fail(struct cw_writer *w, const char *op, enum bc_status st,
                    const struct bc_error *err)
{
	if (w->failures++ == 0)
		snprintf(w->what, sizeof w->what, "%s: %d %s %s", op, st, err->code, err->message);
}

static void *cw_write(void *arg)
{
	struct cw_writer *w = arg;
	for (unsigned i = 0; i < CW_ROUNDS; i++) {
		struct bc_record r;
		struct bc_event e;
		struct bc_error err;
		struct bc_record_sink sink;
		enum bc_status st;
		char id[37];
		snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", w->tag, i);
		record_init(&r, id, "walt", 1000 + i);
		bc_error_clear(&err);
		if ((st = ops->reserve(w->n->st, &r, &err)) != BC_OK) {
			cw_fail(w, "reserve", st, &err);
			continue;
		}
		event_init(&e, id, "stream.started", 1000 + i, "walt");
		if ((st = ops->commit_event(w->n->st, id, "{}", &e, &err)) != BC_OK) {
			cw_fail(w, "commit_event", st, &err);
			continue;
		}
		bc_record_sink_init(&sink);
		event_init(&e, id, "stream.publishing", 2000 + i, "walt");
		if ((st = ops->media(w->n->st, id, BC_MEDIA_PUBLISHING, 2000 + i, &e, &sink,
		                     &err)) != BC_OK)
			cw_fail(w, "media publishing", st, &err);
		event_init(&e, id, "stream.idle", 3000 + i, "walt");
		if ((st = ops->media(w->n->st, id, BC_MEDIA_IDLE, 3000 + i, &e, &sink, &err)) !=
		    BC_OK)
			cw_fail(w, "media idle", st, &err);
		event_init(&e, id, "stream.stopped", 4000 + i, "walt");
		if ((st = ops->stop_event(w->n->st, id, 4000 + i, "api", &e, &sink, &err)) != BC_OK)
			cw_fail(w, "stop_event", st, &err);
		bc_record_sink_free(&sink);
	}
	return NULL;
}

struct cw_reader {
	struct node *n;
	volatile int *done;
	unsigned char seen[CW_EVENTS + 1];
	size_t n_seen, polls;
	int out_of_order, failures, beyond;
	char what[1024];
};

/* Follow the feed by cursor as an application would, while the writers
 * run: every event it is ever going to see must come after the last one it
 * saw, so at the end it must have seen every event. */
static void *cw_read(void *arg)
{
	struct cw_reader *r = arg;
	uint64_t after = 0;
	int idle_after_done = 0;
	while (idle_after_done < 2) {
		struct bc_event_query q;
		struct bc_event_sink sink;
		struct bc_error err;
		enum bc_status st;
		int was_done = *r->done;
		memset(&q, 0, sizeof q);
		q.struct_size = sizeof q;
		q.after = after;
		q.limit = 7; /* small pages: more polls, more chances to see a gap */
		bc_event_sink_init(&sink);
		bc_error_clear(&err);
		st = ops->events(r->n->st, &q, &sink, &err);
		r->polls++;
		if (st != BC_OK) {
			if (r->failures++ == 0)
				snprintf(r->what, sizeof r->what, "events: %d %s", st, err.code);
		}
		for (size_t i = 0; i < sink.n; i++) {
			uint64_t cur = sink.items[i].cursor;
			if (cur <= after)
				r->out_of_order++;
			after = cur;
			if (cur > CW_EVENTS) {
				r->beyond++;
				continue;
			}
			if (!r->seen[cur])
				r->n_seen++;
			r->seen[cur] = 1;
		}
		if (sink.n == 0 && was_done)
			idle_after_done++;
		bc_event_sink_free(&sink);
	}
	return NULL;
}

START_TEST(test_cursor_order_two_pools)
{
	struct node a, b, rd;
	struct cw_writer w[CW_WRITERS];
	struct cw_reader *r;
	pthread_t wt[CW_WRITERS], rt;
	struct bc_event_sink ev;
	char schema[64];
	volatile int done = 0;
	const char *const pool4[] = { "pool_size", "4", "statement_timeout", "30s", NULL };
	uint64_t seq_of[CW_WRITERS][CW_ROUNDS];
	size_t missed = 0;

	snprintf(schema, sizeof schema, "%s", fresh_schema());
	node_open(&a, "order-a", schema, pool4);
	node_open(&b, "order-b", schema, pool4);
	node_open(&rd, "order-reader", schema, NULL);
	r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	r->n = &rd;
	r->done = &done;
	ck_assert_int_eq(pthread_create(&rt, NULL, cw_read, r), 0);
	for (int i = 0; i < CW_WRITERS; i++) {
		w[i] = (struct cw_writer){ .n = (i % 2) ? &b : &a, .tag = 0x700u + (unsigned)i };
		ck_assert_int_eq(pthread_create(&wt[i], NULL, cw_write, &w[i]), 0);
	}
	for (int i = 0; i < CW_WRITERS; i++)
		pthread_join(wt[i], NULL);
	done = 1;
	pthread_join(rt, NULL);
	for (int i = 0; i < CW_WRITERS; i++)
		ck_assert_msg(w[i].failures == 0, "writer %d: %d failures, first %s", i,
		              w[i].failures, w[i].what);
	ck_assert_msg(r->failures == 0, "reader: %d failures, first %s", r->failures, r->what);
	ck_assert_int_eq(r->out_of_order, 0);
	ck_assert_int_eq(r->beyond, 0);

	/* Every event is there once, cursors 1..N without a gap, seq 1..4 per
	 * stream in cursor order; and the follower saw every one of them. */
	read_events(&rd, 0, 1000, NULL, &ev);
	ck_assert_uint_eq(ev.n, CW_EVENTS);
	memset(seq_of, 0, sizeof seq_of);
	for (size_t i = 0; i < ev.n; i++) {
		unsigned tag = 0, round = 0;
		ck_assert_uint_eq(ev.items[i].cursor, i + 1);
		if (!r->seen[ev.items[i].cursor])
			missed++;
		ck_assert_int_eq(sscanf(ev.items[i].stream_id, "%8x-0000-4000-8000-%12x", &tag,
		                        &round),
		                 2);
		ck_assert_uint_ge(tag, 0x700);
		ck_assert_uint_lt(tag - 0x700, CW_WRITERS);
		ck_assert_uint_lt(round, CW_ROUNDS);
		ck_assert_uint_eq(ev.items[i].seq, seq_of[tag - 0x700][round] + 1);
		seq_of[tag - 0x700][round] = ev.items[i].seq;
	}
	ck_assert_msg(missed == 0 && r->n_seen == CW_EVENTS,
	              "the follower missed %zu events (saw %zu of %d in %zu polls): a smaller "
	              "cursor became visible after a larger one",
	              missed, r->n_seen, CW_EVENTS, r->polls);
	bc_event_sink_free(&ev);
	free(r);
	node_close(&a);
	node_close(&b);
	node_close(&rd);
}
END_TEST

/* ---- main --------------------------------------------------------------------------------- */

/* Every test runs in its own process (CK_FORK): load the plugin there, where
 * Check can report a failure to load it. */
static void load_plugin(void)
{
	plugin = stubhost_load_plugin(so_path, BC_KIND_STORE, "postgres");
	ops = plugin->ops;
	test_api = *stubhost_api();
	if (test_api.event_put == NULL)
		test_api.event_put = bc_event_put;
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
	tcase_add_test(tc, test_events_lifecycle);
	tcase_add_test(tc, test_migrate_from_v1);
	tcase_add_test(tc, test_stop_event_race_two_nodes);
	tcase_add_test(tc, test_cursor_order_two_pools);
	tcase_add_test(tc, test_writes_batched);
	tcase_add_test(tc, test_batch_failure_isolated);
	tcase_add_test(tc, test_writes_use_primary_key);
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
