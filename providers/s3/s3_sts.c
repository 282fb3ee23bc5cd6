/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_sts.c: the STS client of the s3 provider (declared in s3_sts.h). The
 * request itself (signing, curl options, the answer's body) is s3_http.c's.
 *
 * Central type: struct s3_sts. A call is a POST of an
 * application/x-www-form-urlencoded body (the STS query protocol, API version
 * 2011-06-15) signed with SigV4 for service "sts": the signed headers are
 * Content-Type, Host, X-Amz-Date and, with temporary base credentials,
 * X-Amz-Security-Token (s3_http.c sends exactly what it signs).
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

#include "s3_http.h"
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
/* Health: this many calls in a row failed upstream, the last within the
 * window, and the instance says it cannot start streams (s3_sts_health). */
#define S3_STS_HEALTH_FAILS 2
#define S3_STS_HEALTH_WINDOW_MS 60000

struct s3_sts {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct s3_http_target target; /* the endpoint as configured, as curl parses it */
	char *session_token; /* NULL or the base session token (secret) */
	char *ca_file;
	long connect_timeout_ms, timeout_ms;
	unsigned retries;
	struct s3_signer *signer;
	pthread_mutex_t lock; /* guards pool and the health members below */
	CURL *pool[S3_STS_POOL_MAX];
	size_t npool;
	int curl_inited;
	/* the outcome of recent calls, for s3_sts_health() */
	unsigned fails_in_row;       /* calls that failed upstream since the last success */
	int64_t last_fail_ms;        /* monotonic time of the last of them */
	enum bc_status last_status;
	char last_code[48];
	char last_detail[384];
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

/* An attempt that got no HTTP answer: what went wrong, for people. */
static void s3_sts_failed(struct s3_sts *s, struct s3_sts_attempt *a,
                          const struct s3_http_response *r)
{
	switch (r->failure) {
	case S3_HTTP_TIMEOUT:
		s3_sts_attempt_set(a, BC_E_TIMEOUT, "s3.sts_timeout", "timeout", 0);
		snprintf(a->detail, sizeof(a->detail),
		         "STS at %s did not answer within timeout (%ld ms; %s)", s->target.url,
		         s->timeout_ms, r->why);
		break;
	case S3_HTTP_UNREACHABLE:
		/* Issue 6: "STS down -> 504 within timeout". A refused or lost
		 * connection may be a restart or a failover, so it is retried. */
		s3_sts_attempt_set(a, BC_E_TIMEOUT, "s3.sts_unreachable", "unreachable", 1);
		snprintf(a->detail, sizeof(a->detail), "cannot reach STS at %s: %s "
		         "(check sts_endpoint)", s->target.url, r->why);
		break;
	case S3_HTTP_TLS:
		s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_tls", "tls", 0);
		snprintf(a->detail, sizeof(a->detail),
		         "TLS with STS at %s failed: %s (check sts_endpoint and ca_file)",
		         s->target.url, r->why);
		break;
	case S3_HTTP_NOMEM:
		s3_sts_attempt_set(a, BC_E_NOMEM, "s3.nomem", "error", 0);
		snprintf(a->detail, sizeof(a->detail), r->why[0] ? "out of memory talking to STS"
		         : "out of memory preparing the STS request");
		break;
	case S3_HTTP_SIGN:
		s3_sts_attempt_set(a, BC_E_INTERNAL, "s3.internal", "error", 0);
		snprintf(a->detail, sizeof(a->detail), "cannot sign the STS request");
		break;
	default:
		s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_bad_response", "bad_response", 0);
		snprintf(a->detail, sizeof(a->detail), "talking to STS at %s failed: %s",
		         s->target.url, r->why);
		break;
	}
}

static void s3_sts_attempt(struct s3_sts *s, CURL *h, const struct s3_sts_call *call,
                           const char *form, struct s3_sts_creds *creds,
                           struct s3_sts_attempt *a)
{
	struct s3_http_response resp;
	struct s3_sts_xml x;
	long budget_ms = a->budget_ms;
	struct s3_http_request req = {
		.method = "POST", .target = &s->target,
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.accept = "text/xml", .body = form, .body_len = strlen(form),
		.sign_payload = 0, .normalize_path = 1,
		.session_token = s->session_token, .ca_file = s->ca_file,
		.connect_timeout_ms = s->connect_timeout_ms < budget_ms ? s->connect_timeout_ms
		                                                         : budget_ms,
		.timeout_ms = budget_ms, .body_max = S3_STS_BODY_MAX,
	};
	int xrc;

	memset(&x, 0, sizeof(x));
	memset(a, 0, sizeof(*a));
	a->budget_ms = budget_ms;
	if (s3_http_perform(s->api, h, s->signer, &req, &resp) != S3_HTTP_OK) {
		s3_sts_failed(s, a, &resp);
		goto out;
	}
	a->http_status = resp.status;
	if (resp.too_big) {
		s3_sts_attempt_set(a, BC_E_UPSTREAM, "s3.sts_bad_response", "bad_response", 0);
		snprintf(a->detail, sizeof(a->detail), "STS answered over %d bytes",
		         S3_STS_BODY_MAX);
		goto out;
	}

	xrc = s3_xml_parse_sts(resp.body, resp.body_len, &x);
	if (xrc == -2) {
		s3_sts_attempt_set(a, BC_E_NOMEM, "s3.nomem", "error", 0);
		snprintf(a->detail, sizeof(a->detail), "out of memory reading the STS answer");
		goto out;
	}
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
	s3_http_response_clear(&resp);
}

static void s3_sts_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Remember how a call ended. Failures of STS itself (no connection, no
 * answer, throttling after every retry, 5xx, TLS, a refusal, an answer that
 * is not STS's) count; our own (out of memory) do not. A success resets. */
static void s3_sts_outcome(struct s3_sts *s, const struct s3_sts_attempt *a)
{
	int upstream = a->status == BC_E_TIMEOUT || a->status == BC_E_UNAVAILABLE ||
	               a->status == BC_E_UPSTREAM;
	if (a->status != BC_OK && !upstream)
		return;
	pthread_mutex_lock(&s->lock);
	if (a->status == BC_OK) {
		s->fails_in_row = 0;
	} else {
		if (s->fails_in_row < 1000000)
			s->fails_in_row++;
		s->last_fail_ms = s->api->monotonic_ms();
		s->last_status = a->status;
		snprintf(s->last_code, sizeof(s->last_code), "%s", a->code ? a->code : "s3.sts_error");
		snprintf(s->last_detail, sizeof(s->last_detail), "%s", a->detail);
	}
	pthread_mutex_unlock(&s->lock);
}

enum bc_status s3_sts_health(struct s3_sts *s, struct bc_error *err)
{
	const struct bc_host_api *api = s->api;
	char code[sizeof(s->last_code)], detail[sizeof(s->last_detail)];
	unsigned fails;
	int64_t ago;

	pthread_mutex_lock(&s->lock);
	fails = s->fails_in_row;
	ago = api->monotonic_ms() - s->last_fail_ms;
	memcpy(code, s->last_code, sizeof(code));
	memcpy(detail, s->last_detail, sizeof(detail));
	pthread_mutex_unlock(&s->lock);
	if (fails < S3_STS_HEALTH_FAILS || ago > S3_STS_HEALTH_WINDOW_MS)
		return BC_OK;
	return api->fail(err, BC_E_UNAVAILABLE, code,
	                 "the last %u STS calls failed, the last %llds ago: %s", fails,
	                 (long long)(ago / 1000), detail);
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
	s3_sts_outcome(s, &a);
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
	s->session_token = s3_sts_strdup0(cfg->session_token);
	s->ca_file = s3_sts_strdup0(cfg->ca_file);
	s->signer = s3_signer_new(cfg->access_key_id, cfg->secret_access_key, cfg->region, "sts");
	if ((cfg->session_token && *cfg->session_token && !s->session_token) ||
	    (cfg->ca_file && *cfg->ca_file && !s->ca_file) || s->signer == NULL) {
		st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
		goto fail;
	}
	s->connect_timeout_ms = (long)cfg->connect_timeout_ms;
	s->timeout_ms = (long)cfg->timeout_ms;
	s->retries = cfg->retries;
	st = s3_http_target_parse(api, cfg->endpoint, "sts_endpoint", cfg->endpoint, &s->target,
	                          err);
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
	s3_http_target_clear(&s->target);
	free(s->ca_file);
	pthread_mutex_destroy(&s->lock);
	if (s->curl_inited)
		curl_global_cleanup();
	free(s);
}
