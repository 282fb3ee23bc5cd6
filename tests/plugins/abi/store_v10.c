/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_v10.c: the store `type: memory_v10`, a plugin written and built
 * against the ABI 1.0 headers (tests/plugins/abi-1.0, first on the include
 * path), as a store released before 1.1 is: its bc_store_ops ends at
 * destroy() and its records end at meta. tests/integration/test_abi_compat.py
 * runs the 1.1 broadcastd with it: the host keeps media state and events
 * in memory for such a store. Records live in a list, lost on exit; the
 * host serialises calls into it (no BC_PLUGIN_THREAD_SAFE).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <broadcast/plugin.h>
#include <broadcast/host.h>
#include <broadcast/store.h>

#if BC_ABI_MAJOR != 1 || BC_ABI_MINOR != 0
#error "store_v10.c must be built against the ABI 1.0 headers (tests/plugins/abi-1.0)"
#endif

struct v10_row {
	char *id, *name, *type, *provider, *owner, *meta;
	enum bc_stream_state state;
	int64_t start_ms, stop_ms;
};

struct v10_store {
	const struct bc_host_api *api;
	struct v10_row *rows;
	size_t n, cap;
};

static enum bc_status v10_create(const struct bc_host_api *api, struct bc_host *host,
                                 const struct bc_config *cfg, void **instance,
                                 struct bc_error *err)
{
	struct v10_store *m = calloc(1, sizeof *m);
	(void)host;
	(void)cfg;
	if (m == NULL)
		return api->fail(err, BC_E_NOMEM, "memory_v10.nomem", "out of memory");
	m->api = api;
	*instance = m;
	return BC_OK;
}

static struct v10_row *find(struct v10_store *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->rows[i].id, id) == 0)
			return &m->rows[i];
	return NULL;
}

static void row_free(struct v10_row *r)
{
	free(r->id);
	free(r->name);
	free(r->type);
	free(r->provider);
	free(r->owner);
	free(r->meta);
}

/* A record as 1.0 knows it: struct_size is 1.0's sizeof. */
static enum bc_status put(struct v10_store *m, const struct v10_row *r,
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

static enum bc_status v10_reserve(void *instance, const struct bc_record *rec,
                                  struct bc_error *err)
{
	struct v10_store *m = instance;
	struct v10_row r;
	if (find(m, rec->id) != NULL)
		return m->api->fail(err, BC_E_CONFLICT, "memory_v10.duplicate_id", "id exists");
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct v10_row *v = realloc(m->rows, cap * sizeof *v);
		if (v == NULL)
			return m->api->fail(err, BC_E_NOMEM, "memory_v10.nomem", "out of memory");
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
		return m->api->fail(err, BC_E_NOMEM, "memory_v10.nomem", "out of memory");
	}
	r.state = BC_STATE_PENDING;
	r.start_ms = rec->start_ms;
	m->rows[m->n++] = r;
	return BC_OK;
}

static enum bc_status v10_commit(void *instance, const char *id, const char *meta,
                                 struct bc_error *err)
{
	struct v10_store *m = instance;
	struct v10_row *r = find(m, id);
	char *copy;
	if (r == NULL || r->state != BC_STATE_PENDING)
		return m->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no pending record");
	copy = strdup(meta ? meta : "{}");
	if (copy == NULL)
		return m->api->fail(err, BC_E_NOMEM, "memory_v10.nomem", "out of memory");
	free(r->meta);
	r->meta = copy;
	r->state = BC_STATE_LIVE;
	return BC_OK;
}

static enum bc_status v10_abort(void *instance, const char *id, struct bc_error *err)
{
	struct v10_store *m = instance;
	struct v10_row *r = find(m, id);
	(void)err;
	if (r == NULL || r->state != BC_STATE_PENDING)
		return BC_OK;
	row_free(r);
	*r = m->rows[--m->n];
	return BC_OK;
}

static enum bc_status v10_get(void *instance, const char *id, struct bc_record_sink *out,
                              struct bc_error *err)
{
	struct v10_store *m = instance;
	struct v10_row *r = find(m, id);
	if (r == NULL)
		return m->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no such record");
	return put(m, r, out);
}

static enum bc_status v10_stop(void *instance, const char *id, int64_t stop_ms,
                               struct bc_record_sink *out, struct bc_error *err)
{
	struct v10_store *m = instance;
	struct v10_row *r = find(m, id);
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
static int newer(const struct v10_row *a, const struct v10_row *b)
{
	if (a->start_ms != b->start_ms)
		return a->start_ms > b->start_ms;
	return strcmp(a->id, b->id) > 0;
}

static enum bc_status v10_list(void *instance, const struct bc_list_query *q,
                               struct bc_record_sink *out, struct bc_error *err)
{
	struct v10_store *m = instance;
	const struct v10_row **sel = calloc(m->n + 1, sizeof *sel);
	size_t n = 0;
	if (sel == NULL)
		return m->api->fail(err, BC_E_NOMEM, "memory_v10.nomem", "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		const struct v10_row *r = &m->rows[i];
		if (q->owner && strcmp(q->owner, r->owner) != 0)
			continue;
		if (q->state ? r->state != q->state : r->state == BC_STATE_PENDING)
			continue;
		if (q->after_id) {
			struct v10_row cursor = { .id = (char *)q->after_id,
				                  .start_ms = q->after_start_ms };
			if (!newer(&cursor, r))
				continue;
		}
		sel[n++] = r;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: test sizes are small */
		for (size_t j = i; j > 0 && newer(sel[j], sel[j - 1]); j--) {
			const struct v10_row *t = sel[j];
			sel[j] = sel[j - 1];
			sel[j - 1] = t;
		}
	for (size_t i = 0; i < n && i < q->limit; i++)
		put(m, sel[i], out);
	free(sel);
	return BC_OK;
}

static void v10_destroy(void *instance)
{
	struct v10_store *m = instance;
	for (size_t i = 0; i < m->n; i++)
		row_free(&m->rows[i]);
	free(m->rows);
	free(m);
}

static const struct bc_store_ops v10_ops = {
	.struct_size = sizeof(struct bc_store_ops),
	.create = v10_create,
	.reserve = v10_reserve,
	.commit = v10_commit,
	.abort = v10_abort,
	.get = v10_get,
	.stop = v10_stop,
	.list = v10_list,
	.health = NULL,
	.destroy = v10_destroy,
};

static const struct bc_plugin v10_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_STORE, .name = "memory_v10", .version = PACKAGE_VERSION,
	.description = "Test store built against the ABI 1.0 headers", .ops = &v10_ops);

static const struct bc_plugin *const v10_plugins[] = { &v10_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? v10_plugins : NULL;
}
