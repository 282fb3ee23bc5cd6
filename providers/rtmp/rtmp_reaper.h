/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_reaper.h: the thread that notices publishers nginx-rtmp stopped
 * telling us about. nginx-rtmp calls on_update for each publisher every
 * notify_update_timeout; when nginx is killed or restarted no
 * on_publish_done comes, so without this the stream would stay
 * "publishing" and idle_timeout would never stop it. Once a second it asks
 * the key table (rtmp_keys_reap()) for publishers silent too long and
 * reports each one gone to the host.
 */
#ifndef BC_RTMP_REAPER_H
#define BC_RTMP_REAPER_H

#include <broadcast/host.h>

#include "rtmp_keys.h"

struct rtmp_reaper;

/* Start the thread. `keys` is borrowed and must outlive the reaper.
 * BC_OK, BC_E_NOMEM, or BC_E_INTERNAL "rtmp.thread_failed". */
enum bc_status rtmp_reaper_start(struct rtmp_reaper **out, const struct bc_host_api *api,
                                 struct bc_host *host, struct rtmp_keys *keys,
                                 struct bc_error *err);
/* Stop and join the thread, then free. NULL is a no-op. */
void rtmp_reaper_stop(struct rtmp_reaper *r);

#endif /* BC_RTMP_REAPER_H */
