/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h: the one-time secrets providers hand out at start (the local
 * origin's upload token, the webrtc bearer token, the rtmp stream key):
 * PROVIDER_TOKEN_BYTES random bytes in base64url, of which only the
 * SHA-256 is kept.
 *
 * Compiled into each provider that uses it (listed in its _SOURCES, with
 * -I$(srcdir)/providers/common), like frontends/http/http_guard.c: plugins
 * share no code at run time and export only bc_plugin_entry, so these names
 * stay inside each .so. Everything goes through the host API.
 */
#ifndef BC_PROVIDER_TOKEN_H
#define BC_PROVIDER_TOKEN_H

#include <stddef.h>

#include <broadcast/host.h>

#define PROVIDER_TOKEN_BYTES 32
/* Its text: base64url of 32 bytes, without padding. */
#define PROVIDER_TOKEN_LEN 43

/* base64url without padding (RFC 4648 §5) of the len bytes at in, into out
 * (4 * ceil(len / 3) + 1 bytes at most, NUL-terminated): safe in headers,
 * URLs, YAML, and as an RTMP stream name. */
void provider_token_base64url(const unsigned char *in, size_t len, char *out);

/* Mint a token: PROVIDER_TOKEN_BYTES from api->random() in base64url into
 * token, its lowercase hex SHA-256 into hash. The random bytes are wiped.
 * Returns api->random()'s status: anything but BC_OK leaves token and hash
 * unset. */
enum bc_status provider_token_mint(const struct bc_host_api *api,
                                   char token[PROVIDER_TOKEN_LEN + 1], char hash[65]);

/* 1 when hash is what provider_token_mint() writes (64 lowercase hex
 * digits), as read back from a stream's meta at resume(). */
int provider_token_hash_is_valid(const char *hash);

#endif /* BC_PROVIDER_TOKEN_H */
