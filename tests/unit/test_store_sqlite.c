/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_sqlite.c: Check tests of the `sqlite` store
 * (stores/sqlite/), loaded from store_sqlite.so through its entry symbol by
 * the stub host. Runs the store conformance suite
 * (tests/support/store_conformance.h) on a new file in a temp folder per
 * test, then what only SQLite has: the schema version in user_version, a
 * file from a newer version refused, WAL mode, file mode 0600, the error
 * for a missing folder, a file that is not a database, and a write lock
 * held by another process turning into 503 sqlite.busy, and two instances
 * on one file (two daemons) racing to stop the same streams; since schema
 * version 3 (ABI 1.1) the migration of a version-2 file, a change rolled
 * back when its event cannot be written, and group commit of the event ops;
 * schema version 4 adds the webhooks' delivery cursors (their behaviour is
 * the conformance suite's).
 *
 * The .so is found at $SQLITE_STORE_SO, else the build tree's path baked
 * in by stores/sqlite/local.mk.
 *
 * It also runs the conformance suite on the test store `memory`
 * (tests/plugins/store_memory.c, which the host's unit tests use), minus
 * what needs a reopen: $MEMORY_STORE_SO, else store_memory.so of the same
 * build tree.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_conformance.h"
#include "stubhost.h"
#include "../../stores/sqlite/sqlite_schema.h"

#ifndef BC_STORE_SQLITE_SO
#define BC_STORE_SQLITE_SO "stores/sqlite/.libs/store_sqlite.so"
#endif

struct sqlite_fx {
	char dir[256];
	char path[320];
	const char *kv[8];
};

static struct sqlite_fx fx_state;

static const char *so_path(void)
{
	const char *env = getenv("SQLITE_STORE_SO");
	return env != NULL && env[0] != '\0' ? env : BC_STORE_SQLITE_SO;
}

static void fx_cleanup(void *arg)
{
	struct sqlite_fx *f = arg;
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[400];

	if (f->dir[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	rmdir(f->dir);
	f->dir[0] = '\0';
}

static const char *const *fx_same(void *arg)
{
	struct sqlite_fx *f = arg;
	f->kv[0] = "path";
	f->kv[1] = f->path;
	f->kv[2] = NULL;
	return f->kv;
}

static const char *const *fx_fresh(void *arg)
{
	struct sqlite_fx *f = arg;
	const char *tmp = getenv("TMPDIR");

	fx_cleanup(f);
	snprintf(f->dir, sizeof f->dir, "%s/bc-sqlite-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/streams.db", f->dir);
	return fx_same(f);
}

static const struct store_fixture sqlite_fixture = {
	.plugin_name = "sqlite",
	.fresh_config = fx_fresh,
	.same_config = fx_same,
	.cleanup = fx_cleanup,
	.arg = &fx_state,
};

/* ---- helpers for the SQLite-only tests ------------------------------------ */

struct one {
	const struct bc_plugin *plugin;
	const struct bc_store_ops *ops;
	struct stubhost *sh;
	void *inst;
	struct bc_error err;
};

/* Create a store on kv; returns create()'s status (err in o->err). */
static enum bc_status one_open(struct one *o, const char *const *kv)
{
	enum bc_status st;

	memset(o, 0, sizeof *o);
	o->plugin = stubhost_load_plugin(so_path(), BC_KIND_STORE, "sqlite");
	o->ops = o->plugin->ops;
	o->sh = stubhost_new("sqlite", o->plugin, kv);
	st = o->ops->create(stubhost_api(), stubhost_host(o->sh), stubhost_config(o->sh),
	                    &o->inst, &o->err);
	if (st != BC_OK)
		o->inst = NULL;
	return st;
}

static void one_close(struct one *o)
{
	if (o->inst != NULL)
		o->ops->destroy(o->inst);
	stubhost_free(o->sh);
	memset(o, 0, sizeof *o);
}

static void one_start(struct one *o, const char *id)
{
	struct bc_record r;
	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	r.id = id;
	r.name = "n";
	r.type = "hls";
	r.provider = "p";
	r.owner = "o";
	r.state = BC_STATE_PENDING;
	r.start_ms = 1;
	r.meta = "{}";
	ck_assert_int_eq(o->ops->reserve(o->inst, &r, &o->err), BC_OK);
	ck_assert_int_eq(o->ops->commit(o->inst, id, "{}", &o->err), BC_OK);
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void raw_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* ---- SQLite-only tests -------------------------------------------------------- */

START_TEST(test_schema_version_and_wal)
{
	struct one o;
	sqlite3 *db;
	char mode[32];

	ck_assert_int_eq(one_open(&o, fx_fresh(&fx_state)), BC_OK);
	ck_assert(stubhost_log_contains(o.sh, "created the schema (version 5)"));
	one_close(&o);
	db = raw_open(fx_state.path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), SQLITE_SCHEMA_VERSION);
	raw_text(db, "PRAGMA journal_mode", mode, sizeof mode);
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                             "AND name IN ('streams_by_start', 'streams_by_owner', "
	                             "'streams_pending')"),
	                 3);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                             "AND name = 'streams_by_state'"),
	                 0);
	sqlite3_close(db);
	/* Reopening a current file migrates nothing. */
	ck_assert_int_eq(one_open(&o, fx_same(&fx_state)), BC_OK);
	ck_assert(!stubhost_log_contains(o.sh, "schema ("));
	ck_assert(!stubhost_log_contains(o.sh, "migrated"));
	one_close(&o);
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_schema_too_new)
{
	struct one o;
	sqlite3 *db;
	char sql[64], want[64];

	fx_fresh(&fx_state);
	db = raw_open(fx_state.path);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SQLITE_SCHEMA_VERSION + 1);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(one_open(&o, fx_same(&fx_state)), BC_E_UNSUPPORTED);
	ck_assert_str_eq(o.err.code, "sqlite.schema_too_new");
	snprintf(want, sizeof want, "schema version %d", SQLITE_SCHEMA_VERSION + 1);
	ck_assert_msg(strstr(o.err.message, want) != NULL, "%s", o.err.message);
	ck_assert_ptr_nonnull(strstr(o.err.message, fx_state.path));
	one_close(&o);
	/* Refused, not touched. */
	db = raw_open(fx_state.path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), SQLITE_SCHEMA_VERSION + 1);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master"), 0);
	sqlite3_close(db);
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_file_mode)
{
	struct one o;
	struct stat sb;
	char wal[400];
	mode_t old = umask(022);

	ck_assert_int_eq(one_open(&o, fx_fresh(&fx_state)), BC_OK);
	one_start(&o, "0a1b2c3d-0000-4000-8000-000000000001");
	ck_assert_int_eq(stat(fx_state.path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	/* The WAL holds the same records: it must be as private. */
	snprintf(wal, sizeof wal, "%s-wal", fx_state.path);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	one_close(&o);
	umask(old);
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_loose_mode_warns)
{
	struct one o;

	fx_fresh(&fx_state);
	fclose(fopen(fx_state.path, "w"));
	ck_assert_int_eq(chmod(fx_state.path, 0644), 0);
	ck_assert_int_eq(one_open(&o, fx_same(&fx_state)), BC_OK);
	ck_assert(stubhost_log_contains(o.sh, "chmod 600"));
	one_close(&o);
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_missing_folder)
{
	struct one o;
	char path[600], dir[400];
	const char *kv[3];

	fx_fresh(&fx_state);
	snprintf(dir, sizeof dir, "%s/no/such", fx_state.dir);
	snprintf(path, sizeof path, "%s/streams.db", dir);
	kv[0] = "path";
	kv[1] = path;
	kv[2] = NULL;
	ck_assert_int_eq(one_open(&o, kv), BC_E_INVALID);
	ck_assert_str_eq(o.err.code, "sqlite.no_directory");
	ck_assert_msg(strstr(o.err.message, dir) != NULL, "%s", o.err.message);
	ck_assert_ptr_nonnull(strstr(o.err.message, "mkdir -p"));
	one_close(&o);
	ck_assert_int_ne(access(dir, F_OK), 0); /* and it created nothing */
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_not_a_database)
{
	struct one o;
	FILE *f;

	fx_fresh(&fx_state);
	f = fopen(fx_state.path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	ck_assert_int_eq(one_open(&o, fx_same(&fx_state)), BC_E_UNAVAILABLE);
	ck_assert_str_eq(o.err.code, "sqlite.corrupt");
	ck_assert_ptr_nonnull(strstr(o.err.message, fx_state.path));
	one_close(&o);
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_memory_path_refused)
{
	static const char *const kv[] = { "path", ":memory:", NULL };
	struct one o;

	ck_assert_int_eq(one_open(&o, kv), BC_E_INVALID);
	ck_assert_str_eq(o.err.code, "sqlite.bad_path");
	one_close(&o);
}
END_TEST

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_busy)
{
	struct one o;
	const char *kv[5];
	sqlite3 *db;
	struct bc_record r;
	int64_t t0;

	fx_fresh(&fx_state);
	kv[0] = "path";
	kv[1] = fx_state.path;
	kv[2] = "busy_timeout";
	kv[3] = "300ms";
	kv[4] = NULL;
	ck_assert_int_eq(one_open(&o, kv), BC_OK);
	/* Another writer (as another process would) holds the write lock. */
	db = raw_open(fx_state.path);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	r.id = "0a1b2c3d-0000-4000-8000-000000000002";
	r.name = r.type = r.provider = r.owner = "";
	r.meta = "{}";
	/* A reserve stays in memory, so the commit is what waits and fails. */
	ck_assert_int_eq(o.ops->reserve(o.inst, &r, &o.err), BC_OK);
	t0 = now_ms();
	ck_assert_int_eq(o.ops->commit(o.inst, r.id, "{}", &o.err), BC_E_UNAVAILABLE);
	ck_assert_int_ge(now_ms() - t0, 250);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert_str_eq(o.err.code, "sqlite.busy");
	ck_assert_int_eq(o.ops->health(o.inst, &o.err), BC_E_UNAVAILABLE);
	ck_assert_str_eq(o.err.code, "sqlite.busy");
	/* Readers are not blocked by a writer in WAL mode. */
	{
		struct bc_record_sink sink;
		bc_record_sink_init(&sink);
		ck_assert_int_eq(o.ops->get(o.inst, "0a1b2c3d-0000-4000-8000-000000000003", &sink,
		                            &o.err),
		                 BC_E_NOT_FOUND);
		bc_record_sink_free(&sink);
	}
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* The failed commit left the reservation as it was: it commits now. */
	ck_assert_int_eq(o.ops->commit(o.inst, r.id, "{}", &o.err), BC_OK);
	ck_assert_int_eq(o.ops->health(o.inst, &o.err), BC_OK);
	one_close(&o);
	fx_cleanup(&fx_state);
}
END_TEST

START_TEST(test_options_declared)
{
	const struct bc_plugin *p = stubhost_load_plugin(so_path(), BC_KIND_STORE, "sqlite");
	int seen = 0;

	ck_assert(p->flags & BC_PLUGIN_THREAD_SAFE);
	for (const struct bc_option *o = p->options; o->struct_size != 0; o++) {
		ck_assert_ptr_nonnull(o->description);
		if (strcmp(o->name, "path") == 0) {
			ck_assert_ptr_nonnull(o->default_value);
			ck_assert_ptr_nonnull(strstr(o->default_value, "/streams.db"));
			seen++;
		} else if (strcmp(o->name, "synchronous") == 0) {
			ck_assert_str_eq(o->default_value, "full");
			seen++;
		} else if (strcmp(o->name, "busy_timeout") == 0) {
			ck_assert_int_eq(o->type, BC_OPT_DURATION);
			seen++;
		}
	}
	ck_assert_int_eq(seen, 3);
}
END_TEST

/* Two instances on one file stand for two daemons sharing it (or a daemon
 * and its restart overlapping): their stops of one stream still have
 * exactly one winner, because the UPDATE is conditional on state = LIVE. */
#define TWO_STREAMS 20
#define TWO_THREADS 4

struct two_worker {
	struct one *o;
	unsigned wins, conflicts, other;
};

static void *two_worker_run(void *arg)
{
	struct two_worker *w = arg;
	char id[37];

	for (unsigned i = 0; i < TWO_STREAMS; i++) {
		struct bc_record_sink sink;
		struct bc_error err;
		enum bc_status st;

		snprintf(id, sizeof id, "0a1b2c3d-0000-4000-8000-%012u", i);
		bc_record_sink_init(&sink);
		memset(&err, 0, sizeof err);
		st = w->o->ops->stop(w->o->inst, id, 5000, &sink, &err);
		if (st == BC_OK && sink.n == 1)
			w->wins++;
		else if (st == BC_E_CONFLICT && sink.n == 1)
			w->conflicts++;
		else
			w->other++;
		bc_record_sink_free(&sink);
	}
	return NULL;
}

START_TEST(test_two_instances_one_winner)
{
	struct one a, b;
	struct two_worker w[2 * TWO_THREADS];
	pthread_t t[2 * TWO_THREADS];
	unsigned wins = 0, conflicts = 0;
	char id[37];

	const char *kv_b[5];

	ck_assert_int_eq(one_open(&a, fx_fresh(&fx_state)), BC_OK);
	/* One connection for four threads: they queue in the pool. */
	kv_b[0] = "path";
	kv_b[1] = fx_state.path;
	kv_b[2] = "pool_size";
	kv_b[3] = "1";
	kv_b[4] = NULL;
	ck_assert_int_eq(one_open(&b, kv_b), BC_OK);
	ck_assert(stubhost_log_contains(b.sh, "pool_size=1"));
	for (unsigned i = 0; i < TWO_STREAMS; i++) {
		snprintf(id, sizeof id, "0a1b2c3d-0000-4000-8000-%012u", i);
		one_start(i % 2 ? &a : &b, id);
	}
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i < 2 * TWO_THREADS; i++) {
		w[i].o = i % 2 ? &a : &b;
		ck_assert_int_eq(pthread_create(&t[i], NULL, two_worker_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < 2 * TWO_THREADS; i++) {
		pthread_join(t[i], NULL);
		wins += w[i].wins;
		conflicts += w[i].conflicts;
		ck_assert_uint_eq(w[i].other, 0);
	}
	ck_assert_uint_eq(wins, TWO_STREAMS);
	ck_assert_uint_eq(conflicts, TWO_STREAMS * (2 * TWO_THREADS - 1));
	one_close(&b);
	one_close(&a);
	fx_cleanup(&fx_state);
}
END_TEST

/* A file written by the first release (schema version 1, its DDL verbatim)
 * is migrated to the current version in place: the state index becomes a partial
 * index on PENDING rows, and the rows stay as they were. */
static const char v1_ddl[] =
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
	"CREATE INDEX streams_by_state ON streams (state);"
	"PRAGMA user_version = 1;"
	"INSERT INTO streams VALUES ('0a1b2c3d-0000-4000-8000-00000000000a', 'n', 'hls', 'p',"
	" 'o', 2, 10, 0, '{\"k\":1}', 10, 10);"
	"INSERT INTO streams VALUES ('0a1b2c3d-0000-4000-8000-00000000000b', 'n', 'hls', 'p',"
	" 'o', 1, 11, 0, '{}', 11, 11);";

START_TEST(test_migrate_from_v1)
{
	struct one o;
	struct bc_record_sink sink;
	sqlite3 *db;

	fx_fresh(&fx_state);
	db = raw_open(fx_state.path);
	ck_assert_int_eq(sqlite3_exec(db, v1_ddl, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(one_open(&o, fx_same(&fx_state)), BC_OK);
	ck_assert(stubhost_log_contains(o.sh, "schema migrated from version 1 to 5"));
	bc_record_sink_init(&sink);
	ck_assert_int_eq(o.ops->get(o.inst, "0a1b2c3d-0000-4000-8000-00000000000a", &sink, &o.err),
	                 BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	bc_record_sink_free(&sink);
	/* A list of PENDING records merges reservations in memory with rows an
	 * older version left in the file, newest first, keyset and limit
	 * applied across both. */
	{
		static const char mem_id[] = "0a1b2c3d-0000-4000-8000-00000000000c";
		static const char old_id[] = "0a1b2c3d-0000-4000-8000-00000000000b";
		struct bc_list_query q;
		struct bc_record r;

		memset(&r, 0, sizeof r);
		r.struct_size = sizeof r;
		r.id = mem_id;
		r.name = r.type = r.provider = "n";
		r.owner = "o";
		r.start_ms = 12;
		r.meta = "{}";
		ck_assert_int_eq(o.ops->reserve(o.inst, &r, &o.err), BC_OK);
		memset(&q, 0, sizeof q);
		q.struct_size = sizeof q;
		q.state = BC_STATE_PENDING;
		q.limit = 10;
		ck_assert_int_eq(o.ops->list(o.inst, &q, &sink, &o.err), BC_OK);
		ck_assert_uint_eq(sink.n, 2);
		ck_assert_str_eq(sink.items[0].id, mem_id);
		ck_assert_str_eq(sink.items[1].id, old_id);
		bc_record_sink_free(&sink);
		q.limit = 1;
		ck_assert_int_eq(o.ops->list(o.inst, &q, &sink, &o.err), BC_OK);
		ck_assert_uint_eq(sink.n, 1);
		ck_assert_str_eq(sink.items[0].id, mem_id);
		bc_record_sink_free(&sink);
		q.after_start_ms = 12;
		q.after_id = mem_id;
		ck_assert_int_eq(o.ops->list(o.inst, &q, &sink, &o.err), BC_OK);
		ck_assert_uint_eq(sink.n, 1);
		ck_assert_str_eq(sink.items[0].id, old_id);
		bc_record_sink_free(&sink);
		q.owner = "nobody";
		q.after_id = NULL;
		ck_assert_int_eq(o.ops->list(o.inst, &q, &sink, &o.err), BC_OK);
		ck_assert_uint_eq(sink.n, 0);
		bc_record_sink_free(&sink);
		ck_assert_int_eq(o.ops->abort(o.inst, mem_id, &o.err), BC_OK);
	}
	/* The PENDING row kept from version 1 can still be committed. */
	ck_assert_int_eq(o.ops->commit(o.inst, "0a1b2c3d-0000-4000-8000-00000000000b", "{}",
	                               &o.err),
	                 BC_OK);
	one_close(&o);
	db = raw_open(fx_state.path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), SQLITE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                             "AND name = 'streams_by_state'"),
	                 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                             "AND name = 'streams_pending' AND sql LIKE '%WHERE state = 1'"),
	                 1);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM streams WHERE state = 2"), 2);
	{
		char ok[16];
		raw_text(db, "PRAGMA integrity_check", ok, sizeof ok);
		ck_assert_str_eq(ok, "ok");
	}
	sqlite3_close(db);
	fx_cleanup(&fx_state);
}
END_TEST

/* Group commit: 16 threads each run whole start/stop cycles, with a
 * duplicate reserve, a second commit and a second stop thrown in, all at
 * once. Every call must get exactly the answer it would get alone, and the
 * writer must have batched (fewer transactions than writes). */
#define GROUP_THREADS 16
#define GROUP_CYCLES 25

struct group_worker {
	struct one *o;
	unsigned index;
	unsigned bad; /* answers that differ from the single-threaded ones */
	char why[160];
};

static void group_bad(struct group_worker *w, const char *what, enum bc_status st)
{
	if (w->bad++ == 0)
		snprintf(w->why, sizeof w->why, "%s: status %d", what, (int)st);
}

static void *group_worker_run(void *arg)
{
	struct group_worker *w = arg;
	const struct bc_store_ops *ops = w->o->ops;
	void *inst = w->o->inst;
	char id[37];

	for (unsigned i = 0; i < GROUP_CYCLES; i++) {
		struct bc_record r;
		struct bc_record_sink sink;
		struct bc_error err;
		enum bc_status st;
		int64_t stop_ms = 1000 + w->index * 100 + i;

		snprintf(id, sizeof id, "0a1b2c3d-0000-4000-8000-%06u%06u", w->index, i);
		memset(&r, 0, sizeof r);
		r.struct_size = sizeof r;
		r.id = id;
		r.name = "n";
		r.type = "hls";
		r.provider = "p";
		r.owner = "o";
		r.state = BC_STATE_PENDING;
		r.start_ms = 1;
		r.meta = "{}";
		memset(&err, 0, sizeof err);
		if ((st = ops->reserve(inst, &r, &err)) != BC_OK)
			group_bad(w, "reserve", st);
		if ((st = ops->reserve(inst, &r, &err)) != BC_E_CONFLICT ||
		    strcmp(err.code, "sqlite.duplicate_id") != 0)
			group_bad(w, "second reserve", st);
		if ((st = ops->commit(inst, id, "{\"i\":1}", &err)) != BC_OK)
			group_bad(w, "commit", st);
		if ((st = ops->commit(inst, id, "{}", &err)) != BC_E_NOT_FOUND)
			group_bad(w, "second commit", st);
		bc_record_sink_init(&sink);
		st = ops->stop(inst, id, stop_ms, &sink, &err);
		if (st != BC_OK || sink.n != 1 || sink.items[0].stop_ms != stop_ms ||
		    sink.items[0].state != BC_STATE_STOPPED)
			group_bad(w, "stop", st);
		bc_record_sink_free(&sink);
		bc_record_sink_init(&sink);
		st = ops->stop(inst, id, stop_ms + 1, &sink, &err);
		if (st != BC_E_CONFLICT || sink.n != 1 || sink.items[0].stop_ms != stop_ms)
			group_bad(w, "second stop", st);
		bc_record_sink_free(&sink);
		/* abort never deletes a stopped record. */
		if ((st = ops->abort(inst, id, &err)) != BC_OK)
			group_bad(w, "abort", st);
	}
	return NULL;
}

START_TEST(test_group_commit)
{
	struct one o;
	struct group_worker w[GROUP_THREADS];
	pthread_t t[GROUP_THREADS];
	uint64_t tx, ops;
	sqlite3 *db;

	ck_assert_int_eq(one_open(&o, fx_fresh(&fx_state)), BC_OK);
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i < GROUP_THREADS; i++) {
		w[i].o = &o;
		w[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, group_worker_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < GROUP_THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].bad == 0, "thread %u: %u wrong answers, first %s", i, w[i].bad,
		              w[i].why);
	}
	tx = stubhost_counter(o.sh, "sqlite_write_transactions_total", NULL);
	ops = stubhost_counter(o.sh, "sqlite_write_operations_total", NULL);
	/* Five writes a cycle: commit, second commit, stop, second stop and
	 * abort; both reserves stay in memory (sqlite_pending.h). */
	ck_assert_uint_eq(ops, (uint64_t)GROUP_THREADS * GROUP_CYCLES * 5);
	ck_assert_uint_gt(tx, 0);
	ck_assert_msg(tx < ops, "no batching: %llu transactions for %llu writes",
	              (unsigned long long)tx, (unsigned long long)ops);
	one_close(&o);
	db = raw_open(fx_state.path);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM streams WHERE state = 3"),
	                 GROUP_THREADS * GROUP_CYCLES);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM streams"), GROUP_THREADS * GROUP_CYCLES);
	sqlite3_close(db);
	fx_cleanup(&fx_state);
}
END_TEST

