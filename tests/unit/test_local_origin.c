/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_local_origin.c: Check suite for the `local` provider
 * (providers/local/), loaded from provider_local.so through its entry symbol
 * by the stub host, talking to its real CivetWeb listener on a free
 * loopback port with a plain-socket HTTP client.
 *
 * Covers what a broadcaster and a player see: the endpoint start() mints,
 * uploads with the right, wrong and missing token, path traversal (also
 * percent-encoded), wrong extensions, size and quota limits (declared and
 * chunked), content types, CORS, DELETE, stop (uploads refused, playlists
 * ended), and retention; starts, first uploads and stops from many threads
 * at once (the folder and the stop marker are written outside the table
 * lock, and the table is a hash that grows) and a race of starts of one id;
 * and issue 17:
 * raw paths judged before any
 * decoding (NUL, %2f, ... for every method), 411 for unframed bodies, 408
 * for a trickled body, nosniff everywhere, error messages without server
 * paths; ABI 1.1: media reports (publishing on the first upload and again
 * after idle, idle after idle_after, only changes, the uploader's address
 * and never the token as detail, nothing on a 1.0 host) and resume (a fresh
 * instance re-admits a live stream's token from its meta). Issue 18: the
 * provider keeps no durable state of its own: a start writes no file (not
 * even the folder, which the first upload makes: issue 24), a restart
 * without resume() admits no token, one with it does, a
 * stopped stream's folder is deleted the retention after its stop across a
 * restart, and the startup cleanup spares the folders of live streams. The
 * ffmpeg and browser tests run through the daemon (tests/integration).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "stubhost.h"

#define ID_A "0a1b2c3d-0000-4000-8000-00000000000a"
#define ID_B "0a1b2c3d-0000-4000-8000-00000000000b"
#define LOCAL_TEST_ID_SIZE 37

static const struct bc_plugin *plugin;
static const struct bc_provider_ops *ops;
static char root[64];
static int port;
static char port_s[16];

/* ---- helpers ------------------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

struct resp {
	int status;
	char head[4096];
	char *body;
	size_t body_len;
};

static void resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The value of header `name` in r->head (case-insensitive), or NULL. */
static const char *resp_header(struct resp *r, const char *name, char *buf, size_t len)
{
	char *p = r->head;
	size_t n = strlen(name);

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			size_t l;
			while (*v == ' ')
				v++;
			l = strcspn(v, "\r\n");
			if (l >= len)
				l = len - 1;
			memcpy(buf, v, l);
			buf[l] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* A connection to the origin, with a 10 s receive timeout. */
static int origin_connect(void)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Read the response until the server closes (or 10 s pass), close fd. */
static void read_resp(int fd, struct resp *r)
{
	size_t cap = 1 << 20, got = 0;
	char *buf = malloc(cap), *sep;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		ssize_t k = recv(fd, buf + got, cap - got - 1, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
		ck_assert_uint_lt(got, cap - 1);
	}
	close(fd);
	buf[got] = '\0';
	ck_assert_msg(sscanf(buf, "HTTP/1.%*d %d", &r->status) == 1, "no status line in: %s", buf);
	sep = strstr(buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	ck_assert_uint_lt((size_t)(sep - buf), sizeof(r->head));
	memcpy(r->head, buf, (size_t)(sep - buf));
	r->head[sep - buf] = '\0';
	r->body_len = got - (size_t)(sep + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, sep + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
}

/* Send exactly these bytes on a fresh connection and read the answer: for
 * requests a well-behaved client would never write. */
static void raw(struct resp *r, const char *bytes, size_t len)
{
	int fd = origin_connect();

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	read_resp(fd, r);
}

/* One request on a fresh connection. `extra` is raw header lines. When
 * chunked, the body goes in 1000-byte chunks with no Content-Length. */
static void http(struct resp *r, const char *method, const char *path, const char *extra,
                 const void *body, size_t len, int chunked)
{
	char req[8192];
	int fd = origin_connect(), n;

	memset(r, 0, sizeof(*r));
	if (chunked)
		n = snprintf(req, sizeof(req),
		             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		             "Transfer-Encoding: chunked\r\n%s\r\n",
		             method, path, extra ? extra : "");
	else
		n = snprintf(req, sizeof(req),
		             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		             "Content-Length: %zu\r\n%s\r\n",
		             method, path, len, extra ? extra : "");
	ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	if (chunked) {
		size_t off = 0;
		while (off < len) {
			size_t c = len - off < 1000 ? len - off : 1000;
			n = snprintf(req, sizeof(req), "%zx\r\n", c);
			if (send(fd, req, (size_t)n, MSG_NOSIGNAL) < 0 ||
			    send(fd, (const char *)body + off, c, MSG_NOSIGNAL) < 0 ||
			    send(fd, "\r\n", 2, MSG_NOSIGNAL) < 0)
				break; /* the server may answer 413 and close early */
			off += c;
		}
		send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
	} else if (len > 0) {
		send(fd, body, len, MSG_NOSIGNAL); /* may fail after an early answer */
	}
	read_resp(fd, r);
}

static int put(const char *token, const char *id, const char *name, const char *body,
               size_t len)
{
	char path[256], auth[256] = "";
	struct resp r;
	int status;

	snprintf(path, sizeof(path), "/live/%s/%s", id, name);
	if (token != NULL)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
	http(&r, "PUT", path, auth, body, len, 0);
	status = r.status;
	resp_free(&r);
	return status;
}

static int get(const char *path, struct resp *r)
{
	http(r, "GET", path, NULL, NULL, 0, 0);
	return r->status;
}

/* Number of non-hidden files in the stream's folder (-1 when missing). */
static int count_files(const char *id)
{
	char dir[256];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root, id);
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* 1 when root/id/name exists. */
static int file_exists(const char *id, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", root, id, name);
	return stat(p, &st) == 0;
}

/* Number of temporary upload files (".up-*") left in the stream's folder. */
static int count_tmp_files(const char *id)
{
	char dir[256];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root, id);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, ".up-", 4) == 0;
	closedir(d);
	return n;
}

/* The origin still answers: the listener survived what came before. */
static void assert_alive(void)
{
	struct resp r;

	ck_assert_int_eq(get("/player/hls.js-LICENSE", &r), 200);
	resp_free(&r);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rm_rf(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

/* One provider instance with its stub host. */
struct inst {
	struct stubhost *sh;
	void *p;
	struct bc_error err; /* of create() */
};

static enum bc_status inst_create_api(struct inst *in, const char *const *extra,
                                      const struct bc_host_api *api);

static enum bc_status inst_create(struct inst *in, const char *const *extra)
{
	return inst_create_api(in, extra, stubhost_api());
}

static enum bc_status inst_create_api(struct inst *in, const char *const *extra,
                                      const struct bc_host_api *api)
{
	const char *kv[40];
	size_t n = 0, i;
	struct bc_error err;
	enum bc_status st;

	kv[n++] = "listen";
	kv[n++] = NULL; /* filled below */
	kv[n++] = "root";
	kv[n++] = root;
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		kv[n++] = extra[i];
	kv[n] = NULL;
	{
		static char listen[64];
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
		kv[1] = listen;
	}
	memset(&err, 0, sizeof(err));
	in->sh = stubhost_new("local", plugin, kv);
	in->p = NULL;
	st = ops->create(api, stubhost_host(in->sh), stubhost_config(in->sh), &in->p, &err);
	if (st != BC_OK)
		fprintf(stderr, "create: %s: %s\n", err.code, err.message);
	in->err = err;
	return st;
}

static void inst_destroy(struct inst *in)
{
	if (in->p != NULL)
		ops->destroy(in->p);
	stubhost_free(in->sh);
	in->p = NULL;
	in->sh = NULL;
}

/* Start stream `id`; copies its token into token (64 bytes). */
static struct bc_endpoint *start_stream(struct inst *in, const char *id, char *token)
{
	struct bc_endpoint *ep = stubhost_endpoint_new();
	struct bc_stream_info info;
	struct bc_error err;

	memset(&err, 0, sizeof(err));
	stubhost_stream_info(&info, id, "", "hls", "alice", ep);
	ck_assert_int_eq(ops->start(in->p, &info, ep, &err), BC_OK);
	snprintf(token, 64, "%s", stubhost_ep_value(ep, "HTTP", "upload_token"));
	return ep;
}

static void stop_stream(struct inst *in, const char *id, struct bc_endpoint *ep)
{
	struct bc_stream_info info;
	struct bc_error err;

	memset(&err, 0, sizeof(err));
	stubhost_stream_info(&info, id, "", "hls", "alice", ep);
	info.stop_ms = info.start_ms;
	ck_assert_int_eq(ops->stop(in->p, &info, &err), BC_OK);
}

static void setup(void)
{
	char so[1024];
	const char *b = getenv("BC_BUILDDIR");

	snprintf(so, sizeof(so), "%s/providers/local/.libs/provider_local.so", b ? b : ".");
	/* To run the built binary by hand against another build of the .so. */
	if (getenv("LOCAL_PROVIDER_SO"))
		snprintf(so, sizeof(so), "%s", getenv("LOCAL_PROVIDER_SO"));
	plugin = stubhost_load_plugin(so, BC_KIND_PROVIDER, "local");
	ops = plugin->ops;
	snprintf(root, sizeof(root), "/tmp/bc-test-local-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	stubhost_clock_skew(0);
	port = free_port();
	snprintf(port_s, sizeof(port_s), "%d", port);
}

static void teardown(void)
{
	rm_rf(root);
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(test_endpoint)
{
	struct inst in;
	struct bc_endpoint *ep;
	char token[64], want[256], hash[65], path[256];
	DIR *d;
	struct dirent *de;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ep = start_stream(&in, ID_A, token);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/live/" ID_A "/", port);
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "upload_url"), want);
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "watch_url"), want);
	strcat(want, "index.m3u8");
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "playback_url"), want);
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "playlist"), "index.m3u8");
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "expires_in"), "129600");
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "method"), "PUT");
	ck_assert_uint_eq(strlen(token), 43);
	ck_assert_uint_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                "0123456789-_"), 43);
	ck_assert_uint_ne(stubhost_ep_flags(ep, "HTTP", "upload_token") & BC_EP_SECRET, 0);
	ck_assert_uint_eq(stubhost_ep_flags(ep, "HTTP", "upload_url") & BC_EP_SECRET, 0);
	stubhost_api()->sha256_hex(token, strlen(token), hash);
	ck_assert_str_eq(stubhost_ep_meta(ep, "token_sha256"), hash);
	ck_assert(!stubhost_log_contains(in.sh, token));

	/* A start writes no file, not even the folder: the store's commit is
	 * the stream's one durable record (issue 18), and the first upload
	 * makes the folder (issue 24). */
	snprintf(path, sizeof(path), "%s/" ID_A, root);
	d = opendir(path);
	ck_assert_ptr_null(d);
	(void)de;

	/* A second start of the same id is refused, the first stays. */
	{
		struct bc_endpoint *ep2 = stubhost_endpoint_new();
		struct bc_stream_info info;
		struct bc_error err;
		memset(&err, 0, sizeof(err));
		stubhost_stream_info(&info, ID_A, "", "hls", "alice", ep2);
		ck_assert_int_eq(ops->start(in.p, &info, ep2, &err), BC_E_CONFLICT);
		stubhost_endpoint_free(ep2);
	}
	ck_assert_int_eq(put(token, ID_A, "a.ts", "x", 1), 201);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_upload_and_play)
{
	struct inst in;
	struct bc_endpoint *ep;
	char token[64], h[256];
	static const char seg[] = "\x47 pretend this is an MPEG-TS segment";
	static const char pl[] = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n";
	struct resp r;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ep = start_stream(&in, ID_A, token);
	ck_assert_int_eq(put(token, ID_A, "seg0.ts", seg, sizeof(seg) - 1), 201);
	ck_assert_int_eq(put(token, ID_A, "seg0.ts", seg, sizeof(seg) - 1), 204);
	ck_assert_int_eq(put(token, ID_A, "index.m3u8", pl, sizeof(pl) - 1), 201);

	ck_assert_int_eq(get("/live/" ID_A "/seg0.ts", &r), 200);
	ck_assert_uint_eq(r.body_len, sizeof(seg) - 1);
	ck_assert_int_eq(memcmp(r.body, seg, r.body_len), 0);
	ck_assert_str_eq(resp_header(&r, "Content-Type", h, sizeof(h)), "video/mp2t");
	ck_assert_ptr_nonnull(strstr(resp_header(&r, "Cache-Control", h, sizeof(h)), "max-age"));
	ck_assert_str_eq(resp_header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "*");
	resp_free(&r);

	ck_assert_int_eq(get("/live/" ID_A "/index.m3u8", &r), 200);
	ck_assert_str_eq(r.body, pl);
	ck_assert_str_eq(resp_header(&r, "Content-Type", h, sizeof(h)),
	                 "application/vnd.apple.mpegurl");
	ck_assert_str_eq(resp_header(&r, "Cache-Control", h, sizeof(h)), "no-cache");
	resp_free(&r);

	/* POST works like PUT (ffmpeg -method POST); chunked bodies too. */
	{
		char auth[128];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
		http(&r, "POST", "/live/" ID_A "/seg1.ts", auth, seg, sizeof(seg) - 1, 1);
		ck_assert_int_eq(r.status, 201);
		resp_free(&r);
		ck_assert_int_eq(get("/live/" ID_A "/seg1.ts", &r), 200);
		ck_assert_uint_eq(r.body_len, sizeof(seg) - 1);
		resp_free(&r);
		/* DELETE, for a broadcaster's sliding window */
		http(&r, "DELETE", "/live/" ID_A "/seg1.ts", auth, NULL, 0, 0);
		ck_assert_int_eq(r.status, 204);
		resp_free(&r);
		ck_assert_int_eq(get("/live/" ID_A "/seg1.ts", &r), 404);
		resp_free(&r);
		http(&r, "DELETE", "/live/" ID_A "/seg1.ts", NULL, NULL, 0, 0);
		ck_assert_int_eq(r.status, 401);
		resp_free(&r);
	}

	/* A CORS preflight. */
	http(&r, "OPTIONS", "/live/" ID_A "/index.m3u8", "Origin: http://elsewhere.example\r\n",
	     NULL, 0, 0);
	ck_assert_int_eq(r.status, 204);
	ck_assert_ptr_nonnull(strstr(resp_header(&r, "Access-Control-Allow-Headers", h, sizeof(h)),
	                             "Range"));
	ck_assert_str_eq(resp_header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "*");
	resp_free(&r);

	/* The player page, its script, a redirect to the folder, unknown things. */
	ck_assert_int_eq(get("/live/" ID_A "/", &r), 200);
	ck_assert_ptr_nonnull(strstr(resp_header(&r, "Content-Type", h, sizeof(h)), "text/html"));
	ck_assert_ptr_nonnull(strstr(r.body, "/player/hls.light.min.js"));
	ck_assert_ptr_nonnull(strstr(r.body, "'index.m3u8'"));
	resp_free(&r);
	ck_assert_int_eq(get("/player/hls.light.min.js", &r), 200);
	ck_assert_uint_gt(r.body_len, 100000);
	ck_assert_ptr_nonnull(strstr(r.body, "Hls"));
	resp_free(&r);
	ck_assert_int_eq(get("/player/hls.js-LICENSE", &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "Apache License"));
	resp_free(&r);
	ck_assert_int_eq(get("/live/" ID_A, &r), 301);
	ck_assert_str_eq(resp_header(&r, "Location", h, sizeof(h)), "/live/" ID_A "/");
	resp_free(&r);
	ck_assert_int_eq(get("/live/" ID_B "/", &r), 404);
	resp_free(&r);
	ck_assert_int_eq(get("/live/" ID_A "/nothing.ts", &r), 404);
	ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"local.not_found\""));
	resp_free(&r);

	ck_assert_uint_ge(stubhost_counter(in.sh, "local_uploads_total", NULL), 4);
	ck_assert(!stubhost_log_contains(in.sh, token));
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_auth)
{
	struct inst in;
	struct bc_endpoint *ea, *eb;
	char ta[64], tb[64], h[128];
	struct resp r;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	ck_assert_str_ne(ta, tb);

	http(&r, "PUT", "/live/" ID_A "/x.ts", NULL, "abc", 3, 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_nonnull(resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(r.body, "local.no_token"));
	resp_free(&r);
	ck_assert_int_eq(put("not-the-token", ID_A, "x.ts", "abc", 3), 401);
	ck_assert_int_eq(put(tb, ID_A, "x.ts", "abc", 3), 401);   /* B's token on A */
	ck_assert_int_eq(put(ta, ID_B, "x.ts", "abc", 3), 401);   /* A's token on B */
	{
		char t2[64];
		/* one character off */
		snprintf(t2, sizeof(t2), "%s", ta);
		t2[10] = t2[10] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(put(t2, ID_A, "x.ts", "abc", 3), 401);
	}
	ck_assert_int_eq(put(ta, "0a1b2c3d-0000-4000-8000-0000000000ff", "x.ts", "abc", 3), 404);
	/* no folder yet: a start makes none, a refused upload neither */
	ck_assert_int_eq(count_files(ID_A), -1);
	ck_assert_int_eq(count_files(ID_B), -1);
	ck_assert_int_eq(put(ta, ID_A, "x.ts", "abc", 3), 201);
	ck_assert_int_eq(put(tb, ID_B, "x.ts", "abcd", 4), 201);
	ck_assert_int_eq(get("/live/" ID_A "/x.ts", &r), 200);
	ck_assert_str_eq(r.body, "abc");
	resp_free(&r);
	ck_assert(!stubhost_log_contains(in.sh, ta));
	ck_assert(!stubhost_log_contains(in.sh, tb));
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_bad_paths)
{
	static const char *const bad[] = {
		"/live/" ID_A "/../" ID_B "/x.ts",
		"/live/" ID_A "/%2e%2e/" ID_B "/x.ts",
		"/live/" ID_A "/%2E%2E/" ID_B "/x.ts",
		"/live/" ID_A "/..%2f" ID_B "%2fx.ts",
		"/live/" ID_A "/./x.ts",
		"/live/" ID_A "/%2e/x.ts",
		"/live/" ID_A "/..",
		"/live/" ID_A "/.stream",
		"/live/" ID_A "/.stopped",
		"/live/" ID_A "/.up-x.ts",
		"/live/" ID_A "/a%2fb.ts",
		"/live/" ID_A "/a\\b.ts",
		"/live/" ID_A "/sub/x.ts",
		"/live/../live/" ID_A "/x.ts",
		"/live/" ID_A "/x..ts",
		NULL
	};
	static const char *const bad_ext[] = { "x.sh", "x", "x.m3u8.php", "x.TS", "index.html",
	                                       NULL };
	struct inst in;
	struct bc_endpoint *ea, *eb;
	char ta[64], tb[64], auth[128], path[256];
	struct resp r;
	size_t i;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", ta);
	for (i = 0; bad[i] != NULL; i++) {
		http(&r, "PUT", bad[i], auth, "evil", 4, 0);
		ck_assert_msg(r.status >= 400 && r.status < 500, "%s: %d", bad[i], r.status);
		resp_free(&r);
		http(&r, "GET", bad[i], NULL, NULL, 0, 0);
		ck_assert_msg(r.status >= 400 && r.status < 500, "GET %s: %d", bad[i], r.status);
		resp_free(&r);
	}
	for (i = 0; bad_ext[i] != NULL; i++) {
		snprintf(path, sizeof(path), "/live/" ID_A "/%s", bad_ext[i]);
		http(&r, "PUT", path, auth, "evil", 4, 0);
		ck_assert_msg(r.status == 415, "%s: %d", bad_ext[i], r.status);
		ck_assert_ptr_nonnull(strstr(r.body, "local.bad_extension"));
		resp_free(&r);
	}
	/* no folder yet: a start makes none, a refused upload neither */
	ck_assert_int_eq(count_files(ID_A), -1);
	ck_assert_int_eq(count_files(ID_B), -1);
	{
		/* a stop marker is unreadable over HTTP (a stream with a folder
		 * gets one: B is uploaded to first) */
		char p[256], auth_b[160];
		struct stat st;
		snprintf(auth_b, sizeof(auth_b), "Authorization: Bearer %s\r\n",
		         stubhost_ep_value(eb, "HTTP", "upload_token"));
		http(&r, "PUT", "/live/" ID_B "/seg0.ts", auth_b, "x", 1, 0);
		ck_assert_int_eq(r.status, 201);
		resp_free(&r);
		stop_stream(&in, ID_B, eb);
		snprintf(p, sizeof(p), "%s/" ID_B "/.stopped", root);
		ck_assert_int_eq(stat(p, &st), 0);
		ck_assert_int_eq(get("/live/" ID_B "/.stopped", &r), 400);
		resp_free(&r);
		ck_assert_int_eq(get("/live/" ID_B "/", &r), 200);
		resp_free(&r);
	}
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_limits)
{
	static const char *const extra[] = { "max_segment_bytes", "4k", "max_stream_bytes", "10k",
	                                     NULL };
	struct inst in;
	struct bc_endpoint *ep;
	char token[64], auth[128];
	char *big = calloc(1, 5000);
	struct resp r;

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ep = start_stream(&in, ID_A, token);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);

	ck_assert_int_eq(put(token, ID_A, "big.ts", big, 5000), 413);
	http(&r, "PUT", "/live/" ID_A "/big.ts", auth, big, 5000, 1);
	ck_assert_int_eq(r.status, 413);
	ck_assert_ptr_nonnull(strstr(r.body, "local.too_large"));
	resp_free(&r);
	ck_assert_int_eq(count_files(ID_A), 0);
	{
		/* no temporary file left either */
		char dir[256];
		DIR *d;
		struct dirent *de;
		snprintf(dir, sizeof(dir), "%s/" ID_A, root);
		d = opendir(dir);
		while ((de = readdir(d)) != NULL)
			ck_assert_msg(strncmp(de->d_name, ".up-", 4) != 0, "left %s", de->d_name);
		closedir(d);
	}

	/* 4096 is the limit itself: accepted. Then the stream quota (10k). */
	ck_assert_int_eq(put(token, ID_A, "a.ts", big, 4096), 201);
	ck_assert_int_eq(put(token, ID_A, "b.ts", big, 4096), 201);
	ck_assert_int_eq(put(token, ID_A, "c.ts", big, 4096), 413);
	ck_assert_int_eq(count_files(ID_A), 2);
	/* replacing a file counts its new size only; deleting frees room */
	ck_assert_int_eq(put(token, ID_A, "b.ts", big, 2000), 204);
	ck_assert_int_eq(put(token, ID_A, "c.ts", big, 4000), 201);
	http(&r, "DELETE", "/live/" ID_A "/a.ts", auth, NULL, 0, 0);
	ck_assert_int_eq(r.status, 204);
	resp_free(&r);
	ck_assert_int_eq(put(token, ID_A, "d.ts", big, 4000), 201);

	free(big);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_stop)
{
	static const char pl[] = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts";
	static const char master[] = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nindex.m3u8\n";
	struct inst in;
	struct bc_endpoint *ep;
	char token[64];
	struct resp r;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ep = start_stream(&in, ID_A, token);
	ck_assert_int_eq(put(token, ID_A, "index.m3u8", pl, sizeof(pl) - 1), 201);
	ck_assert_int_eq(put(token, ID_A, "master.m3u8", master, sizeof(master) - 1), 201);
	ck_assert_int_eq(put(token, ID_A, "seg0.ts", "x", 1), 201);
	stop_stream(&in, ID_A, ep);
	stop_stream(&in, ID_A, ep); /* idempotent */

	http(&r, "PUT", "/live/" ID_A "/seg1.ts", NULL, "x", 1, 0);
	ck_assert_int_eq(r.status, 401);
	resp_free(&r);
	ck_assert_int_eq(put(token, ID_A, "seg1.ts", "x", 1), 403);
	ck_assert_int_eq(count_files(ID_A), 3);

	ck_assert_int_eq(get("/live/" ID_A "/index.m3u8", &r), 200);
	ck_assert_str_eq(r.body, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n"
	                         "#EXT-X-ENDLIST\n");
	resp_free(&r);
	ck_assert_int_eq(get("/live/" ID_A "/master.m3u8", &r), 200);
	ck_assert_str_eq(r.body, master);
	resp_free(&r);
	ck_assert_int_eq(get("/live/" ID_A "/seg0.ts", &r), 200);
	resp_free(&r);

	/* A stream the instance never saw stops quietly. */
	stop_stream(&in, ID_B, NULL);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

/* 1 when root/id/name exists, a dot file included. */
static int path_exists(const char *id, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s%s%s", root, id, name ? "/" : "", name ? name : "");
	return lstat(p, &st) == 0;
}

/* Issue 18: a restart brings tokens back only through resume(), as the host
 * does with every stream its store says is live; nothing on disk admits an
 * upload, so a stop the store recorded stays final. */
START_TEST(test_restart)
{
	static const char pl[] = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n";
	struct inst in;
	struct bc_endpoint *ea, *eb;
	char ta[64], tb[64], path[256];
	struct resp r;
	FILE *f;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	ck_assert_int_eq(put(ta, ID_A, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(tb, ID_B, "index.m3u8", pl, sizeof(pl) - 1), 201);
	stop_stream(&in, ID_B, eb);
	ck_assert(!path_exists(ID_A, ".stopped"));
	ck_assert(path_exists(ID_B, ".stopped"));
	inst_destroy(&in);
	/* A state file an older version left (it still says live, with A's
	 * hash): ignored and removed, it admits nothing. */
	snprintf(path, sizeof(path), "%s/" ID_A "/.stream", root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "broadcast-local 1\ntoken_sha256 %s\nexpires_ms 0\nstopped_ms 0\n",
	        stubhost_ep_meta(ea, "token_sha256"));
	ck_assert_int_eq(fclose(f), 0);

	/* A new instance on the same root, as after a daemon restart. Until the
	 * host resumes a stream no token works, and the folders stay. */
	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ck_assert(stubhost_log_contains(in.sh, "found 2 stream folder(s) in"));
	ck_assert(stubhost_log_contains(in.sh, "1 of them stopped"));
	ck_assert(!path_exists(ID_A, ".stream"));
	ck_assert_int_eq(put(ta, ID_A, "seg1.ts", "x", 1), 401);
	ck_assert_int_eq(put(NULL, ID_A, "seg1.ts", "x", 1), 401);
	ck_assert_int_eq(put(tb, ID_B, "seg1.ts", "x", 1), 401);
	ck_assert(!file_exists(ID_A, "seg1.ts"));
	/* playback goes on meanwhile, and for the stopped stream */
	ck_assert_int_eq(get("/live/" ID_A "/seg0.ts", &r), 200);
	resp_free(&r);
	ck_assert_int_eq(get("/live/" ID_B "/index.m3u8", &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "#EXT-X-ENDLIST"));
	resp_free(&r);

	/* The host resumes A (live in its store), never B (stopped there). */
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_A, ea, NULL), BC_OK);
	ck_assert_int_eq(put(ta, ID_A, "seg1.ts", "x", 1), 201);
	ck_assert_int_eq(put(tb, ID_A, "seg2.ts", "x", 1), 401);
	ck_assert_int_eq(put(tb, ID_B, "seg1.ts", "x", 1), 401);
	ck_assert_int_eq(count_files(ID_B), 1);
	stop_stream(&in, ID_A, ea);
	ck_assert_int_eq(put(ta, ID_A, "seg2.ts", "x", 1), 403);
	inst_destroy(&in);

	/* And after one more restart, A's stop holds without any resume. */
	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ck_assert(stubhost_log_contains(in.sh, "2 of them stopped"));
	ck_assert_int_eq(put(ta, ID_A, "seg2.ts", "x", 1), 401);
	ck_assert_int_eq(count_files(ID_A), 2);
	ck_assert(!stubhost_log_contains(in.sh, ta));
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	inst_destroy(&in);
}
END_TEST

