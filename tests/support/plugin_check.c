/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin_check.c: broadcast-plugin-check, the conformance kit a plugin
 * author runs on a .so (broadcast-plugin-check(1)): what the daemon's
 * loader says of it, then the contract of plugin.h, provider.h and store.h
 * exercised through the stub host of tests/support (stubhost.c, built
 * without libcheck), whose configurations are built by the framework's own
 * bc_config_build() as broadcastd builds them.
 *
 * Output is TAP ("ok 3 - ...", "not ok 4 - ...: why", "# SKIP"), one line
 * per check; the exit status is 0 when none failed, 1 when one did, 2 on a
 * usage error. The checks:
 *  - the loader accepts the file (the reason when not, and nothing else);
 *  - the entry point is pure and repeatable: the same static descriptors on
 *    every call, from another thread too, and NULL or the same for a host
 *    of another major;
 *  - options complete and described: valid unique names, known types and
 *    flags, a description each, enum choices, no default on a required
 *    option, a default that parses;
 *  - the configuration (--config, a YAML map of the instance's options)
 *    builds, and check() accepts it;
 *  - create/destroy with bad options: each option set to odd but well-typed
 *    values (empty, a missing path, the range's ends, each choice) makes
 *    check() and create() either succeed (then destroy) or fail with a
 *    dotted code and a message, never crash;
 *  - providers: create, health, start, stop, stop again (idempotent),
 *    health, destroy; stores: reserve, commit, get, stop, stop again
 *    (BC_E_CONFLICT), list, abort of nothing, health, destroy;
 *  - every error carries a dotted code ("plugin.reason") and a message;
 *  - thread safety as declared: a BC_PLUGIN_THREAD_SAFE plugin is called
 *    from several threads on one instance at once; another is called from
 *    several threads on instances of its own each, which finds shared
 *    mutable globals;
 *  - no leak: build the kit with AddressSanitizer (the CI's ASan pass does)
 *    and LeakSanitizer reports at exit.
 * Frontends get the loader, entry, option and check() checks; their
 * lifecycle needs a daemon (broadcastd --check-config and a start).
 *
 * Everything the plugin writes on disk lands in a temporary working folder,
 * removed at exit.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stubhost.h"

#define MAX_KV 256

static unsigned n_tests, n_failed;
static int verbose;

static void tap(int ok, const char *fmt, ...) BC_PRINTF(2, 3);
static void tap(int ok, const char *fmt, ...)
{
	va_list ap;
	n_tests++;
	if (!ok)
		n_failed++;
	printf("%s %u - ", ok ? "ok" : "not ok", n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void skip(const char *what, const char *why)
{
	n_tests++;
	printf("ok %u - %s # SKIP %s\n", n_tests, what, why);
}

/* "s3.bad_option": lowercase words joined by dots, at least two. */
static int dotted(const char *code)
{
	int dots = 0, word = 0;
	for (const char *c = code; *c != '\0'; c++) {
		if (*c == '.') {
			if (!word)
				return 0;
			dots++;
			word = 0;
		} else if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		           *c == '-') {
			word = 1;
		} else {
			return 0;
		}
	}
	return dots >= 1 && word;
}

/* An error as the contract wants it: a status, a dotted code, a message.
 * Returns 1 when well-formed, else 0 with why filled. */
static int error_well_formed(enum bc_status st, const struct bc_error *err, char *why,
                             size_t size)
{
	if (st == BC_OK)
		return snprintf(why, size, "BC_OK"), 1;
	if (!dotted(err->code))
		return snprintf(why, size, "status %s with code '%s', not a dotted code like "
		                "'myplugin.reason' (set it with api->fail())", bc_status_name(st),
		                err->code), 0;
	if (err->message[0] == '\0')
		return snprintf(why, size, "status %s code %s without a message", bc_status_name(st),
		                err->code), 0;
	return snprintf(why, size, "%s %s: %s", bc_status_name(st), err->code, err->message), 1;
}

/* ---- the configuration: --config FILE, a YAML map --------------------------- */

struct kv {
	const char *v[MAX_KV * 2 + 1];
	size_t n;
};

static int kv_add(struct kv *kv, const char *k, const char *v)
{
	if (kv->n + 2 > MAX_KV * 2)
		return -1;
	kv->v[kv->n++] = k;
	kv->v[kv->n++] = v;
	kv->v[kv->n] = NULL;
	return 0;
}

/* Nested maps become dotted keys ("tls.cert"), lists repeated keys. */
static int kv_from_node(struct kv *kv, const struct bc_node *map, const char *prefix,
                        char **names, size_t *n_names)
{
	for (size_t i = 0; i < map->n_items; i++) {
		const struct bc_node *it = map->items[i];
		char *key = bc_strdup_printf("%s%s", prefix, it->key);
		if (key == NULL)
			return -1;
		names[(*n_names)++] = key;
		if (it->kind == BC_NODE_MAP) {
			char *sub = bc_strdup_printf("%s.", key);
			int rc = sub != NULL ? kv_from_node(kv, it, sub, names, n_names) : -1;
			free(sub);
			if (rc != 0)
				return rc;
		} else if (it->kind == BC_NODE_SEQ) {
			for (size_t k = 0; k < it->n_items; k++)
				if (it->items[k]->kind != BC_NODE_SCALAR ||
				    kv_add(kv, key, it->items[k]->value) != 0)
					return -1;
		} else if (kv_add(kv, key, it->value) != 0) {
			return -1;
		}
		if (*n_names >= MAX_KV)
			return -1;
	}
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

struct target {
	const char *path;
	const struct bc_plugin *plugin; /* the plugin's own descriptor */
	const struct bc_loaded_plugin *loaded;
	struct kv kv;
	int have_config;
	unsigned threads, iterations;
};

static void check_entry(const char *path)
{
	void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	bc_plugin_entry_fn entry;
	const struct bc_plugin *const *a, *const *b;
	int same = 1;

	if (so == NULL) {
		tap(0, "entry point: dlopen: %s", dlerror());
		return;
	}
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	entry = (bc_plugin_entry_fn)(uintptr_t)dlsym(so, BC_PLUGIN_ENTRY_SYMBOL);
	if (entry == NULL) {
		tap(0, "entry point: no %s", BC_PLUGIN_ENTRY_SYMBOL);
		dlclose(so);
		return;
	}
	a = entry(BC_ABI_MAJOR, BC_ABI_MINOR);
	b = entry(BC_ABI_MAJOR, BC_ABI_MINOR);
	for (size_t i = 0; a != NULL && b != NULL && same && i < 64; i++) {
		same = a[i] == b[i];
		if (a[i] == NULL)
			break;
	}
	tap(a != NULL && a == b && same, "entry point is repeatable: the same static "
	    "descriptors on every call");
	(void)entry(BC_ABI_MAJOR + 1, 0); /* may decline; must not crash */
	b = entry(BC_ABI_MAJOR, BC_ABI_MINOR);
	tap(b == a, "entry point is pure: a call for another major changes nothing");
	dlclose(so);
}

struct entry_thread_arg {
	bc_plugin_entry_fn entry;
	const struct bc_plugin *const *got;
};

static void *entry_thread(void *arg)
{
	struct entry_thread_arg *a = arg;
	a->got = a->entry(BC_ABI_MAJOR, BC_ABI_MINOR);
	return NULL;
}

static void check_entry_thread(const char *path)
{
	void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	struct entry_thread_arg arg = { NULL, NULL };
	pthread_t t;
	if (so == NULL)
		return;
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	arg.entry = (bc_plugin_entry_fn)(uintptr_t)dlsym(so, BC_PLUGIN_ENTRY_SYMBOL);
	if (arg.entry != NULL && pthread_create(&t, NULL, entry_thread, &arg) == 0) {
		pthread_join(t, NULL);
		tap(arg.got == arg.entry(BC_ABI_MAJOR, BC_ABI_MINOR),
		    "entry point answers the same from another thread");
	}
	dlclose(so);
}

static int valid_option_name(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
		      s[n] == '.'))
			return 0;
	return n >= 1 && n <= 64 && s[0] != '.' && s[n - 1] != '.';
}

static void check_options(const struct target *t)
{
	const struct bc_plugin *p = &t->loaded->desc;
	size_t n = 0;
	for (const struct bc_option *o = bc_option_first(p->options); o; o = bc_option_next(o)) {
		char why[512] = "";
		n++;
		if (o->name == NULL || !valid_option_name(o->name))
			snprintf(why, sizeof why, "name '%s' is not [a-z0-9_.]{1,64}",
			         o->name ? o->name : "(null)");
		else if (o->type < BC_OPT_STRING || o->type > BC_OPT_ENUM)
			snprintf(why, sizeof why, "unknown type %d", (int)o->type);
		else if (o->flags & ~(BC_OPT_REQUIRED | BC_OPT_SECRET | BC_OPT_NONEMPTY))
			snprintf(why, sizeof why, "unknown flag bits 0x%x", o->flags);
		else if (o->description == NULL || o->description[0] == '\0')
			snprintf(why, sizeof why, "no description (--describe and the docs print it)");
		else if (o->type == BC_OPT_ENUM && (o->enum_values == NULL || o->enum_values[0] == NULL))
			snprintf(why, sizeof why, "an enum without enum_values");
		else if ((o->flags & BC_OPT_REQUIRED) && o->default_value != NULL)
			snprintf(why, sizeof why, "required with a default (one of them is wrong)");
		else if (o->min > o->max)
			snprintf(why, sizeof why, "min %lld above max %lld", (long long)o->min,
			         (long long)o->max);
		for (const struct bc_option *e = bc_option_first(p->options); why[0] == '\0' && e != o;
		     e = bc_option_next(e))
			if (e->name != NULL && strcmp(e->name, o->name) == 0)
				snprintf(why, sizeof why, "declared twice");
		if (why[0] != '\0')
			tap(0, "option '%s': %s", o->name ? o->name : "?", why);
	}
	tap(1, "%zu options declared: names, types, flags, descriptions", n);
}

/* The configuration of the instance; NULL when it does not build (the
 * framework's message printed). */
static struct stubhost *host_for(const struct target *t, const char *name,
                                 const char *const *kv, int report)
{
	char *err = stubhost_config_error(name, t->plugin, kv);
	if (err != NULL) {
		if (report)
			tap(0, "the configuration builds: %s", err);
		free(err);
		return NULL;
	}
	return stubhost_new(name, t->plugin, kv);
}

static enum bc_status call_check(const struct target *t, const struct bc_config *cfg,
                                 struct bc_error *err)
{
	const struct bc_loaded_plugin *p = t->loaded;
	enum bc_status (*check)(const struct bc_host_api *, const struct bc_config *,
	                        struct bc_error *) = NULL;
	bc_error_clear(err);
	switch (p->desc.kind) {
	case BC_KIND_PROVIDER: check = p->ops.provider.check; break;
	case BC_KIND_STORE: check = p->ops.store.check; break;
	case BC_KIND_FRONTEND: check = p->ops.frontend.check; break;
	}
	return check != NULL ? check(stubhost_api(), cfg, err) : BC_OK;
}

static enum bc_status call_create(const struct target *t, struct stubhost *sh, void **inst,
                                  struct bc_error *err)
{
	const struct bc_loaded_plugin *p = t->loaded;
	bc_error_clear(err);
	*inst = NULL;
	switch (p->desc.kind) {
	case BC_KIND_PROVIDER:
		return p->ops.provider.create(stubhost_api(), stubhost_host(sh), stubhost_config(sh),
		                              inst, err);
	case BC_KIND_STORE:
		return p->ops.store.create(stubhost_api(), stubhost_host(sh), stubhost_config(sh),
		                           inst, err);
	case BC_KIND_FRONTEND:
		return p->ops.frontend.create(stubhost_api(), stubhost_host(sh), stubhost_config(sh),
		                              inst, err);
	}
	return BC_E_INTERNAL;
}

static void call_destroy(const struct target *t, void *inst)
{
	switch (t->loaded->desc.kind) {
	case BC_KIND_PROVIDER: t->loaded->ops.provider.destroy(inst); break;
	case BC_KIND_STORE: t->loaded->ops.store.destroy(inst); break;
	case BC_KIND_FRONTEND: t->loaded->ops.frontend.destroy(inst); break;
	}
}

static int thorough;

/* One bad-options variant: the configuration with `key` set to `value`.
 * check() runs for every variant; create() (and destroy()) for the first
 * one check() accepts of each option, or for all with --thorough: an
 * instance with a listener takes a second to destroy. */
static void try_variant(const struct target *t, const char *key, const char *value,
                        unsigned *tried, unsigned *bad)
{
	static const char *created_for;
	struct kv kv = { { NULL }, 0 };
	struct stubhost *sh;
	struct bc_error err;
	enum bc_status st;
	char why[1200];
	void *inst = NULL;

	for (size_t i = 0; i < t->kv.n; i += 2)
		if (strcmp(t->kv.v[i], key) != 0)
			kv_add(&kv, t->kv.v[i], t->kv.v[i + 1]);
	kv_add(&kv, key, value);
	sh = host_for(t, "variant", kv.v, 0);
	if (sh == NULL)
		return; /* the host refuses it: the plugin never sees it */
	(*tried)++;
	st = call_check(t, stubhost_config(sh), &err);
	if (!error_well_formed(st, &err, why, sizeof why)) {
		(*bad)++;
		tap(0, "check() with %s: \"%s\": %s", key, value, why);
	} else if (st == BC_OK && t->loaded->desc.kind != BC_KIND_FRONTEND &&
	           (thorough || created_for != key)) {
		created_for = key;
		st = call_create(t, sh, &inst, &err);
		if (!error_well_formed(st, &err, why, sizeof why)) {
			(*bad)++;
			tap(0, "create() with %s: \"%s\": %s", key, value, why);
		}
		if (st == BC_OK)
			call_destroy(t, inst);
		if (verbose)
			printf("# %s: \"%s\": %s\n", key, value, why);
	}
	stubhost_free(sh);
}

static void check_bad_options(const struct target *t)
{
	unsigned tried = 0, bad = 0;
	for (const struct bc_option *o = bc_option_first(t->plugin->options); o;
	     o = bc_option_next(o)) {
		char lo[32], hi[32];
		if (o->name == NULL)
			continue;
		switch (o->type) {
		case BC_OPT_STRING:
		case BC_OPT_LIST:
			if (!(o->flags & BC_OPT_NONEMPTY))
				try_variant(t, o->name, "", &tried, &bad);
			try_variant(t, o->name, "/nonexistent/plugin-check/x", &tried, &bad);
			try_variant(t, o->name, "bad value: \x01 \"'%s ${}", &tried, &bad);
			break;
		case BC_OPT_INT:
			if (o->min < o->max) {
				snprintf(lo, sizeof lo, "%lld", (long long)o->min);
				snprintf(hi, sizeof hi, "%lld", (long long)o->max);
				try_variant(t, o->name, lo, &tried, &bad);
				try_variant(t, o->name, hi, &tried, &bad);
			} else {
				try_variant(t, o->name, "0", &tried, &bad);
				try_variant(t, o->name, "-1", &tried, &bad);
			}
			break;
		case BC_OPT_DURATION:
		case BC_OPT_SIZE:
			if (o->min < o->max) {
				snprintf(lo, sizeof lo, o->type == BC_OPT_DURATION ? "%lldms" : "%lld",
				         (long long)o->min);
				snprintf(hi, sizeof hi, o->type == BC_OPT_DURATION ? "%lldms" : "%lld",
				         (long long)o->max);
				try_variant(t, o->name, lo, &tried, &bad);
				try_variant(t, o->name, hi, &tried, &bad);
			} else {
				try_variant(t, o->name, "0", &tried, &bad);
			}
			break;
		case BC_OPT_BOOL:
			try_variant(t, o->name, "true", &tried, &bad);
			try_variant(t, o->name, "false", &tried, &bad);
			break;
		case BC_OPT_ENUM:
			for (size_t i = 0; o->enum_values != NULL && o->enum_values[i] != NULL; i++)
				try_variant(t, o->name, o->enum_values[i], &tried, &bad);
			break;
		}
	}
	if (bad == 0)
		tap(1, "check()/create()/destroy() with %u odd option values: success or a "
		    "dotted error each", tried);
}

/* ---- providers -------------------------------------------------------------- */

static const char *first_type(const struct target *t)
{
	const char *const *types = t->loaded->ops.provider.stream_types;
	return types != NULL && types[0] != NULL ? types[0] : "hls";
}

/* One start and stop (and a second stop); 0 or -1 with a TAP line when
 * report. *upstream is set when start failed for want of an upstream. */
static int provider_round(const struct target *t, void *inst, int report, int *upstream)
{
	const struct bc_provider_ops *ops = &t->loaded->ops.provider;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	struct bc_stream_info info;
	struct bc_error err;
	char id[37], why[1200];
	enum bc_status st;
	int rc = -1;

	*upstream = 0;
	if (bc_uuid4(id) != BC_OK)
		goto out;
	stubhost_stream_info(&info, id, "plugin-check", first_type(t), "plugin-check", ep);
	bc_error_clear(&err);
	st = ops->start(inst, &info, ep, &err);
	if (!error_well_formed(st, &err, why, sizeof why)) {
		if (report)
			tap(0, "start(): %s", why);
		goto out;
	}
	if (st == BC_E_UNAVAILABLE || st == BC_E_TIMEOUT || st == BC_E_UPSTREAM) {
		*upstream = 1;
		if (report)
			skip("start() and stop()", why);
		rc = 0;
		goto out;
	}
	if (st != BC_OK) {
		if (report)
			tap(0, "start(): %s", why);
		goto out;
	}
	if (report)
		tap(1, "start() of a %s stream", info.type);
	info.stop_ms = bc_now_ms();
	bc_error_clear(&err);
	st = ops->stop(inst, &info, &err);
	error_well_formed(st, &err, why, sizeof why);
	if (report)
		tap(st == BC_OK, "stop(): %s", why);
	if (st != BC_OK)
		goto out;
	bc_error_clear(&err);
	st = ops->stop(inst, &info, &err);
	error_well_formed(st, &err, why, sizeof why);
	if (report)
		tap(st == BC_OK, "stop() again is idempotent (after a crash it may run twice): %s",
		    why);
	rc = st == BC_OK ? 0 : -1;
out:
	stubhost_endpoint_free(ep);
	return rc;
}

static void health(const struct target *t, void *inst, const char *when)
{
	enum bc_status (*fn)(void *, struct bc_error *) =
	        t->loaded->desc.kind == BC_KIND_PROVIDER ? t->loaded->ops.provider.health
	                                                 : t->loaded->ops.store.health;
	struct bc_error err;
	char why[1200];
	if (fn == NULL) {
		skip(when, "no health()");
		return;
	}
	bc_error_clear(&err);
	enum bc_status st = fn(inst, &err);
	int ok = error_well_formed(st, &err, why, sizeof why);
	tap(ok, "%s: %s", when, why);
}

/* ---- stores ------------------------------------------------------------------- */

static enum bc_status store_round(const struct target *t, void *inst, int report)
{
	const struct bc_store_ops *ops = &t->loaded->ops.store;
	struct bc_record rec;
	struct bc_record_sink sink;
	struct bc_error err;
	char id[37], why[1200];
	enum bc_status st;
	int ok = 1;

	if (bc_uuid4(id) != BC_OK)
		return BC_E_NOMEM;
	memset(&rec, 0, sizeof rec);
	rec.struct_size = sizeof rec;
	rec.id = id;
	rec.name = "plugin-check";
	rec.type = "hls";
	rec.provider = "plugin-check";
	rec.owner = "plugin-check";
	rec.state = BC_STATE_PENDING;
	rec.start_ms = bc_now_ms();
	rec.meta = "{}";
	bc_record_sink_init(&sink);
#define STEP(name, call, want)                                                         \
	do {                                                                           \
		bc_error_clear(&err);                                                  \
		st = (call);                                                           \
		int wf = error_well_formed(st, &err, why, sizeof why);                \
		if (report)                                                            \
			tap(wf && st == (want), "%s: %s", name, why);                  \
		if (!wf || st != (want)) {                                             \
			ok = 0;                                                        \
			goto out;                                                      \
		}                                                                      \
	} while (0)
	STEP("reserve() of a new record", ops->reserve(inst, &rec, &err), BC_OK);
	STEP("reserve() of the same id again: BC_E_CONFLICT", ops->reserve(inst, &rec, &err),
	     BC_E_CONFLICT);
	STEP("commit()", ops->commit(inst, id, "{\"k\":\"v\"}", &err), BC_OK);
	STEP("get()", ops->get(inst, id, &sink, &err), BC_OK);
	STEP("stop()", ops->stop(inst, id, bc_now_ms(), &sink, &err), BC_OK);
	STEP("stop() again: BC_E_CONFLICT with the record", ops->stop(inst, id, bc_now_ms(), &sink,
	                                                               &err), BC_E_CONFLICT);
	if (bc_uuid4(id) != BC_OK)
		goto out;
	STEP("get() of an unknown id: BC_E_NOT_FOUND", ops->get(inst, id, &sink, &err),
	     BC_E_NOT_FOUND);
	STEP("abort() of an unknown id is idempotent", ops->abort(inst, id, &err), BC_OK);
	{
		struct bc_list_query q;
		memset(&q, 0, sizeof q);
		q.struct_size = sizeof q;
		q.owner = "plugin-check";
		q.limit = 10;
		STEP("list()", ops->list(inst, &q, &sink, &err), BC_OK);
	}
#undef STEP
out:
	bc_record_sink_free(&sink);
	return ok ? BC_OK : BC_E_INTERNAL;
}

/* ---- concurrency ------------------------------------------------------------------ */

struct worker {
	const struct target *t;
	void *inst;
	pthread_mutex_t *lock; /* the host's serialisation, or NULL */
	unsigned failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < w->t->iterations; i++) {
		int upstream = 0, rc;
		if (w->lock != NULL)
			pthread_mutex_lock(w->lock);
		if (w->t->loaded->desc.kind == BC_KIND_PROVIDER)
			rc = provider_round(w->t, w->inst, 0, &upstream);
		else
			rc = store_round(w->t, w->inst, 0) == BC_OK ? 0 : -1;
		if (w->lock != NULL)
			pthread_mutex_unlock(w->lock);
		if (rc != 0)
			w->failures++;
	}
	return NULL;
}

static void check_threads(const struct target *t, void *shared_inst)
{
	int safe = (t->loaded->desc.flags & BC_PLUGIN_THREAD_SAFE) != 0;
	unsigned n = t->threads;
	struct worker w[16];
	struct stubhost *hosts[16] = { NULL };
	pthread_t th[16];
	unsigned started = 0, failures = 0;

	if (n > 16)
		n = 16;
	for (unsigned i = 0; i < n; i++) {
		struct bc_error err;
		w[i].t = t;
		w[i].lock = NULL;
		w[i].failures = 0;
		w[i].inst = shared_inst;
		if (!safe && t->loaded->desc.kind == BC_KIND_PROVIDER) {
			/* One instance each: calls into one are serialised by the host,
			 * instances are not, so shared mutable state shows here. */
			char name[32];
			snprintf(name, sizeof name, "thread%u", i);
			hosts[i] = host_for(t, name, t->kv.v, 0);
			if (hosts[i] == NULL || call_create(t, hosts[i], &w[i].inst, &err) != BC_OK) {
				/* A provider that binds a port has one instance per port:
				 * fall back to the shared one, serialised. */
				stubhost_free(hosts[i]);
				hosts[i] = NULL;
				w[i].inst = shared_inst;
			}
		}
	}
	static pthread_mutex_t serial = PTHREAD_MUTEX_INITIALIZER;
	for (unsigned i = 0; i < n; i++) {
		if (!safe && w[i].inst == shared_inst)
			w[i].lock = &serial;
		if (pthread_create(&th[i], NULL, work, &w[i]) == 0)
			started++;
		else
			break;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failures += w[i].failures;
	}
	for (unsigned i = 0; i < n; i++)
		if (hosts[i] != NULL) {
			call_destroy(t, w[i].inst);
			stubhost_free(hosts[i]);
		}
	tap(failures == 0 && started == n, "%u threads x %u rounds %s: %u failed", n,
	    t->iterations, safe ? "on one instance at once (BC_PLUGIN_THREAD_SAFE)"
	                        : "(not thread-safe: one instance per thread, or serialised)",
	    failures);
}

static void check_lifecycle(const struct target *t)
{
	struct stubhost *sh;
	struct bc_error err;
	char why[1200];
	enum bc_status st;
	void *inst = NULL;
	int upstream = 0;

	if (t->loaded->desc.kind == BC_KIND_FRONTEND) {
		skip("create/start/drain", "a frontend needs a daemon: use broadcastd --check-config "
		     "and a start");
		return;
	}
	sh = host_for(t, "plugin-check", t->kv.v, 1);
	if (sh == NULL)
		return;
	st = call_create(t, sh, &inst, &err);
	int wf = error_well_formed(st, &err, why, sizeof why);
	if (wf && (st == BC_E_UNAVAILABLE || st == BC_E_TIMEOUT || st == BC_E_UPSTREAM)) {
		/* A database or service that is not there: the plugin said so
		 * properly; what needs it cannot be checked here. */
		skip("create() and the calls on an instance", why);
		stubhost_free(sh);
		return;
	}
	tap(wf && st == BC_OK, "create(): %s", why);
	if (st != BC_OK) {
		stubhost_free(sh);
		return;
	}
	health(t, inst, "health() after create");
	if (t->loaded->desc.kind == BC_KIND_PROVIDER)
		provider_round(t, inst, 1, &upstream);
	else
		store_round(t, inst, 1);
	health(t, inst, "health() after use");
	if (!upstream)
		check_threads(t, inst);
	call_destroy(t, inst);
	tap(1, "destroy()");
	if (verbose)
		printf("# log:\n%s\n", stubhost_log_text(sh));
	stubhost_free(sh);
}

static void check_plugin(struct target *t)
{
	struct stubhost *sh;
	struct bc_error err;
	char why[1200];

	printf("# %s %s %s (ABI %u.%u)%s\n", bc_kind_name(t->loaded->desc.kind),
	       t->loaded->desc.name, t->loaded->desc.version ? t->loaded->desc.version : "",
	       t->loaded->desc.abi_major, t->loaded->desc.abi_minor,
	       t->loaded->desc.flags & BC_PLUGIN_THREAD_SAFE ? ", thread-safe" : "");
	check_options(t);
	if (!t->have_config) {
		char missing[512] = "";
		for (const struct bc_option *o = bc_option_first(t->plugin->options); o;
		     o = bc_option_next(o))
			if (o->name != NULL && (o->flags & BC_OPT_REQUIRED))
				snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
				         "%s%s", missing[0] ? ", " : "", o->name);
		if (missing[0] != '\0') {
			char reason[600];
			snprintf(reason, sizeof reason, "required options (%s): give --config FILE",
			         missing);
			skip("the instance's checks", reason);
			return;
		}
	}
	sh = host_for(t, "plugin-check", t->kv.v, 1);
	if (sh == NULL)
		return;
	tap(1, "the configuration builds (the daemon's own option checks)");
	enum bc_status st = call_check(t, stubhost_config(sh), &err);
	int wf = error_well_formed(st, &err, why, sizeof why);
	tap(wf && st == BC_OK, "check() accepts the configuration: %s", why);
	stubhost_free(sh);
	if (st != BC_OK)
		return;
	check_bad_options(t);
	check_lifecycle(t);
}

/* ---- main ---------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: broadcast-plugin-check FILE.so [--config FILE] [--name NAME]\n"
	        "                              [--threads N] [--iterations N] [--thorough] [-v]\n"
	        "\n"
	        "Check a broadcast plugin against the plugin contract: the loader's verdict,\n"
	        "the entry point, the option table, check()/create()/destroy() with odd\n"
	        "options, start/stop/stop again/health (providers) or reserve/commit/get/\n"
	        "stop/list (stores), dotted error codes, and calls from several threads as\n"
	        "its thread safety allows. Output is TAP; exit 0 when every check passed.\n"
	        "\n"
	        "  --config FILE     a YAML map of the instance's options (what goes under\n"
	        "                    `providers:` in broadcast.yaml, without type)\n"
	        "  --name NAME       only the plugin NAME of a .so that holds several\n"
	        "  --threads N       threads of the concurrency check (default 4, at most 16)\n"
	        "  --iterations N    rounds per thread (default 20)\n"
	        "  --thorough        create() with every odd value, not one per option\n"
	        "  -v, --verbose     print the plugin's log lines and every odd value's answer\n"
	        "\n"
	        "See broadcast-plugin-check(1) and broadcast-plugin(7).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "thorough", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *only = NULL;
	char *so = NULL, *err = NULL, *names[MAX_KV], tmp[] = "/tmp/bc-plugin-check-XXXXXX";
	size_t n_names = 0;
	struct bc_registry *reg = NULL;
	struct bc_doc *doc = NULL;
	struct target base;
	unsigned threads = 4, iterations = 20;
	int opt, rc = 1, have_tmp = 0;

	memset(&base, 0, sizeof base);
	while ((opt = getopt_long(argc, argv, "c:n:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'n': only = optarg; break;
		case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'i': iterations = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'v': verbose = 1; break;
		case 'T': thorough = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || threads == 0) {
		usage(stderr);
		return 2;
	}
	bc_log_set_level(verbose ? BC_LOG_DEBUG : BC_LOG_ERROR);
	/* An absolute path: the checks run in a folder of their own. */
	so = strchr(argv[optind], '/') != NULL ? realpath(argv[optind], NULL)
	                                       : bc_strdup_printf("./%s", argv[optind]);
	if (so != NULL && strchr(argv[optind], '/') == NULL) {
		char *abs = realpath(so, NULL);
		free(so);
		so = abs;
	}
	if (so == NULL) {
		fprintf(stderr, "broadcast-plugin-check: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (config != NULL) {
		if (bc_doc_load_file(config, &doc, &err) != BC_OK) {
			fprintf(stderr, "broadcast-plugin-check: %s\n", err ? err : "out of memory");
			goto out;
		}
		if (doc->root->kind != BC_NODE_MAP ||
		    kv_from_node(&base.kv, doc->root, "", names, &n_names) != 0) {
			fprintf(stderr, "broadcast-plugin-check: %s: expected a map of the instance's "
			        "options (at most %d)\n", config, MAX_KV);
			goto out;
		}
		base.have_config = 1;
	}
	if (mkdtemp(tmp) == NULL || chdir(tmp) != 0) {
		fprintf(stderr, "broadcast-plugin-check: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	have_tmp = 1;

	printf("TAP version 13\n# %s\n", so);
	reg = bc_registry_new_empty();
	if (reg == NULL)
		goto out;
	if (bc_registry_load_file(reg, so, &err) != BC_OK || bc_registry_reject_count(reg) > 0) {
		tap(0, "the loader accepts it: %s",
		    err ? err : bc_registry_reject_count(reg) ? bc_registry_reject_at(reg, 0) : "?");
		if (bc_registry_count(reg) == 0)
			goto done;
	} else {
		tap(1, "the loader accepts it (ABI, struct sizes, required operations, names)");
	}
	check_entry(so);
	check_entry_thread(so);
	base.path = so;
	base.threads = threads;
	base.iterations = iterations;
	for (size_t i = 0; i < bc_registry_count(reg); i++) {
		struct target t = base;
		t.loaded = bc_registry_at(reg, i);
		if (only != NULL && strcmp(only, t.loaded->desc.name) != 0)
			continue;
		t.plugin = &t.loaded->desc;
		check_plugin(&t);
	}
done:
	printf("1..%u\n", n_tests);
	if (n_failed > 0)
		printf("# %u of %u checks failed\n", n_failed, n_tests);
	else
		printf("# all %u checks passed\n", n_tests);
	rc = n_failed > 0 ? 1 : 0;
out:
	if (have_tmp) {
		if (chdir("/") != 0)
			rc = 1;
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	bc_doc_free(doc);
	bc_registry_free(reg);
	free(err);
	free(so);
	return rc;
}
