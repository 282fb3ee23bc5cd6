/* SPDX-License-Identifier: Apache-2.0 */
/*
 * context.c: struct bc_context, one running configuration, and the embedding
 * API of broadcast/embed.h.
 *
 * The top level of the YAML (log, plugin_dir, store, providers, frontends,
 * webhooks) is read here; each instance map is instance.c's, the webhooks
 * webhook.c's. A context holds a
 * *generation*: the store, providers and frontends of one version of the
 * file. A reload builds a new generation, carrying over every instance whose
 * options are unchanged (same kind, name, type and values), swaps it in, and
 * frees the old one on this thread once the requests that began on it have
 * finished, so no request ever sees half of each.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bc_runtime.h"
#include "bc_webhook.h"

#define DRAIN_TIMEOUT_MS 10000
#define RETIRE_TIMEOUT_MS 30000

struct bc_context {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *path;                 /* NULL when opened from a string */
	struct bc_registry *reg;
	struct bc_metrics *metrics;
	struct bc_generation *gen;
	struct bc_media *media;     /* facts, events, timers (media.c); NULL
	                               with check_only */
	struct bc_webhooks *webhooks; /* delivery workers (webhook.c); NULL
	                                 with check_only */
	int serving;                /* bc_context_serve() ran */
	int check_only;             /* --check-config: validate, never create() */
	int drained;
	/* reload requests from the API (op "reload"), run by the opening thread */
	int wake_fd;                /* -1: nobody to ask */
	unsigned reload_seq;        /* bumped when a reload finished */
	enum bc_status reload_status;
	char reload_msg[512];
};

static void set_err(char *buf, size_t len, const char *fmt, ...) BC_PRINTF(3, 4);

static void set_err(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- generations ------------------------------------------------------------ */

static void gen_free(struct bc_generation *gen)
{
	if (gen == NULL)
		return;
	for (size_t i = 0; i < gen->n_frontends; i++) {
		bc_tokens_free(gen->frontends[i].tokens);
		bc_ratelimit_free(gen->frontends[i].limiter);
		bc_ratelimit_free(gen->frontends[i].auth_failures);
		bc_instance_destroy(gen->frontends[i].inst);
	}
	for (size_t i = 0; gen->providers != NULL && i < gen->n_providers; i++)
		bc_instance_destroy(gen->providers[i]);
	bc_instance_destroy(gen->store);
	bc_webhook_set_free(gen->webhooks);
	free(gen->frontends);
	free(gen->providers);
	bc_doc_free(gen->doc);
	free(gen);
}

/* A frontend's options the host reads itself, per generation (struct
 * bc_frontend_auth): a change of only these keeps the running instance,
 * its listeners and connections, and swaps the auth settings. */
static const char *const frontend_host_keys[] = { "tokens_file", "rate_limit", "rate_burst",
	                                          "auth_fail_limit", "max_body", NULL };

/* Can the running frontend `inst` serve with `cfg`, which differs from its
 * own at most in frontend_host_keys? A frontend may read two of them
 * itself at create(): whether tokens_file is set (the http frontend's
 * listen and Host rules) and max_body (how much of a body it reads before
 * the dispatcher sees it is too large). Those must not change in a way the
 * running instance would not follow. */
static int frontend_follows(const struct bc_instance *inst, const struct bc_config *cfg)
{
	const struct bc_config *was = bc_instance_config(inst);
	return bc_config_is_set(was, "tokens_file") == bc_config_is_set(cfg, "tokens_file") &&
	       bc_config_int(cfg, "max_body") <= bc_config_int(was, "max_body");
}

/* An instance of `old` to carry over for `map`: same kind, name, type and
 * option values (for a frontend, the host's own options may differ, see
 * frontend_host_keys). Returns it with a new reference, or NULL. *cfg_out
 * (may be NULL) gets the configuration built from `map` for the new
 * generation when an instance is returned; free it with bc_config_free(). */
static struct bc_instance *reusable(const struct bc_registry *reg, struct bc_generation *old,
                                    enum bc_kind kind, const struct bc_doc *doc,
                                    const struct bc_node *map, struct bc_config **cfg_out)
{
	struct bc_instance *cands[256];
	size_t n = 0;
	const struct bc_node *type = bc_node_get(map, "type");
	const struct bc_loaded_plugin *plugin;
	struct bc_config *cfg = NULL;
	char *msg = NULL;
	struct bc_instance *found = NULL;

	if (cfg_out != NULL)
		*cfg_out = NULL;
	if (old == NULL || type == NULL || type->kind != BC_NODE_SCALAR)
		return NULL;
	plugin = bc_registry_find(reg, kind, type->value);
	if (plugin == NULL)
		return NULL;
	if (kind == BC_KIND_STORE && old->store)
		cands[n++] = old->store;
	for (size_t i = 0; kind == BC_KIND_PROVIDER && i < old->n_providers && n < 256; i++)
		cands[n++] = old->providers[i];
	for (size_t i = 0; kind == BC_KIND_FRONTEND && i < old->n_frontends && n < 256; i++)
		cands[n++] = old->frontends[i].inst;
	if (bc_config_build(doc, map, "reload", plugin->desc.options, bc_common_options(kind),
	                    &cfg, &msg) != 0 ||
	    bc_instance_check_host_options(kind, doc, map, "reload", cfg, &msg) != 0) {
		/* bc_instance_create() reports it, with the instance's name */
		free(msg);
		bc_config_free(cfg);
		return NULL;
	}
	for (size_t i = 0; i < n && found == NULL; i++)
		if (bc_instance_plugin(cands[i]) == plugin &&
		    bc_config_equal(bc_instance_config(cands[i]), cfg))
			found = cands[i];
	for (size_t i = 0; kind == BC_KIND_FRONTEND && i < n && found == NULL; i++)
		if (bc_instance_plugin(cands[i]) == plugin &&
		    bc_config_equal_except(bc_instance_config(cands[i]), cfg, frontend_host_keys) &&
		    frontend_follows(cands[i], cfg))
			found = cands[i];
	if (found != NULL) {
		bc_instance_ref(found);
		if (cfg_out != NULL) {
			*cfg_out = cfg;
			cfg = NULL;
		}
	}
	bc_config_free(cfg);
	return found;
}

/* The instance for `map`: carried over from `old` or created. *cfg_out
 * (may be NULL) as for reusable(): NULL when the instance was created
 * (then its own configuration is the new one). */
static enum bc_status get_instance(struct bc_context *ctx, struct bc_generation *old,
                                   enum bc_kind kind, const struct bc_doc *doc,
                                   const struct bc_node *map, struct bc_instance **out,
                                   struct bc_config **cfg_out, char **errmsg)
{
	*out = reusable(ctx->reg, old, kind, doc, map, cfg_out);
	if (*out != NULL) {
		bc_log(BC_LOG_DEBUG, bc_instance_name(*out), "unchanged, kept");
		return BC_OK;
	}
	return bc_instance_create(ctx->reg, kind, doc, map, ctx, out, errmsg);
}

static int check_unique_name(const struct bc_doc *doc, const struct bc_node *map,
                             struct bc_instance *const *others, size_t n,
                             struct bc_instance *inst, char **errmsg)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(bc_instance_name(others[i]), bc_instance_name(inst)) == 0) {
			const struct bc_node *nm = bc_node_get(map, "name");
			*errmsg = bc_doc_error_at(doc, nm ? nm : map,
			                          "two instances are named '%s'; give each a "
			                          "distinct `name:`", bc_instance_name(inst));
			return -1;
		}
	return 0;
}

