/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcastctl.c: the command-line client of broadcastd's Unix socket
 * frontend (frontends/unix).
 *
 * It turns a command line into one request line {"op":..,"params":{..}},
 * sends it to the socket, reads the one response line {"status":N,"body":..}
 * and prints the body: as a readable table by default, as the raw JSON with
 * --json. It decides nothing about the API: every check and error comes from
 * the dispatcher, and this program only maps the outcome to an exit code:
 *
 *   0  the daemon answered 2xx
 *   1  the daemon answered an error (its code and message go to stderr)
 *   2  usage error (the usage goes to stderr)
 *   3  no answer: the socket could not be reached, or the daemon closed the
 *      connection or did not answer within --timeout
 *
 * The socket is --socket PATH, else $BROADCAST_SOCKET, else the unix
 * frontend's default, /run/broadcast/control.sock. docs/broadcastctl.1 is
 * the manual page.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define CTL_DEFAULT_SOCKET "/run/broadcast/control.sock"

enum { CTL_OK = 0, CTL_API_ERROR = 1, CTL_USAGE = 2, CTL_NO_ANSWER = 3 };

/* Set by SIGINT/SIGTERM during `events --follow`: end the wait, exit 0. */
static volatile sig_atomic_t ctl_stop;
/* During `events --follow` SIGINT and SIGTERM are blocked except inside the
 * wait for an answer (ppoll() with this mask), so one that comes between the
 * check of ctl_stop and the wait is delivered when the wait begins, not
 * after a 25 s long-poll. */
static sigset_t ctl_wait_mask;
static int ctl_wait_masked;

/* What the command line asked for. */
struct ctl_opts {
	const char *socket_path;
	int json;
	double timeout_s;
};

static void ctl_usage(FILE *out)
{
	fputs("Usage: broadcastctl [--socket PATH] [--json] [--timeout SECS] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  start [--type T] [--name N] [--provider P]   start a stream\n"
	      "  stop ID                                       stop a stream\n"
	      "  get ID                                        show one stream\n"
	      "  list [--live|--stopped|--all] [--limit N] [--cursor C]\n"
	      "                                                list streams\n"
	      "  events [--after N] [--limit N] [--follow]     the event feed, one JSON line\n"
	      "                                                per event; --follow waits for\n"
	      "                                                more until SIGINT/SIGTERM\n"
	      "  health                                        store and provider health\n"
	      "  plugins                                       loaded plugins\n"
	      "  reload                                        reload the configuration\n"
	      "  metrics                                       Prometheus metrics text\n"
	      "\n"
	      "Options:\n"
	      "  -s, --socket PATH   the daemon's socket (default $BROADCAST_SOCKET or\n"
	      "                      " CTL_DEFAULT_SOCKET ")\n"
	      "  -j, --json          print the daemon's JSON answer as is\n"
	      "  -t, --timeout SECS  wait at most this long for an answer (default 30)\n"
	      "  -h, --help          show this help\n"
	      "  -V, --version       show the version\n"
	      "\n"
	      "Exit status: 0 ok, 1 the daemon answered an error, 2 usage error,\n"
	      "3 the daemon could not be reached or did not answer.\n",
	      out);
}

static int ctl_usage_error(const char *fmt, const char *arg)
{
	fputs("broadcastctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nUsage: broadcastctl [--socket PATH] [--json] [--timeout SECS] COMMAND [ARGS]\n"
	      "Run 'broadcastctl --help' for the commands and options.\n",
	      stderr);
	return CTL_USAGE;
}

/* ---- talking to the daemon ------------------------------------------------ */

static double ctl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send one request line and read one response line. On success *line is a
 * malloc'd NUL-terminated line without its '\n'. Otherwise prints why to
 * stderr and returns CTL_NO_ANSWER. */