/* Issue 18: retention across a restart, without a state file. A stopped
 * stream's folder (its stop marker older than the retention) is deleted,
 * but only once the resume grace is over; the folder of a stream the host
 * resumes is never deleted, however long ago it last changed; one nobody
 * resumes (a start never acknowledged, a stream the store forgot) is
 * deleted the retention after its last change, after the grace. */
START_TEST(test_retention_restart)
{
	static const char *const extra[] = { "retention", "3s", NULL };
	struct inst in;
	struct bc_endpoint *ea, *eb, *ec;
	char ta[64], tb[64], tc[64], path[256];
	struct stat st;
	int64_t t_stop;
	int i;

	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	ec = start_stream(&in, "0a1b2c3d-0000-4000-8000-00000000000c", tc);
	ck_assert_int_eq(put(ta, ID_A, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(tb, ID_B, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(tc, "0a1b2c3d-0000-4000-8000-00000000000c", "seg0.ts", "x", 1), 201);
	t_stop = stubhost_api()->now_ms();
	stop_stream(&in, ID_A, ea);
	/* the marker's mtime is the stop time */
	snprintf(path, sizeof(path), "%s/" ID_A "/.stopped", root);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_ge((int64_t)st.st_mtime * 1000, t_stop - 1000);
	ck_assert_int_le((int64_t)st.st_mtime * 1000, t_stop + 2000);
	inst_destroy(&in); /* before A's retention is over (it may take 1 s) */
	ck_assert(path_exists(ID_A, NULL));
	/* Four seconds on, A's retention is over, and B and C have not
	 * changed for longer than it. */
	stubhost_clock_skew(4000);   /* now it is, and B and C have not changed for longer */

	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	/* The host has not resumed yet: the janitor (every 750 ms) spares all. */
	usleep(1600000);
	ck_assert(path_exists(ID_A, NULL));
	ck_assert(path_exists(ID_B, NULL));
	ck_assert(path_exists("0a1b2c3d-0000-4000-8000-00000000000c", NULL));
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_B, eb, NULL), BC_OK);
	/* Five minutes on, the grace is over: A (stopped) and C (never
	 * resumed) go, B (live) stays and takes uploads. */
	stubhost_clock_skew(4000 + 5 * 60 * 1000 + 1000);
	for (i = 0; i < 50 && (path_exists(ID_A, NULL) ||
	                      path_exists("0a1b2c3d-0000-4000-8000-00000000000c", NULL)); i++)
		usleep(100000);
	ck_assert(!path_exists(ID_A, NULL));
	ck_assert(!path_exists("0a1b2c3d-0000-4000-8000-00000000000c", NULL));
	usleep(1600000); /* two more janitor passes */
	ck_assert(path_exists(ID_B, NULL));
	ck_assert_int_eq(put(tb, ID_B, "seg1.ts", "x", 1), 201);
	ck_assert_int_eq(count_files(ID_B), 2);
	ck_assert_uint_eq(stubhost_counter(in.sh, "local_streams_expired_total", NULL), 2);
	/* B stopped now: deleted its retention after, grace or not */
	stop_stream(&in, ID_B, eb);
	for (i = 0; i < 60 && path_exists(ID_B, NULL); i++)
		usleep(100000);
	ck_assert(!path_exists(ID_B, NULL));
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	stubhost_endpoint_free(ec);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_retention)
{
	static const char *const extra[] = { "retention", "1s", NULL };
	struct inst in;
	struct bc_endpoint *ea, *eb;
	char ta[64], tb[64], dir[256];
	struct resp r;
	struct stat st;
	int i;

	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	ck_assert_int_eq(put(ta, ID_A, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(tb, ID_B, "seg0.ts", "x", 1), 201);
	stop_stream(&in, ID_A, ea);
	ck_assert_int_eq(get("/live/" ID_A "/seg0.ts", &r), 200);
	resp_free(&r);
	snprintf(dir, sizeof(dir), "%s/" ID_A, root);
	for (i = 0; i < 50 && stat(dir, &st) == 0; i++)
		usleep(100000);
	ck_assert_int_ne(stat(dir, &st), 0);
	ck_assert_int_eq(get("/live/" ID_A "/seg0.ts", &r), 404);
	resp_free(&r);
	/* the live stream is untouched */
	ck_assert_int_eq(get("/live/" ID_B "/seg0.ts", &r), 200);
	resp_free(&r);
	ck_assert(stubhost_log_contains(in.sh, "retention over"));
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	inst_destroy(&in);
}
END_TEST

/* ---- many threads ---------------------------------------------------------- */

#define CONC_THREADS 8
#define CONC_PER_THREAD 40 /* 320 streams: the hash table grows 64 -> 512 */

struct conc {
	struct inst *in;
	int t;
	const char *same_id; /* non-NULL: every thread starts this one id */
	pthread_barrier_t *go;
	enum bc_status st[CONC_PER_THREAD];
	char token[CONC_PER_THREAD][64];
	int stop_failed;
	int upload_failed;
};

static void conc_id(char *buf, int t, int i)
{
	snprintf(buf, LOCAL_TEST_ID_SIZE, "%08x-0000-4000-8000-%012x", (unsigned)t, (unsigned)i);
}

/* Start this thread's streams, uploading to every other one, then stop
 * every third of them; statuses go into c (Check's asserts belong to the
 * main thread). */
static void *conc_main(void *arg)
{
	struct conc *c = arg;
	struct bc_endpoint *eps[CONC_PER_THREAD];
	int i, n = c->same_id ? 1 : CONC_PER_THREAD;

	pthread_barrier_wait(c->go);
	for (i = 0; i < n; i++) {
		char id[LOCAL_TEST_ID_SIZE];
		struct bc_stream_info info;
		struct bc_error err;
		const char *tok;

		if (c->same_id)
			snprintf(id, sizeof(id), "%s", c->same_id);
		else
			conc_id(id, c->t, i);
		eps[i] = stubhost_endpoint_new();
		memset(&err, 0, sizeof(err));
		stubhost_stream_info(&info, id, "", "hls", "alice", eps[i]);
		c->st[i] = ops->start(c->in->p, &info, eps[i], &err);
		tok = stubhost_ep_value(eps[i], "HTTP", "upload_token");
		snprintf(c->token[i], 64, "%s", tok ? tok : "");
		/* Every other stream gets an upload, which makes its folder
		 * (a start makes none, issue 24), while other threads start. */
		if (!c->same_id && i % 2 == 0 && put(c->token[i], id, "seg0.ts", "x", 1) != 201)
			c->upload_failed++;
	}
	for (i = 0; i < n && !c->same_id; i++) {
		char id[LOCAL_TEST_ID_SIZE];
		struct bc_stream_info info;
		struct bc_error err;

		if (i % 3 != 0)
			continue;
		conc_id(id, c->t, i);
		memset(&err, 0, sizeof(err));
		stubhost_stream_info(&info, id, "", "hls", "alice", eps[i]);
		info.stop_ms = info.start_ms;
		if (ops->stop(c->in->p, &info, &err) != BC_OK)
			c->stop_failed++;
	}
	for (i = 0; i < n; i++)
		stubhost_endpoint_free(eps[i]);
	return NULL;
}

static void conc_run(struct inst *in, struct conc *c, const char *same_id)
{
	pthread_t th[CONC_THREADS];
	pthread_barrier_t go;
	int t;

	ck_assert_int_eq(pthread_barrier_init(&go, NULL, CONC_THREADS), 0);
	for (t = 0; t < CONC_THREADS; t++) {
		memset(&c[t], 0, sizeof(c[t]));
		c[t].in = in;
		c[t].t = t;
		c[t].same_id = same_id;
		c[t].go = &go;
		ck_assert_int_eq(pthread_create(&th[t], NULL, conc_main, &c[t]), 0);
	}
	for (t = 0; t < CONC_THREADS; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&go);
}

START_TEST(test_concurrent)
{
	static struct conc c[CONC_THREADS], r[CONC_THREADS]; /* large: not on the stack */
	struct inst in;
	char id[LOCAL_TEST_ID_SIZE], path[256];
	struct stat st;
	int t, i, ok, win, stopped = 0, folders = 0;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	conc_run(&in, c, NULL);
	for (t = 0; t < CONC_THREADS; t++) {
		ck_assert_int_eq(c[t].stop_failed, 0);
		ck_assert_int_eq(c[t].upload_failed, 0);
		for (i = 0; i < CONC_PER_THREAD; i++) {
			ck_assert_int_eq(c[t].st[i], BC_OK);
			conc_id(id, t, i);
			/* A folder for each stream uploaded to, a stop marker in
			 * those of them that were stopped. */
			snprintf(path, sizeof(path), "%s/%s", root, id);
			ck_assert_int_eq(stat(path, &st) == 0, i % 2 == 0);
			snprintf(path, sizeof(path), "%s/%s/.stopped", root, id);
			ck_assert_int_eq(stat(path, &st) == 0, i % 6 == 0);
			folders += i % 2 == 0;
			stopped += i % 6 == 0;
		}
	}
	ck_assert_uint_eq(stubhost_counter(in.sh, "local_streams_started_total", NULL),
	                  CONC_THREADS * CONC_PER_THREAD);
	/* Every lookup finds its own stream after the table grew. */
	for (t = 0; t < CONC_THREADS; t++) {
		for (i = 0; i < 4; i++) {
			conc_id(id, t, i);
			ck_assert_int_eq(put(c[t].token[i], id, "seg9.ts", "x", 1),
			                 i % 3 == 0 ? 403 : 201);
		}
		conc_id(id, t, 1);
		ck_assert_int_eq(put(c[(t + 1) % CONC_THREADS].token[1], id, "seg0.ts", "x", 1),
		                 401);
	}
	/* Starts of one id at once: exactly one wins, the rest conflict. */
	conc_run(&in, r, ID_A);
	for (t = 0, ok = 0; t < CONC_THREADS; t++) {
		if (r[t].st[0] == BC_OK)
			ok++;
		else
			ck_assert_int_eq(r[t].st[0], BC_E_CONFLICT);
	}
	ck_assert_int_eq(ok, 1);
	for (win = 0; win < CONC_THREADS && r[win].st[0] != BC_OK; win++)
		;
	ck_assert_int_eq(put(r[win].token[0], ID_A, "seg0.ts", "x", 1), 201);
	inst_destroy(&in);

	/* After a restart, the ones the host resumes take uploads, the stopped
	 * ones (never resumed) stay closed. */
	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	{
		char want[192];
		/* + CONC_THREADS: stream 1 of each thread got its first upload in
		 * the lookups above; + 1: the race's winner, ID_A */
		snprintf(want, sizeof(want), "found %d stream folder(s) in %s, %d of them stopped",
		         folders + CONC_THREADS + 1, root, stopped);
		ck_assert_msg(stubhost_log_contains(in.sh, want), "no \"%s\" in the log: %.200s",
		              want, strstr(stubhost_log_text(in.sh), "found ") ?
		                    strstr(stubhost_log_text(in.sh), "found ") : "(none)");
	}
	for (t = 0; t < CONC_THREADS; t++) {
		for (i = 0; i < CONC_PER_THREAD; i++) {
			struct bc_endpoint *meta;
			char hash[65];

			if (i % 3 == 0)
				continue; /* stopped in the store: never resumed */
			conc_id(id, t, i);
			meta = stubhost_endpoint_new();
			stubhost_api()->sha256_hex(c[t].token[i], strlen(c[t].token[i]), hash);
			ck_assert_int_eq(stubhost_api()->meta_set(meta, "token_sha256", hash), BC_OK);
			ck_assert_int_eq(stubhost_resume(ops, in.p, id, meta, NULL), BC_OK);
			stubhost_endpoint_free(meta);
		}
	}
	conc_id(id, 3, 37);
	ck_assert_int_eq(put(c[3].token[37], id, "seg1.ts", "x", 1), 201);
	conc_id(id, 3, 36); /* stopped, with a folder */
	ck_assert_int_eq(put(c[3].token[36], id, "seg1.ts", "x", 1), 401);
	conc_id(id, 3, 39); /* stopped without a folder: unknown after a restart */
	ck_assert_int_eq(put(c[3].token[39], id, "seg1.ts", "x", 1), 404);
	/* the race's winner was not resumed either */
	ck_assert_int_eq(put(r[win].token[0], ID_A, "seg1.ts", "x", 1), 401);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_config_errors)
{
	struct inst a, b;
	static const char *const wild[] = { "public_url", "http://media.example:9/", NULL };
	static const char *const badpl[] = { "playlist", "../x.m3u8", NULL };
	struct bc_endpoint *ep;
	char token[64];

	/* the port is taken */
	ck_assert_int_eq(inst_create(&a, NULL), BC_OK);
	ck_assert_int_eq(inst_create(&b, NULL), BC_E_UNAVAILABLE);
	ck_assert_str_eq(b.err.code, "local.listen_failed");
	ck_assert_ptr_null(b.p);
	inst_destroy(&b);
	inst_destroy(&a);

	ck_assert_int_eq(inst_create(&a, badpl), BC_E_INVALID);
	ck_assert_str_eq(a.err.code, "local.bad_playlist");
	inst_destroy(&a);

	/* public_url replaces the derived base, without its trailing slash */
	ck_assert_int_eq(inst_create(&a, wild), BC_OK);
	ep = start_stream(&a, ID_A, token);
	ck_assert_str_eq(stubhost_ep_value(ep, "HTTP", "upload_url"),
	                 "http://media.example:9/live/" ID_A "/");
	stubhost_endpoint_free(ep);
	inst_destroy(&a);
}
END_TEST

/* Issue 17, 1: the path is judged raw, before CivetWeb would decode it, for
 * every method and route. Before the fix "nul.ts%00.m3u8" stored "nul.ts",
 * "index.m3u8%00.ts" and "{id}%2findex.m3u8" played. */
START_TEST(test_raw_paths)
{
	static const char *const bad[] = {
		"/live/" ID_A "/nul.ts%00.m3u8",
		"/live/" ID_A "/index.m3u8%00.ts",
		"/live/" ID_A "%2findex.m3u8",
		"/live/" ID_A "%2Findex.m3u8",
		"/live/" ID_A "/..%5c" ID_B "%5cindex.m3u8",
		"/live/" ID_A "/%2e%2e/" ID_B "/index.m3u8",
		"/live/" ID_A "/seg%30.ts",          /* a needless escape of '0' */
		"/live/" ID_A "/index.m3u8;x=1",
		"/live/" ID_A "/index.m3u8%3bx=1",
		"/live/" ID_A "/index.m3u8%3f.ts",
		"/live/" ID_A "//index.m3u8",
		"/live//" ID_A "/index.m3u8",
		"/live/" ID_A "/a\\b.ts",
		"/live/" ID_A "/.stream",
		"/live/" ID_A "/%2estream",
		"/live/" ID_A "/index.m3u8%20",
		"/live/" ID_A "/%C3%A9.ts",
		"/live/" ID_A "%00/",
		"/player/hls.js%2DLICENSE",
		"/player/%2e%2e/player/hls.js-LICENSE",
		"/%2e%2e/%2e%2e/etc/passwd",
		"/%00",
		NULL
	};
	static const char *const methods[] = { "PUT", "POST", "GET", "HEAD", "DELETE", "OPTIONS",
	                                       NULL };
	static const char pl[] = "#EXTM3U\n";
	struct inst in;
	struct bc_endpoint *ea, *eb;
	char ta[64], tb[64], auth[128], req[1024], h[64], longp[320];
	struct resp r;
	size_t i, m;
	int n;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	ck_assert_int_eq(put(ta, ID_A, "index.m3u8", pl, sizeof(pl) - 1), 201);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", ta);
	for (i = 0; bad[i] != NULL; i++) {
		for (m = 0; methods[m] != NULL; m++) {
			/* raw bytes: no client library may "fix" the path first */
			n = snprintf(req, sizeof(req),
			             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
			             "Content-Length: 4\r\n\r\nevil",
			             methods[m], bad[i], auth);
			raw(&r, req, (size_t)n);
			ck_assert_msg(r.status == 400, "%s %s: %d", methods[m], bad[i], r.status);
			if (strcmp(methods[m], "HEAD") != 0)
				ck_assert_msg(strstr(r.body, "\"code\":\"local.bad_path\"") != NULL,
				              "%s %s: %s", methods[m], bad[i], r.body);
			ck_assert_str_eq(resp_header(&r, "X-Content-Type-Options", h, sizeof(h)),
			                 "nosniff");
			resp_free(&r);
		}
	}
	/* Raw bytes >= 0x80: CivetWeb refuses them itself (its own error body
	 * until the origin renders CivetWeb's errors as JSON). */
	raw(&r, "PUT /live/" ID_A "/\xc3\xa9.ts HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	    strlen("PUT /live/" ID_A "/\xc3\xa9.ts HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	/* Nothing stored, nothing deleted, in either stream. */
	ck_assert(!file_exists(ID_A, "nul.ts"));
	ck_assert(file_exists(ID_A, "index.m3u8"));
	ck_assert_int_eq(count_files(ID_A), 1);
	ck_assert_int_eq(count_files(ID_B), -1); /* no folder: refusals make none */
	ck_assert_int_eq(count_tmp_files(ID_A), 0);

	/* Very long paths: 414, whatever the method. */
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "/live/" ID_A "/", strlen("/live/" ID_A "/"));
	memcpy(longp + sizeof(longp) - 4, ".ts", 4);
	http(&r, "PUT", longp, auth, "evil", 4, 0);
	ck_assert_int_eq(r.status, 414);
	ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"local.path_too_long\""));
	resp_free(&r);
	ck_assert_int_eq(get(longp, &r), 414);
	resp_free(&r);

	/* A query string is not part of the path: ignored, as before. */
	ck_assert_int_eq(get("/live/" ID_A "/index.m3u8?_=1", &r), 200);
	ck_assert_str_eq(r.body, pl);
	resp_free(&r);

	/* Token scope: A's valid token cannot write B's playlist. */
	http(&r, "PUT", "/live/" ID_B "/index.m3u8", auth, "evil", 4, 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"local.bad_token\""));
	resp_free(&r);
	http(&r, "DELETE", "/live/" ID_B "/index.m3u8", auth, NULL, 0, 0);
	ck_assert_int_eq(r.status, 401);
	resp_free(&r);
	ck_assert(!file_exists(ID_B, "index.m3u8"));

	assert_alive();
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	inst_destroy(&in);
}
END_TEST

