/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_sts.c: the STS client of the s3 provider, on libcurl (declared in
 * s3_sts.h). Only this file and s3_bucket.c (create_bucket) use curl.
 *
 * Central type: struct s3_sts. A call is a POST of an
 * application/x-www-form-urlencoded body (the STS query protocol, API version
 * 2011-06-15) signed with SigV4 for service "sts": the signed headers are
 * Content-Type, Host, X-Amz-Date and, with temporary base credentials,
 * X-Amz-Security-Token. Host is set by us, from the endpoint URL, so what is
 * signed is byte for byte what curl sends.
 *
 * Connections: curl keeps a connection alive per easy handle, so handles go
 * back to a small pool after each call and the next call on a warm handle
 * skips TCP and TLS setup (DESIGN §9: the seed paid ~47 ms of CPU per start
 * for a fresh boto3 session). curl_easy_reset() between calls keeps the
 * handle's live connections and caches.
 *
 * Retries: a throttled or 5xx answer, or no connection at all, is retried,
 * at most `retries` times, after 200 ms · 2^attempt (at most 3.2 s) scaled by
 * a random factor in [0.5, 1) so a fleet of daemons does not retry in step.
 * `timeout` bounds the whole call, every attempt and wait included: each
 * attempt gets what is left of it, and a wait that would not leave room for
 * another attempt is not taken. The caller (a broadcaster) is waiting, and
 * issue 6 promises "STS down -> 504 within timeout".
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "s3_sign.h"
#include "s3_sts.h"
#include "s3_xml.h"

#define S3_STS_POOL_MAX 8
#define S3_STS_BODY_MAX (1024 * 1024)
#define S3_STS_VERSION "2011-06-15"
#define S3_STS_BACKOFF_BASE_MS 200
#define S3_STS_BACKOFF_MAX_MS 3200
/* An attempt with less time than this left is not worth starting. */
#define S3_STS_MIN_ATTEMPT_MS 50

struct s3_sts {
	const struct bc_host_api *api;
	struct bc_host *host;
	char *url;           /* the endpoint as configured */
	char *host_header;   /* "host" or "host:port" as curl would send it */
	char *path;          /* decoded URL path, "/" at least */
	char *session_token; /* NULL or the base session token (secret) */
	char *ca_file;
	long connect_timeout_ms, timeout_ms;
	unsigned retries;
	struct s3_signer *signer;
	pthread_mutex_t lock; /* guards pool */
	CURL *pool[S3_STS_POOL_MAX];
	size_t npool;
	int curl_inited;
};

/* ---- helpers ------------------------------------------------------------ */

static char *s3_sts_strdup0(const char *s)
{
	return s != NULL && *s ? strdup(s) : NULL;
}

static void s3_sts_free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

struct s3_sts_body {
	char *p;
	size_t len;
	int too_big;
};

static size_t s3_sts_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct s3_sts_body *b = ud;
	size_t n = size * nmemb;
	if (b->len + n > S3_STS_BODY_MAX) {
		b->too_big = 1;
		return 0;
	}
	char *p = realloc(b->p, b->len + n + 1);
	if (p == NULL)
		return 0;
	b->p = p;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* Append "&key=urlencode(value)" (no '&' when *form is empty). Returns 0 or -1. */
static int s3_sts_form_add(char **form, size_t *len, const char *key, const char *value)
{
	char *enc = s3_sign_uri_encode(value, strlen(value), 0);
	if (enc == NULL)
		return -1;
	size_t add = strlen(key) + strlen(enc) + 2;
	char *p = realloc(*form, *len + add + 1);
	if (p == NULL) {
		free(enc);
		return -1;
	}
	*form = p;
	*len += (size_t)snprintf(p + *len, add + 1, "%s%s=%s", *len ? "&" : "", key, enc);
	free(enc);
	return 0;
}

