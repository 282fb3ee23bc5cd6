/* SPDX-License-Identifier: Apache-2.0 */
/*
 * media.c: what happens to a stream between its start and its stop (ABI
 * 1.1, docs/events.md): the media facts providers report, the events of
 * the feed, and the timers of idle_timeout and max_duration.
 *
 * One struct bc_media belongs to a context and outlives its generations:
 *  - media_report() puts a fact into a bounded queue (it never blocks); one
 *    worker thread applies the facts in order: it reads the record, checks
 *    that it is LIVE and minted by the reporting instance, and writes the
 *    new media state with its event through the store's media op;
 *  - a timekeeper thread keeps a deadline per LIVE stream (in `entries`,
 *    indexed by id; re-read from the store every few seconds, so streams
 *    another node started are covered) and stops streams past them through the same
 *    lifecycle as an API stop (bc_stream_stop_run); it also prunes events;
 *  - with a store that lacks the 1.1 ops (a 1.0 store) the media state and
 *    the events are kept here, in memory only (a bounded ring);
 *  - every event this process writes bumps a counter and wakes the
 *    long-polls of the events op and the webhook workers (webhook.c).
 * The media lock is never held across a call into a plugin.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bc_render.h"
#include "bc_runtime.h"
#include "bc_webhook.h"

#define MEDIA_QUEUE_CAP 4096     /* facts waiting for the worker */
#define MEDIA_RING_CAP 10000     /* events kept in memory for a 1.0 store */
#define MEDIA_STOPPED_KEEP 10000 /* stopped streams remembered for a 1.0 store */
#define MEDIA_TICK_MS 250        /* how often the timekeeper looks at deadlines */
#define MEDIA_REREAD_MS 5000     /* how often it re-reads the LIVE streams */
#define MEDIA_PRUNE_MS 60000     /* how often it prunes events */
#define MEDIA_RETRY_MS 5000      /* after a failed auto-stop */
#define MEDIA_POLL_MS 1000       /* a long-poll re-reads the store this often */
#define MEDIA_LIST_PAGE 1000

struct media_fact {
	char id[37];
	char provider[65];
	enum bc_media_fact fact;
	char detail[201];
	int64_t at_ms;
};

/* One stream this process knows of. */
struct media_entry {
	char id[37];
	char *provider, *owner;
	int64_t start_ms;
	enum bc_media_state media;
	int64_t media_ms, publish_ms;
	int live;               /* 0: stopped (kept for a 1.0 store only); set
	                           only through entry_set_live() */
	char stop_reason[16];
	uint64_t seq;           /* events written in memory (1.0 store) */
	int64_t touched_mono;   /* last local change, monotonic ms */
	int64_t retry_mono;     /* no auto-stop attempt before this */
	int seen;               /* marked by a re-read */
};

struct bc_media {
	struct bc_context *ctx;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* the worker: a fact came, or stop */
	pthread_cond_t tick;    /* the timekeeper: stop, or re-read now */
	pthread_cond_t events;  /* long-polls: an event was written, or a drain */
	struct media_fact *queue;
	size_t q_head, q_len;
	struct media_entry *entries;
	size_t n, cap;
	size_t *idx;            /* entries by id: see "the index" below */
	size_t idx_cap;         /* slots in idx: 0 or a power of 2 */
	size_t n_live;          /* entries with live set: the streams_live gauge */
	struct bc_event_copy *ring; /* 1.0 store: the feed, oldest at r_head */
	size_t r_head, r_len;
	uint64_t next_cursor;
	uint64_t written;       /* events this process wrote */
	int stopping;
	int readers_woken;
	int reread;             /* the timekeeper re-reads at its next tick */
	int started;
	int64_t boot_ms;
	pthread_t worker, timer;
};

/* ---- small helpers -------------------------------------------------------- */

#define STORE_OP(gen, st, op, ...)                                                       \
	do {                                                                             \
		struct bc_instance *s_ = (gen)->store;                                   \
		bc_instance_enter(s_);                                                   \
		(st) = bc_instance_plugin(s_)->ops.store.op(bc_instance_state(s_), __VA_ARGS__); \
		bc_instance_leave(s_);                                                   \
	} while (0)

int bc_store_has_events(const struct bc_instance *store)
{
	const struct bc_store_ops *o = &bc_instance_plugin(store)->ops.store;
	return o->commit_event != NULL && o->stop_event != NULL && o->media != NULL &&
	       o->events != NULL && o->events_prune != NULL;
}

static struct bc_instance *media_provider(struct bc_generation *gen, const char *name)
{
	for (size_t i = 0; i < gen->n_providers; i++)
		if (strcmp(bc_instance_name(gen->providers[i]), name) == 0)
			return gen->providers[i];
	return NULL;
}

/* ---- the index of entries by id ------------------------------------------------
 *
 * An open-addressing table (linear probing) of positions into m->entries:
 * slot value i + 1 names entries[i], 0 is empty. It has at least twice as
 * many slots as entries, so a probe is short; a removal shifts the following
 * run back instead of leaving a tombstone, so lookups never slow down with
 * churn. A lookup used to be a strcmp over every entry, which made the
 * re-read of 50 000 live streams quadratic (docs/performance.md). */

static size_t idx_hash(const char *id)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * UINT64_C(1099511628211);
	return (size_t)(h ^ (h >> 29));
}

/* The slot that holds entries[i]; it must be indexed. */
static size_t idx_slot_of(const struct bc_media *m, size_t i)
{
	size_t mask = m->idx_cap - 1, s = idx_hash(m->entries[i].id) & mask;
	while (m->idx[s] != i + 1) {
		assert(m->idx[s] != 0);
		s = (s + 1) & mask;
	}
	return s;
}

static void idx_put(struct bc_media *m, size_t i)
{
	size_t mask = m->idx_cap - 1, s = idx_hash(m->entries[i].id) & mask;
	while (m->idx[s] != 0)
		s = (s + 1) & mask;
	m->idx[s] = i + 1;
}

