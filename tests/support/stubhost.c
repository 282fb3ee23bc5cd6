/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stubhost.c: the test host of stubhost.h. Simple on purpose: linear
 * lists, no locking beyond one mutex for logs and counters. Built with
 * STUBHOST_NO_CHECK it needs no libcheck (ck_shim.h): that copy is the host
 * of the installed conformance kit, broadcast-plugin-check.
 */
#include "config.h"

#ifdef STUBHOST_NO_CHECK /* built into broadcast-plugin-check */
#include "ck_shim.h"
#else
#include <check.h>
#endif
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stubhost.h"

struct stub_counter {
	char *name, *labels;
	uint64_t value;
};

struct stubhost {
	char *name;
	struct bc_config *cfg; /* the framework's own (options.c) */
	pthread_mutex_t lock;
	char *log;
	size_t log_len;
	struct stub_counter *counters;
	size_t n_counters;
	struct stubhost_media *media; /* under lock */
	size_t n_media;
	enum bc_status media_status;
};

struct ep_field {
	char *section, *field, *value;
	unsigned flags;
};

struct bc_endpoint {
	struct ep_field *fields;
	size_t n;
	char **meta_keys, **meta_values;
	size_t n_meta;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	ck_assert_ptr_nonnull(p);
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	ck_assert_ptr_nonnull(p);
	return p;
}

const struct bc_plugin *stubhost_load_plugin(const char *so_path, enum bc_kind kind,
                                             const char *name)
{
	void *so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (so == NULL)
		ck_abort_msg("dlopen %s: %s", so_path, dlerror());
	bc_plugin_entry_fn entry = (bc_plugin_entry_fn)(uintptr_t)dlsym(so, BC_PLUGIN_ENTRY_SYMBOL);
	ck_assert_msg(entry != NULL, "%s has no %s", so_path, BC_PLUGIN_ENTRY_SYMBOL);
	const struct bc_plugin *const *list = entry(BC_ABI_MAJOR, BC_ABI_MINOR);
	ck_assert_ptr_nonnull(list);
	for (size_t i = 0; list[i] != NULL; i++) {
		if (list[i]->kind == kind && strcmp(list[i]->name, name) == 0) {
			ck_assert_uint_eq(list[i]->abi_major, BC_ABI_MAJOR);
			ck_assert_uint_le(list[i]->abi_minor, BC_ABI_MINOR);
			return list[i]; /* the .so stays loaded for the test process */
		}
	}
	ck_abort_msg("%s has no plugin %s", so_path, name);
	return NULL;
}

/* ---- the instance's configuration, as the daemon builds it -------------- */

struct yaml_buf {
	char *text;
	size_t len, cap;
};

static void yb_add(struct yaml_buf *y, const char *s, size_t n)
{
	if (y->len + n + 1 > y->cap) {
		y->cap = (y->len + n + 1) * 2;
		y->text = realloc(y->text, y->cap);
		ck_assert_ptr_nonnull(y->text);
	}
	memcpy(y->text + y->len, s, n);
	y->len += n;
	y->text[y->len] = '\0';
}

static void yb_str(struct yaml_buf *y, const char *s)
{
	yb_add(y, s, strlen(s));
}

/* A double-quoted YAML scalar whose value is `s` verbatim ("$" doubled so
 * yamldoc's ${VAR} interpolation leaves it alone). */
static void yb_quoted(struct yaml_buf *y, const char *s)
{
	yb_add(y, "\"", 1);
	for (; *s != '\0'; s++) {
		char esc[8];
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			yb_add(y, esc, 2);
		} else if (c == '$') {
			yb_add(y, "$$", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			yb_str(y, esc);
		} else {
			yb_add(y, s, 1);
		}
	}
	yb_add(y, "\"", 1);
}

