/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webhook.c: signed, at-least-once delivery of the event feed to HTTP
 * receivers (docs/webhooks.md).
 *
 * Two halves:
 *  - configuration: the top-level `webhooks:` list, each item validated
 *    against webhook_options[] by the same code as a plugin instance's
 *    options (options.c), so unknown keys, types, ranges and required
 *    keys are reported alike and `secret`, a BC_OPT_SECRET option, is
 *    redacted from every log line (struct bc_webhook_set, per generation);
 *  - delivery: struct bc_webhooks, one per context (like struct bc_media,
 *    it outlives generations), runs one thread per webhook. A worker owns
 *    the webhook's *delivery cursor*: the cursor of the last event of the
 *    feed its receiver acknowledged (or that was given up). It claims the
 *    cursor in the store (cursor_claim: a lease, so that of several nodes
 *    sharing PostgreSQL one delivers at a time), reads the events after
 *    it (bc_media_events, the same read as GET /events), POSTs them one at
 *    a time in cursor order, retrying each with exponential backoff until
 *    it is acknowledged or given up, and moves the cursor past it
 *    (cursor_advance). It wakes when this process writes an event
 *    (bc_webhooks_notify, called by media.c) and polls the store every
 *    second for other nodes' events. With a store lacking the cursor ops
 *    the cursor lives here, in memory (one node; lost on restart).
 *
 * No lock is held across a store call or an HTTP request: the worker
 * takes the context's generation around store calls only, and its own
 * state is its thread's. The one lock (w->lock) guards the list of
 * workers, the notify counter and the in-memory cursors.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bc_render.h"
#include "bc_runtime.h"
#include "bc_webhook.h"

#define WH_POLL_MS 1000        /* re-read the store for other nodes' events */
#define WH_PAGE 100            /* events read at a time */
#define WH_SECRET_MIN 16       /* shortest secret accepted */
#define WH_MAX 32              /* webhooks per configuration */

/* ---- configuration ---------------------------------------------------------- */

static const char *const wh_event_types[] = { "stream.started", "stream.publishing",
	                                      "stream.idle", "stream.stopped", NULL };

static const struct bc_option webhook_options[] = {
	BC_OPTION(.name = "name", .type = BC_OPT_STRING,
	          .description = "The webhook's name: in logs, metrics, and the key of its "
	                         "delivery cursor in the store (default: \"wh-\" and 12 hex "
	                         "digits of the url's SHA-256). Renaming it, or changing the "
	                         "url without a name, starts a new cursor at the feed's head."),
	BC_OPTION(.name = "url", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "Where events are POSTed: an http:// or https:// URL. https "
	                         "is verified against the system CAs (or ca_file); redirects "
	                         "are not followed."),
	BC_OPTION(.name = "secret", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED | BC_OPT_SECRET,
	          .description = "The HMAC-SHA256 key of X-Broadcast-Signature, at least 16 "
	                         "characters (e.g. `openssl rand -hex 32`); use "
	                         "\"${VARIABLE}\" to keep it out of the file."),
	BC_OPTION(.name = "events", .type = BC_OPT_LIST,
	          .description = "The event types to send: stream.started, "
	                         "stream.publishing, stream.idle, stream.stopped (default: "
	                         "all). Others are skipped, never sent."),
	BC_OPTION(.name = "timeout", .type = BC_OPT_DURATION, .default_value = "10s",
	          .min = 100, .max = 300000,
	          .description = "How long one delivery attempt may take, connection "
	                         "included; longer counts as a failure."),
	BC_OPTION(.name = "max_attempts", .type = BC_OPT_INT, .default_value = "20", .min = 1,
	          .max = 1000000,
	          .description = "Give an event up after this many failed attempts."),
	BC_OPTION(.name = "max_age", .type = BC_OPT_DURATION, .default_value = "24h",
	          .min = 1000, .max = INT64_C(30) * 86400 * 1000,
	          .description = "Give an event up once a failed attempt finds it this old "
	                         "(since the change it describes). Keep the store's "
	                         "event_retention at least this long."),
	BC_OPTION(.name = "retry_base", .type = BC_OPT_DURATION, .default_value = "1s",
	          .min = 10, .max = 3600000,
	          .description = "The wait after the first failed attempt; each further "
	                         "failure doubles it, up to retry_max, with +-20 % jitter."),
	BC_OPTION(.name = "retry_max", .type = BC_OPT_DURATION, .default_value = "5m",
	          .min = 10, .max = INT64_C(86400) * 1000,
	          .description = "The longest wait between two attempts."),
	BC_OPTION(.name = "ca_file", .type = BC_OPT_STRING,
	          .description = "A PEM file of CA certificates to verify an https receiver "
	                         "with, instead of the system's."),
	BC_OPTION(.name = "lease", .type = BC_OPT_DURATION, .default_value = "30s", .min = 1000,
	          .max = 3600000,
	          .description = "How long a node's claim on delivering this webhook lasts "
	                         "without renewal (at least twice timeout): with several "
	                         "nodes on one store, another node takes over that long "
	                         "after one dies; after a crash, a restarted node resumes "
	                         "that long after the crash."),
	BC_OPTION_END
};