/* Issue 17, 2: a body with neither Content-Length nor chunked framing is
 * refused (before the fix HTTP/1.0 stored an empty file, 201). */
START_TEST(test_length_required)
{
	static const char *const versions[] = { "1.0", "1.1", NULL };
	struct inst in;
	struct bc_endpoint *ep;
	char token[64], req[512], h[64];
	struct resp r;
	size_t v;
	int n;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ep = start_stream(&in, ID_A, token);
	for (v = 0; versions[v] != NULL; v++) {
		n = snprintf(req, sizeof(req),
		             "PUT /live/" ID_A "/seg0.ts HTTP/%s\r\nHost: 127.0.0.1\r\n"
		             "Authorization: Bearer %s\r\n\r\nsome body bytes",
		             versions[v], token);
		raw(&r, req, (size_t)n);
		ck_assert_msg(r.status == 411, "HTTP/%s: %d", versions[v], r.status);
		ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"local.length_required\""));
		ck_assert_str_eq(resp_header(&r, "Connection", h, sizeof(h)), "close");
		resp_free(&r);
		ck_assert(!file_exists(ID_A, "seg0.ts"));
	}
	/* chunked framing exists in HTTP/1.1 only: on 1.0 it is faulty
	 * framing (RFC 9112 §6.1), refused before anything is written */
	n = snprintf(req, sizeof(req),
	             "PUT /live/" ID_A "/seg0.ts HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	             "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n"
	             "3\r\nabc\r\n0\r\n\r\n", token);
	raw(&r, req, (size_t)n);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"local.bad_framing\""));
	resp_free(&r);
	ck_assert(!file_exists(ID_A, "seg0.ts"));
	/* chunked on HTTP/1.1 is fine; so is Content-Length */
	n = snprintf(req, sizeof(req),
	             "PUT /live/" ID_A "/seg0.ts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	             "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n"
	             "Connection: close\r\n\r\n"
	             "3\r\nabc\r\n0\r\n\r\n", token);
	raw(&r, req, (size_t)n);
	ck_assert_int_eq(r.status, 201);
	resp_free(&r);
	n = snprintf(req, sizeof(req),
	             "PUT /live/" ID_A "/seg1.ts HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	             "Authorization: Bearer %s\r\nContent-Length: 3\r\n\r\nabc", token);
	raw(&r, req, (size_t)n);
	ck_assert_int_eq(r.status, 201);
	resp_free(&r);
	ck_assert_int_eq(count_files(ID_A), 2);
	assert_alive();
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

/* Issue 17, 3: a body trickled one byte every 0.3 s gets 408 at
 * request_timeout (2 s here), and leaves no file, whole or partial. Before
 * the fix it was read for as long as the client kept sending. */
START_TEST(test_slow_body)
{
	static const char *const extra[] = { "request_timeout", "2s", NULL };
	struct inst in;
	struct bc_endpoint *ep;
	char token[64], req[512], h[64];
	struct resp r;
	int chunked;

	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ep = start_stream(&in, ID_A, token);
	for (chunked = 0; chunked <= 1; chunked++) {
		int fd = origin_connect(), n, answered = 0;
		int64_t t0 = mono_ms();

		n = snprintf(req, sizeof(req),
		             "PUT /live/" ID_A "/slow.ts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		             "Authorization: Bearer %s\r\n%s\r\n", token,
		             chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 1000\r\n");
		ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
		/* one byte (or one 1-byte chunk) every 0.3 s, for at most 8 s */
		while (mono_ms() - t0 < 8000) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, 300) > 0) {
				answered = 1;
				break;
			}
			if (send(fd, chunked ? "1\r\nx\r\n" : "x", chunked ? 6 : 1, MSG_NOSIGNAL) < 0)
				break;
		}
		ck_assert_msg(answered, "no answer after %lld ms", (long long)(mono_ms() - t0));
		ck_assert_int_lt(mono_ms() - t0, 4500);
		memset(&r, 0, sizeof(r));
		read_resp(fd, &r);
		ck_assert_int_eq(r.status, 408);
		ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"local.request_timeout\""));
		ck_assert_str_eq(resp_header(&r, "Connection", h, sizeof(h)), "close");
		resp_free(&r);
		ck_assert(!file_exists(ID_A, "slow.ts"));
		ck_assert_int_eq(count_tmp_files(ID_A), 0);
	}
	/* a prompt upload on the same instance still works */
	ck_assert_int_eq(put(token, ID_A, "fast.ts", "x", 1), 201);
	assert_alive();
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

