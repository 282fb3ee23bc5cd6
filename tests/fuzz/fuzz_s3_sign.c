/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_s3_sign.c: a libFuzzer target for providers/s3/s3_sign.c, the SigV4
 * canonicalisation (URI path and query encoding, path normalisation, header
 * folding and sorting) and signing.
 *
 * An input is split on '\n' into fields:
 *
 *     FLAGS METHOD '\n' PATH '\n' QUERY '\n' AMZ_DATE '\n' NAME:VALUE '\n' ... '\n\n' BODY
 *
 * FLAGS is one byte: bit 0 normalises the path (STS) or not (S3), bit 1
 * passes QUERY as NULL. Header lines run until an empty line; BODY is the
 * rest. Whatever the fields hold, s3_sign() returns BC_OK with every output
 * a string, or an error with nothing to free; s3_sign_uri_encode() gets
 * the path and query too. One signer lives for the whole run, as in the
 * provider, so its cached signing key is exercised across dates.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_sign.h"
#include "fuzz_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_HEADERS 16

static struct s3_signer *fuzz_signer;

/* The next '\n'-terminated field of [*p, end) as a fresh C string (an
 * embedded NUL ends it early, as it would in a C caller). */
static char *fuzz_field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += nl != NULL ? len + 1 : len;
	return s;
}

static int fuzz_one_input(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *method = NULL, *path = NULL, *query = NULL, *date = NULL;
	char *lines[FUZZ_MAX_HEADERS] = { NULL };
	struct s3_sign_header headers[FUZZ_MAX_HEADERS];
	struct s3_sign_input in;
	struct s3_sign_output out;
	size_t n = 0;
	unsigned flags;
	char *enc;
	enum bc_status st;

	if (size < 1)
		return 0;
	if (fuzz_signer == NULL) {
		fuzz_signer = s3_signer_new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		                            "us-east-1", "sts");
		assert(fuzz_signer != NULL);
	}
	flags = *p++;
	method = fuzz_field(&p, end);
	path = fuzz_field(&p, end);
	query = fuzz_field(&p, end);
	date = fuzz_field(&p, end);
	if (method == NULL || path == NULL || query == NULL || date == NULL)
		goto out;
	while (p < end && n < FUZZ_MAX_HEADERS && *p != '\n') {
		char *colon;

		lines[n] = fuzz_field(&p, end);
		if (lines[n] == NULL)
			goto out;
		colon = strchr(lines[n], ':');
		headers[n].name = lines[n];
		headers[n].value = "";
		if (colon != NULL) {
			*colon = '\0';
			headers[n].value = colon + 1;
		}
		n++;
	}
	if (p < end && *p == '\n')
		p++;

	memset(&in, 0, sizeof in);
	in.method = method;
	in.path = path;
	in.query = (flags & 2) ? NULL : query;
	in.headers = n > 0 ? headers : NULL;
	in.n_headers = n;
	in.body = p < end ? p : NULL;
	in.body_len = (size_t)(end - p);
	in.amz_date = date;
	in.normalize_path = flags & 1;

	memset(&out, 0, sizeof out);
	st = s3_sign(fuzz_signer, &in, &out);
	if (st == BC_OK) {
		assert(out.canonical_request != NULL && out.string_to_sign != NULL &&
		       out.signed_headers != NULL && out.authorization != NULL);
		assert(strncmp(out.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) ==
		       0);
		s3_sign_output_clear(&out);
	} else {
		assert(out.canonical_request == NULL && out.authorization == NULL);
	}
	enc = s3_sign_uri_encode(path, strlen(path), flags & 1);
	if (enc != NULL) {
		/* Only unreserved bytes, '%' and (when kept) '/' come out. */
		for (const char *c = enc; *c != '\0'; c++)
			assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			              "0123456789-_.~%/", *c) != NULL && (*c != '/' || (flags & 1)));
		free(enc);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(method);
	free(path);
	free(query);
	free(date);
	return 0;
}

/* On the stack the input meets in the daemon (fuzz_thread.h): requests are
 * signed in the provider's start, on the dispatching thread: at smallest a
 * CivetWeb worker. */
FUZZ_ENTRY_ON_STACK(FUZZ_STACK_CIVETWEB_WORKER, fuzz_one_input)
