/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_http.c: the webrtc provider's listener (routes in webrtc_http.h).
 * The only file of the plugin that includes civetweb.h.
 *
 * A request is judged in an order that calls Janus last: the guard
 * (framing, per-address bound), the Host, the path (only our charset, no
 * escapes, like the local origin's), the route and method, the bearer
 * token, the Content-Type, the declared length (413 before reading), then
 * the body under the request deadline (408), its UTF-8 and its SDP shape
 * (400 with the reason). Only then is Janus asked, with the client's
 * address kept for logs. The answers follow RFC 9725: 201 with the SDP
 * answer, Location of the session resource, an ETag naming the ICE
 * session, and the ICE servers as Link headers; a PATCH with a stale
 * If-Match gets 412.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "http_guard.h"
#include "webrtc_http.h"
#include "webrtc_sdp.h"

#define WH_PATH_MAX 128
#define WH_HOSTS_MAX 4

struct webrtc_http {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct webrtc_streams *streams;
	struct http_guard_listener guard; /* CivetWeb, the body deadline, the per-address bound */
	int64_t request_timeout_ms;
	uint64_t max_sdp_bytes;
	char *hosts[WH_HOSTS_MAX]; /* Host values we answer to, lowercase */
	char **ice;                /* NULL-terminated copies */
	char **cors;               /* NULL-terminated copies */
	int cors_any;
};

/* ---- responses ------------------------------------------------------------------ */

static void wh_add_common(struct webrtc_http *h, struct mg_connection *conn)
{
	mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	http_guard_add_cors(conn, h->cors_any, h->cors);
	mg_response_header_add(conn, "Access-Control-Expose-Headers",
	                       "Location, ETag, Link, Accept-Patch", -1);
}

/* A complete response; `extra` is up to 4 name/value pairs, NULL-ended. */
static int wh_reply(struct webrtc_http *h, struct mg_connection *conn, int status,
                    const char *content_type, const char *body, size_t len,
                    const char *const *extra)
{
	char clen[32];
	size_t i;

	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_start(conn, status);
	if (content_type != NULL)
		mg_response_header_add(conn, "Content-Type", content_type, -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	for (i = 0; extra != NULL && extra[i] != NULL; i += 2)
		mg_response_header_add(conn, extra[i], extra[i + 1], -1);
	wh_add_common(h, conn);
	mg_response_header_send(conn);
	if (len > 0 && strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0)
		mg_write(conn, body, len);
	return status;
}

/* The JSON error body; the message is ours or Janus's reason, escaped. */
static int wh_error(struct webrtc_http *h, struct mg_connection *conn, int status,
                    const char *code, const char *message)
{
	char body[768], labels[96];
	size_t o = 0, i;
	int n;
	const char *auth[] = { "WWW-Authenticate", "Bearer realm=\"broadcast-webrtc\"", NULL };
	const char *retry[] = { "Retry-After", "2", NULL };

	n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"", code);
	o = n > 0 ? (size_t)n : 0;
	for (i = 0; message[i] != '\0' && o + 8 < sizeof(body); i++) {
		unsigned char c = (unsigned char)message[i];
		if (c == '"' || c == '\\') {
			body[o++] = '\\';
			body[o++] = (char)c;
		} else if (c < 0x20) {
			body[o++] = ' ';
		} else {
			body[o++] = (char)c;
		}
	}
	memcpy(body + o, "\"}}", 4);
	o += 3;
	snprintf(labels, sizeof(labels), "code=\"%s\"", code);
	h->api->counter_add(h->host, "webrtc_rejected_total", labels, 1);
	h->api->log(h->host, BC_LOG_DEBUG, "%s %s from %s: %d %s",
	            mg_get_request_info(conn)->request_method,
	            mg_get_request_info(conn)->local_uri_raw ? mg_get_request_info(conn)->local_uri_raw
	                                                     : "?",
	            mg_get_request_info(conn)->remote_addr, status, code);
	return wh_reply(h, conn, status, "application/json", body, o,
	                status == 401 ? auth : status == 503 ? retry : NULL);
}

/* Like the host's bc_status_http() (framework/error.c), which a plugin
 * cannot call: the statuses webrtc_streams.c and webrtc_janus.c return. */
static int wh_http_status(enum bc_status st)
{
	switch (st) {
	case BC_E_INVALID: return 400;
	case BC_E_UNAUTHENTICATED: return 401;
	case BC_E_FORBIDDEN: return 403;
	case BC_E_NOT_FOUND: return 404;
	case BC_E_CONFLICT: return 409;
	case BC_E_TOO_LARGE: return 413;
	case BC_E_UNAVAILABLE: return 503;
	case BC_E_TIMEOUT: return 504;
	case BC_E_UPSTREAM: return 502;
	default: return 500;
	}
}

static int wh_fail(struct webrtc_http *h, struct mg_connection *conn, const struct webrtc_err *e)
{
	if (e->code == NULL)
		return wh_error(h, conn, 500, "webrtc.internal", "an unexpected failure");
	return wh_error(h, conn, wh_http_status(e->status), e->code, e->message);
}

/* The ICE servers as RFC 8288 Link headers (RFC 9725 §4.6), in one line. */
static void wh_link(struct webrtc_http *h, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; h->ice[i] != NULL && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s<%s>; rel=\"ice-server\"", i > 0 ? ", " : "",
		                 h->ice[i]);
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
}

