/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_origin.c: the local origin's HTTP listener (see local_origin.h for
 * the routes). The only file of the plugin that includes civetweb.h.
 *
 * Every request goes through local_origin_handle(): it judges the raw
 * path, before any decoding (CivetWeb runs with decode_url=no), with
 * local_path_is_plain(): only the origin's own charset, no percent-encoding
 * at all, no "//", no dot segment; then routes. Uploads are checked in an
 * order that writes nothing for a bad request: name and extension, then the
 * bearer token against the stream's hash (in constant time,
 * local_streams_authorize()), then the framing (Content-Length or chunked,
 * else 411) and the declared length; only then is the body streamed into a
 * temporary file, bounded by max_segment_bytes whatever the client declared
 * (chunked bodies have no length) and by request_timeout (http_guard.h),
 * fsync()ed, and published by local_streams_commit().
 * Every response carries X-Content-Type-Options: nosniff. Errors are JSON
 * {"error": {"code", "message"}} like the API's, and never name a server path.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>

#include "local_origin.h"
#include "http_guard.h"

#define LOCAL_PLAYER_PREFIX "/player/"
#define LOCAL_IO_BUF 65536

struct local_origin {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct local_streams *streams;
	struct http_guard_listener guard; /* CivetWeb, the body deadline, the per-address bound */
	uint64_t max_segment_bytes;
	int64_t request_timeout_ms; /* one deadline for a request's headers and body */
	char *playlist;
	char **cors;        /* NULL-terminated copies */
	int cors_any;
};

/* ---- small helpers ------------------------------------------------------------- */

static const char *local_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".m3u8") == 0)
		return "application/vnd.apple.mpegurl";
	if (strcmp(dot, ".ts") == 0)
		return "video/mp2t";
	if (strcmp(dot, ".m4s") == 0)
		return "video/iso.segment";
	if (strcmp(dot, ".mp4") == 0)
		return "video/mp4";
	if (strcmp(dot, ".aac") == 0)
		return "audio/aac";
	if (strcmp(dot, ".vtt") == 0)
		return "text/vtt; charset=utf-8";
	return "application/octet-stream";
}

/* Add the headers every response carries: nosniff (a player or browser
 * must never guess an uploaded file's type) and the CORS headers a player
 * on another origin needs. */
static void local_add_common(struct local_origin *o, struct mg_connection *conn)
{
	mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
	http_guard_add_cors(conn, o->cors_any, o->cors);
	mg_response_header_add(conn, "Access-Control-Expose-Headers", "Content-Length", -1);
}

/* A complete response with a small body. Returns status for CivetWeb. */
static int local_reply(struct local_origin *o, struct mg_connection *conn, int status,
                       const char *content_type, const char *body, size_t len,
                       const char *extra_name, const char *extra_value)
{
	char clen[32];

	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_start(conn, status);
	if (content_type != NULL)
		mg_response_header_add(conn, "Content-Type", content_type, -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	if (extra_name != NULL)
		mg_response_header_add(conn, extra_name, extra_value, -1);
	local_add_common(o, conn);
	mg_response_header_send(conn);
	if (len > 0 && strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0)
		mg_write(conn, body, len);
	return status;
}

/* An error in the API's shape. code and message are our own constant text
 * (no request data), so they need no JSON escaping. */
static int local_error(struct local_origin *o, struct mg_connection *conn, int status,
                       const char *code, const char *message)
{
	char body[512];
	int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
	                 code, message);
	char labels[96];

	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	snprintf(labels, sizeof(labels), "code=\"%s\"", code);
	o->api->counter_add(o->host, "local_rejected_total", labels, 1);
	o->api->log(o->host, BC_LOG_DEBUG, "%s %s from %s: %d %s",
	            mg_get_request_info(conn)->request_method,
	            mg_get_request_info(conn)->local_uri ? mg_get_request_info(conn)->local_uri : "?",
	            mg_get_request_info(conn)->remote_addr, status, code);
	if (status == 401)
		return local_reply(o, conn, status, "application/json", body, (size_t)n,
		                   "WWW-Authenticate", "Bearer realm=\"broadcast-local\"");
	return local_reply(o, conn, status, "application/json", body, (size_t)n, NULL, NULL);
}

/* ---- playback ------------------------------------------------------------------- */

