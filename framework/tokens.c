/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tokens.c: the bearer tokens of a frontend's `tokens_file`, as a struct
 * bc_tokens (a list of name + SHA-256 hash).
 *
 * The file keeps only hashes ("name:sha256hex" per line), so reading it, or a
 * backup of it, gives nobody a token. A token is checked by hashing it once
 * and comparing the digest with every entry in constant time, without
 * stopping at the first match, so response timing says nothing about which
 * entry (or how much of a digest) matched. Tokens are long random strings
 * (bc_tokens_generate), so one unsalted SHA-256 is enough: there is nothing
 * for a dictionary to find.
 *
 * Who may use which operation, and the 401/403 answers, are the
 * dispatcher's; this file only maps a token to a caller name.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bc_internal.h"

#define TOKENS_NAME_MAX 64
#define TOKENS_RANDOM_BYTES 32

struct tokens_entry {
	char name[TOKENS_NAME_MAX + 1];
	char hash[65];  /* lowercase hex */
	unsigned line;  /* where it was defined, for duplicate messages */
};

struct bc_tokens {
	struct tokens_entry *entries;
	size_t n, cap;
};

static int tokens_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > TOKENS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

static int tokens_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim blanks from both ends of [*start, *start + *len). */
static void tokens_trim(const char **start, size_t *len)
{
	while (*len > 0 && tokens_is_blank(**start)) {
		(*start)++;
		(*len)--;
	}
	while (*len > 0 && tokens_is_blank((*start)[*len - 1]))
		(*len)--;
}

/* Parse one line (without its newline) into t. Returns 0, or -1 with
 * *errmsg. Messages never quote the hash part or an invalid name: a line that
 * fails there may hold a raw token pasted by mistake. */
static int tokens_parse_line(struct bc_tokens *t, const char *path, unsigned lineno,
                             const char *line, size_t len, char **errmsg)
{
	const char *hash_start, *colon, *hash_text;
	const char *name = line;
	size_t name_len, hash_len;
	struct tokens_entry e;
	const char *hash_end;

	/* A '#' cannot occur in a name or a hash, so it starts a comment
	 * wherever it is. */
	hash_end = memchr(line, '#', len);
	if (hash_end != NULL)
		len = (size_t)(hash_end - line);
	tokens_trim(&name, &len);
	if (len == 0)
		return 0;
	colon = memchr(name, ':', len);
	if (colon == NULL) {
		*errmsg = bc_strdup_printf("%s:%u: expected \"name:sha256hex\"; write each token as "
		                           "its name, a colon and the SHA-256 of the token in hex "
		                           "(`broadcastd --hash-token NAME` prints such a line)",
		                           path, lineno);
		return -1;
	}
	hash_start = colon + 1;
	hash_len = len - (size_t)(hash_start - name);
	name_len = (size_t)(colon - name);
	tokens_trim(&name, &name_len);
	hash_text = hash_start;
	tokens_trim(&hash_text, &hash_len);

	if (!tokens_name_valid(name, name_len)) {
		*errmsg = bc_strdup_printf("%s:%u: bad token name; use 1 to %d characters of "
		                           "A-Z a-z 0-9 _ . @ -", path, lineno, TOKENS_NAME_MAX);
		return -1;
	}
	memcpy(e.name, name, name_len);
	e.name[name_len] = '\0';
	if (hash_len != 64) {
		*errmsg = bc_strdup_printf("%s:%u: the hash of token \"%s\" is not 64 hex digits; "
		                           "write the SHA-256 of the token in hex, not the token "
		                           "itself", path, lineno, e.name);
		return -1;
	}
	for (size_t i = 0; i < 64; i++) {
		char c = hash_text[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			*errmsg = bc_strdup_printf("%s:%u: the hash of token \"%s\" is not 64 hex "
			                           "digits; write the SHA-256 of the token in hex, "
			                           "not the token itself", path, lineno, e.name);
			return -1;
		}
		e.hash[i] = c;
	}
	e.hash[64] = '\0';
	e.line = lineno;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->entries[i].name, e.name) == 0) {
			*errmsg = bc_strdup_printf("%s:%u: token name \"%s\" is already used on line "
			                           "%u; give each token its own name", path, lineno,
			                           e.name, t->entries[i].line);
			return -1;
		}
		/* One token under two names would make the caller's identity
		 * depend on the file's order. */
		if (strcmp(t->entries[i].hash, e.hash) == 0) {
			*errmsg = bc_strdup_printf("%s:%u: token \"%s\" has the same hash as \"%s\" on "
			                           "line %u; give each caller its own token", path,
			                           lineno, e.name, t->entries[i].name,
			                           t->entries[i].line);
			return -1;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap == 0 ? 8 : 2 * t->cap;
		struct tokens_entry *entries = realloc(t->entries, cap * sizeof *entries);
		if (entries == NULL) {
			*errmsg = bc_strdup_printf("%s:%u: out of memory", path, lineno);
			return -1;
		}
		t->entries = entries;
		t->cap = cap;
	}
	t->entries[t->n++] = e;
	return 0;
}

