/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_sts.h: a small AWS STS client (GetFederationToken and AssumeRole, the
 * query protocol over HTTPS) on libcurl, for the s3 provider.
 *
 * Central type: struct s3_sts, one per provider instance: the endpoint, the
 * base credentials' signer (s3_sign.h), timeouts, the retry budget and a pool
 * of curl easy handles, each keeping its connection alive between calls.
 * s3_sts_issue() makes one call, retrying with jittered exponential backoff
 * when STS throttles, fails (5xx) or cannot be reached, all within `timeout`;
 * the answer is parsed by s3_xml.c.
 *
 * Thread-safety: s3_sts_issue() may run in any number of threads at once;
 * each call borrows its own curl handle from the pool.
 */
#ifndef S3_STS_H
#define S3_STS_H

#include <stdint.h>

#include <broadcast/host.h>

/* How to reach STS; every string is copied by s3_sts_new(). */
struct s3_sts_config {
	const char *endpoint;          /* "https://sts.us-west-1.amazonaws.com" */
	const char *region;            /* signing region */
	const char *access_key_id;     /* base credentials */
	const char *secret_access_key;
	const char *session_token;     /* NULL unless the base credentials are temporary */
	const char *ca_file;           /* NULL: the system's CA store */
	int64_t connect_timeout_ms;    /* per connection (capped by what is left) */
	int64_t timeout_ms;            /* the whole call: every attempt and wait */
	unsigned retries;              /* extra attempts after a retryable failure */
};

/* One call. Every pointer borrowed for the call. */
struct s3_sts_call {
	int assume_role;         /* 0: GetFederationToken, 1: AssumeRole */
	const char *name;        /* Name (federation) or RoleSessionName, already
	                            valid for STS (s3_policy_sts_name) */
	const char *policy;      /* the inline policy JSON */
	int64_t duration_s;      /* DurationSeconds */
	const char *role_arn;    /* AssumeRole: RoleArn */
	const char *external_id; /* AssumeRole: ExternalId, or NULL */
};

/* Minted credentials; s3_sts_creds_clear() wipes and frees them. */
struct s3_sts_creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	char *expiration; /* ISO 8601 as STS wrote it */
};

struct s3_sts;

/*
 * s3_sts_new: a client for cfg; api and host are kept for log lines and
 * metrics (valid until s3_sts_free). Returns BC_OK and *out, BC_E_INVALID
 * (a malformed endpoint URL) or BC_E_NOMEM, described through api->fail(err).
 * Main thread (it calls curl_global_init).
 */
enum bc_status s3_sts_new(const struct bc_host_api *api, struct bc_host *host,
                          const struct s3_sts_config *cfg, struct s3_sts **out,
                          struct bc_error *err);

/* s3_sts_free: close the pool's connections, wipe the secrets. NULL is a no-op.
 * Main thread, no call in flight. */
void s3_sts_free(struct s3_sts *sts);

/*
 * s3_sts_issue: ask STS for credentials.
 * Returns BC_OK with *creds filled, or a failure described with api->fail():
 *   BC_E_UNAVAILABLE "s3.sts_throttled"  throttled on every attempt
 *   BC_E_TIMEOUT     "s3.sts_unreachable" no connection (refused, no route,
 *                                        DNS) on every attempt within timeout
 *   BC_E_TIMEOUT     "s3.sts_timeout"    no answer within timeout
 *   BC_E_UPSTREAM    "s3.credentials_rejected" the base credentials or
 *                                        signature refused
 *   BC_E_UPSTREAM    "s3.sts_error"      STS failed (5xx) on every attempt
 *   BC_E_UPSTREAM    "s3.sts_rejected"   another STS error (message has its code)
 *   BC_E_UPSTREAM    "s3.sts_bad_response" an answer that is not STS XML
 *   BC_E_UPSTREAM    "s3.sts_tls"        TLS failed (certificate, ca_file)
 *   BC_E_NOMEM / BC_E_INTERNAL
 * Counts s3_sts_requests_total{result=...} once per attempt. Any thread.
 */
enum bc_status s3_sts_issue(struct s3_sts *sts, const struct s3_sts_call *call,
                            struct s3_sts_creds *creds, struct bc_error *err);

/*
 * s3_sts_health: whether STS has been failing real calls: BC_OK, or
 * BC_E_UNAVAILABLE with the dotted code of the last failure (e.g.
 * "s3.sts_unreachable") when the last S3_STS_HEALTH_FAILS (2) calls of
 * s3_sts_issue() failed upstream (every code of s3_sts_issue() but
 * s3.nomem and s3.internal), the last within S3_STS_HEALTH_WINDOW_MS (60 s).
 * One successful call makes it BC_OK again; so does a quiet minute, since
 * old failures say little about now. It sends nothing: a probe per health
 * check would cost money and rate limit. Any thread.
 */
enum bc_status s3_sts_health(struct s3_sts *sts, struct bc_error *err);

/* s3_sts_creds_clear: wipe and free; NULL is a no-op. */
void s3_sts_creds_clear(struct s3_sts_creds *creds);

#endif /* S3_STS_H */
