/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_http.h: the s3 provider's one HTTP path: a SigV4-signed request to an
 * AWS (or AWS-compatible) endpoint, sent with libcurl, its answer collected.
 *
 * Both callers go through it: s3_sts.c (STS, service "sts", on pooled curl
 * handles) and s3_bucket.c (HEAD/PUT Bucket, service "s3", one handle per
 * call). It owns what they share: the endpoint URL as curl parses it
 * (struct s3_http_target), the signed header set (Host, X-Amz-Date, the
 * optional Content-Type, X-Amz-Content-SHA256 and X-Amz-Security-Token), the
 * curl options (protocols, timeouts, CA file, user agent), one body collector
 * with a size bound, and the sorting of curl failures into a few kinds. What
 * a status or a failure means (dotted codes, messages, retries) stays with the
 * caller, which knows whether it talked to STS or S3.
 *
 * Thread-safety: s3_http_perform() may run in any number of threads at once,
 * each on its own curl handle; a target is read-only once parsed.
 */
#ifndef S3_HTTP_H
#define S3_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include <broadcast/host.h>

#include "s3_sign.h"

/* Where requests go. Every member is malloc()ed; s3_http_target_clear(). */
struct s3_http_target {
	char *url;         /* the URL as given */
	char *host_header; /* "host", or "host:port" when not the scheme's default,
	                      as curl sends it: what is signed is what is sent */
	char *path;        /* the URL-decoded path, "/" at least (signed) */
};

/*
 * s3_http_target_parse: url (borrowed) through curl's own URL parser.
 * option and shown name the setting in the error message (borrowed):
 *   BC_E_INVALID "s3.bad_option" "<option> \"<shown>\" is not an http:// or
 *                                 https:// URL"
 *   BC_E_NOMEM   "s3.nomem"
 * Fills *t only on BC_OK (clear it either way). Any thread.
 */
enum bc_status s3_http_target_parse(const struct bc_host_api *api, const char *url,
                                    const char *option, const char *shown,
                                    struct s3_http_target *t, struct bc_error *err);

/* s3_http_target_clear: free every member and zero t; NULL is a no-op. */
void s3_http_target_clear(struct s3_http_target *t);

/* One request. Every pointer is borrowed for the call. */
struct s3_http_request {
	const char *method;                  /* "POST", "PUT", "HEAD" */
	const struct s3_http_target *target;
	const char *content_type;            /* Content-Type (signed), or NULL */
	const char *accept;                  /* Accept (not signed), or NULL */
	const char *body;                    /* the payload, or NULL (HEAD) */
	size_t body_len;
	int sign_payload;   /* 1: send and sign X-Amz-Content-SHA256 (S3 wants it) */
	int normalize_path; /* as s3_sign_input: 1 for STS, 0 for S3 */
	const char *session_token;           /* X-Amz-Security-Token (signed), or NULL */
	const char *ca_file;                 /* CURLOPT_CAINFO, or NULL: the system's */
	long connect_timeout_ms;             /* CURLOPT_CONNECTTIMEOUT_MS */
	long timeout_ms;                     /* CURLOPT_TIMEOUT_MS */
	size_t body_max;    /* the largest answer body read; a longer one stops the
	                       transfer and sets too_big */
};

/* What became of a request. */
enum s3_http_failure {
	S3_HTTP_OK = 0,      /* an HTTP answer: status, and body unless too_big */
	S3_HTTP_NOMEM,       /* out of memory: why is "" while preparing (nothing
	                        was sent), curl's words when curl ran out */
	S3_HTTP_SIGN,        /* the request could not be signed */
	S3_HTTP_TIMEOUT,     /* no answer within timeout_ms */
	S3_HTTP_UNREACHABLE, /* no connection: DNS, refused, no route, lost */
	S3_HTTP_TLS,         /* certificate or handshake (see ca_file) */
	S3_HTTP_OTHER,       /* any other curl failure */
};

/* The answer. body is malloc()ed and NUL-terminated (or NULL when empty);
 * s3_http_response_clear() wipes it (an STS answer holds secrets). */
struct s3_http_response {
	enum s3_http_failure failure;
	long status;       /* the HTTP status (failure S3_HTTP_OK), else 0 */
	char *body;
	size_t body_len;
	int too_big;       /* the body passed body_max: body is cut, status kept */
	char why[CURL_ERROR_SIZE]; /* curl's reason when failure is not OK, or "" */
};

/*
 * s3_http_perform: sign req with signer (SigV4, at api->now_ms()) and send it
 * on h, a fresh or curl_easy_reset() handle that the caller keeps (it may
 * hold the connection alive for the next call), or NULL for a handle made
 * and closed here. Fills *resp (zeroed first; clear it whatever the result)
 * and returns resp->failure. Never logs. Any thread, one call per handle.
 */
enum s3_http_failure s3_http_perform(const struct bc_host_api *api, CURL *h,
                                     struct s3_signer *signer,
                                     const struct s3_http_request *req,
                                     struct s3_http_response *resp);

/* s3_http_response_clear: wipe and free the body, zero resp; NULL is a no-op. */
void s3_http_response_clear(struct s3_http_response *resp);

#endif /* S3_HTTP_H */
