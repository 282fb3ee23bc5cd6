/* SPDX-License-Identifier: Apache-2.0 */
/*
 * instance.c: one configured instance of a plugin (struct bc_instance).
 *
 * An instance is what one YAML map under `store`, `providers` or `frontends`
 * becomes: its options validated against the plugin's declaration and the
 * host's common options, its secrets registered with the logger, then the
 * plugin's check() (ABI 1.1; --check-config stops there) and create(). Instances are reference counted because a reload may
 * carry an unchanged instance into the new configuration while requests of
 * the old one still run. The struct bc_host a plugin receives is the
 * instance itself; host.c implements the table of functions.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"
#include "bc_runtime.h"

struct bc_instance {
	struct bc_context *ctx;
	const struct bc_loaded_plugin *plugin;
	enum bc_kind kind;
	char *name;
	struct bc_config *cfg;
	void *state;
	int serialise;
	pthread_mutex_t lock;
	atomic_uint refs;
	int started;
};

static const struct bc_option provider_common[] = {
	BC_OPTION(.name = "name", .type = BC_OPT_STRING,
	          .description = "Instance name used in logs, metrics, the `provider` "
	                         "parameter and stored records (default: the type)."),
	BC_OPTION(.name = "type", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "The plugin that serves this instance."),
	BC_OPTION(.name = "stream_types", .type = BC_OPT_LIST,
	          .description = "Stream types (the `type` parameter of start) this instance "
	                         "serves (default: the plugin's own list)."),
	BC_OPTION(.name = "idle_timeout", .type = BC_OPT_DURATION, .default_value = "0",
	          .min = 0, .max = INT64_C(366) * 86400 * 1000,
	          .description = "Stop a live stream of this instance whose media has been "
	                         "idle this long (never published since its start, or idle "
	                         "or gone since the provider last said so), with stop_reason "
	                         "idle_timeout; 0: never (docs/events.md)."),
	BC_OPTION(.name = "max_duration", .type = BC_OPT_DURATION, .default_value = "0",
	          .min = 0, .max = INT64_C(366) * 86400 * 1000,
	          .description = "Stop a live stream of this instance this long after its "
	                         "start, with stop_reason max_duration; 0: never "
	                         "(docs/events.md)."),
	BC_OPTION_END
};

static const struct bc_option store_common[] = {
	BC_OPTION(.name = "name", .type = BC_OPT_STRING,
	          .description = "Instance name used in logs and metrics (default: the type)."),
	BC_OPTION(.name = "type", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "The plugin that serves this instance."),
	BC_OPTION(.name = "event_retention", .type = BC_OPT_DURATION, .default_value = "7d",
	          .min = 0, .max = INT64_C(3660) * 86400 * 1000,
	          .description = "Delete events of the feed (GET /events) older than this, "
	                         "checked every minute; 0: keep them whatever their age "
	                         "(docs/events.md)."),
	BC_OPTION(.name = "event_max", .type = BC_OPT_INT, .default_value = "100000", .min = 0,
	          .max = INT64_C(1000000000),
	          .description = "Keep at most this many of the newest events, deleting older "
	                         "ones every minute; 0: no count bound (docs/events.md)."),
	BC_OPTION_END
};

static const struct bc_option frontend_common[] = {
	BC_OPTION(.name = "name", .type = BC_OPT_STRING,
	          .description = "Instance name used in logs and metrics (default: the type)."),
	BC_OPTION(.name = "type", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "The plugin that serves this instance."),
	BC_OPTION(.name = "tokens_file", .type = BC_OPT_STRING,
	          .description = "File of bearer tokens, one `name:sha256hex` line each (make "
	                         "one with `broadcastd --hash-token NAME`). When set, every call "
	                         "but health needs a token and the token's name owns the "
	                         "streams it starts. Re-read on reload."),
	BC_OPTION(.name = "rate_limit", .type = BC_OPT_STRING,
	          .description = "Requests each caller may make, as `N/s`, `N/m` or `N/h` "
	                         "(token bucket; unset: no limit). Over it: 429 with "
	                         "Retry-After."),
	BC_OPTION(.name = "rate_burst", .type = BC_OPT_INT, .min = 1, .max = 1000000,
	          .description = "Requests a caller may make at once before rate_limit applies "
	                         "(default: one second's worth, at least 1)."),
	BC_OPTION(.name = "auth_fail_limit", .type = BC_OPT_STRING, .default_value = "20/m",
	          .description = "Failed bearer tokens (wrong or missing) each client address "
	                         "may send, as `N/s`, `N/m` or `N/h`: N at once, then N per "
	                         "period; past it the answer is 429 with Retry-After instead "
	                         "of 401. A valid token is never limited by it. Only with "
	                         "tokens_file."),
	BC_OPTION(.name = "max_body", .type = BC_OPT_SIZE, .default_value = "64k", .min = 1,
	          .max = 64 * 1024 * 1024,
	          .description = "Largest request body accepted; larger ones get 413."),
	BC_OPTION_END
};

const struct bc_option *bc_common_options(enum bc_kind kind)
{
	switch (kind) {
	case BC_KIND_PROVIDER: return provider_common;
	case BC_KIND_STORE: return store_common;
	case BC_KIND_FRONTEND: return frontend_common;
	}
	return NULL;
}

/* "test, s3, local": the plugins of a kind, for error messages. */
static char *available_types(const struct bc_registry *reg, enum bc_kind kind)
{
	size_t len = 1, n = bc_registry_known_count(reg);
	enum bc_kind k;
	const char *name;
	char *out;
	for (size_t i = 0; i < n; i++)
		if ((name = bc_registry_known_at(reg, i, &k)) != NULL && k == kind)
			len += strlen(name) + 2;
	out = calloc(1, len);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((name = bc_registry_known_at(reg, i, &k)) == NULL || k != kind)
			continue;
		if (out[0] != '\0')
			strcat(out, ", ");
		strcat(out, name);
	}
	return out;
}

