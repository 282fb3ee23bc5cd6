/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.c: finding plugin .so files, checking what they declare, keeping
 * them loaded (struct bc_registry).
 *
 * Every check of STYLE rule 16 lives here: dlopen(RTLD_NOW | RTLD_LOCAL) so
 * two plugins never see each other's symbols; the entry symbol is the only
 * thing looked up; the major version must be equal and the plugin's minor at
 * most ours; struct_size is checked before any member is read, and what an
 * older plugin passes is copied into zeroed full-size structs; a plugin may
 * not declare an option the host reads itself (plugin.h's reserved names),
 * and a store has ABI 1.1's event operations all or none. Every reject
 * path closes the handle and records file, plugin, both versions and the fix.
 * What the instances do with a plugin is instance.c's business.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bc_internal.h"

struct bc_loaded_so {
	void *handle;
	unsigned refs;
};

/* A plugin a scan found, loaded or not: what "unknown type" errors list.
 * A name read from a file name a scan skipped (skip_by_name) is only a
 * guess: `path` is that file, and once the file is opened the guess is
 * hidden, the declared names counting instead. */
struct bc_known_plugin {
	enum bc_kind kind;
	char *name;
	char *path;  /* the skipped file of a guess, NULL for a declared name */
	int hidden;  /* a guess whose file has been opened since */
};

/* A file a scan did not open because its name (KIND_NAME.so) says it holds
 * a plugin the configuration does not name; bc_registry_find_or_open()
 * opens it after all when no loaded plugin has the name asked for, so a
 * file whose name does not follow the rule still loads by its declared name. */
struct bc_skipped_file {
	enum bc_kind kind;
	char *path;
	int opened;
};

/* Why a file or one of its descriptors was refused, for the "unknown type"
 * error: `name` is the declared name when the loader read one, else the one
 * the file name gives (provider_NAME.so), else NULL; kind 0 when unknown. */
struct bc_refusal {
	enum bc_kind kind;
	char *name;
	char *path;
	char *reason;
};

/* The arrays only grow while a daemon runs (a reload may load a plugin the
 * new configuration names), and their elements never move or go away before
 * bc_registry_free(): readers on request threads (the "plugins" operation)
 * take the lock only to index the arrays. */
struct bc_registry {
	pthread_mutex_t lock;
	struct bc_loaded_plugin **plugins;
	size_t n, cap;
	char **rejects;
	size_t n_rejects, cap_rejects;
	struct bc_known_plugin *known;
	size_t n_known, cap_known;
	struct bc_skipped_file *skipped;
	size_t n_skipped;
	struct bc_refusal *refusals;
	size_t n_refusals;
	char last_reject[2048]; /* the latest reject(), for its refusal record */
};

/* The smallest descriptor and ops tables we accept: ABI 1.0's. Anything
 * smaller was not built against any header of ours. */
#define BC_PLUGIN_MIN_SIZE (offsetof(struct bc_plugin, ops) + sizeof(void *))

static const char *kind_name(enum bc_kind kind)
{
	switch (kind) {
	case BC_KIND_PROVIDER: return "provider";
	case BC_KIND_STORE: return "store";
	case BC_KIND_FRONTEND: return "frontend";
	}
	return "unknown";
}

static int reject(struct bc_registry *reg, char **errmsg, const char *fmt, ...) BC_PRINTF(3, 4);

/* Keep a reject message for bc_registry_reject_at(); a reload scans again,
 * so each problem is listed once. */
static void keep_reject(struct bc_registry *reg, const char *msg)
{
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_rejects; i++)
		if (strcmp(reg->rejects[i], msg) == 0)
			goto out;
	if (reg->n_rejects == reg->cap_rejects) {
		size_t cap = reg->cap_rejects ? reg->cap_rejects * 2 : 4;
		char **r = realloc(reg->rejects, cap * sizeof *r);
		if (r == NULL)
			goto out;
		reg->rejects = r;
		reg->cap_rejects = cap;
	}
	reg->rejects[reg->n_rejects] = strdup(msg);
	if (reg->rejects[reg->n_rejects] != NULL)
		reg->n_rejects++;
out:
	pthread_mutex_unlock(&reg->lock);
}

static int reject(struct bc_registry *reg, char **errmsg, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	bc_log(BC_LOG_WARN, "loader", "%s", buf);
	if (errmsg != NULL && *errmsg == NULL)
		*errmsg = strdup(buf);
	keep_reject(reg, buf);
	pthread_mutex_lock(&reg->lock);
	memcpy(reg->last_reject, buf, sizeof reg->last_reject);
	pthread_mutex_unlock(&reg->lock);
	return -1;
}

/* "provider_rtmp_key.so" -> BC_KIND_PROVIDER and "rtmp_key" in name (of
 * size `size`); 0 when the file name does not follow the KIND_NAME.so rule.
 * `file` may be a path. */
static enum bc_kind kind_from_file(const char *file, char *name, size_t size)
{
	static const struct { const char *prefix; enum bc_kind kind; } kinds[] = {
		{ "provider_", BC_KIND_PROVIDER },
		{ "store_", BC_KIND_STORE },
		{ "frontend_", BC_KIND_FRONTEND },
	};
	const char *base = strrchr(file, '/');
	size_t fl;

