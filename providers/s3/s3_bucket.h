/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_bucket.h: make sure the provider's bucket exists (option create_bucket).
 *
 * One function, run once by create(): a signed HEAD Bucket to the S3
 * endpoint and, when S3 answers 404, a signed PUT Bucket (CreateBucket, with
 * a CreateBucketConfiguration naming the region outside us-east-1). Signed
 * with SigV4 for service "s3" by s3_sign.c, sent with libcurl. No state is
 * kept: each call makes its own curl handle. Any thread.
 */
#ifndef S3_BUCKET_H
#define S3_BUCKET_H

#include <stdint.h>

#include <broadcast/host.h>

/* Where the bucket is and who asks; every pointer borrowed for the call. */
struct s3_bucket_config {
	const char *endpoint;          /* s3_endpoint (path-style), or NULL for
	                                  AWS: https://BUCKET.s3.REGION.amazonaws.com
	                                  (path-style when the name has a '.') */
	const char *bucket;
	const char *region;            /* signing region and LocationConstraint */
	const char *access_key_id;     /* the base credentials */
	const char *secret_access_key;
	const char *session_token;     /* NULL unless temporary */
	const char *ca_file;           /* NULL: the system's CA store */
	int64_t connect_timeout_ms;
	int64_t timeout_ms;            /* each of the (at most two) requests */
};

/*
 * s3_bucket_ensure: HEAD the bucket; create it when S3 says 404.
 * Returns BC_OK (it existed, or was created, or S3 says we already own it),
 * or a failure described with api->fail():
 *   BC_E_INVALID     "s3.bad_option"        s3_endpoint is not an http(s) URL
 *   BC_E_UPSTREAM    "s3.bucket_denied"     S3 refused the base credentials
 *                                           (403: wrong key, no s3:ListBucket
 *                                           or s3:CreateBucket, or another
 *                                           account's bucket)
 *   BC_E_UPSTREAM    "s3.bucket_error"      any other answer (e.g. 301: the
 *                                           bucket is in another region;
 *                                           409 BucketAlreadyExists)
 *   BC_E_TIMEOUT     "s3.bucket_unreachable" no connection to the endpoint
 *   BC_E_TIMEOUT     "s3.bucket_timeout"    no answer within timeout
 *   BC_E_NOMEM       "s3.nomem"
 * Logs one info line when it creates the bucket; never a secret.
 */
enum bc_status s3_bucket_ensure(const struct bc_host_api *api, struct bc_host *host,
                                const struct s3_bucket_config *cfg, struct bc_error *err);

#endif /* S3_BUCKET_H */
