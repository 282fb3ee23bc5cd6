/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc.c: the `webrtc` provider: WHIP ingest (RFC 9725) through Janus's
 * VideoRoom plugin, one room and one bearer token per stream.
 *
 * Central type: struct webrtc_instance, one per YAML instance. create()
 * makes the Janus client (webrtc_janus.c), the stream table
 * (webrtc_streams.c) and starts the listener (webrtc_http.c); start()
 * creates the stream's VideoRoom in Janus and mints its token; stop()
 * destroys the room (kicking its publisher at once) and forgets the
 * stream. This file holds the options and check(), the lifecycle, the
 * descriptor and the entry point, in that order.
 *
 * Durable state is the stream record's meta only (ABI 1.1): the token's
 * SHA-256, the room id and a random nonce. The room's secret is never
 * stored: it is SHA-256("broadcast-webrtc-room:" KEY ":" nonce), KEY being
 * room_secret_key or else Janus's own secrets, so resume() can derive it
 * again while a copy of the store alone cannot. Rooms live in Janus's
 * memory: they survive a restart of broadcastd, and a publish into a room
 * a restarted Janus lost makes it again (webrtc_streams.c).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <broadcast/provider.h>

#include "webrtc_err.h"
#include "webrtc_http.h"
#include "webrtc_janus.h"
#include "webrtc_streams.h"
#include "token.h"

#define WEBRTC_NONCE_BYTES 16
#define WEBRTC_URL_MAX 1024
#define WEBRTC_ICE_MAX 8
#define WEBRTC_HEALTH_CACHE_MS 5000
#define WEBRTC_META_HASH "token_sha256"
#define WEBRTC_META_EXPIRES "token_expires_ms" /* ms since the epoch; "0": until stop */
#define WEBRTC_META_ROOM "janus_room"
#define WEBRTC_META_NONCE "room_nonce"

struct webrtc_instance {
	const struct bc_host_api *api;
	struct bc_host *host;
	char public_url[WEBRTC_URL_MAX]; /* no trailing slash */
	char *room_key;                  /* what room secrets are derived from */
	int64_t token_ttl_ms;
	const char *ice[WEBRTC_ICE_MAX + 1]; /* borrowed from the config view */
	struct webrtc_janus *janus;
	struct webrtc_streams *streams;
	struct webrtc_http *http;
	int64_t health_at_ms;  /* atomic: when Janus last answered a health ping */
	int health_failing;    /* atomic */
};

/* ---- options --------------------------------------------------------------------- */

