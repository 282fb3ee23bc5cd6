/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_guard.c: request framing, per-address connection bound, JSON errors
 * and a sure close for CivetWeb listeners; see http_guard.h.
 *
 * CivetWeb 1.15 (Debian bookworm's) is lenient where a server behind a
 * proxy must not be (issue 17): it reads Content-Length with strtoll (so
 * "3abc" is 3), takes the first of two Content-Length headers, prefers
 * Transfer-Encoding over Content-Length and keeps the connection, accepts
 * bare LF line ends, and stops parsing at a folded line or the 65th header
 * while still counting the rest as part of the request. Each of those lets
 * a proxy and CivetWeb disagree on where a request ends (request
 * smuggling), so the request is judged again here from what CivetWeb
 * parsed, before any byte of a body is read.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <broadcast/host.h>
#include <civetweb.h>

#include "http_guard.h"

/* What *conn_data holds for each connection. */
struct http_guard_conn {
	int counted;   /* admitted under addr: released in on_close */
	char addr[48];
};


/* ---- framing ---------------------------------------------------------------- */

/* CivetWeb parses a request in place: it writes NUL over each CR and LF
 * that ends the request line and each header line, and the pointers in
 * `ri` point into that one buffer. So the distance from the end of one
 * field to the start of the next tells the line end: 2 for CRLF, 1 for a
 * bare LF, more for a folded or space-led line. */
static int http_guard_gap_is_crlf(const char *end, const char *next)
{
	return next - end == 2;
}

static int http_guard_digits(const char *v)
{
	size_t n = 0;
	for (; v[n] != '\0'; n++)
		if (v[n] < '0' || v[n] > '9')
			return 0;
	/* 18 digits fit in CivetWeb's int64_t without overflow */
	return n >= 1 && n <= 18;
}

const char *http_guard_framing(const struct mg_request_info *ri)
{
	int n_cl = 0, n_te = 0, n_host = 0, is_11;
	const char *te = NULL;
	const char *end;

	if (ri == NULL || ri->http_version == NULL)
		return "the request line is malformed";
	is_11 = strcmp(ri->http_version, "1.1") == 0;
	if (!is_11 && strcmp(ri->http_version, "1.0") != 0)
		return "only HTTP/1.0 and HTTP/1.1 are served";
	if (ri->num_headers < 0 || ri->num_headers >= MG_MAX_HEADERS)
		return "the request has too many header lines";

	end = ri->http_version + strlen(ri->http_version);
	for (int i = 0; i < ri->num_headers; i++) {
		const struct mg_header *h = &ri->http_headers[i];
		if (!http_guard_gap_is_crlf(end, h->name))
			return "a line of the request does not end in CRLF, or a header line is "
			       "folded or starts with a space";
		end = h->value + strlen(h->value);
		if (strcasecmp(h->name, "Content-Length") == 0) {
			n_cl++;
			if (!http_guard_digits(h->value))
				return "Content-Length must be a decimal number of bytes";
		} else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
			n_te++;
			te = h->value;
		} else if (strcasecmp(h->name, "Host") == 0) {
			n_host++;
		}
	}
	/* After the last header line: its CRLF (NULs now), then the empty
	 * line's CR as sent and its LF, which CivetWeb overwrote with the NUL
	 * that ends the request. Anything else is a bare LF, a folded line, or
	 * a header CivetWeb stopped before. (A request ended by a bare "\n\n"
	 * whose body starts with CR NUL reads the same: no proxy sends that.) */
	/* end[2] lies past the request when it ended in a bare "\n\n", and past
	 * CivetWeb's buffer when such a request filled it: CivetWeb 1.15 tells
	 * no request length, so a header block that reaches the last KiB of
	 * the buffer is refused before reading there. (A request preceded by
	 * more than a KiB of spaces could still end at the buffer's end: such
	 * a request is no HTTP client's, and the read is of a byte or two of
	 * the heap, never a write.) */
	if (ri->num_headers > 0 && (size_t)(end + 4 - ri->request_method) >
	                                   HTTP_GUARD_MAX_REQUEST - 1024)
		return "the request line and headers are too large";
	if (ri->num_headers > 0 && !(end[1] == '\0' && end[2] == '\r' && end[3] == '\0'))
		return "a line of the request does not end in CRLF, or a header line is folded "
		       "or starts with a space";
	if (n_cl > 1)
		return "the request has more than one Content-Length";
	if (n_te > 1)
		return "the request has more than one Transfer-Encoding";
	if (n_te == 1 && n_cl == 1)
		return "the request has both Content-Length and Transfer-Encoding";
	if (te != NULL && (!is_11 || strcasecmp(te, "chunked") != 0))
		return "the only Transfer-Encoding served is chunked, on HTTP/1.1";
	if (is_11 && n_host != 1)
		return "an HTTP/1.1 request needs exactly one Host header";
	return NULL;
}

