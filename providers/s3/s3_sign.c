/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_sign.c: AWS Signature Version 4, header-based, with OpenSSL's HMAC and
 * SHA-256 (declared in s3_sign.h).
 *
 * Central type: struct s3_signer (credentials, region, service and the cached
 * signing key of one UTC day). The four SigV4 tasks are spelled out as four
 * functions: canonical request, string to sign, signing key, signature. The
 * reference is AWS's "Create a signed AWS API request" and the test suite in
 * shared/vectors/sigv4 (botocore's copy of aws-sig-v4-test-suite); where the
 * two disagree with intuition a comment names the vector.
 *
 * The secret and the derived key never leave this file except inside the
 * Authorization header's signature; both are wiped with OPENSSL_cleanse().
 */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3_sign.h"

#define S3_SIGN_ALGORITHM "AWS4-HMAC-SHA256"

struct s3_signer {
	char *access_key_id;
	char *secret;         /* "AWS4" + secret access key: the first HMAC key */
	size_t secret_len;
	char *region;
	char *service;
	pthread_mutex_t lock; /* guards the cache below */
	char key_date[9];     /* YYYYMMDD of key, "" before the first request */
	unsigned char key[32];
	unsigned long derivations;
};

/* ---- a growing string -------------------------------------------------- */

struct s3_buf {
	char *p;
	size_t len, cap;
	int failed; /* an allocation failed: every later append is a no-op */
};

static void s3_buf_grow(struct s3_buf *b, size_t more)
{
	if (b->failed || b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void s3_buf_add(struct s3_buf *b, const char *s, size_t n)
{
	s3_buf_grow(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void s3_buf_str(struct s3_buf *b, const char *s)
{
	s3_buf_add(b, s, strlen(s));
}

static void s3_buf_chr(struct s3_buf *b, char c)
{
	s3_buf_add(b, &c, 1);
}

/* The buffer's string (never NULL unless failed), ownership to the caller. */
static char *s3_buf_take(struct s3_buf *b)
{
	if (b->failed) {
		free(b->p);
		b->p = NULL;
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	char *p = b->p;
	b->p = NULL;
	return p;
}

/* ---- encoding helpers ---------------------------------------------------- */

static int s3_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static void s3_buf_encode(struct s3_buf *b, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (s3_is_unreserved(c) || (keep_slash && c == '/')) {
			s3_buf_chr(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			s3_buf_add(b, e, 3);
		}
	}
}

char *s3_sign_uri_encode(const char *s, size_t len, int keep_slash)
{
	struct s3_buf b = { 0 };
	s3_buf_encode(&b, s, len, keep_slash);
	return s3_buf_take(&b);
}

static int s3_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX escapes (not '+': the query protocol encodes a space as %20,
 * and '+' stays a literal plus) into a new string of *out_len bytes. */
static char *s3_pct_decode(const char *s, size_t len, size_t *out_len)
{
	char *o = malloc(len + 1);
	size_t n = 0;
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = s3_hexval(s[i + 1])) >= 0 &&
		    (lo = s3_hexval(s[i + 2])) >= 0) {
			o[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			o[n++] = s[i];
		}
	}
	o[n] = '\0';
	*out_len = n;
	return o;
}

static void s3_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int s3_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;
	if (EVP_Digest(data != NULL ? data : "", len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len != 32)
		return -1;
	s3_hex(md, 32, out);
	return 0;
}

static int s3_hmac(const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[32])
{
	unsigned int out_len = 0;
	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL ||
	    out_len != 32)
		return -1;
	return 0;
}

/* ---- task 1: the canonical request --------------------------------------- */

/* Normalised path per RFC 3986 §5.2.4 plus collapsing of empty segments, as
 * the normalize-path vectors expect ("//example//" -> "/example/"). */
static void s3_canonical_path(struct s3_buf *b, const char *path, int normalize)
{
	if (path == NULL || *path == '\0')
		path = "/";
	if (!normalize) {
		s3_buf_encode(b, path, strlen(path), 1);
		return;
	}
	size_t len = strlen(path);
	/* segment (start, length) pairs; a path has at most len/1 segments */
	size_t *seg = calloc(len + 1, 2 * sizeof(size_t));
	size_t nseg = 0;
	int trailing = 0;
	if (seg == NULL) {
		b->failed = 1;
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		size_t n = j - i;
		if (n == 0 || (n == 1 && path[i] == '.')) {
			trailing = 1;
		} else if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (nseg > 0)
				nseg--;
			trailing = 1;
		} else {
			seg[2 * nseg] = i;
			seg[2 * nseg + 1] = n;
			nseg++;
			trailing = (j < len);
		}
		i = j + 1;
	}
	if (len > 0 && path[len - 1] == '/')
		trailing = 1;
	s3_buf_chr(b, '/');
	for (size_t k = 0; k < nseg; k++) {
		if (k > 0)
			s3_buf_chr(b, '/');
		s3_buf_encode(b, path + seg[2 * k], seg[2 * k + 1], 0);
	}
	if (nseg > 0 && trailing)
		s3_buf_chr(b, '/');
	free(seg);
}

struct s3_qparam {
	char *key;   /* encoded */
	char *value; /* encoded */
};

static int s3_qparam_cmp(const void *a, const void *b)
{
	const struct s3_qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Each name and value decoded then re-encoded (so "%E1%88%B4" and the raw
 * UTF-8 bytes sign alike: get-vanilla-query-order-encoded and
 * get-vanilla-utf8-query), sorted by name then value (byte order:
 * get-vanilla-query-order-key). */
static void s3_canonical_query(struct s3_buf *b, const char *query)
{
	struct s3_qparam *qp = NULL;
	size_t n = 0, cap = 0;
	if (query == NULL || *query == '\0')
		return;
	for (const char *p = query; !b->failed;) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		if (plen > 0) {
			const char *eq = memchr(p, '=', plen);
			size_t klen = eq ? (size_t)(eq - p) : plen;
			const char *v = eq ? eq + 1 : p + plen;
			size_t vlen = eq ? plen - klen - 1 : 0;
			size_t dk = 0, dv = 0;
			char *rk = s3_pct_decode(p, klen, &dk), *rv = s3_pct_decode(v, vlen, &dv);
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct s3_qparam *q = realloc(qp, ncap * sizeof(*q));
				if (q == NULL) {
					b->failed = 1;
				} else {
					qp = q;
					cap = ncap;
				}
			}
			if (!b->failed && rk != NULL && rv != NULL) {
				qp[n].key = s3_sign_uri_encode(rk, dk, 0);
				qp[n].value = s3_sign_uri_encode(rv, dv, 0);
				if (qp[n].key == NULL || qp[n].value == NULL) {
					free(qp[n].key);
					free(qp[n].value);
					b->failed = 1;
				} else {
					n++;
				}
			} else {
				b->failed = 1;
			}
			free(rk);
			free(rv);
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	if (!b->failed) {
		/* qsort's base must not be NULL, even for no elements: a query of
		 * only empty pieces ("&&") leaves qp NULL (found by fuzz_s3_sign). */
		if (n > 1)
			qsort(qp, n, sizeof(*qp), s3_qparam_cmp);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				s3_buf_chr(b, '&');
			s3_buf_str(b, qp[i].key);
			s3_buf_chr(b, '=');
			s3_buf_str(b, qp[i].value);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(qp[i].key);
		free(qp[i].value);
	}
	free(qp);
}

struct s3_hdr {
	char *name;  /* lower case */
	const char *value;
	size_t order; /* position in the input, to keep duplicates in order */
};

static int s3_hdr_cmp(const void *a, const void *b)
{
	const struct s3_hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A value trimmed, with every run of white space (line folds included:
 * get-header-value-multiline) made one space, even inside quotes
 * (get-header-value-trim). */
static void s3_buf_header_value(struct s3_buf *b, const char *v)
{
	int space = 0, started = 0;
	for (; v != NULL && *v; v++) {
		if (isspace((unsigned char)*v)) {
			space = started;
			continue;
		}
		if (space)
			s3_buf_chr(b, ' ');
		space = 0;
		started = 1;
		s3_buf_chr(b, *v);
	}
}

/* Canonical headers (each "name:value\n") into b, signed header names into sh. */
static void s3_canonical_headers(struct s3_buf *b, struct s3_buf *sh,
                                 const struct s3_sign_header *h, size_t n)
{
	struct s3_hdr *hs = calloc(n ? n : 1, sizeof(*hs));
	size_t k = 0;
	if (hs == NULL) {
		b->failed = 1;
		return;
	}
	for (; k < n; k++) {
		hs[k].name = strdup(h[k].name ? h[k].name : "");
		if (hs[k].name == NULL) {
			b->failed = 1;
			break;
		}
		for (char *c = hs[k].name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		hs[k].value = h[k].value;
		hs[k].order = k;
	}
	if (!b->failed) {
		qsort(hs, n, sizeof(*hs), s3_hdr_cmp);
		for (size_t i = 0; i < n; i++) {
			int same = i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0;
			if (same) {
				s3_buf_chr(b, ',');
			} else {
				if (i > 0) {
					s3_buf_chr(b, '\n');
					s3_buf_chr(sh, ';');
				}
				s3_buf_str(b, hs[i].name);
				s3_buf_chr(b, ':');
				s3_buf_str(sh, hs[i].name);
			}
			s3_buf_header_value(b, hs[i].value);
		}
		if (n > 0)
			s3_buf_chr(b, '\n');
	}
	for (size_t i = 0; i < k; i++)
		free(hs[i].name);
	free(hs);
}

/* ---- tasks 3 and 4: signing key and signature ------------------------------ */

/* The signing key of `date` (YYYYMMDD) into key, from the cache when the day
 * has not changed. Returns 0 or -1. */
static int s3_signing_key(struct s3_signer *s, const char *date, unsigned char key[32])
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	if (strcmp(s->key_date, date) != 0) {
		unsigned char k1[32], k2[32], k3[32];
		rc = s3_hmac(s->secret, s->secret_len, date, 8, k1) ||
		     s3_hmac(k1, 32, s->region, strlen(s->region), k2) ||
		     s3_hmac(k2, 32, s->service, strlen(s->service), k3) ||
		     s3_hmac(k3, 32, "aws4_request", 12, s->key) ? -1 : 0;
		OPENSSL_cleanse(k1, sizeof(k1));
		OPENSSL_cleanse(k2, sizeof(k2));
		OPENSSL_cleanse(k3, sizeof(k3));
		if (rc == 0) {
			memcpy(s->key_date, date, 8);
			s->key_date[8] = '\0';
			s->derivations++;
		} else {
			s->key_date[0] = '\0';
		}
	}
	if (rc == 0)
		memcpy(key, s->key, 32);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int s3_amz_date_ok(const char *d)
{
	if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			return 0;
	return 1;
}

enum bc_status s3_sign(struct s3_signer *s, const struct s3_sign_input *in,
                       struct s3_sign_output *out)
{
	struct s3_buf creq = { 0 }, sh = { 0 }, sts = { 0 }, authz = { 0 };
	char hash[65], date[9], sig[65];
	unsigned char key[32], mac[32];
	enum bc_status st = BC_E_NOMEM;

	memset(out, 0, sizeof(*out));
	if (s == NULL || in == NULL || in->method == NULL || *in->method == '\0' ||
	    !s3_amz_date_ok(in->amz_date))
		return BC_E_INVALID;
	memcpy(date, in->amz_date, 8);
	date[8] = '\0';

	/* Task 1: method, path, query, headers, signed headers, payload hash. */
	s3_buf_str(&creq, in->method);
	s3_buf_chr(&creq, '\n');
	s3_canonical_path(&creq, in->path, in->normalize_path);
	s3_buf_chr(&creq, '\n');
	s3_canonical_query(&creq, in->query);
	s3_buf_chr(&creq, '\n');
	s3_canonical_headers(&creq, &sh, in->headers, in->n_headers);
	s3_buf_chr(&creq, '\n');
	s3_buf_add(&creq, sh.p ? sh.p : "", sh.len);
	s3_buf_chr(&creq, '\n');
	if (s3_sha256_hex(in->body, in->body_len, hash) != 0)
		goto fail_internal;
	s3_buf_str(&creq, hash);
	if (creq.failed || sh.failed)
		goto out;

	/* Task 2: the string to sign. */
	if (s3_sha256_hex(creq.p, creq.len, hash) != 0)
		goto fail_internal;
	s3_buf_str(&sts, S3_SIGN_ALGORITHM "\n");
	s3_buf_str(&sts, in->amz_date);
	s3_buf_chr(&sts, '\n');
	s3_buf_str(&sts, date);
	s3_buf_chr(&sts, '/');
	s3_buf_str(&sts, s->region);
	s3_buf_chr(&sts, '/');
	s3_buf_str(&sts, s->service);
	s3_buf_str(&sts, "/aws4_request\n");
	s3_buf_str(&sts, hash);
	if (sts.failed)
		goto out;

	/* Tasks 3 and 4: key, signature, header. */
	if (s3_signing_key(s, date, key) != 0 || s3_hmac(key, 32, sts.p, sts.len, mac) != 0)
		goto fail_internal;
	s3_hex(mac, 32, sig);
	s3_buf_str(&authz, S3_SIGN_ALGORITHM " Credential=");
	s3_buf_str(&authz, s->access_key_id);
	s3_buf_chr(&authz, '/');
	s3_buf_str(&authz, date);
	s3_buf_chr(&authz, '/');
	s3_buf_str(&authz, s->region);
	s3_buf_chr(&authz, '/');
	s3_buf_str(&authz, s->service);
	s3_buf_str(&authz, "/aws4_request, SignedHeaders=");
	s3_buf_add(&authz, sh.p ? sh.p : "", sh.len);
	s3_buf_str(&authz, ", Signature=");
	s3_buf_str(&authz, sig);
	if (authz.failed)
		goto out;

	out->canonical_request = s3_buf_take(&creq);
	out->signed_headers = s3_buf_take(&sh);
	out->string_to_sign = s3_buf_take(&sts);
	out->authorization = s3_buf_take(&authz);
	if (out->canonical_request == NULL || out->signed_headers == NULL ||
	    out->string_to_sign == NULL || out->authorization == NULL) {
		s3_sign_output_clear(out);
		goto out;
	}
	st = BC_OK;
	goto out;
fail_internal:
	st = BC_E_INTERNAL;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	free(creq.p);
	free(sh.p);
	free(sts.p);
	free(authz.p);
	return st;
}

void s3_sign_output_clear(struct s3_sign_output *out)
{
	if (out == NULL)
		return;
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->signed_headers);
	free(out->authorization);
	memset(out, 0, sizeof(*out));
}

/* ---- the signer ------------------------------------------------------------- */

struct s3_signer *s3_signer_new(const char *access_key_id, const char *secret_access_key,
                                const char *region, const char *service)
{
	struct s3_signer *s = NULL;
	if (access_key_id == NULL || !*access_key_id || secret_access_key == NULL ||
	    !*secret_access_key || region == NULL || !*region || service == NULL || !*service)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	s->secret_len = 4 + strlen(secret_access_key);
	s->secret = malloc(s->secret_len + 1);
	s->access_key_id = strdup(access_key_id);
	s->region = strdup(region);
	s->service = strdup(service);
	if (s->secret == NULL || s->access_key_id == NULL || s->region == NULL ||
	    s->service == NULL) {
		s3_signer_free(s);
		return NULL;
	}
	memcpy(s->secret, "AWS4", 4);
	memcpy(s->secret + 4, secret_access_key, s->secret_len - 4 + 1);
	return s;
}

void s3_signer_free(struct s3_signer *s)
{
	if (s == NULL)
		return;
	if (s->secret != NULL)
		OPENSSL_cleanse(s->secret, s->secret_len);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s->secret);
	free(s->access_key_id);
	free(s->region);
	free(s->service);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

unsigned long s3_signer_key_derivations(struct s3_signer *s)
{
	unsigned long n;
	pthread_mutex_lock(&s->lock);
	n = s->derivations;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void s3_sign_amz_date(int64_t epoch_ms, char out[17])
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		snprintf(out, 17, "19700101T000000Z");
}
