/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_s3_xml.c: a libFuzzer target for providers/s3/s3_xml.c, the reader of
 * STS answers (GetFederationToken, AssumeRole, ErrorResponse) and of S3 error
 * bodies (<Error><Code>..., create_bucket's) with expat.
 *
 * The body of an STS or S3 answer comes from the network: a misconfigured
 * endpoint, a proxy or a MinIO build may send anything. The input is the
 * body as is, given to both readers. Whatever it is, each must return 0, -1
 * or -2 and leave only NUL-terminated strings behind, which s3_xml_clear()
 * and s3_xml_error_clear() free; then the STS error code found (or none) is
 * classified under a few HTTP statuses, and the S3 error's code must be the
 * one the STS reader found (both readers share one parser).
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"
#include "fuzz_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_string(const char *s)
{
	if (s != NULL)
		(void)strlen(s);
}

static int fuzz_one_input(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 400, 401, 403, 429, 500, 503 };
	struct s3_sts_xml x;
	struct s3_xml_error e;
	char *body;
	int rc, erc;

	/* A copy of exactly `size` bytes: the parser must not read past it. */
	body = malloc(size > 0 ? size : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	memset(&x, 0, sizeof x);
	rc = s3_xml_parse_sts(body, size, &x);
	assert(rc == 0 || rc == -1 || rc == -2);
	fuzz_check_string(x.access_key_id);
	fuzz_check_string(x.secret_access_key);
	fuzz_check_string(x.session_token);
	fuzz_check_string(x.expiration);
	fuzz_check_string(x.error_code);
	fuzz_check_string(x.error_message);
	fuzz_check_string(x.request_id);
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		struct s3_xml_verdict v = s3_xml_classify(statuses[i], x.error_code);
		assert(v.code != NULL && v.status != BC_OK);
	}
	erc = s3_xml_parse_error(body, size, &e);
	assert(erc == 0 || erc == -1 || erc == -2);
	fuzz_check_string(e.code);
	fuzz_check_string(e.message);
	fuzz_check_string(e.request_id);
	if (rc == 0 && erc == 0)
		assert((x.error_code == NULL) == (e.code == NULL) &&
		       (e.code == NULL || strcmp(x.error_code, e.code) == 0));
	s3_xml_error_clear(&e);
	s3_xml_error_clear(NULL);
	s3_xml_clear(&x);
	s3_xml_clear(NULL);
	free(body);
	return 0;
}

/* On the stack the input meets in the daemon (fuzz_thread.h): the STS answer
 * is read in the provider's start, on the dispatching thread: at smallest a
 * CivetWeb worker. */
FUZZ_ENTRY_ON_STACK(FUZZ_STACK_CIVETWEB_WORKER, fuzz_one_input)