/* The host's per-generation settings of frontend a->inst from `cfg`, the
 * configuration of this generation (which for a carried-over instance may
 * name another tokens_file, other limits than the instance's own). */
static int frontend_auth_init(const struct bc_doc *doc, const struct bc_node *map,
                              const struct bc_config *cfg, struct bc_frontend_auth *a,
                              char **errmsg)
{
	a->max_body = (size_t)bc_config_int(cfg, "max_body");
	if (bc_config_is_set(cfg, "tokens_file")) {
		char *why = NULL;
		if (bc_tokens_load(bc_config_str(cfg, "tokens_file"), &a->tokens, &why) != BC_OK) {
			const struct bc_node *n = bc_node_get(map, "tokens_file");
			*errmsg = bc_doc_error_at(doc, n ? n : map, "frontend %s: tokens_file: %s",
			                          bc_instance_name(a->inst), why ? why : "unreadable");
			free(why);
			return -1;
		}
		/* "N/m": N failures at once, then N a minute (validated by
		 * instance.c; the default is in the option table). */
		if (bc_config_is_set(cfg, "auth_fail_limit")) {
			const char *text = bc_config_str(cfg, "auth_fail_limit");
			double rate = 1, burst = strtod(text, NULL);
			bc_parse_rate(text, &rate);
			a->auth_failures = bc_ratelimit_create(rate, burst < 1 ? 1 : burst);
			if (a->auth_failures == NULL) {
				*errmsg = strdup("out of memory");
				return -1;
			}
		}
	}
	if (bc_config_is_set(cfg, "rate_limit")) {
		double rate = 1, burst;
		bc_parse_rate(bc_config_str(cfg, "rate_limit"), &rate);
		burst = bc_config_is_set(cfg, "rate_burst") ? (double)bc_config_int(cfg, "rate_burst")
		                                             : (rate < 1 ? 1 : rate);
		a->limiter = bc_ratelimit_create(rate, burst);
		if (a->limiter == NULL) {
			*errmsg = strdup("out of memory");
			return -1;
		}
	}
	return 0;
}

static const char *const top_keys[] = { "log", "plugin_dir", "store", "providers", "frontends",
	                                "webhooks", NULL };

