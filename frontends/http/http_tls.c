/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_tls.c: TLS for the HTTP frontend, terminated here with OpenSSL and
 * relayed in plain text to CivetWeb over loopback.
 *
 * Why not CivetWeb's own TLS: CivetWeb loads OpenSSL itself at run time, and
 * Debian bookworm's libcivetweb 1.15 was built for the OpenSSL 1.1 API. With
 * OpenSSL 3 its loader fails (SSL_get_peer_certificate is no longer
 * exported), mg_init_library() reports TLS as not initialised, and an "s"
 * port still opens and then crashes the process on the first handshake
 * through a NULL function pointer. So the frontend owns TLS: this file binds
 * the configured addresses, accepts, performs the TLS 1.2+ handshake with the
 * system's OpenSSL, and relays bytes both ways to CivetWeb's internal
 * listener on 127.0.0.1 (an ephemeral port). CivetWeb then parses HTTP as
 * for any plain connection.
 *
 * The real client address: each relay connects from its own loopback port
 * and registers "that port is client X" before sending a byte, and the
 * request handler asks http_tls_peer() with the remote port CivetWeb saw.
 * A connection to the internal port that is no relay of ours (another local
 * process) is unknown there and refused by http.c.
 *
 * The central type is struct http_tls: listeners, the SSL_CTX, a table of
 * relays. Threads: one accept thread, plus one thread per connection (at
 * most max_conns; more are closed at once) that relays with poll(); every
 * thread is joined, never detached, so no code of this .so runs after
 * http_tls_destroy().
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http_guard.h"
#include "http_tls.h"

#define HTTP_TLS_MAX_LISTENERS 16
#define HTTP_TLS_BUF 16384

struct http_tls_conn {
	struct http_tls *tls;
	pthread_t thread;
	int fd;              /* the client's socket */
	unsigned local_port; /* our end of the connection to CivetWeb; 0 until connected */
	char peer[64];       /* the client's address, for http_tls_peer() */
	char addr[48];       /* the same, unbracketed: its key in tls->conns_per_addr */
	int done;            /* the thread has ended: join and free it */
	struct http_tls_conn *next;
};

struct http_tls {
	const struct bc_host_api *api;
	struct bc_host *host;
	SSL_CTX *ctx;
	int listeners[HTTP_TLS_MAX_LISTENERS];
	size_t n_listeners;
	int accept_pipe[2];  /* written once: stops the accept thread */
	int stop_pipe[2];    /* written once, at destroy: ends every relay */
	unsigned backend_port;
	size_t max_conns;
	int64_t timeout_ms;
	struct http_guard_conns *per_addr; /* the frontend's; borrowed */
	pthread_t accept_thread;
	int accept_running;

	pthread_mutex_t lock;
	struct http_tls_conn *conns;
	size_t n_conns;
};

/* The first OpenSSL error as text, for messages. */
static const char *http_tls_ssl_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A TLS 1.2+ server context with `cert` and `key` loaded and checked to
 * belong together, in *out; the caller frees it. */
static enum bc_status http_tls_ctx_new(const struct bc_host_api *api, const char *cert,
                                       const char *key, SSL_CTX **out, struct bc_error *err)
{
	char ebuf[256];
	SSL_CTX *ctx;

	*out = NULL;
	if (cert == NULL || key == NULL || cert[0] == '\0' || key[0] == '\0')
		return api->fail(err, BC_E_INVALID, "http.tls_incomplete",
		                 "tls needs both `cert` (PEM certificate chain) and `key` (PEM "
		                 "private key)");
	if (access(cert, R_OK) != 0)
		return api->fail(err, BC_E_INVALID, "http.tls_cert_unreadable",
		                 "tls.cert %s cannot be read: %s", cert, strerror(errno));
	if (access(key, R_OK) != 0)
		return api->fail(err, BC_E_INVALID, "http.tls_key_unreadable",
		                 "tls.key %s cannot be read: %s", key, strerror(errno));
	ctx = *out = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return api->fail(err, BC_E_INTERNAL, "http.tls_init", "OpenSSL: %s",
		                 http_tls_ssl_error(ebuf, sizeof ebuf));
	/* issue 4: TLS 1.2 and newer only */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return api->fail(err, BC_E_INVALID, "http.tls_bad_cert",
		                 "tls.cert %s is not a usable PEM certificate chain: %s", cert,
		                 http_tls_ssl_error(ebuf, sizeof ebuf));
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return api->fail(err, BC_E_INVALID, "http.tls_bad_key",
		                 "tls.key %s is not a usable PEM private key for the certificate "
		                 "in %s: %s", key, cert, http_tls_ssl_error(ebuf, sizeof ebuf));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return api->fail(err, BC_E_INVALID, "http.tls_key_mismatch",
		                 "tls.key %s does not belong to the certificate in %s", key, cert);
	return BC_OK;
}

