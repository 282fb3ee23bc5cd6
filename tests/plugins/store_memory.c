/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_memory.c: the test-only store `type: memory`: records in a list,
 * lost on exit, with failure injection (fail_reserve, fail_commit,
 * fail_stop, fail_get) for the lifecycle rollback tests. Not thread-safe
 * on purpose: the host serialises calls into it (no BC_PLUGIN_THREAD_SAFE),
 * which the tests exercise too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <broadcast/broadcast.h>

struct mem_record {
	char *id, *name, *type, *provider, *owner, *meta;
	enum bc_stream_state state;
	int64_t start_ms, stop_ms;
};

struct mem_store {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct mem_record *rows;
	size_t n, cap;
	const char *fail_reserve, *fail_commit, *fail_stop, *fail_get;
};

static const char *const status_words[] = { "none", "invalid", "unavailable", "timeout",
	                                    "upstream", "internal", NULL };

static enum bc_status status_of(const char *word)
{
	if (word == NULL) return BC_OK;
	if (strcmp(word, "invalid") == 0) return BC_E_INVALID;
	if (strcmp(word, "unavailable") == 0) return BC_E_UNAVAILABLE;
	if (strcmp(word, "timeout") == 0) return BC_E_TIMEOUT;
	if (strcmp(word, "upstream") == 0) return BC_E_UPSTREAM;
	if (strcmp(word, "internal") == 0) return BC_E_INTERNAL;
	return BC_OK;
}

static enum bc_status ms_create(const struct bc_host_api *api, struct bc_host *host,
                                const struct bc_config *cfg, void **instance,
                                struct bc_error *err)
{
	struct mem_store *m = calloc(1, sizeof *m);
	if (m == NULL)
		return api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
	m->api = api;
	m->host = host;
	m->fail_reserve = api->cfg_str(cfg, "fail_reserve");
	m->fail_commit = api->cfg_str(cfg, "fail_commit");
	m->fail_stop = api->cfg_str(cfg, "fail_stop");
	m->fail_get = api->cfg_str(cfg, "fail_get");
	*instance = m;
	return BC_OK;
}

static struct mem_record *find(struct mem_store *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->rows[i].id, id) == 0)
			return &m->rows[i];
	return NULL;
}

static void row_free(struct mem_record *r)
{
	free(r->id);
	free(r->name);
	free(r->type);
	free(r->provider);
	free(r->owner);
	free(r->meta);
}

static enum bc_status put(struct mem_store *m, const struct mem_record *r,
                          struct bc_record_sink *out)
{
	struct bc_record rec;
	memset(&rec, 0, sizeof rec);
	rec.struct_size = sizeof rec;
	rec.id = r->id;
	rec.name = r->name;
	rec.type = r->type;
	rec.provider = r->provider;
	rec.owner = r->owner;
	rec.state = r->state;
	rec.start_ms = r->start_ms;
	rec.stop_ms = r->stop_ms;
	rec.meta = r->meta;
	return m->api->record_put(out, &rec);
}

static enum bc_status ms_reserve(void *instance, const struct bc_record *rec, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record r;
	enum bc_status injected = status_of(m->fail_reserve);
	if (injected != BC_OK)
		return m->api->fail(err, injected, "memory.injected", "reserve failure injected");
	if (find(m, rec->id) != NULL)
		return m->api->fail(err, BC_E_CONFLICT, "memory.duplicate_id", "id exists");
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct mem_record *v = realloc(m->rows, cap * sizeof *v);
		if (v == NULL)
			return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
		m->rows = v;
		m->cap = cap;
	}
	memset(&r, 0, sizeof r);
	r.id = strdup(rec->id);
	r.name = strdup(rec->name);
	r.type = strdup(rec->type);
	r.provider = strdup(rec->provider);
	r.owner = strdup(rec->owner);
	r.meta = strdup(rec->meta ? rec->meta : "{}");
	if (!r.id || !r.name || !r.type || !r.provider || !r.owner || !r.meta) {
		row_free(&r);
		return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
	}
	r.state = BC_STATE_PENDING;
	r.start_ms = rec->start_ms;
	m->rows[m->n++] = r;
	return BC_OK;
}

static enum bc_status ms_commit(void *instance, const char *id, const char *meta,
                                struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	enum bc_status injected = status_of(m->fail_commit);
	char *copy;
	if (injected != BC_OK)
		return m->api->fail(err, injected, "memory.injected", "commit failure injected");
	if (r == NULL || r->state != BC_STATE_PENDING)
		return m->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no pending record");
	copy = strdup(meta ? meta : "{}");
	if (copy == NULL)
		return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
	free(r->meta);
	r->meta = copy;
	r->state = BC_STATE_LIVE;
	return BC_OK;
}

