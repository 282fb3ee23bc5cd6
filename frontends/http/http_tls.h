/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_tls.h: the HTTP frontend's TLS listener, a terminator in front of
 * CivetWeb. Internal to frontend_http.so; see http_tls.c for why it exists.
 */
#ifndef BC_HTTP_TLS_H
#define BC_HTTP_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <broadcast/host.h>

struct http_guard_conns;

/* One TLS terminator: its listeners, its OpenSSL context, its connections. */
struct http_tls;

/* One address to listen on, parsed by http.c. */
struct http_tls_addr {
	int is_v6;
	char host[64];      /* numeric, without brackets */
	unsigned port;
	const char *shown;  /* as configured, for messages; borrowed for the call */
};

/* Fill *ss with `a` (its numeric host, already validated by http.c, and its
 * port) and return the length to pass to bind() or connect(). The one place
 * a listen address becomes a sockaddr: the probe bind, the TLS listeners and
 * the shutdown poke all use it. */
socklen_t http_tls_addr_sockaddr(const struct http_tls_addr *a, struct sockaddr_storage *ss);

/* What http_tls_create() checks before it binds, without binding: at most
 * 16 addresses, `cert` and `key` readable, a PEM chain and a PEM private key
 * that belong together. BC_OK, or BC_E_INVALID with a message. Any thread. */
enum bc_status http_tls_check(const struct bc_host_api *api, const char *cert, const char *key,
                              size_t n_addrs, struct bc_error *err);

/* Load `cert` (PEM chain) and `key` (PEM private key) into a TLS 1.2+
 * server context and bind every address (not accepting yet), so that bad
 * files and busy ports surface from create(). `max_conns` caps connections
 * served at once; `timeout_ms` bounds a handshake and every read or write of
 * a client that stalls; `per_addr` (borrowed, may be NULL) bounds the
 * connections of one client address. BC_OK and *out, or a status with a
 * message. */
enum bc_status http_tls_create(const struct bc_host_api *api, struct bc_host *host,
                               const char *cert, const char *key,
                               const struct http_tls_addr *addrs, size_t n_addrs,
                               size_t max_conns, int64_t timeout_ms,
                               struct http_guard_conns *per_addr, struct http_tls **out,
                               struct bc_error *err);

/* Start accepting, relaying each decrypted connection to 127.0.0.1:backend_port
 * (CivetWeb's internal plain listener). */
enum bc_status http_tls_start(struct http_tls *tls, unsigned backend_port,
                              struct bc_error *err);

/* The real client address ("203.0.113.7", "[2001:db8::1]") of the relayed
 * connection CivetWeb sees coming from remote_addr:local_port, copied into
 * out. 0, or -1 when that is not a relay: remote_addr other than 127.0.0.1,
 * or no relayed connection uses that port (a local process that connected
 * to the internal listener directly). Any thread. */
int http_tls_peer(struct http_tls *tls, const char *remote_addr, unsigned local_port, char *out,
                  size_t out_len);

/* Close the listeners: no new connection is accepted. Connections in
 * progress go on until their backend or client closes. Main thread. */
void http_tls_stop_accepting(struct http_tls *tls);

/* End every connection and join every thread. Call after CivetWeb stopped
 * (which closes the backend side of each). NULL-safe. */
void http_tls_destroy(struct http_tls *tls);

#endif /* BC_HTTP_TLS_H */
