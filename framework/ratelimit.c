/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.c: per-caller token buckets behind a frontend's `rate_limit`
 * and `rate_burst`, as a struct bc_ratelimit.
 *
 * Each key (a caller name, or the peer address of an anonymous caller) has a
 * bucket of at most `burst` tokens that refills at `rate` tokens a second; a
 * request takes one token or is refused with the seconds until the next one.
 * The bucket is kept in GCRA form (the generic cell rate algorithm): one
 * "theoretical arrival time" per key, advanced by the emission interval
 * 1000/rate ms for each request let through. That is the same token bucket,
 * but adds one interval per request instead of summing small refills, so
 * floating point never loses a token (ten 50 ms refills of 0.1 summed in
 * doubles come to 0.99999...).
 *
 * Buckets live in a chained hash table under one mutex. Memory stays bounded
 * however many keys arrive: a bucket that has refilled to `burst` is exactly
 * as good as no bucket, so such idle buckets are dropped whenever the table
 * would grow, and the table never holds more than RATELIMIT_MAX_KEYS.
 *
 * The hash is keyed with random bytes from create(), so a client choosing
 * its own keys (IPv6 addresses) cannot pile them into one chain.
 *
 * What a key is, and the 429 answer, are the dispatcher's.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"

/* At most this many buckets. Each costs ~40 bytes plus its key. */
#define RATELIMIT_MAX_KEYS 65536
#define RATELIMIT_MIN_SLOTS 64

struct ratelimit_bucket {
	struct ratelimit_bucket *next; /* in its slot's chain */
	double tat_ms; /* theoretical arrival time: the bucket is full from then on */
	uint64_t hash;
	char key[];
};

struct bc_ratelimit {
	pthread_mutex_t lock;
	double rate;        /* tokens per second */
	double burst;       /* bucket size */
	double interval_ms; /* 1000 / rate: the time one token takes to refill */
	double tolerance_ms; /* (burst - 1) * interval_ms: how far tat may run ahead */
	uint64_t seed; /* hash key */
	struct ratelimit_bucket **slots;
	size_t n_slots; /* a power of two */
	size_t n;       /* buckets in the table */
	size_t max_keys;
};

/* Prototype for the tests (not part of bc_internal.h's contract): the
 * number of buckets held now. */
size_t bc_ratelimit_size(struct bc_ratelimit *rl);

/* FNV-1a over the key, started from the random seed, with a final mix so
 * that the low bits (the slot index) depend on every input bit. */
static uint64_t ratelimit_hash(uint64_t seed, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* The bucket's tokens at now_ms (0 to burst), for eviction only. */
static double ratelimit_level(const struct bc_ratelimit *rl, const struct ratelimit_bucket *b,
                              int64_t now_ms)
{
	double ahead = b->tat_ms - (double)now_ms;

	if (ahead <= 0.0)
		return rl->burst;
	return rl->burst - ahead / rl->interval_ms;
}

/* Unlink and free every bucket whose level at now_ms is at least `floor`. */
static void ratelimit_drop_from(struct bc_ratelimit *rl, int64_t now_ms, double floor)
{
	for (size_t s = 0; s < rl->n_slots; s++) {
		struct ratelimit_bucket **pp = &rl->slots[s];
		while (*pp != NULL) {
			struct ratelimit_bucket *b = *pp;
			if (ratelimit_level(rl, b, now_ms) >= floor) {
				*pp = b->next;
				free(b);
				rl->n--;
			} else {
				pp = &b->next;
			}
		}
	}
}

/* Drop every bucket that is full at now_ms (idle). When the table is at its
 * limit and that freed less than a sixteenth of it, every key is busy (a
 * flood of distinct keys): then also drop the buckets at or above the mean
 * level, those whose owners were limited least lately, so that the cost of
 * a full scan is spread over many insertions rather than paid by each. */
static void ratelimit_evict(struct bc_ratelimit *rl, int64_t now_ms)
{
	double sum = 0.0;

	ratelimit_drop_from(rl, now_ms, rl->burst);
	if (rl->n == 0 || rl->n + rl->max_keys / 16 <= rl->max_keys)
		return;
	for (size_t s = 0; s < rl->n_slots; s++) {
		for (struct ratelimit_bucket *b = rl->slots[s]; b != NULL; b = b->next)
			sum += ratelimit_level(rl, b, now_ms);
	}
	/* At least the fullest bucket is at or above the mean. */
	ratelimit_drop_from(rl, now_ms, sum / (double)rl->n);
}

/* Double the slot array. On allocation failure keep the old one: chains get
 * longer, nothing breaks. */
static void ratelimit_grow(struct bc_ratelimit *rl)
{
	size_t n_slots = rl->n_slots * 2;
	/* Never 0: n_slots starts at RATELIMIT_MIN_SLOTS and only doubles.
	 * NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI) */
	struct ratelimit_bucket **slots = calloc(n_slots, sizeof *slots);

	if (slots == NULL)
		return;
	for (size_t s = 0; s < rl->n_slots; s++) {
		struct ratelimit_bucket *b = rl->slots[s];
		while (b != NULL) {
			struct ratelimit_bucket *next = b->next;
			size_t i = (size_t)(b->hash & (n_slots - 1));
			b->next = slots[i];
			slots[i] = b;
			b = next;
		}
	}
	free(rl->slots);
	rl->slots = slots;
	rl->n_slots = n_slots;
}

struct bc_ratelimit *bc_ratelimit_create(double rate, double burst)
{
	struct bc_ratelimit *rl = NULL;

	if (!isfinite(rate) || rate <= 0.0 || !isfinite(burst) || burst < 1.0)
		return NULL;
	rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return NULL;
	rl->rate = rate;
	rl->burst = burst;
	rl->interval_ms = 1000.0 / rate;
	rl->tolerance_ms = (burst - 1.0) * rl->interval_ms;
	rl->max_keys = RATELIMIT_MAX_KEYS;
	rl->n_slots = RATELIMIT_MIN_SLOTS;
	rl->slots = calloc(rl->n_slots, sizeof *rl->slots);
	if (rl->slots == NULL || bc_random(&rl->seed, sizeof rl->seed) != BC_OK ||
	    pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl->slots);
		free(rl);
		return NULL;
	}
	return rl;
}