static enum bc_status ms_abort(void *instance, const char *id, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	(void)err;
	if (r == NULL || r->state != BC_STATE_PENDING)
		return BC_OK;
	row_free(r);
	*r = m->rows[--m->n];
	return BC_OK;
}

static enum bc_status ms_get(void *instance, const char *id, struct bc_record_sink *out,
                             struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	enum bc_status injected = status_of(m->fail_get);
	if (injected != BC_OK)
		return m->api->fail(err, injected, "memory.injected", "get failure injected");
	if (r == NULL)
		return m->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no such record");
	return put(m, r, out);
}

static enum bc_status ms_stop(void *instance, const char *id, int64_t stop_ms,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	enum bc_status injected = status_of(m->fail_stop);
	if (injected != BC_OK)
		return m->api->fail(err, injected, "memory.injected", "stop failure injected");
	if (r == NULL || r->state == BC_STATE_PENDING)
		return m->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no such record");
	if (r->state == BC_STATE_STOPPED) {
		put(m, r, out);
		return m->api->fail(err, BC_E_CONFLICT, "store.already_stopped", "already stopped");
	}
	r->state = BC_STATE_STOPPED;
	r->stop_ms = stop_ms;
	return put(m, r, out);
}

/* Newest first by (start_ms, id), as store.h asks. */
static int newer(const struct mem_record *a, const struct mem_record *b)
{
	if (a->start_ms != b->start_ms)
		return a->start_ms > b->start_ms;
	return strcmp(a->id, b->id) > 0;
}

static enum bc_status ms_list(void *instance, const struct bc_list_query *q,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct mem_store *m = instance;
	const struct mem_record **sel = calloc(m->n + 1, sizeof *sel);
	size_t n = 0;
	if (sel == NULL)
		return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		const struct mem_record *r = &m->rows[i];
		if (q->owner && strcmp(q->owner, r->owner) != 0)
			continue;
		if (q->state ? r->state != q->state : r->state == BC_STATE_PENDING)
			continue;
		if (q->after_id) {
			struct mem_record cursor = { .id = (char *)q->after_id,
				                     .start_ms = q->after_start_ms };
			if (!newer(&cursor, r))
				continue;
		}
		sel[n++] = r;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: test sizes are small */
		for (size_t j = i; j > 0 && newer(sel[j], sel[j - 1]); j--) {
			const struct mem_record *t = sel[j];
			sel[j] = sel[j - 1];
			sel[j - 1] = t;
		}
	for (size_t i = 0; i < n && i < q->limit; i++)
		put(m, sel[i], out);
	free(sel);
	return BC_OK;
}

static void ms_destroy(void *instance)
{
	struct mem_store *m = instance;
	for (size_t i = 0; i < m->n; i++)
		row_free(&m->rows[i]);
	free(m->rows);
	free(m);
}

static const struct bc_option ms_options[] = {
	BC_OPTION(.name = "fail_reserve", .type = BC_OPT_ENUM, .default_value = "none",
	          .enum_values = status_words, .description = "Make reserve() fail."),
	BC_OPTION(.name = "fail_commit", .type = BC_OPT_ENUM, .default_value = "none",
	          .enum_values = status_words, .description = "Make commit() fail."),
	BC_OPTION(.name = "fail_stop", .type = BC_OPT_ENUM, .default_value = "none",
	          .enum_values = status_words, .description = "Make stop() fail."),
	BC_OPTION(.name = "fail_get", .type = BC_OPT_ENUM, .default_value = "none",
	          .enum_values = status_words, .description = "Make get() fail."),
	BC_OPTION_END
};

static const struct bc_store_ops ms_ops = {
	.struct_size = sizeof(struct bc_store_ops),
	.create = ms_create,
	.reserve = ms_reserve,
	.commit = ms_commit,
	.abort = ms_abort,
	.get = ms_get,
	.stop = ms_stop,
	.list = ms_list,
	.health = NULL,
	.destroy = ms_destroy,
};

static const struct bc_plugin ms_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_STORE, .name = "memory", .version = PACKAGE_VERSION,
	.description = "Test store: in memory, with failure injection",
	.options = ms_options, .ops = &ms_ops);

static const struct bc_plugin *const ms_plugins[] = { &ms_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_major;
	(void)host_minor;
	return ms_plugins;
}