enum bc_status bc_tokens_load(const char *path, struct bc_tokens **out, char **errmsg)
{
	struct bc_tokens *t = NULL;
	FILE *f = NULL;
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t line_len;
	unsigned lineno = 0;
	struct stat st;
	int fd = -1;
	enum bc_status rc = BC_E_INVALID;

	*out = NULL;
	*errmsg = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*errmsg = bc_strdup_printf("%s: cannot open the tokens file: %s; check tokens_file "
		                           "and the file's permissions", path, strerror(errno));
		goto out;
	}
	/* fstat on the descriptor we read, not stat on the name, so the file
	 * cannot be swapped between the check and the read. */
	if (fstat(fd, &st) != 0) {
		*errmsg = bc_strdup_printf("%s: cannot stat the tokens file: %s", path,
		                           strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*errmsg = bc_strdup_printf("%s: is not a regular file; point tokens_file at a "
		                           "file", path);
		goto out;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*errmsg = bc_strdup_printf("%s: is writable by other users; chmod go-w %s", path,
		                           path);
		goto out;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		*errmsg = bc_strdup_printf("%s: cannot read the tokens file: %s", path,
		                           strerror(errno));
		goto out;
	}
	fd = -1; /* now owned by f */
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		*errmsg = bc_strdup_printf("%s: out of memory", path);
		rc = BC_E_NOMEM;
		goto out;
	}
	errno = 0;
	while ((line_len = getline(&line, &line_cap, f)) >= 0) {
		lineno++;
		if (memchr(line, '\0', (size_t)line_len) != NULL) {
			*errmsg = bc_strdup_printf("%s:%u: contains a NUL byte; the tokens file is "
			                           "text, one \"name:sha256hex\" a line", path, lineno);
			goto out;
		}
		if (tokens_parse_line(t, path, lineno, line, (size_t)line_len, errmsg) != 0)
			goto out;
	}
	if (ferror(f)) {
		*errmsg = bc_strdup_printf("%s: read error: %s", path, strerror(errno));
		goto out;
	}
	*out = t;
	t = NULL;
	rc = BC_OK;
out:
	if (line != NULL)
		OPENSSL_cleanse(line, line_cap);
	free(line);
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	bc_tokens_free(t);
	return rc;
}

const char *bc_tokens_check(const struct bc_tokens *t, const char *bearer)
{
	char digest[65];
	size_t hit = 0; /* 1 + index of the first match; 0: none */

	if (t == NULL || bearer == NULL || bearer[0] == '\0')
		return NULL;
	bc_sha256_hex(bearer, strlen(bearer), digest);
	for (size_t i = 0; i < t->n; i++) {
		size_t eq = (size_t)bc_secure_equal(digest, 64, t->entries[i].hash, 64);
		/* Branch-free "first match wins": mask is all ones only for a
		 * match while nothing has matched yet. Hashes are unique (the
		 * loader refuses duplicates), so at most one entry matches. */
		size_t mask = (size_t)0 - (eq & (size_t)(hit == 0));
		hit = (hit & ~mask) | ((i + 1) & mask);
	}
	OPENSSL_cleanse(digest, sizeof digest);
	return hit != 0 ? t->entries[hit - 1].name : NULL;
}

size_t bc_tokens_count(const struct bc_tokens *t)
{
	return t != NULL ? t->n : 0;
}

void bc_tokens_free(struct bc_tokens *t)
{
	if (t == NULL)
		return;
	free(t->entries);
	free(t);
}

int bc_tokens_generate(const char *name, char **token, char **line)
{
	unsigned char raw[TOKENS_RANDOM_BYTES];
	/* EVP_EncodeBlock writes 4 characters per 3 bytes and a NUL. */
	char b64[4 * ((TOKENS_RANDOM_BYTES + 2) / 3) + 1];
	char digest[65];
	size_t o = 0;
	int len;
	int rc = -1;

	*token = NULL;
	*line = NULL;
	if (name == NULL || !tokens_name_valid(name, strlen(name)))
		return -1;
	if (bc_random(raw, sizeof raw) != BC_OK)
		goto out;
	len = EVP_EncodeBlock((unsigned char *)b64, raw, (int)sizeof raw);
	if (len <= 0)
		goto out;
	/* base64 to base64url (RFC 4648 section 5), dropping the padding, so
	 * the token survives URLs, headers and shells unquoted. */
	for (int i = 0; i < len; i++) {
		char c = b64[i];
		if (c == '=')
			break;
		b64[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	b64[o] = '\0';
	*token = strdup(b64);
	if (*token == NULL)
		goto out;
	bc_sha256_hex(b64, o, digest);
	*line = bc_strdup_printf("%s:%s", name, digest);
	if (*line == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(b64, sizeof b64);
	if (rc != 0) {
		if (*token != NULL)
			OPENSSL_cleanse(*token, strlen(*token));
		free(*token);
		*token = NULL;
	}
	return rc;
}
