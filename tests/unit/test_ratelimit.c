/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ratelimit.c: Check suite for framework/ratelimit.c, per-caller token
 * buckets.
 *
 * Time is passed in explicitly, so most cases run on a simulated clock; the
 * concurrency case uses the real monotonic clock and four threads.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bc_internal.h"

/* Defined in ratelimit.c for tests; not part of bc_internal.h. */
size_t bc_ratelimit_size(struct bc_ratelimit *rl);

START_TEST(create_rejects)
{
	ck_assert_ptr_null(bc_ratelimit_create(0.0, 5.0));
	ck_assert_ptr_null(bc_ratelimit_create(-1.0, 5.0));
	ck_assert_ptr_null(bc_ratelimit_create(1.0, 0.5));
	ck_assert_ptr_null(bc_ratelimit_create(INFINITY, 5.0));
	bc_ratelimit_free(NULL);
}
END_TEST

START_TEST(burst_then_limited)
{
	struct bc_ratelimit *rl = bc_ratelimit_create(1.0, 5.0);
	unsigned retry = 0;
	int64_t t = 1000000;

	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(bc_ratelimit_take(rl, "alice", t, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "alice", t, &retry), 0);
	ck_assert_uint_eq(retry, 1);
	/* another key has its own bucket */
	ck_assert_int_eq(bc_ratelimit_take(rl, "bob", t, &retry), 1);
	/* a refused request takes nothing: one second later exactly one more */
	ck_assert_int_eq(bc_ratelimit_take(rl, "alice", t + 999, &retry), 0);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "alice", t + 1000, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "alice", t + 1000, &retry), 0);
	/* NULL retry pointer is allowed */
	ck_assert_int_eq(bc_ratelimit_take(rl, "alice", t + 1000, NULL), 0);
	bc_ratelimit_free(rl);
}
END_TEST

START_TEST(retry_after)
{
	struct bc_ratelimit *rl = bc_ratelimit_create(0.1, 2.0); /* one per 10 s */
	unsigned retry = 0;
	int64_t t = 0;

	ck_assert_ptr_nonnull(rl);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t, &retry), 0);
	ck_assert_uint_eq(retry, 10);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t + 2500, &retry), 0);
	ck_assert_uint_eq(retry, 8); /* 7.5 s, rounded up */
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t + 9999, &retry), 0);
	ck_assert_uint_eq(retry, 1); /* 1 ms, but at least one second */
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t + 10000, &retry), 1);
	bc_ratelimit_free(rl);

	/* fast rates still answer at least 1 */
	rl = bc_ratelimit_create(100.0, 1.0);
	ck_assert_ptr_nonnull(rl);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 0, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 0, &retry), 0);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 10, &retry), 1);
	bc_ratelimit_free(rl);
}
END_TEST

START_TEST(refill_simulated)
{
	struct bc_ratelimit *rl = bc_ratelimit_create(2.0, 4.0);
	unsigned retry;
	int allowed = 0;
	int64_t t = 5000;

	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(bc_ratelimit_take(rl, "k", t, &retry), 1);
	/* over 10 simulated seconds, taking every 50 ms: 2 per second */
	for (int step = 1; step <= 200; step++)
		allowed += bc_ratelimit_take(rl, "k", t + 50 * step, &retry);
	ck_assert_int_eq(allowed, 20);
	/* a long pause refills to burst, not beyond */
	t += 10000 + 3600 * 1000;
	allowed = 0;
	for (int i = 0; i < 10; i++)
		allowed += bc_ratelimit_take(rl, "k", t, &retry);
	ck_assert_int_eq(allowed, 4);
	/* a clock going backwards refills nothing */
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t - 60000, &retry), 0);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t + 499, &retry), 0);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", t + 500, &retry), 1);
	bc_ratelimit_free(rl);
}
END_TEST

START_TEST(fractional_rate)
{
	/* 0.5 per second with burst 1.5: one now, then the half token left
	 * becomes a whole one after 1 s */
	struct bc_ratelimit *rl = bc_ratelimit_create(0.5, 1.5);
	unsigned retry;

	ck_assert_ptr_nonnull(rl);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 0, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 0, &retry), 0);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 1000, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "k", 1000, &retry), 0);
	ck_assert_uint_eq(retry, 2);
	bc_ratelimit_free(rl);
}
END_TEST