/* "did you mean 'rtmp-key'? ": the closest known name of the kind within
 * two edits, or NULL. */
static char *did_you_mean(const struct bc_registry *reg, enum bc_kind kind, const char *type)
{
	size_t best = 3, n = bc_registry_known_count(reg);
	const char *best_name = NULL, *name;
	enum bc_kind k;
	for (size_t i = 0; i < n; i++) {
		if ((name = bc_registry_known_at(reg, i, &k)) == NULL || k != kind)
			continue;
		size_t d = bc_edit_distance(name, type);
		if (d < best) {
			best = d;
			best_name = name;
		}
	}
	return best_name != NULL ? bc_strdup_printf("did you mean '%s'? ", best_name) : NULL;
}

static void add_secret(const char *secret, void *arg)
{
	(void)arg;
	bc_log_add_secret(secret);
}

enum bc_status bc_instance_check_host_options(enum bc_kind kind, const struct bc_doc *doc,
                                              const struct bc_node *map, const char *owner,
                                              const struct bc_config *cfg, char **errmsg)
{
	static const char *const rates[] = { "rate_limit", "auth_fail_limit" };
	static const char *const examples[] = { "10/s", "20/m" };
	double rate;

	if (kind != BC_KIND_FRONTEND)
		return BC_OK;
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		if (!bc_config_is_set(cfg, rates[i]) ||
		    bc_parse_rate(bc_config_str(cfg, rates[i]), &rate) == 0)
			continue;
		const struct bc_node *n = bc_node_get(map, rates[i]);
		*errmsg = bc_doc_error_at(doc, n ? n : map,
		                          "%s: %s must be N/s, N/m or N/h with N > 0, e.g. "
		                          "`%s: %s`", owner, rates[i], rates[i], examples[i]);
		return BC_E_INVALID;
	}
	return BC_OK;
}

/* The plugin's check() (ABI 1.1) for cfg; BC_OK when it has none. */
static enum bc_status run_check(const struct bc_loaded_plugin *plugin, enum bc_kind kind,
                                const struct bc_config *cfg, struct bc_error *err)
{
	enum bc_status (*check)(const struct bc_host_api *, const struct bc_config *,
	                        struct bc_error *) = NULL;
	switch (kind) {
	case BC_KIND_PROVIDER: check = plugin->ops.provider.check; break;
	case BC_KIND_STORE: check = plugin->ops.store.check; break;
	case BC_KIND_FRONTEND: check = plugin->ops.frontend.check; break;
	}
	return check != NULL ? check(&bc_host_api_table, cfg, err) : BC_OK;
}

