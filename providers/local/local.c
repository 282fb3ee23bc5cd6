/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local.c: the `local` provider, a built-in HLS origin that needs no cloud
 * account (the embedded default of etc/broadcast.yaml).
 *
 * Central type: struct local_instance, one per YAML instance. create() opens
 * the stream table on `root` (local_streams.c) and starts the HTTP listener
 * (local_origin.c); start() mints a one-time upload token for a new stream
 * and returns, under endpoint "HTTP", where to upload it and where to watch
 * it; stop() closes the stream's uploads and ends its playlists. This file
 * holds the lifecycle, the option table, the descriptor and the entry point,
 * in that order.
 *
 * The token is 32 random bytes in base64url. Only its SHA-256 is kept: in
 * the stream record's meta (token_sha256, with its expiry token_expires_ms)
 * and in memory. The provider writes no durable state of its own: a start's
 * one durable write is the store's commit, and after a restart the host
 * calls resume() with every stream the store says is live and its meta
 * (ABI 1.1), which alone re-admits the token; a stream the store recorded as
 * stopped stays refused (docs/providers/local.md, "Restart"). Logs show a
 * fingerprint of the token, never the token.
 *
 * Media (ABI 1.1): uploads are reported to the host as publishing, and
 * idle_after without one as idle (local_streams.c keeps the state).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <broadcast/provider.h>

#include "local_origin.h"
#include "local_streams.h"
#include "token.h"

#ifndef BC_STATE_DIR
#define BC_STATE_DIR "/var/lib/broadcast"
#endif

/* The meta keys kept with the stream's record at start, read by stop() and
 * resume(). */
#define LOCAL_META_HASH "token_sha256"
#define LOCAL_META_EXPIRES "token_expires_ms" /* ms since the epoch; "0": none */
#define LOCAL_URL_MAX 1024

struct local_instance {
	const struct bc_host_api *api;
	struct bc_host *host;
	char public_url[LOCAL_URL_MAX]; /* no trailing slash */
	char root[LOCAL_URL_MAX];
	const char *playlist;           /* borrowed from the config view */
	int64_t token_ttl_ms;
	struct local_streams *streams;
	struct local_origin *origin;
	int health_failing;             /* the root was unusable at the last health check */
};

/* ---- helpers ------------------------------------------------------------------ */

/* The base URL endpoints carry: public_url, or http://HOST:PORT of `listen`
 * when that names a host a client can reach. */
static enum bc_status local_base_url(struct local_instance *li, const char *listen,
                                     const char *public_url, struct bc_error *err)
{
	const struct bc_host_api *api = li->api;
	const char *colon;
	size_t len;

	if (public_url != NULL && public_url[0] != '\0') {
		len = strlen(public_url);
		while (len > 0 && public_url[len - 1] == '/')
			len--;
		if ((strncmp(public_url, "http://", 7) != 0 && strncmp(public_url, "https://", 8) != 0) ||
		    len >= sizeof(li->public_url))
			return api->fail(err, BC_E_INVALID, "local.bad_public_url",
			                 "public_url must be an http:// or https:// URL, e.g. "
			                 "\"http://media.example.com:8081\"");
		memcpy(li->public_url, public_url, len);
		li->public_url[len] = '\0';
		return BC_OK;
	}
	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strncmp(listen, "0.0.0.0:", 8) == 0 || strncmp(listen, "[::]:", 5) == 0 ||
	    strchr(listen, ',') != NULL)
		return api->fail(err, BC_E_INVALID, "local.public_url_required",
		                 "listen \"%s\" names no single host a client can reach: set "
		                 "public_url to the origin's address as clients see it", listen);
	if (snprintf(li->public_url, sizeof(li->public_url), "http://%s", listen) >=
	    (int)sizeof(li->public_url))
		return api->fail(err, BC_E_INVALID, "local.bad_listen", "listen is too long");
	return BC_OK;
}

/* Open the stream table on the configured root or, when `root` is unset, on
 * BC_STATE_DIR/hls, falling back to the user's state folder for a daemon run
 * by a user who may not write the system one (zero-config from a build tree). */
