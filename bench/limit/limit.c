/* SPDX-License-Identifier: Apache-2.0 */
/*
 * limit.c: the benchmark's ceiling for broadcast's HTTP stack, and its
 * instant STS double. A bare CivetWeb server (the library broadcast's http
 * frontend uses, with the same options: keep-alive, tcp_nodelay, the same
 * thread count) whose one handler answers every request with a fixed body
 * read from a file at start.
 *
 * Run as `limit PORT THREADS BODY_FILE CONTENT_TYPE`. bench/run starts it
 * twice: with a real start response as the body it is scenario 1 ("limit":
 * what a request costs when nothing is done but HTTP), and with a canned
 * GetFederationTokenResponse as the body it is the STS double both
 * broadcast's s3 provider and the Django peer call, which answers in
 * microseconds so the measured cost is the callers', not the double's
 * (tests/integration/sts_double.py verifies SigV4 in Python and would bound
 * both sides at its own speed). It reads the request body before answering
 * so keep-alive framing stays correct. Stops on SIGTERM/SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

struct limit_body {
	char *data;
	size_t len;
	const char *content_type;
};

static volatile sig_atomic_t limit_stop;

static void limit_on_signal(int sig)
{
	(void)sig;
	limit_stop = 1;
}

static int limit_handler(struct mg_connection *conn, void *cbdata)
{
	const struct limit_body *b = cbdata;
	char sink[4096];

	/* Drain the request body: an unread body would be parsed as the next
	 * request on this keep-alive connection. */
	while (mg_read(conn, sink, sizeof sink) > 0)
		;
	mg_printf(conn,
	          "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	          "Cache-Control: no-store\r\n\r\n",
	          b->content_type, b->len);
	mg_write(conn, b->data, b->len);
	return 200;
}

static int limit_read_file(const char *path, struct limit_body *b)
{
	FILE *f = fopen(path, "rb");
	long n;
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	b->data = malloc((size_t)n + 1);
	if (b->data == NULL)
		goto out;
	b->len = fread(b->data, 1, (size_t)n, f);
	rc = b->len == (size_t)n ? 0 : -1;
out:
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	struct limit_body body = { NULL, 0, NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx = NULL;
	const char *options[] = {
		"listening_ports", NULL, "num_threads", NULL, "enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "5000", "request_timeout_ms", "30000",
		"tcp_nodelay", "1", NULL
	};
	char port[64];

	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT THREADS BODY_FILE CONTENT_TYPE\n", argv[0]);
		return 2;
	}
	if (limit_read_file(argv[3], &body) != 0) {
		perror(argv[3]);
		return 1;
	}
	body.content_type = argv[4];
	snprintf(port, sizeof port, "127.0.0.1:%s", argv[1]);
	options[1] = port;
	options[3] = argv[2];
	signal(SIGTERM, limit_on_signal);
	signal(SIGINT, limit_on_signal);
	mg_init_library(0);
	memset(&cb, 0, sizeof cb);
	ctx = mg_start(&cb, NULL, options);
	if (ctx == NULL) {
		fprintf(stderr, "limit: cannot listen on %s\n", port);
		free(body.data);
		return 1;
	}
	mg_set_request_handler(ctx, "/", limit_handler, &body);
	fprintf(stderr, "limit ready on %s\n", port);
	while (!limit_stop)
		pause();
	mg_stop(ctx);
	mg_exit_library();
	free(body.data);
	return 0;
}