static int local_serve_file(struct local_origin *o, struct mg_connection *conn, const char *id,
                            const char *name)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int is_head = strcmp(ri->request_method, "HEAD") == 0;
	int fd = local_streams_open_file(o->streams, id, name);
	struct stat st;
	char clen[32], *buf = NULL;
	int is_playlist = strcmp(strrchr(name, '.'), ".m3u8") == 0;
	off_t left;

	if (fd < 0)
		return local_error(o, conn, 404, "local.not_found", "no such file");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return local_error(o, conn, 404, "local.not_found", "no such file");
	}
	snprintf(clen, sizeof(clen), "%lld", (long long)st.st_size);
	mg_response_header_start(conn, 200);
	mg_response_header_add(conn, "Content-Type", local_content_type(name), -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	/* A live playlist changes every segment; a segment never changes once
	 * published (broadcasters write new names). */
	mg_response_header_add(conn, "Cache-Control",
	                       is_playlist ? "no-cache" : "public, max-age=86400", -1);
	local_add_common(o, conn);
	mg_response_header_send(conn);
	if (is_head)
		goto out;
	buf = malloc(LOCAL_IO_BUF);
	if (buf == NULL)
		goto out;
	for (left = st.st_size; left > 0;) {
		ssize_t r = read(fd, buf, (size_t)(left < LOCAL_IO_BUF ? left : LOCAL_IO_BUF));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || mg_write(conn, buf, (size_t)r) <= 0)
			break;
		left -= r;
	}
out:
	free(buf);
	close(fd);
	return 200;
}

static int local_serve_page(struct local_origin *o, struct mg_connection *conn, const char *id)
{
	/* The playlist name passed local_name_is_valid() at create(), and ids are
	 * [0-9a-f-]: neither can break out of the HTML or the JS string. */
	static const char fmt[] =
		"<!doctype html>\n"
		"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
		"<title>Stream %s</title>\n"
		"<style>body{margin:0;background:#111;color:#ddd;font:14px sans-serif}"
		"video{display:block;width:100%%;max-height:85vh;background:#000}"
		"p{margin:.6em 1em}a{color:#9cf}</style>\n"
		"</head><body>\n"
		"<video id=\"video\" controls autoplay muted playsinline></video>\n"
		"<p id=\"status\">Waiting for the stream&hellip;</p>\n"
		"<p>Stream %s &middot; <a href=\"%s\">%s</a> &middot; player: "
		"<a href=\"/player/hls.js-LICENSE\">hls.js</a> (Apache-2.0)</p>\n"
		"<script src=\"/player/hls.light.min.js\"></script>\n"
		"<script>\n"
		"(function () {\n"
		"  var video = document.getElementById('video');\n"
		"  var status = document.getElementById('status');\n"
		"  var src = '%s';\n"
		"  function say(t) { status.textContent = t; }\n"
		"  video.addEventListener('playing', function () { say('Playing'); });\n"
		"  video.addEventListener('ended', function () { say('The stream has ended'); });\n"
		"  function start() {\n"
		"    var hls = new Hls();\n"
		"    hls.on(Hls.Events.MANIFEST_PARSED, function () {\n"
		"      video.play().catch(function () { say('Press play'); });\n"
		"    });\n"
		"    hls.on(Hls.Events.ERROR, function (ev, d) {\n"
		"      if (!d.fatal) return;\n"
		"      if (d.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }\n"
		"      say('Waiting for the stream (' + d.details + ')');\n"
		"      hls.destroy();\n"
		"      setTimeout(start, 2000);\n"
		"    });\n"
		"    hls.loadSource(src);\n"
		"    hls.attachMedia(video);\n"
		"  }\n"
		"  if (window.Hls && Hls.isSupported()) start();\n"
		"  else if (video.canPlayType('application/vnd.apple.mpegurl')) video.src = src;\n"
		"  else say('This browser cannot play HLS.');\n"
		"})();\n"
		"</script>\n"
		"</body></html>\n";
	char page[sizeof(fmt) + 4 * LOCAL_NAME_MAX + 2 * LOCAL_ID_LEN];
	int n;

	if (!local_streams_exists(o->streams, id))
		return local_error(o, conn, 404, "local.unknown_stream", "no such stream");
	n = snprintf(page, sizeof(page), fmt, id, id, o->playlist, o->playlist, o->playlist);
	if (n < 0 || (size_t)n >= sizeof(page))
		return local_error(o, conn, 500, "local.internal", "page too long");
	return local_reply(o, conn, 200, "text/html; charset=utf-8", page, (size_t)n, NULL, NULL);
}

