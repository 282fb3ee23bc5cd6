/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.c: API response bodies as jansson objects. Key order is part of
 * the wire API (django-broadcast clients were written against its exact
 * output), so every object is built in the seed's order and dumped with
 * JSON_PRESERVE_ORDER. Dates are GMT "YYYY-MM-DD HH:MM:SS".
 *
 * Every string that did not come from this file goes through
 * bc_render_text(): a record written by an older version (or straight into
 * the database) may hold bytes that are not UTF-8, which jansson's
 * json_string() refuses with NULL; one such record must not turn every
 * later list into a 500, so it is shown with U+FFFD in their place.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc_render.h"

json_t *bc_render_text(const char *s)
{
	static const char fffd[] = "\xef\xbf\xbd"; /* U+FFFD REPLACEMENT CHARACTER */
	size_t len, o = 0;
	char *copy;
	json_t *v;

	if (s == NULL)
		s = "";
	len = strlen(s);
	if (bc_utf8_valid(s, len))
		return json_stringn(s, len);
	/* Each byte that does not start a well-formed sequence becomes U+FFFD
	 * (3 bytes), so 3 * len bytes always suffice. */
	copy = malloc(3 * len + 1);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = (unsigned char)s[i] < 0x80   ? 1
		           : ((unsigned char)s[i] & 0xe0) == 0xc0 ? 2
		           : ((unsigned char)s[i] & 0xf0) == 0xe0 ? 3
		           : ((unsigned char)s[i] & 0xf8) == 0xf0 ? 4
		                                                   : 0;
		if (n > 0 && n <= len - i && bc_utf8_valid(s + i, n)) {
			memcpy(copy + o, s + i, n);
			o += n;
			i += n;
		} else {
			copy[o++] = fffd[0];
			copy[o++] = fffd[1];
			copy[o++] = fffd[2];
			i++;
		}
	}
	v = json_stringn(copy, o);
	free(copy);
	return v;
}

json_t *bc_render_error(const char *code, const char *message)
{
	return json_pack("{s:{s:o, s:o}}", "error", "code", bc_render_text(code), "message",
	                 bc_render_text(message));
}

static json_t *date_or_null(int64_t ms)
{
	char when[20];
	if (ms <= 0)
		return json_null();
	bc_format_gmt(ms, when);
	return json_string(when);
}

static json_t *seed_stream(const struct bc_record_copy *r, int with_stop)
{
	char start[20];
	json_t *o;
	bc_format_gmt(r->start_ms, start);
	o = json_pack("{s:o, s:o, s:s}", "id", bc_render_text(r->id), "name",
	              bc_render_text(r->name), "start_date", start);
	if (o != NULL && with_stop)
		json_object_set_new(o, "stop_date", date_or_null(r->stop_ms));
	return o;
}

json_t *bc_render_start(const struct bc_record_copy *r, json_t *sections)
{
	return json_pack("{s:o, s:O}", "stream", seed_stream(r, 0), "endpoint", sections);
}

json_t *bc_render_stop(const struct bc_record_copy *r)
{
	return json_pack("{s:o}", "stream", seed_stream(r, 1));
}

json_t *bc_render_conflict(const struct bc_record_copy *r)
{
	char msg[128];
	snprintf(msg, sizeof msg, "stream %s was already stopped", r->id);
	return json_pack("{s:{s:s, s:o}, s:o}", "error", "code", "stream.already_stopped",
	                 "message", bc_render_text(msg), "stream", seed_stream(r, 1));
}

static const char *state_name(enum bc_stream_state s)
{
	switch (s) {
	case BC_STATE_PENDING: return "pending";
	case BC_STATE_LIVE: return "live";
	case BC_STATE_STOPPED: return "stopped";
	}
	return "unknown";
}

json_t *bc_render_record(const struct bc_record_copy *r)
{
	json_t *o = seed_stream(r, 1);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "type", bc_render_text(r->type));
	json_object_set_new(o, "state", json_string(state_name(r->state)));
	json_object_set_new(o, "provider", bc_render_text(r->provider));
	json_object_set_new(o, "owner", bc_render_text(r->owner));
	/* Since ABI 1.1 (docs/events.md): the media state (for a stopped
	 * stream, the state it had at its stop; "idle" when nobody knows),
	 * when publishing last began, and why a stopped stream stopped. */
	json_object_set_new(o, "media", json_string(bc_media_name(r->media)));
	json_object_set_new(o, "publish_date", date_or_null(r->publish_ms));
	if (r->state == BC_STATE_STOPPED)
		json_object_set_new(o, "stop_reason",
		                    r->stop_reason != NULL && r->stop_reason[0] != '\0'
		                            ? bc_render_text(r->stop_reason)
		                            : json_null());
	return o;
}