static const struct bc_option *decl_find(const struct bc_option *opts, const char *name)
{
	for (const struct bc_option *o = bc_option_first(opts); o != NULL; o = bc_option_next(o))
		if (o->name != NULL && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* kv as the YAML map of one instance: `type` and `name` first unless kv has
 * them; a key given several times is a flow list, as is every key declared
 * BC_OPT_LIST. A scalar key given twice stays twice so the framework says so. */
static char *kv_to_yaml(const char *instance_name, const struct bc_plugin *plugin,
                        const char *const *kv)
{
	struct yaml_buf y = { NULL, 0, 0 };
	int has_type = 0, has_name = 0;

	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
		ck_assert_msg(kv[i + 1] != NULL, "stubhost_new: key %s has no value", kv[i]);
		has_type |= strcmp(kv[i], "type") == 0;
		has_name |= strcmp(kv[i], "name") == 0;
	}
	yb_str(&y, "{");
	if (!has_type) {
		yb_str(&y, "type: ");
		yb_quoted(&y, plugin->name);
		yb_str(&y, ", ");
	}
	if (!has_name) {
		yb_str(&y, "name: ");
		yb_quoted(&y, instance_name);
		yb_str(&y, ", ");
	}
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
		const struct bc_option *d = decl_find(plugin->options, kv[i]);
		size_t count = 0, earlier = 0;
		if (d == NULL)
			d = decl_find(bc_common_options(plugin->kind), kv[i]);
		for (size_t j = 0; kv[j] != NULL; j += 2)
			if (strcmp(kv[j], kv[i]) == 0) {
				count++;
				earlier += j < i;
			}
		int list = (d != NULL && d->type == BC_OPT_LIST) || count > 1;
		if (list && earlier > 0)
			continue; /* written with the first */
		yb_quoted(&y, kv[i]);
		yb_str(&y, ": ");
		if (!list) {
			yb_quoted(&y, kv[i + 1]);
		} else {
			const char *sep = "[";
			for (size_t j = i; kv[j] != NULL; j += 2)
				if (strcmp(kv[j], kv[i]) == 0) {
					yb_str(&y, sep);
					yb_quoted(&y, kv[j + 1]);
					sep = ", ";
				}
			yb_str(&y, "]");
		}
		yb_str(&y, ", ");
	}
	yb_str(&y, "}\n");
	return y.text;
}

/* The one place that calls the framework's loaders, so a change of their
 * signatures is a change here alone. BC_OK and *out, or the framework's
 * status and *errmsg (malloc'd) as broadcastd would print it. */
static enum bc_status stub_config_build(const char *instance_name, const struct bc_plugin *plugin,
                                        const char *const *kv, struct bc_config **out,
                                        char **errmsg)
{
	char *yaml = kv_to_yaml(instance_name, plugin, kv);
	char *owner = bc_strdup_printf("%s %s (type %s)", bc_kind_name(plugin->kind),
	                               instance_name, plugin->name);
	struct bc_doc *doc = NULL;
	enum bc_status st;

	*out = NULL;
	*errmsg = NULL;
	ck_assert_ptr_nonnull(owner);
	st = bc_doc_load_string("stubhost.yaml", yaml, strlen(yaml), &doc, errmsg);
	if (st == BC_OK)
		st = bc_config_build(doc, doc->root, owner, plugin->options,
		                     bc_common_options(plugin->kind), out, errmsg);
	if (st == BC_OK) {
		st = bc_instance_check_host_options(plugin->kind, doc, doc->root, owner, *out,
		                                    errmsg);
		if (st != BC_OK) {
			bc_config_free(*out);
			*out = NULL;
		}
	}
	if (st != BC_OK && *errmsg == NULL)
		*errmsg = xstrdup("stubhost: the configuration failed without a message");
	bc_doc_free(doc);
	free(owner);
	free(yaml);
	return st;
}

char *stubhost_config_error(const char *instance_name, const struct bc_plugin *plugin,
                            const char *const *kv)
{
	struct bc_config *cfg = NULL;
	char *errmsg = NULL;

	if (stub_config_build(instance_name, plugin, kv, &cfg, &errmsg) == BC_OK) {
		bc_config_free(cfg);
		return NULL;
	}
	return errmsg;
}