static int ctl_exchange(const struct ctl_opts *o, const char *request, char **line)
{
	int rc = CTL_NO_ANSWER;
	int fd = -1;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct sockaddr_un sa;
	const char *path = o->socket_path;

	*line = NULL;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "broadcastctl: cannot connect to %s: path longer than %zu bytes\n",
		        path, sizeof sa.sun_path - 1);
		goto out;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		const char *hint = "";
		if (e == ENOENT || e == ECONNREFUSED)
			hint = " (is broadcastd running with a unix frontend at this path? "
			       "see --socket and $BROADCAST_SOCKET)";
		else if (e == EACCES)
			hint = " (the socket's file mode and group decide who may connect)";
		fprintf(stderr, "broadcastctl: cannot connect to %s: %s%s\n", path, strerror(e),
		        hint);
		goto out;
	}

	double deadline = ctl_now() + o->timeout_s;
	size_t req_len = strlen(request), sent = 0;
	while (sent < req_len) {
		ssize_t n = send(fd, request + sent, req_len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* closed on us: it may still have left a refusal to read */
		if (n < 0) {
			fprintf(stderr, "broadcastctl: cannot send to %s: %s\n", path, strerror(errno));
			goto out;
		}
		sent += (size_t)n;
	}

	for (;;) {
		if (len + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				fputs("broadcastctl: out of memory\n", stderr);
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		double left = deadline - ctl_now();
		if (left <= 0) {
			fprintf(stderr, "broadcastctl: no answer from %s within %g s\n", path,
			        o->timeout_s);
			goto out;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double wait_s = left > 3600 ? 3600 : left + 0.001;
		struct timespec ts = { .tv_sec = (time_t)wait_s,
		                       .tv_nsec = (long)((wait_s - (double)(time_t)wait_s) * 1e9) };
		if (ctl_stop)
			goto out;
		int pr = ppoll(&pfd, 1, &ts, ctl_wait_masked ? &ctl_wait_mask : NULL);
		if (pr < 0 && errno == EINTR && ctl_stop)
			goto out;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the deadline check above decides */
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != ECONNRESET) {
			fprintf(stderr, "broadcastctl: cannot read from %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (n < 0)
			n = 0; /* reset: the daemon closed while our request was unread */
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			*line = buf;
			buf = NULL;
			rc = CTL_OK;
			goto out;
		}
		if (n == 0) {
			fprintf(stderr, "broadcastctl: %s closed the connection without an answer\n",
			        path);
			goto out;
		}
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- printing --------------------------------------------------------------- */

/* A scalar as text: strings bare, null as "-", others as JSON. The result is
 * malloc'd. */
static char *ctl_scalar(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int ctl_is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static int ctl_is_table(const json_t *v)
{
	size_t i;
	json_t *row;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return 0;
	json_array_foreach(v, i, row)
		if (!json_is_object(row))
			return 0;
	return 1;
}

/* Rows of objects as aligned columns; columns in order of first appearance. */
static void ctl_print_table(const json_t *rows, int indent)
{
	json_t *cols = json_array();
	size_t *width = NULL;
	size_t i, c;
	json_t *row;

	if (cols == NULL)
		return;
	json_array_foreach(rows, i, row) {
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)row, key, val) {
			int seen = 0;
			json_t *col;
			json_array_foreach(cols, c, col)
				if (strcmp(json_string_value(col), key) == 0)
					seen = 1;
			if (!seen)
				json_array_append_new(cols, json_string(key));
		}
	}
	size_t ncols = json_array_size(cols);
	width = calloc(ncols ? ncols : 1, sizeof *width);
	if (width == NULL)
		goto out;
	for (c = 0; c < ncols; c++)
		width[c] = strlen(json_string_value(json_array_get(cols, c)));
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++) {
			char *s = ctl_scalar(json_object_get(row, json_string_value(json_array_get(cols, c))));
			if (s != NULL && strlen(s) > width[c])
				width[c] = strlen(s);
			free(s);
		}
	}
	printf("%*s", indent, "");
	for (c = 0; c < ncols; c++) {
		const char *name = json_string_value(json_array_get(cols, c));
		for (const char *p = name; *p; p++)
			putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		if (c + 1 < ncols)
			printf("%*s", (int)(width[c] - strlen(name) + 2), "");
	}
	putchar('\n');
	json_array_foreach(rows, i, row) {
		printf("%*s", indent, "");
		for (c = 0; c < ncols; c++) {
			char *s = ctl_scalar(json_object_get(row, json_string_value(json_array_get(cols, c))));
			const char *t = s != NULL ? s : "?";
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], t);
			else
				fputs(t, stdout);
			free(s);
		}
		putchar('\n');
	}
out:
	free(width);
	json_decref(cols);
}

/* An object as "key  value" lines, nested objects indented under "key:". */
static void ctl_print_object(const json_t *obj, int indent)
{
	const char *key;
	json_t *val;
	size_t w = 0;

	json_object_foreach((json_t *)obj, key, val)
		if (ctl_is_scalar(val) && strlen(key) > w)
			w = strlen(key);
	json_object_foreach((json_t *)obj, key, val) {
		if (ctl_is_scalar(val)) {
			char *s = ctl_scalar(val);
			printf("%*s%-*s  %s\n", indent, "", (int)w, key, s != NULL ? s : "?");
			free(s);
		} else if (json_is_object(val)) {
			printf("%*s%s:\n", indent, "", key);
			ctl_print_object(val, indent + 2);
		} else if (ctl_is_table(val)) {
			printf("%*s%s:\n", indent, "", key);
			ctl_print_table(val, indent + 2);
		} else if (json_array_size(val) == 0) {
			printf("%*s%-*s  (none)\n", indent, "", (int)w, key);
		} else {
			char *s = json_dumps(val, JSON_COMPACT);
			printf("%*s%-*s  %s\n", indent, "", (int)w, key, s != NULL ? s : "?");
			free(s);
		}
	}
}

