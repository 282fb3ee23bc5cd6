/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_http.c: one signed AWS request over libcurl (declared in s3_http.h).
 * The only file of the provider that sets curl options or reads an answer.
 *
 * Host is set by us from the URL as curl parses it, and every header we
 * sign is sent exactly as signed, so the signature covers what goes on the
 * wire. "Expect:" is sent empty: no 100-continue round trip for small bodies.
 * The Authorization and X-Amz-Security-Token lines are built in a buffer that
 * is wiped; the answer body (an STS answer carries the minted secret key) is
 * wiped by s3_http_response_clear().
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "s3_http.h"

/* ---- the target ---------------------------------------------------------- */

enum bc_status s3_http_target_parse(const struct bc_host_api *api, const char *url,
                                    const char *option, const char *shown,
                                    struct s3_http_target *t, struct bc_error *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	enum bc_status st = BC_E_NOMEM;

	memset(t, 0, sizeof(*t));
	if (u == NULL)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		st = api->fail(err, BC_E_INVALID, "s3.bad_option",
		               "%s \"%s\" is not an http:// or https:// URL", option, shown);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL; /* none given: the scheme's default */
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		path = NULL;
	{
		const char *dflt = strcmp(scheme, "https") == 0 ? "443" : "80";
		size_t n = strlen(host) + (port ? strlen(port) : 0) + 2;
		if ((t->host_header = malloc(n)) == NULL)
			goto out;
		if (port != NULL && strcmp(port, dflt) != 0)
			snprintf(t->host_header, n, "%s:%s", host, port);
		else
			snprintf(t->host_header, n, "%s", host);
	}
	t->path = strdup(path != NULL && *path ? path : "/");
	t->url = strdup(url);
	if (t->path == NULL || t->url == NULL)
		goto out;
	st = BC_OK;
out:
	if (st == BC_E_NOMEM)
		api->fail(err, st, "s3.nomem", "out of memory");
	if (st != BC_OK)
		s3_http_target_clear(t);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return st;
}

void s3_http_target_clear(struct s3_http_target *t)
{
	if (t == NULL)
		return;
	free(t->url);
	free(t->host_header);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/* ---- the answer ------------------------------------------------------------ */

struct s3_http_sink {
	struct s3_http_response *resp;
	size_t max;
};

static size_t s3_http_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct s3_http_sink *k = ud;
	struct s3_http_response *r = k->resp;
	size_t n = size * nmemb;
	if (r->body_len + n > k->max) {
		r->too_big = 1;
		return 0; /* stops the transfer: CURLE_WRITE_ERROR */
	}
	char *p = realloc(r->body, r->body_len + n + 1);
	if (p == NULL)
		return 0;
	r->body = p;
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static enum s3_http_failure s3_http_classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return S3_HTTP_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return S3_HTTP_UNREACHABLE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return S3_HTTP_TLS;
	case CURLE_OUT_OF_MEMORY:
		return S3_HTTP_NOMEM;
	default:
		return S3_HTTP_OTHER;
	}
}

/* ---- the request ------------------------------------------------------------- */

/* Append "Name: value" ("Name:" when value is NULL) through line (cap bytes).
 * Returns 0, or -1 when out of memory. */
static int s3_http_header(struct curl_slist **hdrs, char *line, size_t cap, const char *name,
                          const char *value)
{
	struct curl_slist *t;
	if (value != NULL)
		snprintf(line, cap, "%s: %s", name, value);
	else
		snprintf(line, cap, "%s:", name);
	if ((t = curl_slist_append(*hdrs, line)) == NULL)
		return -1;
	*hdrs = t;
	return 0;
}