struct stubhost *stubhost_new(const char *instance_name, const struct bc_plugin *plugin,
                              const char *const *kv)
{
	struct stubhost *sh;
	struct bc_config *cfg = NULL;
	char *errmsg = NULL;

	if (stub_config_build(instance_name, plugin, kv, &cfg, &errmsg) != BC_OK) {
		char msg[2048];
		snprintf(msg, sizeof msg, "%s", errmsg);
		free(errmsg);
		ck_abort_msg("stubhost_new: %s", msg);
	}
	sh = xcalloc(1, sizeof *sh);
	sh->name = xstrdup(instance_name);
	sh->cfg = cfg;
	pthread_mutex_init(&sh->lock, NULL);
	return sh;
}

void stubhost_free(struct stubhost *sh)
{
	if (sh == NULL)
		return;
	bc_config_free(sh->cfg);
	for (size_t i = 0; i < sh->n_counters; i++) {
		free(sh->counters[i].name);
		free(sh->counters[i].labels);
	}
	free(sh->counters);
	free(sh->media);
	free(sh->log);
	free(sh->name);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

struct bc_host *stubhost_host(struct stubhost *sh)
{
	return (struct bc_host *)sh;
}

const struct bc_config *stubhost_config(struct stubhost *sh)
{
	return sh->cfg;
}

int stubhost_log_contains(const struct stubhost *sh, const char *needle)
{
	return sh->log != NULL && strstr(sh->log, needle) != NULL;
}

const char *stubhost_log_text(const struct stubhost *sh)
{
	return sh->log != NULL ? sh->log : "";
}

uint64_t stubhost_counter(const struct stubhost *sh, const char *name, const char *labels)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < sh->n_counters; i++)
		if (strcmp(sh->counters[i].name, name) == 0 &&
		    (labels == NULL || strcmp(sh->counters[i].labels, labels) == 0))
			sum += sh->counters[i].value;
	return sum;
}

/* ---- the host table --------------------------------------------------- */

static const char *stub_instance_name(const struct bc_host *host)
{
	return ((const struct stubhost *)host)->name;
}

static void stub_log(struct bc_host *host, enum bc_log_level level, const char *fmt, ...)
{
	struct stubhost *sh = (struct stubhost *)host;
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (getenv("STUBHOST_VERBOSE") != NULL)
		fprintf(stderr, "stubhost %d [%s] %s\n", (int)level, sh->name, line);
	pthread_mutex_lock(&sh->lock);
	size_t len = strlen(line);
	sh->log = realloc(sh->log, sh->log_len + len + 2);
	ck_assert_ptr_nonnull(sh->log);
	memcpy(sh->log + sh->log_len, line, len);
	sh->log_len += len;
	sh->log[sh->log_len++] = '\n';
	sh->log[sh->log_len] = '\0';
	pthread_mutex_unlock(&sh->lock);
}

static void stub_log_v(struct bc_host *host, enum bc_log_level level, const char *fmt,
                       va_list ap)
{
	char line[4096];
	vsnprintf(line, sizeof line, fmt, ap);
	stub_log(host, level, "%s", line);
}

static enum bc_status stub_fail_v(struct bc_error *err, enum bc_status status, const char *code,
                                  const char *fmt, va_list ap)
{
	bc_vfail(err, status, code, fmt, ap);
	return status;
}

static enum bc_status stub_media_report(struct bc_host *host, const char *stream_id,
                                        enum bc_media_fact fact, const char *detail)
{
	struct stubhost *sh = (struct stubhost *)host;
	struct stubhost_media *m;
	enum bc_status st;

	if (stream_id == NULL || strlen(stream_id) != 36 || fact < BC_MEDIA_FACT_PUBLISHING ||
	    fact > BC_MEDIA_FACT_GONE)
		return BC_E_INVALID;
	pthread_mutex_lock(&sh->lock);
	st = sh->media_status;
	if (st == BC_OK) {
		sh->media = realloc(sh->media, (sh->n_media + 1) * sizeof *sh->media);
		ck_assert_ptr_nonnull(sh->media);
		m = &sh->media[sh->n_media++];
		memset(m, 0, sizeof *m);
		snprintf(m->stream_id, sizeof m->stream_id, "%s", stream_id);
		m->fact = fact;
		m->detail_null = detail == NULL;
		snprintf(m->detail, 201, "%s", detail != NULL ? detail : ""); /* 200 bytes kept */
	}
	pthread_mutex_unlock(&sh->lock);
	return st;
}