static int local_serve_asset(struct local_origin *o, struct mg_connection *conn,
                             const char *name)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const unsigned char *data;
	unsigned long len;
	const char *type;
	char clen[32];

	if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0)
		return local_error(o, conn, 405, "local.bad_method", "use GET");
	if (strcmp(name, "hls.light.min.js") == 0) {
		data = local_asset_hlsjs;
		len = local_asset_hlsjs_len;
		type = "text/javascript; charset=utf-8";
	} else if (strcmp(name, "hls.js-LICENSE") == 0) {
		data = local_asset_hlsjs_license;
		len = local_asset_hlsjs_license_len;
		type = "text/plain; charset=utf-8";
	} else {
		return local_error(o, conn, 404, "local.not_found", "no such file");
	}
	snprintf(clen, sizeof(clen), "%lu", len);
	mg_response_header_start(conn, 200);
	mg_response_header_add(conn, "Content-Type", type, -1);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_add(conn, "Cache-Control", "public, max-age=86400", -1);
	local_add_common(o, conn);
	mg_response_header_send(conn);
	if (strcmp(ri->request_method, "HEAD") != 0)
		mg_write(conn, data, len);
	return 200;
}

/* ---- uploads ----------------------------------------------------------------------- */

/* Check the token; on failure answer and return the status, else 0. */
static int local_check_token(struct local_origin *o, struct mg_connection *conn, const char *id)
{
	char buf[256];
	const char *bearer = http_guard_bearer(conn, buf, sizeof(buf));
	enum local_auth a = local_streams_authorize(o->streams, id, bearer);
	int status = 0;

	switch (a) {
	case LOCAL_AUTH_OK:
		break;
	case LOCAL_AUTH_UNKNOWN:
		status = local_error(o, conn, 404, "local.unknown_stream", "no such stream");
		break;
	case LOCAL_AUTH_BAD_TOKEN:
		status = local_error(o, conn, 401, bearer ? "local.bad_token" : "local.no_token",
		                     bearer ? "the token is not this stream's upload token"
		                            : "send the stream's upload token as Authorization: Bearer");
		break;
	case LOCAL_AUTH_EXPIRED:
		status = local_error(o, conn, 401, "local.token_expired",
		                     "the upload token has expired: start a new stream");
		break;
	case LOCAL_AUTH_STOPPED:
		status = local_error(o, conn, 403, "local.stream_stopped",
		                     "the stream was stopped: uploads are closed");
		break;
	}
	explicit_bzero(buf, sizeof(buf));
	return status;
}

static int local_commit_error(struct local_origin *o, struct mg_connection *conn,
                              enum bc_status st)
{
	switch (st) {
	case BC_E_TOO_LARGE:
		return local_error(o, conn, 413, "local.stream_quota",
		                   "the stream is over max_stream_bytes: delete old segments");
	case BC_E_CONFLICT:
		return local_error(o, conn, 403, "local.stream_stopped",
		                   "the stream was stopped: uploads are closed");
	case BC_E_NOT_FOUND:
		return local_error(o, conn, 404, "local.not_found", "no such stream or file");
	case BC_E_INVALID:
		return local_error(o, conn, 400, "local.bad_name", "not a file name of this origin");
	default:
		return local_error(o, conn, 503, "local.write_failed",
		                   "the origin could not store the file; see its log");
	}
}

/* The request's time is up: close the connection (its body may be half
 * read) and say so. */
static int local_timeout(struct local_origin *o, struct mg_connection *conn)
{
	mg_disable_connection_keep_alive(conn);
	return local_error(o, conn, 408, "local.request_timeout",
	                   "the request took longer than the origin's request_timeout");
}

/* Stream the body into a temporary file and publish it. deadline_ms bounds
 * the whole body: past it the upload answers 408 and the temporary file is
 * removed, so no partial segment is ever visible. */