static int check_top_level(const struct bc_doc *doc, char **errmsg)
{
	const struct bc_node *root = doc->root;
	if (root->kind != BC_NODE_MAP) {
		*errmsg = bc_doc_error_at(doc, root, "the configuration must be a map with store, "
		                          "providers and frontends");
		return -1;
	}
	for (size_t i = 0; i < root->n_items; i++) {
		int known = 0;
		for (size_t k = 0; top_keys[k] && !known; k++)
			known = strcmp(root->items[i]->key, top_keys[k]) == 0;
		if (!known) {
			*errmsg = bc_doc_error_at_key(doc, root->items[i],
			                              "unknown top-level key '%s'; valid keys: log, "
			                              "plugin_dir, store, providers, frontends, "
			                              "webhooks",
			                              root->items[i]->key);
			return -1;
		}
	}
	const struct bc_node *log = bc_node_get(root, "log");
	if (log != NULL) {
		if (log->kind != BC_NODE_MAP) {
			*errmsg = bc_doc_error_at(doc, log, "`log` must be a map, e.g. `log: {level: info}`");
			return -1;
		}
		for (size_t i = 0; i < log->n_items; i++) {
			const struct bc_node *it = log->items[i];
			if (strcmp(it->key, "level") != 0) {
				*errmsg = bc_doc_error_at_key(doc, it, "unknown key '%s' in log; valid "
				                              "keys: level", it->key);
				return -1;
			}
			if (it->kind != BC_NODE_SCALAR || bc_log_level_parse(it->value) < 0) {
				*errmsg = bc_doc_error_at(doc, it, "log level must be one of error, warn, "
				                          "info, debug");
				return -1;
			}
		}
	}
	const struct bc_node *pd = bc_node_get(root, "plugin_dir");
	if (pd != NULL && pd->kind == BC_NODE_MAP) {
		*errmsg = bc_doc_error_at(doc, pd, "plugin_dir must be a directory or a list of them");
		return -1;
	}
	const struct bc_node *store = bc_node_get(root, "store");
	if (store == NULL) {
		*errmsg = bc_doc_error_at(doc, root, "no `store` configured; add e.g. `store: {type: "
		                          "sqlite, path: /var/lib/broadcast/streams.db}`");
		return -1;
	}
	const struct bc_node *prov = bc_node_get(root, "providers");
	if (prov == NULL || prov->kind != BC_NODE_SEQ || prov->n_items == 0) {
		*errmsg = bc_doc_error_at(doc, prov ? prov : root,
		                          "`providers` must be a non-empty list, e.g. `providers: "
		                          "[{type: local}]`");
		return -1;
	}
	const struct bc_node *fe = bc_node_get(root, "frontends");
	if (fe != NULL && fe->kind != BC_NODE_SEQ) {
		*errmsg = bc_doc_error_at(doc, fe, "`frontends` must be a list, e.g. `frontends: "
		                          "[{type: http, listen: \"127.0.0.1:8080\"}]`");
		return -1;
	}
	return 0;
}