/* The readable form of a successful answer to `op`, asked with `params`
 * (NULL: none). */
static void ctl_print_body(const char *op, const json_t *params, const json_t *body)
{
	if (json_is_string(body)) {
		/* metrics: the text as the daemon wrote it */
		const char *s = json_string_value(body);
		fputs(s, stdout);
		if (*s != '\0' && s[strlen(s) - 1] != '\n')
			putchar('\n');
		return;
	}
	if (!json_is_object(body)) {
		char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		puts(s != NULL ? s : "?");
		free(s);
		return;
	}
	if (strcmp(op, "list") == 0) {
		json_t *streams = json_object_get(body, "streams");
		json_t *next = json_object_get(body, "next_cursor");
		if (ctl_is_table(streams))
			ctl_print_table(streams, 0);
		else
			puts("no streams");
		if (json_is_string(next)) {
			/* the next page of the same list: the cursor alone would
			 * drop the state filter and the page size */
			const char *state = json_string_value(json_object_get(params, "state"));
			const json_t *limit = json_object_get(params, "limit");
			printf("\nmore: broadcastctl list");
			if (state != NULL)
				printf(" --%s", state);
			if (json_is_integer(limit))
				printf(" --limit %" JSON_INTEGER_FORMAT, json_integer_value(limit));
			printf(" --cursor %s\n", json_string_value(next));
		}
		return;
	}
	if (strcmp(op, "events") == 0) {
		json_t *evs = json_object_get(body, "events"), *e;
		size_t i;
		json_array_foreach(evs, i, e) {
			char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s != NULL ? s : "{}");
			free(s);
		}
		if (json_is_integer(json_object_get(body, "next")))
			fprintf(stderr, "next: broadcastctl events --after %lld\n",
			        (long long)json_integer_value(json_object_get(body, "next")));
		return;
	}
	if (strcmp(op, "plugins") == 0 && ctl_is_table(json_object_get(body, "plugins"))) {
		ctl_print_table(json_object_get(body, "plugins"), 0);
		return;
	}
	ctl_print_object(body, 0);
}

/* ---- commands ----------------------------------------------------------------- */

