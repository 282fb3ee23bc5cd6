/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_http.h: the webrtc provider's own listener (CivetWeb), the data
 * plane clients talk to:
 *
 *   POST    /whip/{stream}             WHIP (RFC 9725): an SDP offer with
 *                                      Authorization: Bearer -> 201 + answer
 *   PATCH   /whip/{stream}/{session}   trickle ICE (application/trickle-ice-sdpfrag)
 *   DELETE  /whip/{stream}/{session}   end the publisher's session
 *   POST    /whep/{stream}             a viewer: 201 with Janus's SDP offer
 *   PATCH   /whep/{stream}/{session}   the viewer's SDP answer (application/sdp)
 *                                      or trickle ICE
 *   DELETE  /whep/{stream}/{session}   end the viewer's session
 *   GET     /watch/{stream}            a page that plays the stream
 *   OPTIONS on any of them             CORS preflight
 *
 * Every request passes the HTTP frontend's guard first (http_guard.h:
 * framing, connections per address, a body deadline), then a Host check
 * (only the listener's own names: a page on another site cannot reach it
 * through DNS rebinding). Errors are JSON {"error": {"code", "message"}}
 * like the API's.
 */
#ifndef WEBRTC_HTTP_H
#define WEBRTC_HTTP_H

#include <stdint.h>

#include <broadcast/host.h>

#include "webrtc_err.h"
#include "webrtc_streams.h"

struct webrtc_http;

struct webrtc_http_cfg {
	const char *listen;              /* "HOST:PORT" */
	const char *public_url;          /* base URL as clients see it, no trailing slash */
	int threads;
	int64_t request_timeout_ms;      /* deadline of a request's headers and body */
	int max_connections_per_address; /* 0: http_guard's default */
	uint64_t max_sdp_bytes;          /* largest offer, answer or fragment */
	const char *const *ice_servers;  /* NULL-terminated URLs, for Link headers and the page */
	const char *const *cors_origins; /* NULL-terminated; "*" any */
};

enum bc_status webrtc_http_start(struct webrtc_http **out, const struct bc_host_api *api,
                                 struct bc_host *host, struct webrtc_streams *streams,
                                 const struct webrtc_http_cfg *cfg, struct webrtc_err *e);
/* Stop listening, waiting for requests in flight. NULL-safe. */
void webrtc_http_stop(struct webrtc_http *h);

#endif /* WEBRTC_HTTP_H */