size_t stubhost_media_count(const struct stubhost *sh, const char *stream_id,
                            enum bc_media_fact fact)
{
	struct stubhost *w = (struct stubhost *)sh;
	size_t n = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < sh->n_media; i++)
		if ((stream_id == NULL || strcmp(sh->media[i].stream_id, stream_id) == 0) &&
		    (fact == 0 || sh->media[i].fact == fact))
			n++;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int stubhost_media_at(const struct stubhost *sh, size_t index, struct stubhost_media *out)
{
	struct stubhost *w = (struct stubhost *)sh;
	int rc = -1;

	pthread_mutex_lock(&w->lock);
	if (index < sh->n_media) {
		*out = sh->media[index];
		rc = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void stubhost_media_fail(struct stubhost *sh, enum bc_status status)
{
	pthread_mutex_lock(&sh->lock);
	sh->media_status = status;
	pthread_mutex_unlock(&sh->lock);
}

static int stub_log_enabled(const struct bc_host *host, enum bc_log_level level)
{
	(void)host;
	(void)level;
	return 1;
}

static enum bc_status stub_fail(struct bc_error *err, enum bc_status status, const char *code,
                                const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bc_vfail(err, status, code, fmt, ap);
	va_end(ap);
	return status;
}

static void stub_counter_add(struct bc_host *host, const char *name, const char *labels,
                             uint64_t delta)
{
	struct stubhost *sh = (struct stubhost *)host;
	const char *l = labels != NULL ? labels : "";
	pthread_mutex_lock(&sh->lock);
	for (size_t i = 0; i < sh->n_counters; i++)
		if (strcmp(sh->counters[i].name, name) == 0 && strcmp(sh->counters[i].labels, l) == 0) {
			sh->counters[i].value += delta;
			pthread_mutex_unlock(&sh->lock);
			return;
		}
	sh->counters = realloc(sh->counters, (sh->n_counters + 1) * sizeof *sh->counters);
	ck_assert_ptr_nonnull(sh->counters);
	sh->counters[sh->n_counters].name = xstrdup(name);
	sh->counters[sh->n_counters].labels = xstrdup(l);
	sh->counters[sh->n_counters].value = delta;
	sh->n_counters++;
	pthread_mutex_unlock(&sh->lock);
}

static void stub_gauge_set(struct bc_host *host, const char *name, const char *labels,
                           double value)
{
	(void)host;
	(void)name;
	(void)labels;
	(void)value;
}

static enum bc_status ep_put(struct bc_endpoint *ep, const char *section, const char *field,
                             const char *value, unsigned flags)
{
	if (ep == NULL || section == NULL || field == NULL || value == NULL)
		return BC_E_INVALID;
	for (size_t i = 0; i < ep->n; i++)
		if (strcmp(ep->fields[i].section, section) == 0 &&
		    strcmp(ep->fields[i].field, field) == 0) {
			free(ep->fields[i].value);
			ep->fields[i].value = xstrdup(value);
			ep->fields[i].flags = flags;
			return BC_OK;
		}
	ep->fields = realloc(ep->fields, (ep->n + 1) * sizeof *ep->fields);
	ck_assert_ptr_nonnull(ep->fields);
	ep->fields[ep->n].section = xstrdup(section);
	ep->fields[ep->n].field = xstrdup(field);
	ep->fields[ep->n].value = xstrdup(value);
	ep->fields[ep->n].flags = flags;
	ep->n++;
	return BC_OK;
}

static enum bc_status stub_ep_str(struct bc_endpoint *ep, const char *section, const char *field,
                                  const char *value, unsigned flags)
{
	return ep_put(ep, section, field, value, flags);
}

static enum bc_status stub_ep_real(struct bc_endpoint *ep, const char *section,
                                   const char *field, double value)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%.1f", value);
	return ep_put(ep, section, field, buf, 0);
}

static enum bc_status stub_ep_int(struct bc_endpoint *ep, const char *section,
                                  const char *field, int64_t value)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%" PRId64, value);
	return ep_put(ep, section, field, buf, 0);
}