/* Build a generation from `doc` (taken over), carrying instances of `old`. */
static enum bc_status gen_build(struct bc_context *ctx, struct bc_doc *doc,
                                struct bc_generation *old, struct bc_generation **out,
                                char **errmsg)
{
	struct bc_generation *gen = calloc(1, sizeof *gen);
	const struct bc_node *root = doc->root, *prov, *fe;
	struct bc_instance *inst = NULL;
	enum bc_status st = BC_E_INVALID;

	*out = NULL;
	*errmsg = NULL;
	if (gen == NULL) {
		bc_doc_free(doc);
		*errmsg = strdup("out of memory");
		return BC_E_NOMEM;
	}
	gen->doc = doc;
	if (check_top_level(doc, errmsg) != 0)
		goto fail;
	{
		const struct bc_node *log = bc_node_get(root, "log");
		const struct bc_node *lv = log ? bc_node_get(log, "level") : NULL;
		bc_log_set_level(lv ? (enum bc_log_level)bc_log_level_parse(lv->value) : BC_LOG_INFO);
	}
	st = get_instance(ctx, old, BC_KIND_STORE, doc, bc_node_get(root, "store"), &gen->store,
	                  NULL, errmsg);
	if (st != BC_OK)
		goto fail;
	st = bc_webhook_set_build(doc, bc_node_get(root, "webhooks"), &gen->webhooks, errmsg);
	if (st != BC_OK)
		goto fail;
	for (size_t i = 0; gen->webhooks != NULL && i < gen->webhooks->n; i++) {
		/* The feed must keep an event until its webhooks are done with it. */
		int64_t keep = bc_config_int(bc_instance_config(gen->store), "event_retention");
		int64_t age = bc_config_int(gen->webhooks->cfgs[i], "max_age");
		if (keep > 0 && keep < age)
			bc_log(BC_LOG_WARN, gen->webhooks->names[i], "the store's event_retention is "
			       "shorter than this webhook's max_age: events it has not delivered yet "
			       "may be pruned first (and are then never sent); raise event_retention");
	}

	prov = bc_node_get(root, "providers");
	gen->providers = calloc(prov->n_items, sizeof *gen->providers);
	if (gen->providers == NULL)
		goto nomem;
	for (size_t i = 0; i < prov->n_items; i++) {
		st = get_instance(ctx, old, BC_KIND_PROVIDER, doc, prov->items[i], &inst, NULL,
		                  errmsg);
		if (st != BC_OK)
			goto fail;
		st = BC_E_INVALID;
		if (check_unique_name(doc, prov->items[i], gen->providers, gen->n_providers, inst,
		                      errmsg) != 0) {
			bc_instance_destroy(inst);
			goto fail;
		}
		gen->providers[gen->n_providers++] = inst;
	}

	fe = bc_node_get(root, "frontends");
	if (fe != NULL && fe->n_items > 0) {
		gen->frontends = calloc(fe->n_items, sizeof *gen->frontends);
		if (gen->frontends == NULL)
			goto nomem;
	}
	for (size_t i = 0; fe != NULL && i < fe->n_items; i++) {
		struct bc_frontend_auth *a = &gen->frontends[gen->n_frontends];
		struct bc_config *cfg = NULL;
		int rc;
		st = get_instance(ctx, old, BC_KIND_FRONTEND, doc, fe->items[i], &inst, &cfg,
		                  errmsg);
		if (st != BC_OK)
			goto fail;
		st = BC_E_INVALID;
		for (size_t k = 0; k < gen->n_frontends; k++)
			if (strcmp(bc_instance_name(gen->frontends[k].inst), bc_instance_name(inst)) == 0) {
				const struct bc_node *nm = bc_node_get(fe->items[i], "name");
				*errmsg = bc_doc_error_at(doc, nm ? nm : fe->items[i],
				                          "two frontends are named '%s'; give each a "
				                          "distinct `name:`", bc_instance_name(inst));
				bc_instance_destroy(inst);
				bc_config_free(cfg);
				goto fail;
			}
		a->inst = inst;
		gen->n_frontends++;
		rc = frontend_auth_init(doc, fe->items[i], cfg ? cfg : bc_instance_config(inst), a,
		                        errmsg);
		bc_config_free(cfg);
		if (rc != 0)
			goto fail;
	}
	*out = gen;
	return BC_OK;
nomem:
	st = BC_E_NOMEM;
fail:
	/* A helper that could not allocate its message leaves it NULL. */
	if (*errmsg == NULL) {
		*errmsg = strdup("out of memory");
		st = BC_E_NOMEM;
	}
	gen_free(gen);
	return st;
}

/* Start the frontends of gen that are not serving yet. */
static enum bc_status gen_serve(struct bc_generation *gen, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < gen->n_frontends; i++) {
		struct bc_instance *f = gen->frontends[i].inst;
		struct bc_error err;
		enum bc_status st;
		if (bc_instance_started(f))
			continue;
		bc_error_clear(&err);
		st = bc_instance_plugin(f)->ops.frontend.start(bc_instance_state(f), &err);
		if (st != BC_OK) {
			set_err(errbuf, errlen, "frontend %s: %s: %s", bc_instance_name(f),
			        err.code[0] ? err.code : bc_status_name(st), err.message);
			return st;
		}
		bc_instance_set_started(f, 1);
	}
	return BC_OK;
}

static void drain_frontend(struct bc_instance *f, int64_t timeout_ms)
{
	if (!bc_instance_started(f))
		return;
	bc_instance_plugin(f)->ops.frontend.drain(bc_instance_state(f), timeout_ms);
	bc_instance_set_started(f, 0);
}

static int gen_holds(const struct bc_generation *gen, const struct bc_instance *f)
{
	for (size_t i = 0; gen != NULL && i < gen->n_frontends; i++)
		if (gen->frontends[i].inst == f)
			return 1;
	return 0;
}

/* ---- the context ------------------------------------------------------------ */

static int names_type(const struct bc_node *map, const char *name)
{
	const struct bc_node *type = map ? bc_node_get(map, "type") : NULL;
	return type != NULL && type->kind == BC_NODE_SCALAR && strcmp(type->value, name) == 0;
}

/* bc_plugin_wanted_fn: does the document name this plugin? Only those stay
 * loaded, so the default configuration maps neither libcurl nor libpq. */
static int doc_wants(enum bc_kind kind, const char *name, void *arg)
{
	const struct bc_doc *doc = arg;
	const char *section = kind == BC_KIND_PROVIDER ? "providers"
	                      : kind == BC_KIND_FRONTEND ? "frontends" : NULL;
	const struct bc_node *list;

	if (kind == BC_KIND_STORE)
		return names_type(bc_node_get(doc->root, "store"), name);
	list = section ? bc_node_get(doc->root, section) : NULL;
	for (size_t i = 0; list != NULL && list->kind == BC_NODE_SEQ && i < list->n_items; i++)
		if (names_type(list->items[i], name))
			return 1;
	return 0;
}

