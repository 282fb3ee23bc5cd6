/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hello_provider.c: the smallest useful provider, built from the installed
 * headers alone (docs/writing-a-provider.md walks through it):
 *
 *     cc -shared -fPIC $(pkg-config --cflags broadcast) hello_provider.c \
 *        -o provider_hello.so
 *     cp provider_hello.so $(pkg-config --variable=plugindir broadcast)/
 *
 * It answers start with an "HTTP" endpoint pointing at a fixed ingest URL
 * plus the stream id, and keeps that URL with the record for stop().
 */
#include <stdio.h>
#include <stdlib.h>

/* It uses nothing newer than ABI 1.0, so it says so: it then loads on every
 * 1.x host, not only on hosts as new as the headers it was built with. */
#define BC_PLUGIN_MIN_MINOR 0
#include <broadcast/broadcast.h>

struct hello {
	const struct bc_host_api *api;
	struct bc_host *host;
	const char *base_url; /* borrowed from the config view, valid until destroy */
};

static enum bc_status hello_create(const struct bc_host_api *api, struct bc_host *host,
                                   const struct bc_config *cfg, void **instance,
                                   struct bc_error *err)
{
	struct hello *h = calloc(1, sizeof *h);
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

static enum bc_status hello_stop(void *instance, const struct bc_stream_info *s,
                                 struct bc_error *err)
{
	struct hello *h = instance;
	const char *url = h->api->meta_get(s, "url");
	(void)err;
	h->api->log(h->host, BC_LOG_INFO, "stream %s at %s finished", s->id, url ? url : "?");
	return BC_OK;
}

static void hello_destroy(void *instance)
{
	free(instance);
}

static const char *const hello_types[] = { "hello", NULL };

static const struct bc_option hello_options[] = {
	BC_OPTION(.name = "base_url", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "Where broadcasters upload; the stream id is appended."),
	BC_OPTION_END
};

static const struct bc_provider_ops hello_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = hello_types,
	.create = hello_create,
	.start = hello_start,
	.stop = hello_stop,
	.destroy = hello_destroy,
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
