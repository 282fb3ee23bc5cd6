/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/embed.h: libbroadcast's API for programs that embed the
 * framework instead of running broadcastd, the way a Django app called
 * django-broadcast's start_hls_stream() and then
 * prepare_start_hls_stream_response().
 *
 * A program opens a context from a YAML configuration (the same file
 * broadcastd reads; `frontends` may be empty), then starts and stops streams
 * through the same dispatcher every frontend uses, and gets the standard JSON
 * response to send to its own client. Link with `pkg-config --libs
 * broadcast` (-lbroadcast). These functions are the only symbols
 * libbroadcast.so exports.
 *
 * Thread-safety: after bc_context_open() returns, bc_context_call(),
 * bc_stream_start() and bc_stream_stop() may be called from any number of
 * threads at once. bc_context_serve(), bc_context_reload(),
 * bc_context_drain() and bc_context_close() must be called from one thread
 * (the one that opened the context), never from inside a call.
 *
 * One context per process: the log level and the secrets the log redacts
 * are process-wide, so while a context is open, opening another one fails
 * with BC_E_CONFLICT (and a message saying so) instead of overwriting them.
 * Once bc_context_close() has returned, a new one may be opened. Several
 * configurations need several processes.
 *
 * Since ABI 1.0.
 */
#ifndef BROADCAST_EMBED_H
#define BROADCAST_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include <broadcast/frontend.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bc_context;

/**
 * Open a context: read the YAML file at `path`, load plugins, validate every
 * option, create the store, providers and frontends (frontends bind their
 * listeners but do not serve until bc_context_serve()).
 *
 * path: borrowed. out: receives the context, to free with bc_context_close().
 * errbuf/errlen: on failure, a message "FILE:LINE:COLUMN: what; the fix"
 * (errbuf may be NULL).
 * Returns BC_OK, BC_E_INVALID (configuration), BC_E_UNAVAILABLE (a store or
 * listener could not be opened), BC_E_CONFLICT (another context is open in
 * this process: one context per process, see above) or BC_E_NOMEM. Nothing
 * is left open on failure.
 * Since ABI 1.0.
 */
enum bc_status bc_context_open(const char *path, struct bc_context **out, char *errbuf,
                               size_t errlen);

/**
 * The same from YAML text in memory; `name` stands for the file name in
 * messages. text need not be NUL-terminated. The same one context per
 * process (BC_E_CONFLICT). Since ABI 1.0.
 */
enum bc_status bc_context_open_string(const char *name, const char *text, size_t len,
                                      struct bc_context **out, char *errbuf, size_t errlen);

/**
 * Start every frontend's listener (their own threads serve requests).
 * Returns BC_OK or the first frontend's failure, described in errbuf.
 * Opening thread only. Since ABI 1.0.
 */
enum bc_status bc_context_serve(struct bc_context *ctx, char *errbuf, size_t errlen);

/**
 * Re-read the configuration file and switch to it: instances whose options
 * did not change keep running; new ones are created (and served when
 * bc_context_serve() ran); removed ones are drained and freed once requests
 * that began before the switch have finished; the log then redacts the
 * secrets of the new configuration only. A bad new configuration is
 * refused with its error in errbuf and the old one stays in force.
 * Opening thread only; never from inside a call. Since ABI 1.0.
 */
enum bc_status bc_context_reload(struct bc_context *ctx, char *errbuf, size_t errlen);

/**
 * Stop accepting requests on every frontend and wait up to timeout_ms for
 * those in flight. Opening thread only. Since ABI 1.0.
 */
void bc_context_drain(struct bc_context *ctx, int64_t timeout_ms);

/**
 * Drain (if not yet done) and free everything of the context. NULL is a
 * no-op. Opening thread only. Since ABI 1.0.
 */
void bc_context_close(struct bc_context *ctx);

/**
 * Run one API operation as a trusted local caller: no token or rate limit
 * applies; `request->caller` (may be NULL: "anonymous") is the owner of
 * streams it starts, and it may use any stream. Fills `response` (set its
 * struct_size first); free it with bc_response_release(). Any thread.
 * Since ABI 1.0.
 */
