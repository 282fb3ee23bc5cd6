/* SPDX-License-Identifier: Apache-2.0 */
/*
 * params.c: the parameters of one API request, as a struct bc_params.
 *
 * django-broadcast read its parameters from request.query_params and the
 * parsed body alike, so a client may put `type=hls` in the query string, a
 * form body or a JSON body. This file merges those sources, plus pairs the
 * transport decoded itself (an id from a URL path), into one flat list of
 * key/value strings, and refuses anything ambiguous: a key given twice (in
 * any mix of sources) is an error rather than "last one wins", so a proxy and
 * the server can never read different values out of one request.
 *
 * What the parameters mean (which are required, their formats) is the
 * dispatcher's business; this file only decodes. Error messages name
 * parameters but never repeat their values, which may be secrets.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <jansson.h>

#include "bc_internal.h"

/* Limits on one parameter. Real parameters are short (a type, a name, a
 * UUID); the caps keep a hostile request from costing much. */
#define PARAMS_KEY_MAX 64
#define PARAMS_VALUE_MAX 4096
/* Duplicates are found by a linear scan, so the count is capped too: the API
 * takes a handful of parameters, and 1000 pairs cost at most ~500k short
 * comparisons. */
#define PARAMS_COUNT_MAX 1000

/* A bounded, printable rendering of a parameter name for messages: the name
 * is the client's bytes and the message ends up in a JSON body, so bytes
 * outside printable ASCII (and quotes, backslashes, '%') are shown as %XX. */
static void params_render_name(const char *name, size_t len, char out[3 * PARAMS_KEY_MAX + 4])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len && i < PARAMS_KEY_MAX; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	if (len > PARAMS_KEY_MAX) {
		out[o++] = '.';
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = '\0';
}

/* 1 when the bytes hold a C0 control character (NUL included) or DEL. No
 * parameter of the API (type, name, provider, id, state, limit, cursor)
 * can sensibly hold one, and in a name it would end up in logs and file
 * names; C1 controls (U+0080..U+009F) are ordinary UTF-8 text here. */
static int params_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* Check one key/value pair against the limits and the pairs already in
 * `out`, then append copies. `where` names the source for messages
 * ("the query string", "the form body", ...). */
static enum bc_status params_add(struct bc_params *out, const char *key, size_t key_len,
                                 const char *value, size_t value_len, const char *where,
                                 struct bc_error *err)
{
	char shown[3 * PARAMS_KEY_MAX + 4];
	char *k = NULL, *v = NULL;
	char **keys, **values;

	if (key_len == 0)
		return bc_fail(err, BC_E_INVALID, "request.bad_parameter",
		               "a parameter in %s has an empty name; write name=value", where);
	params_render_name(key, key_len, shown);
	if (key_len > PARAMS_KEY_MAX)
		return bc_fail(err, BC_E_INVALID, "request.bad_parameter",
		               "a parameter name in %s is longer than %d bytes (\"%s\")", where,
		               PARAMS_KEY_MAX, shown);
	if (value_len > PARAMS_VALUE_MAX)
		return bc_fail(err, BC_E_INVALID, "request.bad_parameter",
		               "the value of parameter \"%s\" in %s is longer than %d bytes", shown,
		               where, PARAMS_VALUE_MAX);
	/* Every parameter is text for people and for JSON answers: refused here,
	 * once for every source and every route, before any of it is used (a
	 * name that is not UTF-8 could be stored but never rendered again). */
	if (!bc_utf8_valid(key, key_len))
		return bc_fail(err, BC_E_INVALID, "request.bad_utf8",
		               "a parameter name in %s is not valid UTF-8 (\"%s\"); send text "
		               "as UTF-8", where, shown);
	if (!bc_utf8_valid(value, value_len))
		return bc_fail(err, BC_E_INVALID, "request.bad_utf8",
		               "the value of parameter \"%s\" in %s is not valid UTF-8; send "
		               "text as UTF-8", shown, where);
	if (params_has_control(key, key_len) || params_has_control(value, value_len))
		return bc_fail(err, BC_E_INVALID, "request.control_character",
		               "parameter \"%s\" in %s contains a control character (a byte "
		               "below 0x20, or 0x7f); no parameter of the API can hold one",
		               shown, where);
	for (size_t i = 0; i < out->n; i++) {
		if (strlen(out->keys[i]) == key_len && memcmp(out->keys[i], key, key_len) == 0)
			return bc_fail(err, BC_E_INVALID, "request.duplicate_parameter",
			               "parameter \"%s\" is given more than once (again in %s); "
			               "send each parameter once", shown, where);
	}
	if (out->n >= PARAMS_COUNT_MAX)
		return bc_fail(err, BC_E_INVALID, "request.bad_parameter",
		               "the request has more than %d parameters", PARAMS_COUNT_MAX);

