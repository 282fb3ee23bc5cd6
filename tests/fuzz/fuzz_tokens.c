/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_tokens.c: a libFuzzer target for framework/tokens.c, the reader of a
 * frontend's tokens_file ("name:sha256hex" lines).
 *
 * The file is operator input rather than a client's, but it is parsed with
 * getline() and hand-written trimming, and a bad line must give a message,
 * never a crash. Each input is written to one private temporary file (mode
 * 0600, as bc_tokens_load wants) and loaded; when it loads, the first line
 * of the input is also checked as a bearer token (the constant-time compare
 * then runs over every entry), on a CivetWeb worker's stack (fuzz_thread.h):
 * the file is loaded on the main thread, the bearer checked on a worker.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bc_internal.h"
#include "fuzz_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One file for the whole run, rewritten per input: creating a file per
 * input would cost more than the parse. */
static char fuzz_path[4096];
static int fuzz_fd = -1;

static void fuzz_cleanup(void)
{
	if (fuzz_path[0] != '\0')
		unlink(fuzz_path);
}

static int fuzz_open(void)
{
	const char *dir = getenv("TMPDIR");

	if (fuzz_fd >= 0)
		return 0;
	/* Rewriting a file on a disk file system costs ms per input (ext4
	 * journals each truncate); tmpfs does not. */
	if (dir == NULL || dir[0] == '\0')
		dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_path, sizeof fuzz_path, "%s/fuzz_tokens.XXXXXX", dir);
	fuzz_fd = mkstemp(fuzz_path); /* mode 0600 */
	if (fuzz_fd < 0) {
		perror("fuzz_tokens: mkstemp");
		abort();
	}
	atexit(fuzz_cleanup);
	return 0;
}

struct fuzz_check_call {
	struct bc_tokens *t;
	const char *bearer;
};

static void fuzz_check(void *arg)
{
	struct fuzz_check_call *c = arg;
	(void)bc_tokens_check(c->t, c->bearer);
	(void)bc_tokens_check(c->t, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_tokens *t = NULL;
	char *errmsg = NULL;
	char *bearer = NULL;
	const uint8_t *nl;
	size_t bearer_len;

	fuzz_open();
	if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz_tokens: write");
		abort();
	}
	if (bc_tokens_load(fuzz_path, &t, &errmsg) != BC_OK) {
		assert(t == NULL);
		assert(errmsg != NULL);
		/* Messages start with the file name. */
		assert(strncmp(errmsg, fuzz_path, strlen(fuzz_path)) == 0);
		goto out;
	}
	assert(errmsg == NULL);
	nl = memchr(data, '\n', size);
	bearer_len = nl != NULL ? (size_t)(nl - data) : size;
	bearer = malloc(bearer_len + 1);
	if (bearer == NULL)
		goto out;
	memcpy(bearer, data, bearer_len);
	bearer[bearer_len] = '\0';
	{
		/* The bearer comes from a client, on a CivetWeb worker. */
		struct fuzz_check_call call = { t, bearer };
		fuzz_on_stack(FUZZ_STACK_CIVETWEB_WORKER, fuzz_check, &call);
	}
	(void)bc_tokens_count(t);
out:
	free(bearer);
	free(errmsg);
	bc_tokens_free(t);
	return 0;
}
