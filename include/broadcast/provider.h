/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/provider.h: the operations of a provider plugin.
 *
 * A provider mints an ingest endpoint when a stream starts (temporary cloud
 * credentials, an RTMP URL and key, an upload URL and token) and finishes or
 * revokes it when the stream stops. It never sees HTTP requests or stream
 * records: the host validates the request, reserves the record in the store,
 * calls start(), then commits the record; if start() fails nothing is left.
 * A provider that needs a data plane of its own (an upload listener, an auth
 * callback) runs it itself, from create() to destroy().
 *
 * Since ABI 1.1 a provider tells the host what it sees of the media of its
 * live streams (api->media_report(): publishing, idle, gone), and keeps no
 * durable state of its own: after a restart the host calls resume() with
 * every stream that is still live, and the provider rebuilds what it needs
 * (upload token hashes, stream keys) from the meta it kept at start. The
 * host owns time: the common options idle_timeout and max_duration stop a
 * stream through the same path as an API stop.
 *
 * Since ABI 1.0.
 */
#ifndef BROADCAST_PROVIDER_H
#define BROADCAST_PROVIDER_H

#include <broadcast/host.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The stream a provider is asked to start or stop. Filled by the host;
 * every pointer is borrowed for the duration of the call. Since ABI 1.0.
 */
struct bc_stream_info {
	size_t struct_size;   /**< sizeof as the host compiled it */
	const char *id;       /**< UUIDv4, lowercase, 36 characters */
	const char *name;     /**< the caller's name for it; "" when none was given */
	const char *type;     /**< the stream type asked for, e.g. "hls" */
	const char *owner;    /**< the caller's identity ("alice", "uid:1000"), or
	                           "anonymous" on an unauthenticated loopback frontend */
	int64_t start_ms;     /**< start time, ms since the epoch */
	int64_t stop_ms;      /**< stop time during stop(), 0 during start() */
	const void *host_private; /**< the host's; read it only through meta_get() */
};

/**
 * A provider's operations. `ops` of a BC_KIND_PROVIDER descriptor points to
 * one, static in the plugin. Calls into one instance are serialised unless
 * the descriptor has BC_PLUGIN_THREAD_SAFE. Since ABI 1.0.
 */
struct bc_provider_ops {
	size_t struct_size; /**< sizeof(struct bc_provider_ops) as the plugin compiled it */

	/** Stream types served when the YAML does not list `stream_types`,
	 *  NULL-terminated, e.g. {"hls", NULL}. Required. */
	const char *const *stream_types;

	/**
	 * Make one instance from its validated configuration. Main thread only.
	 * api, host: the host's table and this instance's handle, both valid
	 *   until destroy() returns; keep them in the instance.
	 * cfg: the instance's options, valid until destroy() returns.
	 * instance: set it to the plugin's state on success.
	 * err: describe a failure with api->fail().
	 * Returns BC_OK, or a failure (BC_E_INVALID for bad option combinations,
	 * BC_E_UNAVAILABLE when a listener cannot bind, ...); on failure the host
	 * does not call destroy(), so free everything first. Required.
	 */
	enum bc_status (*create)(const struct bc_host_api *api, struct bc_host *host,
	                         const struct bc_config *cfg, void **instance,
	                         struct bc_error *err);

	/**
	 * Mint the endpoint of a new stream: write it into `out` with the host's
	 * ep_* functions, and anything stop() will need with meta_set().
	 * Returns BC_OK or a failure with a dotted code (BC_E_UPSTREAM "x.rejected",
	 * BC_E_TIMEOUT, BC_E_UNAVAILABLE ...). On failure the host discards `out`
	 * and the stream. Required.
	 */
	enum bc_status (*start)(void *instance, const struct bc_stream_info *stream,
	                        struct bc_endpoint *out, struct bc_error *err);

	/**
	 * Finish or revoke the endpoint of a stream that is being stopped. Must be
	 * idempotent: after a crash the host may stop a stream twice. On failure
	 * the stream stays live and the caller may retry. Required.
	 */
	enum bc_status (*stop)(void *instance, const struct bc_stream_info *stream,
	                       struct bc_error *err);

	/** Report whether the instance can start streams now (for /healthz):
	 *  BC_OK or a failure with a code. May be NULL (always healthy). */
	enum bc_status (*health)(void *instance, struct bc_error *err);

	/** Free the instance. Main thread only; no call is in flight. Required. */
	void (*destroy)(void *instance);

	/* ---- since ABI 1.1 ---- */

	/**
	 * Take back a stream that is live in the store, after the host started
	 * (or a reload made this instance): make its endpoint work again from
	 * what `stream` carries (meta_get() reads the meta kept at its start).
	 * Called once per live stream this instance's name minted, after
	 * create() and before any frontend serves, on the main thread. A stream
	 * stopped in the store is never resumed, so a revoked credential stays
	 * revoked across a crash. A failure is logged and the stream stays live
	 * (a stop still reaches stop()). May be NULL: the provider needs nothing
	 * back. Since ABI 1.1.
	 */
	enum bc_status (*resume)(void *instance, const struct bc_stream_info *stream,
	                         struct bc_error *err);

	/**
	 * Validate an instance's options without side effects: every check
	 * that needs neither the network nor a port nor a write (option
	 * combinations, values, files an option names being readable and
	 * well-formed, e.g. a certificate and its key). `broadcastd
	 * --check-config` runs it, and so does every real start, right before
	 * create(), so the two can never disagree; create() may rely on it
	 * having passed. What only create() can find out (a port taken, a
	 * database down) is reported by create(). Any thread; no instance
	 * exists. May be NULL (nothing to check beyond the declared options).
	 * Since ABI 1.1.
	 */
	enum bc_status (*check)(const struct bc_host_api *api, const struct bc_config *cfg,
	                        struct bc_error *err);
};

#ifdef __cplusplus
}
#endif

#endif /* BROADCAST_PROVIDER_H */