	base = base != NULL ? base + 1 : file;
	fl = strlen(base);
	if (fl < 4 || strcmp(base + fl - 3, ".so") != 0)
		return 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t pl = strlen(kinds[i].prefix);
		if (strncmp(base, kinds[i].prefix, pl) != 0 || fl - 3 <= pl || fl - pl - 3 >= size)
			continue;
		memcpy(name, base + pl, fl - pl - 3);
		name[fl - pl - 3] = '\0';
		return kinds[i].kind;
	}
	return 0;
}

int bc_plugin_names_match(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return 0;
	return *a == *b;
}

/* Record why `path` (or its descriptor `name` of `kind`) was refused: the
 * message of the latest reject() on reg, whose "PATH: " prefix is dropped. */
static void keep_refusal(struct bc_registry *reg, const char *path, enum bc_kind kind,
                         const char *name)
{
	char guess[40];
	enum bc_kind fkind = kind_from_file(path, guess, sizeof guess);
	size_t pl = strlen(path);
	const char *why;

	pthread_mutex_lock(&reg->lock);
	why = reg->last_reject;
	if (strncmp(why, path, pl) == 0 && strncmp(why + pl, ": ", 2) == 0)
		why += pl + 2;
	if (name == NULL && fkind != 0) {
		kind = fkind;
		name = guess;
	}
	struct bc_refusal *v = realloc(reg->refusals, (reg->n_refusals + 1) * sizeof *v);
	if (v != NULL) {
		struct bc_refusal *r = &v[reg->n_refusals];
		reg->refusals = v;
		r->kind = kind;
		r->name = name != NULL ? strdup(name) : NULL;
		r->path = strdup(path);
		r->reason = strdup(why);
		if (r->path != NULL && r->reason != NULL)
			reg->n_refusals++;
		else {
			free(r->name);
			free(r->path);
			free(r->reason);
		}
	}
	pthread_mutex_unlock(&reg->lock);
}

static void so_release(struct bc_loaded_so *so)
{
	if (so == NULL || --so->refs > 0)
		return;
	dlclose(so->handle);
	free(so);
}

/* The size a kind's ops table has in ABI 1.0, the least we can use. */
static size_t ops_min_size(enum bc_kind kind)
{
	switch (kind) {
	case BC_KIND_PROVIDER:
		return offsetof(struct bc_provider_ops, destroy) + sizeof(void *);
	case BC_KIND_STORE:
		return offsetof(struct bc_store_ops, destroy) + sizeof(void *);
	case BC_KIND_FRONTEND:
		return offsetof(struct bc_frontend_ops, destroy) + sizeof(void *);
	}
	return SIZE_MAX;
}

static size_t ops_full_size(enum bc_kind kind)
{
	switch (kind) {
	case BC_KIND_PROVIDER: return sizeof(struct bc_provider_ops);
	case BC_KIND_STORE: return sizeof(struct bc_store_ops);
	case BC_KIND_FRONTEND: return sizeof(struct bc_frontend_ops);
	}
	return 0;
}

/* Required operations of each kind; optional ones (health) may be NULL. */
static const char *missing_op(const struct bc_loaded_plugin *p)
{
	switch (p->desc.kind) {
	case BC_KIND_PROVIDER:
		if (!p->ops.provider.create) return "create";
		if (!p->ops.provider.start) return "start";
		if (!p->ops.provider.stop) return "stop";
		if (!p->ops.provider.destroy) return "destroy";
		break;
	case BC_KIND_STORE:
		if (!p->ops.store.create) return "create";
		if (!p->ops.store.reserve) return "reserve";
		if (!p->ops.store.commit) return "commit";
		if (!p->ops.store.abort) return "abort";
		if (!p->ops.store.get) return "get";
		if (!p->ops.store.stop) return "stop";
		if (!p->ops.store.list) return "list";
		if (!p->ops.store.destroy) return "destroy";
		break;
	case BC_KIND_FRONTEND:
		if (!p->ops.frontend.create) return "create";
		if (!p->ops.frontend.start) return "start";
		if (!p->ops.frontend.drain) return "drain";
		if (!p->ops.frontend.destroy) return "destroy";
		break;
	}
	return NULL;
}

/* Option names the host reads itself for every instance of a kind
 * (broadcast/plugin.h lists them; since ABI 1.1 a plugin may not declare
 * them). bc_common_options() is the live list; this table keeps the names
 * plugin.h and the 1.1 contract promise even before the host implements
 * one of them, so a plugin never starts depending on a name that is ours. */
static const struct {
	enum bc_kind kind; /* 0: every kind */
	const char *name;
} reserved_options[] = {
	{ 0, "name" },
	{ 0, "type" },
	{ BC_KIND_PROVIDER, "stream_types" },
	{ BC_KIND_PROVIDER, "idle_timeout" },
	{ BC_KIND_PROVIDER, "max_duration" },
	{ BC_KIND_STORE, "event_retention" },
	{ BC_KIND_STORE, "event_max" },
	{ BC_KIND_FRONTEND, "tokens_file" },
	{ BC_KIND_FRONTEND, "rate_limit" },
	{ BC_KIND_FRONTEND, "rate_burst" },
	{ BC_KIND_FRONTEND, "auth_fail_limit" },
	{ BC_KIND_FRONTEND, "max_body" },
};