/* Empty slot s and move back the entries of the run after it whose home
 * slot is not between s and where they sit (backward-shift deletion). */
static void idx_del(struct bc_media *m, size_t s)
{
	size_t mask = m->idx_cap - 1, j = s;
	for (;;) {
		size_t home;
		j = (j + 1) & mask;
		if (m->idx[j] == 0)
			break;
		home = idx_hash(m->entries[m->idx[j] - 1].id) & mask;
		/* j's entry may fill s unless its home lies cyclically in (s, j]. */
		if (s <= j ? (home <= s || home > j) : (home <= s && home > j)) {
			m->idx[s] = m->idx[j];
			s = j;
		}
	}
	m->idx[s] = 0;
}

/* Make room to index `want` entries; -1 when out of memory. */
static int idx_reserve(struct bc_media *m, size_t want)
{
	size_t cap = m->idx_cap ? m->idx_cap : 128, *v;
	while (cap < want * 2)
		cap *= 2;
	if (cap == m->idx_cap)
		return 0;
	v = calloc(cap, sizeof *v);
	if (v == NULL)
		return -1;
	free(m->idx);
	m->idx = v;
	m->idx_cap = cap;
	for (size_t i = 0; i < m->n; i++)
		idx_put(m, i);
	return 0;
}

static struct media_entry *entry_find(struct bc_media *m, const char *id)
{
	size_t mask = m->idx_cap - 1, s;
	if (m->idx_cap == 0)
		return NULL;
	for (s = idx_hash(id) & mask; m->idx[s] != 0; s = (s + 1) & mask)
		if (strcmp(m->entries[m->idx[s] - 1].id, id) == 0)
			return &m->entries[m->idx[s] - 1];
	return NULL;
}

/* Free e and move the last entry into its place; the vacated slot is
 * zeroed, so nothing freed stays reachable. */
static void entry_remove(struct bc_media *m, struct media_entry *e)
{
	size_t i = (size_t)(e - m->entries), last = m->n - 1;
	if (e->live)
		m->n_live--;
	free(e->provider);
	free(e->owner);
	idx_del(m, idx_slot_of(m, i));
	if (i != last) {
		m->idx[idx_slot_of(m, last)] = i + 1;
		*e = m->entries[last];
	}
	memset(&m->entries[last], 0, sizeof m->entries[last]);
	m->n--;
}

/* Mark e live or stopped, keeping m->n_live (the streams_live gauge) right:
 * every change of `live` goes through here or entry_remove(). Call with the
 * lock held. */
static void entry_set_live(struct bc_media *m, struct media_entry *e, int live)
{
	live = live != 0;
	if (e->live != live) {
		if (live)
			m->n_live++;
		else
			m->n_live--;
	}
	e->live = live;
}

/* Find or add the entry of record r; NULL when out of memory. */
static struct media_entry *entry_get(struct bc_media *m, const struct bc_record_copy *r)
{
	struct media_entry *e = entry_find(m, r->id);
	if (e != NULL)
		return e;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct media_entry *v = realloc(m->entries, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		m->entries = v;
		m->cap = cap;
	}
	if (idx_reserve(m, m->n + 1) != 0)
		return NULL;
	e = &m->entries[m->n];
	memset(e, 0, sizeof *e);
	snprintf(e->id, sizeof e->id, "%s", r->id);
	e->provider = strdup(r->provider);
	e->owner = strdup(r->owner);
	if (e->provider == NULL || e->owner == NULL) {
		free(e->provider);
		free(e->owner);
		return NULL;
	}
	e->start_ms = r->start_ms;
	e->media = r->media != 0 ? r->media : BC_MEDIA_IDLE;
	e->media_ms = r->media_ms > 0 ? r->media_ms : r->start_ms;
	e->publish_ms = r->publish_ms;
	e->seq = r->event_seq;
	entry_set_live(m, e, r->state == BC_STATE_LIVE);
	idx_put(m, m->n);
	m->n++;
	return e;
}

/* Forget the oldest stopped entries beyond MEDIA_STOPPED_KEEP. */
static void entries_trim(struct bc_media *m)
{
	size_t stopped = 0;
	for (size_t i = 0; i < m->n; i++)
		stopped += !m->entries[i].live;
	while (stopped > MEDIA_STOPPED_KEEP) {
		struct media_entry *oldest = NULL;
		for (size_t i = 0; i < m->n; i++)
			if (!m->entries[i].live &&
			    (oldest == NULL || m->entries[i].touched_mono < oldest->touched_mono))
				oldest = &m->entries[i];
		if (oldest == NULL)
			break;
		entry_remove(m, oldest);
		stopped--;
	}
}

/* ---- events ----------------------------------------------------------------- */

/* The data of an event: {"stream": the record as GET renders it} plus the
 * extra members of `extra` (taken over; may be NULL). malloc'd text. */