static int local_upload(struct local_origin *o, struct mg_connection *conn, const char *id,
                        const char *name, int64_t deadline_ms)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *te = mg_get_header(conn, "Transfer-Encoding");
	char tmp[4096] = "";
	char *buf = NULL;
	int fd = -1, status = 0, created = 0, timed_out = 0;
	struct http_guard_deadline deadline;
	uint64_t total = 0;
	enum bc_status st;

	/* CivetWeb reads a request with neither Content-Length nor chunked
	 * framing as an empty body (RFC 9112 §6.3): an HTTP/1.0 client that
	 * means "until I close" would store an empty segment. Its bytes could
	 * also be read as a next request, so the connection closes. */
	if (ri->content_length < 0 && (te == NULL || strcasecmp(te, "chunked") != 0)) {
		mg_disable_connection_keep_alive(conn);
		return local_error(o, conn, 411, "local.length_required",
		                   "send Content-Length or Transfer-Encoding: chunked");
	}
	if (ri->content_length > 0 && (uint64_t)ri->content_length > o->max_segment_bytes)
		return local_error(o, conn, 413, "local.too_large",
		                   "the file is over max_segment_bytes");
	/* Our checks between reads alone cannot keep the deadline: one
	 * mg_read() of a trickled body blocks until its buffer is full. */
	buf = malloc(LOCAL_IO_BUF);
	if (buf == NULL)
		return local_error(o, conn, 503, "local.nomem", "out of memory");
	if (http_guard_deadline_arm(o->guard.watchdog, conn, deadline_ms - o->api->monotonic_ms(),
	                            &deadline) < 0)
		o->api->log(o->host, BC_LOG_WARN,
		            "stream %s: upload from %s not watched: its deadline is only checked "
		            "between reads", id, ri->remote_addr);
	fd = local_streams_tmpfile(o->streams, id, tmp, sizeof(tmp));
	if (fd < 0) {
		tmp[0] = '\0';
		o->api->log(o->host, BC_LOG_ERROR, "stream %s: cannot create an upload file: %s", id,
		            strerror(errno));
		status = local_error(o, conn, 503, "local.write_failed",
		                     "the origin could not store the file; see its log");
		goto out;
	}
	for (;;) {
		int r;

		if (o->api->monotonic_ms() >= deadline_ms) {
			timed_out = 1;
			goto out;
		}
		r = mg_read(conn, buf, LOCAL_IO_BUF);
		if (o->api->monotonic_ms() >= deadline_ms) {
			timed_out = 1;
			goto out;
		}
		if (r == 0)
			break;
		if (r < 0) {
			status = local_error(o, conn, 400, "local.incomplete",
			                     "the request body ended early");
			goto out;
		}
		total += (uint64_t)r;
		if (total > o->max_segment_bytes) {
			status = local_error(o, conn, 413, "local.too_large",
			                     "the file is over max_segment_bytes");
			goto out;
		}
		if (local_write_all(fd, buf, (size_t)r) != 0) {
			o->api->log(o->host, BC_LOG_ERROR, "stream %s: write failed: %s", id,
			            strerror(errno));
			status = local_error(o, conn, 507, "local.write_failed",
			                     "the origin could not store the file; see its log");
			goto out;
		}
	}
	if (ri->content_length >= 0 && total != (uint64_t)ri->content_length) {
		status = local_error(o, conn, 400, "local.incomplete", "the request body ended early");
		goto out;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		o->api->log(o->host, BC_LOG_ERROR, "stream %s: cannot sync an upload: %s", id,
		            strerror(errno));
		status = local_error(o, conn, 507, "local.write_failed",
		                     "the origin could not store the file; see its log");
		goto out;
	}
	fd = -1;
	st = local_streams_commit(o->streams, id, tmp, name, total, ri->remote_addr, &created,
	                          NULL);
	tmp[0] = '\0'; /* commit removed it on failure */
	if (st != BC_OK) {
		status = local_commit_error(o, conn, st);
		goto out;
	}
	o->api->counter_add(o->host, "local_uploads_total", NULL, 1);
	o->api->counter_add(o->host, "local_upload_bytes_total", NULL, total);
	o->api->log(o->host, BC_LOG_DEBUG, "stream %s: stored %s (%" PRIu64 " bytes)", id, name,
	            total);
	status = local_reply(o, conn, created ? 201 : 204, NULL, NULL, 0, NULL, NULL);
out:
	/* Before answering: the watchdog must be done with the socket. */
	if (http_guard_deadline_disarm(o->guard.watchdog, &deadline))
		timed_out = 1;
	if (fd >= 0)
		close(fd);
	if (status != 201 && status != 204 && tmp[0] != '\0')
		unlink(tmp);
	free(buf);
	if (timed_out && status == 0)
		status = local_timeout(o, conn);
	return status;
}

