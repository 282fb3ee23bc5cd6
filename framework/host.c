/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host.c: struct bc_host_api, the table of functions every plugin instance
 * receives in create(), and the endpoint builder behind ep_* and meta_*.
 *
 * The struct bc_host a plugin holds is its struct bc_instance (instance.c);
 * each function here turns it back and forwards to the file that does the
 * work: options.c for config, log.c for logging, error.c for fail (the
 * table points at bc_fail and bc_vfail themselves), metrics.c, dispatch.c.
 * Strings handed in by plugins are copied before the function returns.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bc_runtime.h"

static const char *host_instance_name(const struct bc_host *host)
{
	return bc_instance_name(bc_host_instance(host));
}

static void host_log_v(struct bc_host *host, enum bc_log_level level, const char *fmt, va_list ap)
{
	bc_vlog(level, host ? bc_instance_name(bc_host_instance(host)) : "plugin", fmt, ap);
}

static void host_log(struct bc_host *host, enum bc_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	host_log_v(host, level, fmt, ap);
	va_end(ap);
}

static enum bc_status host_media_report(struct bc_host *host, const char *stream_id,
                                        enum bc_media_fact fact, const char *detail)
{
	if (host == NULL)
		return BC_E_INVALID;
	return bc_media_report(bc_host_instance(host), stream_id, fact, detail);
}

static int host_log_enabled(const struct bc_host *host, enum bc_log_level level)
{
	(void)host;
	return level <= bc_log_get_level();
}

static int valid_metric_name(const char *s)
{
	if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void host_counter_add(struct bc_host *host, const char *name, const char *labels,
                             uint64_t delta)
{
	struct bc_instance *inst = bc_host_instance(host);
	if (!valid_metric_name(name)) {
		bc_log(BC_LOG_ERROR, bc_instance_name(inst), "counter name '%s' is not "
		       "[a-z_][a-z0-9_]*; ignored (plugin bug)", name ? name : "(null)");
		return;
	}
	bc_metrics_counter_add(bc_ctx_metrics(bc_instance_context(inst)), name,
	                       bc_instance_name(inst), labels, delta);
}

static void host_gauge_set(struct bc_host *host, const char *name, const char *labels,
                           double value)
{
	struct bc_instance *inst = bc_host_instance(host);
	if (!valid_metric_name(name)) {
		bc_log(BC_LOG_ERROR, bc_instance_name(inst), "gauge name '%s' is not "
		       "[a-z_][a-z0-9_]*; ignored (plugin bug)", name ? name : "(null)");
		return;
	}
	bc_metrics_gauge_set(bc_ctx_metrics(bc_instance_context(inst)), name,
	                     bc_instance_name(inst), labels, value);
}

/* ---- endpoint builder ------------------------------------------------- */

int bc_endpoint_init(struct bc_endpoint *ep)
{
	ep->sections = json_object();
	ep->meta = json_object();
	if (ep->sections == NULL || ep->meta == NULL) {
		bc_endpoint_free(ep);
		return -1;
	}
	return 0;
}

void bc_endpoint_free(struct bc_endpoint *ep)
{
	json_decref(ep->sections);
	json_decref(ep->meta);
	ep->sections = ep->meta = NULL;
}

static int valid_field_name(const char *s, size_t max)
{
	size_t n = 0;
	if (s == NULL)
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-' || s[n] == '.'))
			return 0;
	return n >= 1 && n <= max;
}

static enum bc_status ep_put(struct bc_endpoint *ep, const char *section, const char *field,
                             json_t *value)
{
	json_t *obj;
	if (value == NULL)
		return BC_E_NOMEM;
	if (ep == NULL || !valid_field_name(section, 32) || !valid_field_name(field, 64)) {
		json_decref(value);
		return BC_E_INVALID;
	}
	obj = json_object_get(ep->sections, section);
	if (obj == NULL) {
		obj = json_object();
		if (obj == NULL || json_object_set_new(ep->sections, section, obj) != 0) {
			json_decref(value);
			return BC_E_NOMEM;
		}
	}
	return json_object_set_new(obj, field, value) == 0 ? BC_OK : BC_E_NOMEM;
}

/* bc_ep_capture_begin(): the [section, field] pairs marked BC_EP_SECRET by
 * the provider start() that runs on this thread (the dispatcher calls it
 * synchronously), for bc_stream_start_typed(). NULL: not capturing. */
static _Thread_local json_t *ep_secret_capture;

void bc_ep_capture_begin(void)
{
	json_decref(ep_secret_capture);
	ep_secret_capture = json_array();
}

json_t *bc_ep_capture_end(void)
{
	json_t *got = ep_secret_capture;
	ep_secret_capture = NULL;
	return got;
}

static enum bc_status host_ep_str(struct bc_endpoint *ep, const char *section, const char *field,
                                  const char *value, unsigned flags)
{
	enum bc_status st;
	if (value == NULL)
		return BC_E_INVALID;
	/* Credentials go to the caller once and never into meta (the store).
	 * The host never logs endpoint values, so the flag needs no other
	 * handling; registering each one for redaction would grow without
	 * bound. Only the typed start result reports it (is_secret). */
	st = ep_put(ep, section, field, json_string(value));
	if (st == BC_OK && (flags & BC_EP_SECRET) && ep_secret_capture != NULL &&
	    json_array_append_new(ep_secret_capture, json_pack("[ss]", section, field)) != 0)
		st = BC_E_NOMEM;
	return st;
}

static enum bc_status host_ep_json(struct bc_endpoint *ep, const char *section,
                                   const char *field, const char *json, unsigned flags)
{
	enum bc_status st;
	json_t *value;
	size_t len;

	if (json == NULL || (len = strlen(json)) > 16384 || bc_json_depth(json, len, 8) > 8)
		return BC_E_INVALID;
	value = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (value == NULL)
		return BC_E_INVALID;
	if (!json_is_array(value) && !json_is_object(value)) {
		json_decref(value);
		return BC_E_INVALID;
	}
	st = ep_put(ep, section, field, value);
	if (st == BC_OK && (flags & BC_EP_SECRET) && ep_secret_capture != NULL &&
	    json_array_append_new(ep_secret_capture, json_pack("[ss]", section, field)) != 0)
		st = BC_E_NOMEM;
	return st;
}

static enum bc_status host_ep_real(struct bc_endpoint *ep, const char *section,
                                   const char *field, double value)
{
	if (!isfinite(value))
		return BC_E_INVALID;
	return ep_put(ep, section, field, json_real(value));
}

static enum bc_status host_ep_int(struct bc_endpoint *ep, const char *section, const char *field,
                                  int64_t value)
{
	return ep_put(ep, section, field, json_integer((json_int_t)value));
}

static enum bc_status host_ep_bool(struct bc_endpoint *ep, const char *section,
                                   const char *field, int value)
{
	return ep_put(ep, section, field, json_boolean(value));
}

static int valid_meta_key(const char *s)
{
	size_t n = 0;
	if (s == NULL)
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
		      s[n] == '.'))
			return 0;
	return n >= 1 && n <= 64;
}