/* A file of the previous release (schema version 2, its DDL verbatim: v1's
 * then migration 2) gains the ABI 1.1 columns and the events table: its
 * LIVE rows are idle since their start, with no events, its STOPPED rows
 * keep their stop; both take the new ops at once. */
static const char v2_ddl[] =
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
	"CREATE INDEX streams_pending ON streams (created_ms) WHERE state = 1;"
	"PRAGMA user_version = 2;"
	"INSERT INTO streams VALUES ('0a1b2c3d-0000-4000-8000-0000000000a1', 'n', 'hls', 'p',"
	" 'o', 2, 100, 0, '{\"k\":1}', 100, 100);"
	"INSERT INTO streams VALUES ('0a1b2c3d-0000-4000-8000-0000000000a2', 'n', 'hls', 'p',"
	" 'o', 3, 200, 250, '{}', 200, 250);";

/* A record sink used from this thread only: get() into it and read back. */
static void get_one(struct one *o, const char *id, struct bc_record_sink *sink)
{
	bc_record_sink_init(sink);
	ck_assert_int_eq(o->ops->get(o->inst, id, sink, &o->err), BC_OK);
	ck_assert_uint_eq(sink->n, 1);
}

static void event_of(struct bc_event *ev, const char *id, const char *type, int64_t t)
{
	memset(ev, 0, sizeof *ev);
	ev->struct_size = sizeof *ev;
	ev->stream_id = id;
	ev->type = type;
	ev->time_ms = t;
	ev->owner = "o";
	ev->data = "{}";
}

