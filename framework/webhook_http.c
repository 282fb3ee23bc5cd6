/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webhook_http.c: the HTTP client of the webhook workers, the only file of
 * the framework that calls libcurl (bc_webhook.h).
 *
 * Central type: struct bc_webhook_http, one easy handle a worker keeps so
 * that its connection to a receiver is reused between deliveries. Every
 * post is a POST that never follows a redirect (a 3xx is an answer, not
 * an acknowledgement), speaks http or https only, verifies https against
 * the system CAs (or `ca_file`), never raises signals (CURLOPT_NOSIGNAL:
 * the daemon is threaded), reads at most HTTP_BODY_MAX of an answer's body
 * and can be cancelled between two reads (a worker being stopped must not
 * wait out a receiver that hangs). The
 * providers' own client (providers/s3/s3_http.c) lives in that plugin: the
 * framework and the plugins share no code but the ABI.
 *
 * libcurl is not linked: it is opened with dlopen() the first time a
 * configuration has webhooks. Linked, it and what it pulls in (a TLS
 * library, GSSAPI, LDAP, SSH) cost every daemon about 5 MiB of resident
 * memory whether it sends webhooks or not (docs/performance.md, "Memory").
 * The few functions used are called through `lc`, by the names curl.h
 * gives them (the macros below), so the calls read as libcurl's own.
 *
 * Built without libcurl's headers, or where libcurl.so.4 cannot be opened,
 * the functions exist and fail, and the configuration refuses `webhooks:`
 * with the reason (bc_webhook_http_available()).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc_webhook.h"

#ifdef HAVE_LIBCURL
#include <dlfcn.h>
#include <stdint.h>

/* curl_easy_setopt() and curl_easy_getinfo() as plain functions, not
 * curl.h's type-checking macros, so that they can be redirected below. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

/* libcurl's soname: the one libcurl4-openssl-dev links against. */
#define HTTP_LIBCURL "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} lc;

/* curl.h's own pass-through macros of these two give way to ours. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*lc.global_init)
#define curl_easy_init (*lc.easy_init)
#define curl_easy_cleanup (*lc.easy_cleanup)
#define curl_easy_reset (*lc.easy_reset)
#define curl_easy_setopt (*lc.easy_setopt)
#define curl_easy_perform (*lc.easy_perform)
#define curl_easy_getinfo (*lc.easy_getinfo)
#define curl_easy_strerror (*lc.easy_strerror)
#define curl_slist_append (*lc.slist_append)
#define curl_slist_free_all (*lc.slist_free_all)

struct bc_webhook_http {
	CURL *easy;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static int http_init_ok;

/* One symbol of the opened libcurl into *slot; 0, or -1 when it lacks it.
 * Through uintptr_t, as POSIX says a dlsym() result becomes a function
 * pointer. */
static int http_sym(void *lib, const char *name, void *slot)
{
	void *sym = dlsym(lib, name);
	if (sym == NULL)
		return -1;
	uintptr_t bits = (uintptr_t)sym;
	memcpy(slot, &bits, sizeof bits);
	return 0;
}

