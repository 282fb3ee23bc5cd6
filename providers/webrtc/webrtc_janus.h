/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_janus.h: the webrtc provider's client of the Janus HTTP API
 * (https://janus.conf.meetecho.com/docs/rest.html) and of its VideoRoom
 * plugin. The only part of the plugin that knows libcurl or jansson.
 *
 * Two kinds of use:
 *  - room operations (create, destroy, kick everybody): synchronous VideoRoom
 *    requests, each on a short-lived Janus session of its own, so they need
 *    no keepalive and survive a Janus restart;
 *  - a media session (struct webrtc_janus_session): one Janus session and
 *    one VideoRoom handle for one WHIP publisher or one viewer, with a
 *    long-poll thread that reads the session's events. The long poll is
 *    also the session's keepalive (Janus's HTTP transport counts each poll
 *    as one). Events about the PeerConnection reach the owner through a
 *    callback; answers to asynchronous requests (join, start) reach the
 *    caller that waits for them.
 *
 * Every call is bounded by the client's timeout: Janus down or stuck gives
 * BC_E_UNAVAILABLE "webrtc.janus_unavailable", never a hang. The API secret
 * and the VideoRoom admin key go to Janus only: they are never logged and
 * never copied into an error message.
 *
 * Thread-safety: a client may be used from any thread once created. A
 * session's requests may come from any thread (they are serialised);
 * webrtc_janus_session_close() must not run on the session's own callback.
 */
#ifndef WEBRTC_JANUS_H
#define WEBRTC_JANUS_H

#include <stdint.h>

#include <broadcast/host.h>

#include "webrtc_err.h"

struct webrtc_janus;
struct webrtc_janus_session;

/* What the long-poll thread saw about a session's PeerConnection. */
enum webrtc_janus_event {
	WEBRTC_JANUS_UP = 1,        /* "webrtcup": ICE and DTLS are done */
	WEBRTC_JANUS_MEDIA_ON = 2,  /* "media" receiving true */
	WEBRTC_JANUS_MEDIA_OFF = 3, /* "media" receiving false (no media for a while) */
	WEBRTC_JANUS_HANGUP = 4,    /* "hangup": the PeerConnection ended (detail: reason) */
	WEBRTC_JANUS_GONE = 5       /* the session ended: Janus unreachable, session timed
	                               out or destroyed, room destroyed; no more events */
};

/* Called on the session's long-poll thread, with no lock of this file held.
 * `detail` is a short text from Janus (a hangup reason) or NULL. */
typedef void (*webrtc_janus_event_fn)(void *user, enum webrtc_janus_event ev,
                                      const char *detail);

struct webrtc_janus_cfg {
	const char *url;         /* the HTTP API base, e.g. http://127.0.0.1:8088/janus */
	const char *api_secret;  /* Janus's api_secret, or NULL */
	const char *admin_key;   /* the VideoRoom plugin's admin_key, or NULL */
	const char *video_codecs; /* the room's videocodec list, e.g. "vp8,h264" */
	const char *audio_codecs; /* the room's audiocodec list, e.g. "opus" */
	int64_t timeout_ms;      /* every request and every wait for an answer */
};

/* Make a client (copies cfg's strings). BC_E_NOMEM or BC_E_INTERNAL. */
enum bc_status webrtc_janus_create(struct webrtc_janus **out, const struct bc_host_api *api,
                                   struct bc_host *host, const struct webrtc_janus_cfg *cfg,
                                   struct webrtc_err *err);
/* Free a client; no session may be open. NULL-safe. */
void webrtc_janus_destroy(struct webrtc_janus *j);

/* Whether Janus answers an "info" request now (for health). BC_OK or
 * BC_E_UNAVAILABLE "webrtc.janus_unavailable". */
enum bc_status webrtc_janus_ping(struct webrtc_janus *j, struct webrtc_err *err);

/* ---- rooms ---------------------------------------------------------------- */

/* Create VideoRoom `room` with `secret`, one publisher, private. A room that
 * exists already (427) is success: a retried start, or a resume. */
enum bc_status webrtc_janus_room_create(struct webrtc_janus *j, uint64_t room,
                                        const char *secret, const char *description,
                                        struct webrtc_err *err);
/* Destroy `room` (kicking everybody in it). A room that does not exist is
 * success. */
enum bc_status webrtc_janus_room_destroy(struct webrtc_janus *j, uint64_t room,
                                         const char *secret, struct webrtc_err *err);
/* Kick every participant of `room` (a publisher left behind by a session
 * broadcastd no longer knows, after its restart). Returns how many were
 * kicked, or -1 when Janus could not be asked. */
int webrtc_janus_room_kick_all(struct webrtc_janus *j, uint64_t room, const char *secret);

/* ---- media sessions ----------------------------------------------------------- */

/* Create a Janus session, attach the VideoRoom plugin and start the
 * long-poll thread, which calls `fn(user, ...)` for every event until the
 * session is closed. */
enum bc_status webrtc_janus_session_open(struct webrtc_janus *j, webrtc_janus_event_fn fn,
                                         void *user, struct webrtc_janus_session **out,
                                         struct webrtc_err *err);
/* Stop the thread (it calls no callback after this returns), destroy the
 * Janus session (ending its PeerConnection) and free. NULL-safe. */
void webrtc_janus_session_close(struct webrtc_janus_session *s);

/* Join `room` as its publisher with the client's SDP offer
 * ("joinandconfigure"). On BC_OK *answer (malloc'd, the caller frees) is
 * Janus's SDP answer and *feed the publisher's id in the room. Failures:
 * BC_E_CONFLICT "webrtc.publisher_exists" (the room has its publisher),
 * BC_E_NOT_FOUND "webrtc.no_room", BC_E_INVALID "webrtc.bad_sdp" (Janus
 * refused the offer; its reason is in the message), BC_E_UNAVAILABLE. */
enum bc_status webrtc_janus_publish(struct webrtc_janus_session *s, uint64_t room,
                                    const char *display, const char *offer, char **answer,
                                    uint64_t *feed, struct webrtc_err *err);
/* Subscribe to publisher `feed` of `room`: Janus makes the offer, returned
 * in *offer (malloc'd). */
enum bc_status webrtc_janus_subscribe(struct webrtc_janus_session *s, uint64_t room,
                                      uint64_t feed, char **offer, struct webrtc_err *err);
/* Complete a subscription with the viewer's SDP answer ("start"). */
enum bc_status webrtc_janus_start(struct webrtc_janus_session *s, const char *answer,
                                  struct webrtc_err *err);

/* One trickled ICE candidate; candidate NULL with completed 1 says the
 * client has no more. */
struct webrtc_janus_candidate {
	const char *mid;       /* a=mid of its media section, or NULL */
	int mline_index;       /* its m= line's index, or -1 */
	const char *candidate; /* "candidate:..." */
};
enum bc_status webrtc_janus_trickle(struct webrtc_janus_session *s,
                                    const struct webrtc_janus_candidate *c, size_t n,
                                    int completed, struct webrtc_err *err);

#endif /* WEBRTC_JANUS_H */
