/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_bucket.c: create_bucket, i.e. HEAD Bucket and CreateBucket against S3 or
 * an S3-compatible service (declared in s3_bucket.h).
 *
 * It runs once per instance, at create(), so it keeps nothing: one signer
 * (service "s3") per call, and a curl handle per request (s3_http.c), freed
 * before returning. The request is signed with the payload's SHA-256 in
 * X-Amz-Content-SHA256, as S3 requires. Custom endpoints (MinIO, Ceph RGW) are
 * addressed path-style (ENDPOINT/BUCKET), since their buckets rarely have DNS
 * names; AWS is addressed virtual-host style unless the bucket name has a
 * '.', which would not match the *.s3.REGION.amazonaws.com certificate.
 *
 * Error bodies are S3's <Error><Code>…</Code>…</Error>, read by s3_xml.c;
 * only the code is taken (characters outside [A-Za-z0-9.] dropped), for the
 * message. Nothing here logs or returns a secret.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_bucket.h"
#include "s3_http.h"
#include "s3_sign.h"
#include "s3_xml.h"

#define S3_BUCKET_BODY_MAX (64 * 1024)

/* The bucket's URL: path-style under a custom endpoint, else AWS's. */
static char *s3_bucket_url(const struct s3_bucket_config *cfg)
{
	char *enc = s3_sign_uri_encode(cfg->bucket, strlen(cfg->bucket), 0), *url;
	size_t el = cfg->endpoint ? strlen(cfg->endpoint) : 0;
	size_t n;
	if (enc == NULL)
		return NULL;
	while (el > 0 && cfg->endpoint[el - 1] == '/')
		el--;
	n = el + strlen(enc) + strlen(cfg->region) + 48;
	if ((url = malloc(n)) != NULL) {
		if (cfg->endpoint != NULL)
			snprintf(url, n, "%.*s/%s", (int)el, cfg->endpoint, enc);
		else if (strchr(cfg->bucket, '.') != NULL)
			snprintf(url, n, "https://s3.%s.amazonaws.com/%s", cfg->region, enc);
		else
			snprintf(url, n, "https://%s.s3.%s.amazonaws.com/", enc, cfg->region);
	}
	free(enc);
	return url;
}

/* The <Code> of an S3 error body, sanitised, into out ("" when none). */
static void s3_bucket_error_code(const struct s3_http_response *r, char *out, size_t outsz)
{
	struct s3_xml_error e;
	size_t n = 0;
	int rc = s3_xml_parse_error(r->body, r->too_big ? 0 : r->body_len, &e);
	for (const char *p = rc == 0 ? e.code : NULL; p != NULL && *p && n + 1 < outsz; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '.')
			out[n++] = *p;
	out[n] = '\0';
	s3_xml_error_clear(&e);
}

/* One signed request. On BC_OK, *http_status and code (S3's error code or
 * "") say what S3 answered; a transport failure is described in err. */
static enum bc_status s3_bucket_call(const struct bc_host_api *api,
                                     const struct s3_bucket_config *cfg,
                                     struct s3_signer *signer,
                                     const struct s3_http_target *t, const char *method,
                                     const char *body, long *http_status, char *code,
                                     size_t codesz, struct bc_error *err)
{
	struct s3_http_request req = {
		.method = method, .target = t,
		.content_type = body != NULL && *body ? "application/xml" : NULL,
		.body = body, .body_len = body ? strlen(body) : 0,
		.sign_payload = 1, .normalize_path = 0, /* S3 signs the path as is */
		.session_token = cfg->session_token, .ca_file = cfg->ca_file,
		.connect_timeout_ms = (long)cfg->connect_timeout_ms,
		.timeout_ms = (long)cfg->timeout_ms, .body_max = S3_BUCKET_BODY_MAX,
	};
	struct s3_http_response resp;
	enum bc_status st = BC_OK;

	code[0] = '\0';
	*http_status = 0;
	switch (s3_http_perform(api, NULL, signer, &req, &resp)) {
	case S3_HTTP_OK:
		*http_status = resp.status;
		s3_bucket_error_code(&resp, code, codesz);
		break;
	case S3_HTTP_SIGN:
		st = api->fail(err, BC_E_INTERNAL, "s3.internal", "cannot sign the S3 request");
		break;
	case S3_HTTP_TIMEOUT:
		st = api->fail(err, BC_E_TIMEOUT, "s3.bucket_timeout",
		               "create_bucket: S3 at %s did not answer %s within %lld ms (%s)",
		               t->url, method, (long long)cfg->timeout_ms, resp.why);
		break;
	case S3_HTTP_UNREACHABLE:
		st = api->fail(err, BC_E_TIMEOUT, "s3.bucket_unreachable",
		               "create_bucket: cannot reach S3 at %s: %s (check s3_endpoint)",
		               t->url, resp.why);
		break;
	default:
		if (resp.failure == S3_HTTP_NOMEM && !resp.why[0]) {
			st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
			break;
		}
		st = api->fail(err, BC_E_UPSTREAM, "s3.bucket_error",
		               "create_bucket: %s %s failed: %s (check s3_endpoint and "
		               "ca_file)", method, t->url, resp.why);
		break;
	}
	s3_http_response_clear(&resp);
	return st;
}