static char *s3_sts_form(const struct s3_sts_call *c)
{
	char *form = NULL, dur[32];
	size_t len = 0;
	int bad = 0;
	snprintf(dur, sizeof(dur), "%lld", (long long)c->duration_s);
	if (c->assume_role) {
		bad |= s3_sts_form_add(&form, &len, "Action", "AssumeRole");
		bad |= s3_sts_form_add(&form, &len, "Version", S3_STS_VERSION);
		bad |= s3_sts_form_add(&form, &len, "RoleArn", c->role_arn);
		bad |= s3_sts_form_add(&form, &len, "RoleSessionName", c->name);
		if (c->external_id != NULL && *c->external_id)
			bad |= s3_sts_form_add(&form, &len, "ExternalId", c->external_id);
	} else {
		bad |= s3_sts_form_add(&form, &len, "Action", "GetFederationToken");
		bad |= s3_sts_form_add(&form, &len, "Version", S3_STS_VERSION);
		bad |= s3_sts_form_add(&form, &len, "Name", c->name);
	}
	bad |= s3_sts_form_add(&form, &len, "Policy", c->policy);
	bad |= s3_sts_form_add(&form, &len, "DurationSeconds", dur);
	if (bad) {
		free(form);
		return NULL;
	}
	return form;
}

/* ---- the handle pool ------------------------------------------------------ */

