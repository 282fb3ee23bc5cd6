/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unixload.c: wrk's job for broadcast's Unix socket frontend, which wrk
 * cannot reach (docs/unix.md: one JSON object a line each way).
 *
 *     unixload SOCKET CONNECTIONS SECONDS MODE
 *
 * MODE is "start" (every request a start) or "start_stop" (a start, then a
 * stop of the id it returned, as bench/lua/start_stop.lua does over HTTP).
 * One thread a connection, each sending its next request as soon as the
 * answer to the previous one is in (keep-alive, like wrk's connections).
 * Prints one line for bench/run:
 *
 *     requests N seconds S rps R p50_ms A p99_ms B errors E
 *
 * errors: answers whose "status" is not 200, and lost connections.
 * Latencies are kept per thread and merged at the end; nothing is shared
 * while the load runs.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t thread;
	const char *path;
	int stop_too;
	double end;      /* CLOCK_MONOTONIC seconds */
	double *lat;     /* ms */
	size_t n, cap;
	unsigned long errors;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One connection's bytes read past the last answer line. */
struct conn {
	int fd;
	char in[32768];
	size_t have;
};

/* Send `line`, then read one answer line into out (size outlen, cut to
 * fit, NUL-terminated). 0, or -1 when the connection failed. */
static int exchange(struct conn *c, const char *line, char *out, size_t outlen)
{
	size_t n = strlen(line), off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	for (;;) {
		char *nl = memchr(c->in, '\n', c->have);
		ssize_t r;

		if (nl != NULL) {
			size_t used = (size_t)(nl - c->in) + 1, keep = used - 1;
			if (keep >= outlen)
				keep = outlen - 1;
			memcpy(out, c->in, keep);
			out[keep] = '\0';
			memmove(c->in, c->in + used, c->have - used);
			c->have -= used;
			return 0;
		}
		if (c->have == sizeof(c->in))
			return -1; /* a line longer than we keep: not an answer of ours */
		r = read(c->fd, c->in + c->have, sizeof(c->in) - c->have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->have += (size_t)r;
	}
}

static void record(struct worker *w, double ms)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		double *v = realloc(w->lat, cap * sizeof(*v));
		if (v == NULL)
			return;
		w->lat = v;
		w->cap = cap;
	}
	w->lat[w->n++] = ms;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	static const char start[] =
		"{\"op\":\"start\",\"params\":{\"type\":\"hls\",\"name\":\"bench\"}}\n";
	static struct conn c0; /* only for its size */
	struct conn *c = malloc(sizeof(c0));
	char line[8192], stop[160];

	if (c == NULL || (c->fd = connect_unix(w->path)) < 0) {
		w->errors++;
		free(c);
		return NULL;
	}
	c->have = 0;
	while (now_s() < w->end) {
		double t0 = now_s();
		const char *id;

		if (exchange(c, start, line, sizeof(line)) != 0) {
			w->errors++;
			break;
		}
		record(w, (now_s() - t0) * 1000.0);
		id = strstr(line, "\"id\":\"");
		if (strncmp(line, "{\"status\":200", 13) != 0 || id == NULL) {
			w->errors++;
			continue;
		}
		if (!w->stop_too)
			continue;
		snprintf(stop, sizeof(stop), "{\"op\":\"stop\",\"params\":{\"id\":\"%.36s\"}}\n",
		         id + 6);
		t0 = now_s();
		if (exchange(c, stop, line, sizeof(line)) != 0) {
			w->errors++;
			break;
		}
		record(w, (now_s() - t0) * 1000.0);
		if (strncmp(line, "{\"status\":200", 13) != 0)
			w->errors++;
	}
	close(c->fd);
	free(c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct worker *w;
	double *all, t0, elapsed;
	size_t total = 0, k = 0;
	unsigned long errors = 0;
	int conns, i;

	if (argc != 5 || (strcmp(argv[4], "start") != 0 && strcmp(argv[4], "start_stop") != 0)) {
		fprintf(stderr, "usage: unixload SOCKET CONNECTIONS SECONDS start|start_stop\n");
		return 2;
	}
	conns = atoi(argv[2]);
	if (conns < 1 || conns > 1024 || atof(argv[3]) <= 0) {
		fprintf(stderr, "unixload: bad connections or seconds\n");
		return 2;
	}
	w = calloc((size_t)conns, sizeof(*w));
	if (w == NULL)
		return 1;
	t0 = now_s();
	for (i = 0; i < conns; i++) {
		w[i].path = argv[1];
		w[i].stop_too = strcmp(argv[4], "start_stop") == 0;
		w[i].end = t0 + atof(argv[3]);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "unixload: cannot start a thread\n");
			return 1;
		}
	}
	for (i = 0; i < conns; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	elapsed = now_s() - t0;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		return 1;
	for (i = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_double);
	printf("requests %zu seconds %.3f rps %.1f p50_ms %.3f p99_ms %.3f errors %lu\n", total,
	       elapsed, (double)total / elapsed, total ? all[total / 2] : 0.0,
	       total ? all[(size_t)((double)total * 0.99)] : 0.0, errors);
	free(all);
	free(w);
	return 0;
}