int bc_ratelimit_take(struct bc_ratelimit *rl, const char *key, int64_t now_ms,
                      unsigned *retry_after_s)
{
	struct ratelimit_bucket *b;
	uint64_t h;
	double need, tat;
	int allowed = 0;

	if (rl == NULL)
		return 1; /* no limit configured */
	if (key == NULL)
		key = "";
	h = ratelimit_hash(rl->seed, key);
	pthread_mutex_lock(&rl->lock);
	for (b = rl->slots[h & (rl->n_slots - 1)]; b != NULL; b = b->next) {
		if (b->hash == h && strcmp(b->key, key) == 0)
			break;
	}
	if (b == NULL) {
		size_t key_len = strlen(key);

		/* A new key. Make room first: idle buckets go before the table
		 * grows, so its size follows the callers active now. The table
		 * grows unless that freed half of it, so scans stay rare (each
		 * is followed by at least n_slots / 2 insertions). */
		if (rl->n >= rl->n_slots) {
			ratelimit_evict(rl, now_ms);
			if (rl->n >= rl->n_slots / 2 && rl->n_slots < rl->max_keys)
				ratelimit_grow(rl);
		}
		b = malloc(sizeof *b + key_len + 1);
		if (b == NULL) {
			/* Out of memory: let the request through rather than
			 * refuse every new caller; the limit is a courtesy, not
			 * an authorisation. */
			allowed = 1;
			goto out;
		}
		memcpy(b->key, key, key_len + 1);
		b->hash = h;
		b->tat_ms = (double)now_ms; /* full */
		b->next = rl->slots[h & (rl->n_slots - 1)];
		rl->slots[h & (rl->n_slots - 1)] = b;
		rl->n++;
	}
	/* A tat in the past means a full bucket; the request fits when the tat
	 * is at most tolerance_ms ahead of now (burst - 1 further requests
	 * could still follow at once). A clock going backwards only makes the
	 * tat look further ahead: it never adds tokens. */
	tat = b->tat_ms > (double)now_ms ? b->tat_ms : (double)now_ms;
	if (tat - (double)now_ms <= rl->tolerance_ms) {
		b->tat_ms = tat + rl->interval_ms;
		allowed = 1;
		goto out;
	}
	if (retry_after_s != NULL) {
		need = ceil((tat - (double)now_ms - rl->tolerance_ms) / 1000.0);
		if (need < 1.0)
			need = 1.0;
		*retry_after_s = need >= (double)UINT_MAX ? UINT_MAX : (unsigned)need;
	}
out:
	pthread_mutex_unlock(&rl->lock);
	return allowed;
}

size_t bc_ratelimit_size(struct bc_ratelimit *rl)
{
	size_t n;

	pthread_mutex_lock(&rl->lock);
	n = rl->n;
	pthread_mutex_unlock(&rl->lock);
	return n;
}

void bc_ratelimit_free(struct bc_ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t s = 0; s < rl->n_slots; s++) {
		struct ratelimit_bucket *b = rl->slots[s];
		while (b != NULL) {
			struct ratelimit_bucket *next = b->next;
			free(b);
			b = next;
		}
	}
	free(rl->slots);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}