static char **plugin_dirs(const struct bc_doc *doc)
{
	const struct bc_node *pd = bc_node_get(doc->root, "plugin_dir");
	const char *dirs[65];
	size_t n = 0;
	if (pd != NULL && pd->kind == BC_NODE_SCALAR)
		dirs[n++] = pd->value;
	for (size_t i = 0; pd != NULL && pd->kind == BC_NODE_SEQ && i < pd->n_items && n < 64; i++)
		if (pd->items[i]->kind == BC_NODE_SCALAR)
			dirs[n++] = pd->items[i]->value;
	dirs[n] = NULL;
	return bc_plugin_search_path(dirs);
}

static enum bc_status open_doc(struct bc_doc *doc, const char *path, int check_only,
                               struct bc_context **out, char *errbuf, size_t errlen)
{
	struct bc_context *ctx = calloc(1, sizeof *ctx);
	char **dirs = NULL, *msg = NULL;
	enum bc_status st;

	*out = NULL;
	if (ctx == NULL) {
		bc_doc_free(doc);
		set_err(errbuf, errlen, "out of memory");
		return BC_E_NOMEM;
	}
	/* One context per process (broadcast/embed.h; log.c). */
	if (!check_only && bc_log_attach(ctx, errbuf, errlen) != BC_OK) {
		bc_doc_free(doc);
		free(ctx);
		return BC_E_CONFLICT;
	}
	ctx->check_only = check_only;
	pthread_mutex_init(&ctx->lock, NULL);
	bc_cond_init(&ctx->cond);
	ctx->wake_fd = -1;
	ctx->metrics = bc_metrics_create();
	ctx->media = check_only ? NULL : bc_media_create(ctx);
	ctx->webhooks = check_only ? NULL : bc_webhooks_create(ctx);
	ctx->path = path ? strdup(path) : NULL;
	dirs = plugin_dirs(doc);
	ctx->reg = dirs ? bc_registry_load_wanted((const char *const *)dirs, doc_wants, doc) : NULL;
	bc_strv_free(dirs);
	if (ctx->metrics == NULL || ctx->reg == NULL || (path && ctx->path == NULL) ||
	    (!check_only && (ctx->media == NULL || ctx->webhooks == NULL))) {
		bc_doc_free(doc);
		set_err(errbuf, errlen, "out of memory");
		bc_context_close(ctx);
		return BC_E_NOMEM;
	}
	st = gen_build(ctx, doc, NULL, &ctx->gen, &msg);
	if (st != BC_OK) {
		if (msg == NULL)
			st = BC_E_NOMEM;
		set_err(errbuf, errlen, "%s", msg ? msg : "out of memory");
		free(msg);
		bc_context_close(ctx);
		return st;
	}
	if (!check_only) {
		/* ABI 1.1: the providers take back the live streams before any
		 * frontend serves; then the timers and the media worker run. */
		bc_media_resume(ctx, ctx->gen, NULL);
		if (bc_media_start(ctx->media) != 0) {
			set_err(errbuf, errlen, "cannot start the media and timer threads");
			bc_context_close(ctx);
			return BC_E_INTERNAL;
		}
		bc_webhooks_apply(ctx->webhooks, ctx->gen->webhooks);
	}
	*out = ctx;
	return BC_OK;
}

enum bc_status bc_context_open(const char *path, struct bc_context **out, char *errbuf,
                               size_t errlen)
{
	return bc_ctx_open_checked(path, 0, out, errbuf, errlen);
}

enum bc_status bc_ctx_open_checked(const char *path, int check_only,
                                       struct bc_context **out, char *errbuf, size_t errlen)
{
	struct bc_doc *doc = NULL;
	char *msg = NULL;
	enum bc_status st;
	*out = NULL;
	st = bc_doc_load_file(path, &doc, &msg);
	if (st != BC_OK) {
		if (msg == NULL)
			st = BC_E_NOMEM;
		set_err(errbuf, errlen, "%s", msg ? msg : "out of memory");
		free(msg);
		return st;
	}
	return open_doc(doc, path, check_only, out, errbuf, errlen);
}

enum bc_status bc_context_open_string(const char *name, const char *text, size_t len,
                                      struct bc_context **out, char *errbuf, size_t errlen)
{
	struct bc_doc *doc = NULL;
	char *msg = NULL;
	enum bc_status st;
	*out = NULL;
	st = bc_doc_load_string(name, text, len, &doc, &msg);
	if (st != BC_OK) {
		if (msg == NULL)
			st = BC_E_NOMEM;
		set_err(errbuf, errlen, "%s", msg ? msg : "out of memory");
		free(msg);
		return st;
	}
	return open_doc(doc, NULL, 0, out, errbuf, errlen);
}

enum bc_status bc_context_serve(struct bc_context *ctx, char *errbuf, size_t errlen)
{
	ctx->serving = 1;
	return gen_serve(ctx->gen, errbuf, errlen);
}

