/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_callbacks.h: the listener for nginx-rtmp's `notify_method post`
 * callbacks, on CivetWeb.
 *
 * Central type: struct rtmp_callbacks, one listener per provider instance.
 * It serves, only to the addresses of the `allow` option:
 *   POST /rtmp/on_publish       may this key publish? 302 to the stream id
 *                               (accept, renamed) or 4xx (refuse)
 *   POST /rtmp/on_update        is this publisher still allowed? 2xx or 4xx
 *   POST /rtmp/on_publish_done  the publisher left
 * and reports publishing and its end to the host as media facts. Keys are
 * rtmp_keys.c's; CivetWeb types stay in rtmp_callbacks.c (STYLE rule 9).
 */
#ifndef BC_RTMP_CALLBACKS_H
#define BC_RTMP_CALLBACKS_H

#include <stdint.h>

#include <broadcast/host.h>

#include "rtmp_allow.h"
#include "rtmp_keys.h"

#define RTMP_CALLBACK_PREFIX "/rtmp/"

struct rtmp_callbacks;

/* How the listener is set up; strings are borrowed for the call. */
struct rtmp_callbacks_cfg {
	const char *listen;          /* "HOST:PORT" as CivetWeb's listening_ports */
	int threads;                 /* worker threads */
	int64_t request_timeout_ms;  /* deadline of a request's headers, and of its body */
	const char *app;             /* the application of rtmp_url: callbacks name it */
};

/* Start listening. `keys` and `allow` are borrowed and must outlive the
 * listener. Returns BC_OK, BC_E_UNAVAILABLE "rtmp.listen_failed" (with
 * CivetWeb's reason, e.g. the port is taken), BC_E_NOMEM, BC_E_INTERNAL
 * "rtmp.thread_failed". */
enum bc_status rtmp_callbacks_start(struct rtmp_callbacks **out, const struct bc_host_api *api,
                                    struct bc_host *host, struct rtmp_keys *keys,
                                    const struct rtmp_allow *allow,
                                    const struct rtmp_callbacks_cfg *cfg,
                                    struct bc_error *err);

/* Stop listening, waiting for requests in flight. NULL is a no-op. */
void rtmp_callbacks_stop(struct rtmp_callbacks *c);

#endif /* BC_RTMP_CALLBACKS_H */