/* ---- the socket of a connection ------------------------------------------------------ */

/* CivetWeb does not tell a handler its connection's socket. The
 * connection's own addresses find it among this process's open
 * descriptors: a TCP connection is unique by its two endpoints, and the
 * socket stays open while its worker thread (the caller) serves it. Only
 * error paths come here (a refusal, a close), never a served request. */
static int http_guard_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

static int http_guard_addr_is(const struct sockaddr_storage *ss, const char *text)
{
	char shown[INET6_ADDRSTRLEN];
	const void *a = ss->ss_family == AF_INET
	                        ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
	                        : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (inet_ntop(ss->ss_family, a, shown, sizeof shown) == NULL)
		return 0;
	return strcmp(shown, text) == 0;
}

static int http_guard_socket(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	DIR *d;
	struct dirent *e;
	int found = -1;

	if (ri == NULL)
		return -1;
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		struct sockaddr_storage peer = { 0 }, self = { 0 };
		socklen_t pl = sizeof peer, sl = sizeof self;
		char *endp;
		long fd = strtol(e->d_name, &endp, 10);
		if (e->d_name[0] == '.' || *endp != '\0' || fd < 0)
			continue;
		if (getpeername((int)fd, (struct sockaddr *)&peer, &pl) != 0 ||
		    getsockname((int)fd, (struct sockaddr *)&self, &sl) != 0)
			continue;
		if (http_guard_port_of(&peer) == ri->remote_port &&
		    http_guard_port_of(&self) == ri->server_port &&
		    http_guard_addr_is(&peer, ri->remote_addr))
			found = (int)fd;
	}
	closedir(d);
	return found;
}

void http_guard_close(struct mg_connection *conn)
{
	/* CivetWeb then neither drains the rest of an unwanted body nor serves
	 * a request pipelined behind this one (already in its buffer, maybe):
	 * it closes once the handler returns */
	mg_disable_connection_keep_alive(conn);
}

const char *http_guard_bearer(const struct mg_connection *conn, char *buf, size_t len)
{
	const char *h = mg_get_header(conn, "Authorization");
	size_t n;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	n = strcspn(h, " \t\r\n");
	if (n == 0 || n >= len)
		return NULL;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return buf;
}

/* ---- JSON errors ---------------------------------------------------------------------- */

/* The whole response, status line to body, into a malloc'd buffer. The
 * message is ours (never a client's bytes), so it needs no JSON escaping
 * beyond what the callers' fixed texts have. */
