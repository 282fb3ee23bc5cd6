/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_memory.c: the test-only store `type: memory`: records in a list,
 * lost on exit, with failure injection (fail_reserve, fail_commit,
 * fail_stop, fail_get) for the lifecycle rollback tests. Not thread-safe
 * on purpose: the host serialises calls into it (no BC_PLUGIN_THREAD_SAFE),
 * which the tests exercise too.
 *
 * Since ABI 1.1 it keeps each record's media state and an event feed in
 * memory too (commit_event, stop_event, media, events, events_prune): the
 * change and its event happen in one call under the host's lock, which is
 * this store's "transaction"; cursors come from a counter that only grows.
 * fail_commit and fail_stop also fail commit_event and stop_event.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <broadcast/broadcast.h>

struct mem_record {
	char *id, *name, *type, *provider, *owner, *meta;
	enum bc_stream_state state;
	int64_t start_ms, stop_ms;
	enum bc_media_state media; /* since ABI 1.1 */
	int64_t publish_ms, media_ms;
	char stop_reason[32];      /* "" until stop_event */
	uint64_t event_seq;
};

struct mem_event {
	uint64_t cursor, seq;
	int64_t time_ms;
	char *stream_id, *type, *owner, *data;
};

struct mem_store {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct mem_record *rows;
	size_t n, cap;
	struct mem_event *events; /* oldest first: cursor order */
	size_t n_events, cap_events;
	uint64_t last_cursor;     /* never goes back, not even when pruned */
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
	rec.media = r->media;
	rec.publish_ms = r->publish_ms;
	rec.media_ms = r->media_ms;
	rec.stop_reason = r->stop_reason;
	rec.event_seq = r->event_seq;
	return m->api->record_put(out, &rec);
}