static void http_global_init(void)
{
	/* Kept open for the life of the process, like the plugins (libcurl
	 * cannot be unloaded safely once its TLS library is initialised). */
	void *lib = dlopen(HTTP_LIBCURL, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL || http_sym(lib, "curl_global_init", &lc.global_init) != 0 ||
	    http_sym(lib, "curl_easy_init", &lc.easy_init) != 0 ||
	    http_sym(lib, "curl_easy_cleanup", &lc.easy_cleanup) != 0 ||
	    http_sym(lib, "curl_easy_reset", &lc.easy_reset) != 0 ||
	    http_sym(lib, "curl_easy_setopt", &lc.easy_setopt) != 0 ||
	    http_sym(lib, "curl_easy_perform", &lc.easy_perform) != 0 ||
	    http_sym(lib, "curl_easy_getinfo", &lc.easy_getinfo) != 0 ||
	    http_sym(lib, "curl_easy_strerror", &lc.easy_strerror) != 0 ||
	    http_sym(lib, "curl_slist_append", &lc.slist_append) != 0 ||
	    http_sym(lib, "curl_slist_free_all", &lc.slist_free_all) != 0)
		return;
	/* Not thread-safe in older libcurl: once. Never undone
	 * (curl_global_cleanup at exit would race the plugins that use
	 * libcurl too). */
	http_init_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int bc_webhook_http_available(void)
{
	pthread_once(&http_once, http_global_init);
	return http_init_ok;
}

struct bc_webhook_http *bc_webhook_http_create(void)
{
	struct bc_webhook_http *h;

	pthread_once(&http_once, http_global_init);
	if (!http_init_ok)
		return NULL;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	h->easy = curl_easy_init();
	if (h->easy == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void bc_webhook_http_free(struct bc_webhook_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->easy);
	free(h);
}

/* The most of a receiver's answer body read (and dropped). Past it the
 * transfer is ended: the status is already known, and a receiver sending
 * an endless body must neither hold the worker until `timeout` nor turn
 * its 2xx into a failed attempt (and the event into a duplicate). */
#define HTTP_BODY_MAX (64 * 1024)

/* The receiver's answer body is not read by anyone: count and drop it. */
static size_t http_discard(char *data, size_t size, size_t nmemb, void *arg)
{
	size_t *got = arg;
	(void)data;
	*got += size * nmemb;
	/* Less than given: curl ends the transfer with CURLE_WRITE_ERROR. */
	return *got > HTTP_BODY_MAX ? 0 : size * nmemb;
}

static int http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
	atomic_int *cancel = arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancel != NULL && atomic_load(cancel) != 0;
}

long bc_webhook_http_post(struct bc_webhook_http *h, const struct bc_webhook_post *p,
                          char *why, size_t why_len)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	long status = 0, connect_ms;
	size_t body_got = 0;
	CURLcode rc;

	if (why_len > 0)
		why[0] = '\0';
	for (size_t i = 0; p->headers != NULL && p->headers[i] != NULL; i++) {
		struct curl_slist *n = curl_slist_append(hdrs, p->headers[i]);
		if (n == NULL) {
			curl_slist_free_all(hdrs);
			snprintf(why, why_len, "out of memory");
			return 0;
		}
		hdrs = n;
	}
	/* Without it curl sends "Expect: 100-continue" for large bodies and
	 * waits a second for an answer many servers never give. */
	{
		struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
		if (n != NULL)
			hdrs = n;
	}
	connect_ms = p->timeout_ms < 10000 ? (long)p->timeout_ms : 10000L;
	errbuf[0] = '\0';
	curl_easy_reset(h->easy);
	curl_easy_setopt(h->easy, CURLOPT_URL, p->url);
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->ca_file != NULL && p->ca_file[0] != '\0')
		curl_easy_setopt(h->easy, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(h->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)p->body_len);
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "broadcast/" PACKAGE_VERSION " webhook");
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, http_discard);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, &body_got);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->easy, CURLOPT_XFERINFOFUNCTION, http_progress);
	curl_easy_setopt(h->easy, CURLOPT_XFERINFODATA, p->cancel);
	rc = curl_easy_perform(h->easy);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && body_got > HTTP_BODY_MAX)) {
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	} else {
		/* curl's own text: it names the host and port, never the path
		 * or the query. */
		snprintf(why, why_len, "%s", rc == CURLE_ABORTED_BY_CALLBACK ? "cancelled"
		                             : errbuf[0] ? errbuf : curl_easy_strerror(rc));
		status = 0;
	}
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return status;
}

#else /* !HAVE_LIBCURL */

int bc_webhook_http_available(void)
{
	return 0;
}

struct bc_webhook_http *bc_webhook_http_create(void)
{
	return NULL;
}

void bc_webhook_http_free(struct bc_webhook_http *h)
{
	(void)h;
}

long bc_webhook_http_post(struct bc_webhook_http *h, const struct bc_webhook_post *p,
                          char *why, size_t why_len)
{
	(void)h;
	(void)p;
	snprintf(why, why_len, "this broadcast was built without libcurl");
	return 0;
}

#endif