/* Whether `opt` is `reserved` or a nested key under it ("name.x"). */
static int option_is(const char *opt, const char *reserved)
{
	size_t n = strlen(reserved);
	return strncmp(opt, reserved, n) == 0 && (opt[n] == '\0' || opt[n] == '.');
}

static const char *reserved_option(enum bc_kind kind, const char *opt)
{
	for (size_t i = 0; i < sizeof reserved_options / sizeof reserved_options[0]; i++)
		if ((reserved_options[i].kind == 0 || reserved_options[i].kind == kind) &&
		    option_is(opt, reserved_options[i].name))
			return reserved_options[i].name;
	for (const struct bc_option *c = bc_option_first(bc_common_options(kind)); c != NULL;
	     c = bc_option_next(c))
		if (c->name != NULL && option_is(opt, c->name))
			return c->name;
	return NULL;
}

/* The first option the plugin declares that the host reserves, or NULL;
 * *declared is the plugin's own spelling. Declarations are read by their
 * own struct_size, as options.c reads them. */
static const char *declares_reserved(const struct bc_loaded_plugin *p, const char **declared)
{
	for (const struct bc_option *o = bc_option_first(p->desc.options); o != NULL;
	     o = bc_option_next(o)) {
		const char *name = NULL, *r;
		if (o->struct_size >= offsetof(struct bc_option, name) + sizeof o->name)
			name = o->name;
		if (name != NULL && (r = reserved_option(p->desc.kind, name)) != NULL) {
			*declared = name;
			return r;
		}
	}
	return NULL;
}

/* ABI 1.1's store operations come as a set: all of them (media state and
 * events kept by the store) or none (a 1.0 store; the host keeps them in
 * memory). The one missing from a partial set, or NULL. */
static const char *partial_event_ops(const struct bc_loaded_plugin *p)
{
	const struct bc_store_ops *o = &p->ops.store;
	if (p->desc.kind != BC_KIND_STORE)
		return NULL;
	const struct { const char *name; int set; } ops[] = {
		{ "commit_event", o->commit_event != NULL }, { "stop_event", o->stop_event != NULL },
		{ "media", o->media != NULL }, { "events", o->events != NULL },
		{ "events_prune", o->events_prune != NULL },
	};
	size_t n = sizeof ops / sizeof ops[0], set = 0;
	for (size_t i = 0; i < n; i++)
		set += ops[i].set != 0;
	for (size_t i = 0; set > 0 && set < n && i < n; i++)
		if (!ops[i].set)
			return ops[i].name;
	/* The delivery cursors (webhooks): both or neither, and only with a
	 * durable feed for them to point into. */
	if ((o->cursor_claim != NULL) != (o->cursor_advance != NULL))
		return o->cursor_claim == NULL ? "cursor_claim" : "cursor_advance";
	if (o->cursor_claim != NULL && set == 0)
		return "commit_event";
	return NULL;
}

static int valid_plugin_name(const char *name)
{
	size_t n = 0;
	if (name == NULL)
		return 0;
	for (; name[n] != '\0'; n++)
		if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9') ||
		      name[n] == '_' || name[n] == '-'))
			return 0;
	return n >= 1 && n <= 32;
}

static void remember_known(struct bc_registry *reg, enum bc_kind kind, const char *name)
{
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_known; i++)
		if (reg->known[i].path == NULL && reg->known[i].kind == kind &&
		    strcmp(reg->known[i].name, name) == 0)
			goto out;
	if (reg->n_known == reg->cap_known) {
		size_t cap = reg->cap_known ? reg->cap_known * 2 : 8;
		struct bc_known_plugin *v = realloc(reg->known, cap * sizeof *v);
		if (v == NULL)
			goto out;
		reg->known = v;
		reg->cap_known = cap;
	}
	reg->known[reg->n_known].name = strdup(name);
	reg->known[reg->n_known].path = NULL;
	reg->known[reg->n_known].hidden = 0;
	if (reg->known[reg->n_known].name != NULL)
		reg->known[reg->n_known++].kind = kind;
out:
	pthread_mutex_unlock(&reg->lock);
}

/* A name guessed from the file name of a file the scan skipped. */
static void remember_guess(struct bc_registry *reg, enum bc_kind kind, const char *name,
                           const char *path)
{
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_known; i++)
		if (reg->known[i].path != NULL && strcmp(reg->known[i].path, path) == 0) {
			reg->known[i].hidden = 0;
			goto out;
		}
	struct bc_known_plugin *v = realloc(reg->known, (reg->n_known + 1) * sizeof *v);
	if (v == NULL)
		goto out;
	reg->known = v;
	reg->cap_known = reg->n_known + 1;
	v[reg->n_known].kind = kind;
	v[reg->n_known].name = strdup(name);
	v[reg->n_known].path = strdup(path);
	v[reg->n_known].hidden = 0;
	if (v[reg->n_known].name != NULL && v[reg->n_known].path != NULL)
		reg->n_known++;
	else {
		free(v[reg->n_known].name);
		free(v[reg->n_known].path);
	}