/* ---- requests ---------------------------------------------------------------------- */

/* 1 when the request's Content-Type is `want` (parameters ignored). */
static int wh_content_type_is(struct mg_connection *conn, const char *want)
{
	const char *ct = mg_get_header(conn, "Content-Type");
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Read the whole body, bounded by max_sdp_bytes and the deadline, into a
 * NUL-terminated buffer. Returns it, or NULL after answering (411, 413,
 * 408, 400). (Not shared with rtmp_read_body() or local_upload(): each
 * bounds its body its own way, here chunked bodies with an over-size probe;
 * the deadline itself is http_guard.h's.) */
static char *wh_read_body(struct webrtc_http *h, struct mg_connection *conn,
                          int64_t deadline_ms, int *status)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *te = mg_get_header(conn, "Transfer-Encoding");
	struct http_guard_deadline deadline;
	char *buf = NULL;
	size_t len = 0;
	int timed_out = 0;

	*status = 0;
	if (ri->content_length < 0 && (te == NULL || strcasecmp(te, "chunked") != 0)) {
		mg_disable_connection_keep_alive(conn);
		*status = wh_error(h, conn, 411, "webrtc.length_required",
		                   "send Content-Length or Transfer-Encoding: chunked");
		return NULL;
	}
	if (ri->content_length > 0 && (uint64_t)ri->content_length > h->max_sdp_bytes) {
		http_guard_close(conn);
		*status = wh_error(h, conn, 413, "webrtc.too_large", "the body is over max_sdp_bytes");
		return NULL;
	}
	buf = malloc((size_t)h->max_sdp_bytes + 1);
	if (buf == NULL) {
		*status = wh_error(h, conn, 503, "webrtc.nomem", "out of memory");
		return NULL;
	}
	if (http_guard_deadline_arm(h->guard.watchdog, conn, deadline_ms - h->api->monotonic_ms(),
	                            &deadline) < 0)
		memset(&deadline, 0, sizeof(deadline));
	for (;;) {
		int r;

		if (h->api->monotonic_ms() >= deadline_ms) {
			timed_out = 1;
			break;
		}
		if (len >= h->max_sdp_bytes) {
			char extra;
			r = mg_read(conn, &extra, 1);
			if (r > 0) {
				http_guard_deadline_disarm(h->guard.watchdog, &deadline);
				http_guard_close(conn);
				free(buf);
				*status = wh_error(h, conn, 413, "webrtc.too_large",
				                   "the body is over max_sdp_bytes");
				return NULL;
			}
			break;
		}
		r = mg_read(conn, buf + len, (size_t)h->max_sdp_bytes - len);
		if (h->api->monotonic_ms() >= deadline_ms) {
			timed_out = 1;
			break;
		}
		if (r == 0)
			break;
		if (r < 0) {
			http_guard_deadline_disarm(h->guard.watchdog, &deadline);
			free(buf);
			*status = wh_error(h, conn, 400, "webrtc.incomplete", "the request body ended early");
			return NULL;
		}
		len += (size_t)r;
	}
	if (http_guard_deadline_disarm(h->guard.watchdog, &deadline))
		timed_out = 1;
	if (timed_out) {
		free(buf);
		mg_disable_connection_keep_alive(conn);
		*status = wh_error(h, conn, 408, "webrtc.request_timeout",
		                   "the request took longer than request_timeout");
		return NULL;
	}
	if (ri->content_length >= 0 && len != (size_t)ri->content_length) {
		free(buf);
		*status = wh_error(h, conn, 400, "webrtc.incomplete", "the request body ended early");
		return NULL;
	}
	buf[len] = '\0';
	if (!webrtc_utf8_is_valid(buf, len)) {
		free(buf);
		*status = wh_error(h, conn, 400, "webrtc.bad_encoding",
		                   "the body must be UTF-8 text without NUL bytes");
		return NULL;
	}
	return buf;
}

/* ---- routes ---------------------------------------------------------------------------- */

static int wh_options(struct webrtc_http *h, struct mg_connection *conn, int is_post_target)
{
	char link[2048];
	const char *extra[] = {
		"Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS",
		"Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match",
		"Access-Control-Max-Age", "600",
		is_post_target ? "Accept-Post" : "Accept-Patch",
		is_post_target ? "application/sdp" : "application/trickle-ice-sdpfrag",
		NULL, NULL, NULL
	};

	wh_link(h, link, sizeof(link));
	if (link[0] != '\0') {
		extra[8] = "Link";
		extra[9] = link;
	}
	return wh_reply(h, conn, 204, NULL, NULL, 0, extra);
}

static int wh_whip_post(struct webrtc_http *h, struct mg_connection *conn, const char *id,
                        int64_t deadline_ms)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct webrtc_err e;
	char tokbuf[256], resource[WEBRTC_RESOURCE_LEN + 1], location[WH_PATH_MAX],
		etag[WEBRTC_RESOURCE_LEN + 3], link[2048];
	const char *token = http_guard_bearer(conn, tokbuf, sizeof(tokbuf));
	const char *why;
	char *offer = NULL, *answer = NULL;
	const char *extra[] = { "Location", location, "ETag", etag, NULL, NULL, NULL };
	int status;

	memset(&e, 0, sizeof(e));
	if (webrtc_streams_authorize(h->streams, id, token, &e) != BC_OK) {
		explicit_bzero(tokbuf, sizeof(tokbuf));
		return wh_fail(h, conn, &e);
	}
	explicit_bzero(tokbuf, sizeof(tokbuf));
	if (!wh_content_type_is(conn, "application/sdp"))
		return wh_error(h, conn, 415, "webrtc.bad_content_type",
		                "send the SDP offer as Content-Type: application/sdp");
	offer = wh_read_body(h, conn, deadline_ms, &status);
	if (offer == NULL)
		return status;
	why = webrtc_sdp_check(offer);
	if (why != NULL) {
		free(offer);
		return wh_error(h, conn, 400, "webrtc.bad_sdp", why);
	}
	if (webrtc_streams_publish(h->streams, id, offer, ri->remote_addr, &answer, resource, &e) !=
	    BC_OK) {
		free(offer);
		return wh_fail(h, conn, &e);
	}
	free(offer);
	snprintf(location, sizeof(location), "/whip/%s/%s", id, resource);
	snprintf(etag, sizeof(etag), "\"%s\"", resource);
	wh_link(h, link, sizeof(link));
	if (link[0] != '\0') {
		extra[4] = "Link";
		extra[5] = link;
	}
	status = wh_reply(h, conn, 201, "application/sdp", answer, strlen(answer), extra);
	free(answer);
	return status;
}

