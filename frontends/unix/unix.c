/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unix.c: the Unix socket frontend (frontend_unix.so, YAML `type: unix`).
 *
 * The operator's and local applications' way into the API: no tokens and no
 * TCP; the kernel tells us who the peer is (SO_PEERCRED) and the caller is
 * "uid:<n>". This file holds the instance's lifecycle: check() (ABI 1.1)
 * validates the options without binding or creating anything, create() runs
 * it and binds the socket, start() runs the accept thread, drain() stops
 * accepting and waits for the connections, destroy() removes the socket.
 * Serving one connection (framing, JSON, api->call()) is unix_conn.c's job.
 *
 * Threads: one accept thread per instance, plus one thread per connection,
 * at most max_clients at once; a client over the cap gets a 503 line and is
 * closed rather than left waiting unseen in the backlog. Threads are joined
 * (never detached) so that no code of this .so runs after destroy().
 *
 * The socket file: create() binds it under a temporary name in the target
 * directory and gives it its mode; start() rename()s it over the path, so it
 * never exists with the wrong permissions and a stale socket is replaced in
 * one atomic step. A path that exists and is not a socket is never touched;
 * a socket that still answers belongs to a running server and is refused as
 * "in use", unless that server is this very process (a reload replacing the
 * instance). destroy() removes the file only while it is still ours.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <broadcast/frontend.h>

#include "unix_conn.h"

/* The socket path when the YAML gives none. broadcastctl uses the same. */
#define UNIX_DEFAULT_PATH "/run/broadcast/control.sock"

static void unix_destroy(void *instance);

/* ---- options ----------------------------------------------------------- */

/* Parse the `mode` option: octal digits only, at most 0777. */
static int unix_parse_mode(const char *s, unsigned *out)
{
	unsigned v = 0;
	if (s == NULL || *s == '\0' || strlen(s) > 4)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 0777)
		return -1;
	*out = v;
	return 0;
}

/* A number, or failing that a user (is_group 0) or group name. */
static int unix_parse_id(const char *s, int is_group, unsigned *out)
{
	char *end = NULL;
	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end == '\0' && errno == 0 && s[0] != '-' && v < UINT_MAX) {
		*out = (unsigned)v;
		return 0;
	}
	char scratch[4096];
	if (is_group) {
		struct group gr, *res = NULL;
		if (getgrnam_r(s, &gr, scratch, sizeof scratch, &res) != 0 || res == NULL)
			return -1;
		*out = (unsigned)res->gr_gid;
	} else {
		struct passwd pw, *res = NULL;
		if (getpwnam_r(s, &pw, scratch, sizeof scratch, &res) != 0 || res == NULL)
			return -1;
		*out = (unsigned)res->pw_uid;
	}
	return 0;
}

/* Read the LIST option `key` into a fresh array of ids. */
static enum bc_status unix_read_ids(const struct bc_host_api *api, const struct bc_config *cfg,
                                    const char *key, int is_group, unsigned **out,
                                    size_t *n_out, struct bc_error *err)
{
	size_t n = api->cfg_list_len(cfg, key);
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return BC_OK;
	unsigned *ids = calloc(n, sizeof *ids);
	if (ids == NULL)
		return api->fail(err, BC_E_NOMEM, "unix.nomem", "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *s = api->cfg_list_at(cfg, key, i);
		if (unix_parse_id(s, is_group, &ids[i]) < 0) {
			free(ids);
			return api->fail(err, BC_E_INVALID, "unix.bad_id",
			                 "%s: \"%s\" is neither a number nor a known %s name", key,
			                 s != NULL ? s : "", is_group ? "group" : "user");
		}
	}
	*out = ids;
	*n_out = n;
	return BC_OK;
}

static enum bc_status unix_read_mode(const struct bc_host_api *api, const struct bc_config *cfg,
                                     unsigned *out, struct bc_error *err)
{
	const char *mode = api->cfg_str(cfg, "mode");
	if (unix_parse_mode(mode != NULL ? mode : "0660", out) < 0)
		return api->fail(err, BC_E_INVALID, "unix.bad_mode",
		                 "mode \"%s\" is not an octal file mode such as \"0660\"",
		                 mode != NULL ? mode : "");
	return BC_OK;
}