/* The lowercase hex SHA-256 of the payload, for X-Amz-Content-SHA256. */
static int s3_http_payload_hash(const struct s3_http_request *req, char hash[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (EVP_Digest(req->body ? req->body : "", req->body_len, md, &md_len, EVP_sha256(),
	               NULL) != 1 || md_len != 32)
		return -1;
	for (unsigned i = 0; i < md_len; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	return 0;
}

enum s3_http_failure s3_http_perform(const struct bc_host_api *api, CURL *h,
                                     struct s3_signer *signer,
                                     const struct s3_http_request *req,
                                     struct s3_http_response *resp)
{
	const struct s3_http_target *t = req->target;
	struct s3_sign_output sig = { 0 };
	struct s3_sign_header sh[5];
	struct s3_http_sink sink = { resp, req->body_max };
	struct curl_slist *hdrs = NULL;
	char amz_date[17], hash[65], errbuf[CURL_ERROR_SIZE];
	char *line = NULL;
	size_t nh = 0, cap;
	CURL *own = NULL;
	CURLcode rc;
	int bad = 0;

	memset(resp, 0, sizeof(*resp));
	errbuf[0] = '\0';
	resp->failure = S3_HTTP_SIGN;
	if (req->sign_payload && s3_http_payload_hash(req, hash) != 0)
		goto out;
	s3_sign_amz_date(api->now_ms(), amz_date);
	if (req->content_type != NULL)
		sh[nh++] = (struct s3_sign_header){ "Content-Type", req->content_type };
	sh[nh++] = (struct s3_sign_header){ "Host", t->host_header };
	if (req->sign_payload)
		sh[nh++] = (struct s3_sign_header){ "X-Amz-Content-SHA256", hash };
	sh[nh++] = (struct s3_sign_header){ "X-Amz-Date", amz_date };
	if (req->session_token != NULL)
		sh[nh++] = (struct s3_sign_header){ "X-Amz-Security-Token", req->session_token };
	{
		struct s3_sign_input in = {
			.method = req->method, .path = t->path, .query = NULL,
			.headers = sh, .n_headers = nh,
			.body = req->body, .body_len = req->body_len, .amz_date = amz_date,
			.normalize_path = req->normalize_path,
		};
		enum bc_status st = s3_sign(signer, &in, &sig);
		if (st != BC_OK) {
			if (st == BC_E_NOMEM)
				resp->failure = S3_HTTP_NOMEM;
			goto out;
		}
	}

	/* Every line fits in the sum of every value, plus the longest name. */
	resp->failure = S3_HTTP_NOMEM;
	cap = strlen(sig.authorization) + 64;
	for (size_t i = 0; i < nh; i++)
		cap += strlen(sh[i].value);
	if (req->accept != NULL)
		cap += strlen(req->accept);
	if ((line = malloc(cap)) == NULL)
		goto out;
	for (size_t i = 0; i < nh; i++)
		bad |= s3_http_header(&hdrs, line, cap, sh[i].name, sh[i].value);
	bad |= s3_http_header(&hdrs, line, cap, "Authorization", sig.authorization);
	bad |= s3_http_header(&hdrs, line, cap, "Expect", NULL);
	if (req->accept != NULL)
		bad |= s3_http_header(&hdrs, line, cap, "Accept", req->accept);
	if (bad)
		goto out;
	if (h == NULL && (h = own = curl_easy_init()) == NULL)
		goto out;

	curl_easy_setopt(h, CURLOPT_URL, t->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(req->method, "POST") == 0)
			curl_easy_setopt(h, CURLOPT_POST, 1L);
		else
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "broadcast/" PACKAGE_VERSION " provider-s3");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (req->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);

	rc = curl_easy_perform(h);
	/* The caller may keep h: nothing of this call may stay referenced. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && resp->too_big)) {
		resp->failure = s3_http_classify(rc);
		snprintf(resp->why, sizeof(resp->why), "%s",
		         errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->failure = S3_HTTP_OK;
out:
	if (own != NULL)
		curl_easy_cleanup(own);
	curl_slist_free_all(hdrs);
	if (line != NULL) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	s3_sign_output_clear(&sig);
	return resp->failure;
}

void s3_http_response_clear(struct s3_http_response *resp)
{
	if (resp == NULL)
		return;
	if (resp->body != NULL) {
		OPENSSL_cleanse(resp->body, resp->body_len);
		free(resp->body);
	}
	memset(resp, 0, sizeof(*resp));
}