const struct bc_option *bc_webhook_options(void)
{
	return webhook_options;
}

/* http:// or https://, a host, no whitespace or control characters. */
static int wh_url_ok(const char *url)
{
	const char *host;
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#')
		return 0;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static unsigned wh_event_bit(const char *type)
{
	for (unsigned i = 0; wh_event_types[i] != NULL; i++)
		if (strcmp(wh_event_types[i], type) == 0)
			return 1u << i;
	return 0;
}

void bc_webhook_set_free(struct bc_webhook_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		bc_config_free(set->cfgs[i]);
		free(set->names[i]);
	}
	free(set->cfgs);
	free(set->names);
	free(set);
}

void bc_webhook_set_each_secret(const struct bc_webhook_set *set,
                                void (*fn)(const char *secret, void *arg), void *arg)
{
	for (size_t i = 0; set != NULL && i < set->n; i++)
		bc_config_each_secret(set->cfgs[i], fn, arg);
}

static void wh_add_secret(const char *secret, void *arg)
{
	(void)arg;
	bc_log_add_secret(secret);
}

/* Check one validated item beyond its declared options. */
static int wh_item_check(const struct bc_doc *doc, const struct bc_node *item,
                         const struct bc_config *cfg, const char *owner, char **errmsg)
{
	const char *url = bc_config_str(cfg, "url");
	const char *secret = bc_config_str(cfg, "secret");
	const struct bc_node *n;

	if (!wh_url_ok(url)) {
		n = bc_node_get(item, "url");
		*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: url must be an http:// or "
		                          "https:// URL with a host, e.g. "
		                          "\"https://app.example.com/hooks/broadcast\"", owner);
		return -1;
	}
	if (strlen(secret) < WH_SECRET_MIN) {
		n = bc_node_get(item, "secret");
		*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: secret must be at least %d "
		                          "characters; make one with `openssl rand -hex 32`",
		                          owner, WH_SECRET_MIN);
		return -1;
	}
	for (size_t i = 0; i < bc_config_list_len(cfg, "events"); i++)
		if (wh_event_bit(bc_config_list_at(cfg, "events", i)) == 0) {
			n = bc_node_get(item, "events");
			*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: unknown event type '%s' in "
			                          "events; valid: stream.started, stream.publishing, "
			                          "stream.idle, stream.stopped", owner,
			                          bc_config_list_at(cfg, "events", i));
			return -1;
		}
	if (bc_config_int(cfg, "lease") < 2 * bc_config_int(cfg, "timeout")) {
		n = bc_node_get(item, "lease");
		*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: lease must be at least twice "
		                          "the timeout (a claim is renewed between attempts, and "
		                          "must outlast one); raise lease or lower timeout", owner);
		return -1;
	}
	if (bc_config_int(cfg, "retry_max") < bc_config_int(cfg, "retry_base")) {
		n = bc_node_get(item, "retry_max");
		*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: retry_max must be at least "
		                          "retry_base", owner);
		return -1;
	}
	if (bc_config_is_set(cfg, "ca_file")) {
		const char *path = bc_config_str(cfg, "ca_file");
		struct stat sb;
		const char *why = NULL;
		if (access(path, R_OK) != 0 || stat(path, &sb) != 0)
			why = strerror(errno);
		else if (!S_ISREG(sb.st_mode))
			why = "not a file";
		if (why != NULL) {
			n = bc_node_get(item, "ca_file");
			*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: ca_file %s cannot be read: "
			                          "%s; name a readable PEM file", owner, path, why);
			return -1;
		}
	}
	return 0;
}

enum bc_status bc_webhook_set_build(const struct bc_doc *doc, const struct bc_node *node,
                                    struct bc_webhook_set **out, char **errmsg)
{
	struct bc_webhook_set *set;
	enum bc_status st;

