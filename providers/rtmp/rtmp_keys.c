/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_keys.c: the table of live stream keys (see rtmp_keys.h).
 *
 * A plain array: one entry per live stream of one provider instance, a few
 * hundred at most, and every key lookup has to visit each entry anyway so
 * that its time does not tell which one matched. Removal moves the last
 * entry into the hole.
 */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp_keys.h"

struct rtmp_key_entry {
	char id[RTMP_ID_LEN + 1];
	char hash[65];
	int64_t expires_ms;              /* 0: none */
	char client[RTMP_CLIENT_MAX];    /* "" when nobody publishes */
	char addr[RTMP_ADDR_MAX];
	int64_t seen_ms;                 /* monotonic, the publisher's last callback */
	int publisher_unknown;           /* resumed, no callback since */
};

struct rtmp_keys {
	const struct bc_host_api *api;
	int64_t stale_after_ms;
	pthread_mutex_t lock;
	struct rtmp_key_entry *v;
	size_t n, cap;
};

struct rtmp_keys *rtmp_keys_create(const struct bc_host_api *api, int64_t stale_after_ms)
{
	struct rtmp_keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->api = api;
	k->stale_after_ms = stale_after_ms;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	return k;
}

void rtmp_keys_destroy(struct rtmp_keys *k)
{
	if (k == NULL)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k->v);
	free(k);
}

static void rtmp_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The entry of `hash`, or NULL. Called with the lock held. Visits every
 * entry whatever matches, and compares with secure_equal(). */
static struct rtmp_key_entry *rtmp_find_hash(struct rtmp_keys *k, const char *hash)
{
	struct rtmp_key_entry *found = NULL;
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (k->api->secure_equal(k->v[i].hash, 64, hash, 64) && found == NULL)
			found = &k->v[i];
	}
	return found;
}

static struct rtmp_key_entry *rtmp_find_id(struct rtmp_keys *k, const char *id)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (strcmp(k->v[i].id, id) == 0)
			return &k->v[i];
	}
	return NULL;
}

static int rtmp_publisher_is_current(const struct rtmp_keys *k, const struct rtmp_key_entry *e)
{
	return e->client[0] != '\0' && k->api->monotonic_ms() - e->seen_ms < k->stale_after_ms;
}

enum bc_status rtmp_keys_add(struct rtmp_keys *k, const char *id, const char *hash,
                             int64_t expires_ms, int resumed)
{
	struct rtmp_key_entry *e;

	pthread_mutex_lock(&k->lock);
	e = rtmp_find_id(k, id);
	if (e == NULL) {
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 16;
			struct rtmp_key_entry *v = realloc(k->v, cap * sizeof(*v));
			if (v == NULL) {
				pthread_mutex_unlock(&k->lock);
				return BC_E_NOMEM;
			}
			k->v = v;
			k->cap = cap;
		}
		e = &k->v[k->n++];
	}
	memset(e, 0, sizeof(*e));
	rtmp_copy(e->id, sizeof(e->id), id);
	rtmp_copy(e->hash, sizeof(e->hash), hash);
	e->expires_ms = expires_ms;
	e->publisher_unknown = resumed;
	pthread_mutex_unlock(&k->lock);
	return BC_OK;
}

int rtmp_keys_remove(struct rtmp_keys *k, const char *id)
{
	struct rtmp_key_entry *e;
	int may_have_publisher = 0;

	pthread_mutex_lock(&k->lock);
	e = rtmp_find_id(k, id);
	if (e != NULL) {
		may_have_publisher = e->client[0] != '\0' || e->publisher_unknown;
		*e = k->v[--k->n];
	}
	pthread_mutex_unlock(&k->lock);
	return may_have_publisher;
}

size_t rtmp_keys_count(struct rtmp_keys *k)
{
	size_t n;

	pthread_mutex_lock(&k->lock);
	n = k->n;
	pthread_mutex_unlock(&k->lock);
	return n;
}

static void rtmp_take(struct rtmp_keys *k, struct rtmp_key_entry *e, const char *client,
                      const char *addr)
{
	rtmp_copy(e->client, sizeof(e->client), client);
	rtmp_copy(e->addr, sizeof(e->addr), addr);
	e->seen_ms = k->api->monotonic_ms();
	e->publisher_unknown = 0;
}

enum rtmp_key_verdict rtmp_keys_publish(struct rtmp_keys *k, const char *hash,
                                        const char *client, const char *addr,
                                        char *stream_id)
{
	struct rtmp_key_entry *e;
	enum rtmp_key_verdict v = RTMP_KEY_OK;

	pthread_mutex_lock(&k->lock);
	e = rtmp_find_hash(k, hash);
	if (e == NULL)
		v = RTMP_KEY_UNKNOWN;
	else if (e->expires_ms != 0 && k->api->now_ms() >= e->expires_ms)
		v = RTMP_KEY_EXPIRED;
	else if (rtmp_publisher_is_current(k, e))
		v = RTMP_KEY_BUSY; /* one publisher at a time, even the same client again */
	else {
		rtmp_take(k, e, client, addr);
		memcpy(stream_id, e->id, RTMP_ID_LEN + 1);
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

enum rtmp_key_verdict rtmp_keys_update(struct rtmp_keys *k, const char *hash,
                                       const char *client, const char *addr,
                                       char *stream_id, int *adopted)
{
	struct rtmp_key_entry *e;
	enum rtmp_key_verdict v = RTMP_KEY_OK;

	*adopted = 0;
	pthread_mutex_lock(&k->lock);
	e = rtmp_find_hash(k, hash);
	if (e == NULL) {
		v = RTMP_KEY_UNKNOWN;
	} else if (e->client[0] != '\0' && strcmp(e->client, client) == 0) {
		e->seen_ms = k->api->monotonic_ms();
		memcpy(stream_id, e->id, RTMP_ID_LEN + 1);
	} else if (rtmp_publisher_is_current(k, e)) {
		v = RTMP_KEY_NOT_PUBLISHER;
	} else {
		/* After a daemon restart nginx kept the publisher and the table
		 * was rebuilt without it. Expiry bounds when a publish may begin,
		 * not how long it lasts (max_duration does), so it is adopted. */
		rtmp_take(k, e, client, addr);
		memcpy(stream_id, e->id, RTMP_ID_LEN + 1);
		*adopted = 1;
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

enum rtmp_key_verdict rtmp_keys_done(struct rtmp_keys *k, const char *hash,
                                     const char *client, char *stream_id)
{
	struct rtmp_key_entry *e;
	enum rtmp_key_verdict v = RTMP_KEY_OK;

	pthread_mutex_lock(&k->lock);
	e = rtmp_find_hash(k, hash);
	if (e == NULL) {
		v = RTMP_KEY_UNKNOWN;
	} else if (e->client[0] == '\0' || strcmp(e->client, client) != 0) {
		v = RTMP_KEY_NOT_PUBLISHER;
	} else {
		e->client[0] = '\0';
		e->addr[0] = '\0';
		memcpy(stream_id, e->id, RTMP_ID_LEN + 1);
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

size_t rtmp_keys_reap(struct rtmp_keys *k, char (*ids)[RTMP_ID_LEN + 1], size_t max)
{
	size_t i, n = 0;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->n && n < max; i++) {
		struct rtmp_key_entry *e = &k->v[i];
		if (e->client[0] == '\0' || rtmp_publisher_is_current(k, e))
			continue;
		e->client[0] = '\0';
		e->addr[0] = '\0';
		memcpy(ids[n++], e->id, RTMP_ID_LEN + 1);
	}
	pthread_mutex_unlock(&k->lock);
	return n;
}