enum bc_status bc_instance_create(const struct bc_registry *reg, enum bc_kind kind,
                                  const struct bc_doc *doc, const struct bc_node *map,
                                  struct bc_context *ctx, struct bc_instance **out,
                                  char **errmsg)
{
	struct bc_instance *inst = NULL;
	const struct bc_node *type;
	const struct bc_loaded_plugin *plugin;
	struct bc_error err;
	char *owner = NULL, *avail = NULL;
	const char *name;
	enum bc_status st, rc = BC_E_INVALID;

	*out = NULL;
	*errmsg = NULL;
	if (map == NULL || map->kind != BC_NODE_MAP) {
		*errmsg = bc_doc_error_at(doc, map, "a %s must be a map with at least `type: ...`",
		                          bc_kind_name(kind));
		return *errmsg != NULL ? BC_E_INVALID : BC_E_NOMEM;
	}
	type = bc_node_get(map, "type");
	if (type == NULL || type->kind != BC_NODE_SCALAR || type->value[0] == '\0') {
		avail = available_types(reg, kind);
		*errmsg = bc_doc_error_at(doc, type ? type : map,
		                          "this %s has no `type`; add `type: NAME` with one of: %s",
		                          bc_kind_name(kind), avail && avail[0] ? avail : "(none found)");
		goto out;
	}
	plugin = bc_registry_find_or_open(reg, kind, type->value);
	if (plugin == NULL) {
		const char *refused_path = NULL;
		const char *refused = bc_registry_refusal(reg, kind, type->value, &refused_path);
		char *hint = did_you_mean(reg, kind, type->value);
		avail = available_types(reg, kind);
		if (refused != NULL)
			*errmsg = bc_doc_error_at(doc, type,
			                          "unknown %s type '%s': found %s but refused: %s",
			                          bc_kind_name(kind), type->value, refused_path,
			                          refused);
		else
			*errmsg = bc_doc_error_at(doc, type,
			                          "unknown %s type '%s'; %savailable: %s (plugins are "
			                          "found in $BROADCAST_PLUGIN_PATH, `plugin_dir` and %s; "
			                          "see `broadcastd --list-plugins`)",
			                          bc_kind_name(kind), type->value, hint ? hint : "",
			                          avail && avail[0] ? avail : "(none)", BC_PLUGIN_DIR);
		free(hint);
		goto out;
	}
	{
		const struct bc_node *n = bc_node_get(map, "name");
		name = n != NULL && n->kind == BC_NODE_SCALAR ? n->value : type->value;
		if (!bc_name_valid(name)) {
			*errmsg = bc_doc_error_at(doc, n ? n : type,
			                          "instance name '%s' must be 1-64 of "
			                          "[A-Za-z0-9_.-]; rename it", name);
			goto out;
		}
	}
	owner = bc_strdup_printf("%s %s (type %s)", bc_kind_name(kind), name, type->value);
	inst = calloc(1, sizeof *inst);
	if (owner == NULL || inst == NULL || (inst->name = strdup(name)) == NULL) {
		*errmsg = strdup("out of memory");
		rc = BC_E_NOMEM;
		goto out;
	}
	inst->ctx = ctx;
	inst->plugin = plugin;
	inst->kind = kind;
	inst->serialise = !(plugin->desc.flags & BC_PLUGIN_THREAD_SAFE);
	pthread_mutex_init(&inst->lock, NULL);
	atomic_init(&inst->refs, 1);
	rc = bc_config_build(doc, map, owner, plugin->desc.options, bc_common_options(kind),
	                     &inst->cfg, errmsg);
	if (rc != BC_OK)
		goto out;
	rc = bc_instance_check_host_options(kind, doc, map, owner, inst->cfg, errmsg);
	if (rc != BC_OK)
		goto out;
	bc_config_each_secret(inst->cfg, add_secret, NULL);

	/* ABI 1.1: the plugin's own validation, side-effect free. Run by
	 * --check-config and by every real start alike, right before create(),
	 * so the two give the same verdict and the same message. */
	bc_error_clear(&err);
	st = run_check(plugin, kind, inst->cfg, &err);
	if (st != BC_OK) {
		*errmsg = bc_doc_error_at(doc, map, "%s: %s: %s", owner,
		                          err.code[0] ? err.code : bc_status_name(st),
		                          err.message[0] ? err.message : "check() failed");
		rc = st;
		goto out;
	}
	bc_error_clear(&err);
	if (bc_ctx_check_only(ctx)) {
		*out = inst; /* validated; state stays NULL, destroy() is not called */
		inst = NULL;
		rc = BC_OK;
		goto out;
	}
	switch (kind) {
	case BC_KIND_PROVIDER:
		st = plugin->ops.provider.create(&bc_host_api_table, (struct bc_host *)inst, inst->cfg,
		                                 &inst->state, &err);
		break;
	case BC_KIND_STORE:
		st = plugin->ops.store.create(&bc_host_api_table, (struct bc_host *)inst, inst->cfg,
		                              &inst->state, &err);
		break;
	case BC_KIND_FRONTEND:
		st = plugin->ops.frontend.create(&bc_host_api_table, (struct bc_host *)inst,
		                                 inst->cfg, &inst->state, &err);
		break;
	default:
		st = BC_E_INTERNAL;
		break;
	}
	if (st != BC_OK) {
		*errmsg = bc_doc_error_at(doc, map, "%s: %s: %s", owner,
		                          err.code[0] ? err.code : bc_status_name(st),
		                          err.message[0] ? err.message : "create() failed");
		inst->state = NULL;
		rc = st;
		goto out;
	}
	bc_log(BC_LOG_DEBUG, inst->name, "created %s", owner);
	*out = inst;
	inst = NULL;
	rc = BC_OK;
out:
	if (inst != NULL) {
		bc_config_free(inst->cfg);
		pthread_mutex_destroy(&inst->lock);
		free(inst->name);
		free(inst);
	}
	free(owner);
	free(avail);
	if (rc != BC_OK && *errmsg == NULL) {
		*errmsg = strdup("out of memory");
		rc = BC_E_NOMEM;
	}
	return rc;
}

