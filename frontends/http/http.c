/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c: the HTTP frontend (frontend_http.so, YAML `type: http`), on
 * CivetWeb.
 *
 * The frontend only translates (STYLE rule 12): an HTTP request becomes a
 * struct bc_request (operation from the path, method, raw query string, body
 * as read, bearer token, peer address), api->call() answers it, and the
 * struct bc_response goes back as status, headers and body, unchanged.
 * Parameters, authentication, limits, methods and every error body are the
 * dispatcher's. What stays here is what only a transport can know: which
 * addresses to listen on and whether that is safe, TLS, how much body to
 * read, timeouts, CORS preflights and an access log line.
 *
 * The central type is struct http_frontend, one per YAML instance. check()
 * (ABI 1.1, also run by `broadcastd --check-config`) validates the options
 * without binding: listen syntax, an unsafe listener, the TLS files, CORS
 * origins, allowed hosts. create() runs it too, then test-binds each address
 * so configuration errors surface before the daemon says it is ready;
 * start() starts CivetWeb's listener and worker threads; drain() waits for
 * requests in flight and stops CivetWeb; destroy() frees. The route table is
 * http_routes.c's. With TLS, http_tls.c owns the configured addresses and
 * relays decrypted connections to CivetWeb on an internal loopback port
 * (CivetWeb's own TLS cannot load Debian's OpenSSL 3; see there).
 *
 * Threads: CivetWeb calls http_handle() from its `threads` workers; each
 * keep-alive connection holds one worker while it lives (DESIGN.md §9), so
 * idle connections are closed after keep_alive_timeout.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include <broadcast/frontend.h>

#include "http_guard.h"
#include "http_routes.h"
#include "http_tls.h"

/* Longest `listen` entry we take ("[v6 address]:port"). */
#define HTTP_ADDR_MAX 80
/* How much of a path an access log line shows. */
#define HTTP_LOG_PATH_MAX 200

struct http_frontend {
	const struct bc_host_api *api;
	struct bc_host *host;

	/* options, as CivetWeb wants them */
	char *ports;          /* "127.0.0.1:8080,[::1]:8080", or the internal "127.0.0.1:0" */
	char threads[16];
	char request_timeout_ms[24];
	char keep_alive_ms[24];
	size_t max_body;
	int access_log;
	char **cors;          /* allowed origins, NULL-terminated; NULL: CORS off */
	char **allowed_hosts; /* `allowed_hosts`, NULL-terminated; NULL: the default rule */
	int has_tokens;       /* tokens_file is set: any Host may be served */
	struct http_guard_conns *per_addr; /* the bound on connections per client address */
	struct http_guard_watchdog *watchdog; /* the body deadline (request_timeout) */
	char *listen_text;    /* `listen` as configured, for log lines */
	struct http_tls_addr *addrs; /* `listen`, parsed (a->shown is not kept) */
	size_t n_addrs;
	struct http_tls *tls; /* the TLS terminator, or NULL: CivetWeb serves `listen` */
	size_t threads_n;
	int64_t timeout_ms;   /* request_timeout: headers and body, together */

	/* CivetWeb */
	int lib_ready;         /* paired with mg_exit_library() in destroy */
	struct mg_context *mg;

	/* requests in flight, for drain() */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned inflight;
};

static void http_destroy(void *instance);

/* ---- options ---------------------------------------------------------------- */

/* One `listen` item, "A.B.C.D:port" or "[v6]:port", into `a` (a->shown
 * borrows `item`), with whether the address is loopback. 0, or -1 with a
 * reason in `why`. */
static int http_parse_listen(const char *item, struct http_tls_addr *a, int *is_loopback,
                             const char **why)
{
	const char *port_s;
	char *end = NULL;
	long port;
	size_t hl;

	memset(a, 0, sizeof *a);
	a->shown = item;
	*why = NULL;
	if (item == NULL || item[0] == '\0' || strlen(item) >= HTTP_ADDR_MAX) {
		*why = "is empty or too long";
		return -1;
	}
	if (item[0] == '[') {
		const char *close = strchr(item, ']');
		if (close == NULL || close[1] != ':') {
			*why = "must be \"[IPv6 address]:port\"";
			return -1;
		}
		hl = (size_t)(close - item - 1);
		port_s = close + 2;
		a->is_v6 = 1;
		item++;
	} else {
		const char *colon = strrchr(item, ':');
		if (colon == NULL) {
			*why = "needs a host: write \"127.0.0.1:PORT\" (or \"0.0.0.0:PORT\" for "
			       "every interface)";
			return -1;
		}
		hl = (size_t)(colon - item);
		port_s = colon + 1;
	}
	if (hl >= sizeof a->host) {
		*why = "has an address that is too long";
		return -1;
	}
	memcpy(a->host, item, hl);
	a->host[hl] = '\0';
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (port_s[0] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
		*why = "has no valid port (1-65535)";
		return -1;
	}
	a->port = (unsigned)port;
	if (a->is_v6) {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, a->host, &a6) != 1) {
			*why = "has no valid IPv6 address between the brackets";
			return -1;
		}
		*is_loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	} else {
		struct in_addr a4;
		if (inet_pton(AF_INET, a->host, &a4) != 1) {
			*why = "needs a numeric IPv4 address (127.0.0.1, 0.0.0.0) or a bracketed "
			       "IPv6 one ([::1]); host names are not resolved";
			return -1;
		}
		*is_loopback = (ntohl(a4.s_addr) >> 24) == 127;
	}
	return 0;
}

/* Bind `a` once and let go, so that a port in use or an address this host
 * does not have is reported by create(), before the daemon says it is
 * ready, rather than by start(). */
static int http_probe_bind(const struct http_tls_addr *a, const char **why)
{
	struct sockaddr_storage sa;
	socklen_t len = http_tls_addr_sockaddr(a, &sa);
	int one = 1, fd, rc = 0;

	fd = socket(a->is_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	/* as CivetWeb does: TIME_WAIT leftovers of a previous run are no conflict */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		*why = strerror(errno);
		rc = -1;
	}
	close(fd);
	return rc;
}

/* One `listen` item: parsed into `a`, and the rule of issue 4 (a listener
 * others can reach needs tokens and TLS, unless the operator says
 * `insecure: true`) applied; without TLS an IPv6 address needs a CivetWeb
 * built with IPv6. Binds nothing. */
