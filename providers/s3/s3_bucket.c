/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_bucket.c: create_bucket, i.e. HEAD Bucket and CreateBucket against S3 or
 * an S3-compatible service (declared in s3_bucket.h).
 *
 * It runs once per instance, at create(), so it keeps nothing: one curl easy
 * handle and one signer (service "s3") per call, freed before returning. The
 * request is signed with the payload's SHA-256 in X-Amz-Content-SHA256, as S3
 * requires; Host is set by us from the URL, so what is signed is what curl
 * sends. Custom endpoints (MinIO, Ceph RGW) are addressed path-style
 * (ENDPOINT/BUCKET), since their buckets rarely have DNS names; AWS is
 * addressed virtual-host style unless the bucket name has a '.', which would
 * not match the *.s3.REGION.amazonaws.com certificate.
 *
 * Error bodies are S3's <Error><Code>…</Code>…</Error>; only the code is
 * taken (with a plain search, characters outside [A-Za-z0-9.] dropped), for
 * the message. Nothing here logs or returns a secret.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "s3_bucket.h"
#include "s3_sign.h"

#define S3_BUCKET_BODY_MAX (64 * 1024)

struct s3_bucket_body {
	char *p;
	size_t len;
};

static size_t s3_bucket_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct s3_bucket_body *b = ud;
	size_t n = size * nmemb;
	if (b->len + n > S3_BUCKET_BODY_MAX)
		return n; /* the code is near the top; drop the rest */
	char *p = realloc(b->p, b->len + n + 1);
	if (p == NULL)
		return 0;
	b->p = p;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* The <Code> of an S3 error body, sanitised, into out ("" when none). */
static void s3_bucket_error_code(const char *body, char *out, size_t outsz)
{
	const char *p = body != NULL ? strstr(body, "<Code>") : NULL;
	size_t n = 0;
	if (p != NULL)
		for (p += 6; *p && *p != '<' && n + 1 < outsz; p++)
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '.')
				out[n++] = *p;
	out[n] = '\0';
}

struct s3_bucket_target {
	char *url;
	char *host_header; /* "host" or "host:port" as curl sends it */
	char *path;        /* decoded URL path */
};

static void s3_bucket_target_clear(struct s3_bucket_target *t)
{
	free(t->url);
	free(t->host_header);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/* The bucket's URL, and its Host header and path via curl's own parser. */
static enum bc_status s3_bucket_target(const struct bc_host_api *api,
                                       const struct s3_bucket_config *cfg,
                                       struct s3_bucket_target *t, struct bc_error *err)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *enc = NULL;
	enum bc_status st = BC_E_NOMEM;
	size_t n;

	enc = s3_sign_uri_encode(cfg->bucket, strlen(cfg->bucket), 0);
	if (enc == NULL)
		goto out;
	if (cfg->endpoint != NULL) {
		size_t el = strlen(cfg->endpoint);
		while (el > 0 && cfg->endpoint[el - 1] == '/')
			el--;
		n = el + strlen(enc) + 3;
		if ((t->url = malloc(n)) == NULL)
			goto out;
		snprintf(t->url, n, "%.*s/%s", (int)el, cfg->endpoint, enc);
	} else {
		n = strlen(enc) + strlen(cfg->region) + 48;
		if ((t->url = malloc(n)) == NULL)
			goto out;
		if (strchr(cfg->bucket, '.') != NULL)
			snprintf(t->url, n, "https://s3.%s.amazonaws.com/%s", cfg->region, enc);
		else
			snprintf(t->url, n, "https://%s.s3.%s.amazonaws.com/", enc, cfg->region);
	}
	if ((u = curl_url()) == NULL)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, t->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		st = api->fail(err, BC_E_INVALID, "s3.bad_option",
		               "s3_endpoint \"%s\" is not an http:// or https:// URL",
		               cfg->endpoint ? cfg->endpoint : "");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		path = NULL;
	{
		const char *dflt = strcmp(scheme, "https") == 0 ? "443" : "80";
		n = strlen(host) + (port ? strlen(port) : 0) + 2;
		if ((t->host_header = malloc(n)) == NULL)
			goto out;
		if (port != NULL && strcmp(port, dflt) != 0)
			snprintf(t->host_header, n, "%s:%s", host, port);
		else
			snprintf(t->host_header, n, "%s", host);
	}
	if ((t->path = strdup(path != NULL && *path ? path : "/")) == NULL)
		goto out;
	st = BC_OK;
out:
	if (st == BC_E_NOMEM)
		api->fail(err, st, "s3.nomem", "out of memory");
	free(enc);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return st;
}

/* One signed request. On BC_OK, *http_status and code (S3's error code or
 * "") say what S3 answered; a transport failure is described in err. */