static enum bc_status unix_check_limits(const struct bc_host_api *api,
                                        const struct bc_config *cfg, struct bc_error *err)
{
	if (api->cfg_int(cfg, "max_line") < 64 || api->cfg_int(cfg, "idle_timeout") < 100 ||
	    api->cfg_int(cfg, "max_clients") < 1)
		return api->fail(err, BC_E_INVALID, "unix.bad_limit",
		                 "max_line must be at least 64 bytes, idle_timeout at least 100ms "
		                 "and max_clients at least 1");
	return BC_OK;
}

static const char *unix_path_of(const struct bc_host_api *api, const struct bc_config *cfg)
{
	const char *path = api->cfg_str(cfg, "path");
	return path != NULL && *path ? path : UNIX_DEFAULT_PATH;
}

/* "/run/broadcast/control.sock" -> "/run/broadcast" in dir, "." for a bare
 * name, "/" for one in the root. -1 when it does not fit. */
static int unix_dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n;
	if (slash == NULL)
		n = snprintf(dir, len, ".");
	else if (slash == path)
		n = snprintf(dir, len, "/");
	else
		n = snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* What can be told of `path` without touching it: it fits a socket
 * address (and so does the temporary name beside it), its folder exists or
 * is one missing level create() makes, and what is there now is nothing or
 * a socket (a stale one is replaced; whether a live server holds it only
 * create() finds out). */
static enum bc_status unix_check_path(const struct bc_host_api *api, const char *path,
                                      struct bc_error *err)
{
	struct sockaddr_un sa;
	char dir[sizeof sa.sun_path], up[sizeof sa.sun_path];
	struct stat st;

	if (strlen(path) >= sizeof sa.sun_path)
		return api->fail(err, BC_E_INVALID, "unix.path_too_long",
		                 "path %s is longer than the %zu bytes a Unix socket address holds",
		                 path, sizeof sa.sun_path - 1);
	/* the temporary name: DIR/.bcXXXXXXXX.sock */
	if (unix_dir_of(path, dir, sizeof dir) < 0 ||
	    strlen(strcmp(dir, "/") ? dir : "") + 17 >= sizeof sa.sun_path)
		return api->fail(err, BC_E_INVALID, "unix.path_too_long",
		                 "the directory of %s is too long for a Unix socket address (at "
		                 "most %zu bytes)",
		                 path, sizeof sa.sun_path - 18);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return api->fail(err, BC_E_INVALID, "unix.bad_path",
			                 "%s, the directory of path %s, is not a directory", dir, path);
	} else if (errno == ENOENT) {
		/* one missing level is created by create(), no more */
		if (unix_dir_of(dir, up, sizeof up) == 0 && stat(up, &st) != 0)
			return api->fail(err, BC_E_INVALID, "unix.bad_path",
			                 "cannot create directory %s for the socket: %s missing too "
			                 "(only one missing level is created)", dir, up);
		return BC_OK;
	}
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return BC_OK;
		return api->fail(err, BC_E_INVALID, "unix.bad_path", "cannot inspect %s: %s", path,
		                 strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return api->fail(err, BC_E_INVALID, "unix.not_a_socket",
		                 "refusing to replace %s: it exists and is not a socket; remove it "
		                 "or choose another path",
		                 path);
	return BC_OK;
}

/* ABI 1.1 check(): path (above), mode, users and groups (numbers, or names
 * the system knows), limits. Binds and creates nothing. */
static enum bc_status unix_check(const struct bc_host_api *api, const struct bc_config *cfg,
                                 struct bc_error *err)
{
	unsigned mode, *ids = NULL, gid;
	size_t n = 0;
	enum bc_status rc = unix_check_path(api, unix_path_of(api, cfg), err);

