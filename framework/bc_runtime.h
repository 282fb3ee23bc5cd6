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
};

/* Run one API call (dispatch.c). `frontend` is the calling frontend
 * instance or NULL for the embedding API (then no auth: the caller is
 * trusted and `req->caller` is the owner). */
void bc_dispatch(struct bc_context *ctx, struct bc_instance *frontend,
                 const struct bc_request *req, struct bc_response *resp);
void bc_resp_free_fields(struct bc_response *resp);

/* Take the current generation for a request, and give it back. */
struct bc_generation *bc_gen_acquire(struct bc_context *ctx);
void bc_gen_release(struct bc_context *ctx, struct bc_generation *gen);
struct bc_metrics *bc_ctx_metrics(struct bc_context *ctx);
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

#endif /* BC_RUNTIME_H */