START_TEST(test_migrate_from_v2)
{
	static const char live[] = "0a1b2c3d-0000-4000-8000-0000000000a1";
	static const char stopped[] = "0a1b2c3d-0000-4000-8000-0000000000a2";
	struct one o;
	struct bc_record_sink sink;
	struct bc_event ev;
	sqlite3 *db;

	fx_fresh(&fx_state);
	db = raw_open(fx_state.path);
	ck_assert_int_eq(sqlite3_exec(db, v2_ddl, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(one_open(&o, fx_same(&fx_state)), BC_OK);
	ck_assert(stubhost_log_contains(o.sh, "schema migrated from version 2 to 5"));
	get_one(&o, live, &sink);
	ck_assert_int_eq(sink.items[0].state, BC_STATE_LIVE);
	ck_assert_str_eq(sink.items[0].meta, "{\"k\":1}");
	bc_record_sink_free(&sink);
	/* The media op works on a migrated row: its first event is seq 1. */
	event_of(&ev, live, "stream.publishing", 300);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(o.ops->media(o.inst, live, BC_MEDIA_PUBLISHING, 300, &ev, &sink, &o.err),
	                 BC_OK);
	bc_record_sink_free(&sink);
	event_of(&ev, stopped, "stream.stopped", 400);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(o.ops->stop_event(o.inst, stopped, 400, "api", &ev, &sink, &o.err),
	                 BC_E_CONFLICT);
	ck_assert_uint_eq(sink.n, 1);
	ck_assert_int_eq(sink.items[0].stop_ms, 250);
	bc_record_sink_free(&sink);
	one_close(&o);

	db = raw_open(fx_state.path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), SQLITE_SCHEMA_VERSION);
	ck_assert_int_eq(raw_int(db, "SELECT media FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000a1'"), 2);
	ck_assert_int_eq(raw_int(db, "SELECT publish_ms FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000a1'"), 300);
	ck_assert_int_eq(raw_int(db, "SELECT event_seq FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000a1'"), 1);
	/* The stopped row: idle since its start, no reason, no events. */
	ck_assert_int_eq(raw_int(db, "SELECT media * 1000000 + media_ms FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000a2'"), 1000200);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM streams WHERE stop_reason = '' "
	                             "AND event_seq <= 1"), 2);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM events"), 1);
	ck_assert_int_eq(raw_int(db, "SELECT seq FROM events"), 1);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                             "AND name IN ('events_by_time', 'events_by_owner')"),
	                 2);
	{
		char ok[16];
		raw_text(db, "PRAGMA integrity_check", ok, sizeof ok);
		ck_assert_str_eq(ok, "ok");
	}
	sqlite3_close(db);
	fx_cleanup(&fx_state);
}
END_TEST