	if (rc == BC_OK)
		rc = unix_read_mode(api, cfg, &mode, err);
	if (rc == BC_OK)
		rc = unix_read_ids(api, cfg, "allow_uids", 0, &ids, &n, err);
	free(ids);
	ids = NULL;
	if (rc == BC_OK)
		rc = unix_read_ids(api, cfg, "allow_gids", 1, &ids, &n, err);
	free(ids);
	if (rc == BC_OK)
		rc = unix_check_limits(api, cfg, err);
	if (rc == BC_OK && api->cfg_is_set(cfg, "group") &&
	    unix_parse_id(api->cfg_str(cfg, "group"), 1, &gid) < 0)
		rc = api->fail(err, BC_E_INVALID, "unix.bad_id",
		               "group: \"%s\" is neither a number nor a known group name",
		               api->cfg_str(cfg, "group"));
	return rc;
}

/* ---- the socket file ----------------------------------------------------- */

static int unix_fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -1;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Look at what is at fe->path now. BC_OK when nothing is there or a stale
 * socket we may replace; an error when it is not a socket, or a live socket
 * of another process. */
static enum bc_status unix_check_target(struct unix_frontend *fe, struct bc_error *err)
{
	const struct bc_host_api *api = fe->api;
	struct stat st;
	struct sockaddr_un sa;
	enum bc_status rc = BC_OK;
	int probe = -1;

	if (lstat(fe->path, &st) < 0) {
		if (errno == ENOENT)
			return BC_OK;
		return api->fail(err, BC_E_INVALID, "unix.bad_path", "cannot inspect %s: %s",
		                 fe->path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return api->fail(err, BC_E_INVALID, "unix.not_a_socket",
		                 "refusing to replace %s: it exists and is not a socket; remove it "
		                 "or choose another path",
		                 fe->path);

	unix_fill_addr(&sa, fe->path);
	/* non-blocking: a live server with a full backlog must not hang us */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0) {
		rc = api->fail(err, BC_E_INTERNAL, "unix.socket_failed", "socket(): %s",
		               strerror(errno));
		goto out;
	}
	if (connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
		struct ucred cred;
		socklen_t cl = sizeof cred;
		if (getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 &&
		    cred.pid == getpid()) {
			/* our own instance, being replaced by a reload: take its path;
			 * its destroy() sees the new inode and leaves the file alone */
			api->log(fe->host, BC_LOG_INFO, "taking over %s from this daemon's previous instance",
			         fe->path);
			goto out;
		}
		rc = api->fail(err, BC_E_UNAVAILABLE, "unix.in_use",
		               "%s is already in use by a running server (pid %ld); stop it or "
		               "choose another path",
		               fe->path, (long)cred.pid);
		goto out;
	}
	if (errno == EAGAIN) {
		rc = api->fail(err, BC_E_UNAVAILABLE, "unix.in_use",
		               "%s is already in use by a running (busy) server; stop it or "
		               "choose another path",
		               fe->path);
		goto out;
	}
	if (errno == ECONNREFUSED) {
		api->log(fe->host, BC_LOG_INFO, "replacing stale socket %s", fe->path);
		goto out;
	}
	rc = api->fail(err, BC_E_INVALID, "unix.bad_path",
	               "%s exists and cannot be probed (%s); remove it or choose another path",
	               fe->path, strerror(errno));
out:
	if (probe >= 0)
		close(probe);
	return rc;
}

/* Bind and listen under a temporary name beside fe->path (fe->tmp_path),
 * after checking what is at fe->path now. unix_publish() moves it into place
 * when serving starts. */
static enum bc_status unix_bind(struct unix_frontend *fe, const char *group,
                                struct bc_error *err)
{
	const struct bc_host_api *api = fe->api;
	enum bc_status rc = BC_OK;
	char *dir = NULL;
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
	struct sockaddr_un sa;
	struct stat st;

	tmp[0] = '\0';
	if (unix_fill_addr(&sa, fe->path) < 0)
		return api->fail(err, BC_E_INVALID, "unix.path_too_long",
		                 "path %s is longer than the %zu bytes a Unix socket address holds",
		                 fe->path, sizeof sa.sun_path - 1);

