/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_unix_conn.c: a libFuzzer target for frontends/unix/unix_conn.c, the
 * framing of the Unix socket frontend (one JSON object per line each way).
 *
 * Each input is what a peer sends on one connection. The first byte picks
 * max_line (16 bytes to 64 KiB, so the "line too long" path is reached); the
 * rest is written into one end of a socketpair by a helper thread, which
 * then shuts down its writing side and reads every answer, while
 * unix_conn_main() serves the other end on a thread with the stack of a
 * connection thread in the daemon (UNIX_CONN_STACK_SIZE, fuzz_thread.h). The host table is a stand-in whose
 * call() decodes the request's parameters with the real framework/params.c
 * and answers with a JSON body, a Prometheus-like text body (op "metrics")
 * or the raw method text (op "raw"), with Allow and Retry-After set by op.
 *
 * The oracle: the connection ends (no hang), and every line written back is
 * a JSON object with an integer "status" and a "body".
 */
#include "config.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bc_internal.h"
#include "unix_conn.h"
#include "fuzz_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OUT_MAX (4u << 20)

static int64_t fuzz_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fuzz_call(struct bc_host *host, const struct bc_request *req,
                      struct bc_response *resp)
{
	struct bc_params params = { 0 };
	struct bc_error err;
	const char *op = req->op != NULL ? req->op : "";

	(void)host;
	bc_error_clear(&err);
	resp->content_type = "application/json";
	resp->code = bc_params_parse(req, 65536, &params, &err);
	resp->status = bc_status_http(resp->code);
	if (strcmp(op, "metrics") == 0) {
		resp->body = strdup("# HELP x \"quoted\"\nx{a=\"b\\n\"} 1\n\n");
		resp->content_type = "text/plain; version=0.0.4";
	} else if (strcmp(op, "raw") == 0) {
		resp->body = strdup(req->method != NULL ? req->method : "");
	} else if (resp->code == BC_OK) {
		resp->body = bc_strdup_printf("{\"n\":%zu}", params.n);
	} else {
		json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", err.code, "message",
		                      err.message);
		resp->body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	if (resp->body == NULL)
		resp->body = strdup("{}");
	assert(resp->body != NULL);
	resp->body_len = strlen(resp->body);
	if (strcmp(op, "405") == 0)
		resp->allow = req->method != NULL ? req->method : "GET";
	if (strncmp(op, "429", 3) == 0)
		resp->retry_after = (unsigned)strlen(op);
	bc_params_free(&params);
}

static void fuzz_response_release(struct bc_response *resp)
{
	free(resp->body);
	resp->body = NULL;
}

static struct bc_host_api fuzz_api;
static char *fuzz_out;
static struct unix_frontend fuzz_fe;

struct fuzz_peer {
	int fd;
	const uint8_t *data;
	size_t size;
	char *out;
	size_t out_len;
};

/* The peer: send everything, close the writing side, read to EOF. */
static void *fuzz_peer_main(void *arg)
{
	struct fuzz_peer *p = arg;
	size_t off = 0;

	while (off < p->size) {
		ssize_t n = send(p->fd, p->data + off, p->size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server closed (line too long): fine */
		off += (size_t)n;
	}
	shutdown(p->fd, SHUT_WR);
	for (;;) {
		char tmp[16384];
		ssize_t n = recv(p->fd, tmp, sizeof tmp, 0);
		if (n <= 0)
			break;
		if (p->out_len + (size_t)n <= FUZZ_OUT_MAX) {
			memcpy(p->out + p->out_len, tmp, (size_t)n);
			p->out_len += (size_t)n;
		}
	}
	return NULL;
}

static void fuzz_init(void)
{
	if (fuzz_api.struct_size != 0)
		return;
	fuzz_api.struct_size = sizeof fuzz_api;
	fuzz_api.call = fuzz_call;
	fuzz_api.response_release = fuzz_response_release;
	fuzz_api.monotonic_ms = fuzz_monotonic_ms;
	fuzz_fe.api = &fuzz_api;
	fuzz_fe.idle_timeout_ms = 5000;
	fuzz_fe.listen_fd = -1;
	if (pipe(fuzz_fe.stop_pipe) != 0 || pthread_mutex_init(&fuzz_fe.lock, NULL) != 0 ||
	    pthread_cond_init(&fuzz_fe.changed, NULL) != 0)
		abort();
}

static void fuzz_serve(void *c)
{
	unix_conn_main(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_lines[] = { 16, 64, 256, 1024, 4095, 4096, 4097, 65536 };
	struct unix_conn c;
	struct fuzz_peer peer;
	pthread_t th;
	int sv[2];
	size_t pos = 0;

	if (size < 1)
		return 0;
	fuzz_init();
	fuzz_fe.max_line = max_lines[data[0] & 7];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	memset(&peer, 0, sizeof peer);
	peer.fd = sv[1];
	peer.data = data + 1;
	peer.size = size - 1;
	/* One answer buffer for the run: a fresh 4 MiB block per input would
	 * cost more than the input. */
	if (fuzz_out == NULL && (fuzz_out = malloc(FUZZ_OUT_MAX)) == NULL)
		abort();
	peer.out = fuzz_out;
	memset(&c, 0, sizeof c);
	c.fe = &fuzz_fe;
	c.fd = sv[0];
	c.pid = 4242;
	c.uid = 1000;
	c.gid = 1000;
	c.refused = (data[0] & 0x80) != 0 && (data[0] & 0x40) != 0;
	fuzz_fe.n_active = 1;
	if (pthread_create(&th, NULL, fuzz_peer_main, &peer) != 0)
		abort();
	/* on a thread like the daemon's connection threads (unix.c) */
	fuzz_on_stack(UNIX_CONN_STACK_SIZE, fuzz_serve, &c); /* closes sv[0] */
	pthread_join(th, NULL);
	close(sv[1]);
	assert(c.fd == -1 && c.done == 1 && fuzz_fe.n_active == 0);

	/* Every answer is one JSON object line with a status and a body. */
	while (pos < peer.out_len) {
		char *nl = memchr(peer.out + pos, '\n', peer.out_len - pos);
		json_error_t jerr;
		json_t *o;

		if (nl == NULL)
			break; /* cut short at FUZZ_OUT_MAX */
		o = json_loadb(peer.out + pos, (size_t)(nl - (peer.out + pos)), 0, &jerr);
		if (o == NULL || !json_is_object(o) || !json_is_integer(json_object_get(o, "status")) ||
		    json_object_get(o, "body") == NULL) {
			fprintf(stderr, "bad answer line: %.*s\n", (int)(nl - (peer.out + pos)),
			        peer.out + pos);
			abort();
		}
		json_decref(o);
		pos = (size_t)(nl - peer.out) + 1;
	}
	return 0;
}
