/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.c: finding plugin .so files, checking what they declare, keeping
 * them loaded (struct bc_registry).
 *
 * Every check of STYLE rule 16 lives here: dlopen(RTLD_NOW | RTLD_LOCAL) so
 * two plugins never see each other's symbols; the entry symbol is the only
 * thing looked up; the major version must be equal and the plugin's minor at
 * most ours; struct_size is checked before any member is read, and what an
 * older plugin passes is copied into zeroed full-size structs. Every reject
 * path closes the handle and records file, plugin, both versions and the fix.
 * What the instances do with a plugin is instance.c's business.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bc_internal.h"

struct bc_loaded_so {
	void *handle;
	unsigned refs;
};

struct bc_registry {
	struct bc_loaded_plugin **plugins;
	size_t n, cap;
	char **rejects;
	size_t n_rejects, cap_rejects;
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

static int reject(struct bc_registry *reg, char **errmsg, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	bc_log(BC_LOG_WARN, "loader", "%s", buf);
	if (reg->n_rejects == reg->cap_rejects) {
		size_t cap = reg->cap_rejects ? reg->cap_rejects * 2 : 4;
		char **r = realloc(reg->rejects, cap * sizeof *r);
		if (r != NULL) {
			reg->rejects = r;
			reg->cap_rejects = cap;
		}
	}
	if (reg->n_rejects < reg->cap_rejects) {
		char *copy = strdup(buf);
		if (copy != NULL)
			reg->rejects[reg->n_rejects++] = copy;
	}
	if (errmsg != NULL && *errmsg == NULL)
		*errmsg = strdup(buf);
	return -1;
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
		              "upgrade broadcast or use a plugin built for ABI %u.%u",
		              path, raw->name ? raw->name : "?", raw->abi_major, raw->abi_minor,
		              hmaj, hmin, hmaj, hmin);
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
	p->path = strdup(path);
	if (p->path == NULL) {
		free(p);
		return reject(reg, errmsg, "%s: out of memory", path);
	}
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 8;
		struct bc_loaded_plugin **v = realloc(reg->plugins, cap * sizeof *v);
		if (v == NULL) {
			free(p->path);
			free(p);
			return reject(reg, errmsg, "%s: out of memory", path);
		}
		reg->plugins = v;
		reg->cap = cap;
	}
	p->so = so;
	so->refs++;
	reg->plugins[reg->n++] = p;
	bc_log(BC_LOG_DEBUG, "loader", "loaded %s plugin '%s' %s (ABI %u.%u) from %s",
	       kind_name(p->desc.kind), p->desc.name, p->desc.version ? p->desc.version : "",
	       p->desc.abi_major, p->desc.abi_minor, path);
	return 0;
}

int bc_registry_load_file_as(struct bc_registry *reg, const char *path, unsigned hmaj,
                             unsigned hmin, char **errmsg)
{
	struct bc_loaded_so *so = NULL;
	bc_plugin_entry_fn entry;
	const struct bc_plugin *const *list;
	size_t accepted = 0;
	int rc = -1;

	if (errmsg != NULL)
		*errmsg = NULL;
	so = calloc(1, sizeof *so);
	if (so == NULL)
		return reject(reg, errmsg, "%s: out of memory", path);
	dlerror();
	so->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (so->handle == NULL) {
		const char *why = dlerror();
		free(so);
		return reject(reg, errmsg, "%s: cannot load: %s; install the libraries it needs "
		              "or remove the file", path, why ? why : "unknown error");
	}
	/* The one symbol we look up; casting through uintptr_t is how POSIX
	 * says a data pointer from dlsym becomes a function pointer. */
	entry = (bc_plugin_entry_fn)(uintptr_t)dlsym(so->handle, BC_PLUGIN_ENTRY_SYMBOL);
	if (entry == NULL) {
		reject(reg, errmsg, "%s: no %s symbol (host ABI %u.%u); it is not a broadcast "
		       "plugin: remove it from the plugin directory", path, BC_PLUGIN_ENTRY_SYMBOL,
		       hmaj, hmin);
		goto out;
	}
	list = entry(hmaj, hmin);
	if (list == NULL) {
		reject(reg, errmsg, "%s: the plugin declined to load with host ABI %u.%u; use a "
		       "build of it made for this broadcast version", path, hmaj, hmin);
		goto out;
	}
	rc = 0;
	for (size_t i = 0; list[i] != NULL && i < 64; i++) {
		if (accept_descriptor(reg, so, path, list[i], hmaj, hmin, errmsg) == 0)
			accepted++;
		else
			rc = -1;
	}
	if (accepted == 0 && rc == 0)
		rc = reject(reg, errmsg, "%s: the plugin declares no plugins", path);
out:
	if (so->refs == 0) {
		dlclose(so->handle);
		free(so);
	}
	return accepted > 0 ? 0 : rc;
}

int bc_registry_load_file(struct bc_registry *reg, const char *path, char **errmsg)
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

static void load_dir(struct bc_registry *reg, const char *dir)
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
		if (!has_so_suffix(e->d_name))
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
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			bc_registry_load_file(reg, names[i], NULL);
		free(names[i]);
	}
	free(names);
}

static struct bc_registry *registry_new(void)
{
	return calloc(1, sizeof(struct bc_registry));
}

struct bc_registry *bc_registry_load(const char *const *dirs)
{
	struct bc_registry *reg = registry_new();
	if (reg == NULL)
		return NULL;
	for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++)
		load_dir(reg, dirs[i]);
	return reg;
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
		so_release(reg->plugins[i]->so);
		free(reg->plugins[i]->path);
		free(reg->plugins[i]);
	}
	for (size_t i = 0; i < reg->n_rejects; i++)
		free(reg->rejects[i]);
	free(reg->plugins);
	free(reg->rejects);
	free(reg);
}

const struct bc_loaded_plugin *bc_registry_find(const struct bc_registry *reg, enum bc_kind kind,
                                                const char *name)
{
	for (size_t i = 0; reg != NULL && name != NULL && i < reg->n; i++)
		if (reg->plugins[i]->desc.kind == kind && strcmp(reg->plugins[i]->desc.name, name) == 0)
			return reg->plugins[i];
	return NULL;
}

size_t bc_registry_count(const struct bc_registry *reg)
{
	return reg != NULL ? reg->n : 0;
}

const struct bc_loaded_plugin *bc_registry_at(const struct bc_registry *reg, size_t i)
{
	return reg != NULL && i < reg->n ? reg->plugins[i] : NULL;
}

size_t bc_registry_reject_count(const struct bc_registry *reg)
{
	return reg != NULL ? reg->n_rejects : 0;
}

const char *bc_registry_reject_at(const struct bc_registry *reg, size_t i)
{
	return reg != NULL && i < reg->n_rejects ? reg->rejects[i] : NULL;
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
