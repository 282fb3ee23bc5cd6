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
 * Since ABI 1.1 a store also keeps each live stream's media state and an
 * outbox of events (the transactional-outbox pattern): every change of a
 * record that an application would want to hear of (started, publishing,
 * idle, stopped) is written together with its event in one transaction, so
 * a crash can neither lose an event nor invent one. The ops that do so are
 * appended to struct bc_store_ops; a store built against 1.0 lacks them and
 * the host then keeps media state and events in memory only (docs/events.md).
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
 * A live stream's media state. Frozen. Since ABI 1.1.
 */
enum bc_media_state {
	BC_MEDIA_IDLE = 1,      /**< no media arrives (the state right after start) */
	BC_MEDIA_PUBLISHING = 2 /**< media arrives */
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
	/* ---- since ABI 1.1: a 1.0 store leaves these zero ---- */
	enum bc_media_state media;  /**< the media state: BC_MEDIA_IDLE from commit on,
	                                 kept as it was at stop; 0 from a store that
	                                 keeps none. Since ABI 1.1. */
	int64_t publish_ms;         /**< when publishing last began, ms since the epoch;
	                                 0 if never. Since ABI 1.1. */
	int64_t media_ms;           /**< when the media state last changed (start_ms
	                                 until it first does): the idle timer counts
	                                 from it. Since ABI 1.1. */
	const char *stop_reason;    /**< why it stopped: "api", "idle_timeout",
	                                 "max_duration" or "provider"; "" while not
	                                 stopped or when not known. Since ABI 1.1. */
	uint64_t event_seq;         /**< the sequence number of the stream's last event
	                                 (1 for stream.started, then 2, 3, ... without
	                                 gaps); 0 when it has none. Since ABI 1.1. */
};

/**
 * One event of the feed: a change of one stream record. The host makes the
 * event that a store op writes (stream_id, type, time_ms, owner, data; the
 * store ignores cursor and seq there and assigns them); a store hands the
 * events it reads back to event_put() whole. Every pointer is borrowed for
 * the call. Since ABI 1.1.
 */
struct bc_event {
	size_t struct_size;     /**< sizeof as its producer compiled it */
	uint64_t cursor;        /**< the event's position in the whole feed, assigned by
	                             the store when it writes the event: greater than
	                             every cursor written before, on every host, and
	                             never visible before a smaller one (a reader that
	                             has seen C never later finds a new event <= C) */
	const char *stream_id;  /**< the record the event is about */
	uint64_t seq;           /**< the record's event_seq after this event, assigned by
	                             the store in the same transaction: 1, 2, 3, ... */
	const char *type;       /**< "stream.started", "stream.publishing", "stream.idle",
	                             "stream.stopped" */
	int64_t time_ms;        /**< when the change happened, ms since the epoch */
	const char *owner;      /**< the record's owner, kept for filtering by caller */
	const char *data;       /**< a JSON object as text, made by the host (the record
	                             as it is after the change, a reason, a detail);
	                             opaque to the store, kept as is */
};

/**
 * What events() returns: events in cursor order, strictly after `after`.
 * Since ABI 1.1.
 */
struct bc_event_query {
	size_t struct_size;     /**< sizeof as the host compiled it */
	uint64_t after;         /**< only events with a greater cursor; 0: from the oldest kept */
	unsigned limit;         /**< at most this many, 1..1000 */
	const char *owner;      /**< only events of this owner's streams, or NULL for all */
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
	enum bc_media_state media;  /**< only LIVE records in this media state, or 0 for
	                                 any; a 1.0 store ignores it and the host filters
	                                 what it returns. Since ABI 1.1. */
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

	/* ---- since ABI 1.1: each may be NULL only when all of them are (a store
	 * without media state and events); the host then uses commit() and
	 * stop() and keeps media state and events in memory. Each op that takes
	 * an event writes it, with the next event_seq of the record and a new
	 * cursor, in the same transaction as the change, and only when it makes
	 * the change. Durable on return, like commit() and stop(). ---- */

	/** commit(), and set media BC_MEDIA_IDLE, media_ms = the record's
	 *  start_ms and event_seq = 1 with `event` (stream.started), atomically.
	 *  BC_E_NOT_FOUND as commit(). Since ABI 1.1. */
	enum bc_status (*commit_event)(void *instance, const char *id, const char *meta,
	                               const struct bc_event *event, struct bc_error *err);

	/** stop(), and keep `reason` as stop_reason, with `event`
	 *  (stream.stopped), atomically: only the call that gets BC_OK writes
	 *  them; a BC_E_CONFLICT or BC_E_NOT_FOUND one writes nothing. Since
	 *  ABI 1.1. */
	enum bc_status (*stop_event)(void *instance, const char *id, int64_t stop_ms,
	                             const char *reason, const struct bc_event *event,
	                             struct bc_record_sink *out, struct bc_error *err);