START_TEST(many_keys_bounded)
{
	struct bc_ratelimit *rl = bc_ratelimit_create(1.0, 3.0);
	unsigned retry;
	char key[32];
	size_t peak = 0;

	ck_assert_ptr_nonnull(rl);
	/* 200,000 distinct busy keys at one instant: the table stays bounded */
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof key, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		ck_assert_int_eq(bc_ratelimit_take(rl, key, 1000, &retry), 1);
		if (bc_ratelimit_size(rl) > peak)
			peak = bc_ratelimit_size(rl);
	}
	ck_assert_uint_le(peak, 65536);
	ck_assert_uint_gt(peak, 60000);

	/* a key that is active keeps its bucket even under the flood when the
	 * others are idle: after 3 s every bucket is full again and evicted */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 4000, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 4000, &retry), 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof key, "fresh-%d", i);
		ck_assert_int_eq(bc_ratelimit_take(rl, key, 4000 + i / 1000, &retry), 1);
	}
	ck_assert_uint_le(bc_ratelimit_size(rl), 65536);
	ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 4099, &retry), 0);
	bc_ratelimit_free(rl);

	/* idle buckets go before the table grows: one new key a second for a
	 * long time keeps a handful of buckets */
	rl = bc_ratelimit_create(10.0, 10.0);
	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(bc_ratelimit_take(rl, key, (int64_t)i * 1000, &retry), 1);
		ck_assert_uint_le(bc_ratelimit_size(rl), 64);
	}
	bc_ratelimit_free(rl);
}
END_TEST

START_TEST(busy_key_survives_idle_eviction)
{
	struct bc_ratelimit *rl = bc_ratelimit_create(1.0, 2.0);
	unsigned retry;
	char key[32];

	ck_assert_ptr_nonnull(rl);
	ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 0, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 0, &retry), 1);
	ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 0, &retry), 0);
	/* many one-shot keys, at the same instant: each is busy (1 of 2 left)
	 * so none is idle, but they fit; "busy" must not be forgotten */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "one-%d", i);
		ck_assert_int_eq(bc_ratelimit_take(rl, key, 0, &retry), 1);
	}
	ck_assert_int_eq(bc_ratelimit_take(rl, "busy", 500, &retry), 0);
	bc_ratelimit_free(rl);
}
END_TEST

struct worker {
	struct bc_ratelimit *rl;
	int allowed;
	int64_t until_ms;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned retry;

	while (bc_monotonic_ms() < w->until_ms) {
		if (bc_ratelimit_take(w->rl, "shared", bc_monotonic_ms(), &retry))
			w->allowed++;
	}
	return NULL;
}

START_TEST(concurrent_takes)
{
	const double rate = 50.0, burst = 20.0;
	struct bc_ratelimit *rl = bc_ratelimit_create(rate, burst);
	struct worker w[4];
	pthread_t th[4];
	int64_t start, elapsed;
	int total = 0;

	ck_assert_ptr_nonnull(rl);
	start = bc_monotonic_ms();
	for (int i = 0; i < 4; i++) {
		w[i].rl = rl;
		w[i].allowed = 0;
		w[i].until_ms = start + 600;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		total += w[i].allowed;
	}
	elapsed = bc_monotonic_ms() - start;
	/* never more than the burst plus what refilled meanwhile */
	ck_assert_int_le(total, (int)(burst + rate * (double)elapsed / 1000.0) + 1);
	/* and the limiter did let the burst and most of the refill through */
	ck_assert_int_ge(total, (int)burst + (int)(rate * 0.3));
	bc_ratelimit_free(rl);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120); /* valgrind runs the 300,000-key case slowly */
	tcase_add_test(tc, create_rejects);
	tcase_add_test(tc, burst_then_limited);
	tcase_add_test(tc, retry_after);
	tcase_add_test(tc, refill_simulated);
	tcase_add_test(tc, fractional_rate);
	tcase_add_test(tc, many_keys_bounded);
	tcase_add_test(tc, busy_key_survives_idle_eviction);
	tcase_add_test(tc, concurrent_takes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
