/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_allow.c: address lists with prefixes (see rtmp_allow.h). Every
 * address is kept as 16 bytes, IPv4 ones in their IPv4-mapped IPv6 form
 * (RFC 4291 §2.5.5.2) with the prefix moved by 96 bits, so one comparison
 * serves both families and a v4 client seen on a dual-stack socket matches
 * its v4 entry.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp_allow.h"

struct rtmp_net {
	unsigned char addr[16];
	unsigned prefix; /* 0..128 */
};

struct rtmp_allow {
	size_t n;
	struct rtmp_net nets[];
};

/* Parse "ADDR" or "ADDR/PREFIX" into n; 0 on success. */
static int rtmp_net_parse(const char *text, struct rtmp_net *n)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned char v4[4];
	unsigned long prefix;
	unsigned max;
	char *end = NULL;

	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, v4) == 1) {
		n->addr[10] = 0xff;
		n->addr[11] = 0xff;
		memcpy(n->addr + 12, v4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		max = 128;
	} else {
		return -1;
	}
	prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || prefix > max)
			return -1;
	}
	n->prefix = (unsigned)prefix + (128 - max);
	return 0;
}

static int rtmp_net_contains(const struct rtmp_net *net, const unsigned char *a)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(net->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net->addr[full] ^ a[full]) & (0xff00u >> rest) & 0xffu) == 0;
}

enum bc_status rtmp_allow_parse(const struct bc_host_api *api, const struct bc_config *cfg,
                                const char *key, struct rtmp_allow **out,
                                struct bc_error *err)
{
	size_t i, n = api->cfg_list_len(cfg, key);
	struct rtmp_allow *a;

	if (out != NULL)
		*out = NULL;
	if (n == 0)
		return api->fail(err, BC_E_INVALID, "rtmp.bad_allow",
		                 "%s is empty: no callback could ever be accepted; list the "
		                 "address of the nginx that calls back, e.g. [\"127.0.0.1\"]", key);
	a = calloc(1, sizeof(*a) + n * sizeof(a->nets[0]));
	if (a == NULL)
		return api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
	a->n = n;
	for (i = 0; i < n; i++) {
		const char *item = api->cfg_list_at(cfg, key, i);
		if (item == NULL || rtmp_net_parse(item, &a->nets[i]) != 0) {
			free(a);
			return api->fail(err, BC_E_INVALID, "rtmp.bad_allow",
			                 "%s: \"%s\" is not an address or ADDRESS/PREFIX, e.g. "
			                 "\"127.0.0.1\" or \"10.0.0.0/8\"", key, item ? item : "");
		}
	}
	if (out != NULL)
		*out = a;
	else
		free(a);
	return BC_OK;
}

int rtmp_allow_match(const struct rtmp_allow *a, const char *addr)
{
	struct rtmp_net peer;
	size_t i;

	if (a == NULL || addr == NULL || strchr(addr, '/') != NULL ||
	    rtmp_net_parse(addr, &peer) != 0)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (rtmp_net_contains(&a->nets[i], peer.addr))
			return 1;
	}
	return 0;
}

void rtmp_allow_free(struct rtmp_allow *a)
{
	free(a);
}
