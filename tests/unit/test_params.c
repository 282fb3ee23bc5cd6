/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_params.c: Check suite for framework/params.c, request parameters
 * from transport pairs, the query string and form or JSON bodies.
 *
 * Every decoding rule and every error code of bc_params_parse is exercised
 * through the real function; each failing case also checks that `out` was
 * emptied and that the message names the parameter without its value.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bc_render.h"

/* Parse with the given sources; the body is a C string (or NULL). */
static enum bc_status parse(const char *const *pairs, const char *query, const char *ctype,
                            const char *body, size_t max_body, struct bc_params *out,
                            struct bc_error *err)
{
	struct bc_request req;

	memset(&req, 0, sizeof req);
	req.struct_size = sizeof req;
	req.op = "start";
	req.method = "POST";
	req.params = pairs;
	req.query = query;
	req.content_type = ctype;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	memset(out, 0, sizeof *out);
	bc_error_clear(err);
	return bc_params_parse(&req, max_body, out, err);
}

/* Expect failure with `status` and `code`; out must be empty afterwards. */
static void expect_fail(const char *const *pairs, const char *query, const char *ctype,
                        const char *body, size_t max_body, enum bc_status status,
                        const char *code, const char *in_message)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(pairs, query, ctype, body, max_body, &p, &err), status);
	ck_assert_int_eq(err.status, status);
	ck_assert_str_eq(err.code, code);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_ptr_null(p.keys);
	ck_assert_ptr_null(p.values);
	if (in_message != NULL)
		ck_assert_msg(strstr(err.message, in_message) != NULL, "message \"%s\" lacks \"%s\"",
		              err.message, in_message);
	bc_params_free(&p);
}

START_TEST(query_basic)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(NULL, "type=hls&name=some_name", NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_str_eq(bc_params_get(&p, "type"), "hls");
	ck_assert_str_eq(bc_params_get(&p, "name"), "some_name");
	ck_assert_ptr_null(bc_params_get(&p, "id"));
	ck_assert_ptr_null(bc_params_get(&p, "TYPE"));
	ck_assert_ptr_null(bc_params_get(NULL, "type"));
	bc_params_free(&p);
	ck_assert_uint_eq(p.n, 0);
	bc_params_free(&p); /* twice is harmless */
	bc_params_free(NULL);
}
END_TEST

START_TEST(query_decoding)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(NULL, "a=x+y&b=1%2B1&c=%41%62%c3%A9&d&e=&f=a=b&g%5Bx%5D=%26%3d+",
	                       NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "a"), "x y");
	ck_assert_str_eq(bc_params_get(&p, "b"), "1+1");
	/* %XX in either case; UTF-8 bytes pass through as bytes */
	ck_assert_str_eq(bc_params_get(&p, "c"), "Ab\xc3\xa9");
	ck_assert_str_eq(bc_params_get(&p, "d"), "");
	ck_assert_str_eq(bc_params_get(&p, "e"), "");
	/* only the first '=' splits */
	ck_assert_str_eq(bc_params_get(&p, "f"), "a=b");
	/* keys are decoded too */
	ck_assert_str_eq(bc_params_get(&p, "g[x]"), "&= ");
	ck_assert_uint_eq(p.n, 7);
	/* sources are kept in order */
	ck_assert_str_eq(p.keys[0], "a");
	ck_assert_str_eq(p.keys[6], "g[x]");
	bc_params_free(&p);

	/* raw UTF-8 in the query string is kept as is */
	ck_assert_int_eq(parse(NULL, "name=caf\xc3\xa9", NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "name"), "caf\xc3\xa9");
	bc_params_free(&p);
}
END_TEST