/* The change and its event are one transaction: when the event cannot be
 * written (here a trigger refuses it), the change is not kept either, and
 * the op fails; once events can be written again, all works. */
START_TEST(test_event_failure_rolls_back)
{
	static const char id[] = "0a1b2c3d-0000-4000-8000-0000000000c1";
	static const char id2[] = "0a1b2c3d-0000-4000-8000-0000000000c2";
	struct one o;
	struct bc_record_sink sink;
	struct bc_event ev;
	struct bc_record r;
	sqlite3 *db;

	ck_assert_int_eq(one_open(&o, fx_fresh(&fx_state)), BC_OK);
	one_start(&o, id); /* plain commit: LIVE, event_seq 0 */
	db = raw_open(fx_state.path);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TRIGGER no_events BEFORE INSERT ON events "
	                                  "BEGIN SELECT RAISE(ABORT, 'refused'); END;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);

	/* media: fails, the row stays idle. */
	event_of(&ev, id, "stream.publishing", 5);
	bc_record_sink_init(&sink);
	ck_assert_int_eq(o.ops->media(o.inst, id, BC_MEDIA_PUBLISHING, 5, &ev, &sink, &o.err),
	                 BC_E_INTERNAL);
	ck_assert_str_eq(o.err.code, "sqlite.error");
	ck_assert_uint_eq(sink.n, 0);
	ck_assert_int_eq(raw_int(db, "SELECT media * 10 + event_seq FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000c1'"), 10);
	/* stop_event: fails, the stream stays LIVE. */
	event_of(&ev, id, "stream.stopped", 6);
	ck_assert_int_eq(o.ops->stop_event(o.inst, id, 6, "api", &ev, &sink, &o.err),
	                 BC_E_INTERNAL);
	ck_assert_str_eq(o.err.code, "sqlite.error");
	ck_assert_uint_eq(sink.n, 0);
	ck_assert_int_eq(raw_int(db, "SELECT state FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000c1'"), BC_STATE_LIVE);
	/* commit_event: fails, nothing in the file; the reservation is kept
	 * for the host's abort (or a retry). */
	memset(&r, 0, sizeof r);
	r.struct_size = sizeof r;
	r.id = id2;
	r.name = r.type = r.provider = "n";
	r.owner = "o";
	r.start_ms = 7;
	r.meta = "{}";
	ck_assert_int_eq(o.ops->reserve(o.inst, &r, &o.err), BC_OK);
	event_of(&ev, id2, "stream.started", 7);
	ck_assert_int_eq(o.ops->commit_event(o.inst, id2, "{}", &ev, &o.err), BC_E_INTERNAL);
	ck_assert_str_eq(o.err.code, "sqlite.error");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM streams WHERE id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000c2'"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM events"), 0);

	/* Events writable again: the retried commit and the stop succeed. */
	ck_assert_int_eq(sqlite3_exec(db, "DROP TRIGGER no_events", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(o.ops->commit_event(o.inst, id2, "{}", &ev, &o.err), BC_OK);
	event_of(&ev, id, "stream.stopped", 8);
	ck_assert_int_eq(o.ops->stop_event(o.inst, id, 8, "api", &ev, &sink, &o.err), BC_OK);
	ck_assert_uint_eq(sink.n, 1);
	bc_record_sink_free(&sink);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM events"), 2);
	ck_assert_int_eq(raw_int(db, "SELECT seq FROM events WHERE stream_id = "
	                             "'0a1b2c3d-0000-4000-8000-0000000000c1'"), 1);
	sqlite3_close(db);
	one_close(&o);
	fx_cleanup(&fx_state);
}
END_TEST

/* Group commit of the ABI 1.1 ops: 16 threads each run started,
 * publishing, idle, stopped cycles at once; every answer is right, the
 * writer batched, and every stream has its 4 events, seq 1..4, cursors in
 * the order of the rows' commits. */
static void *group_events_run(void *arg)
{
	struct group_worker *w = arg;
	const struct bc_store_ops *ops = w->o->ops;
	void *inst = w->o->inst;
	char id[37];

	for (unsigned i = 0; i < GROUP_CYCLES; i++) {
		struct bc_record r;
		struct bc_record_sink sink;
		struct bc_event ev;
		struct bc_error err;
		enum bc_status st;

		snprintf(id, sizeof id, "0a1b2c3d-0000-4000-8000-%06u%06u", w->index, i);
		memset(&r, 0, sizeof r);
		r.struct_size = sizeof r;
		r.id = id;
		r.name = r.type = r.provider = "n";
		r.owner = "o";
		r.start_ms = 1;
		r.meta = "{}";
		memset(&err, 0, sizeof err);
		if ((st = ops->reserve(inst, &r, &err)) != BC_OK)
			group_bad(w, "reserve", st);
		event_of(&ev, id, "stream.started", 1);
		if ((st = ops->commit_event(inst, id, "{}", &ev, &err)) != BC_OK)
			group_bad(w, "commit_event", st);
		event_of(&ev, id, "stream.publishing", 2);
		bc_record_sink_init(&sink);
		if ((st = ops->media(inst, id, BC_MEDIA_PUBLISHING, 2, &ev, &sink, &err)) != BC_OK ||
		    sink.n != 1)
			group_bad(w, "media", st);
		bc_record_sink_free(&sink);
		if ((st = ops->media(inst, id, BC_MEDIA_PUBLISHING, 3, &ev, &sink, &err)) !=
		    BC_E_CONFLICT)
			group_bad(w, "same media", st);
		bc_record_sink_free(&sink);
		event_of(&ev, id, "stream.idle", 4);
		if ((st = ops->media(inst, id, BC_MEDIA_IDLE, 4, &ev, &sink, &err)) != BC_OK)
			group_bad(w, "media idle", st);
		bc_record_sink_free(&sink);
		event_of(&ev, id, "stream.stopped", 5);
		if ((st = ops->stop_event(inst, id, 5, "api", &ev, &sink, &err)) != BC_OK ||
		    sink.n != 1 || sink.items[0].state != BC_STATE_STOPPED)
			group_bad(w, "stop_event", st);
		bc_record_sink_free(&sink);
		if ((st = ops->stop_event(inst, id, 6, "api", &ev, &sink, &err)) != BC_E_CONFLICT ||
		    sink.n != 1 || sink.items[0].stop_ms != 5)
			group_bad(w, "second stop_event", st);
		bc_record_sink_free(&sink);
	}
	return NULL;
}

START_TEST(test_group_commit_events)
{
	struct one o;
	struct group_worker w[GROUP_THREADS];
	pthread_t t[GROUP_THREADS];
	uint64_t tx, ops;
	sqlite3 *db;

	ck_assert_int_eq(one_open(&o, fx_fresh(&fx_state)), BC_OK);
	memset(w, 0, sizeof w);
	for (unsigned i = 0; i < GROUP_THREADS; i++) {
		w[i].o = &o;
		w[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, group_events_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < GROUP_THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].bad == 0, "thread %u: %u wrong answers, first %s", i, w[i].bad,
		              w[i].why);
	}
	tx = stubhost_counter(o.sh, "sqlite_write_transactions_total", NULL);
	ops = stubhost_counter(o.sh, "sqlite_write_operations_total", NULL);
	ck_assert_uint_eq(ops, (uint64_t)GROUP_THREADS * GROUP_CYCLES * 6);
	ck_assert_msg(tx < ops, "no batching: %llu transactions for %llu writes",
	              (unsigned long long)tx, (unsigned long long)ops);
	one_close(&o);
	db = raw_open(fx_state.path);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM events"),
	                 GROUP_THREADS * GROUP_CYCLES * 4);
	/* seq 1..4 per stream, in cursor order, matching the record. */
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM (SELECT stream_id,"
	                             " group_concat(seq, ',') AS s FROM"
	                             " (SELECT stream_id, seq FROM events ORDER BY cursor)"
	                             " GROUP BY stream_id) WHERE s <> '1,2,3,4'"),
	                 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM streams WHERE event_seq <> 4 "
	                             "OR stop_reason <> 'api' OR media <> 1 OR publish_ms <> 2"),
	                 0);
	sqlite3_close(db);
	fx_cleanup(&fx_state);
}
END_TEST

