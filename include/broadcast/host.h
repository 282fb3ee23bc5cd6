/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/host.h: what the host lends every plugin instance.
 *
 * The host passes a const struct bc_host_api table and an opaque
 * struct bc_host handle to each kind's create(). The table is the only way a
 * plugin reaches the host: configuration is read through getters on an opaque
 * view, results are written through builders, and the host encodes all JSON,
 * so no third-party type ever crosses this boundary.
 *
 * Ownership: every `const char *` the host hands a plugin is borrowed; it
 * stays valid as documented per getter (the config view for the instance's
 * life, everything else for the call). Every string a plugin passes to the
 * host is copied before the host function returns.
 *
 * Threads: every function in the table may be called from any thread at any
 * time between the instance's create() and the return of its destroy(),
 * unless its comment says otherwise. The exceptions: the endpoint builder
 * (ep_*, meta_set) and the sinks (record_put, event_put) belong to the call
 * that received their builder or sink, on that call's thread, and only
 * until it returns; one struct bc_error is used by one thread at a time.
 *
 * Since ABI 1.0.
 */
#ifndef BROADCAST_HOST_H
#define BROADCAST_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <broadcast/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BC_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define BC_PRINTF(fmt_index, first_arg)
#endif

/** One instance's handle in the host: for log(), metrics and call(). Opaque. */
struct bc_host;
/** A read-only view of one instance's validated YAML options. Opaque. */
struct bc_config;
/** Where a failing call describes its failure, through fail(). Opaque. */
struct bc_error;
/** The builder a provider's start() writes its endpoint into. Opaque. */
struct bc_endpoint;
/** The builder a store's get()/stop()/list() writes records into. Opaque. */
struct bc_record_sink;
/** The builder a store's events() writes events into. Opaque. Since ABI 1.1. */
struct bc_event_sink;

struct bc_stream_info; /* provider.h */
struct bc_record;      /* store.h */
struct bc_event;       /* store.h, since ABI 1.1 */
struct bc_request;     /* frontend.h */
struct bc_response;    /* frontend.h */

/** Log levels, most severe first. Frozen. Since ABI 1.0. */
enum bc_log_level {
	BC_LOG_ERROR = 1, /**< an operation failed and someone must act */
	BC_LOG_WARN = 2,  /**< degraded but continuing */
	BC_LOG_INFO = 3,  /**< lifecycle events, one line each */
	BC_LOG_DEBUG = 4  /**< detail per request */
};

/**
 * What a provider observed about the media of one of its live streams, for
 * media_report(). Frozen. Since ABI 1.1.
 */
enum bc_media_fact {
	BC_MEDIA_FACT_PUBLISHING = 1, /**< media began arriving, or arrives again */
	BC_MEDIA_FACT_IDLE = 2,       /**< no media came for the provider's own idle
	                                   time; the publisher may still be there */
	BC_MEDIA_FACT_GONE = 3        /**< the publisher disconnected or ended */
};

/** Flags for the endpoint builder's ep_* functions. Since ABI 1.0. */
#define BC_EP_SECRET 0x1u /**< a credential: sent to the caller, never logged or stored */

/**
 * The host's function table. It is const, owned by the host, and valid from
 * the create() that received it until that instance's destroy() returns.
 * Since ABI 1.0 unless a member says otherwise.
 */
struct bc_host_api {
	/** sizeof(struct bc_host_api) as the host compiled it: use BC_HAS_MEMBER()
	 *  before calling a member added after the minor the plugin requires. */
	size_t struct_size;
	/** The host's ABI major version (equal to the plugin's, or it would not load). */
	unsigned abi_major;
	/** The host's ABI minor version (at least the plugin's abi_minor). */
	unsigned abi_minor;

	/* ---- configuration view (read-only) --------------------------------
	 * `key` is an option name the plugin declared (dotted for nested maps).
	 * Values were validated against the declaration before create(), and
	 * defaults were applied. Returned strings are borrowed and valid until the
	 * instance's destroy() returns. Reading an undeclared key is a plugin bug:
	 * the getter returns NULL/0 and the host logs it at error level. */