static char *http_guard_format(int status, const char *reason, const char *code,
                               const char *message, const char *extra_header, size_t *len)
{
	char date[64] = "";
	time_t now = time(NULL);
	struct tm tm;
	char *body = NULL, *out = NULL;
	int bl, ol;

	if (gmtime_r(&now, &tm) != NULL)
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	bl = asprintf(&body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);
	if (bl < 0)
		return NULL;
	ol = asprintf(&out,
	              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	              "Content-Length: %d\r\nCache-Control: no-store\r\n"
	              "X-Content-Type-Options: nosniff\r\nDate: %s\r\n%s%s"
	              "Connection: close\r\n\r\n%s",
	              status, reason, bl, date, extra_header != NULL ? extra_header : "",
	              extra_header != NULL ? "\r\n" : "", body);
	free(body);
	if (ol < 0)
		return NULL;
	*len = (size_t)ol;
	return out;
}

int http_guard_refuse(struct mg_connection *conn, int status, const char *code,
                      const char *message, const char *extra_header)
{
	size_t len = 0;
	char *out = http_guard_format(status, mg_get_response_code_text(conn, status), code,
	                              message, extra_header, &len);
	if (out != NULL) {
		mg_write(conn, out, len);
		free(out);
	}
	http_guard_close(conn);
	return status;
}

int http_guard_civetweb_error(struct mg_connection *conn, int status, const char *prefix)
{
	const char *name, *message;
	char code[64];
	size_t len = 0;
	char *out;

	/* CivetWeb's own text may quote the request: fixed messages only */
	switch (status) {
	case 400:
		name = "bad_request";
		message = "the request is malformed (request line, headers or framing)";
		break;
	case 405:
		name = "method_not_allowed";
		message = "this method is not served";
		break;
	case 411:
		name = "length_required";
		message = "Content-Length is missing or not a decimal number of bytes";
		break;
	case 413:
	case 414:
	case 431:
		name = "headers_too_large";
		message = "the request line and headers are too large";
		break;
	case 408:
		name = "request_timeout";
		message = "the request did not arrive in full within request_timeout";
		break;
	case 404:
		name = "not_found";
		message = "nothing is served at this path";
		break;
	default:
		name = status >= 500 ? "internal" : "bad_request";
		message = status >= 500 ? "the server could not answer this request"
		                        : "the request was refused";
		break;
	}
	snprintf(code, sizeof code, "%s.%s", prefix, name);
	out = http_guard_format(status, mg_get_response_code_text(conn, status), code, message,
	                        NULL, &len);
	if (out != NULL) {
		mg_write(conn, out, len);
		free(out);
	}
	return 0;
}

/* ---- connections per address ------------------------------------------------------------ */

struct http_guard_slot {
	char addr[48]; /* as mg_request_info.remote_addr; "" when free */
	size_t n;
};

struct http_guard_conns {
	pthread_mutex_t lock;
	size_t max_per_address; /* 0: half the workers for non-loopback peers */
	size_t workers;
	size_t n_slots;
	struct http_guard_slot *slots;
};

struct http_guard_conns *http_guard_conns_create(size_t slots, size_t max_per_address)
{
	struct http_guard_conns *g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	/* the TLS relay admits twice the worker count; CivetWeb queues a few
	 * more accepted sockets than it has workers */
	g->workers = slots;
	g->n_slots = slots * 2 + 8;
	g->slots = calloc(g->n_slots, sizeof *g->slots);
	if (g->slots == NULL) {
		free(g);
		return NULL;
	}
	g->max_per_address = max_per_address;
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

void http_guard_conns_destroy(struct http_guard_conns *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g->slots);
	free(g);
}

static int http_guard_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

static size_t http_guard_bound(const struct http_guard_conns *g, const char *addr)
{
	if (g->max_per_address > 0)
		return g->max_per_address;
	if (http_guard_is_loopback(addr))
		return (size_t)-1;
	/* half the workers: one address can never take them all */
	return g->workers / 2 > 0 ? g->workers / 2 : 1;
}

