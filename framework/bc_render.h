/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bc_render.h: the JSON shapes of API responses (render.c). The seed's
 * shapes (start, stop) are fixed byte for byte: key names and order.
 */
#ifndef BC_RENDER_H
#define BC_RENDER_H

#include <jansson.h>

#include "bc_internal.h"

/* {"error":{"code":..,"message":..}} */
/* A JSON string of s (NULL: ""), with every byte that is not part of
 * well-formed UTF-8 replaced by U+FFFD, so stored text can always be shown.
 * NULL only when out of memory. */
json_t *bc_render_text(const char *s);
json_t *bc_render_error(const char *code, const char *message);
/* {"stream":{"id","name","start_date"},"endpoint":sections} (sections is
 * borrowed, copied) */
json_t *bc_render_start(const struct bc_record_copy *r, json_t *sections);
/* {"stream":{"id","name","start_date","stop_date"}} */
json_t *bc_render_stop(const struct bc_record_copy *r);
/* 409 body: the error plus the stored stream in stop's shape. */
json_t *bc_render_conflict(const struct bc_record_copy *r);
/* One record with state and owner: {"id","name","start_date","stop_date"
 * (null while live),"type","state","provider","owner","media","publish_date"
 * (null: never published), and "stop_reason" (stopped only; null: unknown)} */
json_t *bc_render_record(const struct bc_record_copy *r);
/* "idle" or "publishing" (0, a 1.0 store's, is "idle"). */
const char *bc_media_name(enum bc_media_state m);
/* {"stream": bc_render_record(r)} */
json_t *bc_render_record_wrapped(const struct bc_record_copy *r);
/* {"streams":[...],"next_cursor":..|null} */
json_t *bc_render_list(const struct bc_record_copy *items, size_t n, const char *next_cursor);
/* {"events":[{"cursor","type","seq","time", then the event's data members:
 * "stream", and "reason" / "detail" / "cause" where they apply}],"next":N}
 * (docs/events.md) */
json_t *bc_render_events(const struct bc_event_copy *items, size_t n, uint64_t next);
/* One event of that array: also the body of a webhook delivery
 * (framework/webhook.c), so the two never differ. */
json_t *bc_render_event(const struct bc_event_copy *e);
/* {"name":..,"status":"ok"} or with "code" and "message" when st != BC_OK;
 * the component's own message only when `detailed` (administrators), else a
 * fixed text without paths or hosts. */
json_t *bc_render_health_item(const char *name, enum bc_status st, const struct bc_error *err,
                              int detailed);
/* {"status":"ok"|"unavailable","store":store,"providers":providers}; takes
 * store and providers (also when NULL, which gives NULL: out of memory). */
json_t *bc_render_health(int healthy, json_t *store, json_t *providers);
/* {"reloaded":true} */
json_t *bc_render_reload(void);
/* {"plugins":[{"name","kind","version","abi","description","path"}],"rejected":[..]} */
json_t *bc_render_plugins(const struct bc_registry *reg);

#endif /* BC_RENDER_H */