/* ---- routing ------------------------------------------------------------------------ */

static int local_route_stream(struct local_origin *o, struct mg_connection *conn,
                              const char *rest, int64_t deadline_ms)
{
	const char *m = mg_get_request_info(conn)->request_method;
	char id[LOCAL_ID_LEN + 1];
	const char *name;
	int bad_ext = 0, status;

	if (strlen(rest) < LOCAL_ID_LEN)
		return local_error(o, conn, 404, "local.not_found", "no such stream");
	memcpy(id, rest, LOCAL_ID_LEN);
	id[LOCAL_ID_LEN] = '\0';
	if (!local_id_is_valid(id))
		return local_error(o, conn, 404, "local.not_found", "no such stream");
	rest += LOCAL_ID_LEN;
	if (*rest == '\0') {
		char loc[sizeof(LOCAL_ORIGIN_PREFIX) + LOCAL_ID_LEN + 1];
		snprintf(loc, sizeof(loc), LOCAL_ORIGIN_PREFIX "%s/", id);
		return local_reply(o, conn, 301, NULL, NULL, 0, "Location", loc);
	}
	if (*rest != '/')
		return local_error(o, conn, 404, "local.not_found", "no such stream");
	name = rest + 1;

	if (strcmp(m, "OPTIONS") == 0) {
		/* A CORS preflight: a page may fetch with Range, or upload. */
		mg_response_header_start(conn, 204);
		mg_response_header_add(conn, "Access-Control-Allow-Methods",
		                       "GET, HEAD, PUT, POST, DELETE, OPTIONS", -1);
		mg_response_header_add(conn, "Access-Control-Allow-Headers",
		                       "Authorization, Content-Type, Range", -1);
		mg_response_header_add(conn, "Access-Control-Max-Age", "600", -1);
		mg_response_header_add(conn, "Content-Length", "0", -1);
		local_add_common(o, conn);
		mg_response_header_send(conn);
		return 204;
	}
	if (*name == '\0') {
		if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
			return local_serve_page(o, conn, id);
		return local_reply(o, conn, 405, NULL, NULL, 0, "Allow", "GET, HEAD, OPTIONS");
	}
	if (!local_name_is_valid(name, &bad_ext)) {
		if (bad_ext)
			return local_error(o, conn, 415, "local.bad_extension",
			                   "only .m3u8 .ts .m4s .mp4 .aac .vtt files are accepted");
		return local_error(o, conn, 400, "local.bad_name",
		                   "file names are [A-Za-z0-9._-], not starting with a dot");
	}
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return local_serve_file(o, conn, id, name);
	if (strcmp(m, "PUT") != 0 && strcmp(m, "POST") != 0 && strcmp(m, "DELETE") != 0)
		return local_reply(o, conn, 405, NULL, NULL, 0, "Allow",
		                   "GET, HEAD, PUT, POST, DELETE, OPTIONS");
	status = local_check_token(o, conn, id);
	if (status != 0)
		return status;
	if (strcmp(m, "DELETE") == 0) {
		enum bc_status st = local_streams_remove(o->streams, id, name, NULL);
		if (st != BC_OK)
			return local_commit_error(o, conn, st);
		o->api->log(o->host, BC_LOG_DEBUG, "stream %s: deleted %s", id, name);
		return local_reply(o, conn, 204, NULL, NULL, 0, NULL, NULL);
	}
	return local_upload(o, conn, id, name, deadline_ms);
}

