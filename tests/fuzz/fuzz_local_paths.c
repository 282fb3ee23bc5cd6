/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_local_paths.c: a libFuzzer target for the local origin's path
 * checks in providers/local/local_streams.c: local_path_is_plain() (the raw
 * request path, before any percent-decoding, as every request of the origin
 * is judged), local_id_is_valid() (the {stream_id} folder) and
 * local_name_is_valid() (the file name an upload writes), which together
 * decide which file a request may read, create or delete.
 *
 * The raw-path check sees the input's bytes as they are (NUL included, as a
 * client may send "%00" or, past CivetWeb, a literal byte), and again after
 * "/live/", the prefix the origin routes uploads under. Its oracle: a path
 * that passes starts with '/', is at most LOCAL_PATH_MAX bytes of
 * [A-Za-z0-9._/-] (so it has no '%', NUL, '\\', ';' and decodes to itself),
 * and has no empty, "." or ".." segment and no segment starting with '.'.
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
#include "fuzz_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The raw-path oracle (see the file comment), on len bytes that may hold NUL. */
static void fuzz_check_raw_path(const char *p, size_t len)
{
	int ok = local_path_is_plain(p, len);

	if (!ok)
		return;
	assert(len >= 1 && len <= LOCAL_PATH_MAX);
	assert(p[0] == '/');
	assert(memchr(p, '\0', len) == NULL);
	for (size_t i = 0; i < len; i++) {
		assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		              "0123456789._-/", p[i]) != NULL);
		if (p[i] == '/' && i + 1 < len) {
			/* segment after this '/': not empty, not hidden, "." or ".." */
			assert(p[i + 1] != '/' && p[i + 1] != '.');
		}
		if (i + 1 < len)
			assert(!(p[i] == '.' && p[i + 1] == '.'));
	}
	/* Deterministic, and judged on exactly len bytes. */
	assert(local_path_is_plain(p, len) == 1);
}

static int fuzz_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int fuzz_one_input(const uint8_t *data, size_t size)
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

	/* The raw path: the bytes as sent, and below /live/. */
	fuzz_check_raw_path((const char *)data, size);
	if (size <= 2 * LOCAL_PATH_MAX) {
		char path[sizeof("/live/") + 2 * LOCAL_PATH_MAX];
		memcpy(path, "/live/", 6);
		memcpy(path + 6, data, size);
		fuzz_check_raw_path(path, size + 6);
		/* A NUL anywhere is refused, wherever CivetWeb would cut the string. */
		if (memchr(data, '\0', size) != NULL)
			assert(!local_path_is_plain(path, size + 6));
		if (memchr(data, '%', size) != NULL)
			assert(!local_path_is_plain(path, size + 6));
	}
	assert(!local_path_is_plain(NULL, 0));

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

/* On the stack the input meets in the daemon (fuzz_thread.h): the origin
 * checks upload paths on its own CivetWeb workers. */
FUZZ_ENTRY_ON_STACK(FUZZ_STACK_CIVETWEB_WORKER, fuzz_one_input)
