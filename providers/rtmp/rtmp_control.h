/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_control.h: cutting a publisher through nginx-rtmp's control module
 * (`rtmp_control all;` in an http location). The only file of the plugin
 * that includes curl.h.
 */
#ifndef BC_RTMP_CONTROL_H
#define BC_RTMP_CONTROL_H

#include <stdint.h>

#include <broadcast/host.h>

/* Once per instance, from create(): libcurl's global setup (reference
 * counted by libcurl since 7.84; Debian bookworm has 7.88). BC_OK or
 * BC_E_INTERNAL "rtmp.curl". Pair with rtmp_control_global_cleanup(). */
enum bc_status rtmp_control_global_init(const struct bc_host_api *api, struct bc_error *err);
void rtmp_control_global_cleanup(void);

/* GET {control_url}/drop/publisher?app=APP&name=NAME, within timeout_ms.
 * `app` and `name` are plain ([A-Za-z0-9_-]), checked by the caller.
 * Returns the number of publishers nginx dropped (its body, 0 when it
 * found none), or -1 when the call failed: then a WARN line says why, and
 * the publisher stays until nginx-rtmp's next on_update is refused. */
int rtmp_control_drop(const struct bc_host_api *api, struct bc_host *host,
                      const char *control_url, const char *app, const char *name,
                      int64_t timeout_ms);

#endif /* BC_RTMP_CONTROL_H */
