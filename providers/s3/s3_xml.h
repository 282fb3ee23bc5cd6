/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_xml.h: reading STS answers and S3 error bodies (expat), and what an
 * STS error means for us.
 *
 * s3_xml_parse_sts() reads a GetFederationTokenResponse, an
 * AssumeRoleResponse or an ErrorResponse into struct s3_sts_xml;
 * s3_xml_parse_error() reads the code and message of an S3 (or STS) error;
 * s3_xml_classify() turns an HTTP status and an STS error code into our
 * status, dotted code and whether a retry may help. Pure functions: any thread.
 */
#ifndef S3_XML_H
#define S3_XML_H

#include <stddef.h>

#include <broadcast/plugin.h>

/* The parts of an STS answer we use. Every string is malloc()ed or NULL;
 * s3_xml_clear() wipes the secrets and frees them all. */
struct s3_sts_xml {
	int is_error;            /* the root element was ErrorResponse */
	char *access_key_id;     /* Credentials/AccessKeyId */
	char *secret_access_key; /* Credentials/SecretAccessKey (secret) */
	char *session_token;     /* Credentials/SessionToken (secret) */
	char *expiration;        /* Credentials/Expiration, ISO 8601 */
	char *error_code;        /* Error/Code, e.g. "Throttling" */
	char *error_message;     /* Error/Message */
	char *request_id;        /* RequestId (either kind of answer) */
};

/*
 * s3_xml_parse_sts: parse body (len bytes).
 * Returns 0 when the document is well-formed XML (its content may still lack
 * credentials: the caller checks), -1 when it is not XML, has a DOCTYPE
 * (refused: no entity tricks), or a text is over 64 KiB, -2 when out of
 * memory. out is filled as far as it got either way; clear it.
 */
int s3_xml_parse_sts(const char *body, size_t len, struct s3_sts_xml *out);

/* s3_xml_clear: wipe and free every member, zero out. NULL is a no-op. */
void s3_xml_clear(struct s3_sts_xml *x);

/* The parts of an S3 or STS error answer. Every string is malloc()ed or NULL;
 * s3_xml_error_clear() frees them. */
struct s3_xml_error {
	char *code;       /* Error/Code, e.g. "BucketAlreadyOwnedByYou" */
	char *message;    /* Error/Message */
	char *request_id; /* RequestId */
};

/*
 * s3_xml_parse_error: parse an error body (len bytes): S3's
 * <Error><Code/><Message/><RequestId/></Error> or STS's
 * <ErrorResponse><Error>...</Error><RequestId/></ErrorResponse>.
 * Returns 0 when the document is well-formed XML whose root is Error or
 * ErrorResponse (Code may still be missing: the caller checks), -1 when it is
 * not XML, has a DOCTYPE, a text over 64 KiB or another root, -2 when out of
 * memory. out is filled as far as it got either way; clear it.
 */
int s3_xml_parse_error(const char *body, size_t len, struct s3_xml_error *out);

/* s3_xml_error_clear: free every member, zero e. NULL is a no-op. */
void s3_xml_error_clear(struct s3_xml_error *e);

/* What one failed STS answer means. */
struct s3_xml_verdict {
	enum bc_status status; /* BC_E_UNAVAILABLE, BC_E_UPSTREAM ... */
	const char *code;      /* static dotted code, e.g. "s3.sts_throttled" */
	const char *label;     /* static metric label, e.g. "throttled" */
	int retryable;         /* 1 for throttling and server errors */
};

/*
 * s3_xml_classify: the verdict for an answer with HTTP status http_status
 * (not 2xx) and STS error code error_code (may be NULL):
 *   throttling (Throttling, RequestLimitExceeded, ..., or HTTP 429)
 *       -> BC_E_UNAVAILABLE "s3.sts_throttled", retryable
 *   refused base credentials or signature (InvalidClientTokenId,
 *       SignatureDoesNotMatch, AccessDenied, ExpiredToken, ..., or 401/403)
 *       -> BC_E_UPSTREAM "s3.credentials_rejected" (label "denied"; issue 6)
 *   HTTP 5xx -> BC_E_UPSTREAM "s3.sts_error", retryable
 *   any other -> BC_E_UPSTREAM "s3.sts_rejected" (e.g. MalformedPolicyDocument)
 */
struct s3_xml_verdict s3_xml_classify(long http_status, const char *error_code);

#endif /* S3_XML_H */
