/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_http_request.c: raw bytes from the fuzzer, sent over TCP to a real
 * CivetWeb server in this process whose callbacks and request handler do
 * what frontends/http/http.c does with frontends/http/http_guard.c (the
 * framing check, the per-address bound, the body deadline, the JSON
 * refusals and the sure close), in the same order.
 *
 * Each input is one connection: connect, send the input (at most 64 KiB),
 * shut the write side, read until EOF or ~0.9 s have passed, close. What
 * must hold whatever the bytes are, else abort():
 *   (a) what comes back is empty or starts with "HTTP/1." (a status line);
 *   (b) no more "HTTP/1.x 200 " status lines come back than requests the
 *       handler saw accepted by http_guard_framing() during this input: a
 *       200 for a request framed ambiguously is request smuggling.
 * The handler counts accepted requests before it writes anything, and the
 * count is taken before the input is sent, so a request of an earlier
 * input still being served can only make (b) more lenient, never wrong.
 *
 * Stacks: the handler and the guard run on CivetWeb's own worker threads,
 * so their stack is production's, not libFuzzer's 8 MiB main thread: Debian's
 * libcivetweb1 1.15+dfsg-4 is built with USE_STACK_SIZE=102400 and gives its
 * workers 100 KiB (FUZZ_STACK_CIVETWEB_WORKER in fuzz_thread.h says how that
 * was read). Nothing here needs fuzz_on_stack().
 *
 * Coverage: only this file and http_guard.c are instrumented; CivetWeb is
 * the distribution's library, as in production.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <civetweb.h>

#include "http_guard.h"

#define FUZZ_MAX_INPUT ((size_t)64 * 1024)
#define FUZZ_MAX_BODY ((size_t)4096)
#define FUZZ_BUDGET_MS 900         /* per input, connect to close */
#define FUZZ_MAX_RESPONSE ((size_t)1024 * 1024)

static struct mg_context *fuzz_ctx;
static int fuzz_port;
static struct http_guard_conns *fuzz_conns;
static struct http_guard_watchdog *fuzz_watchdog;
/* requests http_guard_framing() accepted, ever */
static atomic_ulong fuzz_accepted;

static long long fuzz_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the server: http.c's sequence, without the dispatcher ---------------- */

static int fuzz_civetweb_error(struct mg_connection *conn, int status, const char *errmsg)
{
	(void)errmsg;
	return http_guard_civetweb_error(conn, status, "fuzz");
}

static int fuzz_init_connection(const struct mg_connection *conn, void **conn_data)
{
	http_guard_on_connect(conn, conn_data);
	return 0;
}

static void fuzz_connection_close(const struct mg_connection *conn)
{
	http_guard_on_close(fuzz_conns, conn);
}

static int fuzz_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	(void)message;
	return 1; /* quiet: CivetWeb complains of every malformed request */
}

static int fuzz_handle(struct mg_connection *conn, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *why = http_guard_framing(ri);
	struct http_guard_deadline deadline;
	size_t cap = FUZZ_MAX_BODY + 1, n = 0;
	int failed = 0, status;
	char *buf;
	char out[256];
	int ol;

	(void)cbdata;
	if (why != NULL)
		return http_guard_refuse(conn, 400, "fuzz.bad_framing", why, NULL);
	/* counted before any byte of an answer is written: see (b) */
	atomic_fetch_add(&fuzz_accepted, 1);
	status = http_guard_admit(fuzz_conns, conn, "fuzz");
	if (status != 0)
		return status;

	/* the body, as http_read_body() reads it */
	if (ri->content_length > 0 && (unsigned long long)ri->content_length < cap)
		cap = (size_t)ri->content_length;
	buf = malloc(cap);
	if (buf == NULL)
		abort();
	if (ri->content_length != 0) {
		http_guard_deadline_arm(fuzz_watchdog, conn, 200, &deadline);
		while (n < cap) {
			int r = mg_read(conn, buf + n, cap - n);
			if (r < 0) {
				failed = 1;
				break;
			}
			if (r == 0)
				break;
			n += (size_t)r;
		}
		if (http_guard_deadline_disarm(fuzz_watchdog, &deadline))
			failed = 1;
		if (ri->content_length > 0 && (long long)n < ri->content_length &&
		    n <= FUZZ_MAX_BODY)
			failed = 1; /* the body ended before its announced length */
	}
	free(buf);
	if (failed)
		return http_guard_refuse(conn, 408, "fuzz.request_timeout",
		                         "the request body did not arrive in full", NULL);
	if (n > FUZZ_MAX_BODY)
		return http_guard_refuse(conn, 413, "fuzz.too_large", "the body is too large",
		                         NULL);

	{
		char body[64];
		int bl = snprintf(body, sizeof body, "{\"ok\":true,\"received\":%zu}", n);
		ol = snprintf(out, sizeof out,
		              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		              "Content-Length: %d\r\n\r\n%s",
		              bl, body);
	}
	mg_write(conn, out, (size_t)ol);
	return 200;
}