/* Bytes this process has read through read(2)-like calls (pread64 of
 * SQLite's pages among them), from /proc/self/io. */
static long long read_chars(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "rchar: %lld", &v) == 1)
			break;
	fclose(f);
	ck_assert_int_ge(v, 0);
	return v;
}

/* The LIVE list (the host's re-read every 5 s, GET /streams?state=live)
 * reads the live records through the partial index of schema 5, not every
 * stored record: one list among 20 000 stopped records reads a few pages
 * (it read all of them, megabytes, before). Counted in bytes read, which
 * do not depend on the machine's speed. */
START_TEST(test_live_list_reads_live_only)
{
	struct one o;
	struct bc_list_query q;
	struct bc_record_sink sink;
	sqlite3 *db;
	long long before, took;

	ck_assert_int_eq(one_open(&o, fx_fresh(&fx_state)), BC_OK);
	one_start(&o, "live-1");
	one_start(&o, "live-2");
	one_start(&o, "live-3");
	db = raw_open(fx_state.path);
	ck_assert_int_eq(sqlite3_exec(db,
	        "INSERT INTO streams (id, name, type, provider, owner, state, start_ms, stop_ms,"
	        " meta, created_ms, updated_ms) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
	        " SELECT i + 1 FROM n WHERE i < 20000) SELECT printf('old-%06d', i), 'n', 'hls',"
	        " 'p', 'o', 3, i, i + 1, '{\"k\":\"padding to make the rows a realistic size\"}',"
	        " i, i FROM n", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.state = BC_STATE_LIVE;
	q.limit = 100;
	bc_record_sink_init(&sink);
	before = read_chars();
	ck_assert_int_eq(o.ops->list(o.inst, &q, &sink, &o.err), BC_OK);
	took = read_chars() - before;
	ck_assert_uint_eq(sink.n, 3);
	for (size_t i = 0; i < sink.n; i++)
		ck_assert_int_eq(sink.items[i].state, BC_STATE_LIVE);
	ck_assert_msg(took < 256 * 1024, "a LIVE list among 20 000 stopped records read %lld bytes",
	              took);
	bc_record_sink_free(&sink);
	/* The same with a media filter, and from a cursor. */
	q.media = BC_MEDIA_IDLE;
	q.after_start_ms = 1;
	q.after_id = "live-3";
	bc_record_sink_init(&sink);
	ck_assert_int_eq(o.ops->list(o.inst, &q, &sink, &o.err), BC_OK);
	ck_assert_uint_eq(sink.n, 2);
	ck_assert_str_eq(sink.items[0].id, "live-2");
	ck_assert_str_eq(sink.items[1].id, "live-1");
	bc_record_sink_free(&sink);
	one_close(&o);
}
END_TEST

static Suite *sqlite_suite(void)
{
	Suite *s = suite_create("store_sqlite");
	TCase *tc = tcase_create("sqlite");

	tcase_add_test(tc, test_schema_version_and_wal);
	tcase_add_test(tc, test_schema_too_new);
	tcase_add_test(tc, test_file_mode);
	tcase_add_test(tc, test_loose_mode_warns);
	tcase_add_test(tc, test_missing_folder);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_memory_path_refused);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_options_declared);
	tcase_add_test(tc, test_two_instances_one_winner);
	tcase_add_test(tc, test_migrate_from_v1);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_migrate_from_v2);
	tcase_add_test(tc, test_event_failure_rolls_back);
	tcase_add_test(tc, test_group_commit_events);
	tcase_add_test(tc, test_live_list_reads_live_only);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- the memory test store -------------------------------------------------- */

