/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.c: API response bodies as jansson objects. Key order is part of
 * the wire API (django-broadcast clients were written against its exact
 * output), so every object is built in the seed's order and dumped with
 * JSON_PRESERVE_ORDER. Dates are GMT "YYYY-MM-DD HH:MM:SS".
 */
#include "config.h"

#include <stdio.h>

#include "bc_render.h"

json_t *bc_render_error(const char *code, const char *message)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
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
	o = json_pack("{s:s, s:s, s:s}", "id", r->id, "name", r->name ? r->name : "",
	              "start_date", start);
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
	return json_pack("{s:{s:s, s:s}, s:o}", "error", "code", "stream.already_stopped",
	                 "message", msg, "stream", seed_stream(r, 1));
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
	json_object_set_new(o, "type", json_string(r->type));
	json_object_set_new(o, "state", json_string(state_name(r->state)));
	json_object_set_new(o, "provider", json_string(r->provider));
	json_object_set_new(o, "owner", json_string(r->owner));
	return o;
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

json_t *bc_render_health_item(const char *name, enum bc_status st, const struct bc_error *err)
{
	if (st == BC_OK)
		return json_pack("{s:s, s:s}", "name", name, "status", "ok");
	return json_pack("{s:s, s:s, s:s, s:s}", "name", name, "status", "unavailable", "code",
	                 err->code[0] ? err->code : bc_status_name(st), "message",
	                 err->message[0] ? err->message : "not healthy");
}

json_t *bc_render_plugins(const struct bc_registry *reg)
{
	json_t *arr = json_array(), *rej = json_array();
	char abi[32];
	for (size_t i = 0; arr != NULL && i < bc_registry_count(reg); i++) {
		const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
		snprintf(abi, sizeof abi, "%u.%u", p->desc.abi_major, p->desc.abi_minor);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name",
		                                     p->desc.name, "kind", bc_kind_name(p->desc.kind),
		                                     "version", p->desc.version ? p->desc.version : "",
		                                     "abi", abi, "description",
		                                     p->desc.description ? p->desc.description : "",
		                                     "path", p->path));
	}
	for (size_t i = 0; rej != NULL && i < bc_registry_reject_count(reg); i++)
		json_array_append_new(rej, json_string(bc_registry_reject_at(reg, i)));
	return json_pack("{s:o, s:o}", "plugins", arr ? arr : json_array(), "rejected",
	                 rej ? rej : json_array());
}
