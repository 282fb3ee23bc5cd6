/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bc_runtime.h: the running daemon's internal interfaces, on top of
 * bc_internal.h: the host function table (host.c), endpoint building
 * (host.c), metrics (metrics.c), the dispatcher (dispatch.c), response
 * rendering (render.c) and the configuration generations of a context
 * (context.c). Nothing here is installed.
 */
#ifndef BC_RUNTIME_H
#define BC_RUNTIME_H

#include <jansson.h>
#include <pthread.h>

#include "bc_internal.h"
#include <broadcast/embed.h>

/* ---- instance.c (beyond bc_internal.h) ------------------------------- */
void bc_instance_ref(struct bc_instance *inst);
struct bc_instance *bc_host_instance(const struct bc_host *host);
struct bc_context *bc_instance_context(const struct bc_instance *inst);
int bc_instance_started(const struct bc_instance *inst);
void bc_instance_set_started(struct bc_instance *inst, int started);
/* Providers: whether the instance serves stream type `type`, and its list. */
int bc_instance_serves_type(const struct bc_instance *inst, const char *type);
size_t bc_instance_type_count(const struct bc_instance *inst);
const char *bc_instance_type_at(const struct bc_instance *inst, size_t i);

/* ---- host.c ------------------------------------------------------------ */
extern const struct bc_host_api bc_host_api_table;

/* What a provider's start() builds: the "endpoint" object and the meta kept
 * with the record. */
struct bc_endpoint {
	json_t *sections; /* {"S3": {...}, ...} in insertion order */
	json_t *meta;     /* {"key": "value"} */
};
int bc_endpoint_init(struct bc_endpoint *ep);
void bc_endpoint_free(struct bc_endpoint *ep);
/* host.c: between these two calls, the provider start() run on this thread
 * records each field it adds with BC_EP_SECRET; end returns the
 * [["section", "field"], ...] array (caller decrefs; NULL when out of
 * memory). For bc_stream_start_typed(). */
void bc_ep_capture_begin(void);
json_t *bc_ep_capture_end(void);

/* Parse "N/s", "N/m", "N/h" into requests per second. */
int bc_parse_rate(const char *text, double *per_second);

/* ---- metrics.c ----------------------------------------------------------- */
struct bc_metrics;
struct bc_metrics *bc_metrics_create(void);
void bc_metrics_free(struct bc_metrics *m);
/* name without the "broadcast_" prefix; instance may be NULL; labels NULL or
 * exposition text ("op=\"start\",status=\"200\""). */
void bc_metrics_counter_add(struct bc_metrics *m, const char *name, const char *instance,
                            const char *labels, uint64_t delta);
void bc_metrics_gauge_set(struct bc_metrics *m, const char *name, const char *instance,
                          const char *labels, double value);
/* Record one request's duration in the request latency histogram. */
void bc_metrics_observe_request(struct bc_metrics *m, const char *op, double seconds);
/* The Prometheus text exposition (malloc'd). */
char *bc_metrics_render(struct bc_metrics *m, size_t *len);

/* ---- context.c ------------------------------------------------------------- */
/* One loaded configuration. A reload builds a new generation and swaps it in;
 * requests hold the generation they started with. */
struct bc_frontend_auth {
	struct bc_instance *inst;
	struct bc_tokens *tokens;     /* NULL: no tokens_file */
	struct bc_ratelimit *limiter; /* NULL: no rate_limit */
	struct bc_ratelimit *auth_failures; /* per peer address; NULL: no tokens_file */
	size_t max_body;
};

struct bc_generation {
	struct bc_doc *doc;
	struct bc_instance *store;
	struct bc_instance **providers;
	size_t n_providers;
	struct bc_frontend_auth *frontends;
	size_t n_frontends;
	unsigned inflight; /* requests running on it; under ctx->lock */
	struct bc_webhook_set *webhooks; /* the `webhooks:` list (bc_webhook.h); NULL: none */
};

/* Run one API call (dispatch.c). `frontend` is the calling frontend
 * instance or NULL for the embedding API (then no auth: the caller is
 * trusted and `req->caller` is the owner). */
void bc_dispatch(struct bc_context *ctx, struct bc_instance *frontend,
                 const struct bc_request *req, struct bc_response *resp);
void bc_resp_free_fields(struct bc_response *resp);

/* log.c: make the redacted secrets exactly those `walk` hands to `add`. A
 * reload calls it with the new generation's instances once the old
 * generation is retired, so the secrets of replaced instances (and of
 * refused attempts) do not pile up. (log.c knows no instances: the fuzz
 * targets link it alone.) */
typedef void (*bc_log_secret_walk)(void (*add)(const char *secret, void *arg), void *add_arg,
                                   void *walk_arg);
void bc_log_keep_secrets(bc_log_secret_walk walk, void *walk_arg);