/* Wait until nothing runs on gen any more, then free it. */
static void retire(struct bc_context *ctx, struct bc_generation *old)
{
	struct timespec until;
	int timed_out = 0;
	bc_cond_deadline(&until, RETIRE_TIMEOUT_MS);
	pthread_mutex_lock(&ctx->lock);
	while (old->inflight > 0 && !timed_out)
		timed_out = pthread_cond_timedwait(&ctx->cond, &ctx->lock, &until) == ETIMEDOUT;
	pthread_mutex_unlock(&ctx->lock);
	if (old->inflight > 0) {
		/* Freeing it under a running request would crash; leaking it is
		 * the lesser harm, and says so. */
		bc_log(BC_LOG_ERROR, "context", "%u request(s) still run on the old configuration "
		       "after %d s; its memory is not freed", old->inflight, RETIRE_TIMEOUT_MS / 1000);
		return;
	}
	gen_free(old);
}

static void publish_reload(struct bc_context *ctx, enum bc_status st, const char *msg)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->reload_status = st;
	snprintf(ctx->reload_msg, sizeof ctx->reload_msg, "%s", msg ? msg : "");
	ctx->reload_seq++;
	pthread_cond_broadcast(&ctx->cond);
	pthread_mutex_unlock(&ctx->lock);
}

/* A reloaded file may name a plugin the running one did not. */
static int rescan(struct bc_context *ctx, const struct bc_doc *doc)
{
	char **dirs = plugin_dirs(doc);
	if (dirs == NULL)
		return -1;
	bc_registry_scan(ctx->reg, (const char *const *)dirs, doc_wants, (void *)doc);
	bc_strv_free(dirs);
	return 0;
}

/* Every secret option value of gen's instances, for bc_log_keep_secrets(). */
static void gen_secrets(void (*add)(const char *secret, void *arg), void *add_arg,
                        void *walk_arg)
{
	const struct bc_generation *gen = walk_arg;
	if (gen->store != NULL)
		bc_config_each_secret(bc_instance_config(gen->store), add, add_arg);
	for (size_t i = 0; i < gen->n_providers; i++)
		bc_config_each_secret(bc_instance_config(gen->providers[i]), add, add_arg);
	for (size_t i = 0; i < gen->n_frontends; i++)
		bc_config_each_secret(bc_instance_config(gen->frontends[i].inst), add, add_arg);
	bc_webhook_set_each_secret(gen->webhooks, add, add_arg);
}

enum bc_status bc_context_reload(struct bc_context *ctx, char *errbuf, size_t errlen)
{
	struct bc_doc *doc = NULL;
	struct bc_generation *gen = NULL, *old;
	char *msg = NULL;
	char buf[512];
	enum bc_status st;
	enum bc_log_level saved_level = bc_log_get_level();

	if (ctx->path == NULL) {
		set_err(errbuf, errlen, "this context was not opened from a file; nothing to re-read");
		publish_reload(ctx, BC_E_UNSUPPORTED, "the configuration was not read from a file");
		return BC_E_UNSUPPORTED;
	}
	st = bc_doc_load_file(ctx->path, &doc, &msg);
	if (st == BC_OK && rescan(ctx, doc) != 0) {
		bc_doc_free(doc);
		st = BC_E_NOMEM;
	} else if (st == BC_OK)
		st = gen_build(ctx, doc, ctx->gen, &gen, &msg);
	if (st != BC_OK) {
		if (msg == NULL)
			st = BC_E_NOMEM;
		bc_log(BC_LOG_ERROR, "broadcastd", "reload failed: %s; the running configuration "
		       "stays in force", msg ? msg : "out of memory");
		set_err(errbuf, errlen, "%s", msg ? msg : "out of memory");
		publish_reload(ctx, st, msg);
		free(msg);
		bc_log_set_level(saved_level);
		return st;
	}
	if (ctx->media != NULL)
		bc_media_resume(ctx, gen, ctx->gen);
	if (ctx->serving && (st = gen_serve(gen, buf, sizeof buf)) != BC_OK) {
		bc_log(BC_LOG_ERROR, "broadcastd", "reload failed: %s; the running configuration "
		       "stays in force", buf);
		set_err(errbuf, errlen, "%s", buf);
		/* Stop what this attempt started before freeing it. */
		for (size_t i = 0; i < gen->n_frontends; i++)
			if (!gen_holds(ctx->gen, gen->frontends[i].inst))
				drain_frontend(gen->frontends[i].inst, 0);
		gen_free(gen);
		bc_log_set_level(saved_level);
		publish_reload(ctx, st, buf);
		return st;
	}
	pthread_mutex_lock(&ctx->lock);
	old = ctx->gen;
	ctx->gen = gen;
	pthread_mutex_unlock(&ctx->lock);
	bc_media_generation_changed(ctx);
	/* Unchanged webhooks keep running; changed ones restart from their
	 * cursor (docs/webhooks.md). */
	bc_webhooks_apply(ctx->webhooks, gen->webhooks);
	bc_log(BC_LOG_INFO, "broadcastd", "configuration reloaded");
	publish_reload(ctx, BC_OK, NULL);
	for (size_t i = 0; i < old->n_frontends; i++)
		if (!gen_holds(gen, old->frontends[i].inst))
			drain_frontend(old->frontends[i].inst, DRAIN_TIMEOUT_MS);
	retire(ctx, old);
	bc_log_keep_secrets(gen_secrets, gen);
	return BC_OK;
}

