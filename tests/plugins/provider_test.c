/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider_test.c: the test-only provider `type: test`, a real plugin
 * loaded through the ABI so the stream lifecycle is tested end to end
 * without a network. It answers with the seed's S3 endpoint shape (made-up
 * credentials from the host's CSPRNG) and can be told to fail:
 *
 *  - by stream name: "fail-start-<status>", "fail-stop-<status>" with
 *    <status> one of invalid, unavailable, timeout, upstream, internal;
 *    "slow-start-<ms>" sleeps that long in start();
 *  - by option: fail_start, fail_stop (same words), delay_start.
 *
 * It remembers live streams (and the meta it kept) so tests can see that a
 * rollback called stop() for what start() minted.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <broadcast/broadcast.h>

struct test_provider {
	const struct bc_host_api *api;
	struct bc_host *host;
	const char *section;
	const char *fail_start, *fail_stop;
	int64_t delay_ms;
	pthread_mutex_t lock;
	unsigned live; /* minted and not yet finished */
};

static const char *const status_words[] = { "none", "invalid", "unavailable", "timeout",
	                                    "upstream", "internal", NULL };

static enum bc_status status_of(const char *word)
{
	if (word == NULL) return BC_OK;
	if (strcmp(word, "invalid") == 0) return BC_E_INVALID;
	if (strcmp(word, "unavailable") == 0) return BC_E_UNAVAILABLE;
	if (strcmp(word, "timeout") == 0) return BC_E_TIMEOUT;
	if (strcmp(word, "upstream") == 0) return BC_E_UPSTREAM;
	if (strcmp(word, "internal") == 0) return BC_E_INTERNAL;
	return BC_OK;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static enum bc_status tp_create(const struct bc_host_api *api, struct bc_host *host,
                                const struct bc_config *cfg, void **instance,
                                struct bc_error *err)
{
	struct test_provider *tp = calloc(1, sizeof *tp);
	if (tp == NULL)
		return api->fail(err, BC_E_NOMEM, "test.nomem", "out of memory");
	tp->api = api;
	tp->host = host;
	tp->section = api->cfg_str(cfg, "section");
	tp->fail_start = api->cfg_str(cfg, "fail_start");
	tp->fail_stop = api->cfg_str(cfg, "fail_stop");
	tp->delay_ms = api->cfg_int(cfg, "delay_start");
	pthread_mutex_init(&tp->lock, NULL);
	if (api->cfg_bool(cfg, "fail_create")) {
		pthread_mutex_destroy(&tp->lock);
		free(tp);
		return api->fail(err, BC_E_UNAVAILABLE, "test.create_failed", "told to fail create");
	}
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

static enum bc_status tp_start(void *instance, const struct bc_stream_info *s,
                               struct bc_endpoint *out, struct bc_error *err)
{
	struct test_provider *tp = instance;
	const struct bc_host_api *api = tp->api;
	enum bc_status injected = status_of(tp->fail_start);
	char key[21], secret[41], token[65], path[200], fp[17];

	if (tp->delay_ms > 0)
		sleep_ms(tp->delay_ms);
	if (strncmp(s->name, "slow-start-", 11) == 0) {
		/* Tests wait for this line to act while the start is under way. */
		api->log(tp->host, BC_LOG_DEBUG, "stream %s: start sleeps %s ms", s->id,
		         s->name + 11);
		sleep_ms(atoll(s->name + 11));
	}
	if (strncmp(s->name, "fail-start-", 11) == 0)
		injected = status_of(s->name + 11);
	if (injected != BC_OK)
		return api->fail(err, injected, "test.injected", "start failure injected for %s",
		                 s->id);