static enum bc_status stub_ep_bool(struct bc_endpoint *ep, const char *section,
                                   const char *field, int value)
{
	return ep_put(ep, section, field, value ? "true" : "false", 0);
}

/* Kept as its text: the stub checks only that it looks like an array or
 * object; the real host parses it (framework/host.c). */
static enum bc_status stub_ep_json(struct bc_endpoint *ep, const char *section,
                                   const char *field, const char *json, unsigned flags)
{
	if (json == NULL || (json[0] != '[' && json[0] != '{'))
		return BC_E_INVALID;
	return ep_put(ep, section, field, json, flags);
}

static enum bc_status stub_meta_set(struct bc_endpoint *ep, const char *key, const char *value)
{
	if (ep == NULL || key == NULL || value == NULL)
		return BC_E_INVALID;
	for (size_t i = 0; i < ep->n_meta; i++)
		if (strcmp(ep->meta_keys[i], key) == 0) {
			free(ep->meta_values[i]);
			ep->meta_values[i] = xstrdup(value);
			return BC_OK;
		}
	ep->meta_keys = realloc(ep->meta_keys, (ep->n_meta + 1) * sizeof(char *));
	ep->meta_values = realloc(ep->meta_values, (ep->n_meta + 1) * sizeof(char *));
	ck_assert(ep->meta_keys != NULL && ep->meta_values != NULL);
	ep->meta_keys[ep->n_meta] = xstrdup(key);
	ep->meta_values[ep->n_meta] = xstrdup(value);
	ep->n_meta++;
	return BC_OK;
}

static const char *stub_meta_get(const struct bc_stream_info *stream, const char *key)
{
	if (stream == NULL || stream->host_private == NULL)
		return NULL;
	return stubhost_ep_meta(stream->host_private, key);
}

static void stub_call(struct bc_host *host, const struct bc_request *req,
                      struct bc_response *resp)
{
	(void)host;
	(void)req;
	resp->status = 500;
	resp->body = xstrdup("{\"error\":{\"code\":\"stubhost.no_dispatcher\",\"message\":\"x\"}}");
	resp->body_len = strlen(resp->body);
	resp->content_type = "application/json";
	resp->code = BC_E_INTERNAL;
}

static void stub_response_release(struct bc_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->caller);
	size_t size = resp->struct_size;
	memset(resp, 0, sizeof *resp);
	resp->struct_size = size;
}

/* How far the clocks of the stub's tables run ahead (stubhost_clock_skew). */
static int64_t stub_skew_ms;

static int64_t stub_now_ms(void)
{
	return bc_now_ms() + __atomic_load_n(&stub_skew_ms, __ATOMIC_RELAXED);
}

static int64_t stub_monotonic_ms(void)
{
	return bc_monotonic_ms() + __atomic_load_n(&stub_skew_ms, __ATOMIC_RELAXED);
}

void stubhost_clock_skew(int64_t ms)
{
	__atomic_store_n(&stub_skew_ms, ms, __ATOMIC_RELAXED);
}