	dir = strdup(fe->path);
	if (dir == NULL)
		return api->fail(err, BC_E_NOMEM, "unix.nomem", "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';

	/* one missing level (the usual /run/broadcast) is created, no more */
	if (stat(dir, &st) < 0 && errno == ENOENT) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			rc = api->fail(err, BC_E_INVALID, "unix.bad_path",
			               "cannot create directory %s for the socket: %s", dir,
			               strerror(errno));
			goto out;
		}
		api->log(fe->host, BC_LOG_INFO, "created directory %s", dir);
	}

	rc = unix_check_target(fe, err);
	if (rc != BC_OK)
		goto out;

	unsigned char rnd[4];
	if (api->random(rnd, sizeof rnd) != BC_OK) {
		rc = api->fail(err, BC_E_INTERNAL, "unix.random_failed", "no random bytes");
		goto out;
	}
	int n = snprintf(tmp, sizeof tmp, "%s/.bc%02x%02x%02x%02x.sock", strcmp(dir, "/") ? dir : "",
	                 rnd[0], rnd[1], rnd[2], rnd[3]);
	struct sockaddr_un tsa;
	if (n < 0 || (size_t)n >= sizeof tmp || unix_fill_addr(&tsa, tmp) < 0) {
		rc = api->fail(err, BC_E_INVALID, "unix.path_too_long",
		               "the directory %s is too long for a Unix socket address (at most "
		               "%zu bytes)",
		               dir, sizeof sa.sun_path - 18);
		goto out;
	}

	fe->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fe->listen_fd < 0) {
		rc = api->fail(err, BC_E_INTERNAL, "unix.socket_failed", "socket(): %s",
		               strerror(errno));
		goto out;
	}
	if (bind(fe->listen_fd, (struct sockaddr *)&tsa, sizeof tsa) < 0) {
		rc = api->fail(err, BC_E_INVALID, "unix.bind_failed", "cannot bind %s: %s", tmp,
		               strerror(errno));
		goto out;
	}
	fe->tmp_path = strdup(tmp);
	if (fe->tmp_path == NULL) {
		unlink(tmp);
		rc = api->fail(err, BC_E_NOMEM, "unix.nomem", "out of memory");
		goto out;
	}
	if (chmod(tmp, fe->mode) < 0) {
		rc = api->fail(err, BC_E_INVALID, "unix.chmod_failed", "cannot chmod %s: %s", tmp,
		               strerror(errno));
		goto out;
	}
	if (group != NULL) {
		unsigned gid;
		if (unix_parse_id(group, 1, &gid) < 0) {
			rc = api->fail(err, BC_E_INVALID, "unix.bad_id",
			               "group: \"%s\" is neither a number nor a known group name", group);
			goto out;
		}
		if (chown(tmp, (uid_t)-1, (gid_t)gid) < 0) {
			rc = api->fail(err, BC_E_INVALID, "unix.chown_failed",
			               "cannot give the socket to group %s: %s", group, strerror(errno));
			goto out;
		}
	}
	if (listen(fe->listen_fd, SOMAXCONN) < 0) {
		rc = api->fail(err, BC_E_INTERNAL, "unix.listen_failed", "listen(): %s",
		               strerror(errno));
		goto out;
	}
out:
	free(dir);
	return rc;
}

/* Move the bound socket from its temporary name to fe->path. Done in
 * start(), not create(): when a reload builds this instance to replace a
 * running one and then fails elsewhere, the running one keeps its path. */
static enum bc_status unix_publish(struct unix_frontend *fe, struct bc_error *err)
{
	const struct bc_host_api *api = fe->api;
	struct stat st;