/* Run `op` with `params` (a reference is taken) and print the outcome. */
static int ctl_run(const struct ctl_opts *o, const char *op, json_t *params)
{
	int rc = CTL_NO_ANSWER;
	char *request = NULL, *line = NULL;
	json_t *req = NULL, *resp = NULL;
	json_error_t jerr;

	req = json_pack("{s:s}", "op", op);
	if (req == NULL || (params != NULL && json_object_set(req, "params", params) < 0))
		goto nomem;
	request = json_dumps(req, JSON_COMPACT);
	if (request == NULL)
		goto nomem;
	size_t n = strlen(request);
	char *r = realloc(request, n + 2);
	if (r == NULL)
		goto nomem;
	request = r;
	memcpy(request + n, "\n", 2);

	rc = ctl_exchange(o, request, &line);
	if (rc != CTL_OK)
		goto out;
	rc = CTL_NO_ANSWER;
	resp = json_loads(line, 0, &jerr);
	json_t *status = json_object_get(resp, "status");
	json_t *body = json_object_get(resp, "body");
	if (!json_is_integer(status) || body == NULL) {
		fprintf(stderr, "broadcastctl: %s answered something that is not a response line: %s\n",
		        o->socket_path, resp == NULL ? jerr.text : "no status or body");
		goto out;
	}
	int st = (int)json_integer_value(status);
	int ok = st >= 200 && st < 300;

	if (o->json) {
		char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		puts(s != NULL ? s : "null");
		free(s);
	} else if (ok || json_object_get(body, "error") == NULL) {
		ctl_print_body(op, params, body);
	}
	if (!ok) {
		json_t *e = json_object_get(body, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		if (code != NULL)
			fprintf(stderr, "broadcastctl: %s: %s\n", code, msg != NULL ? msg : "");
		else
			fprintf(stderr, "broadcastctl: %s: the daemon answered status %d\n", op, st);
	}
	rc = ok ? CTL_OK : CTL_API_ERROR;
	goto out;
nomem:
	fputs("broadcastctl: out of memory\n", stderr);
out:
	json_decref(resp);
	json_decref(req);
	json_decref(params);
	free(line);
	free(request);
	return rc;
}

static void ctl_on_signal(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

/* events --follow: long-polls of 25 s, one JSON line per event, until
 * SIGINT or SIGTERM (exit 0) or an error. */
static int ctl_follow(const struct ctl_opts *o, json_t *params)
{
	struct sigaction sa;
	json_int_t after = 0;
	int rc = CTL_OK;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &ctl_wait_mask) == 0)
		ctl_wait_masked = 1;
	if (json_is_integer(json_object_get(params, "after")))
		after = json_integer_value(json_object_get(params, "after"));
	while (!ctl_stop) {
		json_t *req = json_pack("{s:s, s:O}", "op", "events", "params", params);
		json_t *resp = NULL, *body, *evs, *e;
		char *request = NULL, *line = NULL;
		size_t i;
		int st;

		if (req == NULL)
			return CTL_NO_ANSWER;
		json_object_set_new(json_object_get(req, "params"), "after", json_integer(after));
		json_object_set_new(json_object_get(req, "params"), "wait", json_integer(25));
		request = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (request == NULL)
			return CTL_NO_ANSWER;
		char *r = realloc(request, strlen(request) + 2);
		if (r == NULL) {
			free(request);
			return CTL_NO_ANSWER;
		}
		request = r;
		strcat(request, "\n");
		rc = ctl_exchange(o, request, &line);
		free(request);
		if (ctl_stop) {
			free(line);
			return CTL_OK;
		}
		if (rc != CTL_OK)
			return rc;
		resp = json_loads(line, 0, NULL);
		free(line);
		body = json_object_get(resp, "body");
		st = (int)json_integer_value(json_object_get(resp, "status"));
		if (st < 200 || st >= 300) {
			const char *code = json_string_value(json_object_get(json_object_get(body, "error"), "code"));
			const char *msg = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
			fprintf(stderr, "broadcastctl: %s: %s\n", code ? code : "events", msg ? msg : "failed");
			json_decref(resp);
			return resp == NULL ? CTL_NO_ANSWER : CTL_API_ERROR;
		}
		evs = json_object_get(body, "events");
		json_array_foreach(evs, i, e) {
			char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s != NULL ? s : "{}");
			free(s);
		}
		fflush(stdout);
		if (json_is_integer(json_object_get(body, "next")))
			after = json_integer_value(json_object_get(body, "next"));
		json_decref(resp);
	}
	return CTL_OK;
}