static int webrtc_is_http_url(const char *url)
{
	return url != NULL &&
	       ((strncmp(url, "http://", 7) == 0 && url[7] != '\0' && url[7] != '/') ||
	        (strncmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/')) &&
	       strpbrk(url, "?# \t\r\n\"'<>\\") == NULL && strlen(url) < WEBRTC_URL_MAX;
}

/* HOST:PORT with a numeric port, one address. */
static int webrtc_listen_is_valid(const char *listen)
{
	const char *colon = listen != NULL ? strrchr(listen, ':') : NULL;

	return colon != NULL && colon != listen && colon[1] != '\0' &&
	       strspn(colon + 1, "0123456789") == strlen(colon + 1) && strlen(colon + 1) <= 5 &&
	       strchr(listen, ',') == NULL && strlen(listen) < 256;
}

/* stun:/turn: URLs in a charset that is safe in a Link header and in the
 * watch page's script. */
static int webrtc_ice_is_valid(const char *u)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "0123456789:._-?=&/[]";

	return u != NULL && (strncmp(u, "stun:", 5) == 0 || strncmp(u, "stuns:", 6) == 0 ||
	                     strncmp(u, "turn:", 5) == 0 || strncmp(u, "turns:", 6) == 0) &&
	       strspn(u, ok) == strlen(u) && strlen(u) < 200;
}

static int webrtc_codecs_are_valid(const char *c)
{
	return c != NULL && c[0] != '\0' && strlen(c) < 128 &&
	       strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789,") == strlen(c);
}

/* Since ABI 1.1: what can be judged from the options alone. */
static enum bc_status webrtc_check(const struct bc_host_api *api, const struct bc_config *cfg,
                                   struct bc_error *err)
{
	const char *public_url = api->cfg_str(cfg, "public_url");
	const char *listen = api->cfg_str(cfg, "listen");
	size_t i, n = api->cfg_list_len(cfg, "ice_servers");

	if (!webrtc_is_http_url(api->cfg_str(cfg, "janus_url")))
		return api->fail(err, BC_E_INVALID, "webrtc.bad_janus_url",
		                 "janus_url must be the http:// URL of Janus's HTTP API, e.g. "
		                 "\"http://127.0.0.1:8088/janus\"");
	if (!webrtc_listen_is_valid(listen))
		return api->fail(err, BC_E_INVALID, "webrtc.bad_listen",
		                 "listen must be one HOST:PORT, e.g. \"127.0.0.1:8089\"");
	if (public_url != NULL && public_url[0] != '\0' && !webrtc_is_http_url(public_url))
		return api->fail(err, BC_E_INVALID, "webrtc.bad_public_url",
		                 "public_url must be an http:// or https:// URL without query, e.g. "
		                 "\"https://whip.example.com\"");
	if ((public_url == NULL || public_url[0] == '\0') &&
	    (strncmp(listen, "0.0.0.0:", 8) == 0 || strncmp(listen, "[::]:", 5) == 0))
		return api->fail(err, BC_E_INVALID, "webrtc.public_url_required",
		                 "listen \"%s\" names no host a client can reach: set public_url to "
		                 "the listener's address as clients see it", listen);
	if (n > WEBRTC_ICE_MAX)
		return api->fail(err, BC_E_INVALID, "webrtc.bad_ice_servers",
		                 "at most %d ice_servers", WEBRTC_ICE_MAX);
	for (i = 0; i < n; i++)
		if (!webrtc_ice_is_valid(api->cfg_list_at(cfg, "ice_servers", i)))
			return api->fail(err, BC_E_INVALID, "webrtc.bad_ice_servers",
			                 "ice_servers item %zu must be a stun:, stuns:, turn: or turns: "
			                 "URL, e.g. \"stun:stun.example.com:3478\"", i + 1);
	if (!webrtc_codecs_are_valid(api->cfg_str(cfg, "video_codecs")) ||
	    !webrtc_codecs_are_valid(api->cfg_str(cfg, "audio_codecs")))
		return api->fail(err, BC_E_INVALID, "webrtc.bad_codecs",
		                 "video_codecs and audio_codecs are comma-separated codec names as "
		                 "Janus's VideoRoom knows them, e.g. \"vp8,h264\" and \"opus\"");
	return BC_OK;
}

/* ---- helpers ---------------------------------------------------------------------- */

/* The room's secret from the instance's key and the stream's nonce. */
static enum bc_status webrtc_room_secret(struct webrtc_instance *wi, const char *nonce,
                                         char out[WEBRTC_SECRET_LEN + 1])
{
	size_t len = strlen(wi->room_key) + strlen(nonce) + 32;
	char *text = malloc(len);

	if (text == NULL)
		return BC_E_NOMEM;
	snprintf(text, len, "broadcast-webrtc-room:%s:%s", wi->room_key, nonce);
	wi->api->sha256_hex(text, strlen(text), out);
	explicit_bzero(text, len);
	free(text);
	return BC_OK;
}

static int webrtc_parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	*out = (uint64_t)v;
	return 1;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void webrtc_destroy(void *instance);

static enum bc_status webrtc_create(const struct bc_host_api *api, struct bc_host *host,
                                    const struct bc_config *cfg, void **instance,
                                    struct bc_error *err)
{
	struct webrtc_instance *wi = NULL;
	struct webrtc_janus_cfg jcfg;
	struct webrtc_http_cfg hcfg;
	struct webrtc_err e;
	const char *listen = api->cfg_str(cfg, "listen");
	const char *public_url = api->cfg_str(cfg, "public_url");
	const char *api_secret = api->cfg_str(cfg, "janus_api_secret");
	const char *admin_key = api->cfg_str(cfg, "janus_admin_key");
	const char *room_key = api->cfg_str(cfg, "room_secret_key");
	const char *cors[WEBRTC_ICE_MAX + 2] = { "*", NULL };
	size_t i, n, len;
	enum bc_status st;

	*instance = NULL;
	memset(&e, 0, sizeof(e));
	e.err = err;
	st = webrtc_check(api, cfg, err);
	if (st != BC_OK)
		return st;
	wi = calloc(1, sizeof(*wi));
	if (wi == NULL)
		return api->fail(err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	wi->api = api;
	wi->host = host;
	wi->token_ttl_ms = api->cfg_int(cfg, "token_ttl");
	if (public_url != NULL && public_url[0] != '\0')
		snprintf(wi->public_url, sizeof(wi->public_url), "%s", public_url);
	else
		snprintf(wi->public_url, sizeof(wi->public_url), "http://%s", listen);
	len = strlen(wi->public_url);
	while (len > 0 && wi->public_url[len - 1] == '/')
		wi->public_url[--len] = '\0';
	n = api->cfg_list_len(cfg, "ice_servers");
	for (i = 0; i < n && i < WEBRTC_ICE_MAX; i++)
		wi->ice[i] = api->cfg_list_at(cfg, "ice_servers", i);

	/* The room key: its own option, else Janus's secrets (which a copy of
	 * the store does not hold either). */
	len = (room_key ? strlen(room_key) : 0) + (api_secret ? strlen(api_secret) : 0) +
	      (admin_key ? strlen(admin_key) : 0) + 4;
	wi->room_key = malloc(len);
	if (wi->room_key == NULL) {
		st = api->fail(err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
		goto out;
	}
	if (room_key != NULL && room_key[0] != '\0')
		snprintf(wi->room_key, len, "%s", room_key);
	else
		snprintf(wi->room_key, len, "%s\n%s", api_secret ? api_secret : "",
		         admin_key ? admin_key : "");
	if ((room_key == NULL || room_key[0] == '\0') && (api_secret == NULL || !api_secret[0]) &&
	    (admin_key == NULL || !admin_key[0]))
		api->log(host, BC_LOG_WARN, "no janus_api_secret, janus_admin_key or room_secret_key: "
		         "room secrets derive from the stream record alone, and anyone who reaches "
		         "Janus's API can join any room; see docs/providers/webrtc.md");

	memset(&jcfg, 0, sizeof(jcfg));
	jcfg.url = api->cfg_str(cfg, "janus_url");
	jcfg.api_secret = api_secret;
	jcfg.admin_key = admin_key;
	jcfg.video_codecs = api->cfg_str(cfg, "video_codecs");
	jcfg.audio_codecs = api->cfg_str(cfg, "audio_codecs");
	jcfg.timeout_ms = api->cfg_int(cfg, "janus_timeout");
	st = webrtc_janus_create(&wi->janus, api, host, &jcfg, &e);
	if (st != BC_OK)
		goto out;
	st = webrtc_streams_create(&wi->streams, api, host, wi->janus,
	                           (int)api->cfg_int(cfg, "max_viewers"), &e);
	if (st != BC_OK)
		goto out;

	n = api->cfg_list_len(cfg, "cors_origins");
	for (i = 0; i < n && i < WEBRTC_ICE_MAX; i++)
		cors[i] = api->cfg_list_at(cfg, "cors_origins", i);
	if (n > 0)
		cors[i] = NULL;
	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.listen = listen;
	hcfg.public_url = wi->public_url;
	hcfg.threads = (int)api->cfg_int(cfg, "threads");
	hcfg.request_timeout_ms = api->cfg_int(cfg, "request_timeout");
	hcfg.max_connections_per_address = (int)api->cfg_int(cfg, "max_connections_per_address");
	hcfg.max_sdp_bytes = (uint64_t)api->cfg_int(cfg, "max_sdp_bytes");
	hcfg.ice_servers = wi->ice;
	hcfg.cors_origins = cors;
	st = webrtc_http_start(&wi->http, api, host, wi->streams, &hcfg, &e);
	if (st != BC_OK)
		goto out;

	api->log(host, BC_LOG_INFO, "WHIP listener on %s (public URL %s), Janus at %s", listen,
	         wi->public_url, jcfg.url);
	*instance = wi;
	wi = NULL;
out:
	webrtc_destroy(wi);
	return st;
}

static enum bc_status webrtc_start(void *instance, const struct bc_stream_info *stream,
                                   struct bc_endpoint *out, struct bc_error *err)
{
	struct webrtc_instance *wi = instance;
	const struct bc_host_api *api = wi->api;
	unsigned char nraw[WEBRTC_NONCE_BYTES], rraw[8];
	char token[PROVIDER_TOKEN_LEN + 1], hash[65], fp[17], nonce[WEBRTC_NONCE_BYTES * 2 + 1];
	char secret[WEBRTC_SECRET_LEN + 1], room_text[24], expires[24], ice[WEBRTC_ICE_MAX * 216 + 4];
	char whip_url[WEBRTC_URL_MAX + 64], watch_url[WEBRTC_URL_MAX + 64];
	int64_t expires_ms = wi->token_ttl_ms > 0 ? api->now_ms() + wi->token_ttl_ms : 0;
	struct webrtc_err e;
	uint64_t room = 0;
	size_t i, o = 0;
	enum bc_status st;
	int room_made = 0, added = 0;

	memset(&e, 0, sizeof(e));
	e.err = err;
	secret[0] = token[0] = '\0';
	if (!webrtc_id_is_valid(stream->id))
		return api->fail(err, BC_E_INVALID, "webrtc.bad_id", "not a stream id");
	if (api->random(nraw, sizeof(nraw)) != BC_OK || api->random(rraw, sizeof(rraw)) != BC_OK ||
	    provider_token_mint(api, token, hash) != BC_OK)
		return api->fail(err, BC_E_INTERNAL, "webrtc.random", "the random generator failed");
	for (i = 0; i < sizeof(nraw); i++)
		snprintf(nonce + 2 * i, 3, "%02x", nraw[i]);
	/* A room id JavaScript can hold exactly (below 2^53), never 0. */
	for (i = 0; i < sizeof(rraw); i++)
		room = room << 8 | rraw[i];
	room = (room & ((UINT64_C(1) << 52) - 1)) + 1;
	snprintf(room_text, sizeof(room_text), "%" PRIu64, room);
	snprintf(expires, sizeof(expires), "%" PRId64, expires_ms);
	st = webrtc_room_secret(wi, nonce, secret);
	if (st != BC_OK) {
		st = api->fail(err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
		goto out;
	}
	st = webrtc_janus_room_create(wi->janus, room, secret, stream->id, &e);
	if (st != BC_OK)
		goto out;
	room_made = 1;
	st = webrtc_streams_add(wi->streams, stream->id, hash, expires_ms, room, secret, &e);
	if (st != BC_OK)
		goto out;
	added = 1;

	snprintf(whip_url, sizeof(whip_url), "%s/whip/%s", wi->public_url, stream->id);
	snprintf(watch_url, sizeof(watch_url), "%s/watch/%s", wi->public_url, stream->id);
	/* RTCIceServer objects, as a browser's RTCPeerConnection takes them.
	 * The URLs were checked to hold no character JSON must escape. */
	o = (size_t)snprintf(ice, sizeof(ice), "[");
	for (i = 0; wi->ice[i] != NULL; i++) {
		int n = snprintf(ice + o, sizeof(ice) - o, "%s{\"urls\":\"%s\"}", i > 0 ? "," : "",
		                 wi->ice[i]);
		if (n < 0 || (size_t)n >= sizeof(ice) - o - 1)
			break;
		o += (size_t)n;
	}
	snprintf(ice + o, sizeof(ice) - o, "]");
	if ((st = api->ep_str(out, "WebRTC", "whip_url", whip_url, 0)) != BC_OK ||
	    (st = api->ep_str(out, "WebRTC", "bearer_token", token, BC_EP_SECRET)) != BC_OK ||
	    (st = api->ep_json(out, "WebRTC", "ice_servers", ice, 0)) != BC_OK ||
	    (st = api->ep_int(out, "WebRTC", "expires_in", wi->token_ttl_ms / 1000)) != BC_OK ||
	    (st = api->ep_str(out, "WebRTC", "watch_url", watch_url, 0)) != BC_OK ||
	    (st = api->meta_set(out, WEBRTC_META_HASH, hash)) != BC_OK ||
	    (st = api->meta_set(out, WEBRTC_META_EXPIRES, expires)) != BC_OK ||
	    (st = api->meta_set(out, WEBRTC_META_ROOM, room_text)) != BC_OK ||
	    (st = api->meta_set(out, WEBRTC_META_NONCE, nonce)) != BC_OK) {
		st = api->fail(err, st, "webrtc.endpoint", "could not build the endpoint");
		goto out;
	}
	api->fingerprint(token, fp);
	api->log(wi->host, BC_LOG_INFO, "stream %s: room %s ready, WHIP at %s (token %s)",
	         stream->id, room_text, whip_url, fp);
	api->counter_add(wi->host, "webrtc_streams_started_total", NULL, 1);
	api->gauge_set(wi->host, "webrtc_streams_live", NULL,
	               (double)webrtc_streams_live_count(wi->streams));
out:
	if (st != BC_OK) {
		if (added)
			webrtc_streams_remove(wi->streams, stream->id);
		if (room_made)
			(void)webrtc_janus_room_destroy(wi->janus, room, secret, NULL);
	}
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(token, sizeof(token));
	return st;
}

/* The room and its secret from a stream's meta; 0 when the meta lacks
 * them (a stream that was never ours to finish). */
static int webrtc_room_of(struct webrtc_instance *wi, const struct bc_stream_info *stream,
                          uint64_t *room, char secret[WEBRTC_SECRET_LEN + 1])
{
	const char *nonce = wi->api->meta_get(stream, WEBRTC_META_NONCE);

	if (!webrtc_parse_u64(wi->api->meta_get(stream, WEBRTC_META_ROOM), room) || *room == 0 ||
	    nonce == NULL || strlen(nonce) != 2 * WEBRTC_NONCE_BYTES)
		return 0;
	return webrtc_room_secret(wi, nonce, secret) == BC_OK;
}

static enum bc_status webrtc_stop(void *instance, const struct bc_stream_info *stream,
                                  struct bc_error *err)
{
	struct webrtc_instance *wi = instance;
	const struct bc_host_api *api = wi->api;
	char secret[WEBRTC_SECRET_LEN + 1];
	struct webrtc_err e;
	uint64_t room = 0;

	(void)err;
	memset(&e, 0, sizeof(e));
	if (!webrtc_id_is_valid(stream->id))
		return BC_OK; /* never ours: nothing to finish */
	/* Destroying the room ends its publisher's and viewers' PeerConnections
	 * at once; then our sessions go. A Janus that cannot be reached does
	 * not keep the stream live: the token is revoked here either way, and
	 * a Janus that is down has lost its rooms (they are not permanent). */
	if (webrtc_room_of(wi, stream, &room, secret) &&
	    webrtc_janus_room_destroy(wi->janus, room, secret, &e) != BC_OK)
		api->log(wi->host, BC_LOG_WARN,
		         "stream %s: room %" PRIu64 " not destroyed (%s: %s); a Janus that is down "
		         "has lost it already", stream->id, room, e.code ? e.code : "?", e.message);
	explicit_bzero(secret, sizeof(secret));
	if (webrtc_streams_remove(wi->streams, stream->id))
		api->log(wi->host, BC_LOG_INFO, "stream %s: room %" PRIu64 " closed", stream->id, room);
	api->gauge_set(wi->host, "webrtc_streams_live", NULL,
	               (double)webrtc_streams_live_count(wi->streams));
	return BC_OK;
}

/* Since ABI 1.1: take a live stream back from its meta. Janus is not
 * asked (no network before the frontends serve): the room normally is
 * still there; if Janus lost it, the next publish makes it again. */
static enum bc_status webrtc_resume(void *instance, const struct bc_stream_info *stream,
                                    struct bc_error *err)
{
	struct webrtc_instance *wi = instance;
	const struct bc_host_api *api = wi->api;
	const char *hash = api->meta_get(stream, WEBRTC_META_HASH);
	const char *exp = api->meta_get(stream, WEBRTC_META_EXPIRES);
	char secret[WEBRTC_SECRET_LEN + 1];
	struct webrtc_err e;
	uint64_t room = 0, expires = 0;
	enum bc_status st;

	memset(&e, 0, sizeof(e));
	e.err = err;
	if (!webrtc_id_is_valid(stream->id))
		return api->fail(err, BC_E_INVALID, "webrtc.bad_id", "not a stream id");
	if (!provider_token_hash_is_valid(hash) || !webrtc_room_of(wi, stream, &room, secret))
		return api->fail(err, BC_E_INVALID, "webrtc.no_meta",
		                 "stream %s has no valid webrtc meta: WHIP stays closed; stop it and "
		                 "start a new one", stream->id);
	if (!webrtc_parse_u64(exp, &expires))
		expires = 0;
	st = webrtc_streams_add(wi->streams, stream->id, hash, (int64_t)expires, room, secret, &e);
	explicit_bzero(secret, sizeof(secret));
	if (st != BC_OK)
		return st;
	/* No WHIP session survives a restart in our table: whoever published
	 * publishes again (or the host's idle_timeout ends the stream). */
	api->media_report(wi->host, stream->id, BC_MEDIA_FACT_GONE,
	                  "broadcastd restarted: waiting for the publisher to reconnect");
	api->log(wi->host, BC_LOG_INFO, "stream %s: resumed, room %" PRIu64, stream->id, room);
	api->gauge_set(wi->host, "webrtc_streams_live", NULL,
	               (double)webrtc_streams_live_count(wi->streams));
	return BC_OK;
}

/* Janus answering is what starts need; probes within 5 s of a success
 * reuse it, so /healthz does not hit Janus on every poll. */
static enum bc_status webrtc_health(void *instance, struct bc_error *err)
{
	struct webrtc_instance *wi = instance;
	int64_t now = wi->api->monotonic_ms();
	int64_t at = __atomic_load_n(&wi->health_at_ms, __ATOMIC_RELAXED);
	struct webrtc_err e;

	if (at != 0 && now - at < WEBRTC_HEALTH_CACHE_MS)
		return BC_OK;
	memset(&e, 0, sizeof(e));
	e.err = err;
	if (webrtc_janus_ping(wi->janus, &e) != BC_OK) {
		__atomic_store_n(&wi->health_at_ms, 0, __ATOMIC_RELAXED);
		if (!__atomic_exchange_n(&wi->health_failing, 1, __ATOMIC_RELAXED))
			wi->api->log(wi->host, BC_LOG_ERROR, "Janus does not answer: %s", e.message);
		return e.status;
	}
	__atomic_store_n(&wi->health_at_ms, now, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&wi->health_failing, 0, __ATOMIC_RELAXED))
		wi->api->log(wi->host, BC_LOG_INFO, "Janus answers again");
	return BC_OK;
}

static void webrtc_destroy(void *instance)
{
	struct webrtc_instance *wi = instance;

	if (wi == NULL)
		return;
	/* Listener first: no request may reach the table once it is gone.
	 * Rooms stay in Janus for resume() after a restart. */
	webrtc_http_stop(wi->http);
	webrtc_streams_destroy(wi->streams);
	webrtc_janus_destroy(wi->janus);
	if (wi->room_key != NULL) {
		explicit_bzero(wi->room_key, strlen(wi->room_key));
		free(wi->room_key);
	}
	free(wi);
}

/* ---- options, descriptor, entry -------------------------------------------------------- */

static const struct bc_option webrtc_options[] = {
	BC_OPTION(.name = "janus_url", .type = BC_OPT_STRING, .flags = BC_OPT_NONEMPTY,
	          .default_value = "http://127.0.0.1:8088/janus",
	          .description = "Base URL of Janus's HTTP API (its http transport, base_path "
	                         "/janus); keep it on loopback or a private network."),
	BC_OPTION(.name = "janus_api_secret", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "Janus's api_secret (janus.jcfg, general), sent with every "
	                         "request to Janus and never to clients."),
	BC_OPTION(.name = "janus_admin_key", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "The VideoRoom plugin's admin_key (janus.plugin.videoroom.jcfg), "
	                         "needed to create rooms when Janus sets one."),
	BC_OPTION(.name = "room_secret_key", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "Key the per-stream room secrets are derived from (with a random "
	                         "nonce kept in the stream's meta). Unset: Janus's api secret and "
	                         "admin key. Changing it orphans the rooms of live streams."),
	BC_OPTION(.name = "janus_timeout", .type = BC_OPT_DURATION, .default_value = "5s",
	          .min = 200, .max = 60000,
	          .description = "Longest wait for one answer from Janus; past it the client gets "
	                         "503 webrtc.janus_unavailable."),
	BC_OPTION(.name = "listen", .type = BC_OPT_STRING, .flags = BC_OPT_NONEMPTY,
	          .default_value = "127.0.0.1:8089",
	          .description = "HOST:PORT of the WHIP listener (WHIP, the viewer page and its "
	                         "signalling)."),
	BC_OPTION(.name = "public_url", .type = BC_OPT_STRING,
	          .description = "Base URL written into endpoints, as publishers and viewers reach "
	                         "the listener (e.g. \"https://whip.example.com\" behind a TLS "
	                         "proxy). Unset: http://LISTEN."),
	BC_OPTION(.name = "ice_servers", .type = BC_OPT_LIST,
	          .description = "STUN/TURN URLs given to clients (endpoint ice_servers, WHIP "
	                         "Link headers, the viewer page), e.g. "
	                         "\"stun:stun.example.com:3478\"; Janus's own are in janus.jcfg."),
	BC_OPTION(.name = "video_codecs", .type = BC_OPT_STRING, .default_value = "vp8,h264",
	          .description = "Video codecs a stream's room accepts, in order of preference "
	                         "(OBS's WHIP output sends h264)."),
	BC_OPTION(.name = "audio_codecs", .type = BC_OPT_STRING, .default_value = "opus",
	          .description = "Audio codecs a stream's room accepts."),
	BC_OPTION(.name = "max_viewers", .type = BC_OPT_INT, .default_value = "16", .min = 0,
	          .max = 10000,
	          .description = "Viewers one stream may have at once through the watch page; "
	                         "the next gets 503. 0: no viewers."),
	BC_OPTION(.name = "token_ttl", .type = BC_OPT_DURATION, .default_value = "0",
	          .description = "How long a bearer token may start WHIP sessions after start "
	                         "(expires_in); 0: until the stream stops."),
	BC_OPTION(.name = "max_sdp_bytes", .type = BC_OPT_SIZE, .default_value = "64k",
	          .min = 1024, .max = 1048576,
	          .description = "Largest SDP offer, answer or trickle fragment accepted; bigger "
	                         "ones get 413."),
	BC_OPTION(.name = "threads", .type = BC_OPT_INT, .default_value = "16", .min = 2,
	          .max = 1024,
	          .description = "Listener worker threads; each open connection holds one while "
	                         "it is kept alive."),
	BC_OPTION(.name = "request_timeout", .type = BC_OPT_DURATION, .default_value = "10s",
	          .min = 1000, .max = 600000,
	          .description = "Deadline of one request's headers and body; a slower one gets "
	                         "408."),
	BC_OPTION(.name = "max_connections_per_address", .type = BC_OPT_INT, .default_value = "0",
	          .min = 0, .max = 1024,
	          .description = "Connections one client address may hold open at once; the "
	                         "next gets 503. 0: half of threads for non-loopback addresses, "
	                         "no bound for loopback ones."),
	BC_OPTION(.name = "cors_origins", .type = BC_OPT_LIST,
	          .description = "Origins whose pages may publish or watch (Access-Control-Allow-"
	                         "Origin). Unset: any origin (*): the token is the credential."),
	BC_OPTION_END
};

static const char *const webrtc_stream_types[] = { "webrtc", NULL };

static const struct bc_provider_ops webrtc_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = webrtc_stream_types,
	.create = webrtc_create,
	.start = webrtc_start,
	.stop = webrtc_stop,
	.health = webrtc_health,
	.destroy = webrtc_destroy,
	.resume = webrtc_resume,
	.check = webrtc_check,
};

static const struct bc_plugin webrtc_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "webrtc", .version = PACKAGE_VERSION,
	.description = "WebRTC ingest over WHIP through Janus's VideoRoom, with a viewer page",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = webrtc_options, .ops = &webrtc_ops);

static const struct bc_plugin *const webrtc_plugins[] = { &webrtc_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? webrtc_plugins : NULL;
}
