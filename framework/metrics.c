/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c: counters, gauges and the request latency histogram, rendered
 * in the Prometheus text exposition format (version 0.0.4) for /metrics.
 *
 * The set of series is small (per op, status, instance and a few plugin
 * labels), so a mutex and a flat array are enough; rendering sorts by name
 * so each family is contiguous under one # TYPE line.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc_runtime.h"

enum series_type { SERIES_COUNTER, SERIES_GAUGE };

struct series {
	char *name;   /* full name, "broadcast_..." */
	char *labels; /* "instance=\"x\",op=\"start\"" or "" */
	enum series_type type;
	double value;
};

static const double latency_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	                                  0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

struct histogram {
	char *op;
	uint64_t counts[N_BUCKETS];
	uint64_t count;
	double sum;
};

struct bc_metrics {
	pthread_mutex_t lock;
	struct series *series;
	size_t n, cap;
	struct histogram *hist;
	size_t n_hist;
};

struct bc_metrics *bc_metrics_create(void)
{
	struct bc_metrics *m = calloc(1, sizeof *m);
	if (m != NULL)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void bc_metrics_free(struct bc_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->series[i].name);
		free(m->series[i].labels);
	}
	for (size_t i = 0; i < m->n_hist; i++)
		free(m->hist[i].op);
	free(m->series);
	free(m->hist);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The full name and label text of a series, made before taking the lock:
 * every request adds to a few series, and the formatting held the one
 * metrics lock that every worker thread takes (issue 24). */
struct series_key {
	char full[256], lab[1024];
};

static void series_key_make(struct series_key *k, const char *name, const char *instance,
                            const char *labels)
{
	snprintf(k->full, sizeof k->full, "broadcast_%s", name);
	if (instance != NULL && labels != NULL && labels[0] != '\0')
		snprintf(k->lab, sizeof k->lab, "instance=\"%s\",%s", instance, labels);
	else if (instance != NULL)
		snprintf(k->lab, sizeof k->lab, "instance=\"%s\"", instance);
	else
		snprintf(k->lab, sizeof k->lab, "%s", labels != NULL ? labels : "");
}

/* Find or add the series `k`; call with the lock held. */
static struct series *series_get(struct bc_metrics *m, const struct series_key *k,
                                 enum series_type type)
{
	const char *full = k->full, *lab = k->lab;

	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->series[i].name, full) == 0 && strcmp(m->series[i].labels, lab) == 0)
			return &m->series[i];
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		struct series *v = realloc(m->series, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		m->series = v;
		m->cap = cap;
	}
	struct series *s = &m->series[m->n];
	s->name = strdup(full);
	s->labels = strdup(lab);
	if (s->name == NULL || s->labels == NULL) {
		free(s->name);
		free(s->labels);
		return NULL;
	}
	s->type = type;
	s->value = 0;
	m->n++;
	return s;
}

void bc_metrics_counter_add(struct bc_metrics *m, const char *name, const char *instance,
                            const char *labels, uint64_t delta)
{
	struct series_key k;

	if (m == NULL)
		return;
	series_key_make(&k, name, instance, labels);
	pthread_mutex_lock(&m->lock);
	struct series *s = series_get(m, &k, SERIES_COUNTER);
	if (s != NULL)
		s->value += (double)delta;
	pthread_mutex_unlock(&m->lock);
}

void bc_metrics_gauge_set(struct bc_metrics *m, const char *name, const char *instance,
                          const char *labels, double value)
{
	struct series_key k;

	if (m == NULL)
		return;
	series_key_make(&k, name, instance, labels);
	pthread_mutex_lock(&m->lock);
	struct series *s = series_get(m, &k, SERIES_GAUGE);
	if (s != NULL)
		s->value = value;
	pthread_mutex_unlock(&m->lock);
}

void bc_metrics_observe_request(struct bc_metrics *m, const char *op, double seconds)
{
	struct histogram *h = NULL;
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_hist; i++)
		if (strcmp(m->hist[i].op, op) == 0)
			h = &m->hist[i];
	if (h == NULL) {
		struct histogram *v = realloc(m->hist, (m->n_hist + 1) * sizeof *v);
		if (v != NULL) {
			m->hist = v;
			h = &m->hist[m->n_hist];
			memset(h, 0, sizeof *h);
			h->op = strdup(op);
			if (h->op != NULL)
				m->n_hist++;
			else
				h = NULL;
		}
	}
	if (h != NULL) {
		for (size_t b = 0; b < N_BUCKETS; b++)
			if (seconds <= latency_buckets[b])
				h->counts[b]++;
		h->count++;
		h->sum += seconds;
	}
	pthread_mutex_unlock(&m->lock);
}

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void buf_printf(struct buf *b, const char *fmt, ...) BC_PRINTF(2, 3);

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static int cmp_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : strcmp(x->labels, y->labels);
}

char *bc_metrics_render(struct bc_metrics *m, size_t *len)
{
	struct buf b = { malloc(4096), 0, 4096, 0 };
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	pthread_mutex_lock(&m->lock);
	qsort(m->series, m->n, sizeof *m->series, cmp_series);
	for (size_t i = 0; i < m->n; i++) {
		const struct series *s = &m->series[i];
		if (i == 0 || strcmp(m->series[i - 1].name, s->name) != 0)
			buf_printf(&b, "# TYPE %s %s\n", s->name,
			           s->type == SERIES_COUNTER ? "counter" : "gauge");
		if (s->labels[0] != '\0')
			buf_printf(&b, "%s{%s} %.17g\n", s->name, s->labels, s->value);
		else
			buf_printf(&b, "%s %.17g\n", s->name, s->value);
	}
	buf_printf(&b, "# HELP broadcast_request_duration_seconds Time the dispatcher spent "
	           "on one API call.\n# TYPE broadcast_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->n_hist; i++) {
		const struct histogram *h = &m->hist[i];
		for (size_t k = 0; k < N_BUCKETS; k++)
			buf_printf(&b, "broadcast_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} "
			           "%llu\n", h->op, latency_buckets[k], (unsigned long long)h->counts[k]);
		buf_printf(&b, "broadcast_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} "
		           "%llu\n", h->op, (unsigned long long)h->count);
		buf_printf(&b, "broadcast_request_duration_seconds_sum{op=\"%s\"} %.9f\n", h->op,
		           h->sum);
		buf_printf(&b, "broadcast_request_duration_seconds_count{op=\"%s\"} %llu\n", h->op,
		           (unsigned long long)h->count);
	}
	pthread_mutex_unlock(&m->lock);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
