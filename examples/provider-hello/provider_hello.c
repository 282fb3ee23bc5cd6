/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider_hello.c: a template for a broadcast provider, built out of tree
 * against the installed SDK alone (`make`, see README.md). Copy this folder,
 * rename "hello" everywhere, and keep the shape: the instance struct, the
 * operations, the option table, the descriptor and bc_plugin_entry(), in
 * that order (broadcast-plugin(7) has the contract).
 *
 * It answers start with an "HTTP" endpoint: base_url plus the stream id,
 * and keeps that URL with the record (meta) for stop().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <broadcast/broadcast.h>

/* All state hangs off the instance: create() runs once per YAML instance. */
struct hello {
	const struct bc_host_api *api;
	struct bc_host *host;
	const char *base_url; /* borrowed from the config view, valid until destroy */
};

/* Side-effect-free validation (broadcastd --check-config runs it too). The
 * host already refused an empty base_url: the option is BC_OPT_NONEMPTY. */
static enum bc_status hello_check(const struct bc_host_api *api, const struct bc_config *cfg,
                                  struct bc_error *err)
{
	const char *url = api->cfg_str(cfg, "base_url");
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return api->fail(err, BC_E_INVALID, "hello.bad_base_url",
		                 "base_url must start with http:// or https://, e.g. "
		                 "\"https://ingest.example/live\"");
	if (strlen(url) > 400)
		return api->fail(err, BC_E_INVALID, "hello.bad_base_url",
		                 "base_url is longer than 400 bytes; shorten it");
	return BC_OK;
}

static enum bc_status hello_create(const struct bc_host_api *api, struct bc_host *host,
                                   const struct bc_config *cfg, void **instance,
                                   struct bc_error *err)
{
	struct hello *h;
	enum bc_status st = hello_check(api, cfg, err);
	if (st != BC_OK)
		return st;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		return api->fail(err, BC_E_NOMEM, "hello.nomem", "out of memory");
	h->api = api;
	h->host = host;
	h->base_url = api->cfg_str(cfg, "base_url");
	*instance = h;
	return BC_OK;
}

static enum bc_status hello_start(void *instance, const struct bc_stream_info *s,
                                  struct bc_endpoint *out, struct bc_error *err)
{
	struct hello *h = instance;
	char url[512];
	snprintf(url, sizeof url, "%s/%s", h->base_url, s->id);
	if (h->api->ep_str(out, "HTTP", "upload_url", url, 0) != BC_OK ||
	    h->api->meta_set(out, "url", url) != BC_OK)
		return h->api->fail(err, BC_E_NOMEM, "hello.nomem", "out of memory");
	h->api->log(h->host, BC_LOG_INFO, "stream %s goes to %s", s->id, url);
	return BC_OK;
}

/* Idempotent: after a crash the host may stop a stream twice. */
static enum bc_status hello_stop(void *instance, const struct bc_stream_info *s,
                                 struct bc_error *err)
{
	struct hello *h = instance;
	const char *url = h->api->meta_get(s, "url");
	(void)err;
	h->api->log(h->host, BC_LOG_INFO, "stream %s at %s finished", s->id, url ? url : "?");
	return BC_OK;
}

static enum bc_status hello_health(void *instance, struct bc_error *err)
{
	(void)instance;
	(void)err;
	return BC_OK;
}

static void hello_destroy(void *instance)
{
	free(instance);
}

static const char *const hello_types[] = { "hello", NULL };

static const struct bc_option hello_options[] = {
	BC_OPTION(.name = "base_url", .type = BC_OPT_STRING,
	          .flags = BC_OPT_REQUIRED | BC_OPT_NONEMPTY,
	          .description = "Where broadcasters upload, http:// or https://; the stream "
	                         "id is appended."),
	BC_OPTION_END
};

static const struct bc_provider_ops hello_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = hello_types,
	.create = hello_create,
	.start = hello_start,
	.stop = hello_stop,
	.health = hello_health,
	.destroy = hello_destroy,
	.check = hello_check,
};

static const struct bc_plugin hello_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "hello", .version = "1.0",
	.description = "Example provider: a fixed upload URL per stream",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = hello_options, .ops = &hello_ops);

static const struct bc_plugin *const hello_plugins[] = { &hello_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? hello_plugins : NULL;
}