	/* the check again, right before replacing: keep the window tiny */
	if (lstat(fe->path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return api->fail(err, BC_E_INVALID, "unix.not_a_socket",
		                 "refusing to replace %s: it exists and is not a socket", fe->path);
	if (rename(fe->tmp_path, fe->path) < 0)
		return api->fail(err, BC_E_INVALID, "unix.bind_failed",
		                 "cannot move the socket to %s: %s", fe->path, strerror(errno));
	free(fe->tmp_path);
	fe->tmp_path = NULL;
	if (stat(fe->path, &st) == 0) {
		fe->sock_dev = st.st_dev;
		fe->sock_ino = st.st_ino;
		fe->is_bound = 1;
	}
	return BC_OK;
}

/* Remove the socket file if it is still the one we created. */
static void unix_unlink(struct unix_frontend *fe)
{
	struct stat st;
	if (fe->tmp_path != NULL) {
		unlink(fe->tmp_path);
		free(fe->tmp_path);
		fe->tmp_path = NULL;
	}
	if (!fe->is_bound)
		return;
	if (lstat(fe->path, &st) == 0 && st.st_dev == fe->sock_dev && st.st_ino == fe->sock_ino)
		unlink(fe->path);
	fe->is_bound = 0;
}

/* ---- access ---------------------------------------------------------------- */

/* Whether the peer may use the API: listed uid, or listed gid (primary or
 * supplementary, SO_PEERGROUPS); with no lists, root and the daemon's uid. */
static int unix_is_allowed(struct unix_frontend *fe, int fd, const struct ucred *cred)
{
	if (fe->n_allow_uids == 0 && fe->n_allow_gids == 0)
		return cred->uid == 0 || cred->uid == fe->own_uid;
	for (size_t i = 0; i < fe->n_allow_uids; i++)
		if (fe->allow_uids[i] == cred->uid)
			return 1;
	if (fe->n_allow_gids == 0)
		return 0;
	for (size_t i = 0; i < fe->n_allow_gids; i++)
		if (fe->allow_gids[i] == cred->gid)
			return 1;

	int allowed = 0;
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *groups = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		gid_t *g = realloc(groups, len);
		if (g == NULL)
			break;
		groups = g;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
			for (size_t i = 0; i < len / sizeof(gid_t) && !allowed; i++)
				for (size_t j = 0; j < fe->n_allow_gids; j++)
					if (groups[i] == fe->allow_gids[j])
						allowed = 1;
			break;
		}
		if (errno != ERANGE)
			break; /* old kernel: the primary gid was all we could check */
	}
	free(groups);
	return allowed;
}

static void unix_count(struct unix_frontend *fe, const char *result)
{
	char labels[48];
	if (fe->api->counter_add == NULL)
		return;
	snprintf(labels, sizeof labels, "result=\"%s\"", result);
	fe->api->counter_add(fe->host, "unix_connections_total", labels, 1);
}

/* Join and free connections whose threads ended. Accept thread or drain only. */
static void unix_reap(struct unix_frontend *fe, int all)
{
	for (;;) {
		struct unix_conn *found = NULL;
		pthread_mutex_lock(&fe->lock);
		for (struct unix_conn **pp = &fe->conns; *pp != NULL; pp = &(*pp)->next) {
			if (all || (*pp)->done) {
				found = *pp;
				*pp = found->next;
				break;
			}
		}
		pthread_mutex_unlock(&fe->lock);
		if (found == NULL)
			return;
		pthread_join(found->thread, NULL);
		free(found);
	}
}