	/** The string value of a STRING or ENUM option (a LIST yields its first
	 *  item); NULL when the option is unset and has no default. */
	const char *(*cfg_str)(const struct bc_config *cfg, const char *key);
	/** An INT option's value, a DURATION in milliseconds or a SIZE in bytes;
	 *  0 when unset with no default. */
	int64_t (*cfg_int)(const struct bc_config *cfg, const char *key);
	/** A BOOL option: 1 or 0 (0 when unset with no default). */
	int (*cfg_bool)(const struct bc_config *cfg, const char *key);
	/** 1 when the YAML set the option or it has a default, else 0. */
	int (*cfg_is_set)(const struct bc_config *cfg, const char *key);
	/** The number of items of a LIST option (0 when unset). */
	size_t (*cfg_list_len)(const struct bc_config *cfg, const char *key);
	/** Item `index` of a LIST option, or NULL when index >= cfg_list_len(). */
	const char *(*cfg_list_at)(const struct bc_config *cfg, const char *key, size_t index);

	/* ---- identity and logging ------------------------------------------- */

	/** The instance's name from the YAML (`name:`, by default its `type`).
	 *  Borrowed; valid until destroy() returns. */
	const char *(*instance_name)(const struct bc_host *host);
	/** Write one log line. The host prefixes the time, level and instance name,
	 *  and replaces every configured secret value (options marked
	 *  BC_OPT_SECRET, bearer tokens) with "[redacted]". Still: never pass a
	 *  credential; log fingerprint() of it. Lines over 4 KiB are cut. */
	void (*log)(struct bc_host *host, enum bc_log_level level, const char *fmt, ...)
		BC_PRINTF(3, 4);
	/** 1 when a line at `level` would be written, so a plugin can skip
	 *  building expensive debug text. */
	int (*log_enabled)(const struct bc_host *host, enum bc_log_level level);

	/* ---- errors ---------------------------------------------------------- */

	/** Describe a failure and return `status`, so a plugin writes
	 *  `return api->fail(err, BC_E_UPSTREAM, "s3.sts_error", "STS said %s", m);`.
	 *  `code` is a stable dotted machine code (lower case, "plugin.what"); the
	 *  message is for people and should say what to do. A second fail() on the
	 *  same err replaces the first. err may be NULL (then nothing is kept). */
	enum bc_status (*fail)(struct bc_error *err, enum bc_status status, const char *code,
	                       const char *fmt, ...) BC_PRINTF(4, 5);

	/* ---- utilities --------------------------------------------------------- */

	/** Fill buf with len bytes from the system CSPRNG (the kernel's, getrandom(2)).
	 *  Returns BC_OK or BC_E_INTERNAL when the generator failed. */
	enum bc_status (*random)(void *buf, size_t len);
	/** Wall-clock time, milliseconds since 1970-01-01T00:00:00Z. */
	int64_t (*now_ms)(void);
	/** A monotonic clock in milliseconds, for timeouts and intervals. */
	int64_t (*monotonic_ms)(void);
	/** Compare a and b in time that depends only on their lengths. Returns 1
	 *  when equal. For tokens and signatures. */
	int (*secure_equal)(const void *a, size_t a_len, const void *b, size_t b_len);
	/** Write the lowercase hex SHA-256 of data into out (65 bytes with NUL). */
	void (*sha256_hex)(const void *data, size_t len, char out[65]);
	/** Write a short, stable fingerprint of a secret into out (17 bytes with
	 *  NUL: the first 8 bytes of its SHA-256 in hex), for log lines. */
	void (*fingerprint)(const char *secret, char out[17]);

	/* ---- metrics (Prometheus text exposition, served by frontends) ----------
	 * `name` is [a-z_][a-z0-9_]*; the host prefixes "broadcast_" and adds an
	 * `instance` label. `labels` is NULL or extra labels in exposition form,
	 * e.g. `code="s3.sts_timeout"`; keep their cardinality small. */

	/** Add delta to a counter, creating it at 0 first. */
	void (*counter_add)(struct bc_host *host, const char *name, const char *labels,
	                    uint64_t delta);
	/** Set a gauge. */
	void (*gauge_set)(struct bc_host *host, const char *name, const char *labels,
	                  double value);

	/* ---- endpoint builder: providers' start() only --------------------------
	 * A provider writes the objects it returns under the response's
	 * "endpoint" key: `section` is that object's key ("S3", "RTMP", "HTTP"),
	 * created on first use; fields keep the order they were added in. Adding
	 * a field twice replaces it. Call only during start(), on its `out`. */

