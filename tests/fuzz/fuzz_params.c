/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_params.c: a libFuzzer target for framework/params.c, the decoder of
 * every request's parameters (query string, form body, JSON body and the
 * pairs a transport decoded itself).
 *
 * An input is read as
 *
 *     MODE QUERY '\n' BODY
 *
 * MODE is one byte: its low three bits pick the Content-Type (none, form,
 * JSON, spelled oddly, or one taken from the first line of BODY), bit 3 adds
 * transport-decoded pairs (so duplicates across sources are reached), bit 4
 * lowers max_body to 64 bytes (the 413 path), bit 5 passes an empty QUERY
 * as "" rather than NULL. QUERY runs to the first
 * newline (a real query string cannot hold one) and BODY is the rest, copied
 * to a buffer of exactly its length so AddressSanitizer sees any read past
 * it: bodies are not NUL-terminated in struct bc_request either.
 *
 * The parse runs on a thread with a CivetWeb worker's 100 KiB stack
 * (fuzz_thread.h), where it runs in the daemon.
 *
 * The seed corpus (corpus/fuzz_params/) is written in this format; what the
 * decoded parameters mean is the dispatcher's and is not checked here.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"
#include "fuzz_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bc_params_parse on the stack of the thread that runs it in the daemon. */
struct fuzz_parse_call {
	const struct bc_request *req;
	size_t max_body;
	struct bc_params *out;
	struct bc_error *err;
	enum bc_status st;
};

static void fuzz_parse(void *arg)
{
	struct fuzz_parse_call *c = arg;
	c->st = bc_params_parse(c->req, c->max_body, c->out, c->err);
}

static const char *const fuzz_content_types[] = {
	NULL,
	"application/x-www-form-urlencoded",
	"application/json",
	" Application/JSON ; charset=utf-8",
	"application/x-www-form-urlencoded;charset=UTF-8",
	"text/plain",
	"",
	NULL, /* 7: the first line of the body */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_request req;
	struct bc_params params = { 0 };
	struct bc_error err;
	const uint8_t *nl;
	char *query = NULL, *body = NULL, *ctype = NULL;
	size_t query_len, body_len;
	const uint8_t *body_start;
	unsigned mode;
	const char *pairs[] = { "id", "00000000-0000-4000-8000-000000000000", "type", "hls", NULL };
	enum bc_status st;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;

	nl = memchr(data, '\n', size);
	query_len = nl != NULL ? (size_t)(nl - data) : size;
	body_start = nl != NULL ? nl + 1 : data + size;
	body_len = (size_t)(data + size - body_start);

	/* The query is a C string in struct bc_request: an embedded NUL ends it,
	 * as it would when a transport hands one over. */
	query = malloc(query_len + 1);
	if (query == NULL)
		goto out;
	memcpy(query, data, query_len);
	query[query_len] = '\0';

	memset(&req, 0, sizeof req);
	req.struct_size = sizeof req;
	req.op = "start";
	req.method = "POST";
	req.query = query_len > 0 || (mode & 0x20) ? query : NULL;

	if ((mode & 7) == 7) {
		const uint8_t *eol = memchr(body_start, '\n', body_len);
		size_t ct_len = eol != NULL ? (size_t)(eol - body_start) : body_len;

		ctype = malloc(ct_len + 1);
		if (ctype == NULL)
			goto out;
		memcpy(ctype, body_start, ct_len);
		ctype[ct_len] = '\0';
		req.content_type = ctype;
		body_start += eol != NULL ? ct_len + 1 : ct_len;
		body_len -= eol != NULL ? ct_len + 1 : ct_len;
	} else {
		req.content_type = fuzz_content_types[mode & 7];
	}
	if (body_len > 0) {
		body = malloc(body_len);
		if (body == NULL)
			goto out;
		memcpy(body, body_start, body_len);
		req.body = body;
		req.body_len = body_len;
	}
	if (mode & 0x08)
		req.params = pairs;

	bc_error_clear(&err);
	{
		struct fuzz_parse_call call = { &req, (mode & 0x10) ? 64 : 65536, &params, &err,
			                        BC_OK };
		fuzz_on_stack(FUZZ_STACK_CIVETWEB_WORKER, fuzz_parse, &call);
		st = call.st;
	}
	if (st == BC_OK) {
		/* Every decoded pair is a proper C string and readable back by name;
		 * a key given twice would have been refused. */
		for (size_t i = 0; i < params.n; i++) {
			const char *v = bc_params_get(&params, params.keys[i]);
			assert(v == params.values[i]);
			(void)v;
			assert(params.keys[i][0] != '\0');
		}
		(void)bc_params_get(&params, "type");
	} else {
		/* A failure empties the output and always says why. */
		assert(params.n == 0 && params.keys == NULL);
		assert(err.code[0] != '\0' && err.message[0] != '\0');
		assert(memchr(err.message, '\0', sizeof err.message) != NULL);
	}
out:
	bc_params_free(&params);
	free(ctype);
	free(body);
	free(query);
	return 0;
}
