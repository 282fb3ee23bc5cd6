/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_guard.h: what every CivetWeb listener (the HTTP frontend's API, the
 * local provider's HLS origin, the webrtc and rtmp providers' listeners)
 * does before a request reaches its code:
 * strict request framing (RFC 9112), a bound on connections per client
 * address, JSON bodies for CivetWeb's own errors, and closing a connection
 * for sure. Compiled into frontend_http.so and those providers; plugins
 * share no code at run time (each .so exports only bc_plugin_entry), so
 * this is a source each builds, not a library.
 *
 * Each function is safe on any CivetWeb worker thread. Why each piece
 * exists, and the CivetWeb 1.15 behaviour it corrects, is in docs/http.md
 * ("What CivetWeb does not do for us").
 */
#ifndef BC_HTTP_GUARD_H
#define BC_HTTP_GUARD_H

#include <stddef.h>

struct mg_connection;
struct mg_request_info;

/* CivetWeb's request buffer (its max_request_size): both listeners set it,
 * and http_guard_framing() relies on it. */
#define HTTP_GUARD_MAX_REQUEST 16384
#define HTTP_GUARD_MAX_REQUEST_TEXT "16384"

/* Why this request's framing is refused (a sentence for the error body),
 * or NULL when it is sound: Content-Length together with Transfer-Encoding,
 * more than one Content-Length or Transfer-Encoding, a Content-Length that
 * is not only digits, a Transfer-Encoding other than "chunked" (or chunked
 * on HTTP/1.0), a line ended by a bare LF, a folded or leading-space
 * header line, headers past what CivetWeb keeps, HTTP/1.1 without exactly
 * one Host. Reads only what CivetWeb parsed into `ri` and the bytes of its
 * request buffer those pointers bound. */
const char *http_guard_framing(const struct mg_request_info *ri);

/* Write a complete JSON error response ({"error":{"code","message"}}, the
 * dispatcher's shape) with Connection: close, and end the connection so
 * that no byte the client sends after it is read as a request (see
 * http_guard_close). `extra_header` is one "Name: value" line without CRLF,
 * or NULL. Returns `status`. */
int http_guard_refuse(struct mg_connection *conn, int status, const char *code,
                      const char *message, const char *extra_header);

/* End the connection after this request's response: without it CivetWeb
 * would read the rest of an unwanted body, and a request pipelined behind
 * this one, as the next request. */
void http_guard_close(struct mg_connection *conn);

/* The token of the request's "Authorization: Bearer TOKEN" (the scheme in
 * any case, spaces after it skipped, the token ending at the first blank),
 * copied into buf; NULL when there is none, or it does not fit in len - 1
 * bytes. The providers' bearer tokens; the HTTP frontend's API has its own
 * rules (http.c). */
const char *http_guard_bearer(const struct mg_connection *conn, char *buf, size_t len);

/* For the http_error callback: CivetWeb's own refusals (malformed request,
 * headers too large, a bad Content-Length, an unsupported method) as the
 * JSON error body instead of its plain text. `prefix` starts the code
 * ("http" gives "http.bad_request"). Returns 0 (handled). */
int http_guard_civetweb_error(struct mg_connection *conn, int status, const char *prefix);

/* ---- connections per client address ------------------------------------- */

struct http_guard_conns;

/* A counter of open connections per client address. `slots` is how many
 * connections can be open at once (CivetWeb's thread count: each holds a
 * worker). `max_per_address` 0 means half of `slots` for non-loopback
 * addresses and no bound for loopback ones (a reverse proxy on the same
 * host brings every client from 127.0.0.1); a positive number bounds every
 * address, loopback included. NULL when out of memory. */
struct http_guard_conns *http_guard_conns_create(size_t slots, size_t max_per_address);
void http_guard_conns_destroy(struct http_guard_conns *g);

/* Count one more connection from `addr` (numeric, as CivetWeb or the TLS
 * relay writes it). 1: admitted, call http_guard_conns_release() when it
 * closes; 0: over the bound, refuse it (not counted). */
int http_guard_conns_admit(struct http_guard_conns *g, const char *addr);
void http_guard_conns_release(struct http_guard_conns *g, const char *addr);

/* The init_connection/connection_close pair for CivetWeb: every
 * connection gets a small record in *conn_data (whether and under which
 * address it was counted).
 * CivetWeb tells init_connection nothing of the client, so counting waits
 * for the connection's first request: http_guard_admit(). */
void http_guard_on_connect(const struct mg_connection *conn, void **conn_data);
void http_guard_on_close(struct http_guard_conns *g, const struct mg_connection *conn);

/* At the start of each request: count its connection once under its
 * client address. 0 to go on; else the connection is over the bound and
 * was answered 503 `<prefix>.too_many_connections` with Retry-After and
 * closed, and the status is returned. NULL `g`: no bound. */
int http_guard_admit(struct http_guard_conns *g, struct mg_connection *conn, const char *prefix);

/* ---- a deadline for reading a body -------------------------------------- */

/* CivetWeb's request_timeout is a time without any byte, not a deadline:
 * mg_read() of a body sent a byte every second never times out. A
 * watchdog thread shuts the read side of a connection down when its
 * deadline passes, so the handler's mg_read() returns at once. */
