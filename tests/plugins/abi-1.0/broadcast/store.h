/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/store.h: the operations of a store plugin.
 *
 * A store keeps stream records (django-broadcast's STREAM_MODEL): SQLite on
 * one node, PostgreSQL for several. The host drives a start as
 * reserve() -> provider start -> commit(), or abort() when the provider
 * fails, so a failed start leaves nothing; a stop is a conditional update
 * that exactly one caller wins. Records travel as sized structs of borrowed
 * strings: in as arguments, out through the host's record_put() sink.
 *
 * Since ABI 1.0.
 */
#ifndef BROADCAST_STORE_H
#define BROADCAST_STORE_H

#include <broadcast/host.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A stream record's state. Frozen. Since ABI 1.0. */
enum bc_stream_state {
	BC_STATE_PENDING = 1, /**< reserved, the provider is minting; not yet visible */
	BC_STATE_LIVE = 2,    /**< started and acknowledged */
	BC_STATE_STOPPED = 3  /**< stopped; stop_ms is set */
};

/**
 * One stream record. When the host passes it to a store, every pointer is
 * borrowed for the call; when a store passes it to record_put(), the host
 * copies it before returning. Strings are never NULL (use ""). Since ABI 1.0.
 */
struct bc_record {
	size_t struct_size;         /**< sizeof as its producer compiled it */
	const char *id;             /**< UUIDv4, lowercase, 36 characters: the key */
	const char *name;           /**< the caller's name for the stream, may be "" */
	const char *type;           /**< stream type, e.g. "hls" */
	const char *provider;       /**< name of the provider instance that minted it */
	const char *owner;          /**< the caller that started it */
	enum bc_stream_state state; /**< see enum bc_stream_state */
	int64_t start_ms;           /**< ms since the epoch */
	int64_t stop_ms;            /**< ms since the epoch, 0 while not stopped */
	const char *meta;           /**< a JSON object as text, made by the host from the
	                                 provider's meta_set() calls; opaque to the store,
	                                 kept as is; "{}" when empty */
};

/**
 * What list() returns: records ordered newest first by (start_ms, id), both
 * descending, optionally filtered, starting strictly after a keyset cursor.
 * Every pointer is borrowed for the call. Since ABI 1.0.
 */
struct bc_list_query {
	size_t struct_size;         /**< sizeof as the host compiled it */
	const char *owner;          /**< only this owner's records, or NULL for all */
	enum bc_stream_state state; /**< only this state, or 0 for LIVE and STOPPED
	                                 (PENDING records are listed only when asked) */
	unsigned limit;             /**< at most this many rows, 1..1000 */
	int64_t after_start_ms;     /**< keyset cursor: with after_id, rows strictly */
	const char *after_id;       /**< after (after_start_ms, after_id); NULL: from the top */
};

/**
 * A store's operations. `ops` of a BC_KIND_STORE descriptor points to one,
 * static in the plugin. Calls into one instance are serialised unless the
 * descriptor has BC_PLUGIN_THREAD_SAFE. Every call returns BC_OK or a
 * failure described with api->fail(); BC_E_UNAVAILABLE ("store.unavailable")
 * and BC_E_TIMEOUT are the ones to use when the database cannot be reached,
 * is locked, or is full. Since ABI 1.0.
 */
struct bc_store_ops {
	size_t struct_size; /**< sizeof(struct bc_store_ops) as the plugin compiled it */

	/** Open the store: connect, create or migrate the schema. Main thread
	 *  only. Arguments as for bc_provider_ops.create(). On failure the host
	 *  does not call destroy(). Required. */
	enum bc_status (*create)(const struct bc_host_api *api, struct bc_host *host,
	                         const struct bc_config *cfg, void **instance,
	                         struct bc_error *err);

	/** Insert `record` in state PENDING. BC_E_CONFLICT when the id exists.
	 *  Need not be durable on return. Required. */
	enum bc_status (*reserve)(void *instance, const struct bc_record *record,
	                          struct bc_error *err);

	/** Turn the PENDING record `id` LIVE and keep `meta` with it. Durable on
	 *  return: the host acknowledges the start right after. BC_E_NOT_FOUND
	 *  when no PENDING record has that id. Required. */
	enum bc_status (*commit)(void *instance, const char *id, const char *meta,
	                         struct bc_error *err);

	/** Delete the PENDING record `id`; BC_OK when there is none (idempotent).
	 *  Never deletes a LIVE or STOPPED record. Required. */
	enum bc_status (*abort)(void *instance, const char *id, struct bc_error *err);

	/** Put the record `id` (any state) into `out`, or return
	 *  BC_E_NOT_FOUND. Required. */
	enum bc_status (*get)(void *instance, const char *id, struct bc_record_sink *out,
	                      struct bc_error *err);

	/** Atomically turn the LIVE record `id` STOPPED with stop_ms, and put the
	 *  updated record into `out`. When it is already STOPPED, put the stored
	 *  record into `out` and return BC_E_CONFLICT; when there is no LIVE or
	 *  STOPPED record, BC_E_NOT_FOUND. Of any number of concurrent stops of one
	 *  stream, on any number of hosts, exactly one gets BC_OK. Durable on
	 *  return. Required. */
	enum bc_status (*stop)(void *instance, const char *id, int64_t stop_ms,
	                       struct bc_record_sink *out, struct bc_error *err);

	/** Put the records `query` selects into `out`, in its order. Required. */
	enum bc_status (*list)(void *instance, const struct bc_list_query *query,
	                       struct bc_record_sink *out, struct bc_error *err);

	/** Report whether the store can take writes now. May be NULL. */
	enum bc_status (*health)(void *instance, struct bc_error *err);

	/** Close the store. Main thread only; no call is in flight. Required. */
	void (*destroy)(void *instance);
};

#ifdef __cplusplus
}
#endif

#endif /* BROADCAST_STORE_H */