static int local_origin_handle(struct mg_connection *conn, void *cbdata)
{
	struct local_origin *o = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *path = ri->local_uri;
	const char *raw = ri->local_uri_raw;
	/* CivetWeb calls us once the headers are in, which it bounds by
	 * request_timeout_ms itself; the body's deadline counts from here. */
	int64_t deadline_ms = o->api->monotonic_ms() + o->request_timeout_ms;
	int status;

	/* ambiguous framing (request smuggling behind a proxy), and the bound
	 * on connections per client address, as on the API (http_guard.h) */
	status = http_guard_listener_screen(&o->guard, conn);
	if (status != 0)
		return status;

	/* With decode_url=no, local_uri_raw is the path exactly as sent (before
	 * the query) and local_uri the same with dot segments removed. Judge
	 * the raw one, for every method and route: a NUL, an encoded slash or
	 * any other escape is refused, never decoded into another name, and a
	 * path CivetWeb would rewrite (local_uri differs) is refused too. */
	if (raw != NULL && strlen(raw) > LOCAL_PATH_MAX)
		return local_error(o, conn, 414, "local.path_too_long",
		                   "the path is longer than any of this origin's");
	if (raw == NULL || path == NULL || !local_path_is_plain(raw, strlen(raw)) ||
	    strcmp(raw, path) != 0)
		return local_error(o, conn, 400, "local.bad_path",
		                   "the path must be plain: [A-Za-z0-9._-] segments separated by "
		                   "single '/', no percent-encoding, no '.' or '..' segment");
	if (strncmp(path, LOCAL_ORIGIN_PREFIX, strlen(LOCAL_ORIGIN_PREFIX)) == 0)
		return local_route_stream(o, conn, path + strlen(LOCAL_ORIGIN_PREFIX), deadline_ms);
	if (strncmp(path, LOCAL_PLAYER_PREFIX, strlen(LOCAL_PLAYER_PREFIX)) == 0)
		return local_serve_asset(o, conn, path + strlen(LOCAL_PLAYER_PREFIX));
	if (strcmp(path, "/") == 0) {
		static const char hello[] = "broadcast local HLS origin: streams are under "
		                            LOCAL_ORIGIN_PREFIX "{stream_id}/\n";
		return local_reply(o, conn, 200, "text/plain; charset=utf-8", hello,
		                   sizeof(hello) - 1, NULL, NULL);
	}
	return local_error(o, conn, 404, "local.not_found", "no such path");
}

/* ---- lifecycle ---------------------------------------------------------------------- */

enum bc_status local_origin_start(struct local_origin **out, const struct bc_host_api *api,
                                  struct bc_host *host, struct local_streams *streams,
                                  const struct local_origin_cfg *cfg, struct bc_error *err)
{
	struct local_origin *o = NULL;
	char etext[256] = "";
	char keep_alive_timeout[24];
	const char *extra[5];
	size_t i, n = 0, k = 0;
	enum bc_status st = BC_OK;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
	o->api = api;
	o->host = host;
	o->streams = streams;
	o->max_segment_bytes = cfg->max_segment_bytes;
	o->request_timeout_ms = cfg->request_timeout_ms;
	o->playlist = strdup(cfg->playlist);
	while (cfg->cors_origins != NULL && cfg->cors_origins[n] != NULL)
		n++;
	o->cors = calloc(n + 1, sizeof(char *));
	if (o->playlist == NULL || o->cors == NULL) {
		st = api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(cfg->cors_origins[i], "*") == 0)
			o->cors_any = 1;
		else if ((o->cors[k++] = strdup(cfg->cors_origins[i])) == NULL) {
			st = api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
			goto out;
		}
	}

	if (http_guard_listener_init(&o->guard, api, host, "local", cfg->threads,
	                             cfg->max_connections_per_address) != 0) {
		st = api->fail(err, BC_E_INTERNAL, "local.thread_failed",
		               "cannot start the origin's request deadline thread");
		goto out;
	}
	snprintf(keep_alive_timeout, sizeof(keep_alive_timeout), "%" PRId64,
	         cfg->keep_alive_timeout_ms);
	extra[0] = "enable_keep_alive";
	extra[1] = "yes";
	extra[2] = "keep_alive_timeout_ms";
	extra[3] = keep_alive_timeout;
	extra[4] = NULL;
	/* The body's deadline is local_upload()'s. */
	if (http_guard_listener_start(&o->guard, cfg->listen, cfg->threads, cfg->request_timeout_ms,
	                              extra, local_origin_handle, o, etext, sizeof(etext)) != 0) {
		st = api->fail(err, BC_E_UNAVAILABLE, "local.listen_failed",
		               "cannot listen on %s: %s; set `listen` to a free HOST:PORT",
		               cfg->listen, etext[0] ? etext : "unknown CivetWeb error");
		goto out;
	}
	*out = o;
	o = NULL;
out:
	local_origin_stop(o);
	return st;
}

void local_origin_stop(struct local_origin *o)
{
	size_t i;

	if (o == NULL)
		return;
	http_guard_listener_stop(&o->guard); /* waits for uploads in flight */
	for (i = 0; o->cors != NULL && o->cors[i] != NULL; i++)
		free(o->cors[i]);
	free(o->cors);
	free(o->playlist);
	free(o);
}