enum bc_status s3_bucket_ensure(const struct bc_host_api *api, struct bc_host *host,
                                const struct s3_bucket_config *cfg, struct bc_error *err)
{
	struct s3_http_target t = { 0 };
	struct s3_signer *signer = NULL;
	char code[64], *body = NULL, *url = NULL;
	long status = 0;
	enum bc_status st;

	for (const char *p = cfg->region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return api->fail(err, BC_E_INVALID, "s3.bad_option",
			                 "region \"%s\" is not a region name", cfg->region);
	if ((url = s3_bucket_url(cfg)) == NULL) {
		st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
		goto out;
	}
	st = s3_http_target_parse(api, url, "s3_endpoint", cfg->endpoint ? cfg->endpoint : "",
	                          &t, err);
	if (st != BC_OK)
		goto out;
	signer = s3_signer_new(cfg->access_key_id, cfg->secret_access_key, cfg->region, "s3");
	if (signer == NULL) {
		st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
		goto out;
	}
	st = s3_bucket_call(api, cfg, signer, &t, "HEAD", NULL, &status, code, sizeof(code), err);
	if (st != BC_OK)
		goto out;
	if (status >= 200 && status < 300)
		goto out; /* it exists and the base credentials may see it */
	if (status == 403) {
		st = api->fail(err, BC_E_UPSTREAM, "s3.bucket_denied",
		               "create_bucket: S3 refused HEAD of bucket \"%s\" (HTTP 403): the "
		               "base credentials are wrong, lack s3:ListBucket, or the bucket "
		               "belongs to another account", cfg->bucket);
		goto out;
	}
	if (status != 404) {
		st = api->fail(err, BC_E_UPSTREAM, "s3.bucket_error",
		               "create_bucket: S3 answered HEAD of bucket \"%s\" with HTTP %ld%s",
		               cfg->bucket, status,
		               status == 301 ? " (the bucket is in another region: check region)"
		                             : "");
		goto out;
	}

	/* us-east-1 is S3's default location and must not be named. */
	if (strcmp(cfg->region, "us-east-1") != 0) {
		size_t n = strlen(cfg->region) + 160;
		if ((body = malloc(n)) == NULL) {
			st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
			goto out;
		}
		snprintf(body, n, "<CreateBucketConfiguration "
		         "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>%s"
		         "</LocationConstraint></CreateBucketConfiguration>", cfg->region);
	}
	st = s3_bucket_call(api, cfg, signer, &t, "PUT", body, &status, code, sizeof(code), err);
	if (st != BC_OK)
		goto out;
	if ((status >= 200 && status < 300) ||
	    (status == 409 && strcmp(code, "BucketAlreadyOwnedByYou") == 0)) {
		/* 409 BucketAlreadyOwnedByYou: another node created it meanwhile. */
		api->log(host, BC_LOG_INFO, "create_bucket: %s bucket %s in %s at %s",
		         status == 409 ? "already own" : "created", cfg->bucket, cfg->region,
		         t.url);
		goto out;
	}
	st = api->fail(err, BC_E_UPSTREAM, status == 403 ? "s3.bucket_denied" : "s3.bucket_error",
	               "create_bucket: S3 refused to create bucket \"%s\": HTTP %ld %s%s",
	               cfg->bucket, status, code[0] ? code : "(no S3 error code)",
	               status == 403 ? " (the base credentials need s3:CreateBucket)"
	               : strcmp(code, "BucketAlreadyExists") == 0
	                       ? " (another account owns that name: choose another bucket)"
	                       : "");
out:
	free(body);
	s3_signer_free(signer);
	s3_http_target_clear(&t);
	free(url);
	return st;
}