int http_guard_conns_admit(struct http_guard_conns *g, const char *addr)
{
	struct http_guard_slot *free_slot = NULL, *mine = NULL;
	size_t bound;
	int admitted = 0;

	if (g == NULL || addr == NULL)
		return 1;
	bound = http_guard_bound(g, addr);
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n_slots && mine == NULL; i++) {
		if (g->slots[i].n == 0) {
			if (free_slot == NULL)
				free_slot = &g->slots[i];
		} else if (strcmp(g->slots[i].addr, addr) == 0) {
			mine = &g->slots[i];
		}
	}
	if (mine == NULL && free_slot != NULL) {
		mine = free_slot;
		snprintf(mine->addr, sizeof mine->addr, "%s", addr);
	}
	/* no slot at all: more connections than workers are open, which the
	 * listener's own bound already holds back; admit */
	if (mine == NULL) {
		admitted = 1;
	} else if (mine->n < bound) {
		mine->n++;
		admitted = 1;
	}
	pthread_mutex_unlock(&g->lock);
	return admitted;
}

void http_guard_conns_release(struct http_guard_conns *g, const char *addr)
{
	if (g == NULL || addr == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n_slots; i++)
		if (g->slots[i].n > 0 && strcmp(g->slots[i].addr, addr) == 0) {
			g->slots[i].n--;
			break;
		}
	pthread_mutex_unlock(&g->lock);
}

void http_guard_on_connect(const struct mg_connection *conn, void **conn_data)
{
	(void)conn;
	*conn_data = calloc(1, sizeof(struct http_guard_conn));
}

int http_guard_admit(struct http_guard_conns *g, struct mg_connection *conn, const char *prefix)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct http_guard_conn *c = mg_get_user_connection_data(conn);
	char code[64], message[160];

	if (g == NULL || ri == NULL || c == NULL || c->counted)
		return 0;
	if (http_guard_conns_admit(g, ri->remote_addr)) {
		c->counted = 1;
		snprintf(c->addr, sizeof c->addr, "%s", ri->remote_addr);
		return 0;
	}
	snprintf(code, sizeof code, "%s.too_many_connections", prefix);
	snprintf(message, sizeof message,
	         "this address has %zu connections open, the most allowed; close one and "
	         "retry",
	         http_guard_bound(g, ri->remote_addr));
	return http_guard_refuse(conn, 503, code, message, "Retry-After: 1");
}

void http_guard_on_close(struct http_guard_conns *g, const struct mg_connection *conn)
{
	struct http_guard_conn *c = mg_get_user_connection_data(conn);
	if (c == NULL)
		return;
	if (c->counted)
		http_guard_conns_release(g, c->addr);
	free(c);
}

/* ---- the body deadline watchdog ------------------------------------------------------- */

struct http_guard_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	struct http_guard_deadline *armed;
	long long sleeps_until; /* when the thread wakes by itself; -1: it does not */
	int stop;
};