void bc_context_drain(struct bc_context *ctx, int64_t timeout_ms)
{
	if (ctx == NULL || ctx->gen == NULL || ctx->drained)
		return;
	/* Long-polls of the events op answer now instead of holding the drain. */
	bc_media_wake_readers(ctx->media);
	for (size_t i = 0; i < ctx->gen->n_frontends; i++)
		drain_frontend(ctx->gen->frontends[i].inst, timeout_ms);
	ctx->drained = 1;
}

void bc_context_close(struct bc_context *ctx)
{
	if (ctx == NULL)
		return;
	bc_context_drain(ctx, DRAIN_TIMEOUT_MS);
	bc_webhooks_stop(ctx->webhooks); /* its threads use the generation and media */
	bc_media_stop(ctx->media); /* its threads use the generation */
	if (ctx->gen != NULL)
		retire(ctx, ctx->gen);
	bc_media_free(ctx->media);
	bc_webhooks_free(ctx->webhooks);
	bc_registry_free(ctx->reg);
	bc_metrics_free(ctx->metrics);
	pthread_cond_destroy(&ctx->cond);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->path);
	bc_log_detach(ctx);
	free(ctx);
}

struct bc_generation *bc_gen_acquire(struct bc_context *ctx)
{
	struct bc_generation *gen;
	pthread_mutex_lock(&ctx->lock);
	gen = ctx->gen;
	gen->inflight++;
	pthread_mutex_unlock(&ctx->lock);
	return gen;
}

void bc_gen_release(struct bc_context *ctx, struct bc_generation *gen)
{
	pthread_mutex_lock(&ctx->lock);
	if (--gen->inflight == 0)
		pthread_cond_broadcast(&ctx->cond);
	pthread_mutex_unlock(&ctx->lock);
}

struct bc_media *bc_ctx_media(struct bc_context *ctx)
{
	return ctx->media;
}

struct bc_webhooks *bc_ctx_webhooks(struct bc_context *ctx)
{
	return ctx->webhooks;
}

struct bc_metrics *bc_ctx_metrics(struct bc_context *ctx)
{
	return ctx->metrics;
}

const struct bc_registry *bc_ctx_registry(struct bc_context *ctx)
{
	return ctx->reg;
}

int bc_ctx_check_only(const struct bc_context *ctx)
{
	return ctx != NULL && ctx->check_only;
}

void bc_daemon_set_wakeup(struct bc_context *ctx, int fd)
{
	ctx->wake_fd = fd;
}

enum bc_status bc_ctx_request_reload(struct bc_context *ctx, struct bc_error *err)
{
	unsigned seq;
	enum bc_status st;
	if (ctx->wake_fd < 0)
		return bc_fail(err, BC_E_UNSUPPORTED, "api.reload_unavailable",
		               "this process does not take reload requests; reload it the way "
		               "it was started (SIGHUP for broadcastd)");
	pthread_mutex_lock(&ctx->lock);
	seq = ctx->reload_seq;
	pthread_mutex_unlock(&ctx->lock);
	if (write(ctx->wake_fd, "R", 1) != 1)
		return bc_fail(err, BC_E_INTERNAL, "api.reload_failed", "cannot wake the main loop");
	pthread_mutex_lock(&ctx->lock);
	while (ctx->reload_seq == seq)
		pthread_cond_wait(&ctx->cond, &ctx->lock);
	st = ctx->reload_status;
	if (st != BC_OK)
		bc_fail(err, st, "config.invalid", "reload refused: %s", ctx->reload_msg);
	pthread_mutex_unlock(&ctx->lock);
	return st;
}

/* ---- calls ------------------------------------------------------------------------ */

void bc_context_call(struct bc_context *ctx, const struct bc_request *request,
                     struct bc_response *response)
{
	bc_dispatch(ctx, NULL, request, response);
}

static enum bc_status simple_call(struct bc_context *ctx, const char *op, const char *const *kv,
                                  const char *owner, struct bc_response *response)
{
	struct bc_request req;
	memset(&req, 0, sizeof req);
	req.struct_size = sizeof req;
	req.op = op;
	req.params = kv;
	req.caller = owner;
	if (response->struct_size == 0)
		response->struct_size = sizeof *response;
	bc_dispatch(ctx, NULL, &req, response);
	return response->code;
}

enum bc_status bc_stream_start(struct bc_context *ctx, const char *type, const char *name,
                               const char *owner, struct bc_response *response)
{
	const char *kv[5];
	size_t n = 0;
	if (type != NULL) {
		kv[n++] = "type";
		kv[n++] = type;
	}
	if (name != NULL) {
		kv[n++] = "name";
		kv[n++] = name;
	}
	kv[n] = NULL;
	return simple_call(ctx, "start", kv, owner, response);
}

enum bc_status bc_stream_stop(struct bc_context *ctx, const char *id, const char *owner,
                              struct bc_response *response)
{
	const char *kv[3] = { "id", id ? id : "", NULL };
	return simple_call(ctx, "stop", kv, owner, response);
}

