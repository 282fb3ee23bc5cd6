/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_tls.c: TLS of the HTTP frontend, through CivetWeb's own OpenSSL use.
 *
 * CivetWeb loads OpenSSL itself (dlopen of libssl.so/libcrypto.so) and wants
 * the private key and the certificate chain in one PEM file, while our
 * options name two files (`tls.cert`, `tls.key`) like most servers do. When
 * they differ, this file copies both into an anonymous memory file
 * (memfd_create) and hands CivetWeb its /proc/self/fd path, so the key is
 * never written to disk a second time; the memory file is closed as soon as
 * CivetWeb has loaded it.
 *
 * Whether TLS works at all is decided at run time: Debian bookworm's
 * libcivetweb 1.15 was built for the OpenSSL 1.1 API and fails to load
 * OpenSSL 3 (it looks up SSL_get_peer_certificate, which OpenSSL 3 no longer
 * exports), and its mg_init_library() then reports TLS as not initialised.
 * CivetWeb would still open an "s" port and crash on the first handshake
 * through a NULL function pointer, so such a configuration is refused here
 * with a message that says how to get TLS instead.
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>

#include "http_tls.h"

/* A PEM file is at most this large: certificate chains are a few KiB. */
#define HTTP_TLS_PEM_MAX (1024 * 1024)

/* Read a whole PEM file into buf (NUL-terminated); *len its length.
 * Returns 0, or -1 with errno set (EFBIG when over the cap). */
static int http_tls_slurp(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap - 1) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int http_tls_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

enum bc_status http_tls_prepare(const struct bc_host_api *api, unsigned lib_features,
                                const char *cert, const char *key, struct http_tls *tls,
                                struct bc_error *err)
{
	enum bc_status rc = BC_OK;
	char *kbuf = NULL, *cbuf = NULL;
	size_t klen = 0, clen = 0;

	tls->pem_path[0] = '\0';
	tls->memfd = -1;

	if ((lib_features & MG_FEATURES_TLS) == 0)
		return api->fail(err, BC_E_UNSUPPORTED, "http.tls_unavailable",
		                 "tls is configured, but this CivetWeb (libcivetweb %s) cannot "
		                 "serve TLS: %s. Terminate TLS in a reverse proxy (nginx, haproxy, "
		                 "stunnel) in front of a loopback listener, or link CivetWeb built "
		                 "for the installed OpenSSL (OPENSSL_API_3_0)",
		                 mg_version(),
		                 mg_check_feature(MG_FEATURES_TLS)
		                         ? "it failed to load OpenSSL at run time (Debian's 1.15 "
		                           "build expects the OpenSSL 1.1 API)"
		                         : "it was built without TLS (NO_SSL)");
	if (cert == NULL || key == NULL || cert[0] == '\0' || key[0] == '\0')
		return api->fail(err, BC_E_INVALID, "http.tls_incomplete",
		                 "tls needs both `cert` (PEM certificate chain) and `key` (PEM "
		                 "private key)");

	kbuf = malloc(HTTP_TLS_PEM_MAX);
	cbuf = malloc(HTTP_TLS_PEM_MAX);
	if (kbuf == NULL || cbuf == NULL) {
		rc = api->fail(err, BC_E_NOMEM, "http.nomem", "out of memory");
		goto out;
	}
	if (http_tls_slurp(key, kbuf, HTTP_TLS_PEM_MAX, &klen) < 0) {
		rc = api->fail(err, BC_E_INVALID, "http.tls_key_unreadable",
		               "tls.key %s cannot be read: %s", key, strerror(errno));
		goto out;
	}
	if (strstr(kbuf, "PRIVATE KEY-----") == NULL) {
		rc = api->fail(err, BC_E_INVALID, "http.tls_bad_key",
		               "tls.key %s holds no PEM private key (\"-----BEGIN ... PRIVATE "
		               "KEY-----\")", key);
		goto out;
	}
	if (http_tls_slurp(cert, cbuf, HTTP_TLS_PEM_MAX, &clen) < 0) {
		rc = api->fail(err, BC_E_INVALID, "http.tls_cert_unreadable",
		               "tls.cert %s cannot be read: %s", cert, strerror(errno));
		goto out;
	}
	if (strstr(cbuf, "-----BEGIN CERTIFICATE-----") == NULL) {
		rc = api->fail(err, BC_E_INVALID, "http.tls_bad_cert",
		               "tls.cert %s holds no PEM certificate", cert);
		goto out;
	}

	if (strcmp(cert, key) == 0) {
		snprintf(tls->pem_path, sizeof tls->pem_path, "%s", cert);
		goto out;
	}
	tls->memfd = memfd_create("broadcast-http-tls", MFD_CLOEXEC);
	if (tls->memfd < 0 || http_tls_write_all(tls->memfd, kbuf, klen) < 0 ||
	    http_tls_write_all(tls->memfd, "\n", 1) < 0 ||
	    http_tls_write_all(tls->memfd, cbuf, clen) < 0) {
		rc = api->fail(err, BC_E_INTERNAL, "http.tls_memfd",
		               "cannot stage the key and certificate for CivetWeb: %s",
		               strerror(errno));
		goto out;
	}
	snprintf(tls->pem_path, sizeof tls->pem_path, "/proc/self/fd/%d", tls->memfd);
out:
	/* the key stays in memory no longer than needed */
	if (kbuf != NULL) {
		explicit_bzero(kbuf, HTTP_TLS_PEM_MAX);
		free(kbuf);
	}
	free(cbuf);
	return rc;
}

void http_tls_release(struct http_tls *tls)
{
	if (tls == NULL)
		return;
	if (tls->memfd >= 0)
		close(tls->memfd);
	tls->memfd = -1;
	tls->pem_path[0] = '\0';
}
