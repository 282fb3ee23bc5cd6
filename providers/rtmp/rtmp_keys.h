/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_keys.h: the rtmp provider's table of live stream keys.
 *
 * Central type: struct rtmp_keys, one per provider instance, guarded by one
 * mutex (callbacks arrive on CivetWeb workers while start/stop run on the
 * host's threads). It holds, per live stream, only the SHA-256 of its key,
 * the key's expiry and who publishes on it now; never the key. Entries come
 * from start() and resume() and leave at stop(), so a stopped stream's key
 * is simply unknown. The lookups compare hashes with the host's
 * secure_equal() over every entry, so their time does not depend on which
 * entry, if any, matches. Deciding what an nginx-rtmp callback means is
 * rtmp_callbacks.c's; this file only keeps the state.
 */
#ifndef BC_RTMP_KEYS_H
#define BC_RTMP_KEYS_H

#include <stdint.h>

#include <broadcast/host.h>

#define RTMP_ID_LEN 36        /* a UUID in text */
#define RTMP_CLIENT_MAX 32    /* nginx-rtmp's clientid: a decimal number */
#define RTMP_ADDR_MAX 64      /* the publisher's address, as nginx-rtmp writes it */

struct rtmp_keys;

/* What a publish, update or done callback found. */
enum rtmp_key_verdict {
	RTMP_KEY_OK = 0,        /* accepted; *stream_id is filled */
	RTMP_KEY_UNKNOWN,       /* no live stream has this key (stopped, never was) */
	RTMP_KEY_EXPIRED,       /* the key's time to begin publishing is over */
	RTMP_KEY_BUSY,          /* another publisher holds the stream */
	RTMP_KEY_NOT_PUBLISHER  /* an update or done from a client that does not hold it */
};

/* A new empty table. NULL when out of memory. `stale_after_ms`: a publisher
 * not heard of (publish or update) for this long no longer holds its
 * stream, so a lost on_publish_done (nginx killed) cannot lock a key out
 * (rtmp_keys_reap() then reports it gone). */
struct rtmp_keys *rtmp_keys_create(const struct bc_host_api *api, int64_t stale_after_ms);
/* Free the table. NULL is a no-op. */
void rtmp_keys_destroy(struct rtmp_keys *k);

/* Admit the key whose SHA-256 is `hash` (64 lowercase hex) for stream
 * `id`; `expires_ms` 0 for no expiry. `resumed`: the stream was live
 * before a restart, so nginx may still hold a publisher the table does not
 * know. Replaces an entry of the same id (resume after a reload). BC_OK or
 * BC_E_NOMEM. */
enum bc_status rtmp_keys_add(struct rtmp_keys *k, const char *id, const char *hash,
                             int64_t expires_ms, int resumed);
/* Forget stream `id`. Returns 1 when it has, or may have, a publisher (one
 * is known, or it was resumed and none has called back since), 0 when it
 * has none or was not there. */
int rtmp_keys_remove(struct rtmp_keys *k, const char *id);
/* How many streams the table holds. */
size_t rtmp_keys_count(struct rtmp_keys *k);

/* on_publish: give the stream of `hash` to publisher `client` at `addr`.
 * On RTMP_KEY_OK the stream's id is copied to `stream_id`
 * (RTMP_ID_LEN + 1 bytes). */
enum rtmp_key_verdict rtmp_keys_publish(struct rtmp_keys *k, const char *hash,
                                        const char *client, const char *addr,
                                        char *stream_id);
/* on_update: is `client` still allowed to publish on the key of `hash`?
 * A publisher the table does not know (after a daemon restart) is adopted
 * when the stream has none. On RTMP_KEY_OK fills `stream_id` and sets
 * *adopted to 1 when the publisher was adopted. */
enum rtmp_key_verdict rtmp_keys_update(struct rtmp_keys *k, const char *hash,
                                       const char *client, const char *addr,
                                       char *stream_id, int *adopted);
/* on_publish_done: `client` left the stream of `hash`. RTMP_KEY_OK (and
 * `stream_id`) only when it was the stream's publisher. */
enum rtmp_key_verdict rtmp_keys_done(struct rtmp_keys *k, const char *hash,
                                     const char *client, char *stream_id);
/* Release the streams whose publisher went silent for stale_after_ms:
 * each such stream has no publisher afterwards and its id is copied to
 * ids[i] (at most `max`; the rest wait for the next call). Returns how
 * many were copied. */
size_t rtmp_keys_reap(struct rtmp_keys *k, char (*ids)[RTMP_ID_LEN + 1], size_t max);

#endif /* BC_RTMP_KEYS_H */
