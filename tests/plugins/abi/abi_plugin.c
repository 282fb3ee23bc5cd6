/* SPDX-License-Identifier: Apache-2.0 */
/*
 * abi_plugin.c: one provider source compiled several times with different
 * -D flags into the plugins the loader's version-negotiation tests load
 * (tests/unit/test_loader.c): the same ABI, a newer minor, another major, no
 * entry symbol, a descriptor too small, a missing required operation, an
 * entry that declines. Each build is a real .so made the way any plugin is.
 */
#include "config.h"

#include <stdlib.h>

#include <broadcast/broadcast.h>

#ifndef ABI_NAME
#define ABI_NAME "abi-same"
#endif
#ifndef ABI_MAJOR_V
#define ABI_MAJOR_V BC_ABI_MAJOR
#endif
#ifndef ABI_MINOR_V
#define ABI_MINOR_V BC_ABI_MINOR
#endif

static int created;

static enum bc_status ap_create(const struct bc_host_api *api, struct bc_host *host,
                                const struct bc_config *cfg, void **instance,
                                struct bc_error *err)
{
	(void)api;
	(void)host;
	(void)cfg;
	(void)err;
	*instance = &created;
	return BC_OK;
}

static enum bc_status ap_start(void *instance, const struct bc_stream_info *s,
                               struct bc_endpoint *out, struct bc_error *err)
{
	(void)instance;
	(void)s;
	(void)out;
	(void)err;
	return BC_OK;
}

__attribute__((unused)) static enum bc_status ap_stop(void *instance, const struct bc_stream_info *s,
                              struct bc_error *err)
{
	(void)instance;
	(void)s;
	(void)err;
	return BC_OK;
}

static void ap_destroy(void *instance)
{
	(void)instance;
}

static const char *const ap_types[] = { "abi", NULL };

static const struct bc_provider_ops ap_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = ap_types,
	.create = ap_create,
	.start = ap_start,
#ifndef ABI_MISSING_OP
	.stop = ap_stop,
#else
	.health = NULL,
#endif
	.destroy = ap_destroy,
};

static const struct bc_plugin ap_plugin = {
#ifdef ABI_SHORT_STRUCT
	.struct_size = 8,
#else
	.struct_size = sizeof(struct bc_plugin),
#endif
	.abi_major = ABI_MAJOR_V,
	.abi_minor = ABI_MINOR_V,
	.kind = BC_KIND_PROVIDER,
	.name = ABI_NAME,
	.version = "1",
	.description = "ABI negotiation test plugin",
	.ops = &ap_ops,
};

__attribute__((unused)) static const struct bc_plugin *const ap_plugins[] = { &ap_plugin, NULL };

#ifndef ABI_NO_ENTRY
const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_major;
	(void)host_minor;
#ifdef ABI_DECLINE
	return NULL;
#else
	return ap_plugins;
#endif
}
#else
/* Exported under another name, so the .so is valid but not a plugin. */
const struct bc_plugin *const *not_the_entry(void);
const struct bc_plugin *const *not_the_entry(void)
{
	(void)ap_stop;
	return ap_plugins;
}
#endif
