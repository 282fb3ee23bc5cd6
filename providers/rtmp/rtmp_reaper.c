/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_reaper.c: the silent-publisher thread (see rtmp_reaper.h). It waits
 * on a condition variable with a monotonic clock, so a stop wakes it at
 * once and a wall-clock jump neither stalls nor hurries it.
 */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "rtmp_reaper.h"

#define RTMP_REAP_EVERY_MS 1000
#define RTMP_REAP_BATCH 64

struct rtmp_reaper {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct rtmp_keys *keys;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	pthread_t thread;
};

static void rtmp_reaper_round(struct rtmp_reaper *r)
{
	char ids[RTMP_REAP_BATCH][RTMP_ID_LEN + 1];
	size_t i, n = rtmp_keys_reap(r->keys, ids, RTMP_REAP_BATCH);

	for (i = 0; i < n; i++) {
		r->api->log(r->host, BC_LOG_WARN, "stream %s: its publisher stopped calling back "
		                                  "(no on_update): taken as gone", ids[i]);
		r->api->media_report(r->host, ids[i], BC_MEDIA_FACT_GONE,
		                     "rtmp publisher silent: no on_update from nginx-rtmp");
	}
}

static void *rtmp_reaper_main(void *arg)
{
	struct rtmp_reaper *r = arg;
	struct timespec at;

	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += RTMP_REAP_EVERY_MS / 1000;
		(void)pthread_cond_timedwait(&r->wake, &r->lock, &at);
		if (r->stopping)
			break;
		pthread_mutex_unlock(&r->lock);
		rtmp_reaper_round(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

enum bc_status rtmp_reaper_start(struct rtmp_reaper **out, const struct bc_host_api *api,
                                 struct bc_host *host, struct rtmp_keys *keys,
                                 struct bc_error *err)
{
	struct rtmp_reaper *r = calloc(1, sizeof(*r));
	pthread_condattr_t attr;
	int cond_ok = 0;

	*out = NULL;
	if (r == NULL)
		return api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
	r->api = api;
	r->host = host;
	r->keys = keys;
	if (pthread_condattr_init(&attr) == 0) {
		cond_ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
		          pthread_cond_init(&r->wake, &attr) == 0;
		pthread_condattr_destroy(&attr);
	}
	if (!cond_ok) {
		free(r);
		return api->fail(err, BC_E_INTERNAL, "rtmp.thread_failed",
		                 "cannot set up the publisher watch");
	}
	pthread_mutex_init(&r->lock, NULL);
	if (pthread_create(&r->thread, NULL, rtmp_reaper_main, r) != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return api->fail(err, BC_E_INTERNAL, "rtmp.thread_failed",
		                 "cannot start the publisher watch thread");
	}
	*out = r;
	return BC_OK;
}

void rtmp_reaper_stop(struct rtmp_reaper *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
