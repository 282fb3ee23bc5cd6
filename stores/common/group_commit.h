/* SPDX-License-Identifier: Apache-2.0 */
/*
 * group_commit.h: many threads' writes, one transaction (and one flush) at
 * a time. Shared by the sqlite and the postgres store, compiled into each.
 *
 * A caller queues its operation and waits. The first caller to find no
 * batch running leads: it takes the queue (up to `max_batch` operations),
 * runs them with the store's `run` function (one transaction), marks them
 * done, hands the lead to the first operation queued meanwhile, and wakes
 * every waiter. So N concurrent writes cost one commit, not N.
 *
 * Why semaphores: each waiter sleeps on its own, posted once by the leader
 * after it released the queue's mutex. With a condition variable signalled
 * under the mutex, every woken waiter first had to take that mutex again,
 * contended by the leader and the next arrivals: the group commit's
 * hand-off made 98.6 % of the sqlite store's futex calls under load
 * (docs/performance.md).
 *
 * Thread-safe; a struct gc_op is its caller's, on its stack, until
 * gc_submit() returns.
 */
#ifndef BC_GROUP_COMMIT_H
#define BC_GROUP_COMMIT_H

#include <pthread.h>
#include <semaphore.h>

/* Embed as the first member of the store's operation. */
struct gc_op {
	struct gc_op *next; /* in the queue, then in the batch being run */
	sem_t wake;         /* posted when done, or when this op's caller must lead */
	int done;
};

/* Run `batch` (a list linked by next, in queue order) as one transaction,
 * setting each operation's result in the store's own fields. Called by one
 * leader at a time, without the queue's mutex. */
typedef void (*gc_run_fn)(void *arg, struct gc_op *batch);

struct gc_queue {
	pthread_mutex_t mu;
	struct gc_op *head, **tail; /* guarded by mu */
	int leading;                /* guarded by mu: a batch is running or handed on */
	unsigned max_batch;         /* 0: no limit */
	gc_run_fn run;
	void *arg;
};

/* 0, or -1 when the mutex cannot be made. */
int gc_init(struct gc_queue *q, unsigned max_batch, gc_run_fn run, void *arg);
/* No submit may be in flight. */
void gc_destroy(struct gc_queue *q);
/* Queue `op`, and return once a batch holding it has run. */
void gc_submit(struct gc_queue *q, struct gc_op *op);

#endif
