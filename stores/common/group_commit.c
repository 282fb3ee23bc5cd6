/* SPDX-License-Identifier: Apache-2.0 */
/* group_commit.c: one leader runs everybody's writes (see group_commit.h). */
#include "config.h"

#include "group_commit.h"

int gc_init(struct gc_queue *q, unsigned max_batch, gc_run_fn run, void *arg)
{
	q->head = NULL;
	q->tail = &q->head;
	q->leading = 0;
	q->max_batch = max_batch;
	q->run = run;
	q->arg = arg;
	return pthread_mutex_init(&q->mu, NULL) == 0 ? 0 : -1;
}

void gc_destroy(struct gc_queue *q)
{
	pthread_mutex_destroy(&q->mu);
}

/* Take the next batch off the queue; caller holds mu. */
static struct gc_op *gc_take(struct gc_queue *q)
{
	struct gc_op *batch = q->head, **cut = &q->head;
	unsigned n = 0;

	while (*cut != NULL && (q->max_batch == 0 || n < q->max_batch)) {
		cut = &(*cut)->next;
		n++;
	}
	q->head = *cut;
	*cut = NULL;
	if (q->head == NULL)
		q->tail = &q->head;
	return batch;
}

void gc_submit(struct gc_queue *q, struct gc_op *op)
{
	struct gc_op *batch, *o, *next, *heir;
	int lead;

	op->next = NULL;
	op->done = 0;
	sem_init(&op->wake, 0, 0);
	pthread_mutex_lock(&q->mu);
	*q->tail = op;
	q->tail = &op->next;
	lead = !q->leading;
	q->leading = 1;
	pthread_mutex_unlock(&q->mu);
	if (!lead) {
		/* Posted once: our batch ran, or the lead was handed to us. */
		while (sem_wait(&op->wake) != 0)
			;
		if (op->done) {
			sem_destroy(&op->wake);
			return;
		}
	}
	/* We lead, and our op is at the head of the queue: nothing left the
	 * queue since it was queued but whole batches ahead of it. */
	pthread_mutex_lock(&q->mu);
	batch = gc_take(q);
	pthread_mutex_unlock(&q->mu);
	q->run(q->arg, batch);
	pthread_mutex_lock(&q->mu);
	heir = q->head; /* queued meanwhile: it leads next, with leading kept */
	if (heir == NULL)
		q->leading = 0;
	pthread_mutex_unlock(&q->mu);
	/* After done is set a waiter may return and its op vanish: read next
	 * first. The heir is not in this batch, so it is still waiting. */
	for (o = batch; o != NULL; o = next) {
		next = o->next;
		o->done = 1;
		if (o != op)
			sem_post(&o->wake);
	}
	if (heir != NULL)
		sem_post(&heir->wake);
	sem_destroy(&op->wake);
}