	random_text(api, key, sizeof key, "ASIA");
	random_text(api, secret, sizeof secret, "");
	random_text(api, token, sizeof token, "FwoG");
	snprintf(path, sizeof path, "%s/%s/", s->owner, s->id);
	if (api->ep_str(out, tp->section, "aws_access_key_id", key, 0) != BC_OK ||
	    api->ep_str(out, tp->section, "aws_secret_access_key", secret, BC_EP_SECRET) != BC_OK ||
	    api->ep_str(out, tp->section, "aws_session_token", token, BC_EP_SECRET) != BC_OK ||
	    api->ep_real(out, tp->section, "aws_expiration", 3600.0) != BC_OK ||
	    api->ep_str(out, tp->section, "s3_bucket_name", "test-bucket", 0) != BC_OK ||
	    api->ep_str(out, tp->section, "s3_bucket_path", path, 0) != BC_OK ||
	    api->ep_str(out, tp->section, "s3_bucket_region", "us-west-1", 0) != BC_OK)
		return api->fail(err, BC_E_NOMEM, "test.nomem", "out of memory");
	/* "json-fields": the host's ep_json() (ABI 1.1) keeps arrays and objects
	 * as JSON and refuses anything else; a refusal it should have made
	 * fails the start. */
	if (strcmp(s->name, "json-fields") == 0) {
		static const char *const bad[] = { "", "\"text\"", "42", "[1,", "{\"a\":1}x",
		                                   "[[[[[[[[[1]]]]]]]]]" };
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			if (api->ep_json(out, tp->section, "bad", bad[i], 0) != BC_E_INVALID)
				return api->fail(err, BC_E_INTERNAL, "test.ep_json",
				                 "ep_json accepted %s", bad[i]);
		if (api->ep_json(out, tp->section, "ice_servers",
		                 "[{\"urls\":\"stun:a.example:3478\"}]", 0) != BC_OK ||
		    api->ep_json(out, tp->section, "turn", "{\"credential\":\"pw\"}",
		                 BC_EP_SECRET) != BC_OK)
			return api->fail(err, BC_E_INTERNAL, "test.ep_json", "ep_json refused JSON");
	}
	api->fingerprint(secret, fp);
	if (api->meta_set(out, "key_id", key) != BC_OK || api->meta_set(out, "secret_fp", fp) != BC_OK)
		return api->fail(err, BC_E_NOMEM, "test.nomem", "out of memory");
	pthread_mutex_lock(&tp->lock);
	tp->live++;
	pthread_mutex_unlock(&tp->lock);
	api->counter_add(tp->host, "test_minted_total", NULL, 1);
	api->log(tp->host, BC_LOG_DEBUG, "minted %s for stream %s (secret %s)", key, s->id, fp);
	return BC_OK;
}

static enum bc_status tp_stop(void *instance, const struct bc_stream_info *s,
                              struct bc_error *err)
{
	struct test_provider *tp = instance;
	const struct bc_host_api *api = tp->api;
	enum bc_status injected = status_of(tp->fail_stop);
	const char *key = api->meta_get(s, "key_id");

	if (strncmp(s->name, "fail-stop-", 10) == 0)
		injected = status_of(s->name + 10);
	if (injected != BC_OK)
		return api->fail(err, injected, "test.injected", "stop failure injected for %s", s->id);
	pthread_mutex_lock(&tp->lock);
	if (tp->live > 0)
		tp->live--;
	pthread_mutex_unlock(&tp->lock);
	api->counter_add(tp->host, "test_finished_total", NULL, 1);
	api->log(tp->host, BC_LOG_DEBUG, "finished stream %s (key %s)", s->id,
	         key ? key : "(no meta)");
	return BC_OK;
}

static enum bc_status tp_health(void *instance, struct bc_error *err)
{
	struct test_provider *tp = instance;
	if (strcmp(tp->fail_start, "none") != 0)
		return tp->api->fail(err, BC_E_UNAVAILABLE, "test.unhealthy",
		                     "configured to fail starts");
	return BC_OK;
}

static void tp_destroy(void *instance)
{
	struct test_provider *tp = instance;
	pthread_mutex_destroy(&tp->lock);
	free(tp);
}

static const char *const tp_types[] = { "hls", NULL };

static const struct bc_option tp_options[] = {
	BC_OPTION(.name = "section", .type = BC_OPT_STRING, .default_value = "S3",
	          .description = "The endpoint section to write (\"S3\" like the seed)."),
	BC_OPTION(.name = "fail_start", .type = BC_OPT_ENUM, .default_value = "none",
	          .enum_values = status_words,
	          .description = "Make every start() fail with this status."),
	BC_OPTION(.name = "fail_stop", .type = BC_OPT_ENUM, .default_value = "none",
	          .enum_values = status_words,
	          .description = "Make every stop() fail with this status."),
	BC_OPTION(.name = "fail_create", .type = BC_OPT_BOOL, .default_value = "false",
	          .description = "Make create() fail (configuration error tests)."),
	BC_OPTION(.name = "delay_start", .type = BC_OPT_DURATION, .default_value = "0",
	          .description = "Sleep this long in every start()."),
	BC_OPTION(.name = "secret", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "A secret that must never be logged (redaction tests)."),
	BC_OPTION_END
};

static const struct bc_provider_ops tp_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = tp_types,
	.create = tp_create,
	.start = tp_start,
	.stop = tp_stop,
	.health = tp_health,
	.destroy = tp_destroy,
};

static const struct bc_plugin tp_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "test", .version = PACKAGE_VERSION,
	.description = "Test provider: fake S3 credentials, failure injection",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = tp_options, .ops = &tp_ops);

static const struct bc_plugin *const tp_plugins[] = { &tp_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? tp_plugins : NULL;
}