static enum bc_status http_listen_item(const struct bc_host_api *api, const char *item,
                                       int insecure, int has_tokens, int is_tls,
                                       struct http_tls_addr *a, struct bc_error *err)
{
	const char *why = NULL;
	int is_loopback = 0;

	if (http_parse_listen(item, a, &is_loopback, &why) < 0)
		return api->fail(err, BC_E_INVALID, "http.bad_listen", "listen \"%s\" %s",
		                 item != NULL ? item : "", why);
	if (!is_loopback && !insecure && (!has_tokens || !is_tls))
		return api->fail(err, BC_E_INVALID, "http.insecure_listen",
		                 "listen \"%s\" is not a loopback address, and this instance "
		                 "has %s: anyone who reaches it could start streams and read "
		                 "the credentials they return. Set tokens_file and tls (cert, "
		                 "key), or listen on 127.0.0.1 behind a proxy that does both, "
		                 "or set insecure: true to accept the risk",
		                 item,
		                 !has_tokens && !is_tls ? "neither tokens_file nor tls"
		                 : !has_tokens          ? "no tokens_file"
		                                        : "no tls (cert, key)");
	if (!is_tls && a->is_v6 && !mg_check_feature(MG_FEATURES_IPV6))
		return api->fail(err, BC_E_UNSUPPORTED, "http.no_ipv6",
		                 "listen \"%s\": this CivetWeb (libcivetweb %s) was built "
		                 "without IPv6 (USE_IPV6); listen on an IPv4 address, or configure "
		                 "tls (the TLS listener does IPv6 itself)",
		                 item, mg_version());
	return BC_OK;
}

static enum bc_status http_check_listen(const struct bc_host_api *api,
                                        const struct bc_config *cfg, int is_tls,
                                        struct bc_error *err)
{
	size_t n = api->cfg_list_len(cfg, "listen");
	int has_tokens = api->cfg_is_set(cfg, "tokens_file");
	int insecure = api->cfg_bool(cfg, "insecure");
	struct http_tls_addr a;
	enum bc_status rc;

	if (n == 0)
		return api->fail(err, BC_E_INVALID, "http.no_listen",
		                 "listen is empty; give at least one address such as "
		                 "\"127.0.0.1:8080\"");
	for (size_t i = 0; i < n; i++) {
		rc = http_listen_item(api, api->cfg_list_at(cfg, "listen", i), insecure, has_tokens,
		                      is_tls, &a, err);
		if (rc != BC_OK)
			return rc;
	}
	return BC_OK;
}

/* Read `listen`, apply the rule of issue 4 (a listener others can reach
 * needs tokens and TLS, unless the operator says `insecure: true`), and set
 * up what serves it: the TLS terminator (binding now), or CivetWeb's
 * listening_ports (test-bound now, bound by start()). */
static enum bc_status http_read_listen(struct http_frontend *fe, const struct bc_config *cfg,
                                       const char *cert, const char *key, struct bc_error *err)
{
	const struct bc_host_api *api = fe->api;
	size_t n = api->cfg_list_len(cfg, "listen");
	int has_tokens = api->cfg_is_set(cfg, "tokens_file");
	int insecure = api->cfg_bool(cfg, "insecure");
	int is_tls = cert != NULL || key != NULL;
	struct http_tls_addr *addrs = NULL;
	enum bc_status rc = BC_OK;
	size_t cap, used = 0;

	if (n == 0)
		return http_check_listen(api, cfg, is_tls, err); /* says what is wrong */
	cap = n * (HTTP_ADDR_MAX + 8) + 16;
	fe->ports = calloc(1, cap);
	fe->listen_text = calloc(1, cap);
	addrs = calloc(n, sizeof *addrs);
	if (fe->ports == NULL || fe->listen_text == NULL || addrs == NULL) {
		rc = api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *item = api->cfg_list_at(cfg, "listen", i);
		const char *why = NULL;
		rc = http_listen_item(api, item, insecure, has_tokens, is_tls, &addrs[i], err);
		if (rc != BC_OK)
			goto out;
		used += (size_t)snprintf(fe->listen_text + used, cap - used, "%s%s", i ? "," : "",
		                         item);
		if (is_tls)
			continue; /* http_tls_create() binds them below */
		if (http_probe_bind(&addrs[i], &why) < 0) {
			rc = api->fail(err, BC_E_UNAVAILABLE, "http.listen_failed",
			               "cannot listen on %s: %s; choose a free address:port", item, why);
			goto out;
		}
	}
	if (!is_tls) {
		/* CivetWeb's syntax is the same: "127.0.0.1:8080,[::1]:8080" */
		memcpy(fe->ports, fe->listen_text, used + 1);
	} else {
		/* CivetWeb serves only the terminator, on an ephemeral loopback port */
		snprintf(fe->ports, cap, "127.0.0.1:0");
		rc = http_tls_create(api, fe->host, cert, key, addrs, n, 2 * fe->threads_n,
		                     fe->timeout_ms, fe->per_addr, &fe->tls, err);
	}
out:
	for (size_t i = 0; addrs != NULL && i < n; i++)
		addrs[i].shown = NULL; /* borrowed from the config view */
	fe->addrs = addrs;
	fe->n_addrs = n;
	return rc;
}

static enum bc_status http_check_cors(const struct bc_host_api *api,
                                      const struct bc_config *cfg, struct bc_error *err)
{
	size_t n = api->cfg_list_len(cfg, "cors_origins");
	for (size_t i = 0; i < n; i++) {
		const char *o = api->cfg_list_at(cfg, "cors_origins", i);
		if (o == NULL || strcmp(o, "*") == 0 || strchr(o, ',') != NULL ||
		    strncmp(o, "http", 4) != 0)
			return api->fail(err, BC_E_INVALID, "http.bad_cors_origin",
			                 "cors_origins: \"%s\" is not an origin; list each one as "
			                 "scheme://host[:port] (\"*\" is not allowed: the API takes "
			                 "credentials)",
			                 o != NULL ? o : "");
	}
	return BC_OK;
}

/* A copy of the list option `key` as a NULL-terminated array (NULL when the
 * list is empty), for the listener to keep after the config goes. */