/* Issue 17, 4: every response says nosniff; Cache-Control is unchanged. */
START_TEST(test_nosniff)
{
	static const char *const paths[] = { "/live/" ID_A "/seg0.ts", "/live/" ID_A "/index.m3u8",
	                                     "/live/" ID_A "/", "/live/" ID_A,
	                                     "/player/hls.light.min.js", "/player/nothing",
	                                     "/live/" ID_A "/nothing.ts", "/", "/nothing", NULL };
	struct inst in;
	struct bc_endpoint *ep;
	char token[64], h[128];
	struct resp r;
	size_t i;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ep = start_stream(&in, ID_A, token);
	ck_assert_int_eq(put(token, ID_A, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(token, ID_A, "index.m3u8", "#EXTM3U\n", 8), 201);
	for (i = 0; paths[i] != NULL; i++) {
		get(paths[i], &r);
		ck_assert_msg(resp_header(&r, "X-Content-Type-Options", h, sizeof(h)) != NULL &&
		              strcmp(h, "nosniff") == 0, "GET %s: no nosniff", paths[i]);
		if (i == 0)
			ck_assert_str_eq(resp_header(&r, "Cache-Control", h, sizeof(h)),
			                 "public, max-age=86400");
		if (i == 1)
			ck_assert_str_eq(resp_header(&r, "Cache-Control", h, sizeof(h)), "no-cache");
		resp_free(&r);
	}
	http(&r, "HEAD", "/live/" ID_A "/seg0.ts", NULL, NULL, 0, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(resp_header(&r, "X-Content-Type-Options", h, sizeof(h)), "nosniff");
	resp_free(&r);
	http(&r, "OPTIONS", "/live/" ID_A "/seg0.ts", NULL, NULL, 0, 0);
	ck_assert_int_eq(r.status, 204);
	ck_assert_str_eq(resp_header(&r, "X-Content-Type-Options", h, sizeof(h)), "nosniff");
	resp_free(&r);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

/* Issue 17, 5: what health and start answer (the daemon shows health on
 * its public /healthz) names no server path; the log has it, once. */
START_TEST(test_errors_without_paths)
{
	struct inst in;
	struct bc_endpoint *ep;
	struct bc_stream_info info;
	struct bc_error err;
	char moved[128], path[256], h[160];
	const char *log, *at;
	int seen = 0;
	FILE *f;

	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	/* a first upload that cannot create the folder (a file is in the
	 * way; a start makes no folder since issue 24, so it succeeds) */
	snprintf(path, sizeof(path), "%s/" ID_B, root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ep = stubhost_endpoint_new();
	memset(&err, 0, sizeof(err));
	stubhost_stream_info(&info, ID_B, "", "hls", "alice", ep);
	ck_assert_int_eq(ops->start(in.p, &info, ep, &err), BC_OK);
	{
		char body[64];
		struct resp r;
		snprintf(h, sizeof(h), "Authorization: Bearer %s\r\n",
		         stubhost_ep_value(ep, "HTTP", "upload_token"));
		memset(body, 'x', sizeof(body));
		http(&r, "PUT", "/live/" ID_B "/seg0.ts", h, body, sizeof(body), 0);
		ck_assert_int_eq(r.status, 503);
		ck_assert_ptr_nonnull(strstr(r.body, "local.write_failed"));
		ck_assert_msg(strstr(r.body, root) == NULL, "the upload said: %s", r.body);
		resp_free(&r);
	}
	ck_assert(stubhost_log_contains(in.sh, path));
	stubhost_endpoint_free(ep);

	/* health with the folder gone, twice, then back */
	snprintf(moved, sizeof(moved), "%s.moved", root);
	ck_assert_int_eq(rename(root, moved), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ops->health(in.p, &err), BC_E_UNAVAILABLE);
	ck_assert_str_eq(err.code, "local.root_unusable");
	ck_assert_msg(strstr(err.message, root) == NULL && strstr(err.message, "/tmp") == NULL,
	              "health said: %s", err.message);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ops->health(in.p, &err), BC_E_UNAVAILABLE);
	ck_assert_int_eq(rename(moved, root), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ops->health(in.p, &err), BC_OK);
	log = stubhost_log_text(in.sh);
	for (at = log; (at = strstr(at, "is not writable")) != NULL; at++)
		seen++;
	ck_assert_int_eq(seen, 1);
	ck_assert(stubhost_log_contains(in.sh, "writable again"));
	inst_destroy(&in);
}
END_TEST

/* ---- ABI 1.1: media reports and resume ---------------------------------------- */

/* Wait up to ms for stream id to have n reports of fact; the count. */
static size_t wait_media(struct inst *in, const char *id, enum bc_media_fact fact, size_t n,
                         int ms)
{
	int64_t end = mono_ms() + ms;
	size_t got;

	while ((got = stubhost_media_count(in->sh, id, fact)) < n && mono_ms() < end)
		usleep(20000);
	return got;
}

/* No report's detail holds the token, and every detail is the uploader's
 * address (or none). */
static void assert_media_details(struct inst *in, const char *token)
{
	struct stubhost_media m;
	size_t i;

	for (i = 0; stubhost_media_at(in->sh, i, &m) == 0; i++) {
		ck_assert_ptr_null(strstr(m.detail, token));
		ck_assert_msg(m.detail_null || strcmp(m.detail, "127.0.0.1") == 0,
		              "report %zu: detail \"%s\"", i, m.detail);
	}
}

START_TEST(test_media_reports)
{
	static const char *const extra[] = { "idle_after", "1s", NULL };
	struct inst in;
	struct bc_endpoint *ea, *eb;
	struct stubhost_media m;
	char ta[64], tb[64], auth[128];
	struct resp r;
	int64_t t0;
	int i;

	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	/* a start is not media; a refused upload is not either */
	ck_assert_int_eq(put("nope", ID_A, "seg0.ts", "x", 1), 401);
	usleep(1300000);
	ck_assert_uint_eq(stubhost_media_count(in.sh, NULL, 0), 0);

	/* the first stored file: publishing, once however many follow */
	t0 = mono_ms();
	ck_assert_int_eq(put(ta, ID_A, "index.m3u8", "#EXTM3U\n", 8), 201);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, BC_MEDIA_FACT_PUBLISHING), 1);
	ck_assert_int_eq(stubhost_media_at(in.sh, 0, &m), 0);
	ck_assert_str_eq(m.stream_id, ID_A);
	ck_assert_int_eq(m.fact, BC_MEDIA_FACT_PUBLISHING);
	ck_assert_str_eq(m.detail, "127.0.0.1");
	ck_assert_int_eq(put(ta, ID_A, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(ta, ID_A, "seg0.ts", "y", 1), 204);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, 0), 1);
	/* a DELETE is not an upload */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", ta);
	http(&r, "DELETE", "/live/" ID_A "/seg0.ts", auth, NULL, 0, 0);
	ck_assert_int_eq(r.status, 204);
	resp_free(&r);

	/* idle once idle_after (1 s) passes without an upload, and only once */
	ck_assert_uint_eq(wait_media(&in, ID_A, BC_MEDIA_FACT_IDLE, 1, 3000), 1);
	ck_assert_int_ge(mono_ms() - t0, 1000);
	usleep(1500000);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, 0), 2);
	ck_assert_int_eq(stubhost_media_at(in.sh, 1, &m), 0);
	ck_assert_int_eq(m.fact, BC_MEDIA_FACT_IDLE);
	ck_assert_str_eq(m.detail, "127.0.0.1");

	/* uploads resume: publishing again, once */
	ck_assert_int_eq(put(ta, ID_A, "seg1.ts", "x", 1), 201);
	ck_assert_int_eq(put(ta, ID_A, "seg2.ts", "x", 1), 201);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, BC_MEDIA_FACT_PUBLISHING), 2);
	ck_assert_int_eq(stubhost_media_at(in.sh, 2, &m), 0);
	ck_assert_int_eq(m.fact, BC_MEDIA_FACT_PUBLISHING);

	/* B is its own stream; uploads every 0.3 s keep it publishing */
	for (t0 = mono_ms(), i = 0; mono_ms() - t0 < 2000; i++) {
		ck_assert_int_eq(put(tb, ID_B, "index.m3u8", "#EXTM3U\n", 8), i == 0 ? 201 : 204);
		usleep(300000);
	}
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_B, BC_MEDIA_FACT_PUBLISHING), 1);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_B, BC_MEDIA_FACT_IDLE), 0);

	/* a stopped stream is not reported idle */
	stop_stream(&in, ID_B, eb);
	usleep(1500000);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_B, 0), 1);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, BC_MEDIA_FACT_IDLE), 2);
	ck_assert_uint_eq(stubhost_media_count(in.sh, NULL, 0), 5);

	/* a full host queue drops a fact: the next change is reported as usual */
	stubhost_media_fail(in.sh, BC_E_UNAVAILABLE);
	ck_assert_int_eq(put(ta, ID_A, "seg3.ts", "x", 1), 201);
	stubhost_media_fail(in.sh, BC_OK);
	ck_assert(stubhost_log_contains(in.sh, "did not take a media report"));
	ck_assert_uint_eq(wait_media(&in, ID_A, BC_MEDIA_FACT_IDLE, 3, 3000), 3);

	assert_media_details(&in, ta);
	assert_media_details(&in, tb);
	ck_assert(!stubhost_log_contains(in.sh, ta));
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
	inst_destroy(&in);
}
END_TEST