static enum bc_status s3_bucket_call(const struct bc_host_api *api,
                                     const struct s3_bucket_config *cfg,
                                     struct s3_signer *signer,
                                     const struct s3_bucket_target *t, const char *method,
                                     const char *body, long *http_status, char *code,
                                     size_t codesz, struct bc_error *err)
{
	struct s3_sign_output sig = { 0 };
	struct curl_slist *hdrs = NULL, *tmp;
	struct s3_bucket_body resp = { 0 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char amz_date[17], hash[65], errbuf[CURL_ERROR_SIZE];
	char *line = NULL;
	size_t body_len = body ? strlen(body) : 0;
	enum bc_status st = BC_E_NOMEM;
	CURL *h = NULL;
	CURLcode rc;

	errbuf[0] = '\0';
	code[0] = '\0';
	*http_status = 0;
	if (EVP_Digest(body ? body : "", body_len, md, &md_len, EVP_sha256(), NULL) != 1) {
		st = api->fail(err, BC_E_INTERNAL, "s3.internal", "SHA-256 failed");
		goto out;
	}
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	s3_sign_amz_date(api->now_ms(), amz_date);
	{
		struct s3_sign_header sh[4] = {
			{ "Host", t->host_header },
			{ "X-Amz-Content-SHA256", hash },
			{ "X-Amz-Date", amz_date },
			{ "X-Amz-Security-Token", cfg->session_token },
		};
		struct s3_sign_input in = {
			.method = method, .path = t->path, .query = NULL, .headers = sh,
			.n_headers = cfg->session_token != NULL ? 4 : 3,
			.body = body, .body_len = body_len, .amz_date = amz_date,
			.normalize_path = 0, /* S3 signs the path as is */
		};
		enum bc_status sst = s3_sign(signer, &in, &sig);
		if (sst != BC_OK) {
			if (sst != BC_E_NOMEM)
				st = api->fail(err, sst, "s3.internal", "cannot sign the S3 request");
			goto out;
		}
	}
	line = malloc(strlen(sig.authorization) + strlen(t->host_header) +
	              (cfg->session_token ? strlen(cfg->session_token) : 0) + 80);
	if (line == NULL)
		goto out;
#define S3_BUCKET_HDR(...)                                                \
	do {                                                              \
		sprintf(line, __VA_ARGS__);                               \
		if ((tmp = curl_slist_append(hdrs, line)) == NULL)        \
			goto out;                                         \
		hdrs = tmp;                                               \
	} while (0)
	S3_BUCKET_HDR("Host: %s", t->host_header);
	S3_BUCKET_HDR("X-Amz-Content-SHA256: %s", hash);
	S3_BUCKET_HDR("X-Amz-Date: %s", amz_date);
	if (cfg->session_token != NULL)
		S3_BUCKET_HDR("X-Amz-Security-Token: %s", cfg->session_token);
	S3_BUCKET_HDR("Authorization: %s", sig.authorization);
	S3_BUCKET_HDR("Expect:");
	if (body_len > 0)
		S3_BUCKET_HDR("Content-Type: application/xml");
#undef S3_BUCKET_HDR

	if ((h = curl_easy_init()) == NULL)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, t->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "broadcast/" PACKAGE_VERSION " provider-s3");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_bucket_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (cfg->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
		if (rc == CURLE_OPERATION_TIMEDOUT)
			st = api->fail(err, BC_E_TIMEOUT, "s3.bucket_timeout",
			               "create_bucket: S3 at %s did not answer %s within %lld ms (%s)",
			               t->url, method, (long long)cfg->timeout_ms, why);
		else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
		         rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_GOT_NOTHING ||
		         rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR)
			st = api->fail(err, BC_E_TIMEOUT, "s3.bucket_unreachable",
			               "create_bucket: cannot reach S3 at %s: %s (check s3_endpoint)",
			               t->url, why);
		else
			st = api->fail(err, BC_E_UPSTREAM, "s3.bucket_error",
			               "create_bucket: %s %s failed: %s (check s3_endpoint and "
			               "ca_file)", method, t->url, why);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http_status);
	s3_bucket_error_code(resp.p, code, codesz);
	st = BC_OK;
out:
	if (st == BC_E_NOMEM)
		api->fail(err, st, "s3.nomem", "out of memory");
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (line != NULL) {
		OPENSSL_cleanse(line, strlen(line));
		free(line);
	}
	free(resp.p);
	s3_sign_output_clear(&sig);
	return st;
}

enum bc_status s3_bucket_ensure(const struct bc_host_api *api, struct bc_host *host,
                                const struct s3_bucket_config *cfg, struct bc_error *err)
{
	struct s3_bucket_target t = { 0 };
	struct s3_signer *signer = NULL;
	char code[64], *body = NULL;
	long status = 0;
	enum bc_status st;

	for (const char *p = cfg->region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return api->fail(err, BC_E_INVALID, "s3.bad_option",
			                 "region \"%s\" is not a region name", cfg->region);
	st = s3_bucket_target(api, cfg, &t, err);
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
	s3_bucket_target_clear(&t);
	return st;
}
