/* SPDX-License-Identifier: Apache-2.0 */
/* pg_batch.c: the postgres store's writes, one transaction per batch (see
 * pg_batch.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_commit.h"
#include "pg_batch.h"

struct pg_write {
	struct gc_op gc; /* first: the group commit's link */
	const char *stmt;
	int nparams;
	const char *const *params;
	unsigned flags;
	PGresult *res;        /* the leader's answer */
	enum bc_status status;
	struct bc_error *err; /* the caller's; the leader fills it */
};

struct pg_batch {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct pg_pool *pool;
	struct pg_batch_statements stmts;
	struct gc_queue gc;
};

static struct pg_write *next_write(const struct pg_write *w)
{
	return (struct pg_write *)w->gc.next;
}

/* Fail every write of `batch` with `f`; with `first_told`, the first one's
 * error was described already (by pg_pool_acquire). */
static void fail_all(struct pg_batch *b, struct pg_write *batch, const struct pg_failure *f,
                     int first_told)
{
	for (struct pg_write *w = batch; w != NULL; w = next_write(w)) {
		w->status = f->status;
		if (!first_told || w != batch)
			pg_failure_apply(b->pool, f, w->err);
	}
}

/* The failure of writes that got no connection (the first of them was told
 * why by pg_pool_acquire). */
static void no_connection(struct pg_failure *f, enum bc_status status)
{
	f->status = status;
	f->code = "store.unavailable";
	snprintf(f->message, sizeof f->message, "no connection to the stream database; retry later");
}

/* Run the writes of `batch` (n of them) in one pipeline on `slot`. BC_OK
 * with every write answered; otherwise *failed and *f as pg_pool_pipeline
 * says, and no write answered. */
static enum bc_status run_pipeline(struct pg_batch *b, struct pg_slot *slot,
                                   struct pg_write *batch, int *failed, struct pg_failure *f)
{
	struct pg_query q[PG_BATCH_MAX + 2];
	int n = 0, first, durable = 0, event = 0;
	enum bc_status st;

	for (struct pg_write *w = batch; w != NULL; w = next_write(w)) {
		durable |= (w->flags & PG_WRITE_DURABLE) != 0;
		event |= (w->flags & PG_WRITE_EVENT) != 0;
	}
	memset(q, 0, sizeof q);
	/* Nothing here must be durable (reservations only): skip the flush.
	 * A later durable commit flushes the WAL up to itself anyway. */
	if (!durable) {
		q[n].stmt = b->stmts.no_flush;
		q[n++].is_prepared = 1;
	}
	if (event) {
		q[n].stmt = b->stmts.lock_counter;
		q[n++].is_prepared = 1;
	}
	first = n;
	for (struct pg_write *w = batch; w != NULL; w = next_write(w)) {
		q[n].stmt = w->stmt;
		q[n].is_prepared = 1;
		q[n].nparams = w->nparams;
		q[n++].params = w->params;
	}
	st = pg_pool_pipeline(b->pool, slot, q, n, failed, f);
	if (st != BC_OK)
		return st;
	for (int i = 0; i < first; i++)
		PQclear(q[i].res);
	n = first;
	for (struct pg_write *w = batch; w != NULL; w = next_write(w)) {
		w->res = q[n++].res;
		w->status = BC_OK;
	}
	return BC_OK;
}

/* The group commit's leader: one connection, one pipeline for the batch;
 * after a statement's failure, each write again as a batch of its own. */
static void lead(void *arg, struct gc_op *batch_gc)
{
	struct pg_batch *b = arg;
	struct pg_write *batch = (struct pg_write *)batch_gc;
	struct pg_slot *slot = NULL;
	struct pg_failure f;
	uint64_t n = 0, tx = 1;
	int failed = -1;
	enum bc_status st;

	if (batch == NULL)
		return; /* never: a leader's batch holds at least its own write */
	for (struct pg_write *w = batch; w != NULL; w = next_write(w)) {
		w->res = NULL;
		n++;
	}
	st = pg_pool_acquire(b->pool, &slot, batch->err);
	if (st != BC_OK) {
		no_connection(&f, st);
		fail_all(b, batch, &f, 1);
		return;
	}
	st = run_pipeline(b, slot, batch, &failed, &f);
	if (st != BC_OK && failed >= 0 && st != BC_E_TIMEOUT && !pg_slot_lost(slot) && n > 1) {
		/* Nothing was applied: give every write its own answer. */
		for (struct pg_write *w = batch, *next; w != NULL; w = next) {
			next = next_write(w);
			w->gc.next = NULL;
			if (run_pipeline(b, slot, w, &failed, &f) != BC_OK)
				w->status = pg_failure_apply(b->pool, &f, w->err);
			w->gc.next = (struct gc_op *)next;
			tx++;
			if (pg_slot_lost(slot)) {
				pg_pool_release(b->pool, slot);
				slot = NULL;
				if (next != NULL &&
				    (st = pg_pool_acquire(b->pool, &slot, next->err)) != BC_OK) {
					no_connection(&f, st);
					fail_all(b, next, &f, 1);
					break;
				}
			}
		}
	} else if (st != BC_OK) {
		fail_all(b, batch, &f, 0);
	}
	pg_pool_release(b->pool, slot);
	b->api->counter_add(b->host, "postgres_write_transactions_total", NULL, tx);
	b->api->counter_add(b->host, "postgres_write_operations_total", NULL, n);
}

enum bc_status pg_batch_create(const struct bc_host_api *api, struct bc_host *host,
                               struct pg_pool *pool, const struct pg_batch_statements *stmts,
                               struct pg_batch **out, struct bc_error *err)
{
	struct pg_batch *b = calloc(1, sizeof *b);

	*out = NULL;
	if (b == NULL)
		return api->fail(err, BC_E_NOMEM, "postgres.nomem", "out of memory");
	b->api = api;
	b->host = host;
	b->pool = pool;
	b->stmts = *stmts;
	if (gc_init(&b->gc, PG_BATCH_MAX, lead, b) != 0) {
		free(b);
		return api->fail(err, BC_E_INTERNAL, "postgres.error", "pthread_mutex_init failed");
	}
	*out = b;
	return BC_OK;
}

void pg_batch_destroy(struct pg_batch *b)
{
	if (b == NULL)
		return;
	gc_destroy(&b->gc);
	free(b);
}

enum bc_status pg_batch_exec(struct pg_batch *b, const char *stmt, int nparams,
                             const char *const *params, unsigned flags, PGresult **res,
                             struct bc_error *err)
{
	struct pg_write w;

	memset(&w, 0, sizeof w);
	w.stmt = stmt;
	w.nparams = nparams;
	w.params = params;
	w.flags = flags;
	w.err = err;
	gc_submit(&b->gc, &w.gc);
	*res = w.res;
	return w.status;
}