/* Take one accepted connection: check the peer, then give it a thread. */
static void unix_take(struct unix_frontend *fe, int fd)
{
	const struct bc_host_api *api = fe->api;
	struct ucred cred;
	socklen_t cl = sizeof cred;
	char msg[200];

	/* bounds a peer that stops reading while we write to it */
	int64_t ms = fe->idle_timeout_ms;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		api->log(fe->host, BC_LOG_WARN, "SO_PEERCRED failed: %s; connection closed",
		         strerror(errno));
		close(fd);
		return;
	}
	/* a refused peer still gets a thread (counted in max_clients): its
	 * refusal line is written and the connection lingers there, never
	 * stalling this accept loop */
	int refused = !unix_is_allowed(fe, fd, &cred);
	if (refused)
		api->log(fe->host, BC_LOG_WARN, "refused uid:%u (gid %u, pid %ld): not allowed by "
		         "allow_uids/allow_gids", (unsigned)cred.uid, (unsigned)cred.gid, (long)cred.pid);

	unix_reap(fe, 0);
	struct unix_conn *c = calloc(1, sizeof *c);
	pthread_mutex_lock(&fe->lock);
	int busy = fe->n_active >= fe->max_clients;
	if (c != NULL && !busy) {
		c->fe = fe;
		c->fd = fd;
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->refused = refused;
		pthread_attr_t attr;
		int made = pthread_attr_init(&attr) == 0;
		if (made && pthread_attr_setstacksize(&attr, UNIX_CONN_STACK_SIZE) != 0) {
			pthread_attr_destroy(&attr);
			made = 0;
		}
		/* under the lock, so the new thread's exit waits until it is listed */
		int started = made && pthread_create(&c->thread, &attr, unix_conn_main, c) == 0;
		if (made)
			pthread_attr_destroy(&attr);
		if (started) {
			c->next = fe->conns;
			fe->conns = c;
			fe->n_active++;
			pthread_mutex_unlock(&fe->lock);
			unix_count(fe, refused ? "forbidden" : "accepted");
			return;
		}
	}
	pthread_mutex_unlock(&fe->lock);
	free(c);
	snprintf(msg, sizeof msg, "too many connections (max_clients %zu); try again shortly",
	         fe->max_clients);
	api->log(fe->host, busy ? BC_LOG_WARN : BC_LOG_ERROR, "turned away uid:%u pid %ld: %s",
	         (unsigned)cred.uid, (long)cred.pid, busy ? "max_clients reached" : "no thread");
	unix_conn_send_error(fd, 503, "unix.busy", msg);
	unix_count(fe, "busy");
	/* discard what already arrived, so the close does not reset the peer
	 * before it reads the line (see unix_conn_linger; no waiting here) */
	shutdown(fd, SHUT_WR);
	char sink[4096];
	while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
		;
	close(fd);
}

static void *unix_accept_main(void *arg)
{
	struct unix_frontend *fe = arg;
	const struct bc_host_api *api = fe->api;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fe->listen_fd, .events = POLLIN },
			{ .fd = fe->stop_pipe[0], .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			api->log(fe->host, BC_LOG_ERROR, "poll(): %s; no longer accepting", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		int fd = accept4(fe->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: back off instead of spinning on POLLIN */
				api->log(fe->host, BC_LOG_WARN, "accept(): %s", strerror(errno));
				poll(&pfd[1], 1, 100);
			}
			continue;
		}
		unix_take(fe, fd);
	}
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------- */

static enum bc_status unix_create(const struct bc_host_api *api, struct bc_host *host,
                                  const struct bc_config *cfg, void **instance,
                                  struct bc_error *err)
{
	enum bc_status rc = BC_OK;
	struct unix_frontend *fe = calloc(1, sizeof *fe);
	int locks = 0;

	if (fe == NULL)
		return api->fail(err, BC_E_NOMEM, "unix.nomem", "out of memory");
	fe->api = api;
	fe->host = host;
	fe->listen_fd = -1;
	fe->stop_pipe[0] = fe->stop_pipe[1] = -1;
	fe->own_uid = geteuid();

	/* The host ran check() already; again here, so that a direct create()
	 * answers the same. */
	rc = unix_check(api, cfg, err);
	if (rc != BC_OK)
		goto out;
	fe->path = strdup(unix_path_of(api, cfg));
	if (fe->path == NULL) {
		rc = api->fail(err, BC_E_NOMEM, "unix.nomem", "out of memory");
		goto out;
	}
	rc = unix_read_mode(api, cfg, &fe->mode, err);
	if (rc != BC_OK)
		goto out;
	unsigned *ids = NULL;
	size_t n = 0;
	rc = unix_read_ids(api, cfg, "allow_uids", 0, &ids, &n, err);
	if (rc != BC_OK)
		goto out;
	fe->allow_uids = (uid_t *)ids;
	fe->n_allow_uids = n;
	rc = unix_read_ids(api, cfg, "allow_gids", 1, &ids, &n, err);
	if (rc != BC_OK)
		goto out;
	fe->allow_gids = (gid_t *)ids;
	fe->n_allow_gids = n;
	_Static_assert(sizeof(uid_t) == sizeof(unsigned) && sizeof(gid_t) == sizeof(unsigned),
	               "uid_t and gid_t are read as unsigned");