static long long http_guard_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *http_guard_watchdog_main(void *arg)
{
	struct http_guard_watchdog *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		long long now = http_guard_now_ms(), next = -1;
		for (struct http_guard_deadline **pp = &w->armed; *pp != NULL;) {
			struct http_guard_deadline *d = *pp;
			if (d->at_ms <= now) {
				/* The handler is blocked in mg_read on this socket
				 * (it cannot disarm, and so end the connection, while
				 * this lock is held): its recv() now returns 0. Found
				 * only now, so a request that meets its deadline never
				 * pays for the search. */
				int fd = http_guard_socket(d->conn);
				if (fd >= 0)
					shutdown(fd, SHUT_RD);
				d->fired = 1;
				*pp = d->next;
				continue;
			}
			if (next < 0 || d->at_ms < next)
				next = d->at_ms;
			pp = &d->next;
		}
		w->sleeps_until = next;
		if (next < 0) {
			pthread_cond_wait(&w->wake, &w->lock);
		} else {
			struct timespec until = { (time_t)(next / 1000), (long)(next % 1000) * 1000000L };
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct http_guard_watchdog *http_guard_watchdog_start(void)
{
	struct http_guard_watchdog *w = calloc(1, sizeof *w);
	pthread_condattr_t attr;
	if (w == NULL)
		return NULL;
	w->sleeps_until = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&w->thread, NULL, http_guard_watchdog_main, w) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

void http_guard_watchdog_stop(struct http_guard_watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int http_guard_deadline_arm(struct http_guard_watchdog *w, const struct mg_connection *conn,
                            long long timeout_ms, struct http_guard_deadline *d)
{
	memset(d, 0, sizeof *d);
	if (w == NULL || conn == NULL)
		return -1;
	d->conn = conn;
	d->at_ms = http_guard_now_ms() + timeout_ms;
	pthread_mutex_lock(&w->lock);
	d->next = w->armed;
	w->armed = d;
	/* wake the thread only when it would sleep past this deadline: most
	 * requests arm a deadline later than one already armed */
	if (w->sleeps_until < 0 || d->at_ms < w->sleeps_until)
		pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int http_guard_deadline_disarm(struct http_guard_watchdog *w, struct http_guard_deadline *d)
{
	int fired;
	if (w == NULL || d->conn == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (struct http_guard_deadline **pp = &w->armed; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	fired = d->fired;
	pthread_mutex_unlock(&w->lock);
	return fired;
}

/* ---- a provider's listener -------------------------------------------------------------- */

static struct http_guard_listener *http_guard_listener_of(const struct mg_connection *conn)
{
	struct mg_context *ctx = mg_get_context(conn);
	return ctx != NULL ? mg_get_user_data(ctx) : NULL;
}

/* CivetWeb's own messages (bind failures, bad requests) go to the host's log. */
static int http_guard_cb_log(const struct mg_connection *conn, const char *message)
{
	struct http_guard_listener *l = http_guard_listener_of(conn);

	if (l != NULL)
		l->api->log(l->host, BC_LOG_WARN, "civetweb: %s", message);
	return 1;
}

static int http_guard_cb_error(struct mg_connection *conn, int status, const char *msg)
{
	struct http_guard_listener *l = http_guard_listener_of(conn);

	(void)msg; /* may quote the request, and so a token or a key */
	return http_guard_civetweb_error(conn, status, l != NULL ? l->code_prefix : "http");
}

static int http_guard_cb_connect(const struct mg_connection *conn, void **conn_data)
{
	http_guard_on_connect(conn, conn_data);
	return 0;
}

static void http_guard_cb_close(const struct mg_connection *conn)
{
	struct http_guard_listener *l = http_guard_listener_of(conn);

	http_guard_on_close(l != NULL ? l->per_addr : NULL, conn);
}

void http_guard_set_callbacks(struct mg_callbacks *cb)
{
	cb->log_message = http_guard_cb_log;
	cb->http_error = http_guard_cb_error;
	cb->init_connection = http_guard_cb_connect;
	cb->connection_close = http_guard_cb_close;
}

int http_guard_listener_init(struct http_guard_listener *l, const struct bc_host_api *api,
                             struct bc_host *host, const char *code_prefix, int threads,
                             int max_per_address)
{
	memset(l, 0, sizeof *l);
	l->api = api;
	l->host = host;
	l->code_prefix = code_prefix;
	/* Reference-counted in CivetWeb: the HTTP frontend and other providers
	 * in the same process call it too. We ask for no optional feature
	 * (plain HTTP), so its answer is 0 even on success: only the pairing
	 * with mg_exit_library() matters. */
	(void)mg_init_library(0);
	l->library_ready = 1;
	l->watchdog = http_guard_watchdog_start();
	l->per_addr = http_guard_conns_create((size_t)threads, (size_t)max_per_address);
	return l->watchdog != NULL && l->per_addr != NULL ? 0 : -1;
}

/* CivetWeb's authorization step, which no listener of ours uses (tokens
 * are checked by the handlers): without an auth handler CivetWeb stat()s a
 * ".htpasswd" on every request (issue 24, counted with strace). This one
 * grants everything, so the request handler decides. */
int http_guard_auth_none(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
}

int http_guard_listener_start(struct http_guard_listener *l, const char *listen, int threads,
                              long long request_timeout_ms, const char *const *extra,
                              int (*handler)(struct mg_connection *conn, void *cbdata),
                              void *cbdata, char *etext, size_t etext_size)
{
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data edata;
	unsigned ecode = 0;
	char threads_text[16], timeout_text[24];
	const char *options[32];
	size_t n = 0;

	snprintf(threads_text, sizeof threads_text, "%d", threads);
	snprintf(timeout_text, sizeof timeout_text, "%lld", request_timeout_ms);
	options[n++] = "listening_ports";
	options[n++] = listen;
	options[n++] = "num_threads";
	options[n++] = threads_text;
	/* DESIGN §9: without it a response in two writes waits ~40 ms for the
	 * client's delayed ACK. */
	options[n++] = "tcp_nodelay";
	options[n++] = "1";
	/* Cuts slow headers (and slow reads of a response); a body's deadline
	 * is the watchdog's. */
	options[n++] = "request_timeout_ms";
	options[n++] = timeout_text;
	/* Keep local_uri_raw raw: handlers refuse escapes rather than judge
	 * what CivetWeb decoded them into (a NUL, a '/'). */
	options[n++] = "decode_url";
	options[n++] = "no";
	/* http_guard_framing() knows this size */
	options[n++] = "max_request_size";
	options[n++] = HTTP_GUARD_MAX_REQUEST_TEXT;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 2 < sizeof options / sizeof *options;
	     i += 2) {
		options[n++] = extra[i];
		options[n++] = extra[i + 1];
	}
	options[n] = NULL;

	memset(&cb, 0, sizeof cb);
	http_guard_set_callbacks(&cb);
	memset(&init, 0, sizeof init);
	init.callbacks = &cb;
	init.user_data = l;
	init.configuration_options = options;
	memset(&edata, 0, sizeof edata);
	edata.code = &ecode;
	edata.text = etext;
	edata.text_buffer_size = etext_size;
	etext[0] = '\0';
	l->ctx = mg_start2(&init, &edata);
	if (l->ctx == NULL)
		return -1;
	mg_set_request_handler(l->ctx, "/", handler, cbdata);
	mg_set_auth_handler(l->ctx, "/", http_guard_auth_none, NULL);
	return 0;
}

int http_guard_listener_screen(struct http_guard_listener *l, struct mg_connection *conn)
{
	const char *why = http_guard_framing(mg_get_request_info(conn));
	char code[64];

	if (why != NULL) {
		snprintf(code, sizeof code, "%s.bad_framing", l->code_prefix);
		return http_guard_refuse(conn, 400, code, why, NULL);
	}
	return http_guard_admit(l->per_addr, conn, l->code_prefix);
}

void http_guard_add_cors(struct mg_connection *conn, int any, char *const *allowed)
{
	const char *origin = mg_get_header(conn, "Origin");

	if (any) {
		mg_response_header_add(conn, "Access-Control-Allow-Origin", "*", -1);
	} else if (origin != NULL) {
		for (size_t i = 0; allowed[i] != NULL; i++) {
			if (strcmp(allowed[i], origin) == 0) {
				mg_response_header_add(conn, "Access-Control-Allow-Origin", origin, -1);
				break;
			}
		}
		mg_response_header_add(conn, "Vary", "Origin", -1);
	}
}

void http_guard_listener_stop(struct http_guard_listener *l)
{
	if (l->ctx != NULL)
		mg_stop(l->ctx);
	l->ctx = NULL;
	http_guard_watchdog_stop(l->watchdog); /* after mg_stop: no body is being read */
	l->watchdog = NULL;
	http_guard_conns_destroy(l->per_addr);
	l->per_addr = NULL;
	if (l->library_ready)
		mg_exit_library();
	l->library_ready = 0;
}
