/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_tls.h: TLS for the HTTP frontend, as far as CivetWeb provides it.
 * Internal to frontend_http.so; see http_tls.c.
 */
#ifndef BC_HTTP_TLS_H
#define BC_HTTP_TLS_H

#include <broadcast/host.h>

/* The certificate CivetWeb is to load: `pem_path` names one PEM file holding
 * the private key and the certificate chain, as CivetWeb wants them. */
struct http_tls {
	char pem_path[64 + 4096];
	int memfd; /* a memory file holding key + chain when they came apart, or -1 */
};

/* Check that this CivetWeb can serve TLS (`lib_features` is what
 * mg_init_library() answered) and that `cert` and `key` are readable PEM
 * files, then make tls->pem_path. BC_OK, or BC_E_INVALID/BC_E_UNSUPPORTED
 * with a message saying what to do. Call http_tls_release() in any case. */
enum bc_status http_tls_prepare(const struct bc_host_api *api, unsigned lib_features,
                                const char *cert, const char *key, struct http_tls *tls,
                                struct bc_error *err);

/* Forget the key material once CivetWeb has loaded it. NULL-safe, idempotent. */
void http_tls_release(struct http_tls *tls);

#endif /* BC_HTTP_TLS_H */