void bc_response_release(struct bc_response *response)
{
	bc_resp_free_fields(response);
}

/* ---- typed start (ABI 1.1) ----------------------------------------------------------- */

/* What host_private of a struct bc_started points to. */
struct started_priv {
	json_t *body;                    /* the parsed answer the strings borrow from */
	struct bc_started_field *fields;
	char **texts;                    /* values that are not JSON strings, as text */
	size_t n_texts;
};

static void started_priv_free(struct started_priv *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_texts; i++)
		free(p->texts[i]);
	free(p->texts);
	free(p->fields);
	json_decref(p->body);
	free(p);
}

static int is_secret_field(json_t *secrets, const char *section, const char *field)
{
	size_t i;
	json_t *pair;
	json_array_foreach(secrets, i, pair) {
		const char *s = json_string_value(json_array_get(pair, 0));
		const char *f = json_string_value(json_array_get(pair, 1));
		if (s != NULL && f != NULL && strcmp(s, section) == 0 && strcmp(f, field) == 0)
			return 1;
	}
	return 0;
}

/* Fill `out` from the JSON answer of a successful start. */
static enum bc_status started_fill(const struct bc_response *resp, json_t *secrets,
                                   struct bc_started *out)
{
	struct started_priv *p = calloc(1, sizeof *p);
	json_t *stream, *endpoint, *section;
	const char *key;
	size_t n = 0, k = 0;
	struct tm tm;

	if (p == NULL)
		return BC_E_NOMEM;
	p->body = json_loadb(resp->body, resp->body_len, 0, NULL);
	stream = json_object_get(p->body, "stream");
	endpoint = json_object_get(p->body, "endpoint");
	if (p->body == NULL || !json_is_object(stream)) {
		started_priv_free(p);
		return BC_E_NOMEM; /* the library wrote it: only memory can fail */
	}
	json_object_foreach(endpoint, key, section)
		n += json_is_object(section) ? json_object_size(section) : 0;
	if (n > 0 && ((p->fields = calloc(n, sizeof *p->fields)) == NULL ||
	              (p->texts = calloc(n, sizeof *p->texts)) == NULL)) {
		started_priv_free(p);
		return BC_E_NOMEM;
	}
	json_object_foreach(endpoint, key, section) {
		const char *field;
		json_t *v;
		if (!json_is_object(section))
			continue;
		json_object_foreach(section, field, v) {
			struct bc_started_field *f;
			if (p->fields == NULL || k >= n)
				break; /* counted above: cannot happen */
			f = &p->fields[k++];
			f->struct_size = sizeof *f;
			f->section = key;
			f->name = field;
			f->is_secret = is_secret_field(secrets, key, field);
			if (json_is_string(v)) {
				f->value = json_string_value(v);
				continue;
			}
			p->texts[p->n_texts] = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			if (p->texts[p->n_texts] == NULL) {
				started_priv_free(p);
				return BC_E_NOMEM;
			}
			f->value = p->texts[p->n_texts++];
		}
	}
	out->id = json_string_value(json_object_get(stream, "id"));
	out->name = json_string_value(json_object_get(stream, "name"));
	out->start_date = json_string_value(json_object_get(stream, "start_date"));
	if (out->id == NULL)
		out->id = "";
	if (out->name == NULL)
		out->name = "";
	if (out->start_date == NULL)
		out->start_date = "";
	memset(&tm, 0, sizeof tm);
	if (strptime(out->start_date, "%Y-%m-%d %H:%M:%S", &tm) != NULL)
		out->start_ms = (int64_t)timegm(&tm) * 1000;
	out->n_fields = k;
	out->fields = p->fields;
	out->host_private = p;
	return BC_OK;
}

enum bc_status bc_stream_start_typed(struct bc_context *ctx, const char *type, const char *name,
                                     const char *owner, struct bc_started *started,
                                     struct bc_response *response)
{
	struct bc_response own;
	struct bc_response *resp = response;
	json_t *secrets;
	enum bc_status st;
	size_t size;

	if (started == NULL || started->struct_size < sizeof *started)
		return BC_E_INVALID;
	size = started->struct_size;
	memset(started, 0, sizeof *started);
	started->struct_size = size;
	if (resp == NULL) {
		memset(&own, 0, sizeof own);
		own.struct_size = sizeof own;
		resp = &own;
	}
	bc_ep_capture_begin();
	st = bc_stream_start(ctx, type, name, owner, resp);
	secrets = bc_ep_capture_end();
	if (st == BC_OK && secrets == NULL)
		st = BC_E_NOMEM;
	if (st == BC_OK)
		st = started_fill(resp, secrets, started);
	json_decref(secrets);
	if (resp == &own)
		bc_response_release(&own);
	return st;
}

void bc_stream_started_release(struct bc_started *started)
{
	size_t size;
	if (started == NULL)
		return;
	started_priv_free(started->host_private);
	size = started->struct_size;
	memset(started, 0, sizeof *started);
	started->struct_size = size;
}