	k = malloc(key_len + 1);
	v = malloc(value_len + 1);
	/* There is no capacity member: the arrays hold max(4, the next power of
	 * two at or above n), so they grow when n reaches such a power. */
	keys = out->keys;
	values = out->values;
	if (out->n == 0 || (out->n >= 4 && (out->n & (out->n - 1)) == 0)) {
		size_t cap = out->n == 0 ? 4 : 2 * out->n;
		keys = realloc(out->keys, cap * sizeof *keys);
		if (keys != NULL)
			out->keys = keys;
		values = realloc(out->values, cap * sizeof *values);
		if (values != NULL)
			out->values = values;
	}
	if (k == NULL || v == NULL || keys == NULL || values == NULL) {
		free(k);
		free(v);
		return bc_fail(err, BC_E_NOMEM, "internal.nomem", "out of memory decoding parameters");
	}
	memcpy(k, key, key_len);
	k[key_len] = '\0';
	memcpy(v, value, value_len);
	v[value_len] = '\0';
	out->keys[out->n] = k;
	out->values[out->n] = v;
	out->n++;
	return BC_OK;
}

static int params_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one x-www-form-urlencoded component of `len` bytes into `dst`
 * (room for len bytes; decoding never grows). Returns the decoded length,
 * -1 for a bad %-escape, -2 for a decoded NUL byte (C strings could not carry
 * it, and a value cut short at a NUL is how truncation attacks start). */
static ssize_t params_unescape(const char *src, size_t len, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '+') {
			dst[o++] = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (len - i < 3)
				return -1;
			hi = params_hexval((unsigned char)src[i + 1]);
			lo = params_hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0')
				return -2;
			dst[o++] = (char)c;
			i += 2;
		} else if (c == '\0') {
			return -2;
		} else {
			dst[o++] = (char)c;
		}
	}
	return (ssize_t)o;
}

/* Decode an application/x-www-form-urlencoded text (a query string or a form
 * body) of `len` bytes and add its pairs. Pieces are split on '&'; empty
 * pieces are skipped; the first '=' splits key and value; a piece without
 * '=' is a key with the empty value. */
static enum bc_status params_parse_form(struct bc_params *out, const char *text, size_t len,
                                        const char *where, struct bc_error *err)
{
	enum bc_status st = BC_OK;
	char *buf = NULL;
	size_t pos = 0;

	/* One scratch buffer for every piece: decoding never grows. */
	buf = malloc(len + 1);
	if (buf == NULL)
		return bc_fail(err, BC_E_NOMEM, "internal.nomem", "out of memory decoding parameters");
	while (pos < len) {
		const char *piece = text + pos;
		const char *amp = memchr(piece, '&', len - pos);
		size_t piece_len = amp != NULL ? (size_t)(amp - piece) : len - pos;
		const char *eq;
		size_t raw_key_len, raw_value_len;
		ssize_t key_len, value_len;
		char shown[3 * PARAMS_KEY_MAX + 4];

		pos += piece_len + 1;
		if (piece_len == 0)
			continue;
		eq = memchr(piece, '=', piece_len);
		raw_key_len = eq != NULL ? (size_t)(eq - piece) : piece_len;
		raw_value_len = eq != NULL ? piece_len - raw_key_len - 1 : 0;

		key_len = params_unescape(piece, raw_key_len, buf);
		if (key_len < 0) {
			st = bc_fail(err, BC_E_INVALID, "request.bad_encoding",
			             "a parameter name in %s %s; percent-encode it as UTF-8 "
			             "bytes (%%XX)", where,
			             key_len == -1 ? "has a bad %-escape" : "contains a NUL byte");
			goto out;
		}
		params_render_name(buf, (size_t)key_len, shown);
		value_len = params_unescape(eq != NULL ? eq + 1 : "", raw_value_len,
		                            buf + key_len);
		if (value_len < 0) {
			st = bc_fail(err, BC_E_INVALID, "request.bad_encoding",
			             "the value of parameter \"%s\" in %s %s; encode '%%' as %%25",
			             shown, where,
			             value_len == -1 ? "has a bad %-escape" : "contains a NUL byte");
			goto out;
		}
		st = params_add(out, buf, (size_t)key_len, buf + key_len, (size_t)value_len, where,
		                err);
		if (st != BC_OK)
			goto out;
	}
out:
	free(buf);
	return st;
}

