/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/frontend.h: the operations of a frontend plugin, and the request
 * and response every frontend exchanges with the dispatcher.
 *
 * A frontend only translates. It turns its transport's input (an HTTP
 * request, a line on a Unix socket) into a struct bc_request, hands it to
 * api->call(), and writes the struct bc_response back unchanged. Parameter
 * decoding, authentication, ownership, rate limits, validation, status codes
 * and error bodies are all the dispatcher's, so two frontends can never
 * disagree about what the API means.
 *
 * Since ABI 1.0.
 */
#ifndef BROADCAST_FRONTEND_H
#define BROADCAST_FRONTEND_H

#include <broadcast/host.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * One API request. Filled by the frontend; every pointer is borrowed for the
 * duration of call(). Since ABI 1.0.
 */
struct bc_request {
	size_t struct_size;       /**< sizeof(struct bc_request) as the frontend compiled it */
	/** The operation: "start", "stop", "get", "list", "health", "metrics",
	 *  "plugins" or "reload". Unknown or NULL: 404 "api.not_found". */
	const char *op;
	/** The transport's method ("POST", "GET", ...) when it has one: the
	 *  dispatcher answers 405 with `allow` when it does not fit the operation.
	 *  NULL for transports without methods. */
	const char *method;
	/** The raw URL query string, still percent-encoded, without the '?'; or NULL. */
	const char *query;
	/** The request body (not NUL-terminated), or NULL. */
	const char *body;
	/** The body's length in bytes. */
	size_t body_len;
	/** The body's media type with parameters as sent ("application/json",
	 *  "application/x-www-form-urlencoded; charset=utf-8"), or NULL. */
	const char *content_type;
	/** Parameters the transport itself decoded, such as an id from the URL
	 *  path: a NULL-terminated array of key, value, key, value..., or NULL.
	 *  Strings here are already decoded. */
	const char *const *params;
	/** A credential as presented by the client (the token of an HTTP
	 *  "Authorization: Bearer" header), or NULL. The dispatcher checks it
	 *  against the frontend instance's `tokens_file`. */
	const char *bearer;
	/** An identity the transport itself verified, e.g. "uid:1000" from a Unix
	 *  socket's SO_PEERCRED; NULL when the transport verifies none. When set,
	 *  it is the caller and `bearer` is ignored. */
	const char *caller;
	/** The peer's address for logs and per-caller rate limits of anonymous
	 *  callers ("127.0.0.1", "[::1]", "uid:0"), or NULL. */
	const char *peer;
};

/**
 * The dispatcher's answer. The frontend zeroes it and sets struct_size
 * before call(); the host fills the members that fit in struct_size. Release
 * it with api->response_release(). Since ABI 1.0.
 */
struct bc_response {
	size_t struct_size;       /**< set by the frontend before call() */
	int status;               /**< HTTP status number: 200, 400, 401, ... */
	char *body;               /**< owned by the host, NUL-terminated, never NULL after call() */
	size_t body_len;          /**< length of body without the NUL */
	const char *content_type; /**< "application/json" or, for metrics,
	                               "text/plain; version=0.0.4"; static */
	const char *allow;        /**< for 405: the methods to list in Allow; else NULL */
	const char *www_authenticate; /**< for 401: the WWW-Authenticate value; else NULL */
	unsigned retry_after;     /**< for 429/503: seconds to put in Retry-After; 0: none */
	enum bc_status code;      /**< the status enum behind `status` */
	char *caller;             /**< the caller identity the request was run as, for
	                               access logs ("anonymous" if none); owned by the host */
};

/**
 * A frontend's operations. `ops` of a BC_KIND_FRONTEND descriptor points to
 * one, static in the plugin. Frontends serve from their own threads and may
 * call api->call() from any number of them. Since ABI 1.0.
 */
struct bc_frontend_ops {
	size_t struct_size; /**< sizeof(struct bc_frontend_ops) as the plugin compiled it */

	/** Make one instance from its options, binding what it listens on so that
	 *  configuration errors surface before the daemon reports it is ready, but
	 *  not yet serving. Main thread only. Arguments as for
	 *  bc_provider_ops.create(). On failure the host does not call destroy().
	 *  Required. */
	enum bc_status (*create)(const struct bc_host_api *api, struct bc_host *host,
	                         const struct bc_config *cfg, void **instance,
	                         struct bc_error *err);

	/** Begin serving, from the frontend's own threads; return at once. Called
	 *  after every store, provider and frontend was created. Main thread only.
	 *  Required. */
	enum bc_status (*start)(void *instance, struct bc_error *err);

	/** Stop accepting new work and wait up to timeout_ms for requests in
	 *  flight to finish; after it returns no call() is in flight. Main thread
	 *  only. Required. */
	void (*drain)(void *instance, int64_t timeout_ms);

	/** Free the instance. Main thread only; drain() ran first when start()
	 *  had succeeded. Required. */
	void (*destroy)(void *instance);

	/* ---- since ABI 1.1 ---- */

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

#endif /* BROADCAST_FRONTEND_H */