static char *event_data(const struct bc_record_copy *after, json_t *extra)
{
	json_t *o = json_pack("{s:o}", "stream", bc_render_record(after));
	char *text = NULL;
	if (o != NULL && extra != NULL)
		json_object_update(o, extra);
	json_decref(extra);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* Count an event this process wrote and wake the long-polls. */
static void event_written(struct bc_media *m, const char *type)
{
	char labels[64];
	snprintf(labels, sizeof labels, "type=\"%s\"", type);
	bc_metrics_counter_add(bc_ctx_metrics(m->ctx), "events_total", NULL, labels, 1);
	pthread_mutex_lock(&m->lock);
	m->written++;
	pthread_cond_broadcast(&m->events);
	pthread_mutex_unlock(&m->lock);
	bc_webhooks_notify(bc_ctx_webhooks(m->ctx)); /* webhook.c delivers it */
}

/* 1.0 store: append an event to the ring; call with the lock held. */
static void ring_push(struct bc_media *m, struct media_entry *e, const char *type,
                      int64_t time_ms, char *data)
{
	struct bc_event_copy *slot;
	if (data == NULL)
		return;
	if (m->r_len == MEDIA_RING_CAP) {
		slot = &m->ring[m->r_head];
		free(slot->stream_id);
		free(slot->type);
		free(slot->owner);
		free(slot->data);
		m->r_head = (m->r_head + 1) % MEDIA_RING_CAP;
		m->r_len--;
	}
	slot = &m->ring[(m->r_head + m->r_len) % MEDIA_RING_CAP];
	memset(slot, 0, sizeof *slot);
	slot->stream_id = strdup(e->id);
	slot->type = strdup(type);
	slot->owner = strdup(e->owner);
	slot->data = data;
	if (slot->stream_id == NULL || slot->type == NULL || slot->owner == NULL) {
		free(slot->stream_id);
		free(slot->type);
		free(slot->owner);
		free(data);
		return;
	}
	slot->cursor = ++m->next_cursor;
	slot->seq = ++e->seq;
	slot->time_ms = time_ms;
	m->r_len++;
}

static void ring_prune(struct bc_media *m, int64_t before_ms, uint64_t keep)
{
	pthread_mutex_lock(&m->lock);
	while (m->r_len > 0) {
		struct bc_event_copy *oldest = &m->ring[m->r_head];
		if (!(oldest->time_ms < before_ms || (keep > 0 && m->r_len > keep)))
			break;
		free(oldest->stream_id);
		free(oldest->type);
		free(oldest->owner);
		free(oldest->data);
		m->r_head = (m->r_head + 1) % MEDIA_RING_CAP;
		m->r_len--;
	}
	pthread_mutex_unlock(&m->lock);
}

static void event_init(struct bc_event *ev, const char *id, const char *type, int64_t at,
                       const char *owner, const char *data)
{
	memset(ev, 0, sizeof *ev);
	ev->struct_size = sizeof *ev;
	ev->stream_id = id;
	ev->type = type;
	ev->time_ms = at;
	ev->owner = owner;
	ev->data = data;
}

/* ---- start and stop ---------------------------------------------------------- */

enum bc_status bc_stream_commit(struct bc_context *ctx, struct bc_generation *gen,
                                const struct bc_record *rec, const char *meta,
                                struct bc_error *err)
{
	struct bc_media *m = bc_ctx_media(ctx);
	struct bc_record_copy after;
	struct bc_event ev;
	enum bc_status st;
	char *data;
	int has = bc_store_has_events(gen->store);

	memset(&after, 0, sizeof after);
	after.id = (char *)rec->id;
	after.name = (char *)rec->name;
	after.type = (char *)rec->type;
	after.provider = (char *)rec->provider;
	after.owner = (char *)rec->owner;
	after.meta = (char *)meta;
	after.state = BC_STATE_LIVE;
	after.start_ms = rec->start_ms;
	after.media = BC_MEDIA_IDLE;
	after.media_ms = rec->start_ms;
	after.event_seq = 1;
	data = event_data(&after, NULL);
	if (data == NULL)
		return bc_fail(err, BC_E_NOMEM, BC_CODE_NOMEM, "out of memory");
	if (has) {
		event_init(&ev, rec->id, "stream.started", rec->start_ms, rec->owner, data);
		STORE_OP(gen, st, commit_event, rec->id, meta, &ev, err);
	} else {
		STORE_OP(gen, st, commit, rec->id, meta, err);
	}
	if (st != BC_OK) {
		free(data);
		return st;
	}
	pthread_mutex_lock(&m->lock);
	{
		struct media_entry *e = entry_get(m, &after);
		if (e != NULL) {
			entry_set_live(m, e, 1);
			e->media = BC_MEDIA_IDLE;
			e->media_ms = rec->start_ms;
			e->publish_ms = 0;
			e->touched_mono = bc_monotonic_ms();
			if (!has) {
				e->seq = 0;
				ring_push(m, e, "stream.started", rec->start_ms, data);
				data = NULL;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	free(data);
	event_written(m, "stream.started");
	return BC_OK;
}


static json_t *meta_object(const char *text)
{
	json_t *meta = json_loads(text != NULL ? text : "{}", 0, NULL);
	if (meta == NULL || !json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	return meta;
}

static void stream_info_of(struct bc_stream_info *info, const struct bc_record_copy *r,
                           const json_t *meta)
{
	memset(info, 0, sizeof *info);
	info->struct_size = sizeof *info;
	info->id = r->id;
	info->name = r->name;
	info->type = r->type;
	info->owner = r->owner;
	info->start_ms = r->start_ms;
	info->stop_ms = r->stop_ms;
	info->host_private = meta;
}

enum bc_status bc_stream_stop_run(struct bc_context *ctx, struct bc_generation *gen,
                                  const struct bc_record_copy *r, const char *reason,
                                  struct bc_record_sink *out, struct bc_error *err,
                                  int *provider_failed)
{
	struct bc_media *m = bc_ctx_media(ctx);
	struct bc_instance *prov;
	struct bc_stream_info info;
	struct bc_record_copy after;
	struct bc_event ev;
	enum bc_status st;
	json_t *meta = meta_object(r->meta);
	int64_t stop_ms = bc_now_ms();
	int has = bc_store_has_events(gen->store);
	char *data = NULL;

	*provider_failed = 0;
	stream_info_of(&info, r, meta);
	info.stop_ms = stop_ms;
	prov = media_provider(gen, r->provider);
	if (prov == NULL) {
		/* The provider was removed from the config since: nothing can be
		 * finished there, but the record must still be closable. */
		bc_log(BC_LOG_WARN, "dispatch", "stream %s: provider '%s' is no longer configured; "
		       "stopping the record only", r->id, r->provider);
	} else {
		st = bc_instance_provider_stop(prov, &info, err);
		if (st != BC_OK) {
			*provider_failed = 1;
			bc_log(BC_LOG_WARN, bc_instance_name(prov), "stop of stream %s failed: %s: %s",
			       r->id, err->code[0] ? err->code : bc_status_name(st), err->message);
			json_decref(meta);
			return st;
		}
	}
	json_decref(meta);

	after = *r;
	after.state = BC_STATE_STOPPED;
	after.stop_ms = stop_ms;
	after.stop_reason = (char *)reason;
	if (!has) {
		pthread_mutex_lock(&m->lock);
		struct media_entry *e = entry_find(m, r->id);
		if (e != NULL) {
			after.media = e->media;
			after.publish_ms = e->publish_ms;
			after.media_ms = e->media_ms;
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (after.media == 0)
		after.media = BC_MEDIA_IDLE;
	after.event_seq = r->event_seq + 1;
	data = event_data(&after, json_pack("{s:s}", "reason", reason));
	if (data == NULL)
		return bc_fail(err, BC_E_NOMEM, BC_CODE_NOMEM, "out of memory");
	if (has) {
		event_init(&ev, r->id, "stream.stopped", stop_ms, r->owner, data);
		STORE_OP(gen, st, stop_event, r->id, stop_ms, reason, &ev, out, err);
	} else {
		STORE_OP(gen, st, stop, r->id, stop_ms, out, err);
	}
	if (st == BC_OK && (out->status != BC_OK || out->n == 0))
		st = bc_fail(err, BC_E_INTERNAL, "store.no_record", "the store returned no record");
	if (st != BC_OK) {
		free(data);
		if (st == BC_E_CONFLICT || st == BC_E_NOT_FOUND) {
			pthread_mutex_lock(&m->lock);
			struct media_entry *e = entry_find(m, r->id);
			if (e != NULL && has)
				entry_remove(m, e);
			pthread_mutex_unlock(&m->lock);
		}
		return st;
	}
	pthread_mutex_lock(&m->lock);
	{
		struct media_entry *e = entry_find(m, r->id);
		if (has) {
			if (e != NULL)
				entry_remove(m, e);
		} else {
			if (e == NULL)
				e = entry_get(m, r);
			if (e != NULL) {
				entry_set_live(m, e, 0);
				snprintf(e->stop_reason, sizeof e->stop_reason, "%s", reason);
				e->touched_mono = bc_monotonic_ms();
				ring_push(m, e, "stream.stopped", stop_ms, data);
				data = NULL;
				entries_trim(m);
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	free(data);
	if (!has)
		bc_media_overlay(ctx, gen, out->items, out->n);
	event_written(m, "stream.stopped");
	bc_metrics_counter_add(bc_ctx_metrics(ctx), "streams_stopped_total", r->provider, NULL, 1);
	bc_log(BC_LOG_INFO, r->provider, "stream %s stopped (%s)", r->id, reason);
	return BC_OK;
}

void bc_media_overlay(struct bc_context *ctx, struct bc_generation *gen,
                      struct bc_record_copy *items, size_t n)
{
	struct bc_media *m = bc_ctx_media(ctx);
	if (m == NULL || bc_store_has_events(gen->store))
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < n; i++) {
		struct media_entry *e = entry_find(m, items[i].id);
		if (items[i].media == 0)
			items[i].media = BC_MEDIA_IDLE;
		if (e == NULL)
			continue;
		items[i].media = e->media;
		items[i].media_ms = e->media_ms;
		items[i].publish_ms = e->publish_ms;
		items[i].event_seq = e->seq;
		if (items[i].state == BC_STATE_STOPPED && e->stop_reason[0] != '\0' &&
		    (items[i].stop_reason == NULL || items[i].stop_reason[0] == '\0')) {
			char *copy = strdup(e->stop_reason);
			if (copy != NULL) {
				free(items[i].stop_reason);
				items[i].stop_reason = copy;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void bc_media_gauges(struct bc_context *ctx, double *live, double *publishing)
{
	struct bc_media *m = bc_ctx_media(ctx);
	*live = *publishing = 0;
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	*live = (double)m->n_live;
	for (size_t i = 0; i < m->n; i++)
		*publishing += m->entries[i].live && m->entries[i].media == BC_MEDIA_PUBLISHING;
	pthread_mutex_unlock(&m->lock);
}

/* ---- media facts ------------------------------------------------------------- */

enum bc_status bc_media_report(struct bc_instance *prov, const char *stream_id,
                               enum bc_media_fact fact, const char *detail)
{
	struct bc_media *m = bc_ctx_media(bc_instance_context(prov));
	struct media_fact *f;
	char labels[48];
	const char *fact_name = fact == BC_MEDIA_FACT_PUBLISHING ? "publishing"
	                        : fact == BC_MEDIA_FACT_IDLE     ? "idle"
	                        : fact == BC_MEDIA_FACT_GONE     ? "gone"
	                                                         : NULL;

	if (stream_id == NULL || !bc_uuid_valid(stream_id) || fact_name == NULL)
		return BC_E_INVALID;
	if (bc_instance_plugin(prov)->desc.kind != BC_KIND_PROVIDER || m == NULL)
		return BC_E_INVALID;
	snprintf(labels, sizeof labels, "fact=\"%s\"", fact_name);
	bc_metrics_counter_add(bc_ctx_metrics(m->ctx), "media_reports_total",
	                       bc_instance_name(prov), labels, 1);
	pthread_mutex_lock(&m->lock);
	if (m->q_len == MEDIA_QUEUE_CAP || m->stopping) {
		pthread_mutex_unlock(&m->lock);
		bc_metrics_counter_add(bc_ctx_metrics(m->ctx), "media_reports_dropped_total",
		                       bc_instance_name(prov), NULL, 1);
		return BC_E_UNAVAILABLE;
	}
	f = &m->queue[(m->q_head + m->q_len) % MEDIA_QUEUE_CAP];
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < 36; i++)
		f->id[i] = (char)((stream_id[i] >= 'A' && stream_id[i] <= 'F')
		                          ? stream_id[i] - 'A' + 'a'
		                          : stream_id[i]);
	snprintf(f->provider, sizeof f->provider, "%s", bc_instance_name(prov));
	f->fact = fact;
	if (detail != NULL)
		snprintf(f->detail, sizeof f->detail, "%s", detail);
	f->at_ms = bc_now_ms();
	m->q_len++;
	pthread_cond_signal(&m->work);
	pthread_mutex_unlock(&m->lock);
	return BC_OK;
}

/* Apply one fact (the worker). */
static void media_apply(struct bc_media *m, const struct media_fact *f)
{
	struct bc_generation *gen = bc_gen_acquire(m->ctx);
	struct bc_record_sink sink, out;
	struct bc_error err;
	enum bc_status st;
	enum bc_media_state want = f->fact == BC_MEDIA_FACT_PUBLISHING ? BC_MEDIA_PUBLISHING
	                                                               : BC_MEDIA_IDLE;
	const char *type = want == BC_MEDIA_PUBLISHING ? "stream.publishing" : "stream.idle";
	int has = bc_store_has_events(gen->store);
	struct bc_record_copy after;
	json_t *extra;
	char *data = NULL;

	bc_record_sink_init(&sink);
	bc_record_sink_init(&out);
	bc_error_clear(&err);
	STORE_OP(gen, st, get, f->id, &sink, &err);
	if (st != BC_OK || sink.status != BC_OK || sink.n == 0) {
		if (st != BC_E_NOT_FOUND)
			bc_log(BC_LOG_WARN, f->provider, "media fact about stream %s not applied: "
			       "%s: %s", f->id, err.code[0] ? err.code : bc_status_name(st), err.message);
		goto out;
	}
	if (sink.items[0].state != BC_STATE_LIVE || strcmp(sink.items[0].provider, f->provider) != 0) {
		bc_log(BC_LOG_DEBUG, f->provider, "media fact about stream %s ignored: not a live "
		       "stream of this instance", f->id);
		goto out;
	}
	if (!has)
		bc_media_overlay(m->ctx, gen, sink.items, 1);
	if (sink.items[0].media == want)
		goto out; /* repeats the state */
	after = sink.items[0];
	after.media = want;
	after.media_ms = f->at_ms;
	if (want == BC_MEDIA_PUBLISHING)
		after.publish_ms = f->at_ms;
	after.event_seq = sink.items[0].event_seq + 1;
	extra = json_object();
	if (extra != NULL) {
		json_object_set_new(extra, "detail",
		                    f->detail[0] ? bc_render_text(f->detail) : json_null());
		if (want == BC_MEDIA_IDLE)
			json_object_set_new(extra, "cause",
			                    json_string(f->fact == BC_MEDIA_FACT_GONE ? "gone" : "idle"));
	}
	data = event_data(&after, extra);
	if (data == NULL)
		goto out;
	if (has) {
		struct bc_event ev;
		event_init(&ev, f->id, type, f->at_ms, after.owner, data);
		bc_error_clear(&err);
		STORE_OP(gen, st, media, f->id, want, f->at_ms, &ev, &out, &err);
		if (st == BC_E_CONFLICT || st == BC_E_NOT_FOUND)
			goto out; /* same state, or no longer live: nothing to say */
		if (st != BC_OK) {
			bc_log(BC_LOG_WARN, f->provider, "media state of stream %s not kept: %s: %s",
			       f->id, err.code[0] ? err.code : bc_status_name(st), err.message);
			goto out;
		}
	}
	pthread_mutex_lock(&m->lock);
	{
		struct media_entry *e = entry_get(m, &sink.items[0]);
		if (e != NULL) {
			entry_set_live(m, e, 1);
			e->media = want;
			e->media_ms = f->at_ms;
			if (want == BC_MEDIA_PUBLISHING)
				e->publish_ms = f->at_ms;
			e->touched_mono = bc_monotonic_ms();
			if (!has) {
				ring_push(m, e, type, f->at_ms, data);
				data = NULL;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	bc_log(BC_LOG_INFO, f->provider, "stream %s is %s%s%s", f->id,
	       want == BC_MEDIA_PUBLISHING ? "publishing" : "idle", f->detail[0] ? ": " : "",
	       f->detail);
	event_written(m, type);
out:
	free(data);
	bc_record_sink_free(&sink);
	bc_record_sink_free(&out);
	bc_gen_release(m->ctx, gen);
}

static void *media_worker(void *arg)
{
	struct bc_media *m = arg;
	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct media_fact f;
		while (m->q_len == 0 && !m->stopping)
			pthread_cond_wait(&m->work, &m->lock);
		if (m->stopping)
			break;
		f = m->queue[m->q_head];
		m->q_head = (m->q_head + 1) % MEDIA_QUEUE_CAP;
		m->q_len--;
		pthread_mutex_unlock(&m->lock);
		media_apply(m, &f);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- the timekeeper ----------------------------------------------------------- */

/* Read the LIVE records of the store, a page at a time, calling fn for each
 * page. 0, or -1 when the store failed (logged). */
static int list_live(struct bc_generation *gen, const char *who,
                     void (*fn)(void *arg, struct bc_record_copy *items, size_t n), void *arg)
{
	struct bc_list_query q;
	struct bc_record_sink sink;
	struct bc_error err;
	enum bc_status st;
	char after[37];

	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.state = BC_STATE_LIVE;
	q.limit = MEDIA_LIST_PAGE;
	for (;;) {
		bc_record_sink_init(&sink);
		bc_error_clear(&err);
		STORE_OP(gen, st, list, &q, &sink, &err);
		if (st == BC_OK && sink.status != BC_OK)
			st = sink.status;
		if (st != BC_OK) {
			bc_log(BC_LOG_WARN, who, "cannot list the live streams: %s: %s",
			       err.code[0] ? err.code : bc_status_name(st), err.message);
			bc_record_sink_free(&sink);
			return -1;
		}
		fn(arg, sink.items, sink.n);
		if (sink.n < MEDIA_LIST_PAGE) {
			bc_record_sink_free(&sink);
			return 0;
		}
		q.after_start_ms = sink.items[sink.n - 1].start_ms;
		memcpy(after, sink.items[sink.n - 1].id, 37);
		q.after_id = after;
		bc_record_sink_free(&sink);
	}
}

struct reread {
	struct bc_media *m;
	int has;
	int64_t began_mono;
};

static void reread_page(void *arg, struct bc_record_copy *items, size_t n)
{
	struct reread *rr = arg;
	struct bc_media *m = rr->m;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < n; i++) {
		struct media_entry *e;
		if (items[i].state != BC_STATE_LIVE)
			continue;
		e = entry_get(m, &items[i]);
		if (e == NULL)
			continue;
		e->seen = 1;
		entry_set_live(m, e, 1);
		/* A newer local change wins over what a list begun earlier read. */
		if (rr->has && items[i].media != 0 && items[i].media_ms >= e->media_ms &&
		    e->touched_mono < rr->began_mono) {
			e->media = items[i].media;
			e->media_ms = items[i].media_ms;
			e->publish_ms = items[i].publish_ms;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static void timer_reread(struct bc_media *m)
{
	struct bc_generation *gen = bc_gen_acquire(m->ctx);
	struct reread rr = { m, bc_store_has_events(gen->store), bc_monotonic_ms() };
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++)
		m->entries[i].seen = 0;
	pthread_mutex_unlock(&m->lock);
	if (list_live(gen, "timers", reread_page, &rr) == 0) {
		/* Streams no longer live in the store, unless changed here since
		 * the list began (a start that committed after it). */
		pthread_mutex_lock(&m->lock);
		for (size_t i = 0; i < m->n;) {
			struct media_entry *e = &m->entries[i];
			if (e->live && !e->seen && e->touched_mono < rr.began_mono) {
				if (rr.has) {
					entry_remove(m, e);
					continue;
				}
				entry_set_live(m, e, 0);
			}
			i++;
		}
		pthread_mutex_unlock(&m->lock);
	}
	bc_gen_release(m->ctx, gen);
}

static void timer_prune(struct bc_media *m)
{
	struct bc_generation *gen = bc_gen_acquire(m->ctx);
	const struct bc_config *cfg = bc_instance_config(gen->store);
	int64_t retention = bc_config_int(cfg, "event_retention");
	int64_t keep = bc_config_int(cfg, "event_max");
	int64_t before = retention > 0 ? bc_now_ms() - retention : 0;
	struct bc_error err;
	enum bc_status st;
	uint64_t deleted = 0;

	if (bc_store_has_events(gen->store)) {
		bc_error_clear(&err);
		STORE_OP(gen, st, events_prune, before, (uint64_t)(keep > 0 ? keep : 0), &deleted,
		         &err);
		if (st != BC_OK)
			bc_log(BC_LOG_WARN, bc_instance_name(gen->store), "events_prune failed: %s: %s",
			       err.code[0] ? err.code : bc_status_name(st), err.message);
		else if (deleted > 0)
			bc_log(BC_LOG_DEBUG, bc_instance_name(gen->store), "pruned %" PRIu64 " event(s)",
			       deleted);
	} else {
		ring_prune(m, before, (uint64_t)(keep > 0 ? keep : 0));
	}
	bc_gen_release(m->ctx, gen);
}

struct due {
	char id[37];
	const char *reason;
};

/* Stop one stream the timers found due. */
static void timer_stop(struct bc_media *m, const struct due *d)
{
	struct bc_generation *gen = bc_gen_acquire(m->ctx);
	struct bc_record_sink sink, out;
	struct bc_error err;
	enum bc_status st;
	int provider_failed = 0;
	char labels[48];

	bc_record_sink_init(&sink);
	bc_record_sink_init(&out);
	bc_error_clear(&err);
	STORE_OP(gen, st, get, d->id, &sink, &err);
	if (st == BC_OK && (sink.status != BC_OK || sink.n == 0))
		st = BC_E_INTERNAL;
	if (st == BC_OK && sink.items[0].state == BC_STATE_LIVE) {
		bc_media_overlay(m->ctx, gen, sink.items, 1);
		bc_log(BC_LOG_INFO, sink.items[0].provider, "stream %s: %s reached; stopping it",
		       d->id, d->reason);
		bc_error_clear(&err);
		st = bc_stream_stop_run(m->ctx, gen, &sink.items[0], d->reason, &out, &err,
		                        &provider_failed);
		if (st == BC_OK) {
			snprintf(labels, sizeof labels, "reason=\"%s\"", d->reason);
			bc_metrics_counter_add(bc_ctx_metrics(m->ctx), "auto_stops_total",
			                       sink.items[0].provider, labels, 1);
		} else if (st != BC_E_CONFLICT && st != BC_E_NOT_FOUND) {
			bc_log(BC_LOG_WARN, sink.items[0].provider, "auto-stop (%s) of stream %s "
			       "failed: %s: %s; retrying in %d s", d->reason, d->id,
			       err.code[0] ? err.code : bc_status_name(st), err.message,
			       MEDIA_RETRY_MS / 1000);
		}
	} else if (st == BC_OK || st == BC_E_NOT_FOUND) {
		st = BC_E_CONFLICT; /* stopped elsewhere: forget it */
	}
	pthread_mutex_lock(&m->lock);
	{
		struct media_entry *e = entry_find(m, d->id);
		if (e != NULL && st != BC_OK && st != BC_E_CONFLICT && st != BC_E_NOT_FOUND)
			e->retry_mono = bc_monotonic_ms() + MEDIA_RETRY_MS;
		else if (e != NULL && st != BC_OK && e->live) {
			if (bc_store_has_events(gen->store))
				entry_remove(m, e);
			else
				entry_set_live(m, e, 0);
		}
	}
	pthread_mutex_unlock(&m->lock);
	bc_record_sink_free(&sink);
	bc_record_sink_free(&out);
	bc_gen_release(m->ctx, gen);
}

/* The streams whose deadline has passed, malloc'd into *out. */
static size_t timer_due(struct bc_media *m, struct due **out)
{
	struct bc_generation *gen = bc_gen_acquire(m->ctx);
	int64_t now = bc_now_ms(), mono = bc_monotonic_ms();
	int has = bc_store_has_events(gen->store);
	struct due *v = NULL;
	size_t n = 0, cap = 0, k;
	int64_t *limits; /* per provider of gen: idle_timeout, max_duration */
	int any = 0;

	/* The options once per tick, not once per stream: this runs four
	 * times a second over every live stream, and an option is found by
	 * name. With no timer configured there is nothing to look at. */
	limits = calloc(gen->n_providers * 2 + 1, sizeof *limits);
	if (limits == NULL) {
		bc_gen_release(m->ctx, gen);
		*out = NULL;
		return 0;
	}
	for (k = 0; k < gen->n_providers; k++) {
		const struct bc_config *cfg = bc_instance_config(gen->providers[k]);
		limits[2 * k] = bc_config_int(cfg, "idle_timeout");
		limits[2 * k + 1] = bc_config_int(cfg, "max_duration");
		any |= limits[2 * k] > 0 || limits[2 * k + 1] > 0;
	}
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; any && i < m->n; i++) {
		struct media_entry *e = &m->entries[i];
		const char *reason = NULL;
		int64_t idle, max, since;
		if (!e->live || e->retry_mono > mono)
			continue;
		for (k = 0; k < gen->n_providers; k++)
			if (strcmp(bc_instance_name(gen->providers[k]), e->provider) == 0)
				break;
		if (k == gen->n_providers)
			continue;
		idle = limits[2 * k];
		max = limits[2 * k + 1];
		since = e->media_ms > 0 ? e->media_ms : e->start_ms;
		/* A 1.0 store keeps no media time: for a stream this process has
		 * not seen change, the idle timer counts from the later of its
		 * start and this process's start (a publisher that was there
		 * before a restart gets the whole timeout to be seen again). */
		if (!has && since < m->boot_ms)
			since = m->boot_ms;
		if (max > 0 && now >= e->start_ms + max)
			reason = "max_duration";
		else if (idle > 0 && e->media != BC_MEDIA_PUBLISHING && now >= since + idle)
			reason = "idle_timeout";
		if (reason == NULL)
			continue;
		if (n == cap) {
			size_t c2 = cap ? cap * 2 : 16;
			struct due *v2 = realloc(v, c2 * sizeof *v2);
			if (v2 == NULL)
				break;
			v = v2;
			cap = c2;
		}
		memcpy(v[n].id, e->id, 37);
		v[n].reason = reason;
		n++;
	}
	pthread_mutex_unlock(&m->lock);
	free(limits);
	bc_gen_release(m->ctx, gen);
	*out = v;
	return n;
}

static void *media_timekeeper(void *arg)
{
	struct bc_media *m = arg;
	/* bc_media_start() did the first read. */
	int64_t next_read = bc_monotonic_ms() + MEDIA_REREAD_MS, next_prune = 0;

	for (;;) {
		int64_t mono = bc_monotonic_ms();
		struct due *due = NULL;
		size_t n;
		struct timespec until;
		int reread;

		pthread_mutex_lock(&m->lock);
		reread = m->reread;
		m->reread = 0;
		if (m->stopping) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		pthread_mutex_unlock(&m->lock);
		if (reread || mono >= next_read) {
			timer_reread(m);
			next_read = mono + MEDIA_REREAD_MS;
		}
		if (mono >= next_prune) {
			timer_prune(m);
			next_prune = mono + MEDIA_PRUNE_MS;
		}
		n = timer_due(m, &due);
		for (size_t i = 0; i < n; i++) {
			pthread_mutex_lock(&m->lock);
			int stop = m->stopping;
			pthread_mutex_unlock(&m->lock);
			if (stop)
				break;
			timer_stop(m, &due[i]);
		}
		free(due);
		bc_cond_deadline(&until, MEDIA_TICK_MS);
		pthread_mutex_lock(&m->lock);
		if (!m->stopping && !m->reread)
			pthread_cond_timedwait(&m->tick, &m->lock, &until);
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

void bc_media_generation_changed(struct bc_context *ctx)
{
	struct bc_media *m = bc_ctx_media(ctx);
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->reread = 1;
	pthread_cond_signal(&m->tick);
	pthread_mutex_unlock(&m->lock);
}

/* ---- resume ---------------------------------------------------------------------- */

struct resume {
	struct bc_generation *gen;
	const struct bc_generation *old;
	unsigned resumed, failed;
};

static int held_by(const struct bc_generation *gen, const struct bc_instance *inst)
{
	for (size_t i = 0; gen != NULL && i < gen->n_providers; i++)
		if (gen->providers[i] == inst)
			return 1;
	return 0;
}

static void resume_page(void *arg, struct bc_record_copy *items, size_t n)
{
	struct resume *rs = arg;
	for (size_t i = 0; i < n; i++) {
		struct bc_instance *p = media_provider(rs->gen, items[i].provider);
		struct bc_stream_info info;
		struct bc_error err;
		enum bc_status st;
		json_t *meta;
		if (p == NULL || held_by(rs->old, p) || items[i].state != BC_STATE_LIVE ||
		    bc_instance_plugin(p)->ops.provider.resume == NULL)
			continue;
		meta = meta_object(items[i].meta);
		stream_info_of(&info, &items[i], meta);
		bc_error_clear(&err);
		bc_instance_enter(p);
		st = bc_instance_plugin(p)->ops.provider.resume(bc_instance_state(p), &info, &err);
		bc_instance_leave(p);
		json_decref(meta);
		if (st != BC_OK) {
			rs->failed++;
			bc_log(BC_LOG_WARN, bc_instance_name(p), "resume of stream %s failed: %s: %s; "
			       "it stays live", items[i].id, err.code[0] ? err.code : bc_status_name(st),
			       err.message);
		} else {
			rs->resumed++;
		}
	}
}

void bc_media_resume(struct bc_context *ctx, struct bc_generation *gen,
                     const struct bc_generation *old)
{
	struct resume rs = { gen, old, 0, 0 };
	int any = 0;
	(void)ctx;
	for (size_t i = 0; i < gen->n_providers; i++)
		if (!held_by(old, gen->providers[i]) &&
		    bc_instance_plugin(gen->providers[i])->ops.provider.resume != NULL)
			any = 1;
	if (!any)
		return;
	list_live(gen, "resume", resume_page, &rs);
	if (rs.resumed > 0 || rs.failed > 0)
		bc_log(BC_LOG_INFO, "broadcastd", "resumed %u live stream(s)%s", rs.resumed,
		       rs.failed > 0 ? "; some failed (see above)" : "");
}

/* ---- the events op ------------------------------------------------------------------ */

static void ring_read(struct bc_media *m, uint64_t after, unsigned limit, const char *owner,
                      struct bc_event_sink *out)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->r_len && out->n < limit; i++) {
		const struct bc_event_copy *c = &m->ring[(m->r_head + i) % MEDIA_RING_CAP];
		struct bc_event ev;
		if (c->cursor <= after || (owner != NULL && strcmp(c->owner, owner) != 0))
			continue;
		event_init(&ev, c->stream_id, c->type, c->time_ms, c->owner, c->data);
		ev.cursor = c->cursor;
		ev.seq = c->seq;
		bc_event_put(out, &ev);
	}
	pthread_mutex_unlock(&m->lock);
}

enum bc_status bc_media_events(struct bc_context *ctx, struct bc_generation **gen,
                               uint64_t after, unsigned limit, const char *owner,
                               int64_t wait_ms, struct bc_event_sink *out,
                               struct bc_error *err)
{
	struct bc_media *m = bc_ctx_media(ctx);
	int64_t end = bc_monotonic_ms() + wait_ms;
	struct bc_event_query q;
	enum bc_status st = BC_OK;

	memset(&q, 0, sizeof q);
	q.struct_size = sizeof q;
	q.after = after;
	q.limit = limit;
	q.owner = owner;
	for (;;) {
		uint64_t seen;
		int64_t left;
		struct timespec until;

		pthread_mutex_lock(&m->lock);
		seen = m->written;
		pthread_mutex_unlock(&m->lock);
		bc_event_sink_free(out);
		if (bc_store_has_events((*gen)->store)) {
			STORE_OP(*gen, st, events, &q, out, err);
			if (st == BC_OK && out->status != BC_OK)
				st = bc_fail(err, out->status, "store.bad_event",
				             "the store returned a bad event");
			if (st != BC_OK)
				return st;
		} else {
			ring_read(m, after, limit, owner, out);
		}
		left = end - bc_monotonic_ms();
		if (out->n > 0 || left <= 0)
			return BC_OK;
		/* Wait for an event of this process, or a second (another node's
		 * events reach only the store), without holding the generation. */
		bc_gen_release(ctx, *gen);
		*gen = NULL;
		bc_cond_deadline(&until, left < MEDIA_POLL_MS ? left : MEDIA_POLL_MS);
		pthread_mutex_lock(&m->lock);
		while (m->written == seen && !m->readers_woken)
			if (pthread_cond_timedwait(&m->events, &m->lock, &until) == ETIMEDOUT)
				break;
		int woken = m->readers_woken;
		pthread_mutex_unlock(&m->lock);
		*gen = bc_gen_acquire(ctx);
		if (woken)
			end = 0; /* one more read, then answer */
	}
}

/* ---- lifetime ------------------------------------------------------------------------- */

struct bc_media *bc_media_create(struct bc_context *ctx)
{
	struct bc_media *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->queue = calloc(MEDIA_QUEUE_CAP, sizeof *m->queue);
	m->ring = calloc(MEDIA_RING_CAP, sizeof *m->ring);
	if (m->queue == NULL || m->ring == NULL) {
		free(m->queue);
		free(m->ring);
		free(m);
		return NULL;
	}
	m->ctx = ctx;
	m->boot_ms = bc_now_ms();
	pthread_mutex_init(&m->lock, NULL);
	bc_cond_init(&m->work);
	bc_cond_init(&m->tick);
	bc_cond_init(&m->events);
	return m;
}

int bc_media_start(struct bc_media *m)
{
	/* Read the LIVE streams once before anything serves: the timers and
	 * the streams_live gauge start from the store, not from zero. */
	timer_reread(m);
	if (pthread_create(&m->worker, NULL, media_worker, m) != 0)
		return -1;
	if (pthread_create(&m->timer, NULL, media_timekeeper, m) != 0) {
		pthread_mutex_lock(&m->lock);
		m->stopping = 1;
		pthread_cond_broadcast(&m->work);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->worker, NULL);
		m->stopping = 0;
		return -1;
	}
	m->started = 1;
	return 0;
}

void bc_media_wake_readers(struct bc_media *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->readers_woken = 1;
	pthread_cond_broadcast(&m->events);
	pthread_mutex_unlock(&m->lock);
}

void bc_media_stop(struct bc_media *m)
{
	if (m == NULL)
		return;
	bc_media_wake_readers(m);
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_broadcast(&m->work);
	pthread_cond_broadcast(&m->tick);
	pthread_mutex_unlock(&m->lock);
	if (m->started) {
		pthread_join(m->worker, NULL);
		pthread_join(m->timer, NULL);
		m->started = 0;
	}
}

void bc_media_free(struct bc_media *m)
{
	if (m == NULL)
		return;
	bc_media_stop(m);
	while (m->n > 0)
		entry_remove(m, &m->entries[m->n - 1]);
	free(m->entries);
	free(m->idx);
	for (size_t i = 0; i < m->r_len; i++) {
		struct bc_event_copy *c = &m->ring[(m->r_head + i) % MEDIA_RING_CAP];
		free(c->stream_id);
		free(c->type);
		free(c->owner);
		free(c->data);
	}
	free(m->ring);
	free(m->queue);
	pthread_cond_destroy(&m->events);
	pthread_cond_destroy(&m->tick);
	pthread_cond_destroy(&m->work);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
