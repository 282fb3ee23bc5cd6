/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_form.c: application/x-www-form-urlencoded parameters (see
 * rtmp_form.h), as the WHATWG URL standard's parser reads them, but strict:
 * where that parser would silently keep a malformed escape, we refuse.
 */
#include <config.h>

#include <string.h>

#include "rtmp_form.h"

static int rtmp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode value [v, v + n) into out; 0 on success. (framework/params.c
 * decodes the API's forms alike, but a plugin reaches only the host API,
 * and this one also refuses anything but printable ASCII.) */
static int rtmp_decode(const char *v, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)v[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = rtmp_hex(v[i + 1]);
			lo = rtmp_hex(v[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

enum rtmp_form_result rtmp_form_get(const char *body, size_t len, const char *key, char *out,
                                    size_t size)
{
	size_t klen = strlen(key), pos = 0;
	int found = 0;

	if (size == 0)
		return RTMP_FORM_BAD;
	out[0] = '\0';
	while (pos < len) {
		const char *pair = body + pos;
		const char *amp = memchr(pair, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - pair) : len - pos;

		if (plen > klen && pair[klen] == '=' && memcmp(pair, key, klen) == 0) {
			if (found)
				return RTMP_FORM_BAD;
			found = 1;
			if (rtmp_decode(pair + klen + 1, plen - klen - 1, out, size) != 0)
				return RTMP_FORM_BAD;
		} else if (plen == klen && memcmp(pair, key, klen) == 0) {
			if (found)
				return RTMP_FORM_BAD;
			found = 1; /* "key" alone: an empty value */
		}
		pos += plen + 1;
	}
	return found ? RTMP_FORM_OK : RTMP_FORM_ABSENT;
}
