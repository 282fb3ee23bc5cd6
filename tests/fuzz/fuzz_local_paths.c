/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_local_paths.c: a libFuzzer target for the local origin's upload path
 * checks in providers/local/local_streams.c: local_id_is_valid() (the
 * {stream_id} folder) and local_name_is_valid() (the file name an upload
 * writes), which together decide which file a PUT may create.
 *
 * The input is an upload path below /live/ as the origin splits it: the
 * first 36 bytes are the id, then '/', then the name. The oracle is the
 * contract the origin relies on: an id that passes is exactly 36 bytes of
 * [0-9a-f-] with dashes in UUID places; a name that passes is 1..128 bytes
 * of [A-Za-z0-9._-], does not start with '.', has no "..", and ends in one of
 * the media extensions, so joined to the stream's folder it can only name a
 * file directly inside it. bad_ext is set only for names that fail on their
 * extension alone. The routing itself (local_route_stream) is static in
 * local_origin.c and runs inside CivetWeb, so it is not reachable here; its
 * integration tests cover it.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "local_streams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const exts[] = { ".m3u8", ".ts", ".m4s", ".mp4", ".aac", ".vtt" };
	char *text = malloc(size + 1);
	char id[LOCAL_ID_LEN + 1];
	const char *name;
	int bad_ext = -1, ok, ext_ok = 0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	/* The id part. */
	if (strlen(text) >= LOCAL_ID_LEN) {
		memcpy(id, text, LOCAL_ID_LEN);
		id[LOCAL_ID_LEN] = '\0';
		if (local_id_is_valid(id)) {
			for (size_t i = 0; i < LOCAL_ID_LEN; i++) {
				int dash = i == 8 || i == 13 || i == 18 || i == 23;
				assert(dash ? id[i] == '-' : strchr("0123456789abcdef", id[i]) != NULL);
			}
		}
	}
	assert(!local_id_is_valid(text) || strlen(text) == LOCAL_ID_LEN);
	assert(!local_id_is_valid(NULL));

	/* The name part: after the first '/', or the whole input. */
	name = strchr(text, '/');
	name = name != NULL ? name + 1 : text;
	ok = local_name_is_valid(name, &bad_ext);
	assert(bad_ext == 0 || bad_ext == 1);
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		ext_ok |= fuzz_ends_with(name, exts[i]);
	if (ok) {
		size_t len = strlen(name);
		assert(bad_ext == 0);
		assert(len >= 1 && len <= LOCAL_NAME_MAX);
		assert(name[0] != '.');
		assert(strstr(name, "..") == NULL);
		assert(strchr(name, '/') == NULL && strchr(name, '\\') == NULL);
		assert(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
		for (size_t i = 0; i < len; i++)
			assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			              "0123456789._-", name[i]) != NULL);
		assert(ext_ok);
	}
	if (bad_ext)
		assert(!ok && !ext_ok);
	assert(local_name_is_valid(name, NULL) == ok);
	assert(!local_name_is_valid(NULL, NULL));
	free(text);
	return 0;
}