void bc_context_call(struct bc_context *ctx, const struct bc_request *request,
                     struct bc_response *response);

/**
 * Start a stream, like django-broadcast's start_hls_stream() followed by
 * prepare_start_hls_stream_response(): `type` (NULL: "hls"), `name` (NULL or
 * ""), `owner` (NULL: "anonymous"), all borrowed. response receives the
 * standard JSON body and HTTP status, success or not; free it with
 * bc_response_release(). Returns the status behind it (BC_OK on success).
 * Any thread. Since ABI 1.0.
 */
enum bc_status bc_stream_start(struct bc_context *ctx, const char *type, const char *name,
                               const char *owner, struct bc_response *response);

/**
 * Stop the stream `id` (borrowed), finishing its endpoint at the provider;
 * response as for bc_stream_start() (409 with the stored record when it was
 * already stopped). Any thread. Since ABI 1.0.
 */
enum bc_status bc_stream_stop(struct bc_context *ctx, const char *id, const char *owner,
                              struct bc_response *response);

/**
 * Free what a call put into `response` and zero it (keeping struct_size).
 * NULL is a no-op. Since ABI 1.0.
 */
void bc_response_release(struct bc_response *response);

/**
 * One field of a started stream's endpoint, e.g. section "S3", name
 * "aws_secret_access_key". Every string is borrowed from the struct
 * bc_started it came from, valid until bc_stream_started_release().
 * Since ABI 1.1.
 */
struct bc_started_field {
	size_t struct_size;  /**< sizeof(struct bc_started_field) as the library built it */
	const char *section; /**< the endpoint object's key: "S3", "RTMP", "HTTP", ... */
	const char *name;    /**< the field's key in that object */
	/** The value as text: a string as is, a number as the JSON has it
	 *  ("3600.0", "42"), "true"/"false", "null", an array or object (a
	 *  provider's ep_json() field) as compact JSON text. */
	const char *value;
	/** 1 when the provider marked the field BC_EP_SECRET (a credential for
	 *  the publisher: never log it), else 0. */
	int is_secret;
};

/**
 * The typed result of bc_stream_start_typed(): what the JSON response holds,
 * without parsing it. The caller zeroes it and sets struct_size; strings
 * and `fields` are owned by the library and valid until
 * bc_stream_started_release(). Since ABI 1.1.
 */
struct bc_started {
	size_t struct_size;     /**< set by the caller: sizeof(struct bc_started) */
	const char *id;         /**< the stream's id (a UUID) */
	const char *name;       /**< its name ("" when none was given) */
	const char *start_date; /**< "YYYY-MM-DD HH:MM:SS", UTC, as in the JSON */
	int64_t start_ms;       /**< start_date in ms since the epoch (whole seconds) */
	size_t n_fields;        /**< number of endpoint fields */
	/** The endpoint's fields, section by section in the JSON's order: an
	 *  array of n_fields (NULL when there are none). */
	const struct bc_started_field *fields;
	void *host_private;     /**< the library's; do not touch */
};

/**
 * bc_stream_start() with the result typed: on BC_OK, `started` (struct_size
 * set by the caller) receives the stream's id, name, start date and endpoint
 * fields; free it with bc_stream_started_release(). `response` (may be NULL)
 * receives the same JSON body as bc_stream_start(), success or not, so the
 * program can still forward it; free it with bc_response_release(). On
 * failure `started` is left zeroed (but for struct_size) and the status is
 * returned: what bc_stream_start() returns, BC_E_INVALID when
 * started->struct_size is too small, or BC_E_NOMEM (then the stream may
 * have started: `response` holds its JSON). Any thread.
 * Since ABI 1.1.
 */
enum bc_status bc_stream_start_typed(struct bc_context *ctx, const char *type, const char *name,
                                     const char *owner, struct bc_started *started,
                                     struct bc_response *response);

/**
 * Free what bc_stream_start_typed() put into `started` and zero it (keeping
 * struct_size). NULL and an already released or zeroed struct are no-ops.
 * Since ABI 1.1.
 */
void bc_stream_started_release(struct bc_started *started);

#ifdef __cplusplus
}
#endif

#endif /* BROADCAST_EMBED_H */
