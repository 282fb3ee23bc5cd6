/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp.c: the `rtmp` provider. nginx with its RTMP module carries the
 * media; this provider decides who may publish, and for how long.
 *
 * Central type: struct rtmp_instance, one per YAML instance. create()
 * starts the listener for nginx-rtmp's callbacks (rtmp_callbacks.c) over
 * an empty key table (rtmp_keys.c); start() mints a one-time stream key
 * and returns it under endpoint "RTMP" in OBS's convention (the encoder
 * publishes to url + "/" + stream_key); stop() forgets the key, so the
 * next callback about it is refused, and cuts a live publisher at once
 * through nginx-rtmp's control module (rtmp_control.c) when control_url is
 * set. A publisher nginx stops calling back about (nginx killed) is
 * reported gone by rtmp_reaper.c. This file holds the options' parsing and
 * check(), the lifecycle, the option table, the descriptor and the entry
 * point, in that order.
 *
 * The key is 32 random bytes in base64url. It is the only secret, and it
 * is kept nowhere: only its SHA-256 and expiry, in the stream record's meta
 * (key_sha256, key_expires_ms) and in memory. After a restart the host
 * calls resume() with every live stream and its meta (ABI 1.1), which
 * alone re-admits the key. Logs show its fingerprint.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <broadcast/provider.h>

#include "rtmp_allow.h"
#include "rtmp_callbacks.h"
#include "rtmp_control.h"
#include "rtmp_keys.h"
#include "rtmp_reaper.h"
#include "token.h"

#define RTMP_META_HASH "key_sha256"
#define RTMP_META_EXPIRES "key_expires_ms" /* ms since the epoch; "0": none */
#define RTMP_URL_MAX 1024
#define RTMP_APP_NAME_MAX 128
/* A publisher silent for this many update intervals has gone without its
 * on_publish_done (nginx killed); two missed updates in a row are not a
 * slow callback. */
#define RTMP_STALE_UPDATES 3

/* The options, parsed and checked; strings are borrowed from the config
 * view except the copies made here. */
struct rtmp_settings {
	char url[RTMP_URL_MAX];          /* rtmp_url without a trailing slash */
	char app[RTMP_APP_NAME_MAX + 1]; /* its last path segment */
	const char *listen;
	const char *control_url;         /* NULL or "" when unset */
	char hls_base_url[RTMP_URL_MAX]; /* "" when unset; no trailing slash */
};

struct rtmp_instance {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct rtmp_settings set;
	int64_t key_ttl_ms;
	int64_t control_timeout_ms;
	struct rtmp_keys *keys;
	struct rtmp_allow *allow;
	struct rtmp_callbacks *callbacks;
	struct rtmp_reaper *reaper;
	int curl_ready;
};

/* ---- options ---------------------------------------------------------------------- */

static int rtmp_is_plain_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* Copy `url` without trailing slashes into out; 0 when it fits. */
static int rtmp_trim_url(const char *url, char *out, size_t size)
{
	size_t len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len >= size)
		return -1;
	memcpy(out, url, len);
	out[len] = '\0';
	return 0;
}

/* rtmp://HOST[:PORT]/APP (or rtmps://): what OBS calls the server. */
static enum bc_status rtmp_parse_url(const struct bc_host_api *api, const char *url,
                                     struct rtmp_settings *set, struct bc_error *err)
{
	const char *host, *slash;
	size_t skip;

	if (url == NULL || (strncmp(url, "rtmp://", 7) != 0 && strncmp(url, "rtmps://", 8) != 0))
		goto bad;
	skip = url[4] == 's' ? 8 : 7;
	if (rtmp_trim_url(url, set->url, sizeof(set->url)) != 0)
		goto bad;
	host = set->url + skip;
	slash = strchr(host, '/');
	if (slash == NULL || slash == host || strpbrk(host, "?#@ ") != NULL ||
	    strchr(slash + 1, '/') != NULL || strlen(slash + 1) > RTMP_APP_NAME_MAX ||
	    !rtmp_is_plain_name(slash + 1, strlen(slash + 1)))
		goto bad;
	snprintf(set->app, sizeof(set->app), "%s", slash + 1);
	return BC_OK;
bad:
	return api->fail(err, BC_E_INVALID, "rtmp.bad_rtmp_url",
	                 "rtmp_url must be rtmp://HOST[:PORT]/APP with APP the nginx-rtmp "
	                 "application ([A-Za-z0-9_-]), e.g. \"rtmp://media.example.com:1935/live\"");
}