static int wh_whep_post(struct webrtc_http *h, struct mg_connection *conn, const char *id)
{
	struct webrtc_err e;
	char resource[WEBRTC_RESOURCE_LEN + 1], location[WH_PATH_MAX];
	char *offer = NULL;
	const char *extra[] = { "Location", location, NULL };
	int status;

	memset(&e, 0, sizeof(e));
	/* The viewer sends no offer: Janus's VideoRoom makes it. Any body is
	 * ignored, and not read: the connection closes after the answer. */
	if (mg_get_request_info(conn)->content_length != 0)
		http_guard_close(conn);
	if (webrtc_streams_watch(h->streams, id, &offer, resource, &e) != BC_OK)
		return wh_fail(h, conn, &e);
	snprintf(location, sizeof(location), "/whep/%s/%s", id, resource);
	status = wh_reply(h, conn, 201, "application/sdp", offer, strlen(offer), extra);
	free(offer);
	return status;
}

/* PATCH and DELETE on /whip|whep/{id}/{resource}. */
static int wh_session(struct webrtc_http *h, struct mg_connection *conn, const char *id,
                      int is_viewer, const char *resource, int64_t deadline_ms)
{
	const char *m = mg_get_request_info(conn)->request_method;
	struct webrtc_err e;
	char tokbuf[256];
	char *body;
	int status;

	memset(&e, 0, sizeof(e));
	if (!is_viewer) {
		const char *token = http_guard_bearer(conn, tokbuf, sizeof(tokbuf));
		enum bc_status st = webrtc_streams_authorize(h->streams, id, token, &e);
		explicit_bzero(tokbuf, sizeof(tokbuf));
		if (st != BC_OK)
			return wh_fail(h, conn, &e);
	}
	if (strcmp(m, "DELETE") == 0) {
		if (webrtc_streams_end(h->streams, id, is_viewer, resource, &e) != BC_OK)
			return wh_fail(h, conn, &e);
		return wh_reply(h, conn, 200, NULL, NULL, 0, NULL);
	}
	if (strcmp(m, "PATCH") != 0) {
		const char *allow[] = { "Allow", "PATCH, DELETE, OPTIONS", NULL };
		return wh_reply(h, conn, 405, NULL, NULL, 0, allow);
	}
	if (!is_viewer) {
		const char *im = mg_get_header(conn, "If-Match");
		char etag[WEBRTC_RESOURCE_LEN + 3];
		snprintf(etag, sizeof(etag), "\"%s\"", resource);
		if (im != NULL && strcmp(im, "*") != 0 && strcmp(im, etag) != 0)
			return wh_error(h, conn, 412, "webrtc.etag_mismatch",
			                "If-Match does not name this session's ICE session");
	}
	if (is_viewer && wh_content_type_is(conn, "application/sdp")) {
		const char *why;
		body = wh_read_body(h, conn, deadline_ms, &status);
		if (body == NULL)
			return status;
		why = webrtc_sdp_check(body);
		if (why != NULL) {
			free(body);
			return wh_error(h, conn, 400, "webrtc.bad_sdp", why);
		}
		status = webrtc_streams_watch_answer(h->streams, id, resource, body, &e) == BC_OK
		                 ? wh_reply(h, conn, 204, NULL, NULL, 0, NULL)
		                 : wh_fail(h, conn, &e);
		free(body);
		return status;
	}
	if (!wh_content_type_is(conn, "application/trickle-ice-sdpfrag"))
		return wh_error(h, conn, 415, "webrtc.bad_content_type",
		                is_viewer ? "send the SDP answer as application/sdp, or candidates as "
		                            "application/trickle-ice-sdpfrag"
		                          : "send candidates as application/trickle-ice-sdpfrag");
	body = wh_read_body(h, conn, deadline_ms, &status);
	if (body == NULL)
		return status;
	status = webrtc_streams_trickle(h->streams, id, is_viewer, resource, body, &e) == BC_OK
	                 ? wh_reply(h, conn, 204, NULL, NULL, 0, NULL)
	                 : wh_fail(h, conn, &e);
	free(body);
	return status;
}