out:
	pthread_mutex_unlock(&reg->lock);
}

static int push_plugin(struct bc_registry *reg, struct bc_loaded_plugin *p)
{
	int rc = 0;
	pthread_mutex_lock(&reg->lock);
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 8;
		struct bc_loaded_plugin **v = realloc(reg->plugins, cap * sizeof *v);
		if (v == NULL)
			rc = -1;
		else {
			reg->plugins = v;
			reg->cap = cap;
		}
	}
	if (rc == 0)
		reg->plugins[reg->n++] = p;
	pthread_mutex_unlock(&reg->lock);
	return rc;
}

/* Check one descriptor; on success append a zero-extended copy. */
static int accept_descriptor(struct bc_registry *reg, struct bc_loaded_so *so, const char *path,
                             const struct bc_plugin *raw, unsigned hmaj, unsigned hmin,
                             char **errmsg)
{
	struct bc_loaded_plugin *p = NULL;
	size_t min_ops, ops_size;

	if (raw->struct_size < BC_PLUGIN_MIN_SIZE)
		return reject(reg, errmsg,
		              "%s: plugin descriptor is %zu bytes, smaller than ABI %u.0's %zu; "
		              "rebuild the plugin against the installed broadcast headers",
		              path, raw->struct_size, hmaj, (size_t)BC_PLUGIN_MIN_SIZE);
	if (raw->abi_major != hmaj)
		return reject(reg, errmsg,
		              "%s: plugin '%s' was built for ABI %u.%u but this broadcastd has ABI "
		              "%u.%u; majors must be equal: rebuild the plugin against this "
		              "version's headers",
		              path, raw->name ? raw->name : "?", raw->abi_major, raw->abi_minor,
		              hmaj, hmin);
	if (raw->abi_minor > hmin)
		return reject(reg, errmsg,
		              "%s: plugin '%s' needs ABI %u.%u but this broadcastd has ABI %u.%u; "
		              "upgrade broadcast or use a plugin built for ABI %u.%u (one that "
		              "checks newer members with BC_HAS_MEMBER() may be built with "
		              "-DBC_PLUGIN_MIN_MINOR=%u)",
		              path, raw->name ? raw->name : "?", raw->abi_major, raw->abi_minor,
		              hmaj, hmin, hmaj, hmin, hmin);
	if (!valid_plugin_name(raw->name))
		return reject(reg, errmsg,
		              "%s: plugin name '%s' is not [a-z0-9_-]{1,32}; fix the descriptor",
		              path, raw->name ? raw->name : "(null)");
	if (raw->kind != BC_KIND_PROVIDER && raw->kind != BC_KIND_STORE &&
	    raw->kind != BC_KIND_FRONTEND)
		return reject(reg, errmsg, "%s: plugin '%s' has unknown kind %d (ABI %u.%u, host "
		              "%u.%u); it needs a newer broadcastd",
		              path, raw->name, (int)raw->kind, raw->abi_major, raw->abi_minor,
		              hmaj, hmin);
	if (raw->ops == NULL)
		return reject(reg, errmsg, "%s: plugin '%s' has no operations table", path,
		              raw->name);
	if (bc_registry_find(reg, raw->kind, raw->name) != NULL)
		return reject(reg, errmsg,
		              "%s: %s plugin '%s' was already loaded from %s; this copy is "
		              "ignored (remove one of them)",
		              path, kind_name(raw->kind), raw->name,
		              bc_registry_find(reg, raw->kind, raw->name)->path);

	p = calloc(1, sizeof *p);
	if (p == NULL)
		return reject(reg, errmsg, "%s: out of memory", path);
	memcpy(&p->desc, raw, raw->struct_size < sizeof p->desc ? raw->struct_size : sizeof p->desc);
	p->desc.struct_size = sizeof p->desc;

	/* ops tables start with their own struct_size too. */
	ops_size = *(const size_t *)raw->ops;
	min_ops = ops_min_size(raw->kind);
	if (ops_size < min_ops) {
		free(p);
		return reject(reg, errmsg,
		              "%s: plugin '%s' has a %s table of %zu bytes, smaller than ABI %u.0's "
		              "%zu; rebuild it against the installed headers",
		              path, raw->name, kind_name(raw->kind), ops_size, hmaj, min_ops);
	}
	memcpy(&p->ops, raw->ops, ops_size < ops_full_size(raw->kind) ? ops_size
	                                                               : ops_full_size(raw->kind));
	const char *missing = missing_op(p);
	if (missing != NULL) {
		free(p);
		return reject(reg, errmsg, "%s: plugin '%s' does not implement the required "
		              "operation %s(); fix the plugin", path, raw->name, missing);
	}
	missing = partial_event_ops(p);
	if (missing != NULL) {
		free(p);
		return reject(reg, errmsg, "%s: store plugin '%s' (ABI %u.%u, host %u.%u) "
		              "implements some of the ABI 1.1 event operations but not %s(); "
		              "implement all of commit_event, stop_event, media, events and "
		              "events_prune, or none of them (and cursor_claim and "
		              "cursor_advance only with them, both or neither)", path, raw->name, raw->abi_major,
		              raw->abi_minor, hmaj, hmin, missing);
	}
	const char *declared = NULL, *reserved = declares_reserved(p, &declared);
	if (reserved != NULL) {
		free(p);
		return reject(reg, errmsg, "%s: %s plugin '%s' (ABI %u.%u, host %u.%u) declares "
		              "the option '%s', but '%s' is a host-wide option of every %s "
		              "instance (reserved, see <broadcast/plugin.h>); rename the "
		              "plugin's option (for example to '%s_%s') and rebuild it",
		              path, kind_name(raw->kind), raw->name, raw->abi_major,
		              raw->abi_minor, hmaj, hmin, declared, reserved,
		              kind_name(raw->kind), raw->name, declared);
	}
	p->path = strdup(path);
	if (p->path == NULL) {
		free(p);
		return reject(reg, errmsg, "%s: out of memory", path);
	}
	p->so = so;
	if (push_plugin(reg, p) != 0) {
		free(p->path);
		free(p);
		return reject(reg, errmsg, "%s: out of memory", path);
	}
	so->refs++;
	remember_known(reg, p->desc.kind, p->desc.name);
	bc_log(BC_LOG_DEBUG, "loader", "loaded %s plugin '%s' %s (ABI %u.%u) from %s",
	       kind_name(p->desc.kind), p->desc.name, p->desc.version ? p->desc.version : "",
	       p->desc.abi_major, p->desc.abi_minor, path);
	return 0;
}