/* HOST:PORT or [V6]:PORT, one address (CivetWeb's listening_ports takes
 * more, with suffixes: they would make the "loopback by default" promise
 * hard to keep). */
static int rtmp_listen_is_valid(const char *listen)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	unsigned long port;
	char *end = NULL;

	if (colon == NULL || colon == listen || colon[1] < '0' || colon[1] > '9' ||
	    strchr(listen, ',') != NULL || strchr(listen, ' ') != NULL)
		return 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && port >= 1 && port <= 65535;
}

static int rtmp_is_http_url(const char *url)
{
	return (strncmp(url, "http://", 7) == 0 && url[7] != '\0' && url[7] != '/') ||
	       (strncmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/');
}

/* Everything check() and create() both need from the options. */
static enum bc_status rtmp_settings_parse(const struct bc_host_api *api,
                                          const struct bc_config *cfg,
                                          struct rtmp_settings *set, struct bc_error *err)
{
	const char *hls = api->cfg_str(cfg, "hls_base_url");
	enum bc_status st;

	memset(set, 0, sizeof(*set));
	st = rtmp_parse_url(api, api->cfg_str(cfg, "rtmp_url"), set, err);
	if (st != BC_OK)
		return st;
	set->listen = api->cfg_str(cfg, "callback_listen");
	if (!rtmp_listen_is_valid(set->listen))
		return api->fail(err, BC_E_INVALID, "rtmp.bad_callback_listen",
		                 "callback_listen must be one HOST:PORT, e.g. \"127.0.0.1:8082\"");
	set->control_url = api->cfg_str(cfg, "control_url");
	if (set->control_url != NULL && set->control_url[0] != '\0' &&
	    (!rtmp_is_http_url(set->control_url) || strpbrk(set->control_url, "?# ") != NULL ||
	     strlen(set->control_url) >= RTMP_URL_MAX))
		return api->fail(err, BC_E_INVALID, "rtmp.bad_control_url",
		                 "control_url must be the http:// URL of the nginx location with "
		                 "`rtmp_control all;`, e.g. \"http://127.0.0.1:8088/control\"");
	if (hls != NULL && hls[0] != '\0' &&
	    (!rtmp_is_http_url(hls) || strpbrk(hls, "?# ") != NULL ||
	     rtmp_trim_url(hls, set->hls_base_url, sizeof(set->hls_base_url)) != 0))
		return api->fail(err, BC_E_INVALID, "rtmp.bad_hls_base_url",
		                 "hls_base_url must be the http(s):// URL where nginx serves "
		                 "hls_path, e.g. \"https://media.example.com/hls\"");
	return rtmp_allow_parse(api, cfg, "allow", NULL, err);
}

/* Since ABI 1.1: the options alone, no port, no network. */
static enum bc_status rtmp_check(const struct bc_host_api *api, const struct bc_config *cfg,
                                 struct bc_error *err)
{
	struct rtmp_settings set;

	return rtmp_settings_parse(api, cfg, &set, err);
}

/* ---- helpers ------------------------------------------------------------------------ */

/* A stream id as the host makes them: 36 characters of [0-9a-f-]. It also
 * becomes the RTMP and HLS name, so nothing else may pass. */
static int rtmp_id_is_valid(const char *id)
{
	return id != NULL && strlen(id) == RTMP_ID_LEN &&
	       strspn(id, "0123456789abcdef-") == RTMP_ID_LEN;
}

static void rtmp_gauge(struct rtmp_instance *ri)
{
	ri->api->gauge_set(ri->host, "rtmp_streams_live", NULL,
	                   (double)rtmp_keys_count(ri->keys));
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void rtmp_destroy(void *instance);

static enum bc_status rtmp_create(const struct bc_host_api *api, struct bc_host *host,
                                  const struct bc_config *cfg, void **instance,
                                  struct bc_error *err)
{
	struct rtmp_instance *ri = NULL;
	struct rtmp_callbacks_cfg ccfg;
	int64_t update_ms = api->cfg_int(cfg, "notify_update_timeout");
	enum bc_status st;

	*instance = NULL;
	ri = calloc(1, sizeof(*ri));
	if (ri == NULL)
		return api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
	ri->api = api;
	ri->host = host;
	ri->key_ttl_ms = api->cfg_int(cfg, "key_ttl");
	ri->control_timeout_ms = api->cfg_int(cfg, "control_timeout");
	st = rtmp_settings_parse(api, cfg, &ri->set, err);
	if (st != BC_OK)
		goto out;
	st = rtmp_allow_parse(api, cfg, "allow", &ri->allow, err);
	if (st != BC_OK)
		goto out;
	st = rtmp_control_global_init(api, err);
	if (st != BC_OK)
		goto out;
	ri->curl_ready = 1;
	ri->keys = rtmp_keys_create(api, RTMP_STALE_UPDATES * update_ms);
	if (ri->keys == NULL) {
		st = api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
		goto out;
	}
	st = rtmp_reaper_start(&ri->reaper, api, host, ri->keys, err);
	if (st != BC_OK)
		goto out;
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.listen = ri->set.listen;
	ccfg.threads = (int)api->cfg_int(cfg, "threads");
	ccfg.request_timeout_ms = api->cfg_int(cfg, "request_timeout");
	ccfg.app = ri->set.app;
	st = rtmp_callbacks_start(&ri->callbacks, api, host, ri->keys, ri->allow, &ccfg, err);
	if (st != BC_OK)
		goto out;
	api->log(host, BC_LOG_INFO, "nginx-rtmp callbacks on %s for %s (control %s, HLS %s)",
	         ri->set.listen, ri->set.url,
	         ri->set.control_url && ri->set.control_url[0] ? ri->set.control_url : "none",
	         ri->set.hls_base_url[0] ? ri->set.hls_base_url : "none");
	rtmp_gauge(ri);
	*instance = ri;
	ri = NULL;
out:
	rtmp_destroy(ri);
	return st;
}

static enum bc_status rtmp_start(void *instance, const struct bc_stream_info *stream,
                                 struct bc_endpoint *out, struct bc_error *err)
{
	struct rtmp_instance *ri = instance;
	const struct bc_host_api *api = ri->api;
	char key[PROVIDER_TOKEN_LEN + 1], hash[65], fp[17], expires[24];
	char playback[RTMP_URL_MAX + RTMP_ID_LEN + 16];
	int64_t expires_ms = ri->key_ttl_ms > 0 ? api->now_ms() + ri->key_ttl_ms : 0;
	enum bc_status st;

	if (!rtmp_id_is_valid(stream->id))
		return api->fail(err, BC_E_INVALID, "rtmp.bad_id", "not a stream id");
	/* base64url: a key that is a plain RTMP stream name, safe in URLs and
	 * in OBS's key field */
	if (provider_token_mint(api, key, hash) != BC_OK)
		return api->fail(err, BC_E_INTERNAL, "rtmp.random", "the random generator failed");
	snprintf(expires, sizeof(expires), "%" PRId64, expires_ms);
	snprintf(playback, sizeof(playback), "%s/%s.m3u8", ri->set.hls_base_url, stream->id);

	st = rtmp_keys_add(ri->keys, stream->id, hash, expires_ms, 0);
	if (st != BC_OK) {
		st = api->fail(err, st, "rtmp.nomem", "out of memory");
		goto out;
	}
	if ((st = api->ep_str(out, "RTMP", "url", ri->set.url, 0)) != BC_OK ||
	    (st = api->ep_str(out, "RTMP", "stream_key", key, BC_EP_SECRET)) != BC_OK ||
	    (ri->set.hls_base_url[0] != '\0' &&
	     (st = api->ep_str(out, "RTMP", "playback_url", playback, 0)) != BC_OK) ||
	    (st = api->ep_int(out, "RTMP", "expires_in", ri->key_ttl_ms / 1000)) != BC_OK ||
	    (st = api->meta_set(out, RTMP_META_HASH, hash)) != BC_OK ||
	    (st = api->meta_set(out, RTMP_META_EXPIRES, expires)) != BC_OK) {
		rtmp_keys_remove(ri->keys, stream->id);
		st = api->fail(err, st, "rtmp.endpoint", "could not build the endpoint");
		goto out;
	}
	api->fingerprint(key, fp);
	api->log(ri->host, BC_LOG_INFO, "stream %s: key %s may publish to %s", stream->id, fp,
	         ri->set.url);
	api->counter_add(ri->host, "rtmp_streams_started_total", NULL, 1);
	rtmp_gauge(ri);
out:
	explicit_bzero(key, sizeof(key));
	return st;
}

/* Idempotent: a stream not in the table (stopped before, or never ours)
 * has nothing left to revoke. */
static enum bc_status rtmp_stop(void *instance, const struct bc_stream_info *stream,
                                struct bc_error *err)
{
	struct rtmp_instance *ri = instance;
	int had_publisher;

	(void)err;
	if (!rtmp_id_is_valid(stream->id))
		return BC_OK;
	had_publisher = rtmp_keys_remove(ri->keys, stream->id);
	/* The key is refused from now on; a publisher already in is cut here,
	 * or at its next on_update when there is no control URL. The session
	 * was renamed to the stream id by on_publish, so the id names it. */
	if (had_publisher && ri->set.control_url != NULL && ri->set.control_url[0] != '\0') {
		int n = rtmp_control_drop(ri->api, ri->host, ri->set.control_url, ri->set.app,
		                          stream->id, ri->control_timeout_ms);
		if (n > 0)
			ri->api->log(ri->host, BC_LOG_INFO, "stream %s: publisher cut", stream->id);
	}
	ri->api->log(ri->host, BC_LOG_INFO, "stream %s: key revoked", stream->id);
	rtmp_gauge(ri);
	return BC_OK;
}

/* Since ABI 1.1: re-admit the key of a stream live in the store, from the
 * meta kept at start. Its publisher, if nginx kept one through our
 * restart, is taken back at its next on_update. */
static enum bc_status rtmp_resume(void *instance, const struct bc_stream_info *stream,
                                  struct bc_error *err)
{
	struct rtmp_instance *ri = instance;
	const struct bc_host_api *api = ri->api;
	const char *hash, *exp;
	int64_t expires_ms = 0;
	char *end = NULL;

	if (!rtmp_id_is_valid(stream->id))
		return api->fail(err, BC_E_INVALID, "rtmp.bad_id", "not a stream id");
	hash = api->meta_get(stream, RTMP_META_HASH);
	if (!provider_token_hash_is_valid(hash))
		return api->fail(err, BC_E_INVALID, "rtmp.no_key_meta",
		                 "stream %s has no valid " RTMP_META_HASH " meta: its key stays "
		                 "refused; stop it and start a new one", stream->id);
	exp = api->meta_get(stream, RTMP_META_EXPIRES);
	if (exp != NULL && exp[0] >= '0' && exp[0] <= '9') {
		errno = 0;
		expires_ms = strtoll(exp, &end, 10);
		if (errno != 0 || *end != '\0')
			expires_ms = stream->start_ms + ri->key_ttl_ms;
	} else if (ri->key_ttl_ms > 0) {
		expires_ms = stream->start_ms + ri->key_ttl_ms;
	}
	if (rtmp_keys_add(ri->keys, stream->id, hash, expires_ms, 1) != BC_OK)
		return api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
	api->log(ri->host, BC_LOG_INFO, "stream %s: resumed, its key may publish", stream->id);
	rtmp_gauge(ri);
	return BC_OK;
}

static void rtmp_destroy(void *instance)
{
	struct rtmp_instance *ri = instance;

	if (ri == NULL)
		return;
	/* Listener and watch first: nothing may touch the table once it is gone. */
	rtmp_callbacks_stop(ri->callbacks);
	rtmp_reaper_stop(ri->reaper);
	rtmp_keys_destroy(ri->keys);
	rtmp_allow_free(ri->allow);
	if (ri->curl_ready)
		rtmp_control_global_cleanup();
	free(ri);
}

/* ---- options, descriptor, entry -------------------------------------------------------- */

static const struct bc_option rtmp_options[] = {
	BC_OPTION(.name = "rtmp_url", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "Where encoders publish, rtmp://HOST[:PORT]/APP with APP the "
	                         "nginx-rtmp application (OBS's \"Server\"), e.g. "
	                         "\"rtmp://media.example.com:1935/live\"."),
	BC_OPTION(.name = "callback_listen", .type = BC_OPT_STRING,
	          .default_value = "127.0.0.1:8082",
	          .description = "HOST:PORT of the listener for nginx-rtmp's on_publish, "
	                         "on_update and on_publish_done (notify_method post)."),
	BC_OPTION(.name = "allow", .type = BC_OPT_LIST, .default_value = "[127.0.0.1, \"::1\"]",
	          .description = "Addresses or ADDRESS/PREFIX networks that may call the "
	                         "callbacks (the nginx hosts); others get 403."),
	BC_OPTION(.name = "control_url", .type = BC_OPT_STRING,
	          .description = "URL of nginx's `rtmp_control all;` location, e.g. "
	                         "\"http://127.0.0.1:8088/control\": stop cuts a live publisher "
	                         "through it at once. Unset: the next on_update refuses it "
	                         "(within notify_update_timeout)."),
	BC_OPTION(.name = "control_timeout", .type = BC_OPT_DURATION, .default_value = "2s",
	          .min = 100, .max = 30000,
	          .description = "How long stop waits for the control module; on failure the "
	                         "stop still succeeds and the next on_update cuts the publisher."),
	BC_OPTION(.name = "hls_base_url", .type = BC_OPT_STRING,
	          .description = "URL where nginx serves the hls application's hls_path, e.g. "
	                         "\"https://media.example.com/hls\": endpoints then carry "
	                         "playback_url = hls_base_url/STREAM_ID.m3u8. Unset: none."),
	BC_OPTION(.name = "key_ttl", .type = BC_OPT_DURATION, .default_value = "12h",
	          .description = "How long after start a stream key may begin publishing "
	                         "(expires_in); a publish already running goes on. 0: until "
	                         "stop."),
	BC_OPTION(.name = "notify_update_timeout", .type = BC_OPT_DURATION, .default_value = "30s",
	          .min = 1000, .max = 3600000,
	          .description = "nginx.conf's notify_update_timeout: a publisher without an "
	                         "on_update for three times this long is taken as gone (reported "
	                         "to the host, and its key can publish again)."),
	BC_OPTION(.name = "request_timeout", .type = BC_OPT_DURATION, .default_value = "5s",
	          .min = 500, .max = 60000,
	          .description = "Deadline of one callback's headers and body; a slower one "
	                         "gets 408."),
	BC_OPTION(.name = "threads", .type = BC_OPT_INT, .default_value = "4", .min = 2,
	          .max = 256,
	          .description = "Callback listener worker threads (nginx-rtmp opens one "
	                         "connection per callback)."),
	BC_OPTION_END
};

static const char *const rtmp_stream_types[] = { "rtmp", NULL };

static const struct bc_provider_ops rtmp_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = rtmp_stream_types,
	.create = rtmp_create,
	.start = rtmp_start,
	.stop = rtmp_stop,
	.destroy = rtmp_destroy,
	.resume = rtmp_resume,
	.check = rtmp_check,
};

static const struct bc_plugin rtmp_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "rtmp", .version = PACKAGE_VERSION,
	.description = "one-time RTMP stream keys for nginx-rtmp (on_publish callbacks)",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = rtmp_options, .ops = &rtmp_ops);

static const struct bc_plugin *const rtmp_plugins[] = { &rtmp_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? rtmp_plugins : NULL;
}
