/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bc_webhook.h: the webhooks of a context (docs/webhooks.md): the
 * `webhooks:` list of the configuration (parsed and validated per
 * generation, webhook.c), the delivery workers (one thread per webhook,
 * webhook.c) and the one HTTP client they use (webhook_http.c, the only
 * file of the framework that calls libcurl). Nothing here is installed.
 */
#ifndef BC_WEBHOOK_H
#define BC_WEBHOOK_H

#include <stdatomic.h>

#include "bc_internal.h"

struct bc_generation;

/* ---- webhook.c: configuration -------------------------------------------- */

/* The webhooks of one generation: each list item validated against the
 * webhook option table (struct bc_config, so secrets are known to the
 * logger and redacted like any other secret option). */
struct bc_webhook_set {
	size_t n;
	struct bc_config **cfgs;  /* n of them */
	char **names;             /* the `name:` or the one derived from the url */
};

/* Validate the `webhooks` node of `doc` (NULL: none) into *out (NULL when
 * there are none). BC_OK, or BC_E_INVALID / BC_E_NOMEM with *errmsg
 * "FILE:LINE:COL: what; the fix". Registers every secret with the logger. */
enum bc_status bc_webhook_set_build(const struct bc_doc *doc, const struct bc_node *node,
                                    struct bc_webhook_set **out, char **errmsg);
void bc_webhook_set_free(struct bc_webhook_set *set);
/* Call fn for every secret of the set (bc_log_keep_secrets). */
void bc_webhook_set_each_secret(const struct bc_webhook_set *set,
                                void (*fn)(const char *secret, void *arg), void *arg);
/* The option table (for docs and tests). */
const struct bc_option *bc_webhook_options(void);

/* ---- webhook.c: the workers ------------------------------------------------ */

/* One per context (like struct bc_media; not per generation). */
struct bc_webhooks;
struct bc_webhooks *bc_webhooks_create(struct bc_context *ctx);
/* Make the running workers those of `set` (may be NULL): workers of
 * webhooks whose options did not change keep running, others are stopped
 * (an HTTP request in flight is cancelled, the event is not acknowledged
 * and will be delivered again) and new ones started. Main thread. */
void bc_webhooks_apply(struct bc_webhooks *w, const struct bc_webhook_set *set);
/* An event was written by this process: wake the workers. Any thread. */
void bc_webhooks_notify(struct bc_webhooks *w);
/* Stop and join every worker (idempotent), then free. NULL: no-op. */
void bc_webhooks_stop(struct bc_webhooks *w);
void bc_webhooks_free(struct bc_webhooks *w);
/* Compute the X-Broadcast-Signature value "t=<t>,v1=<hex>" of `body` under
 * `secret` into out (at least 96 bytes). For tests too. */
void bc_webhook_sign(const char *secret, int64_t t, const char *body, size_t len,
                     char *out, size_t size);
/* The delivery id of event `cursor` for webhook `name`: 32 lowercase hex
 * digits into out (33 bytes). */
void bc_webhook_delivery_id(const char *name, uint64_t cursor, char out[33]);

/* ---- webhook_http.c: one HTTP client (libcurl) ---------------------------- */

/* 1 when this build can send webhooks (it has libcurl). */
int bc_webhook_http_available(void);

struct bc_webhook_http;
/* A client keeping its connections between posts. NULL when out of memory
 * or without libcurl. One thread at a time. */
struct bc_webhook_http *bc_webhook_http_create(void);
void bc_webhook_http_free(struct bc_webhook_http *h);

struct bc_webhook_post {
	const char *url;
	const char *ca_file;          /* NULL: the system's CAs */
	const char *const *headers;   /* "Name: value", NULL-terminated */
	const char *body;
	size_t body_len;
	int64_t timeout_ms;           /* the whole exchange */
	atomic_int *cancel;           /* nonzero: give up now (may be NULL) */
};

/* POST `p`: never follows redirects, http and https only, https verified.
 * Reads at most 64 KiB of the answer's body (dropped): a longer one ends
 * the transfer and its status still counts.
 * Returns the HTTP status (100..599), or 0 when there was none (refused,
 * timed out, TLS failure, cancelled) with a short reason in `why`. The
 * reason never holds the URL's query or userinfo. */
long bc_webhook_http_post(struct bc_webhook_http *h, const struct bc_webhook_post *p,
                          char *why, size_t why_len);

#endif /* BC_WEBHOOK_H */