enum bc_status bc_registry_load_file_as(struct bc_registry *reg, const char *path, unsigned hmaj,
                             unsigned hmin, char **errmsg)
{
	struct bc_loaded_so *so = NULL;
	bc_plugin_entry_fn entry;
	const struct bc_plugin *const *list;
	size_t accepted = 0;
	int refused = 0; /* descriptors of the file the checks refused */

	if (errmsg != NULL)
		*errmsg = NULL;
	so = calloc(1, sizeof *so);
	if (so == NULL) {
		reject(reg, errmsg, "%s: out of memory", path);
		return BC_E_NOMEM;
	}
	dlerror();
	so->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (so->handle == NULL) {
		const char *why = dlerror();
		free(so);
		reject(reg, errmsg, "%s: cannot load: %s; install the libraries it needs "
		       "or remove the file", path, why ? why : "unknown error");
		keep_refusal(reg, path, 0, NULL);
		return BC_E_INVALID;
	}
	/* The one symbol we look up; casting through uintptr_t is how POSIX
	 * says a data pointer from dlsym becomes a function pointer.
	 * NOLINTNEXTLINE(performance-no-int-to-ptr) */
	entry = (bc_plugin_entry_fn)(uintptr_t)dlsym(so->handle, BC_PLUGIN_ENTRY_SYMBOL);
	if (entry == NULL) {
		reject(reg, errmsg, "%s: no exported %s symbol (host ABI %u.%u). If it is a "
		       "broadcast plugin, the likely cause is that it was built with "
		       "-fvisibility=hidden or a linker version script that hides the entry: "
		       "declare it through <broadcast/plugin.h> of ABI 1.1 or later (which "
		       "marks it BC_PLUGIN_EXPORT) or add __attribute__((visibility(\"default\"))) "
		       "to its definition, and rebuild; if it is not a plugin, remove it from "
		       "the plugin directory", path, BC_PLUGIN_ENTRY_SYMBOL, hmaj, hmin);
		keep_refusal(reg, path, 0, NULL);
		goto out;
	}
	list = entry(hmaj, hmin);
	if (list == NULL) {
		reject(reg, errmsg, "%s: the plugin declined to load with host ABI %u.%u; use a "
		       "build of it made for this broadcast version", path, hmaj, hmin);
		keep_refusal(reg, path, 0, NULL);
		goto out;
	}
	for (size_t i = 0; i < 64 && list[i] != NULL; i++) {
		const struct bc_plugin *raw = list[i];
		if (accept_descriptor(reg, so, path, raw, hmaj, hmin, errmsg) == 0) {
			accepted++;
			continue;
		}
		refused++;
		/* Name the refused descriptor by what it declares when that much
		 * of it can be read, else by the file name. */
		if (raw->struct_size >= BC_PLUGIN_MIN_SIZE && valid_plugin_name(raw->name) &&
		    raw->kind >= BC_KIND_PROVIDER && raw->kind <= BC_KIND_FRONTEND)
			keep_refusal(reg, path, raw->kind, raw->name);
		else
			keep_refusal(reg, path, 0, NULL);
	}
	if (accepted == 0 && refused == 0) {
		reject(reg, errmsg, "%s: the plugin declares no plugins", path);
		keep_refusal(reg, path, 0, NULL);
	}
out:
	if (so->refs == 0) {
		dlclose(so->handle);
		free(so);
	}
	/* A file whose plugins were all refused is refused: the messages say
	 * why (kept for bc_registry_reject_at()). */
	return accepted > 0 ? BC_OK : BC_E_INVALID;
}