	/** A string field. flags BC_EP_SECRET marks a credential. Returns BC_OK,
	 *  BC_E_INVALID (bad names) or BC_E_NOMEM. */
	enum bc_status (*ep_str)(struct bc_endpoint *ep, const char *section, const char *field,
	                         const char *value, unsigned flags);
	/** A number field, encoded as a JSON real (3600 is written 3600.0). */
	enum bc_status (*ep_real)(struct bc_endpoint *ep, const char *section,
	                          const char *field, double value);
	/** An integer field. */
	enum bc_status (*ep_int)(struct bc_endpoint *ep, const char *section,
	                         const char *field, int64_t value);
	/** A boolean field (value 0 or 1). */
	enum bc_status (*ep_bool)(struct bc_endpoint *ep, const char *section,
	                          const char *field, int value);
	/** Keep a string with the stream's record, for stop(): a token's hash, an
	 *  upstream id. Never a secret: the store writes it to disk. Keys are
	 *  [a-z0-9_.]{1,64}; values at most 4 KiB. */
	enum bc_status (*meta_set)(struct bc_endpoint *ep, const char *key, const char *value);
	/** Read back a value meta_set() kept for this stream, or NULL. Borrowed for
	 *  the duration of the call that received `stream`. */
	const char *(*meta_get)(const struct bc_stream_info *stream, const char *key);

	/* ---- record sink: stores only --------------------------------------------- */

	/** Hand one record to the host, which copies it. Stores call it from
	 *  get()/stop() once and from list() once per row, in order, on the
	 *  thread of that call and before it returns (the sink is the call's). */
	enum bc_status (*record_put)(struct bc_record_sink *sink, const struct bc_record *record);

	/* ---- API calls: frontends only ------------------------------------------------ */

	/** Run one API operation through the dispatcher and fill `response`.
	 *  Authentication, authorization, rate limits, validation and error bodies
	 *  are all decided here, so every frontend behaves alike. Any thread; never
	 *  fails (errors are responses). Release the response with
	 *  response_release(). */
	void (*call)(struct bc_host *host, const struct bc_request *request,
	             struct bc_response *response);
	/** Free what call() put into `response` and zero it. NULL is a no-op. */
	void (*response_release)(struct bc_response *response);

	/* ---- since ABI 1.1 ----------------------------------------------------------
	 * A plugin that declares BC_PLUGIN_MIN_MINOR 0 checks each of these with
	 * BC_HAS_MEMBER(api, struct bc_host_api, member) before calling it. */

	/** log() with a va_list, for a plugin's own printf-like wrappers. Since
	 *  ABI 1.1. */
	void (*log_v)(struct bc_host *host, enum bc_log_level level, const char *fmt, va_list ap)
		BC_PRINTF(3, 0);
	/** fail() with a va_list. Since ABI 1.1. */
	enum bc_status (*fail_v)(struct bc_error *err, enum bc_status status, const char *code,
	                         const char *fmt, va_list ap) BC_PRINTF(4, 0);
	/**
	 * Report a media fact about the live stream `stream_id` that this provider
	 * instance minted: publishing began (or resumed), no media for a while,
	 * the publisher is gone. `detail` is a short text for people (the
	 * publisher's address, bytes so far; never a secret) or NULL; at most 200
	 * bytes are kept. Providers only; any thread; never blocks on I/O: the
	 * host queues the fact and applies it in order (the stream's media state,
	 * its idle timer, an event), ignoring facts about streams that are not
	 * live or not this instance's, and a fact that repeats the state.
	 * Returns BC_OK when queued, BC_E_INVALID for a malformed id or fact,
	 * BC_E_UNAVAILABLE when the queue is full (the fact is dropped: report
	 * the next change as usual). Since ABI 1.1.
	 */
	enum bc_status (*media_report)(struct bc_host *host, const char *stream_id,
	                               enum bc_media_fact fact, const char *detail);
	/** Hand one event to the host, which copies it. Stores call it from
	 *  events() once per event, in cursor order, on the thread of that call
	 *  and before it returns. Since ABI 1.1. */
	enum bc_status (*event_put)(struct bc_event_sink *sink, const struct bc_event *event);

	/**
	 * An endpoint field whose value is a JSON array or object, given as
	 * JSON text (at most 16 KiB, nested at most 8 deep), such as WebRTC's
	 * `ice_servers`: `[{"urls":"stun:stun.example.com:3478"}]`. The host
	 * parses it and writes it into the response as JSON, not as a string.
	 * flags as for ep_str(): BC_EP_SECRET marks a credential (a TURN
	 * server's password). Providers' start() only, like ep_str(). Returns
	 * BC_OK, BC_E_INVALID (bad names, or text that is not such JSON, or
	 * too long or deep) or BC_E_NOMEM. Since ABI 1.1.
	 */
	enum bc_status (*ep_json)(struct bc_endpoint *ep, const char *section, const char *field,
	                          const char *json, unsigned flags);
};

#ifdef __cplusplus
}
#endif

#endif /* BROADCAST_HOST_H */