/* The viewer page: WHEP-style against our /whep/ route (Janus makes the
 * offer, the page answers). It exposes its RTCPeerConnection as
 * window.bcPeer for tests. The id is a checked UUID and the ICE servers
 * were checked at create(): neither can break out of the JS string. */
static int wh_watch_page(struct webrtc_http *h, struct mg_connection *conn, const char *id)
{
	static const char head[] =
		"<!doctype html>\n"
		"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
		"<title>Stream %s</title>\n"
		"<style>body{margin:0;background:#111;color:#ddd;font:14px sans-serif}"
		"video{display:block;width:100%%;max-height:85vh;background:#000}"
		"p{margin:.6em 1em}</style>\n"
		"</head><body>\n"
		"<video id=\"video\" autoplay muted playsinline controls></video>\n"
		"<p id=\"status\">Connecting&hellip;</p>\n"
		"<script>\n"
		"(function () {\n"
		"  var whep = '/whep/%s';\n"
		"  var ice = [%s];\n";
	static const char body[] =
		"  var video = document.getElementById('video');\n"
		"  var status = document.getElementById('status');\n"
		"  var retry = null;\n"
		"  function say(t) { status.textContent = t; }\n"
		"  function later(t) { say(t); clearTimeout(retry); retry = setTimeout(watch, 2000); }\n"
		"  function gathered(pc) {\n"
		"    return new Promise(function (ok) {\n"
		"      if (pc.iceGatheringState === 'complete') return ok();\n"
		"      pc.addEventListener('icegatheringstatechange', function () {\n"
		"        if (pc.iceGatheringState === 'complete') ok(); });\n"
		"      setTimeout(ok, 3000);\n"
		"    });\n"
		"  }\n"
		"  async function watch() {\n"
		"    if (window.bcPeer) { try { window.bcPeer.close(); } catch (e) {} }\n"
		"    var pc = new RTCPeerConnection({iceServers: ice.map(function (u) {"
		" return {urls: u}; })});\n"
		"    window.bcPeer = pc;\n"
		"    pc.ontrack = function (ev) {\n"
		"      if (ev.streams[0] && video.srcObject !== ev.streams[0]) video.srcObject = ev.streams[0];\n"
		"    };\n"
		"    pc.onconnectionstatechange = function () {\n"
		"      if (pc.connectionState === 'connected') say('Playing');\n"
		"      if (pc.connectionState === 'failed' || pc.connectionState === 'closed')\n"
		"        later('Disconnected; retrying');\n"
		"    };\n"
		"    try {\n"
		"      var r = await fetch(whep, {method: 'POST'});\n"
		"      if (r.status === 404) { say('This stream has ended.'); return; }\n"
		"      if (r.status !== 201) { later('Waiting for the broadcaster'); return; }\n"
		"      var loc = r.headers.get('Location');\n"
		"      await pc.setRemoteDescription({type: 'offer', sdp: await r.text()});\n"
		"      await pc.setLocalDescription(await pc.createAnswer());\n"
		"      await gathered(pc);\n"
		"      var a = await fetch(loc, {method: 'PATCH', headers: {'Content-Type':"
		" 'application/sdp'}, body: pc.localDescription.sdp});\n"
		"      if (a.status !== 204) { later('The server refused the answer'); return; }\n"
		"      say('Connecting');\n"
		"      window.addEventListener('pagehide', function () {\n"
		"        fetch(loc, {method: 'DELETE', keepalive: true}); });\n"
		"    } catch (e) { later('Network error; retrying'); }\n"
		"  }\n"
		"  watch();\n"
		"})();\n"
		"</script>\n"
		"</body></html>\n";
	char ice[2048], *page = NULL;
	size_t i, o = 0, need;
	int n, status;
	const char *csp[] = { "Content-Security-Policy",
		                  "default-src 'none'; script-src 'unsafe-inline'; "
		                  "style-src 'unsafe-inline'; media-src blob: mediastream:; "
		                  "connect-src 'self'",
		                  NULL };

	ice[0] = '\0';
	for (i = 0; h->ice[i] != NULL; i++) {
		n = snprintf(ice + o, sizeof(ice) - o, "%s'%s'", i > 0 ? "," : "", h->ice[i]);
		if (n < 0 || (size_t)n >= sizeof(ice) - o) {
			ice[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	need = sizeof(head) + sizeof(body) + 2 * WEBRTC_ID_LEN + strlen(ice) + 16;
	page = malloc(need);
	if (page == NULL)
		return wh_error(h, conn, 503, "webrtc.nomem", "out of memory");
	n = snprintf(page, need, head, id, id, ice);
	if (n < 0 || (size_t)n + sizeof(body) > need) {
		free(page);
		return wh_error(h, conn, 500, "webrtc.internal", "the page does not fit");
	}
	memcpy(page + n, body, sizeof(body));
	status = wh_reply(h, conn, 200, "text/html; charset=utf-8", page, (size_t)n + sizeof(body) - 1,
	                  csp);
	free(page);
	return status;
}

/* The length of the host name in a Host value or an authority, without
 * its port: "[::1]:8089" -> "[::1]", "a.example:80" -> "a.example". */
static size_t wh_host_len(const char *v)
{
	const char *end;

	if (v[0] == '[') {
		end = strchr(v, ']');
		return end != NULL ? (size_t)(end - v) + 1 : strlen(v);
	}
	end = strchr(v, ':');
	return end != NULL ? (size_t)(end - v) : strlen(v);
}

/* Host must name us (a DNS-rebinding page would send its own name). The
 * port is not compared: a proxy may publish us on another one. */
static int wh_host_is_ours(struct webrtc_http *h, struct mg_connection *conn)
{
	const char *v = mg_get_header(conn, "Host");
	size_t i, n;

	if (v == NULL)
		return mg_get_request_info(conn)->http_version != NULL &&
		       strcmp(mg_get_request_info(conn)->http_version, "1.0") == 0;
	n = wh_host_len(v);
	for (i = 0; i < WH_HOSTS_MAX && h->hosts[i] != NULL; i++)
		if (strlen(h->hosts[i]) == n && strncasecmp(v, h->hosts[i], n) == 0)
			return 1;
	return 0;
}

static int wh_path_is_plain(const char *p)
{
	size_t i;

	if (p[0] != '/' || strstr(p, "//") != NULL || strlen(p) > WH_PATH_MAX)
		return 0;
	for (i = 0; p[i] != '\0'; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '/'))
			return 0;
	}
	return 1;
}

static int wh_handle(struct mg_connection *conn, void *cbdata)
{
	struct webrtc_http *h = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *raw = ri->local_uri_raw, *m = ri->request_method;
	int64_t deadline_ms = h->api->monotonic_ms() + h->request_timeout_ms;
	char id[WEBRTC_ID_LEN + 1], resource[WEBRTC_RESOURCE_LEN + 1];
	const char *rest;
	int status, is_viewer;

	status = http_guard_listener_screen(&h->guard, conn);
	if (status != 0)
		return status;
	if (!wh_host_is_ours(h, conn)) {
		http_guard_close(conn);
		return wh_error(h, conn, 421, "webrtc.bad_host",
		                "this listener answers only to its own host name (public_url)");
	}
	if (raw == NULL || !wh_path_is_plain(raw))
		return wh_error(h, conn, 404, "webrtc.not_found", "no such path");
	if (strcmp(raw, "/") == 0) {
		static const char hello[] = "broadcast webrtc provider: WHIP at /whip/{stream_id}\n";
		return wh_reply(h, conn, 200, "text/plain; charset=utf-8", hello, sizeof(hello) - 1,
		                NULL);
	}
	if (strncmp(raw, "/watch/", 7) == 0) {
		if (!webrtc_id_is_valid(raw + 7))
			return wh_error(h, conn, 404, "webrtc.not_found", "no such stream");
		if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
			const char *allow[] = { "Allow", "GET, HEAD", NULL };
			return wh_reply(h, conn, 405, NULL, NULL, 0, allow);
		}
		return wh_watch_page(h, conn, raw + 7);
	}
	if (strncmp(raw, "/whip/", 6) == 0)
		is_viewer = 0;
	else if (strncmp(raw, "/whep/", 6) == 0)
		is_viewer = 1;
	else
		return wh_error(h, conn, 404, "webrtc.not_found", "no such path");
	rest = raw + 6;
	if (strlen(rest) < WEBRTC_ID_LEN)
		return wh_error(h, conn, 404, "webrtc.not_found", "no such stream");
	memcpy(id, rest, WEBRTC_ID_LEN);
	id[WEBRTC_ID_LEN] = '\0';
	rest += WEBRTC_ID_LEN;
	if (!webrtc_id_is_valid(id) || (rest[0] != '\0' && rest[0] != '/'))
		return wh_error(h, conn, 404, "webrtc.not_found", "no such stream");
	if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(m, "OPTIONS") == 0)
			return wh_options(h, conn, 1);
		if (strcmp(m, "POST") != 0) {
			const char *allow[] = { "Allow", "POST, OPTIONS", NULL };
			return wh_reply(h, conn, 405, NULL, NULL, 0, allow);
		}
		return is_viewer ? wh_whep_post(h, conn, id) : wh_whip_post(h, conn, id, deadline_ms);
	}
	if (!webrtc_resource_is_valid(rest + 1))
		return wh_error(h, conn, 404, "webrtc.no_session", "no such session");
	memcpy(resource, rest + 1, sizeof(resource));
	if (strcmp(m, "OPTIONS") == 0)
		return wh_options(h, conn, 0);
	return wh_session(h, conn, id, is_viewer, resource, deadline_ms);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static char **wh_copy_list(const char *const *in)
{
	size_t i, n = 0;
	char **out;

	while (in != NULL && in[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((out[i] = strdup(in[i])) == NULL) {
			while (i > 0)
				free(out[--i]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void wh_free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/* The authority (host[:port]) of an http(s) URL, lowercase. */
static char *wh_authority(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n, i;
	char *a;

	if (p == NULL)
		return NULL;
	p += 3;
	n = strcspn(p, "/?#");
	a = strndup(p, n);
	if (a != NULL)
		a[wh_host_len(a)] = '\0';
	for (i = 0; a != NULL && a[i] != '\0'; i++)
		if (a[i] >= 'A' && a[i] <= 'Z')
			a[i] = (char)(a[i] - 'A' + 'a');
	return a;
}

enum bc_status webrtc_http_start(struct webrtc_http **out, const struct bc_host_api *api,
                                 struct bc_host *host, struct webrtc_streams *streams,
                                 const struct webrtc_http_cfg *cfg, struct webrtc_err *e)
{
	struct webrtc_http *h = NULL;
	char etext[256] = "", listen_url[300];
	/* CivetWeb answers CORS preflights itself (200, any method) unless
	 * these are empty; wh_options() answers them with what we accept. */
	static const char *const extra[] = {
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "500",
		"access_control_allow_origin", "",
		"access_control_allow_methods", "",
		NULL
	};
	const char *colon;
	size_t i, k = 0;
	enum bc_status st = BC_OK;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return wj_err(api, e, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	h->api = api;
	h->host = host;
	h->streams = streams;
	h->request_timeout_ms = cfg->request_timeout_ms;
	h->max_sdp_bytes = cfg->max_sdp_bytes;
	h->ice = wh_copy_list(cfg->ice_servers);
	h->cors = calloc(1, sizeof(char *));
	if (h->ice == NULL || h->cors == NULL)
		goto nomem;
	for (i = 0; cfg->cors_origins != NULL && cfg->cors_origins[i] != NULL; i++)
		if (strcmp(cfg->cors_origins[i], "*") == 0)
			h->cors_any = 1;
	if (!h->cors_any) {
		wh_free_list(h->cors);
		h->cors = wh_copy_list(cfg->cors_origins);
		if (h->cors == NULL)
			goto nomem;
	}
	/* Our names: public_url's host, the listen address, and for a
	 * loopback listener "localhost". */
	h->hosts[k++] = wh_authority(cfg->public_url);
	snprintf(listen_url, sizeof(listen_url), "http://%s", cfg->listen);
	h->hosts[k++] = wh_authority(listen_url);
	colon = strrchr(cfg->listen, ':');
	if (colon != NULL && strncmp(cfg->listen, "127.", 4) == 0) {
		snprintf(listen_url, sizeof(listen_url), "http://localhost%s", colon);
		h->hosts[k++] = wh_authority(listen_url);
	}
	for (i = 0; i < k; i++)
		if (h->hosts[i] == NULL)
			goto nomem;

	if (http_guard_listener_init(&h->guard, api, host, "webrtc", cfg->threads,
	                             cfg->max_connections_per_address) != 0) {
		st = wj_err(api, e, BC_E_INTERNAL, "webrtc.thread_failed",
		            "cannot start the listener's request deadline thread");
		goto out;
	}
	if (http_guard_listener_start(&h->guard, cfg->listen, cfg->threads, cfg->request_timeout_ms,
	                              extra, wh_handle, h, etext, sizeof(etext)) != 0) {
		st = wj_err(api, e, BC_E_UNAVAILABLE, "webrtc.listen_failed",
		            "cannot listen on %s: %s; set `listen` to a free HOST:PORT", cfg->listen,
		            etext[0] ? etext : "unknown CivetWeb error");
		goto out;
	}
	*out = h;
	h = NULL;
	goto out;
nomem:
	st = wj_err(api, e, BC_E_NOMEM, "webrtc.nomem", "out of memory");
out:
	webrtc_http_stop(h);
	return st;
}

void webrtc_http_stop(struct webrtc_http *h)
{
	size_t i;

	if (h == NULL)
		return;
	http_guard_listener_stop(&h->guard);
	for (i = 0; i < WH_HOSTS_MAX; i++)
		free(h->hosts[i]);
	wh_free_list(h->ice);
	wh_free_list(h->cors);
	free(h);
}