static CURL *s3_sts_handle_get(struct s3_sts *s)
{
	CURL *h = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->npool > 0)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->lock);
	if (h != NULL)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void s3_sts_handle_put(struct s3_sts *s, CURL *h, int keep)
{
	if (h == NULL)
		return;
	if (keep) {
		pthread_mutex_lock(&s->lock);
		if (s->npool < S3_STS_POOL_MAX) {
			s->pool[s->npool++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* ---- one attempt ------------------------------------------------------------ */

struct s3_sts_attempt {
	enum bc_status status;
	const char *code;  /* dotted code when status != BC_OK */
	const char *result; /* metric label */
	long budget_ms;    /* what is left of timeout for this attempt */
	int retryable;
	long http_status;
	char detail[384];  /* for people, without secrets */
};

static void s3_sts_attempt_set(struct s3_sts_attempt *a, enum bc_status st, const char *code,
                               const char *result, int retryable)
{
	a->status = st;
	a->code = code;
	a->result = result;
	a->retryable = retryable;
}

static void s3_sts_curl_error(struct s3_sts *s, struct s3_sts_attempt *a, CURLcode rc,
                              const char *errbuf)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		s3_sts_attempt_set(a, BC_E_TIMEOUT, "s3.sts_timeout", "timeout", 0);
		snprintf(a->detail, sizeof(a->detail),
		         "STS at %s did not answer within timeout (%ld ms; %s)", s->url,
		         s->timeout_ms, why);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		/* Issue 6: "STS down -> 504 within timeout". A refused or lost
		 * connection may be a restart or a failover, so it is retried. */
		s3_sts_attempt_set(a, BC_E_TIMEOUT, "s3.sts_unreachable", "unreachable", 1);
		snprintf(a->detail, sizeof(a->detail), "cannot reach STS at %s: %s "
		         "(check sts_endpoint)", s->url, why);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_tls", "tls", 0);
		snprintf(a->detail, sizeof(a->detail),
		         "TLS with STS at %s failed: %s (check sts_endpoint and ca_file)", s->url,
		         why);
		break;
	case CURLE_OUT_OF_MEMORY:
		s3_sts_attempt_set(a, BC_E_NOMEM, "s3.nomem", "error", 0);
		snprintf(a->detail, sizeof(a->detail), "out of memory talking to STS");
		break;
	default:
		s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_bad_response", "bad_response", 0);
		snprintf(a->detail, sizeof(a->detail), "talking to STS at %s failed: %s", s->url,
		         why);
		break;
	}
}

static void s3_sts_attempt(struct s3_sts *s, CURL *h, const struct s3_sts_call *call,
                           const char *form, struct s3_sts_creds *creds,
                           struct s3_sts_attempt *a)
{
	struct s3_sign_output sig = { 0 };
	struct curl_slist *hdrs = NULL, *t;
	struct s3_sts_body body = { 0 };
	struct s3_sts_xml x;
	char amz_date[17], errbuf[CURL_ERROR_SIZE];
	char *line = NULL;
	const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
	enum bc_status st;
	CURLcode rc;
	int xrc;

	long budget_ms = a->budget_ms;

	memset(&x, 0, sizeof(x));
	memset(a, 0, sizeof(*a));
	a->budget_ms = budget_ms;
	errbuf[0] = '\0';
	s3_sts_attempt_set(a, BC_E_NOMEM, "s3.nomem", "error", 0);
	snprintf(a->detail, sizeof(a->detail), "out of memory preparing the STS request");

	s3_sign_amz_date(s->api->now_ms(), amz_date);
	{
		struct s3_sign_header sh[4] = {
			{ "Content-Type", ctype },
			{ "Host", s->host_header },
			{ "X-Amz-Date", amz_date },
			{ "X-Amz-Security-Token", s->session_token },
		};
		struct s3_sign_input in = {
			.method = "POST", .path = s->path, .query = NULL,
			.headers = sh, .n_headers = s->session_token ? 4 : 3,
			.body = form, .body_len = strlen(form), .amz_date = amz_date,
			.normalize_path = 1,
		};
		st = s3_sign(s->signer, &in, &sig);
		if (st != BC_OK) {
			if (st != BC_E_NOMEM)
				s3_sts_attempt_set(a, st, "s3.internal", "error", 0);
			goto out;
		}
	}

	/* Header lines; the Authorization line is built in a buffer we wipe. */
	line = malloc(strlen(sig.authorization) + strlen(s->host_header) +
	              (s->session_token ? strlen(s->session_token) : 0) + 64);
	if (line == NULL)
		goto out;
#define S3_STS_HDR(...)                                                   \
	do {                                                              \
		sprintf(line, __VA_ARGS__);                               \
		if ((t = curl_slist_append(hdrs, line)) == NULL)          \
			goto out;                                         \
		hdrs = t;                                                 \
	} while (0)
	S3_STS_HDR("Host: %s", s->host_header);
	S3_STS_HDR("Content-Type: %s", ctype);
	S3_STS_HDR("X-Amz-Date: %s", amz_date);
	if (s->session_token != NULL)
		S3_STS_HDR("X-Amz-Security-Token: %s", s->session_token);
	S3_STS_HDR("Authorization: %s", sig.authorization);
	S3_STS_HDR("Expect:"); /* no 100-continue round trip */
	S3_STS_HDR("Accept: text/xml");
#undef S3_STS_HDR

	curl_easy_setopt(h, CURLOPT_URL, s->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 s->connect_timeout_ms < budget_ms ? s->connect_timeout_ms : budget_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, budget_ms);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "broadcast/" PACKAGE_VERSION " provider-s3");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_sts_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (s->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);

	rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body.too_big)) {
		s3_sts_curl_error(s, a, rc, errbuf);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->http_status);
	if (body.too_big) {
		s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_bad_response", "bad_response", 0);
		snprintf(a->detail, sizeof(a->detail), "STS answered over %d bytes",
		         S3_STS_BODY_MAX);
		goto out;
	}

	xrc = s3_xml_parse_sts(body.p, body.len, &x);
	if (xrc == -2)
		goto out; /* out of memory, already set */
	if (a->http_status >= 200 && a->http_status < 300) {
		if (xrc != 0 || x.is_error || x.access_key_id == NULL ||
		    x.secret_access_key == NULL || x.session_token == NULL ||
		    !*x.access_key_id || !*x.secret_access_key || !*x.session_token) {
			s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_bad_response", "bad_response",
			                   0);
			snprintf(a->detail, sizeof(a->detail),
			         "STS answered HTTP %ld without credentials in %s XML "
			         "(is sts_endpoint an STS service?)",
			         a->http_status, xrc == 0 ? "its" : "malformed");
			goto out;
		}
		creds->access_key_id = x.access_key_id;
		creds->secret_access_key = x.secret_access_key;
		creds->session_token = x.session_token;
		creds->expiration = x.expiration;
		x.access_key_id = x.secret_access_key = x.session_token = x.expiration = NULL;
		s3_sts_attempt_set(a, BC_OK, NULL, "ok", 0);
		a->detail[0] = '\0';
		goto out;
	}
	{
		struct s3_xml_verdict v = s3_xml_classify(a->http_status,
		                                          xrc == 0 ? x.error_code : NULL);
		const char *hint = "";
		if (strcmp(v.code, "s3.credentials_rejected") == 0)
			hint = "; STS refused the base credentials: check access_key_id, "
			       "secret_access_key, session_token and their IAM policy";
		else if (strcmp(v.code, "s3.sts_throttled") == 0)
			hint = "; STS is limiting the request rate";
		assert(v.label != NULL);
		s3_sts_attempt_set(a, v.status, v.code, v.label, v.retryable);
		snprintf(a->detail, sizeof(a->detail), "STS %s answered HTTP %ld %s%s%s%s%s",
		         call->assume_role ? "AssumeRole" : "GetFederationToken", a->http_status,
		         xrc == 0 && x.error_code ? x.error_code : "(no STS error code)",
		         xrc == 0 && x.error_message ? ": " : "",
		         xrc == 0 && x.error_message ? x.error_message : "",
		         x.request_id ? " request id " : "", x.request_id ? x.request_id : "");
		if (strlen(a->detail) + strlen(hint) < sizeof(a->detail))
			strcat(a->detail, hint);
	}
