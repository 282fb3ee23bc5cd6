/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unix_conn.c: one connection of the Unix socket frontend.
 *
 * The wire format is one JSON object per '\n'-terminated line in each
 * direction. A request line
 *
 *     {"op":"start","params":{"type":"hls","name":"x"}}
 *
 * becomes a struct bc_request: `op` as is, `params` re-serialised as an
 * application/json body (the dispatcher decodes and validates it, exactly as
 * for an HTTP JSON body), caller "uid:<n>" and peer "unix:pid:<n>" from
 * SO_PEERCRED. An optional "method" member is passed on; without it the
 * request has no method, which the dispatcher takes as "this transport has
 * none" (frontend.h), so the op-to-method table lives only in the dispatcher.
 * The response line is
 *
 *     {"status":200,"body":{...the dispatcher's JSON body, unchanged...}}
 *
 * with "allow" and "retry_after" members when the dispatcher set them. A
 * body that is not JSON (metrics' Prometheus text) is carried as a JSON
 * string. Errors of the transport itself (a line that is not a JSON object, a
 * line over max_line, a stalled half line) are answered in the same shape
 * with codes "unix.*"; everything else is the dispatcher's.
 *
 * Each connection has its own thread (unix.c caps their number); this file
 * knows nothing of accepting, access lists or draining beyond the stop pipe.
 * It is the only file of the plugin that uses jansson.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "unix_conn.h"

/* The first read buffer; it doubles up to max_line + 1 as lines need. */
#define UNIX_CONN_BUF_START 4096

/* Write all of buf, or fail. MSG_NOSIGNAL: a peer that went away must not
 * kill the daemon with SIGPIPE. The socket's SO_SNDTIMEO (set by unix.c)
 * bounds how long a peer that does not read can hold us. */
static int unix_conn_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Encode a JSON value compactly and write it as one line. Takes a reference
 * of v (it is released here). */
static int unix_conn_write_json(int fd, json_t *v)
{
	int rc = -1;
	char *text = NULL;

	if (v == NULL)
		goto out;
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL)
		goto out;
	size_t len = strlen(text);
	/* JSON_COMPACT output has no raw newline: strings escape it */
	text[len] = '\n';
	rc = unix_conn_write_all(fd, text, len + 1);
	text[len] = '\0';
out:
	free(text);
	json_decref(v);
	return rc;
}

int unix_conn_send_error(int fd, int status, const char *code, const char *message)
{
	json_t *line = json_pack("{s:i, s:{s:{s:s, s:s}}}", "status", status, "body", "error",
	                         "code", code, "message", message);
	return unix_conn_write_json(fd, line);
}

/* The dispatcher's response as one line. A JSON body is copied byte for byte
 * (after checking that it parses, so the line stays valid JSON) except that
 * raw CR/LF bytes become spaces: in valid JSON they can only be whitespace
 * between tokens, and a raw newline would end our line early. */
static int unix_conn_write_response(int fd, const struct bc_response *resp)
{
	int rc = -1;
	char *head = NULL, *body = NULL, *allow = NULL;
	json_t *wrapped = NULL;
	const char *ct = resp->content_type;
	int is_json = ct != NULL && strncmp(ct, "application/json", 16) == 0;
	size_t body_len = resp->body != NULL ? resp->body_len : 0;

	if (is_json) {
		json_t *probe = json_loadb(resp->body != NULL ? resp->body : "", body_len,
		                           JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		is_json = probe != NULL;
		json_decref(probe);
	}
	if (is_json) {
		body = malloc(body_len + 1);
		if (body == NULL)
			goto out;
		for (size_t i = 0; i < body_len; i++)
			body[i] = (resp->body[i] == '\n' || resp->body[i] == '\r') ? ' ' : resp->body[i];
		body[body_len] = '\0';
	} else {
		wrapped = json_stringn(resp->body != NULL ? resp->body : "", body_len);
		if (wrapped == NULL) /* not UTF-8: say so rather than drop the line */
			wrapped = json_string("(response body is not valid UTF-8)");
		body = wrapped != NULL ? json_dumps(wrapped, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		if (body == NULL)
			goto out;
	}
	if (resp->allow != NULL) {
		json_t *a = json_string(resp->allow);
		allow = a != NULL ? json_dumps(a, JSON_ENCODE_ANY) : NULL;
		json_decref(a);
		if (allow == NULL)
			goto out;
	}

	char retry[48] = "";
	if (resp->retry_after > 0)
		snprintf(retry, sizeof retry, ",\"retry_after\":%u", resp->retry_after);
	size_t head_cap = 96 + (allow != NULL ? strlen(allow) : 0);
	head = malloc(head_cap);
	if (head == NULL)
		goto out;
	int n = snprintf(head, head_cap, "{\"status\":%d%s%s%s,\"body\":", resp->status,
	                 allow != NULL ? ",\"allow\":" : "", allow != NULL ? allow : "", retry);
	if (n < 0 || (size_t)n >= head_cap)
		goto out;
	if (unix_conn_write_all(fd, head, (size_t)n) < 0 ||
	    unix_conn_write_all(fd, body, strlen(body)) < 0 ||
	    unix_conn_write_all(fd, "}\n", 2) < 0)
		goto out;
	rc = 0;
out:
	free(head);
	free(allow);
	free(body);
	json_decref(wrapped);
	return rc;
}

/* How deeply a request line nests '[' and '{' outside strings, counting
 * stops past `limit`. jansson's parser recurses once per level, and this
 * thread's stack is UNIX_CONN_STACK_SIZE, so a line is measured before it is
 * parsed. The same scan as the dispatcher's bc_json_depth() (framework/
 * util.c), which a plugin cannot call: it sees the host only through the
 * ABI (STYLE rule 9). */
static unsigned unix_conn_json_depth(const char *text, size_t len, unsigned limit)
{
	unsigned depth = 0, deepest = 0;
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (in_string) {
			if (ch == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (ch == '"')
				in_string = 0;
		} else if (ch == '"') {
			in_string = 1;
		} else if (ch == '[' || ch == '{') {
			if (++depth > deepest) {
				deepest = depth;
				if (deepest > limit)
					return limit + 1;
			}
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return deepest;
}

/* Serve one complete request line (without its '\n'). Returns 0 to go on
 * with the connection, -1 when it must close (the response could not be
 * written). */
static int unix_conn_handle_line(struct unix_conn *c, const char *line, size_t len)
{
	struct unix_frontend *fe = c->fe;
	const struct bc_host_api *api = fe->api;
	int rc = -1;
	json_t *req = NULL;
	char *body = NULL;
	struct bc_response resp;
	int have_resp = 0;
	json_error_t jerr;

	if (unix_conn_json_depth(line, len, UNIX_CONN_MAX_DEPTH) > UNIX_CONN_MAX_DEPTH) {
		char msg[200];
		snprintf(msg, sizeof msg,
		         "the request line nests arrays or objects more than %d levels deep; send "
		         "one object per line, e.g. {\"op\":\"list\",\"params\":{\"state\":\"live\"}}",
		         UNIX_CONN_MAX_DEPTH);
		rc = unix_conn_send_error(c->fd, 400, "unix.too_deep", msg);
		goto out;
	}
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL || !json_is_object(req)) {
		char msg[300];
		if (req == NULL) {
			/* jansson quotes the bad token (" near '...'"): the peer's bytes,
			 * perhaps not UTF-8, which json_pack would refuse; cut it off. */
			char *near = strstr(jerr.text, " near '");
			if (near != NULL)
				*near = '\0';
			snprintf(msg, sizeof msg,
			         "the request line is not valid JSON (%s, at byte %d); send one JSON "
			         "object per line, e.g. {\"op\":\"health\"}",
			         jerr.text, jerr.position);
		} else {
			snprintf(msg, sizeof msg,
			         "the request line must be a JSON object, e.g. {\"op\":\"health\"}");
		}
		rc = unix_conn_send_error(c->fd, 400, "unix.bad_json", msg);
		goto out;
	}

	json_t *op = json_object_get(req, "op");
	json_t *method = json_object_get(req, "method");
	json_t *params = json_object_get(req, "params");
	if ((op != NULL && !json_is_string(op)) || (method != NULL && !json_is_string(method))) {
		rc = unix_conn_send_error(c->fd, 400, "unix.bad_request",
		                          "\"op\" and \"method\" must be strings");
		goto out;
	}
	if (params != NULL && !json_is_null(params)) {
		if (!json_is_object(params)) {
			rc = unix_conn_send_error(c->fd, 400, "unix.bad_request",
			                          "\"params\" must be a JSON object of parameters, "
			                          "e.g. {\"id\":\"...\"}");
			goto out;
		}
		body = json_dumps(params, JSON_COMPACT);
		if (body == NULL) {
			rc = unix_conn_send_error(c->fd, 500, "unix.nomem", "out of memory");
			goto out;
		}
	}

	char caller[32], peer[40];
	snprintf(caller, sizeof caller, "uid:%u", (unsigned)c->uid);
	snprintf(peer, sizeof peer, "unix:pid:%ld", (long)c->pid);

	struct bc_request r = {
		.struct_size = sizeof(struct bc_request),
		.op = op != NULL ? json_string_value(op) : NULL,
		.method = method != NULL ? json_string_value(method) : NULL,
		.body = body,
		.body_len = body != NULL ? strlen(body) : 0,
		.content_type = body != NULL ? "application/json" : NULL,
		.caller = caller,
		.peer = peer,
	};
	memset(&resp, 0, sizeof resp);
	resp.struct_size = sizeof resp;
	api->call(fe->host, &r, &resp);
	have_resp = 1; /* the dispatcher logs the request; no second line here */
	rc = unix_conn_write_response(c->fd, &resp);
out:
	if (have_resp)
		api->response_release(&resp);
	free(body);
	json_decref(req);
	return rc;
}

/* Wait until fd has input, the stop pipe fires or deadline_ms passes.
 * Returns 1 (input), 0 (timeout), -2 (stop) or -1 (error). */
static int unix_conn_wait(struct unix_conn *c, int64_t deadline_ms)
{
	const struct bc_host_api *api = c->fe->api;
	for (;;) {
		int64_t left = deadline_ms - api->monotonic_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = c->fe->stop_pipe[0], .events = POLLIN },
		};
		int n = poll(pfd, 2, left > 60000 ? 60000 : (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* input first: a line that arrived with the drain is still served */
		if (pfd[0].revents != 0)
			return 1;
		if (pfd[1].revents != 0)
			return -2;
	}
}

static int unix_conn_is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* Before closing on an error the peer has not seen yet: closing a Unix
 * socket with unread input makes the peer's next read fail with ECONNRESET,
 * which can swallow our error line. So stop writing, and discard what the
 * peer still sends for a short while (bounded in bytes and time). */
static void unix_conn_linger(struct unix_conn *c)
{
	const struct bc_host_api *api = c->fe->api;
	char sink[4096];
	size_t total = 0;
	int64_t deadline = api->monotonic_ms() + 500;

	shutdown(c->fd, SHUT_WR);
	while (total < 1024 * 1024 && unix_conn_wait(c, deadline) == 1) {
		ssize_t n = recv(c->fd, sink, sizeof sink, 0);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

static int unix_conn_is_draining(struct unix_frontend *fe)
{
	pthread_mutex_lock(&fe->lock);
	int d = fe->draining;
	pthread_mutex_unlock(&fe->lock);
	return d;
}

void *unix_conn_main(void *arg)
{
	struct unix_conn *c = arg;
	struct unix_frontend *fe = c->fe;
	const struct bc_host_api *api = fe->api;
	size_t cap = fe->max_line + 1 < UNIX_CONN_BUF_START ? fe->max_line + 1
	                                                    : UNIX_CONN_BUF_START;
	size_t len = 0;
	char *buf = malloc(cap);
	int64_t deadline = api->monotonic_ms() + fe->idle_timeout_ms;

	if (c->refused) {
		char msg[200];
		snprintf(msg, sizeof msg,
		         "uid %u may not use this socket; the daemon's allow_uids and allow_gids "
		         "decide who may",
		         (unsigned)c->uid);
		unix_conn_send_error(c->fd, 403, "unix.forbidden", msg);
		unix_conn_linger(c);
		goto out;
	}
	if (buf == NULL) {
		unix_conn_send_error(c->fd, 500, "unix.nomem", "out of memory; try again later");
		goto out;
	}
	for (;;) {
		/* serve every complete line we hold */
		size_t start = 0;
		char *nl;
		while (start < len && (nl = memchr(buf + start, '\n', len - start)) != NULL) {
			size_t line_len = (size_t)(nl - (buf + start));
			const char *line = buf + start;
			start += line_len + 1;
			if (line_len > 0 && line[line_len - 1] == '\r')
				line_len--;
			if (unix_conn_is_blank(line, line_len))
				continue; /* blank lines: a hand-typed session pressing Enter */
			if (unix_conn_handle_line(c, line, line_len) < 0)
				goto out;
			deadline = api->monotonic_ms() + fe->idle_timeout_ms;
			if (unix_conn_is_draining(fe))
				goto out;
		}
		if (start > 0) {
			memmove(buf, buf + start, len - start);
			len -= start;
		}
		if (len > fe->max_line) {
			char msg[160];
			snprintf(msg, sizeof msg,
			         "request line longer than %zu bytes (max_line); closing the connection",
			         fe->max_line);
			unix_conn_send_error(c->fd, 413, "unix.line_too_long", msg);
			unix_conn_linger(c);
			goto out;
		}
		if (len == cap) {
			size_t ncap = cap * 2 > fe->max_line + 1 ? fe->max_line + 1 : cap * 2;
			char *nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				unix_conn_send_error(c->fd, 500, "unix.nomem", "out of memory");
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}

		int w = unix_conn_wait(c, deadline);
		if (w == 0) {
			/* a stalled half line gets a reason; a silent idle peer just a close */
			if (len > 0)
				unix_conn_send_error(c->fd, 408, "unix.timeout",
				                     "no complete request line within idle_timeout; "
				                     "closing the connection");
			goto out;
		}
		if (w < 0)
			goto out;
		ssize_t n = recv(c->fd, buf + len, cap - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			goto out; /* peer closed (a half line is dropped) or failed */
		len += (size_t)n;
	}
out:
	free(buf);
	/* fd is closed under the lock so drain() never shuts down a recycled
	 * descriptor number */
	pthread_mutex_lock(&fe->lock);
	close(c->fd);
	c->fd = -1;
	c->done = 1;
	fe->n_active--;
	pthread_cond_broadcast(&fe->changed);
	pthread_mutex_unlock(&fe->lock);
	return NULL;
}