	*out = NULL;
	if (node == NULL)
		return BC_OK;
	if (node->kind != BC_NODE_SEQ) {
		*errmsg = bc_doc_error_at(doc, node, "`webhooks` must be a list, e.g. `webhooks: "
		                          "[{url: \"https://app.example.com/hooks\", secret: "
		                          "\"${HOOK_SECRET}\"}]`");
		return BC_E_INVALID;
	}
	if (node->n_items == 0)
		return BC_OK;
	if (!bc_webhook_http_available()) {
		*errmsg = bc_doc_error_at(doc, node, "webhooks need libcurl, and libcurl.so.4 "
		                          "cannot be opened (or this broadcast was built without "
		                          "libcurl's headers); install libcurl4, or remove "
		                          "`webhooks`");
		return BC_E_INVALID;
	}
	if (node->n_items > WH_MAX) {
		*errmsg = bc_doc_error_at(doc, node, "at most %d webhooks; a receiver can fan "
		                          "events out further", WH_MAX);
		return BC_E_INVALID;
	}
	set = calloc(1, sizeof *set);
	if (set == NULL || (set->cfgs = calloc(node->n_items, sizeof *set->cfgs)) == NULL ||
	    (set->names = calloc(node->n_items, sizeof *set->names)) == NULL) {
		bc_webhook_set_free(set);
		*errmsg = strdup("out of memory");
		return BC_E_NOMEM;
	}
	for (size_t i = 0; i < node->n_items; i++) {
		const struct bc_node *item = node->items[i];
		struct bc_config *cfg = NULL;
		char owner[48], *name;

		snprintf(owner, sizeof owner, "webhook %zu", i + 1);
		st = bc_config_build(doc, item, owner, webhook_options, NULL, &cfg, errmsg);
		if (st != BC_OK) {
			bc_webhook_set_free(set);
			return st;
		}
		set->cfgs[set->n] = cfg;
		if (bc_config_is_set(cfg, "name")) {
			name = strdup(bc_config_str(cfg, "name"));
		} else {
			char hex[65];
			const char *url = bc_config_str(cfg, "url");
			bc_sha256_hex(url, strlen(url), hex);
			name = bc_strdup_printf("wh-%.12s", hex);
		}
		set->names[set->n++] = name;
		if (name == NULL) {
			bc_webhook_set_free(set);
			*errmsg = strdup("out of memory");
			return BC_E_NOMEM;
		}
		if (!bc_name_valid(name)) {
			const struct bc_node *n = bc_node_get(item, "name");
			*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: name '%s' must be 1 to 64 "
			                          "letters, digits, '_', '-' or '.'", owner, name);
			bc_webhook_set_free(set);
			return BC_E_INVALID;
		}
		if (wh_item_check(doc, item, cfg, owner, errmsg) != 0) {
			bc_webhook_set_free(set);
			return BC_E_INVALID;
		}
		for (size_t k = 0; k + 1 < set->n; k++)
			if (strcmp(set->names[k], name) == 0) {
				const struct bc_node *n = bc_node_get(item, "name");
				*errmsg = bc_doc_error_at(doc, n ? n : item, "%s: two webhooks are "
				                          "named '%s' (the name is the key of the delivery "
				                          "cursor); give each a distinct `name:`",
				                          owner, name);
				bc_webhook_set_free(set);
				return BC_E_INVALID;
			}
		bc_config_each_secret(cfg, wh_add_secret, NULL);
	}
	*out = set;
	return BC_OK;
}

/* ---- signing ------------------------------------------------------------------ */

void bc_webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
                     size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char prefix[32], digest[65];
	unsigned char *msg;
	int n = snprintf(prefix, sizeof prefix, "%" PRId64 ".", t);

	digest[0] = '\0';
	msg = malloc((size_t)n + len + 1);
	if (msg != NULL) {
		memcpy(msg, prefix, (size_t)n);
		memcpy(msg + n, body, len);
		if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)n + len, mac,
		         &mac_len) != NULL && mac_len == 32) {
			for (unsigned i = 0; i < 32; i++) {
				digest[2 * i] = hex[mac[i] >> 4];
				digest[2 * i + 1] = hex[mac[i] & 15];
			}
			digest[64] = '\0';
		}
		free(msg);
	}
	snprintf(out, size, "t=%" PRId64 ",v1=%s", t, digest);
}