	/** Set the media state of the LIVE record `id` to `media` at `at_ms`
	 *  (media_ms = at_ms; publish_ms = at_ms too when `media` is
	 *  BC_MEDIA_PUBLISHING) with `event` (stream.publishing or stream.idle),
	 *  atomically, and put the updated record into `out`. BC_E_CONFLICT,
	 *  writing nothing and putting nothing, when the record is STOPPED or
	 *  already in that state; BC_E_NOT_FOUND when there is no LIVE or
	 *  STOPPED record (a PENDING one is not visible, as for stop()). Since
	 *  ABI 1.1. */
	enum bc_status (*media)(void *instance, const char *id, enum bc_media_state media,
	                        int64_t at_ms, const struct bc_event *event,
	                        struct bc_record_sink *out, struct bc_error *err);

	/** Put the events `query` selects into `out`, in cursor order. Since
	 *  ABI 1.1. */
	enum bc_status (*events)(void *instance, const struct bc_event_query *query,
	                         struct bc_event_sink *out, struct bc_error *err);

	/** Delete events written before `before_ms`, and the oldest ones beyond
	 *  the newest `keep` (0: no count bound); put how many went into
	 *  *deleted. Cursors are never reused. Since ABI 1.1. */
	enum bc_status (*events_prune)(void *instance, int64_t before_ms, uint64_t keep,
	                               uint64_t *deleted, struct bc_error *err);

	/**
	 * Validate an instance's options without side effects: every check
	 * that needs neither the network nor a port nor a write (option
	 * combinations, values, a connection string's syntax, files an option names being readable and
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

	/* ---- since ABI 1.1: delivery cursors (docs/webhooks.md). Both may be
	 * NULL only when both are, and they may be set only when the event ops
	 * above are (the loader refuses anything else). A delivery cursor is a
	 * named position in the feed that the host's webhook workers keep: the
	 * cursor of the last event a webhook receiver acknowledged (or that was
	 * given up), and a lease saying which host delivers for it now, so that
	 * of several hosts sharing the store one at a time delivers each event.
	 * Without them the host keeps the cursors in memory, on one host
	 * (undelivered events are then not delivered after a restart). Called
	 * from the host's webhook threads (serialised per instance unless the
	 * plugin is BC_PLUGIN_THREAD_SAFE, like every op); each call is durable
	 * on return. Besides the results below, both return BC_E_INVALID
	 * ("store.bad_cursor") for a NULL string or pointer or a negative
	 * lease, and BC_E_UNAVAILABLE / BC_E_TIMEOUT like every op when the
	 * database cannot be reached. ---- */

	/**
	 * Claim, or renew a claim on, the delivery cursor `name` for `holder`,
	 * atomically (a compare-and-set of the lease):
	 *  - when no cursor `name` exists, create it at `initial_cursor` (at most
	 *    INT64_MAX) or, when `initial_cursor` is BC_CURSOR_HEAD, at the
	 *    greatest cursor handed out so far (also when that event was
	 *    pruned since; 0 if none): the head of the feed, so that a new
	 *    cursor delivers only events written after it. Every cursor up to
	 *    that head must be visible to events() already (the feed's
	 *    ordering rule). The new cursor is held by `holder`;
	 *  - when it exists and is held by `holder`, or its lease has expired
	 *    (lease_until <= `now_ms`), make `holder` its holder;
	 *  - in both cases set its lease to end at `now_ms` + `lease_ms`, put
	 *    its position into *cursor and return BC_OK;
	 *  - when another holder's lease is live (lease_until > `now_ms`),
	 *    change nothing and return BC_E_CONFLICT ("store.cursor_held"),
	 *    *cursor untouched.
	 * Of any number of concurrent claims of one name by distinct holders, on
	 * any number of hosts, at most one gets BC_OK while a lease is live. A
	 * holder gives its claim up by claiming with `lease_ms` 0 (the lease then
	 * ends at once). `name` (1..128 bytes) and `holder` (1..128 bytes,
	 * unique per host process, chosen by the host) are borrowed for the
	 * call; `now_ms` is the host's clock (hosts sharing a store should keep
	 * their clocks within a fraction of a lease of each other); `lease_ms`
	 * >= 0; `cursor` is not NULL. Since ABI 1.1.
	 */
	enum bc_status (*cursor_claim)(void *instance, const char *name, const char *holder,
	                               uint64_t initial_cursor, int64_t now_ms, int64_t lease_ms,
	                               uint64_t *cursor, struct bc_error *err);

	/**
	 * Move the delivery cursor `name` forward to `cursor` (at most
	 * INT64_MAX), only while
	 * `holder` is its holder (as the last successful cursor_claim() made
	 * it; an expired lease nobody else claimed still counts): BC_OK, also
	 * when the stored position is already at or past `cursor` (it never
	 * moves back). BC_E_CONFLICT ("store.cursor_held") when another holder
	 * claimed it since, BC_E_NOT_FOUND when no cursor `name` exists; both
	 * change nothing. The lease is left as it is. Strings borrowed for the
	 * call. Since ABI 1.1.
	 */
	enum bc_status (*cursor_advance)(void *instance, const char *name, const char *holder,
	                                 uint64_t cursor, struct bc_error *err);
};

/**
 * cursor_claim()'s `initial_cursor` meaning "the head of the feed" (the
 * greatest cursor handed out so far). Since ABI 1.1.
 */
#define BC_CURSOR_HEAD UINT64_MAX

#ifdef __cplusplus
}
#endif

#endif /* BROADCAST_STORE_H */