static enum bc_status http_copy_list(const struct bc_host_api *api, const struct bc_config *cfg,
                                     const char *key, char ***out, struct bc_error *err)
{
	size_t n = api->cfg_list_len(cfg, key);
	if (n == 0)
		return BC_OK;
	*out = calloc(n + 1, sizeof **out);
	if (*out == NULL)
		return api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = strdup(api->cfg_list_at(cfg, key, i));
		if ((*out)[i] == NULL)
			return api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
	}
	return BC_OK;
}

static enum bc_status http_read_cors(struct http_frontend *fe, const struct bc_config *cfg,
                                     struct bc_error *err)
{
	enum bc_status rc = http_check_cors(fe->api, cfg, err);
	return rc != BC_OK ? rc : http_copy_list(fe->api, cfg, "cors_origins", &fe->cors, err);
}

/* `allowed_hosts`: host names (no port, no scheme) this listener answers
 * for, besides IP literals and localhost; "*" for any. */
static enum bc_status http_check_hosts(const struct bc_host_api *api,
                                       const struct bc_config *cfg, struct bc_error *err)
{
	size_t n = api->cfg_list_len(cfg, "allowed_hosts");
	for (size_t i = 0; i < n; i++) {
		const char *h = api->cfg_list_at(cfg, "allowed_hosts", i);
		if (h == NULL || h[0] == '\0' || strpbrk(h, ":/[] ,") != NULL)
			return api->fail(err, BC_E_INVALID, "http.bad_allowed_host",
			                 "allowed_hosts: \"%s\" is not a host name; list names as "
			                 "the Host header carries them, without scheme or port "
			                 "(\"api.example.com\"), or \"*\" for any",
			                 h != NULL ? h : "");
	}
	return BC_OK;
}

static enum bc_status http_read_hosts(struct http_frontend *fe, const struct bc_config *cfg,
                                      struct bc_error *err)
{
	enum bc_status rc = http_check_hosts(fe->api, cfg, err);
	return rc != BC_OK ? rc
	                  : http_copy_list(fe->api, cfg, "allowed_hosts", &fe->allowed_hosts, err);
}

/* ---- serving -------------------------------------------------------------------- */

/* The host part of a Host header value ("[::1]:8080" -> "::1",
 * "Example.COM:80" -> "Example.COM"), into out. 0, or -1 when malformed. */
static int http_host_name(const char *value, char *out, size_t out_len)
{
	const char *name = value, *end, *port;
	size_t n;

	if (value[0] == '[') {
		end = strchr(value, ']');
		if (end == NULL)
			return -1;
		name = value + 1;
		port = end + 1;
	} else {
		end = strchr(value, ':');
		if (end == NULL)
			end = value + strlen(value);
		port = end;
	}
	if (*port == ':') {
		port++;
		if (port[0] == '\0' || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
			return -1;
	} else if (*port != '\0') {
		return -1;
	}
	n = (size_t)(end - name);
	if (n == 0 || n >= out_len)
		return -1;
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

/* Whether to serve a request for `host` (the Host header). DNS rebinding
 * makes a browser send a page's own name to 127.0.0.1, so without tokens
 * (where the network position is the only credential) a name is served
 * only when it is localhost or listed in allowed_hosts. An IP literal
 * cannot be rebound and is always served. With tokens, any Host: a page
 * cannot learn a token by rebinding. */
static int http_host_allowed(const struct http_frontend *fe, const char *host)
{
	char name[256];
	unsigned char any[sizeof(struct in6_addr)];

	if (host == NULL) /* HTTP/1.0 without Host; 1.1 needs one (http_guard) */
		return 1;
	if (http_host_name(host, name, sizeof name) < 0)
		return 0;
	if (inet_pton(AF_INET, name, any) == 1 || inet_pton(AF_INET6, name, any) == 1 ||
	    strcasecmp(name, "localhost") == 0)
		return 1;
	for (size_t i = 0; fe->allowed_hosts != NULL && fe->allowed_hosts[i] != NULL; i++)
		if (strcmp(fe->allowed_hosts[i], "*") == 0 ||
		    strcasecmp(fe->allowed_hosts[i], name) == 0)
			return 1;
	return fe->allowed_hosts == NULL && fe->has_tokens;
}

/* Whether a request that can change something (not GET, HEAD, OPTIONS)
 * may come from `origin`: none given (not a browser), an allowed CORS
 * origin, or the listener's own origin (scheme://Host). A foreign page's
 * form or no-cors fetch carries its own Origin and is refused, so that a
 * web page cannot start or stop streams on a tokenless daemon. */
static int http_origin_allowed(const struct http_frontend *fe, const char *method,
                               const char *origin, const char *host, const char *cors_match)
{
	const char *rest;
	if (origin == NULL || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	    strcmp(method, "OPTIONS") == 0 || cors_match != NULL)
		return 1;
	if (host == NULL)
		return 0;
	rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
	       : strncmp(origin, "https://", 8) == 0 ? origin + 8
	                                             : NULL;
	(void)fe;
	return rest != NULL && strcasecmp(rest, host) == 0;
}

/* The allowed origin this request comes from, or NULL. */
static const char *http_cors_origin(const struct http_frontend *fe, struct mg_connection *conn)
{
	const char *origin;
	if (fe->cors == NULL || (origin = mg_get_header(conn, "Origin")) == NULL)
		return NULL;
	for (size_t i = 0; fe->cors[i] != NULL; i++)
		if (strcmp(fe->cors[i], origin) == 0)
			return fe->cors[i];
	return NULL;
}

/* The token of "Authorization: Bearer TOKEN"; "" for any other scheme (so
 * the dispatcher answers 401 rather than treating the caller as anonymous);
 * NULL without the header. Points into CivetWeb's request buffer. */
static const char *http_bearer(struct mg_connection *conn)
{
	const char *h = mg_get_header(conn, "Authorization");
	if (h == NULL)
		return NULL;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return "";
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	return h;
}

/* Copy `path` for a log line: printable ASCII as is, anything else as %XX,
 * cut at HTTP_LOG_PATH_MAX, so a client cannot forge or flood log lines. */
static void http_log_path(const char *path, char *out, size_t out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)path; *p && o + 4 < out_len; p++) {
		if (o >= HTTP_LOG_PATH_MAX) {
			out[o++] = '.';
			out[o++] = '.';
			out[o++] = '.';
			break;
		}
		if (*p > 0x20 && *p < 0x7f && *p != '%') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		}
	}
	out[o] = '\0';
}