enum bc_status http_tls_check(const struct bc_host_api *api, const char *cert, const char *key,
                              size_t n_addrs, struct bc_error *err)
{
	SSL_CTX *ctx = NULL;
	enum bc_status rc;

	if (n_addrs > HTTP_TLS_MAX_LISTENERS)
		return api->fail(err, BC_E_INVALID, "http.too_many_listen",
		                 "at most %d listen addresses", HTTP_TLS_MAX_LISTENERS);
	rc = http_tls_ctx_new(api, cert, key, &ctx, err);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

socklen_t http_tls_addr_sockaddr(const struct http_tls_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->is_v6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)a->port);
		inet_pton(AF_INET6, a->host, &v6->sin6_addr);
		return sizeof *v6;
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	v4->sin_family = AF_INET;
	v4->sin_port = htons((uint16_t)a->port);
	inet_pton(AF_INET, a->host, &v4->sin_addr);
	return sizeof *v4;
}

static enum bc_status http_tls_bind(struct http_tls *t, const struct http_tls_addr *a,
                                    struct bc_error *err)
{
	struct sockaddr_storage sa;
	socklen_t len = http_tls_addr_sockaddr(a, &sa);
	int one = 1;
	int fd;

	fd = socket(a->is_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return t->api->fail(err, BC_E_INTERNAL, "http.socket_failed", "socket(): %s",
		                    strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (a->is_v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		close(fd);
		return t->api->fail(err, BC_E_UNAVAILABLE, "http.listen_failed",
		                    "cannot listen on %s: %s; choose a free address:port", a->shown,
		                    strerror(e));
	}
	t->listeners[t->n_listeners++] = fd;
	return BC_OK;
}

enum bc_status http_tls_create(const struct bc_host_api *api, struct bc_host *host,
                               const char *cert, const char *key,
                               const struct http_tls_addr *addrs, size_t n_addrs,
                               size_t max_conns, int64_t timeout_ms,
                               struct http_guard_conns *per_addr, struct http_tls **out,
                               struct bc_error *err)
{
	enum bc_status rc = BC_OK;
	struct http_tls *t = calloc(1, sizeof *t);

	*out = NULL;
	if (t == NULL)
		return api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
	t->api = api;
	t->host = host;
	t->stop_pipe[0] = t->stop_pipe[1] = -1;
	t->accept_pipe[0] = t->accept_pipe[1] = -1;
	t->max_conns = max_conns;
	t->timeout_ms = timeout_ms;
	t->per_addr = per_addr;
	pthread_mutex_init(&t->lock, NULL);
	if (n_addrs > HTTP_TLS_MAX_LISTENERS) {
		rc = api->fail(err, BC_E_INVALID, "http.too_many_listen",
		               "at most %d listen addresses", HTTP_TLS_MAX_LISTENERS);
		goto out;
	}
	if (pipe2(t->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(t->accept_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = api->fail(err, BC_E_INTERNAL, "http.pipe_failed", "pipe(): %s", strerror(errno));
		goto out;
	}
	rc = http_tls_ctx_new(api, cert, key, &t->ctx, err);
	for (size_t i = 0; rc == BC_OK && i < n_addrs; i++)
		rc = http_tls_bind(t, &addrs[i], err);
out:
	if (rc != BC_OK) {
		http_tls_destroy(t);
		return rc;
	}
	*out = t;
	return BC_OK;
}

/* ---- one connection ------------------------------------------------------------ */

static int http_tls_send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int http_tls_ssl_write_all(SSL *ssl, const char *p, size_t n)
{
	while (n > 0) {
		size_t w = 0;
		if (SSL_write_ex(ssl, p, n, &w) != 1)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Connect to CivetWeb's internal listener and register the relay's local
 * port. Returns the socket or -1. */
static int http_tls_connect_backend(struct http_tls_conn *c)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)c->tls->backend_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* the bind() picks the port before connect(), so the handler can never
	 * see a request from a port not registered yet */
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(fd, (struct sockaddr *)&any, sizeof any) < 0 ||
	    getsockname(fd, (struct sockaddr *)&any, &len) < 0) {
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&c->tls->lock);
	c->local_port = ntohs(any.sin_port);
	pthread_mutex_unlock(&c->tls->lock);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Relay until either side closes, a client read or write stalls past
 * timeout_ms, or the terminator is destroyed. */
static void http_tls_relay(struct http_tls_conn *c, SSL *ssl, int backend)
{
	char *buf = malloc(HTTP_TLS_BUF);
	if (buf == NULL)
		return;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = backend, .events = POLLIN },
			{ .fd = c->tls->stop_pipe[0], .events = POLLIN },
		};
		/* bytes OpenSSL already decrypted are not visible to poll() */
		int pending = SSL_pending(ssl) > 0;
		if (!pending && poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!pending && p[2].revents != 0)
			break;
		if (pending || (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			size_t n = 0;
			if (SSL_read_ex(ssl, buf, HTTP_TLS_BUF, &n) != 1) {
				int e = SSL_get_error(ssl, 0);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					continue; /* a TLS 1.3 ticket or key update: nothing for us */
				break;
			}
			if (http_tls_send_all(backend, buf, n) < 0)
				break;
			continue;
		}
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			ssize_t n = recv(backend, buf, HTTP_TLS_BUF, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || http_tls_ssl_write_all(ssl, buf, (size_t)n) < 0)
				break;
		}
	}
	free(buf);
}

static void *http_tls_conn_main(void *arg)
{
	struct http_tls_conn *c = arg;
	struct http_tls *t = c->tls;
	struct timeval tv = { .tv_sec = (time_t)(t->timeout_ms / 1000),
		              .tv_usec = (suseconds_t)(t->timeout_ms % 1000) * 1000 };
	SSL *ssl = NULL;
	int backend = -1;

	/* bounds the handshake and every read or write of a stalling client */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	ssl = SSL_new(t->ctx);
	if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1)
		goto out;
	if (SSL_accept(ssl) != 1) {
		/* a scanner, an old client (TLS 1.0/1.1) or plain HTTP: debug only */
		char ebuf[200];
		if (t->api->log_enabled(t->host, BC_LOG_DEBUG))
			t->api->log(t->host, BC_LOG_DEBUG, "TLS handshake with %s failed: %s", c->peer,
			            http_tls_ssl_error(ebuf, sizeof ebuf));
		ERR_clear_error();
		goto out;
	}
	backend = http_tls_connect_backend(c);
	if (backend < 0) {
		t->api->log(t->host, BC_LOG_ERROR, "cannot reach the internal listener on "
		            "127.0.0.1:%u: %s", t->backend_port, strerror(errno));
		goto out;
	}
	http_tls_relay(c, ssl, backend);
	/* a close_notify when the peer still listens; never wait for its answer */
	if ((SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) == 0)
		SSL_shutdown(ssl);
out:
	if (backend >= 0)
		close(backend);
	SSL_free(ssl);
	ERR_clear_error();
	pthread_mutex_lock(&t->lock);
	close(c->fd);
	c->fd = -1;
	c->local_port = 0;
	c->done = 1;
	t->n_conns--;
	pthread_mutex_unlock(&t->lock);
	http_guard_conns_release(t->per_addr, c->addr);
	return NULL;
}