static enum bc_status local_open_root(struct local_instance *li, const struct bc_config *cfg,
                                      struct local_streams_cfg *scfg, struct bc_error *err)
{
	const struct bc_host_api *api = li->api;
	const char *root = api->cfg_str(cfg, "root");
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	enum bc_status st;
	int n;

	if (root != NULL && root[0] != '\0') {
		if (strlen(root) >= sizeof(li->root))
			return api->fail(err, BC_E_INVALID, "local.bad_root", "root is too long");
		snprintf(li->root, sizeof(li->root), "%s", root);
		scfg->root = li->root;
		return local_streams_open(&li->streams, api, li->host, scfg, err);
	}
	snprintf(li->root, sizeof(li->root), "%s/hls", BC_STATE_DIR);
	scfg->root = li->root;
	st = local_streams_open(&li->streams, api, li->host, scfg, err);
	if (st != BC_E_UNAVAILABLE)
		return st;
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(li->root, sizeof(li->root), "%s/broadcast/hls", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(li->root, sizeof(li->root), "%s/.local/state/broadcast/hls", home);
	else
		return st;
	if (n < 0 || (size_t)n >= sizeof(li->root))
		return st;
	api->log(li->host, BC_LOG_INFO, "%s/hls is not writable; keeping streams in %s",
	         BC_STATE_DIR, li->root);
	return local_streams_open(&li->streams, api, li->host, scfg, err);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void local_destroy(void *instance);

static enum bc_status local_create(const struct bc_host_api *api, struct bc_host *host,
                                   const struct bc_config *cfg, void **instance,
                                   struct bc_error *err)
{
	struct local_instance *li = NULL;
	struct local_streams_cfg scfg;
	struct local_origin_cfg ocfg;
	const char *listen = api->cfg_str(cfg, "listen");
	const char **cors = NULL;
	size_t i, ncors = api->cfg_list_len(cfg, "cors_origins");
	int bad_ext = 0;
	enum bc_status st;

	*instance = NULL;
	li = calloc(1, sizeof(*li));
	if (li == NULL)
		return api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
	li->api = api;
	li->host = host;
	li->playlist = api->cfg_str(cfg, "playlist");
	li->token_ttl_ms = api->cfg_int(cfg, "token_ttl");

	if (li->playlist == NULL || !local_name_is_valid(li->playlist, &bad_ext) ||
	    strcmp(strrchr(li->playlist, '.'), ".m3u8") != 0) {
		st = api->fail(err, BC_E_INVALID, "local.bad_playlist",
		               "playlist must be a plain file name ending in .m3u8, e.g. index.m3u8");
		goto out;
	}
	if (listen == NULL) { /* never empty: BC_OPT_NONEMPTY */
		st = api->fail(err, BC_E_INVALID, "local.bad_listen",
		               "listen must be HOST:PORT, e.g. \"127.0.0.1:8081\"");
		goto out;
	}
	st = local_base_url(li, listen, api->cfg_str(cfg, "public_url"), err);
	if (st != BC_OK)
		goto out;

	memset(&scfg, 0, sizeof(scfg));
	scfg.retention_ms = api->cfg_int(cfg, "retention");
	scfg.max_stream_bytes = (uint64_t)api->cfg_int(cfg, "max_stream_bytes");
	scfg.max_file_bytes = (uint64_t)api->cfg_int(cfg, "max_segment_bytes");
	scfg.idle_after_ms = api->cfg_int(cfg, "idle_after");
	st = local_open_root(li, cfg, &scfg, err);
	if (st != BC_OK)
		goto out;

	cors = calloc(ncors + 2, sizeof(*cors));
	if (cors == NULL) {
		st = api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
		goto out;
	}
	for (i = 0; i < ncors; i++)
		cors[i] = api->cfg_list_at(cfg, "cors_origins", i);
	if (ncors == 0)
		cors[0] = "*"; /* playback is public: any page may embed it */
	memset(&ocfg, 0, sizeof(ocfg));
	ocfg.listen = listen;
	ocfg.threads = (int)api->cfg_int(cfg, "threads");
	ocfg.request_timeout_ms = api->cfg_int(cfg, "request_timeout");
	ocfg.keep_alive_timeout_ms = api->cfg_int(cfg, "keep_alive_timeout");
	ocfg.max_connections_per_address = (int)api->cfg_int(cfg, "max_connections_per_address");
	ocfg.max_segment_bytes = (uint64_t)api->cfg_int(cfg, "max_segment_bytes");
	ocfg.playlist = li->playlist;
	ocfg.cors_origins = cors;
	st = local_origin_start(&li->origin, api, host, li->streams, &ocfg, err);
	if (st != BC_OK)
		goto out;

	api->log(host, BC_LOG_INFO, "HLS origin listening on %s (public URL %s, root %s)", listen,
	         li->public_url, li->root);
	api->gauge_set(host, "local_streams_live", NULL,
	               (double)local_streams_live_count(li->streams));
	*instance = li;
	li = NULL;
out:
	free(cors);
	local_destroy(li);
	return st;
}

static enum bc_status local_start(void *instance, const struct bc_stream_info *stream,
                                  struct bc_endpoint *out, struct bc_error *err)
{
	struct local_instance *li = instance;
	const struct bc_host_api *api = li->api;
	char token[PROVIDER_TOKEN_LEN + 1], hash[65], fp[17];
	char upload_url[LOCAL_URL_MAX + 64], playback_url[LOCAL_URL_MAX + 256], expires[24];
	int64_t now = api->now_ms();
	int64_t expires_ms = li->token_ttl_ms > 0 ? now + li->token_ttl_ms : 0;
	enum bc_status st;

	if (!local_id_is_valid(stream->id))
		return api->fail(err, BC_E_INVALID, "local.bad_id", "not a stream id");
	st = provider_token_mint(api, token, hash);
	if (st != BC_OK)
		return api->fail(err, BC_E_INTERNAL, "local.random", "the random generator failed");

	snprintf(expires, sizeof(expires), "%" PRId64, expires_ms);
	st = local_streams_add(li->streams, stream->id, hash, expires_ms, err);
	if (st != BC_OK)
		goto out;
	snprintf(upload_url, sizeof(upload_url), "%s" LOCAL_ORIGIN_PREFIX "%s/", li->public_url,
	         stream->id);
	snprintf(playback_url, sizeof(playback_url), "%s%s", upload_url, li->playlist);
	/* The fields first, in its order; "method" and "watch_url" are
	 * additions that keep the shape. */
	if ((st = api->ep_str(out, "HTTP", "upload_url", upload_url, 0)) != BC_OK ||
	    (st = api->ep_str(out, "HTTP", "upload_token", token, BC_EP_SECRET)) != BC_OK ||
	    (st = api->ep_str(out, "HTTP", "playlist", li->playlist, 0)) != BC_OK ||
	    (st = api->ep_str(out, "HTTP", "playback_url", playback_url, 0)) != BC_OK ||
	    (st = api->ep_int(out, "HTTP", "expires_in", li->token_ttl_ms / 1000)) != BC_OK ||
	    (st = api->ep_str(out, "HTTP", "method", "PUT", 0)) != BC_OK ||
	    (st = api->ep_str(out, "HTTP", "watch_url", upload_url, 0)) != BC_OK ||
	    (st = api->meta_set(out, LOCAL_META_HASH, hash)) != BC_OK ||
	    (st = api->meta_set(out, LOCAL_META_EXPIRES, expires)) != BC_OK) {
		local_streams_discard(li->streams, stream->id);
		st = api->fail(err, st, "local.endpoint", "could not build the endpoint");
		goto out;
	}
	api->fingerprint(token, fp);
	/* Debug, not info: the host logs the start at info, one line a
	 * lifecycle event (STYLE.md 11); a second line per start and stop was
	 * one more write(2) each on the request path (issue 24). */
	api->log(li->host, BC_LOG_DEBUG, "stream %s: upload open at %s (token %s)", stream->id,
	         upload_url, fp);
	api->counter_add(li->host, "local_streams_started_total", NULL, 1);
	api->gauge_set(li->host, "local_streams_live", NULL,
	               (double)local_streams_live_count(li->streams));
out:
	explicit_bzero(token, sizeof(token));
	return st;
}

static enum bc_status local_stop(void *instance, const struct bc_stream_info *stream,
                                 struct bc_error *err)
{
	struct local_instance *li = instance;
	const struct bc_host_api *api = li->api;
	enum bc_status st;

	if (!local_id_is_valid(stream->id))
		return BC_OK; /* never ours: nothing to finish */
	st = local_streams_finish(li->streams, stream->id, api->meta_get(stream, LOCAL_META_HASH),
	                          err);
	if (st != BC_OK)
		return st;
	api->log(li->host, BC_LOG_DEBUG, "stream %s: uploads closed", stream->id);
	api->gauge_set(li->host, "local_streams_live", NULL,
	               (double)local_streams_live_count(li->streams));
	return BC_OK;
}

/* Since ABI 1.1: re-admit the upload token of a stream that is live in the
 * store, from the meta kept at start. A stream started before
 * token_expires_ms was kept gets start_ms + token_ttl. */
static enum bc_status local_resume(void *instance, const struct bc_stream_info *stream,
                                   struct bc_error *err)
{
	struct local_instance *li = instance;
	const struct bc_host_api *api = li->api;
	const char *hash, *exp;
	int64_t expires_ms = 0;
	char *end = NULL;
	enum bc_status st;

	if (!local_id_is_valid(stream->id))
		return api->fail(err, BC_E_INVALID, "local.bad_id", "not a stream id");
	hash = api->meta_get(stream, LOCAL_META_HASH);
	if (!provider_token_hash_is_valid(hash))
		return api->fail(err, BC_E_INVALID, "local.no_token_meta",
		                 "stream %s has no valid " LOCAL_META_HASH " meta: its uploads stay "
		                 "closed; stop it and start a new one", stream->id);
	exp = api->meta_get(stream, LOCAL_META_EXPIRES);
	if (exp != NULL && exp[0] >= '0' && exp[0] <= '9') {
		errno = 0;
		expires_ms = strtoll(exp, &end, 10);
		if (errno != 0 || *end != '\0')
			exp = NULL;
	} else {
		exp = NULL;
	}
	if (exp == NULL)
		expires_ms = li->token_ttl_ms > 0 ? stream->start_ms + li->token_ttl_ms : 0;
	st = local_streams_resume(li->streams, stream->id, hash, expires_ms, err);
	if (st != BC_OK)
		return st;
	api->log(li->host, BC_LOG_INFO, "stream %s: resumed, uploads open", stream->id);
	api->gauge_set(li->host, "local_streams_live", NULL,
	               (double)local_streams_live_count(li->streams));
	return BC_OK;
}

/* The message reaches the daemon's public /healthz, so it names no path:
 * the path and the reason go to the log, once per failure (health is
 * polled), and recovery is logged too. */
static enum bc_status local_health(void *instance, struct bc_error *err)
{
	struct local_instance *li = instance;

	if (access(li->root, W_OK | X_OK) != 0) {
		int e = errno;
		if (!__atomic_exchange_n(&li->health_failing, 1, __ATOMIC_RELAXED))
			li->api->log(li->host, BC_LOG_ERROR, "the HLS folder %s is not writable: %s",
			             li->root, strerror(e));
		return li->api->fail(err, BC_E_UNAVAILABLE, "local.root_unusable",
		                     "the HLS folder is not writable (see the log)");
	}
	if (__atomic_exchange_n(&li->health_failing, 0, __ATOMIC_RELAXED))
		li->api->log(li->host, BC_LOG_INFO, "the HLS folder %s is writable again", li->root);
	return BC_OK;
}

static void local_destroy(void *instance)
{
	struct local_instance *li = instance;

	if (li == NULL)
		return;
	/* Listener first: no request may touch the table once it is gone. */
	local_origin_stop(li->origin);
	local_streams_close(li->streams);
	free(li);
}

/* ---- options, descriptor, entry -------------------------------------------------------- */

static const struct bc_option local_options[] = {
	BC_OPTION(.name = "listen", .type = BC_OPT_STRING, .flags = BC_OPT_NONEMPTY,
	          .default_value = "127.0.0.1:8081",
	          .description = "HOST:PORT the origin's HTTP listener binds (uploads and "
	                         "playback); e.g. \"0.0.0.0:8081\" with public_url to serve other "
	                         "machines."),
	BC_OPTION(.name = "public_url", .type = BC_OPT_STRING,
	          .description = "Base URL written into endpoints, as broadcasters and players "
	                         "reach the listener (e.g. \"https://media.example.com\" behind a "
	                         "proxy). Unset: http://LISTEN."),
	BC_OPTION(.name = "root", .type = BC_OPT_STRING,
	          .description = "Folder holding one folder per stream. Unset: "
	                         "$localstatedir/lib/broadcast/hls, or "
	                         "~/.local/state/broadcast/hls when that is not writable."),
	BC_OPTION(.name = "playlist", .type = BC_OPT_STRING, .default_value = "index.m3u8",
	          .description = "Name of the media playlist the broadcaster uploads; "
	                         "playback_url and the player page point at it."),
	BC_OPTION(.name = "threads", .type = BC_OPT_INT, .default_value = "16", .min = 2,
	          .max = 1024,
	          .description = "Listener worker threads; each open connection (a broadcaster "
	                         "or a player) holds one while it is kept alive."),
	BC_OPTION(.name = "request_timeout", .type = BC_OPT_DURATION, .default_value = "30s",
	          .min = 1000, .max = 3600000,
	          .description = "Deadline of one request: its headers must arrive within it, "
	                         "and an upload's body within it of its headers; a slower upload "
	                         "gets 408 and stores nothing."),
	BC_OPTION(.name = "keep_alive_timeout", .type = BC_OPT_DURATION, .default_value = "500ms",
	          .min = 0, .max = 600000,
	          .description = "How long a kept-alive connection may stay idle between "
	                         "requests (it holds a listener thread meanwhile)."),
	BC_OPTION(.name = "max_connections_per_address", .type = BC_OPT_INT, .default_value = "0",
	          .min = 0, .max = 1024,
	          .description = "Connections one client address may hold open at once; the "
	                         "next gets 503. 0: half of threads for non-loopback addresses, "
	                         "no bound for loopback ones (a proxy on this host)."),
	BC_OPTION(.name = "max_segment_bytes", .type = BC_OPT_SIZE, .default_value = "16M",
	          .min = 1024, .max = (int64_t)1 << 32,
	          .description = "Largest file one upload may carry; bigger ones get 413."),
	BC_OPTION(.name = "max_stream_bytes", .type = BC_OPT_SIZE, .default_value = "8G",
	          .description = "Most bytes one stream's folder may hold (uploads past it get "
	                         "413); 0 for no limit."),
	BC_OPTION(.name = "retention", .type = BC_OPT_DURATION, .default_value = "1d",
	          .description = "How long a stopped stream's recording stays playable before "
	                         "its files are deleted; 0 keeps them forever."),
	BC_OPTION(.name = "token_ttl", .type = BC_OPT_DURATION, .default_value = "36h",
	          .description = "How long an upload token works after start (expires_in); 0 "
	                         "for until stop."),
	BC_OPTION(.name = "idle_after", .type = BC_OPT_DURATION, .default_value = "10s",
	          .min = 1000, .max = 86400000,
	          .description = "A publishing stream with no upload for this long is reported "
	                         "idle to the host (stream.idle); the next upload reports it "
	                         "publishing again."),
	BC_OPTION(.name = "cors_origins", .type = BC_OPT_LIST,
	          .description = "Origins whose pages may play streams (Access-Control-Allow-"
	                         "Origin). Unset: any origin (*)."),
	BC_OPTION_END
};

static const char *const local_stream_types[] = { "hls", NULL };

static const struct bc_provider_ops local_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = local_stream_types,
	.create = local_create,
	.start = local_start,
	.stop = local_stop,
	.health = local_health,
	.destroy = local_destroy,
	.resume = local_resume,
};

static const struct bc_plugin local_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "local", .version = PACKAGE_VERSION,
	.description = "built-in HLS origin: uploads over HTTP PUT, playback and a player page",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = local_options, .ops = &local_ops);

static const struct bc_plugin *const local_plugins[] = { &local_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? local_plugins : NULL;
}