/* Read the body: at most max_body + 1 bytes, enough for the dispatcher to
 * see it is too large. *complete is 1 when the whole body was read (the
 * connection may then be kept alive), *failed when the client stopped
 * sending (request_timeout) or went away. Returns a malloc'd buffer or NULL
 * when there is no body. */
static char *http_read_body(struct http_frontend *fe, struct mg_connection *conn,
                            const struct mg_request_info *ri, int64_t t0, size_t *len,
                            int *complete, int *failed, int *sent_continue)
{
	size_t cap = fe->max_body + 1, n = 0;
	const char *expect = mg_get_header(conn, "Expect");
	struct http_guard_deadline deadline;
	char *buf;

	*len = 0;
	*complete = 1;
	*failed = 0;
	*sent_continue = 0;
	if (ri->content_length == 0)
		return NULL;
	/* No body (GET without Content-Length) reads 0 at once. CivetWeb does not
	 * answer "Expect: 100-continue" for request handlers; without this the
	 * client waits a second or so before sending the body. */
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    ri->http_version != NULL && strcmp(ri->http_version, "1.1") == 0) {
		mg_printf(conn, "HTTP/1.1 100 Continue\r\n\r\n");
		*sent_continue = 1;
	}
	if (ri->content_length > 0 && (unsigned long long)ri->content_length < cap)
		cap = (size_t)ri->content_length;
	buf = malloc(cap + 1);
	if (buf == NULL) {
		*failed = 1;
		return NULL;
	}
	/* request_timeout is one deadline for headers and body: CivetWeb has
	 * half of it for the headers, and the body must be in within the other
	 * half of the handler's start. CivetWeb's own timeout would not end a
	 * body sent a byte now and then (issue 17): the watchdog does. */
	http_guard_deadline_arm(fe->watchdog, conn, fe->timeout_ms / 2 - (fe->api->monotonic_ms() - t0),
	                        &deadline);
	while (n < cap) {
		int r = mg_read(conn, buf + n, cap - n);
		if (r < 0) {
			*failed = 1;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (http_guard_deadline_disarm(fe->watchdog, &deadline))
		*failed = 1;
	if (*failed || n > fe->max_body ||
	    (ri->content_length > 0 && (long long)n < ri->content_length))
		*complete = 0;
	if (ri->content_length > 0 && (long long)n < ri->content_length && n <= fe->max_body)
		*failed = 1; /* the connection ended before the announced length */
	buf[n] = '\0';
	*len = n;
	if (n == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The value of the Connection header CivetWeb itself would send: keep-alive
 * for an HTTP/1.1 request that did not ask to close (or a 1.0 one that
 * asked to keep it), close otherwise. enable_keep_alive is always on. */
static const char *http_connection_value(const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *hdr = mg_get_header(conn, "Connection");

	if (hdr != NULL)
		return strcasestr(hdr, "keep-alive") != NULL ? "keep-alive" : "close";
	return (ri != NULL && ri->http_version != NULL && strcmp(ri->http_version, "1.1") == 0)
	               ? "keep-alive"
	               : "close";
}

/* Write one complete response. `extra` is a NULL-terminated name/value list.
 *
 * The status line, the headers and the body leave in one write: CivetWeb's
 * mg_response_header_send() writes every header line with a send() of its
 * own, and with TCP_NODELAY each became a packet, about ten a response,
 * which cost more CPU than the request itself (perf and strace -c of a
 * start+stop load, docs/performance.md). Writing the response ourselves is
 * what CivetWeb allows a handler (mg_write of a whole response); the
 * headers are the ones it would add (Date, Connection) plus ours.
 * `is_raw`: after an interim "100 Continue" CivetWeb no longer tracks the
 * connection's state, so it is closed after the response. */
static void http_send(struct mg_connection *conn, int status, const char *content_type,
                      const char *body, size_t body_len, int is_head, int must_close,
                      int is_raw, const char *cors_origin, const char *const *extra)
{
	const char *names[24], *values[24];
	char status_line[96], clen[32], date[64];
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *version = (ri != NULL && ri->http_version != NULL) ? ri->http_version : "1.1";
	size_t n = 0, len, at, send_body = (!is_head && body_len > 0) ? body_len : 0;
	time_t now = time(NULL);
	struct tm tm;
	char *out;

	snprintf(clen, sizeof clen, "%zu", body_len);
	if (content_type != NULL) {
		names[n] = "Content-Type";
		values[n++] = content_type;
	}
	names[n] = "Content-Length";
	values[n++] = clen;
	names[n] = "Cache-Control";
	values[n++] = "no-store";
	names[n] = "X-Content-Type-Options";
	values[n++] = "nosniff";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 18; i += 2)
		if (extra[i + 1] != NULL) {
			names[n] = extra[i];
			values[n++] = extra[i + 1];
		}
	if (cors_origin != NULL) {
		names[n] = "Access-Control-Allow-Origin";
		values[n++] = cors_origin;
		names[n] = "Vary";
		values[n++] = "Origin";
	}
	if (gmtime_r(&now, &tm) != NULL &&
	    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0) {
		names[n] = "Date";
		values[n++] = date;
	}
	/* unread body bytes would be taken for the next request: end here */
	names[n] = "Connection";
	values[n++] = (must_close || is_raw) ? "close" : http_connection_value(conn);

	snprintf(status_line, sizeof status_line, "HTTP/%s %d %s\r\n",
	         strcmp(version, "1.0") == 0 ? "1.0" : "1.1", status,
	         mg_get_response_code_text(conn, status));
	len = strlen(status_line) + 2 + send_body;
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 2 + strlen(values[i]) + 2;
	out = malloc(len);
	if (out == NULL) {
		mg_printf(conn, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
		                "Connection: close\r\n\r\n");
		return;
	}
	at = strlen(status_line);
	memcpy(out, status_line, at);
	/* Bytes, not strings: the buffer is sized exactly and never
	 * NUL-terminated. */
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(names[i]), lv = strlen(values[i]);
		memcpy(out + at, names[i], ln);
		at += ln;
		out[at++] = ':';
		out[at++] = ' ';
		memcpy(out + at, values[i], lv);
		at += lv;
		out[at++] = '\r';
		out[at++] = '\n';
	}
	out[at++] = '\r';
	out[at++] = '\n';
	if (send_body > 0)
		memcpy(out + at, body, send_body);
	mg_write(conn, out, at + send_body);
	free(out);
}

static void http_access_log(struct http_frontend *fe, const char *method, const char *path,
                            int status, const char *caller, int64_t t0)
{
	char shown[HTTP_LOG_PATH_MAX * 3 + 8];
	if (!fe->access_log)
		return;
	/* the path only: the query string may carry tokens or names */
	http_log_path(path, shown, sizeof shown);
	fe->api->log(fe->host, BC_LOG_INFO, "%s %s %d %s %" PRId64 "ms", method, shown, status,
	             caller != NULL ? caller : "-", fe->api->monotonic_ms() - t0);
}

/* Answer a CORS preflight from an allowed origin for a routed path. */
static int http_preflight(struct http_frontend *fe, struct mg_connection *conn,
                          const char *origin, const char *path, int64_t t0)
{
	const char *const extra[] = {
		"Access-Control-Allow-Methods", "GET, POST, HEAD",
		"Access-Control-Allow-Headers", "Authorization, Content-Type",
		"Access-Control-Max-Age", "600",
		NULL,
	};
	http_send(conn, 204, NULL, NULL, 0, 1, 0, 0, origin, extra);
	http_access_log(fe, "OPTIONS", path, 204, "-", t0);
	return 204;
}

/* Answer with a JSON error before the dispatcher sees the request (what
 * only the transport can judge), and end the connection: its unread bytes
 * are never taken for a next request. */
static int http_refuse(struct http_frontend *fe, struct mg_connection *conn, const char *method,
                       const char *path, int64_t t0, int status, const char *code,
                       const char *message)
{
	http_guard_refuse(conn, status, code, message, NULL);
	http_access_log(fe, method, path, status, "-", t0);
	return status;
}

/* What the transport refuses before the dispatcher: a request CivetWeb
 * framed leniently (http_guard.h), a Host this listener does not answer
 * for, a foreign page's request that changes something. 0 to go on, else
 * the status sent. */
static int http_screen(struct http_frontend *fe, struct mg_connection *conn,
                       const struct mg_request_info *ri, const char *method, const char *path,
                       const char *cors_match, int64_t t0)
{
	const char *host = mg_get_header(conn, "Host");
	const char *why = http_guard_framing(ri);
	int status;

	if (why != NULL) {
		fe->api->log(fe->host, BC_LOG_INFO, "refused a request from %s: %s", ri->remote_addr,
		             why);
		return http_refuse(fe, conn, method, path, t0, 400, "http.bad_framing", why);
	}
	/* with TLS, http_tls.c bounds the real client addresses itself */
	status = http_guard_admit(fe->tls == NULL ? fe->per_addr : NULL, conn, "http");
	if (status != 0) {
		http_access_log(fe, method, path, status, "-", t0);
		return status;
	}
	if (!http_host_allowed(fe, host))
		return http_refuse(fe, conn, method, path, t0, 421, "http.unknown_host",
		                   "this server does not answer for that Host; without tokens it "
		                   "serves only localhost and IP addresses (allowed_hosts adds names)");
	if (!http_origin_allowed(fe, method, mg_get_header(conn, "Origin"), host, cors_match))
		return http_refuse(fe, conn, method, path, t0, 403, "http.cross_origin",
		                   "a request from another web origin may not change anything; "
		                   "list the origin in cors_origins to allow it");
	return 0;
}

static int http_handle(struct mg_connection *conn, void *cbdata)
{
	struct http_frontend *fe = cbdata;
	const struct bc_host_api *api = fe->api;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int64_t t0 = api->monotonic_ms();
	struct http_route route;
	struct bc_request req;
	struct bc_response resp;
	const char *path, *method, *origin;
	char peer[64], retry[16];
	char *body = NULL;
	size_t body_len = 0;
	int complete = 1, failed = 0, sent_continue = 0, status;

	pthread_mutex_lock(&fe->lock);
	fe->inflight++;
	pthread_mutex_unlock(&fe->lock);

	path = ri->local_uri_raw != NULL ? ri->local_uri_raw
	       : ri->local_uri != NULL   ? ri->local_uri
	                                 : "";
	method = ri->request_method != NULL ? ri->request_method : "";
	if (fe->tls != NULL) {
		/* With TLS, CivetWeb listens on an internal loopback port for the
		 * relays of http_tls.c; a local process that connects there itself
		 * would bypass TLS and pose as any client address */
		if (http_tls_peer(fe->tls, ri->remote_addr, (unsigned)ri->remote_port, peer,
		                  sizeof peer) < 0) {
			status = http_refuse(fe, conn, method, path, t0, 403, "http.tls_required",
			                     "this port is the TLS listener's internal one; connect "
			                     "over TLS to a configured listen address");
			goto out;
		}
	} else if (strchr(ri->remote_addr, ':') != NULL) {
		snprintf(peer, sizeof peer, "[%s]", ri->remote_addr);
	} else {
		snprintf(peer, sizeof peer, "%s", ri->remote_addr);
	}
	http_route_match(path, &route);
	origin = http_cors_origin(fe, conn);
	status = http_screen(fe, conn, ri, method, path, origin, t0);
	if (status != 0)
		goto out;
	if (origin != NULL && route.op != NULL && strcmp(method, "OPTIONS") == 0 &&
	    mg_get_header(conn, "Access-Control-Request-Method") != NULL) {
		status = http_preflight(fe, conn, origin, path, t0);
		goto out;
	}

	body = http_read_body(fe, conn, ri, t0, &body_len, &complete, &failed, &sent_continue);
	if (failed) {
		/* a body that stopped arriving, or a connection that broke before
		 * the announced length: nothing the dispatcher could judge */
		status = http_refuse(fe, conn, method, path, t0, 408, "http.request_timeout",
		                     "the request body did not arrive in full within "
		                     "request_timeout; send it at once");
		goto out;
	}

	memset(&req, 0, sizeof req);
	req.struct_size = sizeof req;
	req.op = route.op;
	req.method = method;
	req.query = ri->query_string;
	req.body = body;
	req.body_len = body_len;
	req.content_type = mg_get_header(conn, "Content-Type");
	req.params = route.params[0] != NULL ? route.params : NULL;
	req.bearer = http_bearer(conn);
	req.caller = NULL; /* HTTP verifies no identity itself: the token does */
	req.peer = peer;

	memset(&resp, 0, sizeof resp);
	resp.struct_size = sizeof resp;
	api->call(fe->host, &req, &resp);

	retry[0] = '\0';
	if (resp.retry_after > 0)
		snprintf(retry, sizeof retry, "%u", resp.retry_after);
	{
		const char *const extra[] = {
			"Allow", resp.allow,
			"WWW-Authenticate", resp.www_authenticate,
			"Retry-After", retry[0] ? retry : NULL,
			NULL,
		};
		http_send(conn, resp.status, resp.content_type, resp.body, resp.body_len,
		          strcmp(method, "HEAD") == 0, !complete, sent_continue, origin, extra);
	}
	status = resp.status;
	/* an unread rest of a body (413) must not be read as the next request */
	if (!complete)
		http_guard_close(conn);
	http_access_log(fe, method, path, status, resp.caller, t0);
	api->response_release(&resp);
out:
	free(body);
	pthread_mutex_lock(&fe->lock);
	if (--fe->inflight == 0)
		pthread_cond_broadcast(&fe->idle);
	pthread_mutex_unlock(&fe->lock);
	return status;
}

/* CivetWeb's own complaints (malformed requests, accept errors). Its
 * messages can quote a request line: the query string is cut off. (Not
 * http_guard_set_callbacks(), the providers' four: this cut, and the TLS
 * relay's own per-address bound below, are the frontend's alone.) */
static int http_log_message(const struct mg_connection *conn, const char *message)
{
	struct mg_context *ctx = mg_get_context(conn);
	struct http_frontend *fe = ctx != NULL ? mg_get_user_data(ctx) : NULL;
	char shown[512];
	if (fe == NULL)
		return 1;
	snprintf(shown, sizeof shown, "%s", message);
	shown[strcspn(shown, "?\r\n")] = '\0';
	fe->api->log(fe->host, BC_LOG_WARN, "civetweb: %s", shown);
	return 1;
}

/* CivetWeb's own refusals (malformed requests, headers too large, TRACE)
 * in the API's JSON error shape. */
static int http_civetweb_error(struct mg_connection *conn, int status, const char *errmsg)
{
	(void)errmsg; /* may quote the request */
	return http_guard_civetweb_error(conn, status, "http");
}

/* The bound on connections per client address (http_guard.h). With TLS
 * every connection CivetWeb sees is a relay's, bounded by http_tls.c. */
static int http_init_connection(const struct mg_connection *conn, void **conn_data)
{
	http_guard_on_connect(conn, conn_data);
	return 0;
}

static void http_connection_close(const struct mg_connection *conn)
{
	struct http_frontend *fe = mg_get_user_data(mg_get_context(conn));
	http_guard_on_close(fe->tls == NULL ? fe->per_addr : NULL, conn);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static const char *http_opt(const struct bc_host_api *api, const struct bc_config *cfg,
                            const char *key)
{
	return api->cfg_is_set(cfg, key) ? api->cfg_str(cfg, key) : NULL;
}

/* ABI 1.1 check(): every rule of the options that needs no port, in the
 * order create() meets them: `listen` (syntax, the rule of issue 4, IPv6),
 * the TLS files (readable, a certificate chain and the key that belongs to
 * it), cors_origins, allowed_hosts. Binds nothing: a port in use is
 * create()'s to find. */
static enum bc_status http_check(const struct bc_host_api *api, const struct bc_config *cfg,
                                 struct bc_error *err)
{
	const char *cert = http_opt(api, cfg, "tls.cert"), *key = http_opt(api, cfg, "tls.key");
	int is_tls = cert != NULL || key != NULL;
	enum bc_status rc = http_check_listen(api, cfg, is_tls, err);

	if (rc == BC_OK && is_tls)
		rc = http_tls_check(api, cert, key, api->cfg_list_len(cfg, "listen"), err);
	if (rc == BC_OK)
		rc = http_check_cors(api, cfg, err);
	if (rc == BC_OK)
		rc = http_check_hosts(api, cfg, err);
	return rc;
}

/* drain()'s wait runs on CLOCK_MONOTONIC: a step of the wall clock must
 * neither lengthen nor cut it. */
static void http_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

static enum bc_status http_create(const struct bc_host_api *api, struct bc_host *host,
                                  const struct bc_config *cfg, void **instance,
                                  struct bc_error *err)
{
	enum bc_status rc;
	struct http_frontend *fe;
	const char *cert, *key;

	/* The host ran check() already; again here, so that a direct create()
	 * answers the same and nothing is bound for a configuration it refuses. */
	rc = http_check(api, cfg, err);
	if (rc != BC_OK)
		return rc;
	fe = calloc(1, sizeof *fe);
	if (fe == NULL)
		return api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
	fe->api = api;
	fe->host = host;
	pthread_mutex_init(&fe->lock, NULL);
	http_cond_init_monotonic(&fe->idle);

	/* Reference-counted inside CivetWeb, so the local provider in the same
	 * process may call it too. No TLS asked of CivetWeb: http_tls.c does it. */
	mg_init_library(0);
	fe->lib_ready = 1;

	fe->threads_n = (size_t)api->cfg_int(cfg, "threads");
	fe->timeout_ms = api->cfg_int(cfg, "request_timeout");
	snprintf(fe->threads, sizeof fe->threads, "%zu", fe->threads_n);
	/* half for the headers, half for the body: http_read_body() */
	snprintf(fe->request_timeout_ms, sizeof fe->request_timeout_ms, "%" PRId64,
	         fe->timeout_ms / 2);
	snprintf(fe->keep_alive_ms, sizeof fe->keep_alive_ms, "%" PRId64,
	         api->cfg_int(cfg, "keep_alive_timeout"));
	/* a host-wide option: its default and bounds are the host's */
	fe->max_body = (size_t)api->cfg_int(cfg, "max_body");
	fe->access_log = api->cfg_bool(cfg, "access_log");
	fe->has_tokens = api->cfg_is_set(cfg, "tokens_file");
	fe->per_addr = http_guard_conns_create(fe->threads_n,
	                                       (size_t)api->cfg_int(cfg, "max_connections_per_address"));
	if (fe->per_addr == NULL) {
		rc = api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
		goto out;
	}

	cert = http_opt(api, cfg, "tls.cert");
	key = http_opt(api, cfg, "tls.key");
	rc = http_read_listen(fe, cfg, cert, key, err);
	if (rc != BC_OK)
		goto out;
	rc = http_read_cors(fe, cfg, err);
	if (rc == BC_OK)
		rc = http_read_hosts(fe, cfg, err);
out:
	if (rc != BC_OK) {
		http_destroy(fe);
		return rc;
	}
	*instance = fe;
	return BC_OK;
}

static enum bc_status http_start(void *instance, struct bc_error *err)
{
	struct http_frontend *fe = instance;
	const struct bc_host_api *api = fe->api;
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data edata;
	char etext[256] = "";
	unsigned ecode = 0;
	const char *options[32];
	size_t n = 0;

	options[n++] = "listening_ports";
	options[n++] = fe->ports;
	options[n++] = "num_threads";
	options[n++] = fe->threads;
	options[n++] = "request_timeout_ms";
	options[n++] = fe->request_timeout_ms;
	options[n++] = "enable_keep_alive";
	options[n++] = "yes";
	options[n++] = "keep_alive_timeout_ms";
	options[n++] = fe->keep_alive_ms;
	/* DESIGN.md §9: a response in two writes otherwise waits ~40 ms for the
	 * client's delayed ACK */
	options[n++] = "tcp_nodelay";
	options[n++] = "1";
	/* CivetWeb answers OPTIONS preflights itself, for any origin, before
	 * request handlers run, unless these are empty: CORS is ours to decide */
	options[n++] = "access_control_allow_methods";
	options[n++] = "";
	options[n++] = "access_control_allow_origin";
	options[n++] = "";
	/* http_guard_framing() knows this size */
	options[n++] = "max_request_size";
	options[n++] = HTTP_GUARD_MAX_REQUEST_TEXT;
	options[n] = NULL;

	memset(&cb, 0, sizeof cb);
	cb.log_message = http_log_message;
	cb.http_error = http_civetweb_error;
	cb.init_connection = http_init_connection;
	cb.connection_close = http_connection_close;
	memset(&init, 0, sizeof init);
	init.callbacks = &cb;
	init.user_data = fe;
	init.configuration_options = options;
	memset(&edata, 0, sizeof edata);
	edata.code = &ecode;
	edata.text = etext;
	edata.text_buffer_size = sizeof etext;
	fe->mg = mg_start2(&init, &edata);
	if (fe->mg == NULL)
		return api->fail(err, BC_E_UNAVAILABLE, "http.listen_failed",
		                 "cannot serve on %s: %s", fe->ports,
		                 etext[0] ? etext : "CivetWeb did not start");
	mg_set_request_handler(fe->mg, "/", http_handle, fe);
	mg_set_auth_handler(fe->mg, "/", http_guard_auth_none, NULL); /* no .htpasswd stat() */
	fe->watchdog = http_guard_watchdog_start();
	if (fe->watchdog == NULL)
		return api->fail(err, BC_E_INTERNAL, "http.thread_failed",
		                 "cannot start the request deadline thread");
	if (fe->tls != NULL) {
		struct mg_server_port port;
		enum bc_status rc;
		if (mg_get_server_ports(fe->mg, 1, &port) != 1)
			return api->fail(err, BC_E_INTERNAL, "http.no_port",
			                 "CivetWeb did not say which internal port it bound");
		rc = http_tls_start(fe->tls, (unsigned)port.port, err);
		if (rc != BC_OK)
			return rc;
		api->log(fe->host, BC_LOG_INFO, "listening on %s with TLS 1.2+ (%s threads, "
		         "relayed to 127.0.0.1:%d)", fe->listen_text, fe->threads, port.port);
		return BC_OK;
	}
	api->log(fe->host, BC_LOG_INFO, "listening on %s (%s threads)", fe->ports, fe->threads);
	return BC_OK;
}

/* CivetWeb 1.15's mg_stop() waits for its accept thread, which looks at the
 * stop flag only when its poll() returns: up to 2 s with no client. This
 * thread connects to each plain listener until mg_stop() is done, so every
 * stop (SIGTERM, a reload replacing the instance) takes milliseconds. With
 * TLS, CivetWeb's one listener is the internal port. */
struct http_waker {
	struct http_frontend *fe;
	unsigned internal_port; /* TLS: CivetWeb's port on 127.0.0.1; else 0 */
	pthread_mutex_t lock;
	int done;
};

static void http_poke(const struct http_tls_addr *a, unsigned internal_port)
{
	struct http_tls_addr to = *a;
	struct sockaddr_storage sa;
	socklen_t len;
	int fd;

	/* TLS: CivetWeb listens on 127.0.0.1:internal_port only. A wildcard
	 * listener is reached through loopback. */
	if (internal_port) {
		to.is_v6 = 0;
		to.port = internal_port;
		snprintf(to.host, sizeof to.host, "127.0.0.1");
	} else if (strcmp(to.host, "0.0.0.0") == 0) {
		snprintf(to.host, sizeof to.host, "127.0.0.1");
	}
	len = http_tls_addr_sockaddr(&to, &sa);
	if (to.is_v6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&sa)->sin6_addr))
		((struct sockaddr_in6 *)&sa)->sin6_addr = in6addr_loopback;
	fd = socket(to.is_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	/* non-blocking: only the SYN matters, never wait for it */
	(void)connect(fd, (struct sockaddr *)&sa, len);
	close(fd);
}

static void *http_waker_main(void *arg)
{
	struct http_waker *w = arg;
	struct timespec pause = { 0, 20 * 1000000L };
	for (;;) {
		int done;
		pthread_mutex_lock(&w->lock);
		done = w->done;
		pthread_mutex_unlock(&w->lock);
		if (done)
			return NULL;
		if (w->internal_port != 0)
			http_poke(&w->fe->addrs[0], w->internal_port);
		else
			for (size_t i = 0; i < w->fe->n_addrs; i++)
				http_poke(&w->fe->addrs[i], 0);
		nanosleep(&pause, NULL);
	}
}

/* mg_stop(), quickly (see struct http_waker). */
static void http_stop_civetweb(struct http_frontend *fe)
{
	struct http_waker w = { .fe = fe };
	struct mg_server_port port;
	pthread_t thread;
	int have_thread;

	if (fe->tls != NULL && mg_get_server_ports(fe->mg, 1, &port) == 1)
		w.internal_port = (unsigned)port.port;
	pthread_mutex_init(&w.lock, NULL);
	have_thread = fe->addrs != NULL && fe->n_addrs > 0 &&
	              pthread_create(&thread, NULL, http_waker_main, &w) == 0;
	/* closes the listeners and idle keep-alive connections, and joins every
	 * worker: a call() in flight finishes first, so none runs afterwards */
	mg_stop(fe->mg);
	fe->mg = NULL;
	if (have_thread) {
		pthread_mutex_lock(&w.lock);
		w.done = 1;
		pthread_mutex_unlock(&w.lock);
		pthread_join(thread, NULL);
	}
	pthread_mutex_destroy(&w.lock);
}

static void http_drain(void *instance, int64_t timeout_ms)
{
	struct http_frontend *fe = instance;
	struct timespec until;

	if (fe->mg == NULL)
		return;
	http_tls_stop_accepting(fe->tls);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(timeout_ms / 1000);
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fe->lock);
	if (fe->inflight > 0)
		fe->api->log(fe->host, BC_LOG_INFO, "draining %u request(s)", fe->inflight);
	while (fe->inflight > 0 && timeout_ms > 0)
		if (pthread_cond_timedwait(&fe->idle, &fe->lock, &until) == ETIMEDOUT)
			break;
	if (fe->inflight > 0)
		fe->api->log(fe->host, BC_LOG_WARN, "%u request(s) still running after %" PRId64
		             " ms; waiting for them to end", fe->inflight, timeout_ms);
	pthread_mutex_unlock(&fe->lock);
	http_stop_civetweb(fe);
}