/* ---- accepting ------------------------------------------------------------------- */

/* Join and free relays whose threads ended (all: wait for every one). */
static void http_tls_reap(struct http_tls *t, int all)
{
	for (;;) {
		struct http_tls_conn *found = NULL;
		pthread_mutex_lock(&t->lock);
		for (struct http_tls_conn **pp = &t->conns; *pp != NULL; pp = &(*pp)->next)
			if (all || (*pp)->done) {
				found = *pp;
				*pp = found->next;
				break;
			}
		pthread_mutex_unlock(&t->lock);
		if (found == NULL)
			return;
		pthread_join(found->thread, NULL);
		free(found);
	}
}

static void http_tls_take(struct http_tls *t, int fd, const struct sockaddr_storage *ss)
{
	struct http_tls_conn *c;
	char addr[INET6_ADDRSTRLEN] = "?";

	http_tls_reap(t, 0);
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, addr, sizeof addr);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, addr, sizeof addr);

	/* the bound per client address (http_guard.h): CivetWeb sees every
	 * relayed connection come from 127.0.0.1, so it is applied here */
	if (!http_guard_conns_admit(t->per_addr, addr)) {
		t->api->log(t->host, BC_LOG_WARN, "turned away %s: too many connections from "
		            "that address", addr);
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	pthread_mutex_lock(&t->lock);
	if (c == NULL || t->n_conns >= t->max_conns) {
		pthread_mutex_unlock(&t->lock);
		t->api->log(t->host, BC_LOG_WARN, "turned away %s: %zu TLS connections open "
		            "(twice `threads`)", addr, t->max_conns);
		free(c);
		close(fd);
		http_guard_conns_release(t->per_addr, addr);
		return;
	}
	c->tls = t;
	c->fd = fd;
	snprintf(c->peer, sizeof c->peer, ss->ss_family == AF_INET6 ? "[%s]" : "%s", addr);
	snprintf(c->addr, sizeof c->addr, "%s", addr);
	/* under the lock, so the thread's exit waits until it is listed */
	if (pthread_create(&c->thread, NULL, http_tls_conn_main, c) != 0) {
		pthread_mutex_unlock(&t->lock);
		t->api->log(t->host, BC_LOG_ERROR, "no thread for a TLS connection from %s", addr);
		free(c);
		close(fd);
		http_guard_conns_release(t->per_addr, addr);
		return;
	}
	c->next = t->conns;
	t->conns = c;
	t->n_conns++;
	pthread_mutex_unlock(&t->lock);
}