out:
	s3_xml_clear(&x);
	if (body.p != NULL) {
		OPENSSL_cleanse(body.p, body.len);
		free(body.p);
	}
	curl_slist_free_all(hdrs);
	if (line != NULL) {
		OPENSSL_cleanse(line, strlen(line));
		free(line);
	}
	s3_sign_output_clear(&sig);
}

static void s3_sts_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum bc_status s3_sts_issue(struct s3_sts *s, const struct s3_sts_call *call,
                            struct s3_sts_creds *creds, struct bc_error *err)
{
	const struct bc_host_api *api = s->api;
	struct s3_sts_attempt a;
	const char *action = call->assume_role ? "AssumeRole" : "GetFederationToken";
	char *form = NULL;
	char labels[64];
	CURL *h = NULL;

	int64_t deadline = api->monotonic_ms() + s->timeout_ms;

	memset(creds, 0, sizeof(*creds));
	memset(&a, 0, sizeof(a));
	form = s3_sts_form(call);
	if (form == NULL)
		return api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
	for (unsigned attempt = 0;; attempt++) {
		int64_t t0 = api->monotonic_ms();
		a.budget_ms = (long)(deadline - t0);
		if (a.budget_ms < 1)
			a.budget_ms = 1;
		h = s3_sts_handle_get(s);
		if (h == NULL) {
			s3_sts_attempt_set(&a, BC_E_NOMEM, "s3.nomem", "error", 0);
			snprintf(a.detail, sizeof(a.detail), "cannot create a curl handle");
			break;
		}
		s3_sts_attempt(s, h, call, form, creds, &a);
		/* A handle whose transfer timed out may hold a half-read connection;
		 * curl would close it, but start the next call on a fresh one. */
		s3_sts_handle_put(s, h, a.status != BC_E_TIMEOUT);
		h = NULL;
		snprintf(labels, sizeof(labels), "result=\"%s\"", a.result ? a.result : "error");
		api->counter_add(s->host, "s3_sts_requests_total", labels, 1);
		if (api->log_enabled(s->host, BC_LOG_DEBUG))
			api->log(s->host, BC_LOG_DEBUG, "STS %s for %s: attempt %u, %s (HTTP %ld) in "
			         "%lld ms", action, call->name, attempt + 1,
			         a.status == BC_OK ? "ok" : a.code, a.http_status,
			         (long long)(api->monotonic_ms() - t0));
		if (a.status == BC_OK || !a.retryable || attempt >= s->retries)
			break;
		{
			long delay = S3_STS_BACKOFF_BASE_MS << (attempt < 4 ? attempt : 4);
			unsigned char r = 0;
			if (delay > S3_STS_BACKOFF_MAX_MS)
				delay = S3_STS_BACKOFF_MAX_MS;
			api->random(&r, 1);
			delay = delay / 2 + (delay / 2) * r / 256;
			/* No room left for another attempt after the wait: give up
			 * now, with the last attempt's error, inside timeout. */
			if (api->monotonic_ms() + delay + S3_STS_MIN_ATTEMPT_MS >= deadline)
				break;
			api->log(s->host, BC_LOG_WARN, "%s; retrying in %ld ms (%u of %u)", a.detail,
			         delay, attempt + 1, s->retries);
			api->counter_add(s->host, "s3_sts_retries_total", NULL, 1);
			s3_sts_sleep_ms(delay);
		}
	}
	free(form);
	if (a.status == BC_OK)
		return BC_OK;
	s3_sts_creds_clear(creds);
	return api->fail(err, a.status, a.code ? a.code : "s3.internal", "%s", a.detail);
}

