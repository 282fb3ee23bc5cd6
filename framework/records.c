/* SPDX-License-Identifier: Apache-2.0 */
/*
 * records.c: struct bc_record_sink, where stores put the records they read
 * (bc_host_api.record_put). The sink copies every string, so a store may hand
 * over pointers into its own row buffers and reuse them right after.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"

void bc_record_sink_init(struct bc_record_sink *sink)
{
	memset(sink, 0, sizeof *sink);
}

static void record_copy_free(struct bc_record_copy *c)
{
	free(c->id);
	free(c->name);
	free(c->type);
	free(c->provider);
	free(c->owner);
	free(c->meta);
	free(c->stop_reason);
}

void bc_record_sink_free(struct bc_record_sink *sink)
{
	if (sink == NULL)
		return;
	for (size_t i = 0; i < sink->n; i++)
		record_copy_free(&sink->items[i]);
	free(sink->items);
	bc_record_sink_init(sink);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* The record sink and the event sink are twins: an array of copies that
 * grows by doubling, and the first failure kept for the store's caller. The
 * two put functions stay typed (each copies its own struct's strings); what
 * they share is here. */
/* `items` with room for one more (moved, and *cap doubled, when full), or
 * NULL with `items` untouched when memory ran out. */
static void *sink_room(void *items, size_t *cap, size_t n, size_t item_size, size_t first)
{
	if (n < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : first;
	void *grown = realloc(items, ncap * item_size);
	if (grown != NULL)
		*cap = ncap;
	return grown;
}

static enum bc_status sink_fail(enum bc_status *first_failure, enum bc_status status)
{
	if (*first_failure == BC_OK)
		*first_failure = status;
	return status;
}

enum bc_status bc_record_put(struct bc_record_sink *sink, const struct bc_record *record)
{
	struct bc_record full;
	struct bc_record_copy c;

	if (sink == NULL || record == NULL || record->struct_size == 0)
		return BC_E_INVALID;
	/* Zero-extend what an older store passed (ABI principle 2). */
	memset(&full, 0, sizeof full);
	memcpy(&full, record,
	       record->struct_size < sizeof full ? record->struct_size : sizeof full);
	if (full.id == NULL || full.state < BC_STATE_PENDING || full.state > BC_STATE_STOPPED)
		return sink_fail(&sink->status, BC_E_INVALID);
	struct bc_record_copy *items = sink_room(sink->items, &sink->cap, sink->n, sizeof *items, 8);
	if (items == NULL)
		return sink_fail(&sink->status, BC_E_NOMEM);
	sink->items = items;
	memset(&c, 0, sizeof c);
	c.id = strdup(full.id);
	c.name = dup_or_empty(full.name);
	c.type = dup_or_empty(full.type);
	c.provider = dup_or_empty(full.provider);
	c.owner = dup_or_empty(full.owner);
	c.meta = strdup(full.meta != NULL && full.meta[0] != '\0' ? full.meta : "{}");
	c.stop_reason = dup_or_empty(full.stop_reason);
	if (!c.id || !c.name || !c.type || !c.provider || !c.owner || !c.meta || !c.stop_reason) {
		record_copy_free(&c);
		return sink_fail(&sink->status, BC_E_NOMEM);
	}
	c.state = full.state;
	c.start_ms = full.start_ms;
	c.stop_ms = full.stop_ms;
	c.media = full.media == BC_MEDIA_IDLE || full.media == BC_MEDIA_PUBLISHING ? full.media : 0;
	c.publish_ms = full.publish_ms;
	c.media_ms = full.media_ms;
	c.event_seq = full.event_seq;
	sink->items[sink->n++] = c;
	return BC_OK;
}

/* ---- events (since ABI 1.1) ------------------------------------------- */

void bc_event_sink_init(struct bc_event_sink *sink)
{
	memset(sink, 0, sizeof *sink);
}

static void event_copy_free(struct bc_event_copy *c)
{
	free(c->stream_id);
	free(c->type);
	free(c->owner);
	free(c->data);
}

void bc_event_sink_free(struct bc_event_sink *sink)
{
	if (sink == NULL)
		return;
	for (size_t i = 0; i < sink->n; i++)
		event_copy_free(&sink->items[i]);
	free(sink->items);
	bc_event_sink_init(sink);
}

enum bc_status bc_event_put(struct bc_event_sink *sink, const struct bc_event *event)
{
	struct bc_event full;
	struct bc_event_copy c;

	if (sink == NULL || event == NULL || event->struct_size == 0)
		return BC_E_INVALID;
	memset(&full, 0, sizeof full);
	memcpy(&full, event, event->struct_size < sizeof full ? event->struct_size : sizeof full);
	if (full.stream_id == NULL || full.type == NULL)
		return sink_fail(&sink->status, BC_E_INVALID);
	struct bc_event_copy *items = sink_room(sink->items, &sink->cap, sink->n, sizeof *items, 16);
	if (items == NULL)
		return sink_fail(&sink->status, BC_E_NOMEM);
	sink->items = items;
	memset(&c, 0, sizeof c);
	c.stream_id = strdup(full.stream_id);
	c.type = strdup(full.type);
	c.owner = dup_or_empty(full.owner);
	c.data = strdup(full.data != NULL && full.data[0] != '\0' ? full.data : "{}");
	if (!c.stream_id || !c.type || !c.owner || !c.data) {
		event_copy_free(&c);
		return sink_fail(&sink->status, BC_E_NOMEM);
	}
	c.cursor = full.cursor;
	c.seq = full.seq;
	c.time_ms = full.time_ms;
	sink->items[sink->n++] = c;
	return BC_OK;
}