START_TEST(query_empty_pieces)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(NULL, "&a=1&&b=2&", NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_str_eq(bc_params_get(&p, "a"), "1");
	ck_assert_str_eq(bc_params_get(&p, "b"), "2");
	bc_params_free(&p);

	ck_assert_int_eq(parse(NULL, "", NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_int_eq(parse(NULL, "&&&", NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_int_eq(parse(NULL, NULL, NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 0);
	bc_params_free(&p);
}
END_TEST

START_TEST(query_bad_encoding)
{
	expect_fail(NULL, "secret=%zz", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding",
	            "\"secret\"");
	expect_fail(NULL, "secret=abc%2", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding",
	            "\"secret\"");
	expect_fail(NULL, "secret=abc%", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding",
	            "query string");
	expect_fail(NULL, "secret=ab%00cd", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding",
	            "NUL");
	expect_fail(NULL, "a=1&k%g1=v", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding",
	            "parameter name");
	expect_fail(NULL, "k%00=v", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding", "NUL");
}
END_TEST

START_TEST(message_hides_values)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(NULL, "token=hunter2SECRET%zz", NULL, NULL, 0, &p, &err),
	                 BC_E_INVALID);
	ck_assert_ptr_null(strstr(err.message, "hunter2"));
	ck_assert_ptr_nonnull(strstr(err.message, "token"));
	ck_assert_int_eq(parse(NULL, NULL, "application/json", "{\"token\": \"hunter2SECRET",
	                       0, &p, &err), BC_E_INVALID);
	ck_assert_str_eq(err.code, "request.bad_json");
	ck_assert_ptr_null(strstr(err.message, "hunter2"));
	ck_assert_int_eq(parse(NULL, "pw=hunter2SECRET", "application/x-www-form-urlencoded",
	                       "pw=hunter2SECRET", 0, &p, &err), BC_E_INVALID);
	ck_assert_ptr_null(strstr(err.message, "hunter2"));
	ck_assert_int_eq(parse(NULL, NULL, "text/hunter2SECRET", "x", 0, &p, &err),
	                 BC_E_INVALID);
	ck_assert_str_eq(err.code, "request.unsupported_media_type");
	/* names with odd bytes are shown escaped, never raw */
	ck_assert_int_eq(parse(NULL, "a%22%0Ab=%zz", NULL, NULL, 0, &p, &err), BC_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "a%22%0Ab"));
}
END_TEST

START_TEST(limits)
{
	char key65[66], key64[65];
	char *value = NULL, *query = NULL;
	struct bc_params p;
	struct bc_error err;

	memset(key64, 'k', 64);
	key64[64] = '\0';
	memset(key65, 'k', 65);
	key65[65] = '\0';
	value = malloc(4097 + 1);
	ck_assert_ptr_nonnull(value);
	memset(value, 'v', 4097);
	value[4097] = '\0';

	query = bc_strdup_printf("%s=1", key64);
	ck_assert_int_eq(parse(NULL, query, NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, key64), "1");
	bc_params_free(&p);
	free(query);

	query = bc_strdup_printf("%s=1", key65);
	expect_fail(NULL, query, NULL, NULL, 0, BC_E_INVALID, "request.bad_parameter", "64");
	free(query);

	/* the limit applies to the decoded length: 64 %XX escapes are fine */
	query = malloc(3 * 64 + 3);
	ck_assert_ptr_nonnull(query);
	for (int i = 0; i < 64; i++)
		memcpy(query + 3 * i, "%41", 3);
	strcpy(query + 3 * 64, "=1");
	ck_assert_int_eq(parse(NULL, query, NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 1);
	bc_params_free(&p);
	free(query);

	query = bc_strdup_printf("v=%.4096s", value);
	ck_assert_int_eq(parse(NULL, query, NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(strlen(bc_params_get(&p, "v")), 4096);
	bc_params_free(&p);
	free(query);

	query = bc_strdup_printf("v=%s", value);
	expect_fail(NULL, query, NULL, NULL, 0, BC_E_INVALID, "request.bad_parameter", "\"v\"");
	free(query);

	expect_fail(NULL, "=value", NULL, NULL, 0, BC_E_INVALID, "request.bad_parameter",
	            "empty name");
	{
		const char *pairs[] = { "", "x", NULL };
		expect_fail(pairs, NULL, NULL, NULL, 0, BC_E_INVALID, "request.bad_parameter",
		            "empty name");
	}
	free(value);
}
END_TEST

START_TEST(many_parameters)
{
	size_t cap = 1001 * 16, o = 0;
	char *query = malloc(cap);
	struct bc_params p;
	struct bc_error err;

	ck_assert_ptr_nonnull(query);
	for (int i = 0; i < 1000; i++)
		o += (size_t)snprintf(query + o, cap - o, "k%d=%d&", i, i);
	ck_assert_int_eq(parse(NULL, query, NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 1000);
	ck_assert_str_eq(bc_params_get(&p, "k999"), "999");
	ck_assert_str_eq(bc_params_get(&p, "k0"), "0");
	bc_params_free(&p);
	snprintf(query + o, cap - o, "one=more");
	expect_fail(NULL, query, NULL, NULL, 0, BC_E_INVALID, "request.bad_parameter", "1000");
	free(query);
}
END_TEST

START_TEST(transport_pairs)
{
	const char *pairs[] = { "id", "9f1c", "op", "x y%41", NULL };
	const char *dangling[] = { "id", "1", "lonely", NULL };
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(pairs, "name=n", NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 3);
	/* already decoded: kept verbatim */
	ck_assert_str_eq(bc_params_get(&p, "op"), "x y%41");
	ck_assert_str_eq(p.keys[0], "id");
	ck_assert_str_eq(p.keys[2], "name");
	bc_params_free(&p);

	ck_assert_int_eq(parse(dangling, NULL, NULL, NULL, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 1);
	bc_params_free(&p);
}
END_TEST

START_TEST(duplicates)
{
	const char *pairs[] = { "id", "1", NULL };
	const char *twice[] = { "id", "1", "id", "2", NULL };
	const char *form = "application/x-www-form-urlencoded";

	expect_fail(NULL, "a=1&a=2", NULL, NULL, 0, BC_E_INVALID, "request.duplicate_parameter",
	            "\"a\"");
	expect_fail(NULL, "a=1&a=1", NULL, NULL, 0, BC_E_INVALID, "request.duplicate_parameter",
	            "\"a\"");
	expect_fail(NULL, "a&a", NULL, NULL, 0, BC_E_INVALID, "request.duplicate_parameter", NULL);
	/* the same key once raw, once encoded */
	expect_fail(NULL, "ab=1&%61b=2", NULL, NULL, 0, BC_E_INVALID,
	            "request.duplicate_parameter", "\"ab\"");
	expect_fail(twice, NULL, NULL, NULL, 0, BC_E_INVALID, "request.duplicate_parameter",
	            "\"id\"");
	expect_fail(pairs, "id=2", NULL, NULL, 0, BC_E_INVALID, "request.duplicate_parameter",
	            "query string");
	expect_fail(pairs, NULL, form, "id=2", 0, BC_E_INVALID, "request.duplicate_parameter",
	            "form body");
	expect_fail(NULL, "name=a", form, "name=b", 0, BC_E_INVALID,
	            "request.duplicate_parameter", "\"name\"");
	expect_fail(NULL, "name=a", "application/json", "{\"name\": \"b\"}", 0, BC_E_INVALID,
	            "request.duplicate_parameter", "JSON body");
	expect_fail(pairs, NULL, "application/json", "{\"id\": 3}", 0, BC_E_INVALID,
	            "request.duplicate_parameter", "\"id\"");
	expect_fail(NULL, NULL, "application/json", "{\"id\": 1, \"x\": 2, \"id\": 3}", 0,
	            BC_E_INVALID, "request.duplicate_parameter", "\"id\"");
}
END_TEST

START_TEST(form_body)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(NULL, "type=hls", "application/x-www-form-urlencoded",
	                       "name=my+show%21&x=%7e", 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 3);
	ck_assert_str_eq(bc_params_get(&p, "type"), "hls");
	ck_assert_str_eq(bc_params_get(&p, "name"), "my show!");
	ck_assert_str_eq(bc_params_get(&p, "x"), "~");
	ck_assert_str_eq(p.keys[2], "x");
	bc_params_free(&p);

	/* media type case and parameters do not matter */
	ck_assert_int_eq(parse(NULL, NULL, "Application/X-WWW-Form-URLEncoded ; charset=UTF-8",
	                       "a=1", 0, &p, &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "a"), "1");
	bc_params_free(&p);

	expect_fail(NULL, NULL, "application/x-www-form-urlencoded", "a=%zz", 0, BC_E_INVALID,
	            "request.bad_encoding", "form body");
	expect_fail(NULL, NULL, "application/x-www-form-urlencoded", "a=%00", 0, BC_E_INVALID,
	            "request.bad_encoding", "\"a\"");
}
END_TEST

START_TEST(form_body_binary)
{
	/* A raw NUL byte in a body is refused like %00. */
	static const char body[] = { 'a', '=', 'x', '\0', 'y' };
	struct bc_request req;
	struct bc_params p;
	struct bc_error err;

	memset(&req, 0, sizeof req);
	req.struct_size = sizeof req;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = body;
	req.body_len = sizeof body;
	memset(&p, 0, sizeof p);
	ck_assert_int_eq(bc_params_parse(&req, 0, &p, &err), BC_E_INVALID);
	ck_assert_str_eq(err.code, "request.bad_encoding");

	/* body_len counts, not a NUL terminator: only "a=1" of "a=1&b=2" */
	req.body = "a=1&b=2";
	req.body_len = 3;
	ck_assert_int_eq(bc_params_parse(&req, 0, &p, &err), BC_OK);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_str_eq(bc_params_get(&p, "a"), "1");
	bc_params_free(&p);
}
END_TEST

START_TEST(json_body)
{
	struct bc_params p;
	struct bc_error err;

	ck_assert_int_eq(parse(NULL, "type=hls", "application/json",
	                       "{\"name\": \"caf\\u00e9 \\\"x\\\"\", \"n\": 42, \"neg\": -7,"
	                       " \"big\": 9007199254740993, \"r\": 0.1, \"r2\": 2.5e3,"
	                       " \"r3\": 1.0, \"t\": true, \"f\": false, \"gone\": null,"
	                       " \"empty\": \"\"}",
	                       0, &p, &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "type"), "hls");
	ck_assert_str_eq(bc_params_get(&p, "name"), "caf\xc3\xa9 \"x\"");
	ck_assert_str_eq(bc_params_get(&p, "n"), "42");
	ck_assert_str_eq(bc_params_get(&p, "neg"), "-7");
	ck_assert_str_eq(bc_params_get(&p, "big"), "9007199254740993");
	ck_assert_str_eq(bc_params_get(&p, "r"), "0.1");
	ck_assert_str_eq(bc_params_get(&p, "r2"), "2500");
	ck_assert_str_eq(bc_params_get(&p, "r3"), "1");
	ck_assert_str_eq(bc_params_get(&p, "t"), "true");
	ck_assert_str_eq(bc_params_get(&p, "f"), "false");
	ck_assert_ptr_null(bc_params_get(&p, "gone"));
	ck_assert_str_eq(bc_params_get(&p, "empty"), "");
	ck_assert_uint_eq(p.n, 11);
	bc_params_free(&p);

	ck_assert_int_eq(parse(NULL, NULL, "APPLICATION/JSON;charset=utf-8", "{}", 0, &p, &err),
	                 BC_OK);
	ck_assert_uint_eq(p.n, 0);
	/* null is absent, so it does not clash with the query string */
	ck_assert_int_eq(parse(NULL, "name=q", "application/json", "{\"name\": null}", 0, &p,
	                       &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "name"), "q");
	bc_params_free(&p);
}
END_TEST

START_TEST(json_bad)
{
	const char *js = "application/json";

	expect_fail(NULL, NULL, js, "{\"a\": {\"b\": 1}}", 0, BC_E_INVALID, "request.bad_json",
	            "\"a\"");
	expect_fail(NULL, NULL, js, "{\"list\": [1, 2]}", 0, BC_E_INVALID, "request.bad_json",
	            "\"list\"");
	expect_fail(NULL, NULL, js, "[1, 2]", 0, BC_E_INVALID, "request.bad_json", "object");
	expect_fail(NULL, NULL, js, "\"hls\"", 0, BC_E_INVALID, "request.bad_json", NULL);
	expect_fail(NULL, NULL, js, "42", 0, BC_E_INVALID, "request.bad_json", NULL);
	expect_fail(NULL, NULL, js, "{\"a\": 1,\n \"b\": }", 0, BC_E_INVALID,
	            "request.bad_json", "line 2, column");
	expect_fail(NULL, NULL, js, "{\"a\": 1} trailing", 0, BC_E_INVALID, "request.bad_json",
	            "line 1");
	expect_fail(NULL, NULL, js, "{\"a\": \"\\u0000\"}", 0, BC_E_INVALID, "request.bad_json",
	            NULL);
	expect_fail(NULL, NULL, js, "{\"a\": \"\xff\"}", 0, BC_E_INVALID, "request.bad_json",
	            NULL);
	expect_fail(NULL, NULL, js, "{\"\": 1}", 0, BC_E_INVALID, "request.bad_parameter", NULL);
	expect_fail(NULL, NULL, js, " ", 0, BC_E_INVALID, "request.bad_json", NULL);
}
END_TEST

START_TEST(media_types)
{
	struct bc_params p;
	struct bc_error err;

	/* 415 is signalled by the code; the status stays BC_E_INVALID */
	expect_fail(NULL, NULL, "text/plain", "a=1", 0, BC_E_INVALID,
	            "request.unsupported_media_type", "text/plain");
	expect_fail(NULL, NULL, NULL, "a=1", 0, BC_E_INVALID, "request.unsupported_media_type",
	            "Content-Type");
	expect_fail(NULL, NULL, "application/jsonx", "{}", 0, BC_E_INVALID,
	            "request.unsupported_media_type", NULL);
	expect_fail(NULL, NULL, "multipart/form-data; boundary=x", "--x", 0, BC_E_INVALID,
	            "request.unsupported_media_type", "multipart/form-data");
	expect_fail(NULL, NULL, "", "{}", 0, BC_E_INVALID, "request.unsupported_media_type", NULL);
	/* without a body the content type is not looked at */
	ck_assert_int_eq(parse(NULL, "a=1", "text/plain", "", 0, &p, &err), BC_OK);
	bc_params_free(&p);
	ck_assert_int_eq(parse(NULL, "a=1", "text/plain", NULL, 0, &p, &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "a"), "1");
	bc_params_free(&p);
}
END_TEST

START_TEST(body_size)
{
	struct bc_params p;
	struct bc_error err;
	const char *body = "a=123456"; /* 8 bytes */

	ck_assert_int_eq(parse(NULL, NULL, "application/x-www-form-urlencoded", body, 8, &p,
	                       &err), BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "a"), "123456");
	bc_params_free(&p);
	expect_fail(NULL, NULL, "application/x-www-form-urlencoded", body, 7, BC_E_TOO_LARGE,
	            "request.too_large", "7");
	/* checked before decoding: a bad body that is too large is 413, and a
	 * query string parsed fine does not survive */
	expect_fail(NULL, "x=1", "text/plain", "%zz%zz%zz", 8, BC_E_TOO_LARGE,
	            "request.too_large", NULL);
	ck_assert_uint_eq(bc_status_http(BC_E_TOO_LARGE), 413);
	/* 0: no limit */
	ck_assert_int_eq(parse(NULL, NULL, "application/x-www-form-urlencoded", body, 0, &p,
	                       &err), BC_OK);
	bc_params_free(&p);
}
END_TEST

START_TEST(failure_empties_out)
{
	const char *pairs[] = { "id", "1", NULL };
	struct bc_params p;
	struct bc_error err;

	/* two good sources, then a bad body: nothing is left behind */
	ck_assert_int_eq(parse(pairs, "a=1&b=2", "application/json", "{\"c\": [", 0, &p, &err),
	                 BC_E_INVALID);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_ptr_null(p.keys);
	ck_assert_ptr_null(bc_params_get(&p, "a"));
}
END_TEST

/* bc_json_depth: the scan that guards jansson's recursive parser. */
#define DEPTH(text, limit) bc_json_depth(text, strlen(text), limit)
START_TEST(json_depth_scan)
{
	static char deep[4001];

	ck_assert_uint_eq(DEPTH("", 8), 0);
	ck_assert_uint_eq(DEPTH("42", 8), 0);
	ck_assert_uint_eq(DEPTH("{}", 8), 1);
	ck_assert_uint_eq(DEPTH("{\"a\":[1,{\"b\":[]}]}", 8), 4);
	ck_assert_uint_eq(DEPTH("[][][]", 8), 1);
	/* brackets inside strings do not count, escaped quotes do not end them */
	ck_assert_uint_eq(DEPTH("{\"[[[[\":\"{{{{\"}", 2), 1);
	ck_assert_uint_eq(DEPTH("{\"a\\\"[[[\":1}", 2), 1);
	ck_assert_uint_eq(DEPTH("[\"\\\\\",[[", 8), 3);
	/* stray closers never go below zero; the limit stops the scan */
	ck_assert_uint_eq(DEPTH("]]]]}}[[", 8), 2);
	memset(deep, '[', 4000);
	ck_assert_uint_eq(bc_json_depth(deep, 4000, 8), 9);
	ck_assert_uint_eq(bc_json_depth(deep, 8, 8), 8);
	ck_assert_uint_eq(bc_json_depth(deep, 4000, 5000), 4000);
	/* no NUL is needed: len bounds the scan */
	ck_assert_uint_eq(bc_json_depth("[[[[", 2, 8), 2);
}
END_TEST

/* Finding 1 of issue 17: 1000 levels overflowed a 100 KiB worker stack
 * inside json_loadb. Refused before parsing, in any body and key. */
START_TEST(json_too_deep)
{
	const char *js = "application/json";
	static char arrays[2001], objects[6001];
	struct bc_params p;
	struct bc_error err;

	memset(arrays, '[', 1000);
	memset(arrays + 1000, ']', 1000);
	expect_fail(NULL, NULL, js, arrays, 0, BC_E_INVALID, "request.too_deep", "8 levels");
	for (size_t i = 0; i < 1000; i++)
		memcpy(objects + 5 * i, "{\"a\":", 5);
	expect_fail(NULL, NULL, js, objects, 0, BC_E_INVALID, "request.too_deep", NULL);
	expect_fail(NULL, NULL, js, "{\"a\":[[[[[[[[1]]]]]]]]}", 0, BC_E_INVALID,
	            "request.too_deep", NULL);
	/* up to the limit the usual message (nested values are refused) */
	expect_fail(NULL, NULL, js, "{\"a\":[[[[[[[1]]]]]]]}", 0, BC_E_INVALID,
	            "request.bad_json", "\"a\"");
	/* brackets in strings are text */
	ck_assert_int_eq(parse(NULL, NULL, js, "{\"name\": \"[[[[[[[[[[[[[[{{{{{{{{{\"}", 0, &p,
	                       &err),
	                 BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "name"), "[[[[[[[[[[[[[[{{{{{{{{{");
	bc_params_free(&p);
}
END_TEST

START_TEST(utf8_scan)
{
	ck_assert_int_eq(bc_utf8_valid("", 0), 1);
	ck_assert_int_eq(bc_utf8_valid("plain", 5), 1);
	ck_assert_int_eq(bc_utf8_valid("caf\xc3\xa9", 5), 1);
	ck_assert_int_eq(bc_utf8_valid("\xe2\x82\xac", 3), 1);         /* U+20AC */
	ck_assert_int_eq(bc_utf8_valid("\xf0\x9f\x8e\xa5", 4), 1);     /* U+1F3A5 */
	ck_assert_int_eq(bc_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);     /* U+10FFFF */
	ck_assert_int_eq(bc_utf8_valid("\xef\xbf\xbd", 3), 1);         /* U+FFFD */
	ck_assert_int_eq(bc_utf8_valid("\xff\xfe", 2), 0);             /* the finding */
	ck_assert_int_eq(bc_utf8_valid("\x80", 1), 0);                 /* lone continuation */
	ck_assert_int_eq(bc_utf8_valid("\xc3", 1), 0);                 /* cut short */
	ck_assert_int_eq(bc_utf8_valid("\xe2\x82", 2), 0);
	ck_assert_int_eq(bc_utf8_valid("\xc3\x28", 2), 0);             /* bad continuation */
	ck_assert_int_eq(bc_utf8_valid("\xc0\xaf", 2), 0);             /* overlong '/' */
	ck_assert_int_eq(bc_utf8_valid("\xe0\x80\xaf", 3), 0);         /* overlong '/' */
	ck_assert_int_eq(bc_utf8_valid("\xf0\x80\x80\xaf", 4), 0);     /* overlong '/' */
	ck_assert_int_eq(bc_utf8_valid("\xed\xa0\x80", 3), 0);         /* surrogate D800 */
	ck_assert_int_eq(bc_utf8_valid("\xed\xbf\xbf", 3), 0);         /* surrogate DFFF */
	ck_assert_int_eq(bc_utf8_valid("\xf4\x90\x80\x80", 4), 0);     /* U+110000 */
	ck_assert_int_eq(bc_utf8_valid("\xf8\x88\x80\x80\x80", 5), 0); /* 5-byte form */
	/* len bounds the scan: a valid prefix of a longer invalid text */
	ck_assert_int_eq(bc_utf8_valid("ok\xff", 2), 1);
}
END_TEST

/* Finding 2 of issue 17: ?name=%ff%fe reached the store. Every parameter
 * from every source is refused when it is not UTF-8 or holds a control
 * character; the message never repeats the value. */
START_TEST(bad_text)
{
	const char *form = "application/x-www-form-urlencoded";
	const char *const bad_pair[] = { "id", "ab\xff", NULL };
	const char *const bad_key[] = { "\xc0\xaf", "x", NULL };
	const char *const ctl_pair[] = { "id", "a\x01", NULL };
	struct bc_params p;
	struct bc_error err;

	expect_fail(NULL, "name=%ff%fe", NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8",
	            "\"name\" in the query string");
	expect_fail(NULL, "provider=%ff", NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8",
	            "\"provider\"");
	expect_fail(NULL, "type=%c0%af", NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8", NULL);
	expect_fail(NULL, "name=%ed%a0%80", NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8", NULL);
	expect_fail(NULL, "na%ffme=x", NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8",
	            "na%FFme");
	expect_fail(NULL, "name=\xff", NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8", NULL);
	expect_fail(NULL, NULL, form, "name=%fe", 0, BC_E_INVALID, "request.bad_utf8",
	            "the form body");
	expect_fail(bad_pair, NULL, NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8",
	            "\"id\" in the request");
	expect_fail(bad_key, NULL, NULL, NULL, 0, BC_E_INVALID, "request.bad_utf8", NULL);
	/* NUL stays a bad escape; other control characters get their own code */
	expect_fail(NULL, "name=a%00", NULL, NULL, 0, BC_E_INVALID, "request.bad_encoding", "NUL");
	expect_fail(NULL, "name=a%0ab", NULL, NULL, 0, BC_E_INVALID,
	            "request.control_character", "\"name\"");
	expect_fail(NULL, "name=%09", NULL, NULL, 0, BC_E_INVALID, "request.control_character",
	            NULL);
	expect_fail(NULL, "owner=%7f", NULL, NULL, 0, BC_E_INVALID, "request.control_character",
	            NULL);
	expect_fail(NULL, "a%1b=1", NULL, NULL, 0, BC_E_INVALID, "request.control_character",
	            NULL);
	expect_fail(ctl_pair, NULL, NULL, NULL, 0, BC_E_INVALID, "request.control_character",
	            NULL);
	expect_fail(NULL, NULL, "application/json", "{\"name\": \"a\\u0001\"}", 0,
	            BC_E_INVALID, "request.control_character", "the JSON body");
	expect_fail(NULL, NULL, "application/json", "{\"name\": \"a\\ud800\"}", 0,
	            BC_E_INVALID, "request.bad_json", NULL);
	/* well-formed text of any script, and C1 code points, are fine */
	ck_assert_int_eq(parse(NULL, "name=caf%C3%A9+%F0%9F%8E%A5%C2%85", NULL, NULL, 0, &p, &err),
	                 BC_OK);
	ck_assert_str_eq(bc_params_get(&p, "name"), "caf\xc3\xa9 \xf0\x9f\x8e\xa5\xc2\x85");
	bc_params_free(&p);
}
END_TEST

/* render.c's bc_render_text: stored text that is not UTF-8 (an old record)
 * is shown with U+FFFD instead of failing the whole answer. */
START_TEST(render_text_lossy)
{
	json_t *v;

	v = bc_render_text("caf\xc3\xa9");
	ck_assert_str_eq(json_string_value(v), "caf\xc3\xa9");
	json_decref(v);
	v = bc_render_text(NULL);
	ck_assert_str_eq(json_string_value(v), "");
	json_decref(v);
	v = bc_render_text("a\xff\xfe" "b");
	ck_assert_str_eq(json_string_value(v), "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	json_decref(v);
	v = bc_render_text("\xe2\x82");     /* cut short */
	ck_assert_str_eq(json_string_value(v), "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(v);
	v = bc_render_text("\xed\xa0\x80!"); /* surrogate */
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(bc_utf8_valid(json_string_value(v), strlen(json_string_value(v))), 1);
	json_decref(v);
	{
		struct bc_record_copy r = { .id = "00000000-0000-4000-8000-000000000000",
			                    .name = "\xff\xfe", .type = "hls", .provider = "p\x80",
			                    .owner = "o", .state = BC_STATE_LIVE, .start_ms = 1000 };
		json_t *o = bc_render_list(&r, 1, NULL);
		ck_assert_ptr_nonnull(o);
		json_decref(o);
		o = bc_render_error("x.y", "cut \xe2\x82");
		ck_assert_ptr_nonnull(o);
		json_decref(o);
	}
}
END_TEST

static Suite *params_suite(void)
{
	Suite *s = suite_create("params");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, query_basic);
	tcase_add_test(tc, query_decoding);
	tcase_add_test(tc, query_empty_pieces);
	tcase_add_test(tc, query_bad_encoding);
	tcase_add_test(tc, message_hides_values);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, many_parameters);
	tcase_add_test(tc, transport_pairs);
	tcase_add_test(tc, duplicates);
	tcase_add_test(tc, form_body);
	tcase_add_test(tc, form_body_binary);
	tcase_add_test(tc, json_body);
	tcase_add_test(tc, json_bad);
	tcase_add_test(tc, media_types);
	tcase_add_test(tc, body_size);
	tcase_add_test(tc, failure_empties_out);
	tcase_add_test(tc, json_depth_scan);
	tcase_add_test(tc, json_too_deep);
	tcase_add_test(tc, utf8_scan);
	tcase_add_test(tc, bad_text);
	tcase_add_test(tc, render_text_lossy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(params_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