static enum bc_status ms_reserve(void *instance, const struct bc_record *record,
                                 struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record r;
	struct bc_record full;
	const struct bc_record *rec = &full;
	enum bc_status injected = status_of(m->fail_reserve);

	/* Zero-extend what an older host passed. */
	memset(&full, 0, sizeof full);
	memcpy(&full, record, record->struct_size < sizeof full ? record->struct_size : sizeof full);
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
	r.name = strdup(rec->name ? rec->name : "");
	r.type = strdup(rec->type ? rec->type : "");
	r.provider = strdup(rec->provider ? rec->provider : "");
	r.owner = strdup(rec->owner ? rec->owner : "");
	r.meta = strdup(rec->meta && rec->meta[0] ? rec->meta : "{}");
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
	r->media = BC_MEDIA_IDLE;
	r->media_ms = r->start_ms;
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

static enum bc_status ms_list(void *instance, const struct bc_list_query *query,
                              struct bc_record_sink *out, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct bc_list_query full;
	const struct bc_list_query *q = &full;
	const struct mem_record **sel;
	size_t n = 0;

	memset(&full, 0, sizeof full);
	memcpy(&full, query, query->struct_size < sizeof full ? query->struct_size : sizeof full);
	sel = calloc(m->n + 1, sizeof *sel);
	if (sel == NULL)
		return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		const struct mem_record *r = &m->rows[i];
		if (q->owner && strcmp(q->owner, r->owner) != 0)
			continue;
		if (q->state ? r->state != q->state : r->state == BC_STATE_PENDING)
			continue;
		if (q->media != 0 && (r->state != BC_STATE_LIVE || r->media != q->media))
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

/* ---- since ABI 1.1: media state and events -------------------------------- */

static void event_free(struct mem_event *e)
{
	free(e->stream_id);
	free(e->type);
	free(e->owner);
	free(e->data);
}

/* Make room for and copy `ev` for record `r`, without appending it yet,
 * so a caller can fail before it changes anything. */
static enum bc_status event_prepare(struct mem_store *m, const struct mem_record *r,
                                    const struct bc_event *event, struct mem_event *out,
                                    struct bc_error *err)
{
	struct bc_event ev;

	memset(&ev, 0, sizeof ev);
	if (event != NULL)
		memcpy(&ev, event, event->struct_size < sizeof ev ? event->struct_size : sizeof ev);
	if (m->n_events == m->cap_events) {
		size_t cap = m->cap_events ? m->cap_events * 2 : 16;
		struct mem_event *v = realloc(m->events, cap * sizeof *v);
		if (v == NULL)
			return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
		m->events = v;
		m->cap_events = cap;
	}
	memset(out, 0, sizeof *out);
	out->stream_id = strdup(r->id);
	out->type = strdup(ev.type ? ev.type : "");
	out->owner = strdup(ev.owner ? ev.owner : r->owner);
	out->data = strdup(ev.data && ev.data[0] ? ev.data : "{}");
	out->time_ms = ev.time_ms;
	if (!out->stream_id || !out->type || !out->owner || !out->data) {
		event_free(out);
		return m->api->fail(err, BC_E_NOMEM, "memory.nomem", "out of memory");
	}
	return BC_OK;
}

/* Append the prepared event: the record's next seq, the next cursor. */
static void event_append(struct mem_store *m, struct mem_record *r, struct mem_event *e)
{
	e->seq = ++r->event_seq;
	e->cursor = ++m->last_cursor;
	m->events[m->n_events++] = *e;
}

static enum bc_status ms_commit_event(void *instance, const char *id, const char *meta,
                                      const struct bc_event *event, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	struct mem_event e;
	enum bc_status st;

	if (status_of(m->fail_commit) != BC_OK || r == NULL || r->state != BC_STATE_PENDING)
		return ms_commit(instance, id, meta, err); /* its failure */
	st = event_prepare(m, r, event, &e, err);
	if (st != BC_OK)
		return st;
	st = ms_commit(instance, id, meta, err);
	if (st != BC_OK) {
		event_free(&e);
		return st;
	}
	r->event_seq = 0;
	event_append(m, r, &e);
	return BC_OK;
}

static enum bc_status ms_stop_event(void *instance, const char *id, int64_t stop_ms,
                                    const char *reason, const struct bc_event *event,
                                    struct bc_record_sink *out, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	struct mem_event e;
	enum bc_status st;

	if (status_of(m->fail_stop) != BC_OK || r == NULL || r->state != BC_STATE_LIVE)
		return ms_stop(instance, id, stop_ms, out, err); /* its failure or conflict */
	st = event_prepare(m, r, event, &e, err);
	if (st != BC_OK)
		return st;
	r->state = BC_STATE_STOPPED;
	r->stop_ms = stop_ms;
	snprintf(r->stop_reason, sizeof r->stop_reason, "%s", reason ? reason : "");
	event_append(m, r, &e);
	return put(m, r, out);
}

static enum bc_status ms_media(void *instance, const char *id, enum bc_media_state media,
                               int64_t at_ms, const struct bc_event *event,
                               struct bc_record_sink *out, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct mem_record *r = find(m, id);
	struct mem_event e;
	enum bc_status st;

	if (media != BC_MEDIA_IDLE && media != BC_MEDIA_PUBLISHING)
		return m->api->fail(err, BC_E_INVALID, "store.bad_media",
		                    "media state %d is not one", (int)media);
	/* a PENDING record is not visible, as for stop() */
	if (r == NULL || r->state == BC_STATE_PENDING)
		return m->api->fail(err, BC_E_NOT_FOUND, "store.not_found", "no such record");
	if (r->state != BC_STATE_LIVE)
		return m->api->fail(err, BC_E_CONFLICT, "store.not_live", "the stream is not live");
	if (r->media == media)
		return m->api->fail(err, BC_E_CONFLICT, "store.media_unchanged",
		                    "the stream is in that media state already");
	st = event_prepare(m, r, event, &e, err);
	if (st != BC_OK)
		return st;
	r->media = media;
	r->media_ms = at_ms;
	if (media == BC_MEDIA_PUBLISHING)
		r->publish_ms = at_ms;
	event_append(m, r, &e);
	return put(m, r, out);
}

static enum bc_status ms_events(void *instance, const struct bc_event_query *query,
                                struct bc_event_sink *out, struct bc_error *err)
{
	struct mem_store *m = instance;
	struct bc_event_query q;
	unsigned n = 0;

	memset(&q, 0, sizeof q);
	if (query != NULL)
		memcpy(&q, query, query->struct_size < sizeof q ? query->struct_size : sizeof q);
	if (q.limit < 1 || q.limit > 1000)
		return m->api->fail(err, BC_E_INVALID, "store.bad_limit",
		                    "events limit %u is outside 1..1000", q.limit);
	for (size_t i = 0; i < m->n_events && n < q.limit; i++) {
		const struct mem_event *e = &m->events[i];
		struct bc_event ev;
		enum bc_status st;

		if (e->cursor <= q.after || (q.owner != NULL && strcmp(q.owner, e->owner) != 0))
			continue;
		memset(&ev, 0, sizeof ev);
		ev.struct_size = sizeof ev;
		ev.cursor = e->cursor;
		ev.stream_id = e->stream_id;
		ev.seq = e->seq;
		ev.type = e->type;
		ev.time_ms = e->time_ms;
		ev.owner = e->owner;
		ev.data = e->data;
		st = m->api->event_put(out, &ev);
		if (st != BC_OK)
			return m->api->fail(err, st, "memory.bad_event", "the host refused an event");
		n++;
	}
	return BC_OK;
}

static enum bc_status ms_events_prune(void *instance, int64_t before_ms, uint64_t keep,
                                      uint64_t *deleted, struct bc_error *err)
{
	struct mem_store *m = instance;
	size_t kept = 0, drop_oldest;
	uint64_t gone = 0;

	(void)err;
	/* By count: the oldest beyond the newest `keep`. */
	drop_oldest = keep != 0 && m->n_events > keep ? m->n_events - (size_t)keep : 0;
	for (size_t i = 0; i < m->n_events; i++) {
		if (i < drop_oldest || m->events[i].time_ms < before_ms) {
			event_free(&m->events[i]);
			gone++;
		} else {
			m->events[kept++] = m->events[i];
		}
	}
	m->n_events = kept;
	if (deleted != NULL)
		*deleted = gone;
	return BC_OK;
}

static void ms_destroy(void *instance)
{
	struct mem_store *m = instance;
	for (size_t i = 0; i < m->n; i++)
		row_free(&m->rows[i]);
	free(m->rows);
	for (size_t i = 0; i < m->n_events; i++)
		event_free(&m->events[i]);
	free(m->events);
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
	.commit_event = ms_commit_event,
	.stop_event = ms_stop_event,
	.media = ms_media,
	.events = ms_events,
	.events_prune = ms_events_prune,
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
