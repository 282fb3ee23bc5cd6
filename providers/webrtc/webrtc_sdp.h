/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_sdp.h: the little the webrtc provider reads of SDP: whether a
 * client's offer or answer is worth sending to Janus (a clear 400 here
 * beats Janus's terse refusal), and the candidates of a trickle-ICE SDP
 * fragment (RFC 8840, the body of a WHIP PATCH). Pure functions, no I/O.
 */
#ifndef WEBRTC_SDP_H
#define WEBRTC_SDP_H

#include <stddef.h>

#include "webrtc_janus.h"

/* 1 when the len bytes at s are well-formed UTF-8 without NUL, else 0. */
int webrtc_utf8_is_valid(const char *s, size_t len);

/* NULL when `sdp` (NUL-terminated) looks like a WebRTC session description
 * (v=0 first, only "x=value" lines, at least one m= section, ICE
 * credentials and a DTLS fingerprint), else a sentence saying what is
 * wrong, for the 400 body. */
const char *webrtc_sdp_check(const char *sdp);

/* Parse a trickle-ICE fragment in place (it cuts `frag` into lines).
 * Fills up to `max` candidates (pointers into frag) and *completed when it
 * has a=end-of-candidates; *ufrag points to its a=ice-ufrag value or NULL.
 * Returns the number of candidates, or -1 with *why set when it is not a
 * fragment (a line that is not "x=value", too many candidates). */
int webrtc_sdp_frag_parse(char *frag, struct webrtc_janus_candidate *c, size_t max,
                          int *completed, const char **ufrag, const char **why);

#endif /* WEBRTC_SDP_H */