static const struct bc_host_api stub_api = {
	.struct_size = sizeof(struct bc_host_api),
	.abi_major = BC_ABI_MAJOR,
	.abi_minor = BC_ABI_MINOR,
	.cfg_str = bc_config_str,
	.cfg_int = bc_config_int,
	.cfg_bool = bc_config_bool,
	.cfg_is_set = bc_config_is_set,
	.cfg_list_len = bc_config_list_len,
	.cfg_list_at = bc_config_list_at,
	.instance_name = stub_instance_name,
	.log = stub_log,
	.log_enabled = stub_log_enabled,
	.fail = stub_fail,
	.random = bc_random,
	.now_ms = stub_now_ms,
	.monotonic_ms = stub_monotonic_ms,
	.secure_equal = bc_secure_equal,
	.sha256_hex = bc_sha256_hex,
	.fingerprint = bc_fingerprint,
	.counter_add = stub_counter_add,
	.gauge_set = stub_gauge_set,
	.ep_str = stub_ep_str,
	.ep_real = stub_ep_real,
	.ep_int = stub_ep_int,
	.ep_bool = stub_ep_bool,
	.meta_set = stub_meta_set,
	.meta_get = stub_meta_get,
	.record_put = bc_record_put,
	.call = stub_call,
	.response_release = stub_response_release,
	.log_v = stub_log_v,
	.fail_v = stub_fail_v,
	.media_report = stub_media_report,
	.ep_json = stub_ep_json,
};

const struct bc_host_api *stubhost_api(void)
{
	return &stub_api;
}

static struct bc_host_api stub_api_1_0;

static void stub_api_1_0_init(void)
{
	/* The 1.1 members stay filled but lie past struct_size, as the members
	 * a 1.0 host never had: a plugin must not look at them. */
	stub_api_1_0 = stub_api;
	stub_api_1_0.struct_size = offsetof(struct bc_host_api, log_v);
	stub_api_1_0.abi_minor = 0;
}

const struct bc_host_api *stubhost_api_1_0(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, stub_api_1_0_init);
	return &stub_api_1_0;
}

enum bc_status stubhost_resume(const struct bc_provider_ops *ops, void *instance,
                               const char *id, const struct bc_endpoint *ep,
                               struct bc_error *err)
{
	struct bc_stream_info info;

	ck_assert_msg(BC_HAS_MEMBER(ops, struct bc_provider_ops, resume) && ops->resume != NULL,
	              "the provider has no resume op");
	stubhost_stream_info(&info, id, "", "hls", "alice", ep);
	return ops->resume(instance, &info, err);
}

struct bc_endpoint *stubhost_endpoint_new(void)
{
	return xcalloc(1, sizeof(struct bc_endpoint));
}

void stubhost_endpoint_free(struct bc_endpoint *ep)
{
	if (ep == NULL)
		return;
	for (size_t i = 0; i < ep->n; i++) {
		free(ep->fields[i].section);
		free(ep->fields[i].field);
		free(ep->fields[i].value);
	}
	for (size_t i = 0; i < ep->n_meta; i++) {
		free(ep->meta_keys[i]);
		free(ep->meta_values[i]);
	}
	free(ep->fields);
	free(ep->meta_keys);
	free(ep->meta_values);
	free(ep);
}

static const struct ep_field *ep_find(const struct bc_endpoint *ep, const char *section,
                                      const char *field)
{
	for (size_t i = 0; ep != NULL && i < ep->n; i++)
		if (strcmp(ep->fields[i].section, section) == 0 &&
		    strcmp(ep->fields[i].field, field) == 0)
			return &ep->fields[i];
	return NULL;
}

const char *stubhost_ep_value(const struct bc_endpoint *ep, const char *section,
                              const char *field)
{
	const struct ep_field *f = ep_find(ep, section, field);
	return f != NULL ? f->value : NULL;
}

unsigned stubhost_ep_flags(const struct bc_endpoint *ep, const char *section, const char *field)
{
	const struct ep_field *f = ep_find(ep, section, field);
	return f != NULL ? f->flags : 0;
}

const char *stubhost_ep_meta(const struct bc_endpoint *ep, const char *key)
{
	for (size_t i = 0; ep != NULL && i < ep->n_meta; i++)
		if (strcmp(ep->meta_keys[i], key) == 0)
			return ep->meta_values[i];
	return NULL;
}

void stubhost_stream_info(struct bc_stream_info *info, const char *id, const char *name,
                          const char *type, const char *owner, const struct bc_endpoint *ep)
{
	memset(info, 0, sizeof *info);
	info->struct_size = sizeof *info;
	info->id = id;
	info->name = name;
	info->type = type;
	info->owner = owner;
	info->start_ms = bc_now_ms();
	info->host_private = ep;
}