struct http_guard_watchdog;

struct http_guard_deadline {
	const struct mg_connection *conn; /* NULL: not armed */
	long long at_ms;  /* CLOCK_MONOTONIC */
	int fired;
	struct http_guard_deadline *next;
};

/* Start the watchdog thread; NULL when no thread could be had. */
struct http_guard_watchdog *http_guard_watchdog_start(void);
/* Stop and free it; no deadline may be armed. NULL-safe. */
void http_guard_watchdog_stop(struct http_guard_watchdog *w);

/* Arm `d` (the caller's, valid until disarmed) for this connection,
 * `timeout_ms` from now. Costs a lock and a list insert: the connection's
 * socket is looked up only if the deadline passes. 0, or -1 without a
 * watchdog (the read then has CivetWeb's own timeouts only). */
int http_guard_deadline_arm(struct http_guard_watchdog *w, const struct mg_connection *conn,
                            long long timeout_ms, struct http_guard_deadline *d);
/* Disarm `d`; 1 when the deadline had passed (the read side is shut). */
int http_guard_deadline_disarm(struct http_guard_watchdog *w, struct http_guard_deadline *d);

/* ---- a provider's listener ----------------------------------------------- */

/* What the providers' CivetWeb listeners (the local origin, the webrtc WHIP
 * listener, the rtmp callbacks) hold alike, embedded in each listener's own
 * struct. Its address is CivetWeb's user data (mg_get_user_data()): the
 * callbacks of http_guard_set_callbacks() find it there. The HTTP frontend
 * keeps its own callbacks (it cuts the query off CivetWeb's log lines, and
 * with TLS the per-address bound is http_tls.c's). */
struct bc_host_api;
struct bc_host;
struct mg_callbacks;
struct mg_context;

struct http_guard_listener {
	const struct bc_host_api *api;
	struct bc_host *host;
	const char *code_prefix;              /* "local" gives "local.bad_request" */
	struct mg_context *ctx;               /* NULL until started */
	struct http_guard_watchdog *watchdog; /* the body deadline */
	struct http_guard_conns *per_addr;    /* max_connections_per_address */
	int library_ready; /* mg_init_library() ran: pair it with mg_exit_library() */
};

/* Set the four callbacks of a listener whose user data is a struct
 * http_guard_listener: log_message (CivetWeb's own messages to the host's
 * log at WARN, "civetweb: ..."), http_error (http_guard_civetweb_error()
 * with its code_prefix), init_connection and connection_close
 * (http_guard_on_connect() and http_guard_on_close() with its per_addr). */
void http_guard_set_callbacks(struct mg_callbacks *cb);

/* Fill `l` (code_prefix is borrowed and must outlive it), take CivetWeb's
 * library reference (mg_init_library(), counted: several listeners may live
 * in one process) and make the watchdog and the per-address bound
 * (http_guard_conns_create(threads, max_per_address)). 0, or -1 when the
 * watchdog thread or memory could not be had; either way `l` is for
 * http_guard_listener_stop(). */
int http_guard_listener_init(struct http_guard_listener *l, const struct bc_host_api *api,
                             struct bc_host *host, const char *code_prefix, int threads,
                             int max_per_address);

/* An auth handler granting every request (mg_set_auth_handler): CivetWeb
 * then skips its per-request ".htpasswd" lookup. Every listener sets it. */
int http_guard_auth_none(struct mg_connection *conn, void *cbdata);

/* Start CivetWeb on `listen` ("HOST:PORT") with `threads` workers and
 * request_timeout_ms (CivetWeb's own, for headers and slow reads), the
 * options every provider listener sets (tcp_nodelay, decode_url=no: paths
 * are judged as sent, max_request_size=HTTP_GUARD_MAX_REQUEST), then
 * `extra` (name/value pairs, NULL-ended, at most 8 pairs); the callbacks of
 * http_guard_set_callbacks() with `l` as user data; every path to
 * `handler` with `cbdata`, and http_guard_auth_none(). 0, or -1 with CivetWeb's reason in etext (""
 * when it gave none). */
int http_guard_listener_start(struct http_guard_listener *l, const char *listen, int threads,
                              long long request_timeout_ms, const char *const *extra,
                              int (*handler)(struct mg_connection *conn, void *cbdata),
                              void *cbdata, char *etext, size_t etext_size);

/* The first step of a provider listener's handler: the request's framing
 * (http_guard_framing(): 400 <code_prefix>.bad_framing with the reason),
 * then the bound on connections per address (http_guard_admit() on
 * l->per_addr). 0 to go on, else the status of the answer already sent. */
int http_guard_listener_screen(struct http_guard_listener *l, struct mg_connection *conn);

/* The CORS answer to the request's Origin: Access-Control-Allow-Origin "*"
 * when `any`, else the Origin itself when it is one of `allowed`
 * (NULL-terminated, exact match), with Vary: Origin whenever an Origin was
 * sent. */
void http_guard_add_cors(struct mg_connection *conn, int any, char *const *allowed);

/* Stop CivetWeb (waiting for requests in flight), then the watchdog (no
 * body is being read any more), the bound, and the library reference.
 * Does not free `l`. */
void http_guard_listener_stop(struct http_guard_listener *l);

#endif /* BC_HTTP_GUARD_H */