static void http_destroy(void *instance)
{
	struct http_frontend *fe = instance;
	if (fe == NULL)
		return;
	if (fe->mg != NULL)
		http_drain(fe, 0);
	/* after CivetWeb stopped: every relay's backend is closed by now, and
	 * no handler has a deadline armed */
	http_tls_destroy(fe->tls);
	http_guard_watchdog_stop(fe->watchdog);
	free(fe->listen_text);
	free(fe->addrs);
	if (fe->lib_ready)
		mg_exit_library();
	for (size_t i = 0; fe->cors != NULL && fe->cors[i] != NULL; i++)
		free(fe->cors[i]);
	free(fe->cors);
	for (size_t i = 0; fe->allowed_hosts != NULL && fe->allowed_hosts[i] != NULL; i++)
		free(fe->allowed_hosts[i]);
	free(fe->allowed_hosts);
	http_guard_conns_destroy(fe->per_addr);
	free(fe->ports);
	pthread_cond_destroy(&fe->idle);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

/* ---- option table, descriptor, entry ------------------------------------------------ */

static const struct bc_option http_options[] = {
	BC_OPTION(.name = "listen", .type = BC_OPT_LIST, .flags = BC_OPT_NONEMPTY,
	          .default_value = "127.0.0.1:8080",
	          .description = "Addresses to serve on, each \"A.B.C.D:PORT\" or "
	                         "\"[IPv6]:PORT\" (numeric). An address other than loopback "
	                         "needs tokens_file and tls, or insecure: true."),
	BC_OPTION(.name = "threads", .type = BC_OPT_INT, .default_value = "32", .min = 2,
	          .max = 4096,
	          .description = "Worker threads. Each open keep-alive connection holds one, so "
	                         "size it for the clients you expect at once."),
	BC_OPTION(.name = "tls.cert", .type = BC_OPT_STRING,
	          .description = "PEM certificate chain file; with tls.key, serves HTTPS "
	                         "(TLS 1.2 and newer) on every listen address."),
	BC_OPTION(.name = "tls.key", .type = BC_OPT_STRING,
	          .description = "PEM private key file of tls.cert (keep it mode 0600)."),
	BC_OPTION(.name = "request_timeout", .type = BC_OPT_DURATION, .default_value = "30s",
	          .min = 100, .max = 3600000,
	          .description = "How long a client may take to send a request, headers and "
	                         "body together; a slower one gets 408 and is disconnected."),
	BC_OPTION(.name = "keep_alive_timeout", .type = BC_OPT_DURATION, .default_value = "5s",
	          .min = 100, .max = 3600000,
	          .description = "How long an idle keep-alive connection stays open (it holds a "
	                         "worker thread meanwhile)."),
	BC_OPTION(.name = "cors_origins", .type = BC_OPT_LIST,
	          .description = "Browser origins (scheme://host[:port]) allowed to call the API; "
	                         "preflights from others are not answered. Unset: CORS off."),
	BC_OPTION(.name = "max_connections_per_address", .type = BC_OPT_INT, .default_value = "0",
	          .min = 0, .max = 4096,
	          .description = "Connections one client address may hold open at once. 0: half "
	                         "of threads for non-loopback addresses, no bound for loopback "
	                         "ones (a reverse proxy on this host brings every client from "
	                         "127.0.0.1); a number bounds every address, loopback included."),
	BC_OPTION(.name = "allowed_hosts", .type = BC_OPT_LIST,
	          .description = "Host names (without port) this listener answers for, besides "
	                         "IP addresses and localhost; \"*\" for any. Unset: any Host with "
	                         "tokens_file, else only IP addresses and localhost (against DNS "
	                         "rebinding)."),
	BC_OPTION(.name = "access_log", .type = BC_OPT_BOOL, .default_value = "true",
	          .description = "Log one info line per request: method, path (never the query "
	                         "string), status, caller, duration."),
	BC_OPTION(.name = "insecure", .type = BC_OPT_BOOL, .default_value = "false",
	          .description = "Allow a non-loopback listen address without tokens_file or "
	                         "without tls (for a trusted network or a TLS proxy)."),
	BC_OPTION_END,
};

static const struct bc_frontend_ops http_ops = {
	.struct_size = sizeof(struct bc_frontend_ops),
	.create = http_create,
	.start = http_start,
	.drain = http_drain,
	.destroy = http_destroy,
	.check = http_check,
};

static const struct bc_plugin http_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_FRONTEND,
	.name = "http",
	.version = PACKAGE_VERSION,
	.description = "The HTTP API (django-broadcast's wire format) on CivetWeb",
	.flags = BC_PLUGIN_THREAD_SAFE,
	.options = http_options,
	.ops = &http_ops);

static const struct bc_plugin *const http_plugins[] = { &http_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	if (host_major != BC_ABI_MAJOR)
		return NULL;
	return http_plugins;
}