/* A real as the shortest text that reads back as the same double, so 0.1
 * is "0.1" rather than %.17g's "0.10000000000000001"; and without an
 * exponent wherever %.17g has none, so 2.5e3 is "2500", not "2.5e+03". */
static void params_format_real(double d, char out[32])
{
	char full[32];
	int prec = 1;

	snprintf(full, sizeof full, "%.17g", d);
	while (prec < 17) {
		snprintf(out, 32, "%.*g", prec, d);
		if (strtod(out, NULL) == d && (strchr(out, 'e') == NULL || strchr(full, 'e') != NULL))
			return;
		prec++;
	}
	memcpy(out, full, sizeof full);
}

/* Keep the part of a jansson error text before " near '...'": the quoted
 * token may be part of a value, and values are never echoed. */
static void params_json_reason(const char *text, char *out, size_t size)
{
	const char *near = strstr(text, " near '");
	size_t len = near != NULL ? (size_t)(near - text) : strlen(text);

	if (len >= size)
		len = size - 1;
	memcpy(out, text, len);
	out[len] = '\0';
}

static enum bc_status params_parse_json(struct bc_params *out, const char *body, size_t len,
                                        struct bc_error *err)
{
	static const char where[] = "the JSON body";
	enum bc_status st = BC_OK;
	json_error_t jerr;
	json_t *root = NULL;
	const char *key;
	json_t *value;

	/* jansson's parser recurses once per nesting level, and about 1000
	 * levels overflow a 100 KiB CivetWeb worker stack: measure first. */
	if (bc_json_depth(body, len, BC_JSON_MAX_DEPTH) > BC_JSON_MAX_DEPTH)
		return bc_fail(err, BC_E_INVALID, "request.too_deep",
		               "%s nests arrays or objects more than %d levels deep; send one "
		               "flat JSON object of parameters, e.g. {\"type\": \"hls\"}",
		               where, BC_JSON_MAX_DEPTH);
	/* JSON_REJECT_DUPLICATES: {"id": 1, "id": 2} is as ambiguous as a
	 * query string giving id twice. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		char reason[sizeof jerr.text];
		const char *near = strstr(jerr.text, " near '");

		if (strncmp(jerr.text, "duplicate object key", 20) == 0 && near != NULL) {
			/* jansson quotes the repeated key as written: a name, not a
			 * value, so it may be shown. */
			const char *name = near + 7;
			size_t name_len = strlen(name);
			char shown[3 * PARAMS_KEY_MAX + 4];

			if (name_len > 0 && name[name_len - 1] == '\'')
				name_len--;
			if (name_len >= 2 && name[0] == '"' && name[name_len - 1] == '"') {
				name++;
				name_len -= 2;
			}
			params_render_name(name, name_len, shown);
			return bc_fail(err, BC_E_INVALID, "request.duplicate_parameter",
			               "parameter \"%s\" is given more than once in %s (line %d, "
			               "column %d); send each parameter once", shown, where,
			               jerr.line, jerr.column);
		}
		params_json_reason(jerr.text, reason, sizeof reason);
		return bc_fail(err, BC_E_INVALID, "request.bad_json",
		               "%s is not valid JSON at line %d, column %d: %s", where, jerr.line,
		               jerr.column, reason);
	}
	if (!json_is_object(root)) {
		st = bc_fail(err, BC_E_INVALID, "request.bad_json",
		             "%s must be a JSON object of parameters, e.g. {\"type\": \"hls\"}",
		             where);
		goto out;
	}
	json_object_foreach(root, key, value) {
		char shown[3 * PARAMS_KEY_MAX + 4];
		char num[32];
		const char *text = NULL;
		size_t text_len = 0;

		switch (json_typeof(value)) {
		case JSON_STRING:
			text = json_string_value(value);
			text_len = json_string_length(value);
			break;
		case JSON_INTEGER:
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
			text = num;
			text_len = strlen(num);
			break;
		case JSON_REAL:
			params_format_real(json_real_value(value), num);
			text = num;
			text_len = strlen(num);
			break;
		case JSON_TRUE:
			text = "true";
			text_len = 4;
			break;
		case JSON_FALSE:
			text = "false";
			text_len = 5;
			break;
		case JSON_NULL:
			/* null means "not given", as an absent key would. */
			continue;
		case JSON_OBJECT:
		case JSON_ARRAY:
			params_render_name(key, strlen(key), shown);
			st = bc_fail(err, BC_E_INVALID, "request.bad_json",
			             "parameter \"%s\" in %s is an object or array; parameters are "
			             "strings, numbers, booleans or null", shown, where);
			goto out;
		}
		/* Without JSON_ALLOW_NUL jansson refuses "\u0000", so keys and
		 * strings hold no NUL byte and strlen(key) is the key's length. */
		st = params_add(out, key, strlen(key), text, text_len, where, err);
		if (st != BC_OK)
			goto out;
	}