enum bc_status bc_registry_load_file(struct bc_registry *reg, const char *path,
                                     char **errmsg)
{
	return bc_registry_load_file_as(reg, path, BC_ABI_MAJOR, BC_ABI_MINOR, errmsg);
}

static int has_so_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct bc_registry *registry_new(void);

static int has_path(struct bc_registry *reg, const char *path)
{
	int found = 0;
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n && !found; i++)
		found = strcmp(reg->plugins[i]->path, path) == 0;
	pthread_mutex_unlock(&reg->lock);
	return found;
}

/* Load one file into a registry of its own first, so that a plugin nobody
 * wants is never visible to readers of `reg`, then adopt what is wanted.
 * A file is kept whole or closed whole: its descriptors share one handle. */
static void scan_file(struct bc_registry *reg, const char *path, bc_plugin_wanted_fn want,
                      void *arg)
{
	struct bc_registry *one = registry_new();
	int wanted = want == NULL;

	if (one == NULL)
		return;
	bc_registry_load_file(one, path, NULL);
	for (size_t i = 0; i < one->n_rejects; i++)
		keep_reject(reg, one->rejects[i]); /* logged when `one` saw it */
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_known; i++)
		if (reg->known[i].path != NULL && strcmp(reg->known[i].path, path) == 0)
			reg->known[i].hidden = 1;
	for (size_t i = 0; i < reg->n_skipped; i++)
		if (strcmp(reg->skipped[i].path, path) == 0)
			reg->skipped[i].opened = 1;
	/* Refusals move over whole: `one` is freed below. */
	struct bc_refusal *rv = one->n_refusals == 0 ? NULL
	        : realloc(reg->refusals, (reg->n_refusals + one->n_refusals) * sizeof *rv);
	if (rv != NULL) {
		reg->refusals = rv;
		for (size_t i = 0; i < one->n_refusals; i++) {
			int dup = 0;
			for (size_t k = 0; k < reg->n_refusals && !dup; k++)
				dup = strcmp(rv[k].path, one->refusals[i].path) == 0 &&
				      strcmp(rv[k].reason, one->refusals[i].reason) == 0;
			if (dup)
				continue;
			rv[reg->n_refusals++] = one->refusals[i];
			one->refusals[i].name = one->refusals[i].path = one->refusals[i].reason = NULL;
		}
	}
	pthread_mutex_unlock(&reg->lock);
	for (size_t i = 0; i < one->n; i++) {
		const struct bc_loaded_plugin *p = one->plugins[i];
		remember_known(reg, p->desc.kind, p->desc.name);
		if (!wanted && want(p->desc.kind, p->desc.name, arg))
			wanted = 1;
	}
	for (size_t i = 0; wanted && i < one->n; i++) {
		struct bc_loaded_plugin *p = one->plugins[i];
		const struct bc_loaded_plugin *first = bc_registry_find(reg, p->desc.kind,
		                                                        p->desc.name);
		if (first != NULL)
			reject(reg, NULL, "%s: %s plugin '%s' was already loaded from %s; this copy "
			       "is ignored (remove one of them)", path, kind_name(p->desc.kind),
			       p->desc.name, first->path);
		else if (push_plugin(reg, p) == 0)
			one->plugins[i] = NULL; /* adopted: `reg` owns it now */
	}
	if (!wanted && one->n > 0)
		bc_log(BC_LOG_DEBUG, "loader", "%s: not named by the configuration, not kept loaded",
		       path);
	bc_registry_free(one);
}

/* Calls want() for every spelling of `name` with each '-' or '_' written
 * either way (the file-name rule maps '-' in a declared name to '_'), up
 * to 2^8 of them; 1 when one is wanted or there are too many to try. */
static int want_any_spelling(bc_plugin_wanted_fn want, enum bc_kind kind, const char *name,
                             void *arg)
{
	char v[40];
	size_t seps[8], n = 0, len = strlen(name);

	if (len >= sizeof v)
		return 1;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '-' || name[i] == '_') {
			if (n == sizeof seps / sizeof seps[0])
				return 1;
			seps[n++] = i;
		}
	memcpy(v, name, len + 1);
	for (unsigned m = 0; m < (1u << n); m++) {
		for (size_t k = 0; k < n; k++)
			v[seps[k]] = (m >> k) & 1u ? '-' : '_';
		if (want(kind, v, arg))
			return 1;
	}
	return 0;
}

static void remember_skipped(struct bc_registry *reg, enum bc_kind kind, const char *path)
{
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_skipped; i++)
		if (strcmp(reg->skipped[i].path, path) == 0) {
			reg->skipped[i].opened = 0; /* a new scan: the file may have changed */
			goto out;
		}
	struct bc_skipped_file *v = realloc(reg->skipped, (reg->n_skipped + 1) * sizeof *v);
	if (v == NULL)
		goto out;
	reg->skipped = v;
	v[reg->n_skipped].kind = kind;
	v[reg->n_skipped].opened = 0;
	v[reg->n_skipped].path = strdup(path);
	if (v[reg->n_skipped].path != NULL)
		reg->n_skipped++;