void s3_sts_creds_clear(struct s3_sts_creds *c)
{
	if (c == NULL)
		return;
	s3_sts_free_secret(c->access_key_id);
	s3_sts_free_secret(c->secret_access_key);
	s3_sts_free_secret(c->session_token);
	free(c->expiration);
	memset(c, 0, sizeof(*c));
}

/* ---- lifecycle -------------------------------------------------------------- */

/* Host header and decoded path of the endpoint URL, via curl's own parser so
 * they match what curl sends. */
static enum bc_status s3_sts_parse_url(struct s3_sts *s, struct bc_error *err)
{
	const struct bc_host_api *api = s->api;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	enum bc_status st = BC_E_NOMEM;
	if (u == NULL)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, s->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		st = api->fail(err, BC_E_INVALID, "s3.bad_option",
		               "sts_endpoint \"%s\" is not an http:// or https:// URL", s->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL; /* none given: the scheme's default */
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		path = NULL;
	{
		const char *dflt = strcmp(scheme, "https") == 0 ? "443" : "80";
		size_t n = strlen(host) + (port ? strlen(port) : 0) + 2;
		s->host_header = malloc(n);
		if (s->host_header == NULL)
			goto out;
		if (port != NULL && strcmp(port, dflt) != 0)
			snprintf(s->host_header, n, "%s:%s", host, port);
		else
			snprintf(s->host_header, n, "%s", host);
	}
	s->path = strdup(path != NULL && *path ? path : "/");
	if (s->path == NULL)
		goto out;
	st = BC_OK;
out:
	if (st == BC_E_NOMEM)
		api->fail(err, st, "s3.nomem", "out of memory");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return st;
}

enum bc_status s3_sts_new(const struct bc_host_api *api, struct bc_host *host,
                          const struct s3_sts_config *cfg, struct s3_sts **out,
                          struct bc_error *err)
{
	struct s3_sts *s = NULL;
	enum bc_status st;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
	s->api = api;
	s->host = host;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return api->fail(err, BC_E_INTERNAL, "s3.internal", "pthread_mutex_init failed");
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		st = api->fail(err, BC_E_INTERNAL, "s3.internal", "curl_global_init failed");
		goto fail;
	}
	s->curl_inited = 1;
	s->url = strdup(cfg->endpoint);
	s->session_token = s3_sts_strdup0(cfg->session_token);
	s->ca_file = s3_sts_strdup0(cfg->ca_file);
	s->signer = s3_signer_new(cfg->access_key_id, cfg->secret_access_key, cfg->region, "sts");
	if (s->url == NULL || (cfg->session_token && *cfg->session_token && !s->session_token) ||
	    (cfg->ca_file && *cfg->ca_file && !s->ca_file) || s->signer == NULL) {
		st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
		goto fail;
	}
	s->connect_timeout_ms = (long)cfg->connect_timeout_ms;
	s->timeout_ms = (long)cfg->timeout_ms;
	s->retries = cfg->retries;
	st = s3_sts_parse_url(s, err);
	if (st != BC_OK)
		goto fail;
	*out = s;
	return BC_OK;
fail:
	s3_sts_free(s);
	return st;
}

void s3_sts_free(struct s3_sts *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	s3_signer_free(s->signer);
	s3_sts_free_secret(s->session_token);
	free(s->url);
	free(s->host_header);
	free(s->path);
	free(s->ca_file);
	pthread_mutex_destroy(&s->lock);
	if (s->curl_inited)
		curl_global_cleanup();
	free(s);
}
