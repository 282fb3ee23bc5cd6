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
	if (full.id == NULL || full.state < BC_STATE_PENDING || full.state > BC_STATE_STOPPED) {
		if (sink->status == BC_OK)
			sink->status = BC_E_INVALID;
		return BC_E_INVALID;
	}
	if (sink->n == sink->cap) {
		size_t cap = sink->cap ? sink->cap * 2 : 8;
		struct bc_record_copy *items = realloc(sink->items, cap * sizeof *items);
		if (items == NULL)
			goto nomem;
		sink->items = items;
		sink->cap = cap;
	}
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
		goto nomem;
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
nomem:
	if (sink->status == BC_OK)
		sink->status = BC_E_NOMEM;
	return BC_E_NOMEM;
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
	if (full.stream_id == NULL || full.type == NULL) {
		if (sink->status == BC_OK)
			sink->status = BC_E_INVALID;
		return BC_E_INVALID;
	}
	if (sink->n == sink->cap) {
		size_t cap = sink->cap ? sink->cap * 2 : 16;
		struct bc_event_copy *items = realloc(sink->items, cap * sizeof *items);
		if (items == NULL)
			goto nomem;
		sink->items = items;
		sink->cap = cap;
	}
	memset(&c, 0, sizeof c);
	c.stream_id = strdup(full.stream_id);
	c.type = strdup(full.type);
	c.owner = dup_or_empty(full.owner);
	c.data = strdup(full.data != NULL && full.data[0] != '\0' ? full.data : "{}");
	if (!c.stream_id || !c.type || !c.owner || !c.data) {
		event_copy_free(&c);
		goto nomem;
	}
	c.cursor = full.cursor;
	c.seq = full.seq;
	c.time_ms = full.time_ms;
	sink->items[sink->n++] = c;
	return BC_OK;
nomem:
	if (sink->status == BC_OK)
		sink->status = BC_E_NOMEM;
	return BC_E_NOMEM;
}
