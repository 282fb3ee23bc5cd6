/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_callbacks.c: nginx-rtmp's callbacks (see rtmp_callbacks.h for the
 * routes). The only file of the plugin that includes civetweb.h.
 *
 * Every request is judged in an order that changes nothing for a bad one:
 * framing (http_guard_framing(): smuggling), connections per address, the
 * caller's address against `allow`, no Origin header and a Host that is
 * an address (a web page cannot post here, even through DNS rebinding),
 * the route and method, a form body with a Content-Length of at most
 * RTMP_BODY_MAX read within request_timeout (http_guard.h's watchdog), its
 * parameters (each once, printable ASCII), `call` matching the route and
 * `app` the configured one; only then is the key looked up. Every refusal
 * is a 4xx with the API's JSON error body: nginx-rtmp refuses a publish,
 * and drops a publisher on_update, for any status outside 2xx and 3xx.
 *
 * Why on_publish accepts with a redirect: nginx-rtmp's HLS writes
 * {hls_path}/{name}.m3u8 and names its session by the name the encoder
 * sent, the key, so a public playback URL would carry the key. A 3xx
 * whose Location is a plain name makes nginx-rtmp go on under that name
 * (ngx_rtmp_notify_publish_handle): the stream's id. Its on_update and
 * on_publish_done still send the name the encoder used (the notify
 * module keeps it from before the rename), so they carry the key too.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "http_guard.h"
#include "rtmp_callbacks.h"
#include "rtmp_form.h"

/* nginx-rtmp's longest form: a name and args of at most NGX_RTMP_MAX_NAME
 * and NGX_RTMP_MAX_ARGS (256 bytes each), escaped, plus tcUrl, pageUrl,
 * swfUrl and flashver: well under this. */
#define RTMP_BODY_MAX 8192
#define RTMP_NAME_MAX 257
#define RTMP_APP_MAX 129

struct rtmp_callbacks {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct rtmp_keys *keys;
	const struct rtmp_allow *allow;
	struct http_guard_listener guard; /* CivetWeb, the body deadline, the per-address bound */
	char *app;
	int64_t request_timeout_ms;
};

/* One callback's parameters, decoded. */
struct rtmp_call {
	const char *route;         /* "on_publish", "on_update", "on_publish_done" */
	char name[RTMP_NAME_MAX];  /* the key the encoder sent */
	char app[RTMP_APP_MAX];
	char addr[RTMP_ADDR_MAX];
	char client[RTMP_CLIENT_MAX];
	char hash[65];             /* sha256 of name */
};

/* ---- responses ------------------------------------------------------------------ */

/* Refuse with a JSON error and count it. code and message are our own
 * constant text. */
static int rtmp_refuse(struct rtmp_callbacks *c, struct mg_connection *conn, int status,
                       const char *code, const char *message)
{
	char labels[96];

	snprintf(labels, sizeof(labels), "code=\"%s\"", code);
	c->api->counter_add(c->host, "rtmp_callbacks_refused_total", labels, 1);
	c->api->log(c->host, BC_LOG_DEBUG, "callback %s from %s: %d %s",
	            mg_get_request_info(conn)->local_uri_raw ?
	                    mg_get_request_info(conn)->local_uri_raw : "?",
	            mg_get_request_info(conn)->remote_addr, status, code);
	return http_guard_refuse(conn, status, code, message, NULL);
}

/* An empty answer nginx-rtmp reads as "go on": 200, or 302 to `location`. */
static int rtmp_accept(struct mg_connection *conn, const char *location)
{
	int status = location != NULL ? 302 : 200;

	mg_response_header_start(conn, status);
	if (location != NULL)
		mg_response_header_add(conn, "Location", location, -1);
	mg_response_header_add(conn, "Content-Length", "0", -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
	http_guard_close(conn);
	mg_response_header_send(conn);
	return status;
}

/* ---- request checks ----------------------------------------------------------------- */

/* A Host header naming an address literal or localhost, with an optional
 * port. A name could be a DNS-rebinding page's, whose browser scripts
 * would then reach this loopback listener as "the same origin". */
static int rtmp_host_is_address(const char *host)
{
	size_t n;

	if (host == NULL || host[0] == '\0')
		return 0;
	if (host[0] == '[') { /* [v6]:port */
		n = strspn(host + 1, "0123456789abcdefABCDEF:.");
		if (host[1 + n] != ']')
			return 0;
		host += n + 2;
	} else if (strncasecmp(host, "localhost", 9) == 0) {
		host += 9;
	} else {
		n = strspn(host, "0123456789.");
		if (n == 0)
			return 0;
		host += n;
	}
	if (*host == '\0')
		return 1;
	return host[0] == ':' && host[1] != '\0' && strspn(host + 1, "0123456789") == strlen(host + 1);
}

static int rtmp_is_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* Read the body, at most RTMP_BODY_MAX bytes as Content-Length says, by
 * deadline_ms. Returns its length, or a negative status to answer:
 * -408 late, -400 cut short. */
static int rtmp_read_body(struct rtmp_callbacks *c, struct mg_connection *conn, char *buf,
                          size_t want, int64_t deadline_ms)
{
	struct http_guard_deadline deadline;
	size_t got = 0;
	int timed_out = 0;

	memset(&deadline, 0, sizeof(deadline));
	/* mg_read() of a trickled body blocks until its buffer is full: only
	 * the watchdog keeps the deadline. */
	if (http_guard_deadline_arm(c->guard.watchdog, conn, deadline_ms - c->api->monotonic_ms(),
	                            &deadline) < 0)
		c->api->log(c->host, BC_LOG_WARN, "a callback body is not watched: its deadline "
		                                  "is only checked between reads");
	while (got < want) {
		int r = mg_read(conn, buf + got, want - got);
		if (c->api->monotonic_ms() >= deadline_ms) {
			timed_out = 1;
			break;
		}
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (http_guard_deadline_disarm(c->guard.watchdog, &deadline))
		timed_out = 1;
	if (timed_out)
		return -408;
	return got == want ? (int)got : -400;
}

/* Decode the parameters every callback carries into `call`; on a refusal
 * answer and return its status, else 0. */
static int rtmp_parse_call(struct rtmp_callbacks *c, struct mg_connection *conn,
                           const char *body, size_t len, const char *want_call,
                           struct rtmp_call *call)
{
	static const char *const names[] = { "call", "name", "app", "addr", "clientid" };
	char value[RTMP_NAME_MAX];
	char *const outs[] = { value, call->name, call->app, call->addr, call->client };
	const size_t sizes[] = { sizeof(value), sizeof(call->name), sizeof(call->app),
		                 sizeof(call->addr), sizeof(call->client) };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum rtmp_form_result r = rtmp_form_get(body, len, names[i], outs[i], sizes[i]);
		if (r == RTMP_FORM_ABSENT || (r == RTMP_FORM_OK && outs[i][0] == '\0'))
			return rtmp_refuse(c, conn, 400, "rtmp.missing_param",
			                   "the form lacks one of call, name, app, addr, clientid: "
			                   "point nginx-rtmp's notify directives here with "
			                   "notify_method post");
		if (r != RTMP_FORM_OK)
			return rtmp_refuse(c, conn, 400, "rtmp.bad_param",
			                   "a parameter is given twice, too long, badly %-encoded or "
			                   "not printable ASCII");
	}
	if (strcmp(value, want_call) != 0)
		return rtmp_refuse(c, conn, 400, "rtmp.bad_call",
		                   "the call parameter does not match this path");
	if (!rtmp_is_digits(call->client) ||
	    strspn(call->addr, "0123456789abcdefABCDEF.:") != strlen(call->addr))
		return rtmp_refuse(c, conn, 400, "rtmp.bad_param",
		                   "clientid must be a number and addr an IP address");
	if (strcmp(call->app, c->app) != 0)
		return rtmp_refuse(c, conn, 403, "rtmp.wrong_app",
		                   "this application is not rtmp_url's");
	c->api->sha256_hex(call->name, strlen(call->name), call->hash);
	return 0;
}

/* ---- the three callbacks -------------------------------------------------------------- */

static int rtmp_key_refusal(struct rtmp_callbacks *c, struct mg_connection *conn,
                            const struct rtmp_call *call, enum rtmp_key_verdict v)
{
	char fp[17];

	c->api->fingerprint(call->name, fp);
	c->api->log(c->host, BC_LOG_INFO, "%s from %s refused for key %s: %s", call->route,
	            call->addr, fp,
	            v == RTMP_KEY_UNKNOWN ? "no live stream has this key" :
	            v == RTMP_KEY_EXPIRED ? "the key expired" :
	            v == RTMP_KEY_BUSY ? "another publisher holds the stream" :
	                                 "not the stream's publisher");
	switch (v) {
	case RTMP_KEY_EXPIRED:
		return rtmp_refuse(c, conn, 403, "rtmp.key_expired",
		                   "the stream key expired: start a new stream");
	case RTMP_KEY_BUSY:
		return rtmp_refuse(c, conn, 409, "rtmp.busy",
		                   "another publisher is live with this key");
	case RTMP_KEY_NOT_PUBLISHER:
		return rtmp_refuse(c, conn, 409, "rtmp.not_publisher",
		                   "this client is not the stream's publisher");
	case RTMP_KEY_UNKNOWN:
	case RTMP_KEY_OK:
	default:
		break;
	}
	return rtmp_refuse(c, conn, 403, "rtmp.bad_key",
	                   "no live stream has this key (unknown, or its stream stopped)");
}

static int rtmp_on_publish(struct rtmp_callbacks *c, struct mg_connection *conn,
                           const struct rtmp_call *call)
{
	char id[RTMP_ID_LEN + 1], detail[RTMP_ADDR_MAX + 32], fp[17];
	enum rtmp_key_verdict v = rtmp_keys_publish(c->keys, call->hash, call->client,
	                                            call->addr, id);

	if (v != RTMP_KEY_OK)
		return rtmp_key_refusal(c, conn, call, v);
	c->api->fingerprint(call->name, fp);
	c->api->log(c->host, BC_LOG_INFO, "stream %s: publishing from %s (key %s, client %s)",
	            id, call->addr, fp, call->client);
	snprintf(detail, sizeof(detail), "rtmp publisher %s", call->addr);
	c->api->media_report(c->host, id, BC_MEDIA_FACT_PUBLISHING, detail);
	c->api->counter_add(c->host, "rtmp_publishes_total", NULL, 1);
	return rtmp_accept(conn, id);
}

static int rtmp_on_update(struct rtmp_callbacks *c, struct mg_connection *conn,
                          const struct rtmp_call *call)
{
	char id[RTMP_ID_LEN + 1], detail[RTMP_ADDR_MAX + 32];
	int adopted = 0;
	enum rtmp_key_verdict v = rtmp_keys_update(c->keys, call->hash, call->client, call->addr,
	                                           id, &adopted);

	if (v != RTMP_KEY_OK)
		return rtmp_key_refusal(c, conn, call, v);
	if (adopted)
		c->api->log(c->host, BC_LOG_INFO, "stream %s: publisher %s (client %s) taken back "
		                                  "after a restart", id, call->addr, call->client);
	/* Repeats are ignored by the host; reporting each update restores
	 * the state after a restart or a dropped fact. */
	snprintf(detail, sizeof(detail), "rtmp publisher %s", call->addr);
	c->api->media_report(c->host, id, BC_MEDIA_FACT_PUBLISHING, detail);
	return rtmp_accept(conn, NULL);
}

static int rtmp_on_publish_done(struct rtmp_callbacks *c, struct mg_connection *conn,
                                const struct rtmp_call *call)
{
	char id[RTMP_ID_LEN + 1], detail[RTMP_ADDR_MAX + 32];
	enum rtmp_key_verdict v = rtmp_keys_done(c->keys, call->hash, call->client, id);

	if (v != RTMP_KEY_OK)
		return rtmp_key_refusal(c, conn, call, v);
	c->api->log(c->host, BC_LOG_INFO, "stream %s: publisher %s left", id, call->addr);
	snprintf(detail, sizeof(detail), "rtmp publisher %s left", call->addr);
	c->api->media_report(c->host, id, BC_MEDIA_FACT_GONE, detail);
	return rtmp_accept(conn, NULL);
}

/* ---- routing --------------------------------------------------------------------------- */

static int rtmp_callbacks_handle(struct mg_connection *conn, void *cbdata)
{
	struct rtmp_callbacks *c = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *path = ri->local_uri_raw, *type, *want_call;
	/* CivetWeb calls us once the headers are in (bounded by its own
	 * request_timeout_ms); the body's deadline counts from here. */
	int64_t deadline_ms = c->api->monotonic_ms() + c->request_timeout_ms;
	struct rtmp_call call;
	char body[RTMP_BODY_MAX];
	int status, len;

	status = http_guard_listener_screen(&c->guard, conn);
	if (status != 0)
		return status;
	if (!rtmp_allow_match(c->allow, ri->remote_addr))
		return rtmp_refuse(c, conn, 403, "rtmp.forbidden_address",
		                   "this address may not call back: add it to the provider's allow");
	if (mg_get_header(conn, "Origin") != NULL)
		return rtmp_refuse(c, conn, 403, "rtmp.browser_request",
		                   "callbacks come from nginx-rtmp, never from a web page");
	if (!rtmp_host_is_address(mg_get_header(conn, "Host")))
		return rtmp_refuse(c, conn, 400, "rtmp.bad_host",
		                   "the Host must be an IP address or localhost: use one in "
		                   "nginx.conf's on_publish URLs");

	memset(&call, 0, sizeof(call));
	if (path != NULL && strcmp(path, RTMP_CALLBACK_PREFIX "on_publish") == 0) {
		call.route = "on_publish";
		want_call = "publish";
	} else if (path != NULL && strcmp(path, RTMP_CALLBACK_PREFIX "on_update") == 0) {
		call.route = "on_update";
		want_call = "update_publish";
	} else if (path != NULL && strcmp(path, RTMP_CALLBACK_PREFIX "on_publish_done") == 0) {
		call.route = "on_publish_done";
		want_call = "publish_done";
	} else {
		return rtmp_refuse(c, conn, 404, "rtmp.not_found",
		                   "callbacks are POST /rtmp/on_publish, /rtmp/on_update and "
		                   "/rtmp/on_publish_done");
	}
	if (strcmp(ri->request_method, "POST") != 0) {
		c->api->counter_add(c->host, "rtmp_callbacks_refused_total",
		                    "code=\"rtmp.bad_method\"", 1);
		return http_guard_refuse(conn, 405, "rtmp.bad_method", "callbacks are POST",
		                         "Allow: POST");
	}
	type = mg_get_header(conn, "Content-Type");
	if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
		return rtmp_refuse(c, conn, 415, "rtmp.bad_content_type",
		                   "send application/x-www-form-urlencoded (notify_method post)");
	if (ri->content_length < 0)
		return rtmp_refuse(c, conn, 411, "rtmp.length_required", "send Content-Length");
	if (ri->content_length > RTMP_BODY_MAX)
		return rtmp_refuse(c, conn, 413, "rtmp.too_large",
		                   "the form is larger than any nginx-rtmp sends");
	len = rtmp_read_body(c, conn, body, (size_t)ri->content_length, deadline_ms);
	if (len == -408)
		return rtmp_refuse(c, conn, 408, "rtmp.timeout",
		                   "the body did not arrive within request_timeout");
	if (len < 0)
		return rtmp_refuse(c, conn, 400, "rtmp.incomplete", "the request body ended early");

	status = rtmp_parse_call(c, conn, body, (size_t)len, want_call, &call);
	if (status == 0 && strcmp(call.route, "on_publish") == 0)
		status = rtmp_on_publish(c, conn, &call);
	else if (status == 0 && strcmp(call.route, "on_update") == 0)
		status = rtmp_on_update(c, conn, &call);
	else if (status == 0)
		status = rtmp_on_publish_done(c, conn, &call);
	explicit_bzero(&call, sizeof(call));
	explicit_bzero(body, sizeof(body));
	return status;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

enum bc_status rtmp_callbacks_start(struct rtmp_callbacks **out, const struct bc_host_api *api,
                                    struct bc_host *host, struct rtmp_keys *keys,
                                    const struct rtmp_allow *allow,
                                    const struct rtmp_callbacks_cfg *cfg,
                                    struct bc_error *err)
{
	struct rtmp_callbacks *c = NULL;
	char etext[256] = "";
	/* nginx-rtmp sends one request per connection (HTTP/1.0, Connection: Close) */
	static const char *const extra[] = { "enable_keep_alive", "no", NULL };
	enum bc_status st = BC_OK;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
	c->api = api;
	c->host = host;
	c->keys = keys;
	c->allow = allow;
	c->request_timeout_ms = cfg->request_timeout_ms;
	c->app = strdup(cfg->app);
	if (c->app == NULL) {
		st = api->fail(err, BC_E_NOMEM, "rtmp.nomem", "out of memory");
		goto out;
	}
	if (http_guard_listener_init(&c->guard, api, host, "rtmp", cfg->threads, 0) != 0) {
		st = api->fail(err, BC_E_INTERNAL, "rtmp.thread_failed",
		               "cannot start the callback listener's request deadline thread");
		goto out;
	}
	if (http_guard_listener_start(&c->guard, cfg->listen, cfg->threads, cfg->request_timeout_ms,
	                              extra, rtmp_callbacks_handle, c, etext, sizeof(etext)) != 0) {
		st = api->fail(err, BC_E_UNAVAILABLE, "rtmp.listen_failed",
		               "cannot listen on %s: %s; set `callback_listen` to a free HOST:PORT",
		               cfg->listen, etext[0] ? etext : "unknown CivetWeb error");
		goto out;
	}
	*out = c;
	c = NULL;
out:
	rtmp_callbacks_stop(c);
	return st;
}

void rtmp_callbacks_stop(struct rtmp_callbacks *c)
{
	if (c == NULL)
		return;
	http_guard_listener_stop(&c->guard);
	free(c->app);
	free(c);
}