out:
	pthread_mutex_unlock(&reg->lock);
}

/* Files named KIND_NAME.so (provider_s3.so) declare, by the rule
 * docs/writing-a-provider.md states, the one plugin NAME of KIND, where a
 * '-' of the declared name may be written '_' (provider_rtmp_key.so for
 * rtmp-key). When the configuration names no spelling of NAME the file is
 * not even opened: a dlclose() cannot undo everything a dlopen() did
 * (libcurl's gnutls pulls in p11-kit, which stays mapped for good). It is
 * remembered, and opened after all by bc_registry_find_or_open() when the
 * configuration asks for a name no loaded plugin has: a file breaking the
 * rule costs a dlopen, never its plugin. Other names are opened and checked. */
static int skip_by_name(struct bc_registry *reg, const char *dir, const char *file,
                        bc_plugin_wanted_fn want, void *arg)
{
	char name[40];
	enum bc_kind kind;

	if (want == NULL || (kind = kind_from_file(file, name, sizeof name)) == 0)
		return 0;
	if (!valid_plugin_name(name) || want_any_spelling(want, kind, name, arg))
		return 0;
	char *path = bc_strdup_printf("%s/%s", dir, file);
	if (path == NULL)
		return 0;
	remember_guess(reg, kind, name, path);
	remember_skipped(reg, kind, path);
	free(path);
	bc_log(BC_LOG_DEBUG, "loader", "%s: %s '%s' is not named by the configuration, not "
	       "loaded", file, kind_name(kind), name);
	return 1;
}

static void load_dir(struct bc_registry *reg, const char *dir, bc_plugin_wanted_fn want,
                     void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		bc_log(BC_LOG_DEBUG, "loader", "plugin directory %s: not readable, skipped", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!has_so_suffix(e->d_name) || skip_by_name(reg, dir, e->d_name, want, arg))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			char **v = realloc(names, c * sizeof *v);
			if (v == NULL)
				break;
			names = v;
			cap = c;
		}
		names[n] = bc_strdup_printf("%s/%s", dir, e->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	/* Sorted, so which copy wins never depends on readdir order. */
	if (n > 0) /* qsort's first argument is nonnull, even for no items */
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && !has_path(reg, names[i]))
			scan_file(reg, names[i], want, arg);
		free(names[i]);
	}
	free(names);
}

static struct bc_registry *registry_new(void)
{
	struct bc_registry *reg = calloc(1, sizeof(struct bc_registry));
	if (reg != NULL)
		pthread_mutex_init(&reg->lock, NULL);
	return reg;
}

void bc_registry_scan(struct bc_registry *reg, const char *const *dirs,
                      bc_plugin_wanted_fn want, void *arg)
{
	for (size_t i = 0; reg != NULL && dirs != NULL && dirs[i] != NULL; i++)
		load_dir(reg, dirs[i], want, arg);
}

struct bc_registry *bc_registry_load_wanted(const char *const *dirs, bc_plugin_wanted_fn want,
                                            void *arg)
{
	struct bc_registry *reg = registry_new();
	bc_registry_scan(reg, dirs, want, arg);
	return reg;
}

struct bc_registry *bc_registry_load(const char *const *dirs)
{
	return bc_registry_load_wanted(dirs, NULL, NULL);
}

struct bc_registry *bc_registry_new_empty(void)
{
	return registry_new();
}

void bc_registry_free(struct bc_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->plugins[i] == NULL)
			continue;
		so_release(reg->plugins[i]->so);
		free(reg->plugins[i]->path);
		free(reg->plugins[i]);
	}
	for (size_t i = 0; i < reg->n_rejects; i++)
		free(reg->rejects[i]);
	for (size_t i = 0; i < reg->n_known; i++) {
		free(reg->known[i].name);
		free(reg->known[i].path);
	}
	for (size_t i = 0; i < reg->n_skipped; i++)
		free(reg->skipped[i].path);
	for (size_t i = 0; i < reg->n_refusals; i++) {
		free(reg->refusals[i].name);
		free(reg->refusals[i].path);
		free(reg->refusals[i].reason);
	}
	free(reg->skipped);
	free(reg->refusals);
	free(reg->plugins);
	free(reg->rejects);
	free(reg->known);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* The registry is logically const for readers; its lock is not. */
static pthread_mutex_t *lock_of(const struct bc_registry *reg)
{
	return (pthread_mutex_t *)&reg->lock;
}

const struct bc_loaded_plugin *bc_registry_find(const struct bc_registry *reg, enum bc_kind kind,
                                                const char *name)
{
	const struct bc_loaded_plugin *found = NULL;
	if (reg == NULL || name == NULL)
		return NULL;
	pthread_mutex_lock(lock_of(reg));
	for (size_t i = 0; found == NULL && i < reg->n; i++)
		if (reg->plugins[i]->desc.kind == kind && strcmp(reg->plugins[i]->desc.name, name) == 0)
			found = reg->plugins[i];
	pthread_mutex_unlock(lock_of(reg));
	return found;
}