/* Options every command accepts, so `broadcastctl list --json` works too. */
#define CTL_COMMON_LONG \
	{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' }, \
	{ "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }

/* Handle one of the common options; returns -1 when c is not one of them,
 * CTL_USAGE on a bad value, 0 otherwise, or 100 for --help/--version done. */
static int ctl_common_opt(struct ctl_opts *o, int c, const char *arg)
{
	char *end = NULL;
	switch (c) {
	case 's':
		o->socket_path = arg;
		return 0;
	case 'j':
		o->json = 1;
		return 0;
	case 't':
		errno = 0;
		o->timeout_s = strtod(arg, &end);
		if (errno != 0 || end == arg || *end != '\0' || !(o->timeout_s > 0) ||
		    o->timeout_s > 86400)
			return ctl_usage_error("--timeout wants seconds (0 < SECS <= 86400), not \"%s\"",
			                       arg);
		return 0;
	case 'h':
		ctl_usage(stdout);
		return 100;
	case 'V':
		printf("broadcastctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 100;
	default:
		return -1;
	}
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .socket_path = NULL, .json = 0, .timeout_s = 30.0 };
	static const struct option global_long[] = { CTL_COMMON_LONG, { NULL, 0, NULL, 0 } };
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:jt:hV", global_long, NULL)) != -1) {
		if (c == '?')
			return ctl_usage_error("unknown option \"%s\"", argv[optind - 1]);
		if (c == ':')
			return ctl_usage_error("option \"%s\" needs a value", argv[optind - 1]);
		r = ctl_common_opt(&o, c, optarg);
		if (r == 100)
			return CTL_OK;
		if (r != 0)
			return r;
	}
	if (optind >= argc)
		return ctl_usage_error("%s", "no command given");
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;

	static const struct option start_long[] = {
		CTL_COMMON_LONG, { "type", required_argument, NULL, 'T' },
		{ "name", required_argument, NULL, 'N' }, { "provider", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 } };
	static const struct option list_long[] = {
		CTL_COMMON_LONG, { "live", no_argument, NULL, 'l' },
		{ "stopped", no_argument, NULL, 'S' }, { "all", no_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'n' }, { "cursor", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 } };
	static const struct option events_long[] = {
		CTL_COMMON_LONG, { "after", required_argument, NULL, 'A' },
		{ "limit", required_argument, NULL, 'n' }, { "follow", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 } };
	static const struct option plain_long[] = { CTL_COMMON_LONG, { NULL, 0, NULL, 0 } };

	const struct option *longopts;
	const char *op = cmd;
	int want_id = 0, follow = 0;
	if (strcmp(cmd, "start") == 0)
		longopts = start_long;
	else if (strcmp(cmd, "list") == 0)
		longopts = list_long;
	else if (strcmp(cmd, "events") == 0)
		longopts = events_long;
	else if (strcmp(cmd, "stop") == 0 || strcmp(cmd, "get") == 0) {
		longopts = plain_long;
		want_id = 1;
	} else if (strcmp(cmd, "health") == 0 || strcmp(cmd, "plugins") == 0 ||
	           strcmp(cmd, "reload") == 0 || strcmp(cmd, "metrics") == 0)
		longopts = plain_long;
	else if (strcmp(cmd, "help") == 0) {
		ctl_usage(stdout);
		return CTL_OK;
	} else
		return ctl_usage_error("unknown command \"%s\"", cmd);

	json_t *params = json_object();
	if (params == NULL) {
		fputs("broadcastctl: out of memory\n", stderr);
		return CTL_NO_ANSWER;
	}
	const char *state = NULL;
	optind = 0; /* GNU getopt: start over on the command's own arguments */
	while ((c = getopt_long(sub_argc, sub_argv, ":s:jt:hV", longopts, NULL)) != -1) {
		char *end = NULL;
		const char *set_key = NULL;
		switch (c) {
		case '?':
			json_decref(params);
			return ctl_usage_error("unknown option \"%s\"", sub_argv[optind - 1]);
		case ':':
			json_decref(params);
			return ctl_usage_error("option \"%s\" needs a value", sub_argv[optind - 1]);
		case 'T':
			set_key = "type";
			break;
		case 'N':
			set_key = "name";
			break;
		case 'P':
			set_key = "provider";
			break;
		case 'c':
			set_key = "cursor";
			break;
		case 'l':
		case 'S':
		case 'a': {
			const char *want = c == 'l' ? "live" : c == 'S' ? "stopped" : "all";
			if (state != NULL && strcmp(state, want) != 0) {
				json_decref(params);
				return ctl_usage_error("%s", "give only one of --live, --stopped, --all");
			}
			state = want;
			json_object_set_new(params, "state", json_string(want));
			break;
		}
		case 'F':
			follow = 1;
			break;
		case 'A':
		case 'n': {
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0') {
				json_decref(params);
				return ctl_usage_error(c == 'A' ? "--after wants a number, not \"%s\""
				                                : "--limit wants a number, not \"%s\"",
				                       optarg);
			}
			/* the range is the daemon's to check, like every other rule */
			json_object_set_new(params, c == 'A' ? "after" : "limit", json_integer(v));
			break;
		}
		default:
			r = ctl_common_opt(&o, c, optarg);
			if (r != 0) {
				json_decref(params);
				return r == 100 ? CTL_OK : r;
			}
		}
		if (set_key != NULL && json_object_set_new(params, set_key, json_string(optarg)) < 0) {
			json_decref(params);
			return ctl_usage_error("\"%s\" is not valid UTF-8", optarg);
		}
	}
	int rest = sub_argc - optind;
	if (want_id) {
		if (rest != 1) {
			json_decref(params);
			return ctl_usage_error("%s needs exactly one stream ID", cmd);
		}
		if (json_object_set_new(params, "id", json_string(sub_argv[optind])) < 0) {
			json_decref(params);
			return ctl_usage_error("\"%s\" is not valid UTF-8", sub_argv[optind]);
		}
	} else if (rest != 0) {
		json_decref(params);
		return ctl_usage_error("unexpected argument \"%s\"", sub_argv[optind]);
	}

	if (o.socket_path == NULL) {
		const char *env = getenv("BROADCAST_SOCKET");
		o.socket_path = env != NULL && *env != '\0' ? env : CTL_DEFAULT_SOCKET;
	}
	if (follow) {
		int frc = ctl_follow(&o, params);
		json_decref(params);
		return frc;
	}
	if (json_object_size(params) == 0) {
		json_decref(params);
		params = NULL;
	}
	return ctl_run(&o, op, params);
}