static void *http_tls_accept_main(void *arg)
{
	struct http_tls *t = arg;
	struct pollfd p[HTTP_TLS_MAX_LISTENERS + 1];

	for (;;) {
		size_t n = 0;
		for (; n < t->n_listeners; n++)
			p[n] = (struct pollfd){ .fd = t->listeners[n], .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = t->accept_pipe[0], .events = POLLIN };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			t->api->log(t->host, BC_LOG_ERROR, "poll(): %s; no longer accepting TLS",
			            strerror(errno));
			return NULL;
		}
		if (p[n - 1].revents != 0)
			return NULL;
		for (size_t i = 0; i < t->n_listeners; i++) {
			struct sockaddr_storage ss = { 0 }; /* AF_UNSPEC should accept4 not fill it */
			socklen_t sl = sizeof ss;
			int fd;
			if ((p[i].revents & POLLIN) == 0)
				continue;
			fd = accept4(t->listeners[i], (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
				    errno == ENOMEM) {
					/* out of descriptors: back off rather than spin */
					t->api->log(t->host, BC_LOG_WARN, "accept(): %s", strerror(errno));
					poll(&p[n - 1], 1, 100);
				}
				continue;
			}
			http_tls_take(t, fd, &ss);
		}
	}
}

enum bc_status http_tls_start(struct http_tls *t, unsigned backend_port, struct bc_error *err)
{
	int e;
	t->backend_port = backend_port;
	e = pthread_create(&t->accept_thread, NULL, http_tls_accept_main, t);
	if (e != 0)
		return t->api->fail(err, BC_E_INTERNAL, "http.thread_failed",
		                    "cannot start the TLS accept thread: %s", strerror(e));
	t->accept_running = 1;
	return BC_OK;
}

int http_tls_peer(struct http_tls *t, const char *remote_addr, unsigned local_port, char *out,
                  size_t out_len)
{
	int rc = -1;
	/* every relay connects from 127.0.0.1 (http_tls_conn_main binds it):
	 * a process that binds 127.0.0.2 with a relay's port is not a relay */
	if (remote_addr == NULL || strcmp(remote_addr, "127.0.0.1") != 0)
		return -1;
	pthread_mutex_lock(&t->lock);
	for (struct http_tls_conn *c = t->conns; c != NULL; c = c->next)
		if (!c->done && c->local_port == local_port && local_port != 0) {
			snprintf(out, out_len, "%s", c->peer);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Make a pipe readable for good: it is never read, so it wakes every
 * poll() on it, now and later. */
static void http_tls_wake(struct http_tls *t, int fd)
{
	if (fd >= 0 && write(fd, "x", 1) < 0 && errno != EAGAIN)
		t->api->log(t->host, BC_LOG_ERROR, "cannot wake TLS threads: %s", strerror(errno));
}

void http_tls_stop_accepting(struct http_tls *t)
{
	if (t == NULL)
		return;
	if (t->accept_running) {
		http_tls_wake(t, t->accept_pipe[1]);
		pthread_join(t->accept_thread, NULL);
		t->accept_running = 0;
	}
	/* relays go on: their requests are still being answered */
	for (size_t i = 0; i < t->n_listeners; i++)
		close(t->listeners[i]);
	t->n_listeners = 0;
}

void http_tls_destroy(struct http_tls *t)
{
	if (t == NULL)
		return;
	http_tls_stop_accepting(t);
	http_tls_wake(t, t->stop_pipe[1]);
	/* a relay blocked in a read or write of a stalled client returns within
	 * timeout_ms; shutdown() makes it return now */
	pthread_mutex_lock(&t->lock);
	for (struct http_tls_conn *c = t->conns; c != NULL; c = c->next)
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&t->lock);
	http_tls_reap(t, 1);
	if (t->stop_pipe[0] >= 0)
		close(t->stop_pipe[0]);
	if (t->stop_pipe[1] >= 0)
		close(t->stop_pipe[1]);
	if (t->accept_pipe[0] >= 0)
		close(t->accept_pipe[0]);
	if (t->accept_pipe[1] >= 0)
		close(t->accept_pipe[1]);
	SSL_CTX_free(t->ctx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
