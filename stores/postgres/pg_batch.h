/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg_batch.h: the postgres store's writes, batched into one transaction.
 *
 * Why: each start and stop was its own autocommit transaction, and each
 * that writes an event takes the event counter's row lock until its commit
 * has flushed the WAL, so 16 concurrent requests queued on one row and one
 * flush each: the store reached 18.5 % of the sqlite store's throughput
 * (docs/performance.md). Now the writes that arrive while a batch runs go
 * together in the next one (stores/common/group_commit.c): one pipeline,
 * so one round trip, one transaction, one counter lock and one WAL flush
 * for all of them. Each caller still gets its own statement's result.
 *
 * Every batch that writes an event takes the counter's lock first, before
 * any stream row, so two batches (of two nodes) cannot deadlock on rows
 * locked in opposite orders; a statement that fails rolls its batch back,
 * and then each of its writes runs again alone (a batch of one), so one bad
 * write fails only its own caller.
 *
 * Thread-safe.
 */
#ifndef BC_PG_BATCH_H
#define BC_PG_BATCH_H

#include "pg_pool.h"

/* The most writes in one transaction. */
#define PG_BATCH_MAX 64

/* What a write needs (flags of pg_batch_exec). */
#define PG_WRITE_DURABLE 1u /* committed with a WAL flush before the call returns */
#define PG_WRITE_EVENT 2u   /* may write an event: takes the counter's lock */

struct pg_batch;

/* The prepared statements a batch adds: one locking the event counter's
 * row, one turning the WAL flush of its transaction off. */
struct pg_batch_statements {
	const char *lock_counter;
	const char *no_flush;
};

/* A batcher writing through `pool` (borrowed, as api and host). BC_OK, or
 * BC_E_NOMEM / BC_E_INTERNAL described in err. */
enum bc_status pg_batch_create(const struct bc_host_api *api, struct bc_host *host,
                               struct pg_pool *pool, const struct pg_batch_statements *stmts,
                               struct pg_batch **out, struct bc_error *err);
/* No write may be in flight. NULL is a no-op. */
void pg_batch_destroy(struct pg_batch *b);

/* Run the prepared statement `stmt` in the next batch and wait for the
 * batch's commit. Statuses and *res as pg_pool_exec's: on BC_OK *res is the
 * statement's result (PQclear it). The statement must not fail in normal
 * use (a conflict is a result with no row, not an error): a failure costs
 * the batch a rollback and a run of each write alone. */
enum bc_status pg_batch_exec(struct pg_batch *b, const char *stmt, int nparams,
                             const char *const *params, unsigned flags, PGresult **res,
                             struct bc_error *err);

#endif
