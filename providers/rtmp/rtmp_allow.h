/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_allow.h: the `allow` option, the addresses nginx-rtmp's callbacks
 * may come from ("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"). Parsed
 * once by check() and create() from the same function, matched on every
 * callback against CivetWeb's numeric remote address.
 */
#ifndef BC_RTMP_ALLOW_H
#define BC_RTMP_ALLOW_H

#include <broadcast/host.h>

struct rtmp_allow;

/* Parse the LIST option `key` of cfg. Every item is an IPv4 or IPv6
 * address, alone or with a /prefix. On success *out (may be NULL: the
 * caller only checks) receives the list, to free with rtmp_allow_free().
 * BC_E_INVALID "rtmp.bad_allow" naming the bad item, BC_E_NOMEM. */
enum bc_status rtmp_allow_parse(const struct bc_host_api *api, const struct bc_config *cfg,
                                const char *key, struct rtmp_allow **out,
                                struct bc_error *err);
/* 1 when the numeric address `addr` is in the list, else 0 (also for an
 * address that does not parse). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is matched as the IPv4 address it carries. */
int rtmp_allow_match(const struct rtmp_allow *a, const char *addr);
/* NULL is a no-op. */
void rtmp_allow_free(struct rtmp_allow *a);

#endif /* BC_RTMP_ALLOW_H */