/* On a host without media_report (a 1.0 table) the origin works as before. */
START_TEST(test_media_old_host)
{
	static const char *const extra[] = { "idle_after", "1s", NULL };
	struct inst in;
	struct bc_endpoint *ep;
	char token[64];

	ck_assert(!BC_HAS_MEMBER(stubhost_api_1_0(), struct bc_host_api, media_report));
	ck_assert_int_eq(inst_create_api(&in, extra, stubhost_api_1_0()), BC_OK);
	ep = start_stream(&in, ID_A, token);
	ck_assert_int_eq(put(token, ID_A, "seg0.ts", "x", 1), 201);
	usleep(1500000);
	ck_assert_int_eq(put(token, ID_A, "seg1.ts", "x", 1), 201);
	stop_stream(&in, ID_A, ep);
	ck_assert_int_eq(put(token, ID_A, "seg2.ts", "x", 1), 403);
	ck_assert_uint_eq(stubhost_media_count(in.sh, NULL, 0), 0);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

/* The meta start() keeps is enough to take a stream back: a fresh
 * instance re-admits the token through resume(), as the host does after a
 * restart with every live stream; nothing else does. */
START_TEST(test_resume)
{
	static const char *const extra[] = { "idle_after", "1s", NULL };
	struct inst in;
	struct bc_endpoint *ea, *eb, *old;
	struct bc_error err;
	char ta[64], tb[64], hash[65];
	const char *exp;
	int64_t now;

	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ea = start_stream(&in, ID_A, ta);
	eb = start_stream(&in, ID_B, tb);
	/* what resume needs is in the record's meta: the hash and the expiry */
	stubhost_api()->sha256_hex(ta, strlen(ta), hash);
	ck_assert_str_eq(stubhost_ep_meta(ea, "token_sha256"), hash);
	exp = stubhost_ep_meta(ea, "token_expires_ms");
	ck_assert_ptr_nonnull(exp);
	now = stubhost_api()->now_ms();
	ck_assert_int_ge(strtoll(exp, NULL, 10), now + 36LL * 3600 * 1000 - 60000);
	ck_assert_int_le(strtoll(exp, NULL, 10), now + 36LL * 3600 * 1000);
	ck_assert_int_eq(put(ta, ID_A, "seg0.ts", "x", 1), 201);
	ck_assert_int_eq(put(tb, ID_B, "seg0.ts", "x", 1), 201);
	stop_stream(&in, ID_B, eb);
	inst_destroy(&in);

	/* The folder alone admits no upload. */
	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ck_assert_int_eq(put(ta, ID_A, "seg1.ts", "x", 1), 401);
	/* resume() from the store's meta re-admits it, twice is once */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_A, ea, &err), BC_OK);
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_A, ea, &err), BC_OK);
	ck_assert_int_eq(put(ta, ID_A, "seg1.ts", "x", 1), 201);
	ck_assert_int_eq(put(tb, ID_A, "seg2.ts", "x", 1), 401);
	ck_assert(file_exists(ID_A, "seg0.ts"));
	/* media after resume: the first upload says publishing, once */
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, BC_MEDIA_FACT_PUBLISHING), 1);
	ck_assert_int_eq(put(ta, ID_A, "seg2.ts", "x", 1), 201);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, 0), 1);
	/* resume wrote nothing to the folder */
	ck_assert(!path_exists(ID_A, ".stream"));
	ck_assert(!path_exists(ID_A, ".stopped"));
	/* B was stopped and is never resumed: its token is not known */
	ck_assert_int_eq(put(tb, ID_B, "seg1.ts", "x", 1), 401);
	/* a resume without the meta cannot admit anything */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(stubhost_resume(ops, in.p, "0a1b2c3d-0000-4000-8000-0000000000ee", NULL,
	                                 &err),
	                 BC_E_INVALID);
	ck_assert_str_eq(err.code, "local.no_token_meta");
	inst_destroy(&in);

	/* A new, empty root (the folders are gone): resume makes no folder,
	 * the first upload does; no upload follows at first, so after idle_after the stream is reported idle
	 * (the host may still think it publishing). */
	rm_rf(root);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_eq(inst_create(&in, extra), BC_OK);
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_A, ea, NULL), BC_OK);
	ck_assert_uint_eq(wait_media(&in, ID_A, BC_MEDIA_FACT_IDLE, 1, 3000), 1);
	ck_assert_int_eq(put(ta, ID_A, "seg3.ts", "x", 1), 201);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, BC_MEDIA_FACT_PUBLISHING), 1);
	ck_assert_uint_eq(stubhost_media_count(in.sh, ID_A, 0), 2);
	ck_assert_int_eq(count_files(ID_A), 1);
	stop_stream(&in, ID_A, ea);
	ck_assert_int_eq(put(ta, ID_A, "seg4.ts", "x", 1), 403);
	inst_destroy(&in);

	/* Meta from before token_expires_ms existed: start_ms + token_ttl. An
	 * expired one is refused as expired; a stop the folder's marker
	 * recorded but the store did not (the store says live) opens again,
	 * and the marker goes. */
	ck_assert(path_exists(ID_A, ".stopped"));
	old = stubhost_endpoint_new();
	ck_assert_int_eq(stubhost_api()->meta_set(old, "token_sha256", hash), BC_OK);
	ck_assert_int_eq(inst_create(&in, (const char *const[]){ "token_ttl", "1s", NULL }), BC_OK);
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_A, old, NULL), BC_OK);
	ck_assert_int_eq(put(ta, ID_A, "seg5.ts", "x", 1), 201);
	ck_assert(stubhost_log_contains(in.sh, "the store says live"));
	ck_assert(!path_exists(ID_A, ".stopped"));
	ck_assert_int_eq(stubhost_api()->meta_set(old, "token_expires_ms", "1000"), BC_OK);
	ck_assert_int_eq(stubhost_resume(ops, in.p, ID_A, old, NULL), BC_OK);
	ck_assert_int_eq(put(ta, ID_A, "seg6.ts", "x", 1), 401);
	ck_assert(!stubhost_log_contains(in.sh, ta));
	stubhost_endpoint_free(old);
	inst_destroy(&in);
	stubhost_endpoint_free(ea);
	stubhost_endpoint_free(eb);
}
END_TEST

static Suite *local_suite(void)
{
	Suite *s = suite_create("local_origin");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_endpoint);
	tcase_add_test(tc, test_upload_and_play);
	tcase_add_test(tc, test_auth);
	tcase_add_test(tc, test_bad_paths);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_retention_restart);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_raw_paths);
	tcase_add_test(tc, test_length_required);
	tcase_add_test(tc, test_slow_body);
	tcase_add_test(tc, test_nosniff);
	tcase_add_test(tc, test_errors_without_paths);
	tcase_add_test(tc, test_media_reports);
	tcase_add_test(tc, test_media_old_host);
	tcase_add_test(tc, test_resume);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(local_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
