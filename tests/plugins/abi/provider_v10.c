/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider_v10.c: the provider `type: test_v10`, a plugin written and built
 * against the ABI 1.0 headers (tests/plugins/abi-1.0, first on the include
 * path): its bc_provider_ops ends at destroy() (no resume()), it reports no
 * media facts. It mints an S3-shaped endpoint like the provider `test`
 * (made-up credentials from the host's CSPRNG) for
 * tests/integration/test_abi_compat.py.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <broadcast/plugin.h>
#include <broadcast/host.h>
#include <broadcast/provider.h>

#if BC_ABI_MAJOR != 1 || BC_ABI_MINOR != 0
#error "provider_v10.c must be built against the ABI 1.0 headers (tests/plugins/abi-1.0)"
#endif

struct v10_provider {
	const struct bc_host_api *api;
	struct bc_host *host;
};

static enum bc_status v10_create(const struct bc_host_api *api, struct bc_host *host,
                                 const struct bc_config *cfg, void **instance,
                                 struct bc_error *err)
{
	struct v10_provider *tp = calloc(1, sizeof *tp);
	(void)cfg;
	if (tp == NULL)
		return api->fail(err, BC_E_NOMEM, "test_v10.nomem", "out of memory");
	tp->api = api;
	tp->host = host;
	*instance = tp;
	return BC_OK;
}

static void random_text(const struct bc_host_api *api, char *out, size_t n, const char *prefix)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[64];
	size_t p = strlen(prefix);
	memcpy(out, prefix, p);
	api->random(raw, sizeof raw);
	for (size_t i = p; i < n - 1; i++)
		out[i] = alphabet[raw[i % sizeof raw] % (sizeof alphabet - 1)];
	out[n - 1] = '\0';
}

static enum bc_status v10_start(void *instance, const struct bc_stream_info *s,
                                struct bc_endpoint *out, struct bc_error *err)
{
	struct v10_provider *tp = instance;
	const struct bc_host_api *api = tp->api;
	char key[21], secret[41], path[200];

	random_text(api, key, sizeof key, "ASIA");
	random_text(api, secret, sizeof secret, "");
	snprintf(path, sizeof path, "%s/%s/", s->owner, s->id);
	if (api->ep_str(out, "S3", "aws_access_key_id", key, 0) != BC_OK ||
	    api->ep_str(out, "S3", "aws_secret_access_key", secret, BC_EP_SECRET) != BC_OK ||
	    api->ep_str(out, "S3", "s3_bucket_name", "v10-bucket", 0) != BC_OK ||
	    api->ep_str(out, "S3", "s3_bucket_path", path, 0) != BC_OK ||
	    api->meta_set(out, "key_id", key) != BC_OK)
		return api->fail(err, BC_E_NOMEM, "test_v10.nomem", "out of memory");
	api->log(tp->host, BC_LOG_DEBUG, "test_v10 minted %s for stream %s", key, s->id);
	return BC_OK;
}

static enum bc_status v10_stop(void *instance, const struct bc_stream_info *s,
                               struct bc_error *err)
{
	struct v10_provider *tp = instance;
	const char *key = tp->api->meta_get(s, "key_id");
	(void)err;
	tp->api->log(tp->host, BC_LOG_DEBUG, "test_v10 finished stream %s (key %s)", s->id,
	             key ? key : "(no meta)");
	return BC_OK;
}

static void v10_destroy(void *instance)
{
	free(instance);
}

static const char *const v10_types[] = { "hls", NULL };

static const struct bc_option v10_options[] = {
	BC_OPTION(.name = "note", .type = BC_OPT_STRING, .default_value = "",
	          .description = "An option of the plugin's own, ignored."),
	BC_OPTION_END
};

static const struct bc_provider_ops v10_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = v10_types,
	.create = v10_create,
	.start = v10_start,
	.stop = v10_stop,
	.health = NULL,
	.destroy = v10_destroy,
};

static const struct bc_plugin v10_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "test_v10", .version = PACKAGE_VERSION,
	.description = "Test provider built against the ABI 1.0 headers",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = v10_options, .ops = &v10_ops);

static const struct bc_plugin *const v10_plugins[] = { &v10_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? v10_plugins : NULL;
}