/* Take the current generation for a request, and give it back. */
struct bc_generation *bc_gen_acquire(struct bc_context *ctx);
void bc_gen_release(struct bc_context *ctx, struct bc_generation *gen);
struct bc_metrics *bc_ctx_metrics(struct bc_context *ctx);
/* The webhook workers (bc_webhook.h); NULL with check_only. */
struct bc_webhooks *bc_ctx_webhooks(struct bc_context *ctx);
const struct bc_registry *bc_ctx_registry(struct bc_context *ctx);
/* The reload operation: ask whoever owns the main loop (broadcastd) to
 * reload and wait for the result. BC_E_UNSUPPORTED without such an owner. */
enum bc_status bc_ctx_request_reload(struct bc_context *ctx, struct bc_error *err);
/* broadcastd: the fd its main loop polls; a reload request writes "R". */
void bc_daemon_set_wakeup(struct bc_context *ctx, int fd);
/* bc_context_open() that, with check_only, validates everything but never
 * calls a plugin's create() (--check-config must not bind ports or open
 * databases a running daemon holds). */
enum bc_status bc_ctx_open_checked(const char *path, int check_only,
                                       struct bc_context **out, char *errbuf, size_t errlen);
int bc_ctx_check_only(const struct bc_context *ctx);

/* ---- media.c: media facts, events, timers (ABI 1.1, docs/events.md) ------
 * One struct bc_media per context (not per generation, so it survives a
 * reload): a bounded queue of facts providers report, applied in order by
 * one worker thread; a timekeeper thread that stops streams past their
 * idle_timeout or max_duration and prunes events; the in-memory media
 * state and event ring used when the store lacks the 1.1 ops; and the
 * condition long-polls of the events op wait on. */
struct bc_media;
struct bc_media *bc_media_create(struct bc_context *ctx);
/* Start the worker and the timekeeper. -1 when a thread cannot start. */
int bc_media_start(struct bc_media *m);
/* Make every waiting and later long-poll answer at once (a drain). */
void bc_media_wake_readers(struct bc_media *m);
/* Join the threads (idempotent). Then bc_media_free(). NULL: no-op. */
void bc_media_stop(struct bc_media *m);
void bc_media_free(struct bc_media *m);
struct bc_media *bc_ctx_media(struct bc_context *ctx);
/* 1 when the store has the 1.1 ops (commit_event ... events_prune). */
int bc_store_has_events(const struct bc_instance *store);
/* bc_host_api.media_report of provider instance `prov`. */
enum bc_status bc_media_report(struct bc_instance *prov, const char *stream_id,
                               enum bc_media_fact fact, const char *detail);
/* The commit of a start: the store's commit_event with a stream.started
 * event (or commit and an event in memory). `rec` is the reserved record
 * (state ignored). BC_OK or the store's failure in err. */
enum bc_status bc_stream_commit(struct bc_context *ctx, struct bc_generation *gen,
                                const struct bc_record *rec, const char *meta,
                                struct bc_error *err);
/* The stop lifecycle of the API stop and the auto-stops: the provider's
 * stop() of the stream `r` (as loaded, LIVE), then the store's conditional
 * stop with `reason` and a stream.stopped event (or stop and an event in
 * memory). BC_OK: this call stopped it, the stopped record is in `out`;
 * BC_E_CONFLICT: it was stopped already (the stored record in `out` when
 * the store gave it); BC_E_NOT_FOUND; else a failure in err, with
 * *provider_failed 1 when the provider's stop() failed (the stream stays
 * live). */
enum bc_status bc_stream_stop_run(struct bc_context *ctx, struct bc_generation *gen,
                                  const struct bc_record_copy *r, const char *reason,
                                  struct bc_record_sink *out, struct bc_error *err,
                                  int *provider_failed);
/* With a store lacking the 1.1 ops, fill media, publish_ms, media_ms,
 * stop_reason and event_seq of records from what this process knows. */
void bc_media_overlay(struct bc_context *ctx, struct bc_generation *gen,
                      struct bc_record_copy *items, size_t n);
/* The events op: events after `after` (of `owner`'s streams, NULL: all),
 * at most `limit`, waiting up to wait_ms for one. While waiting, *gen is
 * released and a current one taken again (a reload is not held up). */
enum bc_status bc_media_events(struct bc_context *ctx, struct bc_generation **gen,
                               uint64_t after, unsigned limit, const char *owner,
                               int64_t wait_ms, struct bc_event_sink *out,
                               struct bc_error *err);
/* The gauges of /metrics, without a store call: *live, the LIVE streams as
 * this node sees them (the store's, re-read every 5 s and at the start,
 * plus this node's starts and stops since: a count kept as they happen);
 * *publishing, those of them this process knows to be publishing. */
void bc_media_gauges(struct bc_context *ctx, double *live, double *publishing);
/* Re-announce every LIVE stream of the store to the provider instance of
 * `gen` that minted it and that `old` (NULL at startup) did not hold.
 * Main thread, before frontends serve. */
void bc_media_resume(struct bc_context *ctx, struct bc_generation *gen,
                     const struct bc_generation *old);
/* A new generation is in force: re-read the store for the timers. */
void bc_media_generation_changed(struct bc_context *ctx);

#endif /* BC_RUNTIME_H */
