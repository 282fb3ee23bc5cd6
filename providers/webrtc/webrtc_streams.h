/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_streams.h: the webrtc provider's table of live streams and of
 * their WHIP and viewer sessions, and what the listener asks of them.
 *
 * A stream is its id, the SHA-256 of its bearer token (never the token),
 * its VideoRoom (id and secret) and at most one publisher session plus a
 * bounded number of viewer sessions. A session is a resource the client
 * addresses by an unguessable id (Location: /whip/{stream}/{resource}) and
 * one Janus session (webrtc_janus.h). The table is soft state: start() and
 * resume() fill it, stop() empties it; nothing is written to disk.
 *
 * Thread-safety: every function may run on any thread; one mutex guards
 * the table and Janus is never called under it.
 */
#ifndef WEBRTC_STREAMS_H
#define WEBRTC_STREAMS_H

#include <stdint.h>

#include <broadcast/host.h>

#include "webrtc_err.h"
#include "webrtc_janus.h"

#define WEBRTC_ID_LEN 36       /* a stream id: a lowercase UUID */
#define WEBRTC_RESOURCE_LEN 32 /* a session resource id: 16 random bytes in hex */
#define WEBRTC_SECRET_LEN 64   /* a room secret: SHA-256 in hex */

struct webrtc_streams;

/* 1 when id is a lowercase UUID (what the host gives), else 0. */
int webrtc_id_is_valid(const char *id);
/* 1 when s is WEBRTC_RESOURCE_LEN lowercase hex digits. */
int webrtc_resource_is_valid(const char *s);

enum bc_status webrtc_streams_create(struct webrtc_streams **out, const struct bc_host_api *api,
                                     struct bc_host *host, struct webrtc_janus *janus,
                                     int max_viewers, struct webrtc_err *e);
/* Close every session (their PeerConnections end; rooms stay) and free.
 * NULL-safe. */
void webrtc_streams_destroy(struct webrtc_streams *t);

/* Admit a stream: a new one (start) or one live in the store (resume).
 * token_sha256 is 64 hex digits; expires_ms 0 for "until stop". A stream
 * that is there already is updated. */
enum bc_status webrtc_streams_add(struct webrtc_streams *t, const char *id,
                                  const char *token_sha256, int64_t expires_ms, uint64_t room,
                                  const char *room_secret, struct webrtc_err *e);
/* Forget a stream and end its sessions (after its room was destroyed).
 * Returns 1 when it was there, 0 when not (a second stop). */
int webrtc_streams_remove(struct webrtc_streams *t, const char *id);
size_t webrtc_streams_live_count(struct webrtc_streams *t);

/* ---- what the listener asks ------------------------------------------------------- */

/* Check a WHIP client's bearer token for stream `id`: BC_OK, BC_E_NOT_FOUND
 * "webrtc.not_found" (no such live stream), BC_E_UNAUTHENTICATED
 * "webrtc.bad_token" or "webrtc.token_expired". */
enum bc_status webrtc_streams_authorize(struct webrtc_streams *t, const char *id,
                                        const char *token, struct webrtc_err *e);

/* A WHIP POST, after authorize(): join the room as its publisher with
 * `offer`. On BC_OK *answer is Janus's SDP answer (malloc'd, the caller
 * frees) and resource[] the new session's id. BC_E_CONFLICT
 * "webrtc.publisher_exists" when a publisher is on. `peer` is the client's
 * address, for logs and the media detail. */
enum bc_status webrtc_streams_publish(struct webrtc_streams *t, const char *id,
                                      const char *offer, const char *peer, char **answer,
                                      char resource[WEBRTC_RESOURCE_LEN + 1],
                                      struct webrtc_err *e);

/* A viewer's POST: subscribe to the stream's publisher. *offer is Janus's
 * offer (malloc'd). BC_E_CONFLICT "webrtc.not_publishing" when nobody
 * publishes; BC_E_UNAVAILABLE "webrtc.too_many_viewers". */
enum bc_status webrtc_streams_watch(struct webrtc_streams *t, const char *id, char **offer,
                                    char resource[WEBRTC_RESOURCE_LEN + 1],
                                    struct webrtc_err *e);
/* The viewer's SDP answer to that offer. */
enum bc_status webrtc_streams_watch_answer(struct webrtc_streams *t, const char *id,
                                           const char *resource, const char *answer,
                                           struct webrtc_err *e);

/* A trickle-ICE PATCH for session `resource` of stream `id` (publisher
 * when is_viewer is 0). */
enum bc_status webrtc_streams_trickle(struct webrtc_streams *t, const char *id, int is_viewer,
                                      const char *resource, char *frag, struct webrtc_err *e);

/* End session `resource` (a DELETE). BC_E_NOT_FOUND "webrtc.no_session". */
enum bc_status webrtc_streams_end(struct webrtc_streams *t, const char *id, int is_viewer,
                                  const char *resource, struct webrtc_err *e);

#endif /* WEBRTC_STREAMS_H */