size_t bc_registry_count(const struct bc_registry *reg)
{
	size_t n;
	if (reg == NULL)
		return 0;
	pthread_mutex_lock(lock_of(reg));
	n = reg->n;
	pthread_mutex_unlock(lock_of(reg));
	return n;
}

const struct bc_loaded_plugin *bc_registry_at(const struct bc_registry *reg, size_t i)
{
	const struct bc_loaded_plugin *p = NULL;
	if (reg == NULL)
		return NULL;
	pthread_mutex_lock(lock_of(reg));
	if (i < reg->n)
		p = reg->plugins[i];
	pthread_mutex_unlock(lock_of(reg));
	return p;
}

size_t bc_registry_reject_count(const struct bc_registry *reg)
{
	size_t n;
	if (reg == NULL)
		return 0;
	pthread_mutex_lock(lock_of(reg));
	n = reg->n_rejects;
	pthread_mutex_unlock(lock_of(reg));
	return n;
}

const char *bc_registry_reject_at(const struct bc_registry *reg, size_t i)
{
	const char *r = NULL;
	if (reg == NULL)
		return NULL;
	pthread_mutex_lock(lock_of(reg));
	if (i < reg->n_rejects)
		r = reg->rejects[i];
	pthread_mutex_unlock(lock_of(reg));
	return r;
}

struct want_one {
	enum bc_kind kind;
	const char *name;
};

static int wants_one(enum bc_kind kind, const char *name, void *arg)
{
	const struct want_one *w = arg;
	return kind == w->kind && strcmp(name, w->name) == 0;
}

const struct bc_loaded_plugin *bc_registry_find_or_open(const struct bc_registry *creg,
                                                        enum bc_kind kind, const char *name)
{
	/* Logically const, like bc_registry_find(): what it adds only makes
	 * visible a plugin the directories already held. */
	struct bc_registry *reg = (struct bc_registry *)creg;
	const struct bc_loaded_plugin *p = bc_registry_find(reg, kind, name);
	struct want_one w = { kind, name };

	for (size_t i = 0; p == NULL && reg != NULL && name != NULL; i++) {
		char *path = NULL;
		pthread_mutex_lock(&reg->lock);
		if (i < reg->n_skipped && !reg->skipped[i].opened && reg->skipped[i].kind == kind)
			path = strdup(reg->skipped[i].path);
		int more = i < reg->n_skipped;
		pthread_mutex_unlock(&reg->lock);
		if (!more)
			break;
		if (path == NULL)
			continue;
		bc_log(BC_LOG_DEBUG, "loader", "no loaded %s plugin is named '%s'; opening %s, "
		       "skipped by its file name", kind_name(kind), name, path);
		scan_file(reg, path, wants_one, &w);
		free(path);
		p = bc_registry_find(reg, kind, name);
	}
	return p;
}

const char *bc_registry_refusal(const struct bc_registry *reg, enum bc_kind kind,
                                const char *name, const char **path)
{
	const char *why = NULL;
	if (reg == NULL || name == NULL)
		return NULL;
	pthread_mutex_lock(lock_of(reg));
	for (size_t i = 0; why == NULL && i < reg->n_refusals; i++) {
		const struct bc_refusal *r = &reg->refusals[i];
		if ((r->kind == 0 || r->kind == kind) && r->name != NULL &&
		    bc_plugin_names_match(r->name, name)) {
			why = r->reason;
			*path = r->path;
		}
	}
	pthread_mutex_unlock(lock_of(reg));
	return why;
}

size_t bc_registry_known_count(const struct bc_registry *reg)
{
	size_t n;
	if (reg == NULL)
		return 0;
	pthread_mutex_lock(lock_of(reg));
	n = reg->n_known;
	pthread_mutex_unlock(lock_of(reg));
	return n;
}

const char *bc_registry_known_at(const struct bc_registry *reg, size_t i, enum bc_kind *kind)
{
	const char *name = NULL;
	if (reg == NULL)
		return NULL;
	pthread_mutex_lock(lock_of(reg));
	if (i < reg->n_known && !reg->known[i].hidden) {
		name = reg->known[i].name;
		*kind = reg->known[i].kind;
	}
	pthread_mutex_unlock(lock_of(reg));
	return name;
}

const char *bc_kind_name(enum bc_kind kind)
{
	return kind_name(kind);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof **v);
	if (nv == NULL)
		return -1;
	*v = nv;
	nv[*n] = strdup(s);
	if (nv[*n] == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

char **bc_plugin_search_path(const char *const *configured)
{
	char **v = NULL;
	size_t n = 0;
	const char *env = getenv("BROADCAST_PLUGIN_PATH");

	if (env != NULL && env[0] != '\0') {
		char *copy = strdup(env), *save = NULL;
		if (copy == NULL)
			goto fail;
		for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			if (strv_push(&v, &n, tok) != 0) {
				free(copy);
				goto fail;
			}
		free(copy);
	}
	for (size_t i = 0; configured != NULL && configured[i] != NULL; i++)
		if (strv_push(&v, &n, configured[i]) != 0)
			goto fail;
	if (strv_push(&v, &n, BC_PLUGIN_DIR) != 0)
		goto fail;
	return v;
fail:
	bc_strv_free(v);
	return NULL;
}

void bc_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