const char *bc_media_name(enum bc_media_state m)
{
	return m == BC_MEDIA_PUBLISHING ? "publishing" : "idle";
}

json_t *bc_render_record_wrapped(const struct bc_record_copy *r)
{
	return json_pack("{s:o}", "stream", bc_render_record(r));
}

json_t *bc_render_list(const struct bc_record_copy *items, size_t n, const char *next_cursor)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, bc_render_record(&items[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	return json_pack("{s:o, s:o}", "streams", arr,
	                 "next_cursor", next_cursor ? json_string(next_cursor) : json_null());
}

json_t *bc_render_event(const struct bc_event_copy *e)
{
	json_t *data = json_loads(e->data, 0, NULL);
	json_t *o = json_object();
	char when[20];
	if (o == NULL) {
		json_decref(data);
		return NULL;
	}
	bc_format_gmt(e->time_ms, when);
	json_object_set_new(o, "cursor", json_integer((json_int_t)e->cursor));
	json_object_set_new(o, "type", bc_render_text(e->type));
	json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
	json_object_set_new(o, "time", json_string(when));
	if (json_is_object(data)) {
		const char *key;
		json_t *value;
		json_object_foreach(data, key, value)
			if (json_object_get(o, key) == NULL)
				json_object_set(o, key, value);
	}
	json_decref(data);
	return o;
}

json_t *bc_render_events(const struct bc_event_copy *items, size_t n, uint64_t next)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = bc_render_event(&items[i]);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:o, s:I}", "events", arr, "next", (json_int_t)next);
}

json_t *bc_render_health_item(const char *name, enum bc_status st, const struct bc_error *err,
                              int detailed)
{
	if (st == BC_OK)
		return json_pack("{s:o, s:s}", "name", bc_render_text(name), "status", "ok");
	/* A component's own message may name server paths, hosts or users
	 * ("the folder /srv/... is not writable"); /healthz is public, so only
	 * an administrator gets it here, everyone else a fixed text (the
	 * dispatcher logs the detail). */
	return json_pack("{s:o, s:s, s:o, s:o}", "name", bc_render_text(name), "status",
	                 "unavailable", "code",
	                 bc_render_text(err->code[0] ? err->code : bc_status_name(st)), "message",
	                 bc_render_text(detailed && err->message[0]
	                                        ? err->message
	                                        : "not healthy; the daemon's log says why"));
}

json_t *bc_render_health(int healthy, json_t *store, json_t *providers)
{
	/* "o" steals store and providers even when the pack fails; a NULL one
	 * (out of memory) fails it. */
	return json_pack("{s:s, s:o, s:o}", "status", healthy ? "ok" : "unavailable", "store",
	                 store, "providers", providers);
}

json_t *bc_render_reload(void)
{
	return json_pack("{s:b}", "reloaded", 1);
}

json_t *bc_render_plugins(const struct bc_registry *reg)
{
	json_t *arr = json_array(), *rej = json_array();
	char abi[32];
	for (size_t i = 0; arr != NULL && i < bc_registry_count(reg); i++) {
		const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
		snprintf(abi, sizeof abi, "%u.%u", p->desc.abi_major, p->desc.abi_minor);
		json_array_append_new(arr, json_pack("{s:o, s:s, s:o, s:s, s:o, s:o}", "name",
		                                     bc_render_text(p->desc.name), "kind",
		                                     bc_kind_name(p->desc.kind), "version",
		                                     bc_render_text(p->desc.version), "abi", abi,
		                                     "description",
		                                     bc_render_text(p->desc.description), "path",
		                                     bc_render_text(p->path)));
	}
	for (size_t i = 0; rej != NULL && i < bc_registry_reject_count(reg); i++)
		json_array_append_new(rej, bc_render_text(bc_registry_reject_at(reg, i)));
	return json_pack("{s:o, s:o}", "plugins", arr ? arr : json_array(), "rejected",
	                 rej ? rej : json_array());
}