out:
	json_decref(root);
	return st;
}

/* Compare the media type of a Content-Type value with `type`, ignoring case,
 * surrounding blanks and any parameters ("; charset=utf-8"). */
static int params_media_type_is(const char *content_type, const char *type)
{
	const char *start = content_type, *end;
	size_t len = strlen(type);

	while (*start == ' ' || *start == '\t')
		start++;
	end = start;
	while (*end != '\0' && *end != ';')
		end++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - start) == len && strncasecmp(start, type, len) == 0;
}

/* The media type part of a Content-Type for messages, bounded and printable. */
static void params_render_media_type(const char *content_type, char out[68])
{
	size_t o = 0;

	for (const char *p = content_type; *p != '\0' && *p != ';' && o < 64; p++) {
		unsigned char c = (unsigned char)*p;
		out[o++] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	out[o] = '\0';
}

static enum bc_status params_parse_body(const struct bc_request *req, struct bc_params *out,
                                        struct bc_error *err)
{
	char shown[68];

	if (req->content_type == NULL)
		return bc_fail(err, BC_E_INVALID, "request.unsupported_media_type",
		               "the request has a body but no Content-Type; send "
		               "application/x-www-form-urlencoded or application/json");
	if (params_media_type_is(req->content_type, "application/x-www-form-urlencoded"))
		return params_parse_form(out, req->body, req->body_len, "the form body", err);
	if (params_media_type_is(req->content_type, "application/json"))
		return params_parse_json(out, req->body, req->body_len, err);
	params_render_media_type(req->content_type, shown);
	return bc_fail(err, BC_E_INVALID, "request.unsupported_media_type",
	               "a body of type \"%s\" is not accepted; send "
	               "application/x-www-form-urlencoded or application/json", shown);
}

enum bc_status bc_params_parse(const struct bc_request *req, size_t max_body,
                               struct bc_params *out, struct bc_error *err)
{
	enum bc_status st = BC_OK;
	size_t body_len = req->body != NULL ? req->body_len : 0;

	/* The size check comes first so that an oversized body costs nothing. */
	if (max_body > 0 && body_len > max_body) {
		st = bc_fail(err, BC_E_TOO_LARGE, "request.too_large",
		             "the request body has %zu bytes, more than the limit of %zu", body_len,
		             max_body);
		goto out;
	}
	if (req->params != NULL) {
		/* A NULL key, or a key without its value, ends the array. */
		for (size_t i = 0; req->params[i] != NULL && req->params[i + 1] != NULL; i += 2) {
			st = params_add(out, req->params[i], strlen(req->params[i]), req->params[i + 1],
			                strlen(req->params[i + 1]), "the request", err);
			if (st != BC_OK)
				goto out;
		}
	}
	if (req->query != NULL) {
		st = params_parse_form(out, req->query, strlen(req->query), "the query string", err);
		if (st != BC_OK)
			goto out;
	}
	if (body_len > 0)
		st = params_parse_body(req, out, err);
out:
	if (st != BC_OK)
		bc_params_free(out);
	return st;
}

const char *bc_params_get(const struct bc_params *p, const char *key)
{
	if (p == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->keys[i], key) == 0)
			return p->values[i];
	}
	return NULL;
}

void bc_params_free(struct bc_params *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->keys[i]);
		free(p->values[i]);
	}
	free(p->keys);
	free(p->values);
	p->n = 0;
	p->keys = NULL;
	p->values = NULL;
}
