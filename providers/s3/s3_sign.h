/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_sign.h: AWS Signature Version 4 (header-based signing) for the s3
 * provider's calls to STS and S3.
 *
 * Central type: struct s3_signer, one set of long-term credentials bound to a
 * region and a service. It caches the derived signing key
 * (HMAC chain over date, region, service, "aws4_request"), which is valid for
 * one UTC day, so a busy instance runs four HMACs a day instead of four per
 * request (DESIGN §9). s3_sign() turns one request description into the
 * canonical request, the string to sign and the Authorization header value,
 * exactly as AWS's test suite spells them (tests/unit/test_s3_sign.c runs it).
 *
 * What is left to callers: choosing which headers to sign (every header given
 * is signed), adding X-Amz-Date and X-Amz-Security-Token to the request, and
 * the transport (s3_http.c, for STS and S3 alike).
 *
 * Thread-safety: one signer may be used from any number of threads at once
 * (the key cache is guarded by a mutex).
 */
#ifndef S3_SIGN_H
#define S3_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <broadcast/plugin.h>

/* One request header. Names are matched without regard to case; a name given
 * more than once is signed as one header whose values are joined with ','
 * in the order given (SigV4 task 1). */
struct s3_sign_header {
	const char *name;
	const char *value;
};

/* What to sign. Every pointer is borrowed for the call. */
struct s3_sign_input {
	const char *method;   /* "GET", "POST" */
	const char *path;     /* the URI path, NOT percent-encoded (raw bytes);
	                         s3_sign() encodes it. NULL or "" means "/" */
	const char *query;    /* the query string without '?', as on the wire
	                         (may hold %XX escapes or raw UTF-8), or NULL */
	const struct s3_sign_header *headers; /* all of them are signed */
	size_t n_headers;
	const void *body;     /* the payload, hashed with SHA-256; may be NULL */
	size_t body_len;
	const char *amz_date; /* the X-Amz-Date value, "YYYYMMDDTHHMMSSZ" */
	int normalize_path;   /* 1: remove "." and ".." segments and empty
	                         segments, as every service but S3 expects;
	                         0: sign the path as is (S3) */
};

/* What s3_sign() produces; every member is malloc()ed, released by
 * s3_sign_output_clear(). */
struct s3_sign_output {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;  /* "host;x-amz-date" */
	char *authorization;   /* the whole Authorization header value */
};

struct s3_signer;

/*
 * s3_signer_new: a signer for one access key, region and service.
 * Every string is copied. Returns NULL when out of memory or when an
 * argument is NULL or empty. Free with s3_signer_free().
 */
struct s3_signer *s3_signer_new(const char *access_key_id, const char *secret_access_key,
                                const char *region, const char *service);

/* s3_signer_free: wipe the secret and the cached key, free. NULL is a no-op. */
void s3_signer_free(struct s3_signer *signer);

/*
 * s3_sign: sign one request.
 * Returns BC_OK and fills *out (which the caller clears), BC_E_INVALID when
 * amz_date or method is malformed, or BC_E_NOMEM. On failure *out holds
 * nothing to free. Any thread.
 */
enum bc_status s3_sign(struct s3_signer *signer, const struct s3_sign_input *in,
                       struct s3_sign_output *out);

/* s3_sign_output_clear: free what s3_sign() put into out and zero it. */
void s3_sign_output_clear(struct s3_sign_output *out);

/* How many times the signer derived a signing key (a test hook: it stays 1
 * for any number of requests on one day). */
unsigned long s3_signer_key_derivations(struct s3_signer *signer);

/* s3_sign_amz_date: format ms since the epoch as "YYYYMMDDTHHMMSSZ" (UTC). */
void s3_sign_amz_date(int64_t epoch_ms, char out[17]);

/*
 * s3_sign_uri_encode: percent-encode every byte but A-Z a-z 0-9 - _ . ~ (and
 * '/' when keep_slash), as SigV4 and the AWS query protocol both require.
 * Returns a malloc()ed string, or NULL when out of memory.
 */
char *s3_sign_uri_encode(const char *s, size_t len, int keep_slash);

#endif /* S3_SIGN_H */