static void fuzz_server_start(void)
{
	static const char *options[] = {
		"listening_ports", "127.0.0.1:0",
		"num_threads", "4",
		"request_timeout_ms", "300",
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "300",
		"tcp_nodelay", "1",
		/* as http.c: CivetWeb would answer CORS preflights itself */
		"access_control_allow_methods", "",
		"access_control_allow_origin", "",
		NULL,
	};
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data edata;
	struct mg_server_port port;
	char etext[256] = "";
	unsigned ecode = 0;

	mg_init_library(0);
	fuzz_conns = http_guard_conns_create(4, 2);
	fuzz_watchdog = http_guard_watchdog_start();
	if (fuzz_conns == NULL || fuzz_watchdog == NULL) {
		fprintf(stderr, "fuzz_http_request: cannot set up http_guard\n");
		abort();
	}
	memset(&cb, 0, sizeof cb);
	cb.log_message = fuzz_log_message;
	cb.http_error = fuzz_civetweb_error;
	cb.init_connection = fuzz_init_connection;
	cb.connection_close = fuzz_connection_close;
	memset(&init, 0, sizeof init);
	init.callbacks = &cb;
	init.configuration_options = options;
	memset(&edata, 0, sizeof edata);
	edata.code = &ecode;
	edata.text = etext;
	edata.text_buffer_size = sizeof etext;
	fuzz_ctx = mg_start2(&init, &edata);
	if (fuzz_ctx == NULL) {
		fprintf(stderr, "fuzz_http_request: CivetWeb did not start: %s\n", etext);
		abort();
	}
	mg_set_request_handler(fuzz_ctx, "/", fuzz_handle, NULL);
	memset(&port, 0, sizeof port);
	if (mg_get_server_ports(fuzz_ctx, 1, &port) != 1 || port.port <= 0) {
		fprintf(stderr, "fuzz_http_request: no listening port\n");
		abort();
	}
	fuzz_port = port.port;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_server_start();
	return 0;
}

/* ---- the client ---------------------------------------------------------- */

struct fuzz_response {
	char *buf;
	size_t len, cap;
	int eof;
};

/* Read what is there; 0 when the connection ended (EOF or error). */
static int fuzz_recv(int fd, struct fuzz_response *r)
{
	for (;;) {
		ssize_t k;
		if (r->len == r->cap) {
			if (r->cap >= FUZZ_MAX_RESPONSE)
				return 0; /* enough to judge */
			r->cap = r->cap ? r->cap * 2 : 16384;
			r->buf = realloc(r->buf, r->cap);
			if (r->buf == NULL)
				abort();
		}
		k = recv(fd, r->buf + r->len, r->cap - r->len, 0);
		if (k > 0) {
			r->len += (size_t)k;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (k < 0 && errno == EINTR)
			continue;
		return 0; /* EOF, or reset by a server that closed unread data */
	}
}

static size_t fuzz_count(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), c = 0;
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			c++;
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa;
	struct fuzz_response r = { NULL, 0, 0, 0 };
	unsigned long before, accepted;
	long long deadline;
	size_t sent = 0, ok;
	int fd, writing = 1;

	if (fuzz_ctx == NULL)
		fuzz_server_start();
	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	before = atomic_load(&fuzz_accepted);
	deadline = fuzz_now_ms() + FUZZ_BUDGET_MS;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)fuzz_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* non-blocking from the start: libFuzzer's timers interrupt a blocking
	 * connect() (EINTR), and a full accept queue must cost the budget, no
	 * more */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno, soerr = 0;
		socklen_t sl = sizeof soerr;
		if (e != EINPROGRESS && e != EINTR) {
			/* a loopback listener that refuses is the harness's fault */
			fprintf(stderr, "fuzz_http_request: connect: %s\n", strerror(e));
			abort();
		}
		for (;;) {
			struct pollfd p = { fd, POLLOUT, 0 };
			long long left = deadline - fuzz_now_ms();
			int pr = left > 0 ? poll(&p, 1, (int)left) : 0;
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0) { /* not accepted in time: nothing to judge */
				close(fd);
				return 0;
			}
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			fprintf(stderr, "fuzz_http_request: connect: %s\n", strerror(soerr));
			abort();
		}
	}

	/* send and read at once: the server may answer (and close) before it
	 * has read everything, and must never block us on a full buffer */
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = deadline - fuzz_now_ms();
		int pr;
		if (writing && sent == size) {
			shutdown(fd, SHUT_WR);
			writing = 0;
		}
		if (left <= 0)
			break;
		if (writing)
			p.events |= POLLOUT;
		pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		if (writing && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
			else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				writing = 0; /* the server closed: read what it said */
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			if (!fuzz_recv(fd, &r)) {
				r.eof = 1;
				break;
			}
		}
	}
	close(fd);
	if (getenv("FUZZ_HTTP_TRACE") != NULL) /* to see what a reproducer got */
		fprintf(stderr, "--- sent %zu of %zu bytes, %s, %lu accepted; got %zu bytes:\n%.*s\n",
		        sent, size, r.eof ? "EOF" : "timed out",
		        (unsigned long)(atomic_load(&fuzz_accepted) - before), r.len,
		        (int)(r.len < 4096 ? r.len : 4096), r.buf != NULL ? r.buf : "");

	/* (a) a response starts with a status line */
	if (r.len > 0) {
		size_t k = r.len < 7 ? r.len : 7;
		if (memcmp(r.buf, "HTTP/1.", k) != 0) {
			fprintf(stderr, "fuzz_http_request: the response does not start with "
			                "\"HTTP/1.\": \"%.*s\"\n",
			        (int)(r.len < 80 ? r.len : 80), r.buf);
			abort();
		}
	}
	/* (b) no 200 without a request the framing check accepted */
	accepted = atomic_load(&fuzz_accepted) - before;
	ok = fuzz_count(r.buf, r.len, "HTTP/1.1 200 ") + fuzz_count(r.buf, r.len, "HTTP/1.0 200 ");
	if (ok > accepted) {
		fprintf(stderr, "fuzz_http_request: %zu responses 200 but only %lu requests "
		                "passed http_guard_framing()\n",
		        ok, accepted);
		abort();
	}
	free(r.buf);
	return 0;
}
