/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_sdp.c: SDP checks and the trickle-ICE fragment parser (see
 * webrtc_sdp.h). SDP is RFC 8866: lines "<type>=<value>" ended by CRLF
 * (we accept a bare LF too, as browsers never send one but hand-written
 * test files do), the type one lowercase letter. A WebRTC offer (RFC 8829)
 * carries a=ice-ufrag, a=ice-pwd and a=fingerprint, at session level or in
 * each media section; we only check that each appears somewhere, Janus
 * checks the rest.
 */
#include <config.h>

#include <string.h>

#include "webrtc_sdp.h"

int webrtc_utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t n, k;
		unsigned cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + n >= len)
			return 0; /* cut short */
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, past U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

/* The next line of s: its start in *line, its length (without CR LF) in
 * *len; returns the start of the line after it, or NULL at the end. */
static const char *sdp_next(const char *s, const char **line, size_t *len)
{
	const char *nl;

	if (*s == '\0')
		return NULL;
	*line = s;
	nl = strchr(s, '\n');
	if (nl == NULL) {
		*len = strlen(s);
		return s + *len;
	}
	*len = (size_t)(nl - s);
	if (*len > 0 && s[*len - 1] == '\r')
		(*len)--;
	return nl + 1;
}

static int sdp_line_is_valid(const char *line, size_t len)
{
	size_t i;

	if (len < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '=')
		return 0;
	for (i = 2; i < len; i++)
		if (line[i] == '\r')
			return 0;
	return 1;
}

static int sdp_has_prefix(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(line, prefix, n) == 0;
}

const char *webrtc_sdp_check(const char *sdp)
{
	const char *line, *p = sdp;
	size_t len;
	int media = 0, ufrag = 0, pwd = 0, fp = 0, first = 1;

	while ((p = sdp_next(p, &line, &len)) != NULL) {
		if (len == 0 && *p == '\0')
			break; /* the final CRLF */
		if (!sdp_line_is_valid(line, len))
			return "the body is not SDP: every line must be \"x=value\" ended by CRLF";
		if (first && !sdp_has_prefix(line, len, "v=0"))
			return "the body is not SDP: it must begin with \"v=0\"";
		first = 0;
		if (sdp_has_prefix(line, len, "m="))
			media++;
		else if (sdp_has_prefix(line, len, "a=ice-ufrag:"))
			ufrag = 1;
		else if (sdp_has_prefix(line, len, "a=ice-pwd:"))
			pwd = 1;
		else if (sdp_has_prefix(line, len, "a=fingerprint:"))
			fp = 1;
	}
	if (first)
		return "the body is empty: send an SDP offer";
	if (media == 0)
		return "the SDP has no media section (m=): offer audio and/or video";
	if (!ufrag || !pwd)
		return "the SDP has no ICE credentials (a=ice-ufrag, a=ice-pwd): is it a WebRTC offer?";
	if (!fp)
		return "the SDP has no DTLS fingerprint (a=fingerprint): is it a WebRTC offer?";
	return NULL;
}

int webrtc_sdp_frag_parse(char *frag, struct webrtc_janus_candidate *c, size_t max,
                          int *completed, const char **ufrag, const char **why)
{
	char *p = frag;
	const char *mid = NULL;
	int mline = -1, n = 0;

	*completed = 0;
	*ufrag = NULL;
	*why = NULL;
	while (*p != '\0') {
		char *line = p, *nl = strchr(p, '\n');
		size_t len;

		if (nl != NULL) {
			*nl = '\0';
			p = nl + 1;
		} else {
			p += strlen(p);
		}
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (!sdp_line_is_valid(line, len)) {
			*why = "the body is not an SDP fragment: every line must be \"x=value\"";
			return -1;
		}
		if (strncmp(line, "m=", 2) == 0) {
			mline++;
			mid = NULL;
		} else if (strncmp(line, "a=mid:", 6) == 0) {
			mid = line + 6;
		} else if (strncmp(line, "a=ice-ufrag:", 12) == 0) {
			*ufrag = line + 12;
		} else if (strcmp(line, "a=end-of-candidates") == 0) {
			*completed = 1;
		} else if (strncmp(line, "a=candidate:", 12) == 0) {
			if ((size_t)n >= max) {
				*why = "too many candidates in one fragment";
				return -1;
			}
			c[n].mid = mid;
			c[n].mline_index = mid == NULL ? (mline < 0 ? 0 : mline) : -1;
			c[n].candidate = line + 2; /* "candidate:..." */
			n++;
		}
	}
	return n;
}