void bc_webhook_delivery_id(const char *name, uint64_t cursor, char out[33])
{
	char text[128], hex[65];
	int n = snprintf(text, sizeof text, "%s:%" PRIu64, name, cursor);
	bc_sha256_hex(text, (size_t)n, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

/* ---- the workers ------------------------------------------------------------------ */

/* One webhook's settings, copied out of its generation's configuration so
 * a worker never reads a generation that a reload may free. */
struct wh_conf {
	char *name, *url, *secret, *ca_file, *origin;
	unsigned events;        /* bit per wh_event_types entry */
	int64_t timeout_ms, max_attempts, max_age_ms, retry_base_ms, retry_max_ms, lease_ms;
};

struct wh_worker {
	struct bc_webhooks *w;
	struct wh_conf conf;
	pthread_t thread;
	int running;            /* thread started */
	int stopping;           /* under w->lock */
	atomic_int cancel;      /* stops an HTTP request in flight */
	int keep;               /* bc_webhooks_apply's mark */
};

/* A delivery cursor kept here, for a store without the cursor ops. */
struct wh_mem_cursor {
	char *name;
	uint64_t cursor;
};

struct bc_webhooks {
	struct bc_context *ctx;
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* an event was written, or a worker stops */
	uint64_t notified;       /* bumped by bc_webhooks_notify */
	struct wh_worker **workers;
	size_t n;
	struct wh_mem_cursor *mem;
	size_t n_mem;
	char holder[128];        /* this process, for cursor leases */
};

static void wh_conf_free(struct wh_conf *c)
{
	free(c->name);
	free(c->url);
	free(c->secret);
	free(c->ca_file);
	free(c->origin);
	memset(c, 0, sizeof *c);
}

static int str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int wh_conf_equal(const struct wh_conf *a, const struct wh_conf *b)
{
	return str_same(a->name, b->name) && str_same(a->url, b->url) &&
	       str_same(a->secret, b->secret) && str_same(a->ca_file, b->ca_file) &&
	       a->events == b->events && a->timeout_ms == b->timeout_ms &&
	       a->max_attempts == b->max_attempts && a->max_age_ms == b->max_age_ms &&
	       a->retry_base_ms == b->retry_base_ms && a->retry_max_ms == b->retry_max_ms &&
	       a->lease_ms == b->lease_ms;
}

/* "https://host:port" of a URL: what logs show of it (a path or query may
 * carry a receiver's token). */
static char *wh_origin(const char *url)
{
	const char *host = strstr(url, "://");
	size_t n;
	host = host ? host + 3 : url;
	n = strcspn(host, "/?#");
	{
		const char *at = memchr(host, '@', n);
		if (at != NULL) {
			n -= (size_t)(at + 1 - host);
			host = at + 1;
		}
	}
	return bc_strdup_printf("%.*s%.*s", (int)(host - url > 8 ? 8 : host - url), url, (int)n,
	                        host);
}

static int wh_conf_init(struct wh_conf *c, const struct bc_config *cfg, const char *name)
{
	memset(c, 0, sizeof *c);
	c->name = strdup(name);
	c->url = strdup(bc_config_str(cfg, "url"));
	c->secret = strdup(bc_config_str(cfg, "secret"));
	c->ca_file = bc_config_is_set(cfg, "ca_file") ? strdup(bc_config_str(cfg, "ca_file"))
	                                              : NULL;
	c->origin = c->url != NULL ? wh_origin(c->url) : NULL;
	if (bc_config_list_len(cfg, "events") == 0)
		c->events = ~0u;
	for (size_t i = 0; i < bc_config_list_len(cfg, "events"); i++)
		c->events |= wh_event_bit(bc_config_list_at(cfg, "events", i));
	c->timeout_ms = bc_config_int(cfg, "timeout");
	c->max_attempts = bc_config_int(cfg, "max_attempts");
	c->max_age_ms = bc_config_int(cfg, "max_age");
	c->retry_base_ms = bc_config_int(cfg, "retry_base");
	c->retry_max_ms = bc_config_int(cfg, "retry_max");
	c->lease_ms = bc_config_int(cfg, "lease");
	if (c->name == NULL || c->url == NULL || c->secret == NULL || c->origin == NULL ||
	    (bc_config_is_set(cfg, "ca_file") && c->ca_file == NULL)) {
		wh_conf_free(c);
		return -1;
	}
	return 0;
}

static int wh_stopping(struct wh_worker *k)
{
	int s;
	pthread_mutex_lock(&k->w->lock);
	s = k->stopping;
	pthread_mutex_unlock(&k->w->lock);
	return s;
}

/* Sleep up to ms, or until the worker stops, or (when `seen` is not NULL)
 * until an event is written after *seen. 1 when stopping. */
static int wh_sleep(struct wh_worker *k, int64_t ms, const uint64_t *seen)
{
	struct bc_webhooks *w = k->w;
	struct timespec until;
	int stop;

	bc_cond_deadline(&until, ms);
	pthread_mutex_lock(&w->lock);
	while (!k->stopping && (seen == NULL || w->notified == *seen))
		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == ETIMEDOUT)
			break;
	stop = k->stopping;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static int wh_has_cursors(const struct bc_instance *store)
{
	const struct bc_store_ops *o = &bc_instance_plugin(store)->ops.store;
	return bc_store_has_events(store) && o->cursor_claim != NULL && o->cursor_advance != NULL;
}

/* The greatest cursor of the feed now into *head, read page by page
 * (stores without the cursor ops, which compute it themselves): where a new
 * in-memory cursor starts. 0, or -1 when the feed cannot be read (then
 * starting at 0 would replay the whole feed). */
static int wh_feed_head(struct bc_context *ctx, uint64_t *out)
{
	uint64_t head = 0;
	for (;;) {
		struct bc_generation *gen = bc_gen_acquire(ctx);
		struct bc_event_sink sink;
		struct bc_error err;
		enum bc_status st;
		size_t n;

		bc_event_sink_init(&sink);
		bc_error_clear(&err);
		st = bc_media_events(ctx, &gen, head, 1000, NULL, 0, &sink, &err);
		bc_gen_release(ctx, gen);
		n = sink.n;
		if (st == BC_OK && n > 0)
			head = sink.items[n - 1].cursor;
		bc_event_sink_free(&sink);
		if (st != BC_OK)
			return -1;
		if (n < 1000) {
			*out = head;
			return 0;
		}
	}
}

enum wh_claim { WH_CLAIMED, WH_HELD, WH_FAILED };

/* Claim (or renew) k's cursor: its position into *cursor. */
static enum wh_claim wh_claim(struct wh_worker *k, int64_t lease_ms, uint64_t *cursor,
                              int *logged)
{
	struct bc_webhooks *w = k->w;
	struct bc_generation *gen = bc_gen_acquire(w->ctx);
	struct bc_instance *s = gen->store;
	struct bc_error err;
	enum bc_status st;

	if (!wh_has_cursors(s)) {
		bc_gen_release(w->ctx, gen);
		pthread_mutex_lock(&w->lock);
		for (size_t i = 0; i < w->n_mem; i++)
			if (strcmp(w->mem[i].name, k->conf.name) == 0) {
				*cursor = w->mem[i].cursor;
				pthread_mutex_unlock(&w->lock);
				return WH_CLAIMED;
			}
		pthread_mutex_unlock(&w->lock);
		/* A new one starts at the head: no replay of what came before. */
		uint64_t head = 0;
		struct wh_mem_cursor *v;
		char *name;
		if (wh_feed_head(w->ctx, &head) != 0) {
			if (!*logged)
				bc_log(BC_LOG_WARN, k->conf.name, "cannot read the event feed to start "
				       "at its head; retrying every %d s", WH_POLL_MS / 1000);
			*logged = 1;
			return WH_FAILED;
		}
		name = strdup(k->conf.name);
		pthread_mutex_lock(&w->lock);
		v = name ? realloc(w->mem, (w->n_mem + 1) * sizeof *v) : NULL;
		if (v == NULL) {
			pthread_mutex_unlock(&w->lock);
			free(name);
			return WH_FAILED;
		}
		w->mem = v;
		v[w->n_mem].name = name;
		v[w->n_mem].cursor = head;
		w->n_mem++;
		pthread_mutex_unlock(&w->lock);
		*cursor = head;
		return WH_CLAIMED;
	}
	bc_error_clear(&err);
	bc_instance_enter(s);
	st = bc_instance_plugin(s)->ops.store.cursor_claim(bc_instance_state(s), k->conf.name,
	                                                   w->holder, BC_CURSOR_HEAD,
	                                                   bc_now_ms(), lease_ms, cursor, &err);
	bc_instance_leave(s);
	bc_gen_release(w->ctx, gen);
	if (st == BC_OK) {
		*logged = 0;
		return WH_CLAIMED;
	}
	if (st == BC_E_CONFLICT)
		return WH_HELD;
	if (!*logged)
		bc_log(BC_LOG_WARN, k->conf.name, "cannot claim the delivery cursor: %s: %s; "
		       "retrying every %d s", err.code[0] ? err.code : bc_status_name(st),
		       err.message, WH_POLL_MS / 1000);
	*logged = 1;
	return WH_FAILED;
}

/* Move k's cursor to `cursor`. 0, or -1 when the claim was lost or the
 * store failed (the worker then claims again). */
static int wh_advance(struct wh_worker *k, uint64_t cursor)
{
	struct bc_webhooks *w = k->w;
	struct bc_generation *gen = bc_gen_acquire(w->ctx);
	struct bc_instance *s = gen->store;
	struct bc_error err;
	enum bc_status st = BC_OK;

	if (!wh_has_cursors(s)) {
		bc_gen_release(w->ctx, gen);
		pthread_mutex_lock(&w->lock);
		for (size_t i = 0; i < w->n_mem; i++)
			if (strcmp(w->mem[i].name, k->conf.name) == 0 && w->mem[i].cursor < cursor)
				w->mem[i].cursor = cursor;
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	bc_error_clear(&err);
	bc_instance_enter(s);
	st = bc_instance_plugin(s)->ops.store.cursor_advance(bc_instance_state(s), k->conf.name,
	                                                     w->holder, cursor, &err);
	bc_instance_leave(s);
	bc_gen_release(w->ctx, gen);
	if (st != BC_OK)
		bc_log(st == BC_E_CONFLICT ? BC_LOG_INFO : BC_LOG_WARN, k->conf.name,
		       "cannot move the delivery cursor to %" PRIu64 ": %s: %s", cursor,
		       err.code[0] ? err.code : bc_status_name(st), err.message);
	return st == BC_OK ? 0 : -1;
}

static void wh_count(struct wh_worker *k, const char *family)
{
	char labels[96];
	snprintf(labels, sizeof labels, "webhook=\"%s\"", k->conf.name);
	bc_metrics_counter_add(bc_ctx_metrics(k->w->ctx), family, NULL, labels, 1);
}

/* The wait after `failures` failed attempts: retry_base * 2^(failures-1),
 * at most retry_max, then +-20 % jitter. */
static int64_t wh_backoff(const struct wh_conf *c, int64_t failures)
{
	int64_t d = c->retry_base_ms;
	uint32_t r = 0;
	for (int64_t i = 1; i < failures && d < c->retry_max_ms; i++)
		d *= 2;
	if (d > c->retry_max_ms)
		d = c->retry_max_ms;
	bc_random(&r, sizeof r);
	/* r / 2^32 in [0, 1): a factor in [0.8, 1.2). */
	return (int64_t)((double)d * (0.8 + 0.4 * ((double)r / 4294967296.0)));
}

enum wh_outcome { WH_DELIVERED, WH_GAVE_UP, WH_ABORTED };

/* Renew k's claim when a third of the lease has passed since *claimed_mono
 * (taken before the claim was asked for: the store counts the lease from
 * the `now_ms` of the call, so a slow store call must shorten the lease
 * this worker believes it has, not lengthen it). 0, or -1 when it was
 * lost: another node delivers now, or it did while this node's lease had
 * lapsed (a pause, an unreachable store) and then let go: the claim is
 * had again but the stored cursor is no longer `cursor`, the one this
 * worker delivers after, and going on would send again what that node
 * delivered. */
static int wh_renew(struct wh_worker *k, int64_t *claimed_mono, uint64_t cursor)
{
	uint64_t stored = 0;
	int logged = 1;
	int64_t t0 = bc_monotonic_ms();
	if (t0 - *claimed_mono < k->conf.lease_ms / 3)
		return 0;
	if (wh_claim(k, k->conf.lease_ms, &stored, &logged) != WH_CLAIMED || stored != cursor)
		return -1;
	*claimed_mono = t0;
	return 0;
}

/* POST one event until acknowledged or given up. Renews the claim while
 * retrying; WH_ABORTED when the worker stops or loses its claim. `cursor`
 * is the stored position the event follows (wh_renew). */
static enum wh_outcome wh_deliver(struct wh_worker *k, struct bc_webhook_http *http,
                                  const struct bc_event_copy *ev, int64_t *claimed_mono,
                                  uint64_t cursor)
{
	const struct wh_conf *c = &k->conf;
	json_t *o = bc_render_event(ev);
	char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	char id[33], sig[112], h_event[96], h_id[64], h_sig[160], h_attempt[48], why[256];
	const char *headers[6];
	enum wh_outcome out = WH_ABORTED;
	int64_t failures = 0, began = bc_monotonic_ms();

	json_decref(o);
	if (body == NULL) {
		bc_log(BC_LOG_ERROR, c->name, "out of memory rendering event %" PRIu64, ev->cursor);
		(void)wh_sleep(k, 1000, NULL); /* then the worker reads the feed again */
		return WH_ABORTED;
	}
	bc_webhook_delivery_id(c->name, ev->cursor, id);
	snprintf(h_event, sizeof h_event, "X-Broadcast-Event: %s", ev->type);
	snprintf(h_id, sizeof h_id, "X-Broadcast-Delivery: %s", id);
	for (;;) {
		struct bc_webhook_post p;
		int64_t now, t0, age;
		long status;

		if (wh_stopping(k))
			break;
		if (wh_renew(k, claimed_mono, cursor) != 0) {
			bc_log(BC_LOG_INFO, c->name, "lost the claim on the delivery cursor while "
			       "delivering event %" PRIu64 "; another node delivers it (or did)",
			       ev->cursor);
			break;
		}
		now = bc_now_ms();
		bc_webhook_sign(c->secret, now / 1000, body, strlen(body), sig, sizeof sig);
		snprintf(h_sig, sizeof h_sig, "X-Broadcast-Signature: %s", sig);
		snprintf(h_attempt, sizeof h_attempt, "X-Broadcast-Attempt: %" PRId64, failures + 1);
		headers[0] = "Content-Type: application/json";
		headers[1] = h_event;
		headers[2] = h_id;
		headers[3] = h_sig;
		headers[4] = h_attempt;
		headers[5] = NULL;
		memset(&p, 0, sizeof p);
		p.url = c->url;
		p.ca_file = c->ca_file;
		p.headers = headers;
		p.body = body;
		p.body_len = strlen(body);
		p.timeout_ms = c->timeout_ms;
		p.cancel = &k->cancel;
		t0 = bc_monotonic_ms();
		status = bc_webhook_http_post(http, &p, why, sizeof why);
		if (status >= 200 && status <= 299) {
			wh_count(k, "webhook_delivered_total");
			bc_log(BC_LOG_DEBUG, c->name, "event %" PRIu64 " (%s, delivery %s) acknowledged "
			       "by %s: HTTP %ld after %" PRId64 " ms, attempt %" PRId64, ev->cursor,
			       ev->type, id, c->origin, status, bc_monotonic_ms() - t0, failures + 1);
			out = WH_DELIVERED;
			break;
		}
		if (wh_stopping(k))
			break;
		failures++;
		if (status != 0)
			snprintf(why, sizeof why, "HTTP %ld", status);
		age = bc_now_ms() - ev->time_ms;
		if (failures >= c->max_attempts || age >= c->max_age_ms) {
			wh_count(k, "webhook_given_up_total");
			bc_log(BC_LOG_WARN, c->name, "gave up on event %" PRIu64 " (%s of stream %s, "
			       "delivery %s) to %s after %" PRId64 " attempt(s) over %" PRId64 " s: "
			       "%s", ev->cursor, ev->type, ev->stream_id, id, c->origin, failures,
			       (bc_monotonic_ms() - began) / 1000, why);
			out = WH_GAVE_UP;
			break;
		}
		{
			int64_t wait = wh_backoff(c, failures);
			wh_count(k, "webhook_retries_total");
			bc_log(failures == 1 ? BC_LOG_INFO : BC_LOG_DEBUG, c->name, "event %" PRIu64
			       " (delivery %s) not acknowledged by %s: %s; attempt %" PRId64
			       ", retrying in %" PRId64 " ms", ev->cursor, id, c->origin, why,
			       failures, wait);
			/* Sleep in slices, renewing the claim: a backoff longer
			 * than the lease must not hand the webhook to another node. */
			while (wait > 0) {
				int64_t slice = wait < c->lease_ms / 3 ? wait : c->lease_ms / 3;
				if (wh_sleep(k, slice, NULL))
					break;
				wait -= slice;
				if (wh_renew(k, claimed_mono, cursor) != 0)
					break;
			}
			if (wait > 0)
				break; /* stopping, or the claim was lost */
		}
	}
	free(body);
	return out;
}

static void *wh_main(void *arg)
{
	struct wh_worker *k = arg;
	struct bc_webhooks *w = k->w;
	struct bc_webhook_http *http = bc_webhook_http_create();
	int logged = 0, held_logged = 0, read_logged = 0, holding = 0;

	if (http == NULL) {
		bc_log(BC_LOG_ERROR, k->conf.name, "cannot create an HTTP client; this webhook "
		       "sends nothing");
		return NULL;
	}
	bc_log(BC_LOG_INFO, k->conf.name, "webhook to %s started", k->conf.origin);
	for (;;) {
		struct bc_generation *gen;
		struct bc_event_sink sink;
		struct bc_error err;
		enum bc_status st;
		uint64_t cursor = 0, seen, skip_to = 0;
		int64_t claimed_mono;
		enum wh_claim cl;

		if (wh_stopping(k))
			break;
		claimed_mono = bc_monotonic_ms(); /* before the call: see wh_renew */
		cl = wh_claim(k, k->conf.lease_ms, &cursor, &logged);
		if (cl != WH_CLAIMED) {
			if (cl == WH_HELD && !held_logged)
				bc_log(BC_LOG_INFO, k->conf.name, "another node delivers this webhook "
				       "now; taking over if its claim lapses");
			held_logged = cl == WH_HELD;
			holding = 0;
			if (wh_sleep(k, WH_POLL_MS, NULL))
				break;
			continue;
		}
		if (!holding && held_logged)
			bc_log(BC_LOG_INFO, k->conf.name, "this node delivers this webhook now");
		held_logged = 0;
		holding = 1;

		pthread_mutex_lock(&w->lock);
		seen = w->notified;
		pthread_mutex_unlock(&w->lock);
		bc_event_sink_init(&sink);
		bc_error_clear(&err);
		gen = bc_gen_acquire(w->ctx);
		st = bc_media_events(w->ctx, &gen, cursor, WH_PAGE, NULL, 0, &sink, &err);
		bc_gen_release(w->ctx, gen);
		if (st != BC_OK) {
			if (!read_logged)
				bc_log(BC_LOG_WARN, k->conf.name, "cannot read the event feed: %s: %s",
				       err.code[0] ? err.code : bc_status_name(st), err.message);
			read_logged = 1;
			bc_event_sink_free(&sink);
			if (wh_sleep(k, WH_POLL_MS, NULL))
				break;
			continue;
		}
		read_logged = 0;
		if (sink.n == 0) {
			bc_event_sink_free(&sink);
			/* Woken by this process's events at once; other nodes'
			 * are seen within WH_POLL_MS. Renewed at the next claim. */
			if (wh_sleep(k, WH_POLL_MS, &seen))
				break;
			continue;
		}
		for (size_t i = 0; i < sink.n; i++) {
			const struct bc_event_copy *ev = &sink.items[i];
			enum wh_outcome o;
			if (!(k->conf.events & wh_event_bit(ev->type))) {
				skip_to = ev->cursor; /* not wanted: passed over */
				continue;
			}
			if (skip_to > cursor) {
				if (wh_advance(k, skip_to) != 0)
					break;
				cursor = skip_to;
			}
			o = wh_deliver(k, http, ev, &claimed_mono, cursor);
			if (o == WH_ABORTED)
				break;
			if (wh_advance(k, ev->cursor) != 0)
				break;
			cursor = ev->cursor;
		}
		if (skip_to > cursor && wh_advance(k, skip_to) == 0)
			cursor = skip_to;
		bc_event_sink_free(&sink);
	}
	/* Give the claim up so another node need not wait out the lease. */
	if (holding) {
		uint64_t unused;
		int quiet = 1;
		(void)wh_claim(k, 0, &unused, &quiet);
	}
	bc_webhook_http_free(http);
	return NULL;
}

struct bc_webhooks *bc_webhooks_create(struct bc_context *ctx)
{
	struct bc_webhooks *w = calloc(1, sizeof *w);
	char host[64];
	uint32_t r = 0;

	if (w == NULL)
		return NULL;
	w->ctx = ctx;
	pthread_mutex_init(&w->lock, NULL);
	bc_cond_init(&w->wake);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	bc_random(&r, sizeof r);
	snprintf(w->holder, sizeof w->holder, "%s:%ld:%08" PRIx32, host, (long)getpid(), r);
	return w;
}

static void wh_worker_stop(struct bc_webhooks *w, struct wh_worker *k)
{
	pthread_mutex_lock(&w->lock);
	k->stopping = 1;
	atomic_store(&k->cancel, 1);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

static void wh_worker_free(struct wh_worker *k)
{
	if (k == NULL)
		return;
	if (k->running)
		pthread_join(k->thread, NULL);
	wh_conf_free(&k->conf);
	free(k);
}

void bc_webhooks_apply(struct bc_webhooks *w, const struct bc_webhook_set *set)
{
	struct wh_worker **next;
	size_t n_next = 0, want = set != NULL ? set->n : 0;

	if (w == NULL)
		return;
	next = calloc(want + 1, sizeof *next);
	if (next == NULL) {
		bc_log(BC_LOG_ERROR, "webhooks", "out of memory; the webhooks keep running as "
		       "they were");
		return;
	}
	for (size_t i = 0; i < w->n; i++)
		w->workers[i]->keep = 0;
	for (size_t i = 0; i < want; i++) {
		struct wh_worker *k = NULL;
		struct wh_conf conf;
		if (wh_conf_init(&conf, set->cfgs[i], set->names[i]) != 0) {
			bc_log(BC_LOG_ERROR, set->names[i], "out of memory; webhook not started");
			continue;
		}
		for (size_t j = 0; j < w->n && k == NULL; j++)
			if (!w->workers[j]->keep && wh_conf_equal(&w->workers[j]->conf, &conf))
				k = w->workers[j];
		if (k != NULL) {
			k->keep = 1;
			wh_conf_free(&conf);
			next[n_next++] = k;
			continue;
		}
		k = calloc(1, sizeof *k);
		if (k == NULL) {
			wh_conf_free(&conf);
			continue;
		}
		k->w = w;
		k->conf = conf;
		k->keep = 1;
		atomic_init(&k->cancel, 0);
		next[n_next++] = k;
	}
	/* Stop the replaced ones first: a webhook whose options changed hands
	 * its cursor (same name) to its successor. */
	for (size_t i = 0; i < w->n; i++)
		if (!w->workers[i]->keep)
			wh_worker_stop(w, w->workers[i]);
	for (size_t i = 0; i < w->n; i++)
		if (!w->workers[i]->keep) {
			bc_log(BC_LOG_INFO, w->workers[i]->conf.name, "webhook stopped");
			wh_worker_free(w->workers[i]);
		}
	for (size_t i = 0; i < n_next; i++)
		if (!next[i]->running) {
			/* Claim once here, before anything serves: a new webhook's
			 * cursor starts at the feed's head as the daemon starts (or
			 * the reload that added it), not whenever its thread runs. */
			uint64_t unused;
			int quiet = 0;
			(void)wh_claim(next[i], next[i]->conf.lease_ms, &unused, &quiet);
			if (pthread_create(&next[i]->thread, NULL, wh_main, next[i]) == 0)
				next[i]->running = 1;
			else
				bc_log(BC_LOG_ERROR, next[i]->conf.name, "cannot start its thread; "
				       "this webhook sends nothing");
		}
	pthread_mutex_lock(&w->lock);
	free(w->workers);
	w->workers = next;
	w->n = n_next;
	pthread_mutex_unlock(&w->lock);
}

void bc_webhooks_notify(struct bc_webhooks *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->notified++;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void bc_webhooks_stop(struct bc_webhooks *w)
{
	if (w != NULL)
		bc_webhooks_apply(w, NULL);
}

void bc_webhooks_free(struct bc_webhooks *w)
{
	if (w == NULL)
		return;
	bc_webhooks_stop(w);
	free(w->workers);
	for (size_t i = 0; i < w->n_mem; i++)
		free(w->mem[i].name);
	free(w->mem);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
