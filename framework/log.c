/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c: the one logger of the daemon and every plugin.
 *
 * Each line is written with a single write(2) so lines from several threads
 * never interleave. Before a line is written, every registered secret (the
 * values of options declared BC_OPT_SECRET, bearer tokens from tokens files)
 * is replaced by "[redacted]": a plugin that logs a secret by mistake still
 * does not leak it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bc_internal.h"

#define BC_LOG_LINE_MAX 4096
#define BC_LOG_MIN_SECRET 4

static enum bc_log_level log_level = BC_LOG_INFO;
static pthread_rwlock_t secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static char **secrets;
static size_t n_secrets;

void bc_log_set_level(enum bc_log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum bc_log_level bc_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int bc_log_level_parse(const char *text)
{
	static const char *const names[] = {NULL, "error", "warn", "info", "debug"};

	if (text == NULL)
		return -1;
	for (int i = 1; i <= 4; i++)
		if (strcasecmp(text, names[i]) == 0)
			return i;
	if (strcasecmp(text, "warning") == 0)
		return BC_LOG_WARN;
	return -1;
}

void bc_log_add_secret(const char *secret)
{
	char *copy;
	char **grown;

	if (secret == NULL || strlen(secret) < BC_LOG_MIN_SECRET)
		return;
	copy = strdup(secret);
	if (copy == NULL)
		return;
	pthread_rwlock_wrlock(&secrets_lock);
	for (size_t i = 0; i < n_secrets; i++) {
		if (strcmp(secrets[i], secret) == 0) {
			pthread_rwlock_unlock(&secrets_lock);
			free(copy);
			return;
		}
	}
	grown = realloc(secrets, (n_secrets + 1) * sizeof *secrets);
	if (grown == NULL) {
		pthread_rwlock_unlock(&secrets_lock);
		free(copy);
		return;
	}
	secrets = grown;
	secrets[n_secrets++] = copy;
	pthread_rwlock_unlock(&secrets_lock);
}

void bc_log_clear_secrets(void)
{
	pthread_rwlock_wrlock(&secrets_lock);
	for (size_t i = 0; i < n_secrets; i++) {
		memset(secrets[i], 0, strlen(secrets[i]));
		free(secrets[i]);
	}
	free(secrets);
	secrets = NULL;
	n_secrets = 0;
	pthread_rwlock_unlock(&secrets_lock);
}

/* Replace every registered secret in line (in place, the result is never
 * longer than the input plus room for the markers, bounded by cap). */
static void log_redact(char *line, size_t cap)
{
	static const char marker[] = "[redacted]";
	const size_t marker_len = sizeof marker - 1;

	pthread_rwlock_rdlock(&secrets_lock);
	for (size_t i = 0; i < n_secrets; i++) {
		const size_t slen = strlen(secrets[i]);
		char *hit;

		while ((hit = strstr(line, secrets[i])) != NULL) {
			size_t tail = strlen(hit + slen);
			size_t at = (size_t)(hit - line);

			if (at + marker_len + tail + 1 > cap)
				tail = cap - 1 - at - marker_len;
			memmove(hit + marker_len, hit + slen, tail);
			memcpy(hit, marker, marker_len);
			hit[marker_len + tail] = '\0';
		}
	}
	pthread_rwlock_unlock(&secrets_lock);
}

void bc_vlog(enum bc_log_level level, const char *who, const char *fmt, va_list ap)
{
	static const char *const names[] = {"?", "ERROR", "WARN", "INFO", "DEBUG"};
	char line[BC_LOG_LINE_MAX + 64];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int w;

	if (level > bc_log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line + n, sizeof line - n, ".%03ldZ %-5s [%s] ", ts.tv_nsec / 1000000L,
	             names[level >= 1 && level <= 4 ? level : 0], who != NULL ? who : "broadcast");
	if (w > 0)
		n += (size_t)w;
	if (n < BC_LOG_LINE_MAX) {
		w = vsnprintf(line + n, BC_LOG_LINE_MAX - n, fmt, ap);
		if (w > 0)
			n = n + (size_t)w < BC_LOG_LINE_MAX ? n + (size_t)w : BC_LOG_LINE_MAX - 1;
	}
	line[n] = '\0';
	/* One line each: a newline inside a message would let input forge lines. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	log_redact(line, BC_LOG_LINE_MAX);
	n = strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report a failed log write. */
	}
}

void bc_log(enum bc_log_level level, const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bc_vlog(level, who, fmt, ap);
	va_end(ap);
}
