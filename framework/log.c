/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c: the one logger of the daemon and every plugin.
 *
 * Each line is written with a single write(2) so lines from several threads
 * never interleave. Before a line is written, every registered secret (the
 * values of options declared BC_OPT_SECRET, bearer tokens from tokens files)
 * is replaced by "[redacted]": a plugin that logs a secret by mistake still
 * does not leak it.
 *
 * The level and the secrets are per process, not per context: one context
 * that serves (bc_context_open*) owns them at a time (bc_log_attach), and a
 * second one is refused rather than overwriting them (broadcast/embed.h).
 * The secrets are those of the instances of the owner's configuration: a
 * reload that replaced instances forgets theirs (bc_log_keep_secrets), and
 * closing the owner forgets them all.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bc_runtime.h"

#define BC_LOG_LINE_MAX 4096
#define BC_LOG_MIN_SECRET 4

static enum bc_log_level log_level = BC_LOG_INFO;
static pthread_rwlock_t secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static char **secrets;
static size_t n_secrets;
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct bc_context *owner; /* the context that set level and secrets */

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

/* Add a copy of secret to *list (of *n) unless it is there already or too
 * short. -1 when out of memory. */
static int secret_list_add(char ***list, size_t *n, const char *secret)
{
	char *copy;
	char **grown;

	if (secret == NULL || strlen(secret) < BC_LOG_MIN_SECRET)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], secret) == 0)
			return 0;
	copy = strdup(secret);
	grown = copy != NULL ? realloc(*list, (*n + 1) * sizeof **list) : NULL;
	if (grown == NULL) {
		free(copy);
		return -1;
	}
	*list = grown;
	(*list)[(*n)++] = copy;
	return 0;
}

/* Zero and free a list of secrets. */
static void secret_list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(list[i], 0, strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

void bc_log_add_secret(const char *secret)
{
	pthread_rwlock_wrlock(&secrets_lock);
	(void)secret_list_add(&secrets, &n_secrets, secret);
	pthread_rwlock_unlock(&secrets_lock);
}

/* Put list in force and free the one it replaces. */
static void secrets_replace(char **list, size_t n)
{
	char **old;
	size_t n_old;

	pthread_rwlock_wrlock(&secrets_lock);
	old = secrets;
	n_old = n_secrets;
	secrets = list;
	n_secrets = n;
	pthread_rwlock_unlock(&secrets_lock);
	secret_list_free(old, n_old);
}

struct secret_collect {
	char **list;
	size_t n;
	int failed;
};

static void collect_secret(const char *secret, void *arg)
{
	struct secret_collect *sc = arg;
	if (!sc->failed && secret_list_add(&sc->list, &sc->n, secret) != 0)
		sc->failed = 1;
}

void bc_log_keep_secrets(bc_log_secret_walk walk, void *walk_arg)
{
	struct secret_collect sc = { NULL, 0, 0 };

	walk(collect_secret, &sc, walk_arg);
	if (sc.failed) {
		/* Out of memory: keep the larger list; redacting too much is safe. */
		secret_list_free(sc.list, sc.n);
		return;
	}
	secrets_replace(sc.list, sc.n);
}

enum bc_status bc_log_attach(const struct bc_context *ctx, char *errbuf, size_t errlen)
{
	enum bc_status st = BC_OK;

	pthread_mutex_lock(&owner_lock);
	if (owner == NULL)
		owner = ctx;
	else if (owner != ctx)
		st = BC_E_CONFLICT;
	pthread_mutex_unlock(&owner_lock);
	if (st != BC_OK && errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "another broadcast context is open in this process: "
		         "the log level and the secrets the log redacts are per process, so "
		         "there is one context per process; close it first (bc_context_close) "
		         "or run this one in another process");
	return st;
}

void bc_log_detach(const struct bc_context *ctx)
{
	pthread_mutex_lock(&owner_lock);
	if (ctx == NULL || owner != ctx) {
		pthread_mutex_unlock(&owner_lock);
		return;
	}
	owner = NULL;
	secrets_replace(NULL, 0);
	bc_log_set_level(BC_LOG_INFO);
	pthread_mutex_unlock(&owner_lock);
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