static const char *const *memory_config(void *arg)
{
	static const char *const kv[] = { NULL };
	(void)arg;
	return kv;
}

/* tests/plugins/.libs/store_memory.so beside the sqlite one's build tree. */
static const char *memory_so_path(void)
{
	static char path[1024];
	const char *env = getenv("MEMORY_STORE_SO");
	const char *sqlite_so = BC_STORE_SQLITE_SO;
	const char *tail = strstr(sqlite_so, "stores/sqlite/.libs/store_sqlite.so");

	if (env != NULL && env[0] != '\0')
		return env;
	snprintf(path, sizeof path, "%.*stests/plugins/.libs/store_memory.so",
	         tail != NULL ? (int)(tail - sqlite_so) : 0, sqlite_so);
	return path;
}

int main(void)
{
	static struct store_fixture fixture, memory;
	SRunner *sr;
	int failed;

	fixture = sqlite_fixture;
	fixture.so_path = so_path();
	memory.so_path = memory_so_path();
	memory.plugin_name = "memory";
	memory.fresh_config = memory_config;
	memory.same_config = memory_config;
	memory.no_reopen = 1;
	sr = srunner_create(store_conformance_suite("store_sqlite_conformance", &fixture));
	srunner_add_suite(sr, store_conformance_suite("store_memory_conformance", &memory));
	srunner_add_suite(sr, sqlite_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
