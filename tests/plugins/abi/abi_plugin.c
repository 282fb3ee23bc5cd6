/* SPDX-License-Identifier: Apache-2.0 */
/*
 * abi_plugin.c: one provider source compiled several times with different
 * -D flags into the plugins the loader's version-negotiation tests load
 * (tests/unit/test_loader.c): the same ABI, a newer minor, another major, no
 * entry symbol, a descriptor too small, a missing required operation, an
 * entry that declines. Since ABI 1.1 also: built with -DBC_PLUGIN_MIN_MINOR=0
 * (ABI_INIT: the descriptor made by BC_PLUGIN_INIT), built with
 * -fvisibility=hidden with and without the header's BC_PLUGIN_EXPORT
 * declaration (ABI_NO_DECL), declaring a reserved host-wide option
 * (ABI_RESERVED_OPTION, as a provider or, with ABI_FRONTEND, a frontend).
 * Each build is a real .so made the way any plugin is.
 */
#include "config.h"

#include <stdlib.h>

#ifdef ABI_NO_DECL
/* Keep the header's declaration of the entry (and its BC_PLUGIN_EXPORT) off
 * the real name, as a plugin written before ABI 1.1 is: under
 * -fvisibility=hidden its entry is then hidden. */
#define bc_plugin_entry abi_header_declaration_unused
#endif
#include <broadcast/broadcast.h>
#ifdef ABI_NO_DECL
#undef bc_plugin_entry
const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor);
#endif

#if defined(ABI_SHORT_STRUCT) || defined(ABI_MAJOR_V) || defined(ABI_MINOR_V)
#define ABI_EXPLICIT_VERSIONS 1
#endif

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
	(void)host;
	(void)cfg;
	(void)err;
	/* What a plugin with BC_PLUGIN_MIN_MINOR below the headers' does before
	 * it touches a newer member. */
	if (BC_HAS_MEMBER(api, struct bc_host_api, log_v) && api->log_v != NULL)
		created = 1;
	*instance = &created;
	return BC_OK;
}

#ifdef ABI_FRONTEND
static enum bc_status af_start(void *instance, struct bc_error *err)
{
	(void)instance;
	(void)err;
	return BC_OK;
}

static void af_drain(void *instance, int64_t timeout_ms)
{
	(void)instance;
	(void)timeout_ms;
}
#endif

__attribute__((unused)) static enum bc_status ap_start(void *instance, const struct bc_stream_info *s,
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

static const struct bc_option ap_options[] = {
	BC_OPTION(.name = "greeting", .type = BC_OPT_STRING, .default_value = "hello",
	          .description = "An option of the plugin's own."),
#ifdef ABI_RESERVED_OPTION
	BC_OPTION(.name = ABI_RESERVED_OPTION, .type = BC_OPT_STRING,
	          .description = "A host-wide name the loader refuses."),
#endif
	BC_OPTION_END
};

__attribute__((unused)) static const struct bc_provider_ops ap_ops = {
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

#ifdef ABI_STORE_PARTIAL
/* A store with the operations of 1.0 and one of 1.1's event set. */
static enum bc_status as_reserve(void *instance, const struct bc_record *rec,
                                 struct bc_error *err)
{
	(void)instance;
	(void)rec;
	(void)err;
	return BC_OK;
}

static enum bc_status as_commit(void *instance, const char *id, const char *meta,
                                struct bc_error *err)
{
	(void)instance;
	(void)id;
	(void)meta;
	(void)err;
	return BC_OK;
}

static enum bc_status as_abort(void *instance, const char *id, struct bc_error *err)
{
	return as_commit(instance, id, NULL, err);
}

static enum bc_status as_get(void *instance, const char *id, struct bc_record_sink *out,
                             struct bc_error *err)
{
	(void)out;
	return as_commit(instance, id, NULL, err);
}

static enum bc_status as_stop(void *instance, const char *id, int64_t stop_ms,
                              struct bc_record_sink *out, struct bc_error *err)
{
	(void)stop_ms;
	(void)out;
	return as_commit(instance, id, NULL, err);
}

static enum bc_status as_list(void *instance, const struct bc_list_query *q,
                              struct bc_record_sink *out, struct bc_error *err)
{
	(void)q;
	(void)out;
	return as_commit(instance, NULL, NULL, err);
}

#ifndef ABI_STORE_CURSOR_HALF
static enum bc_status as_commit_event(void *instance, const char *id, const char *meta,
                                      const struct bc_event *event, struct bc_error *err)
{
	(void)event;
	return as_commit(instance, id, meta, err);
}
#endif

#ifdef ABI_STORE_CURSOR_HALF
/* ABI_STORE_CURSOR_HALF: no event operation, and one of the two cursor
 * operations (refused: both or neither, and only with the event ops). */
static enum bc_status as_cursor_claim(void *instance, const char *name, const char *holder,
                                      uint64_t initial, int64_t now_ms, int64_t lease_ms,
                                      uint64_t *cursor, struct bc_error *err)
{
	(void)holder;
	(void)initial;
	(void)now_ms;
	(void)lease_ms;
	*cursor = 0;
	return as_commit(instance, name, NULL, err);
}
#endif

static const struct bc_store_ops as_ops = {
	.struct_size = sizeof(struct bc_store_ops),
	.create = ap_create,
	.reserve = as_reserve,
	.commit = as_commit,
	.abort = as_abort,
	.get = as_get,
	.stop = as_stop,
	.list = as_list,
	.destroy = ap_destroy,
#ifdef ABI_STORE_CURSOR_HALF
	.cursor_claim = as_cursor_claim,
#else
	.commit_event = as_commit_event,
#endif
};
#define ABI_KIND BC_KIND_STORE
#define ABI_OPS (&as_ops)
#elif defined(ABI_FRONTEND)
static const struct bc_frontend_ops af_ops = {
	.struct_size = sizeof(struct bc_frontend_ops),
	.create = ap_create,
	.start = af_start,
	.drain = af_drain,
	.destroy = ap_destroy,
};
#define ABI_KIND BC_KIND_FRONTEND
#define ABI_OPS (&af_ops)
#else
#define ABI_KIND BC_KIND_PROVIDER
#define ABI_OPS (&ap_ops)
#endif

#ifndef ABI_EXPLICIT_VERSIONS
/* The way every plugin makes its descriptor: abi_minor is BC_PLUGIN_MIN_MINOR. */
static const struct bc_plugin ap_plugin = BC_PLUGIN_INIT(
	.kind = ABI_KIND, .name = ABI_NAME, .version = "1",
	.description = "ABI negotiation test plugin", .options = ap_options, .ops = ABI_OPS);
#else
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
	.options = ap_options,
	.ops = ABI_OPS,
};
#endif

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