static enum bc_status host_meta_set(struct bc_endpoint *ep, const char *key, const char *value)
{
	if (ep == NULL || !valid_meta_key(key) || value == NULL || strlen(value) > 4096)
		return BC_E_INVALID;
	return json_object_set_new(ep->meta, key, json_string(value)) == 0 ? BC_OK : BC_E_NOMEM;
}

static const char *host_meta_get(const struct bc_stream_info *stream, const char *key)
{
	struct bc_stream_info full;
	if (stream == NULL || key == NULL)
		return NULL;
	memset(&full, 0, sizeof full);
	memcpy(&full, stream,
	       stream->struct_size < sizeof full ? stream->struct_size : sizeof full);
	if (full.host_private == NULL)
		return NULL;
	return json_string_value(json_object_get((const json_t *)full.host_private, key));
}

static void host_call(struct bc_host *host, const struct bc_request *req, struct bc_response *resp)
{
	struct bc_instance *inst = bc_host_instance(host);
	bc_dispatch(bc_instance_context(inst), inst, req, resp);
}

static void host_response_release(struct bc_response *resp)
{
	bc_resp_free_fields(resp);
}

const struct bc_host_api bc_host_api_table = {
	.struct_size = sizeof(struct bc_host_api),
	.abi_major = BC_ABI_MAJOR,
	.abi_minor = BC_ABI_MINOR,
	.cfg_str = bc_config_str,
	.cfg_int = bc_config_int,
	.cfg_bool = bc_config_bool,
	.cfg_is_set = bc_config_is_set,
	.cfg_list_len = bc_config_list_len,
	.cfg_list_at = bc_config_list_at,
	.instance_name = host_instance_name,
	.log = host_log,
	.log_enabled = host_log_enabled,
	.fail = bc_fail, /* error.c: the same contract */
	.random = bc_random,
	.now_ms = bc_now_ms,
	.monotonic_ms = bc_monotonic_ms,
	.secure_equal = bc_secure_equal,
	.sha256_hex = bc_sha256_hex,
	.fingerprint = bc_fingerprint,
	.counter_add = host_counter_add,
	.gauge_set = host_gauge_set,
	.ep_str = host_ep_str,
	.ep_real = host_ep_real,
	.ep_int = host_ep_int,
	.ep_bool = host_ep_bool,
	.meta_set = host_meta_set,
	.meta_get = host_meta_get,
	.record_put = bc_record_put,
	.call = host_call,
	.response_release = host_response_release,
	/* since ABI 1.1 */
	.log_v = host_log_v,
	.fail_v = bc_vfail,
	.media_report = host_media_report,
	.event_put = bc_event_put,
	.ep_json = host_ep_json,
};

int bc_parse_rate(const char *text, double *per_second)
{
	char *end = NULL;
	double n;
	if (text == NULL)
		return -1;
	n = strtod(text, &end);
	if (end == text || !(n > 0) || !isfinite(n) || *end != '/')
		return -1;
	if (strcmp(end, "/s") == 0)
		*per_second = n;
	else if (strcmp(end, "/m") == 0)
		*per_second = n / 60.0;
	else if (strcmp(end, "/h") == 0)
		*per_second = n / 3600.0;
	else
		return -1;
	return 0;
}
