/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.c: one-time tokens for providers; see token.h.
 */
#include <config.h>

#include <string.h>

#include "token.h"

void provider_token_base64url(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
	}
	out[o] = '\0';
}

enum bc_status provider_token_mint(const struct bc_host_api *api,
                                   char token[PROVIDER_TOKEN_LEN + 1], char hash[65])
{
	unsigned char raw[PROVIDER_TOKEN_BYTES];
	enum bc_status st = api->random(raw, sizeof(raw));

	if (st != BC_OK)
		return st;
	provider_token_base64url(raw, sizeof(raw), token);
	explicit_bzero(raw, sizeof(raw));
	api->sha256_hex(token, strlen(token), hash);
	return BC_OK;
}

int provider_token_hash_is_valid(const char *hash)
{
	return hash != NULL && strlen(hash) == 64 && strspn(hash, "0123456789abcdef") == 64;
}