void bc_instance_ref(struct bc_instance *inst)
{
	atomic_fetch_add(&inst->refs, 1);
}

void bc_instance_destroy(struct bc_instance *inst)
{
	if (inst == NULL || atomic_fetch_sub(&inst->refs, 1) != 1)
		return;
	if (inst->state != NULL) {
		switch (inst->kind) {
		case BC_KIND_PROVIDER: inst->plugin->ops.provider.destroy(inst->state); break;
		case BC_KIND_STORE: inst->plugin->ops.store.destroy(inst->state); break;
		case BC_KIND_FRONTEND: inst->plugin->ops.frontend.destroy(inst->state); break;
		}
	}
	bc_log(BC_LOG_DEBUG, inst->name, "destroyed");
	bc_config_free(inst->cfg);
	pthread_mutex_destroy(&inst->lock);
	free(inst->name);
	free(inst);
}

const char *bc_instance_name(const struct bc_instance *inst)
{
	return inst->name;
}

const struct bc_loaded_plugin *bc_instance_plugin(const struct bc_instance *inst)
{
	return inst->plugin;
}

const struct bc_config *bc_instance_config(const struct bc_instance *inst)
{
	return inst->cfg;
}

struct bc_instance *bc_host_instance(const struct bc_host *host)
{
	return (struct bc_instance *)host;
}

struct bc_context *bc_instance_context(const struct bc_instance *inst)
{
	return inst->ctx;
}

void *bc_instance_state(const struct bc_instance *inst)
{
	return inst->state;
}

int bc_instance_started(const struct bc_instance *inst)
{
	return inst->started;
}

void bc_instance_set_started(struct bc_instance *inst, int started)
{
	inst->started = started;
}

void bc_instance_enter(struct bc_instance *inst)
{
	if (inst->serialise)
		pthread_mutex_lock(&inst->lock);
}

void bc_instance_leave(struct bc_instance *inst)
{
	if (inst->serialise)
		pthread_mutex_unlock(&inst->lock);
}

enum bc_status bc_instance_provider_stop(struct bc_instance *inst,
                                         const struct bc_stream_info *info, struct bc_error *err)
{
	enum bc_status st;
	bc_instance_enter(inst);
	st = inst->plugin->ops.provider.stop(inst->state, info, err);
	bc_instance_leave(inst);
	return st;
}

int bc_instance_serves_type(const struct bc_instance *inst, const char *type)
{
	size_t n = bc_config_list_len(inst->cfg, "stream_types");
	if (n > 0) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(bc_config_list_at(inst->cfg, "stream_types", i), type) == 0)
				return 1;
		return 0;
	}
	for (const char *const *t = inst->plugin->ops.provider.stream_types; t && *t; t++)
		if (strcmp(*t, type) == 0)
			return 1;
	return 0;
}

size_t bc_instance_type_count(const struct bc_instance *inst)
{
	size_t n = bc_config_list_len(inst->cfg, "stream_types");
	if (n > 0)
		return n;
	for (const char *const *t = inst->plugin->ops.provider.stream_types; t && *t; t++)
		n++;
	return n;
}

const char *bc_instance_type_at(const struct bc_instance *inst, size_t i)
{
	if (bc_config_list_len(inst->cfg, "stream_types") > 0)
		return bc_config_list_at(inst->cfg, "stream_types", i);
	return inst->plugin->ops.provider.stream_types[i];
}