	fe->max_line = (size_t)api->cfg_int(cfg, "max_line");
	fe->idle_timeout_ms = api->cfg_int(cfg, "idle_timeout");
	fe->max_clients = (size_t)api->cfg_int(cfg, "max_clients");

	if (pipe2(fe->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = api->fail(err, BC_E_INTERNAL, "unix.pipe_failed", "pipe(): %s", strerror(errno));
		goto out;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&fe->lock, NULL);
	pthread_cond_init(&fe->changed, &ca);
	pthread_condattr_destroy(&ca);
	locks = 1;

	const char *group = api->cfg_is_set(cfg, "group") ? api->cfg_str(cfg, "group") : NULL;
	rc = unix_bind(fe, group, err);
	if (rc != BC_OK)
		goto out;
out:
	if (rc != BC_OK) {
		if (!locks) {
			/* unix_destroy() expects initialised locks */
			pthread_mutex_init(&fe->lock, NULL);
			pthread_cond_init(&fe->changed, NULL);
		}
		unix_destroy(fe);
		return rc;
	}
	*instance = fe;
	return BC_OK;
}

static enum bc_status unix_start(void *instance, struct bc_error *err)
{
	struct unix_frontend *fe = instance;
	enum bc_status rc = unix_publish(fe, err);
	if (rc != BC_OK)
		return rc;
	int e = pthread_create(&fe->accept_thread, NULL, unix_accept_main, fe);
	if (e != 0)
		return fe->api->fail(err, BC_E_INTERNAL, "unix.thread_failed",
		                     "cannot start the accept thread: %s", strerror(e));
	fe->accept_running = 1;
	fe->api->log(fe->host, BC_LOG_INFO, "listening on %s (mode %04o, %s)", fe->path, fe->mode,
	             fe->n_allow_uids + fe->n_allow_gids > 0 ? "allow lists set"
	                                                     : "root and the daemon's uid allowed");
	return BC_OK;
}

static void unix_drain(void *instance, int64_t timeout_ms)
{
	struct unix_frontend *fe = instance;
	const struct bc_host_api *api = fe->api;

	pthread_mutex_lock(&fe->lock);
	fe->draining = 1;
	pthread_mutex_unlock(&fe->lock);
	/* never read: stays readable and wakes every poll() of this instance */
	if (fe->stop_pipe[1] >= 0 && write(fe->stop_pipe[1], "x", 1) < 0 && errno != EAGAIN)
		api->log(fe->host, BC_LOG_ERROR, "cannot wake threads: %s", strerror(errno));
	if (fe->accept_running) {
		pthread_join(fe->accept_thread, NULL);
		fe->accept_running = 0;
	}
	if (fe->listen_fd >= 0) {
		close(fe->listen_fd);
		fe->listen_fd = -1;
	}

	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	int64_t ns = (int64_t)until.tv_nsec + (timeout_ms > 0 ? timeout_ms : 0) % 1000 * 1000000;
	until.tv_sec += (time_t)((timeout_ms > 0 ? timeout_ms : 0) / 1000 + ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);

	pthread_mutex_lock(&fe->lock);
	if (fe->n_active > 0)
		api->log(fe->host, BC_LOG_INFO, "draining %zu connection(s)", fe->n_active);
	while (fe->n_active > 0) {
		if (pthread_cond_timedwait(&fe->changed, &fe->lock, &until) == ETIMEDOUT)
			break;
	}
	if (fe->n_active > 0) {
		/* past the timeout: unblock writes to peers that do not read; a call()
		 * in flight still finishes before its thread is joined below */
		api->log(fe->host, BC_LOG_WARN, "%zu connection(s) still open after %" PRId64
		         " ms; closing them", fe->n_active, timeout_ms);
		for (struct unix_conn *c = fe->conns; c != NULL; c = c->next)
			if (c->fd >= 0)
				shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&fe->lock);
	unix_reap(fe, 1);
}

static void unix_destroy(void *instance)
{
	struct unix_frontend *fe = instance;
	if (fe == NULL)
		return;
	if (fe->accept_running || fe->conns != NULL)
		unix_drain(fe, 0);
	if (fe->listen_fd >= 0)
		close(fe->listen_fd);
	unix_unlink(fe);
	if (fe->stop_pipe[0] >= 0)
		close(fe->stop_pipe[0]);
	if (fe->stop_pipe[1] >= 0)
		close(fe->stop_pipe[1]);
	pthread_cond_destroy(&fe->changed);
	pthread_mutex_destroy(&fe->lock);
	free(fe->allow_uids);
	free(fe->allow_gids);
	free(fe->path);
	free(fe);
}

/* ---- option table, descriptor, entry ------------------------------------------- */

static const struct bc_option unix_options[] = {
	BC_OPTION(.name = "path", .type = BC_OPT_STRING, .flags = BC_OPT_NONEMPTY,
	          .default_value = UNIX_DEFAULT_PATH,
	          .description = "Where the socket is created. A stale socket there is replaced; "
	                         "anything else that is not a socket is refused. One missing "
	                         "directory level is created (mode 0755)."),
	BC_OPTION(.name = "mode", .type = BC_OPT_STRING, .default_value = "0660",
	          .description = "File mode of the socket, in octal. Connecting needs write "
	                         "permission on it, so this is the first gate."),
	BC_OPTION(.name = "group", .type = BC_OPT_STRING,
	          .description = "Group (name or number) to give the socket file, so that "
	                         "members can connect with mode 0660."),
	BC_OPTION(.name = "allow_uids", .type = BC_OPT_LIST,
	          .description = "Users (numbers or names) allowed to call the API. When neither "
	                         "allow_uids nor allow_gids is set: root and the daemon's own user."),
	BC_OPTION(.name = "allow_gids", .type = BC_OPT_LIST,
	          .description = "Groups (numbers or names) whose members, primary or "
	                         "supplementary, may call the API."),
	BC_OPTION(.name = "max_line", .type = BC_OPT_SIZE, .default_value = "64k",
	          .min = 64, .max = 64 * 1024 * 1024,
	          .description = "Longest request line; a longer one gets a 413 "
	                         "\"unix.line_too_long\" line and the connection is closed."),
	BC_OPTION(.name = "idle_timeout", .type = BC_OPT_DURATION, .default_value = "60s",
	          .min = 100, .max = 86400000,
	          .description = "A connection that completes no request line for this long is "
	                         "closed; also bounds a write to a peer that does not read."),
	BC_OPTION(.name = "max_clients", .type = BC_OPT_INT, .default_value = "128",
	          .min = 1, .max = 65536,
	          .description = "Connections served at once, one thread each; a client over it "
	                         "gets a 503 \"unix.busy\" line and is closed."),
	BC_OPTION_END,
};

static const struct bc_frontend_ops unix_ops = {
	.struct_size = sizeof(struct bc_frontend_ops),
	.create = unix_create,
	.start = unix_start,
	.drain = unix_drain,
	.destroy = unix_destroy,
	.check = unix_check,
};

static const struct bc_plugin unix_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_FRONTEND,
	.name = "unix",
	.version = PACKAGE_VERSION,
	.description = "API over a Unix socket, one JSON request per line; peers identified by SO_PEERCRED",
	.flags = BC_PLUGIN_THREAD_SAFE,
	.options = unix_options,
	.ops = &unix_ops);

static const struct bc_plugin *const unix_plugins[] = { &unix_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	if (host_major != BC_ABI_MAJOR)
		return NULL;
	return unix_plugins;
}
