/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unix_conn.h: what the two files of the Unix socket frontend share.
 *
 * struct unix_frontend is one instance (one YAML `type: unix` map): the
 * listening socket, the access list and the set of live connections.
 * unix.c owns its lifecycle (create, bind, accept, drain, destroy);
 * unix_conn.c serves one accepted connection on its own thread: it cuts the
 * byte stream into lines, turns each JSON line into a struct bc_request,
 * runs it through api->call() and writes the response back as one JSON line.
 * unix_conn.c is the only file that uses jansson.
 */
#ifndef BC_UNIX_CONN_H
#define BC_UNIX_CONN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <broadcast/frontend.h>

struct unix_conn;

/* Stack of a connection's thread. Set explicitly rather than inherited from
 * RLIMIT_STACK (8 MiB by default, 2 MiB or 32 MiB in other setups) so that
 * what the fuzz target runs on (tests/fuzz/fuzz_unix_conn.c) is what the
 * daemon runs on. The thread parses one request line and runs the whole
 * dispatcher (store and provider calls included), which CivetWeb's 100 KiB
 * workers also do; 256 KiB leaves room for sanitizer builds. */
#define UNIX_CONN_STACK_SIZE (256 * 1024)
/* The deepest request line accepted. A request is {"op":..,"params":{..}},
 * depth 2; jansson recurses once per level, so a line nesting deeper is
 * refused (400 unix.too_deep) before it is parsed. */
#define UNIX_CONN_MAX_DEPTH 8

/* One instance. Members above `lock` are set by create() and read-only
 * afterwards; the ones below it change while serving and are guarded by it. */
struct unix_frontend {
	const struct bc_host_api *api;
	struct bc_host *host;
	char *path;              /* where the socket lives */
	unsigned mode;           /* file mode of the socket */
	uid_t *allow_uids;
	size_t n_allow_uids;
	gid_t *allow_gids;
	size_t n_allow_gids;
	uid_t own_uid;           /* the daemon's effective uid, allowed by default */
	size_t max_line;         /* longest request line in bytes, without '\n' */
	int64_t idle_timeout_ms; /* a connection with no complete line for this long is closed */
	size_t max_clients;      /* connections served at once */
	int listen_fd;
	char *tmp_path;          /* the bound socket's name until start() renames it */
	dev_t sock_dev;          /* identity of the socket file we created, so */
	ino_t sock_ino;          /* destroy() never unlinks another daemon's socket */
	int is_bound;            /* sock_dev/sock_ino are ours */
	int stop_pipe[2];        /* written once by drain(): wakes every poll() */
	pthread_t accept_thread;
	int accept_running;

	pthread_mutex_t lock;
	pthread_cond_t changed;  /* signalled when a connection ends */
	struct unix_conn *conns; /* every connection whose thread was not yet joined */
	size_t n_active;         /* connections whose thread is still serving */
	int draining;
};

/* One accepted connection, owned by the accept thread (it creates and joins
 * it); the connection's own thread only reads it, except `fd` and `done`,
 * which it changes under fe->lock when it ends. */
struct unix_conn {
	struct unix_frontend *fe;
	int fd;                  /* -1 once the connection's thread closed it */
	pid_t pid;               /* from SO_PEERCRED */
	uid_t uid;
	gid_t gid;
	int refused;             /* not allowed: answer 403 and close */
	pthread_t thread;
	int done;                /* the thread finished and may be joined */
	struct unix_conn *next;
};

/* The body of a connection's thread (arg: the struct unix_conn). Serves
 * requests until the peer closes, the idle timeout, an oversize line, a write
 * error or drain (a refused peer gets its 403 line and nothing more); then closes the descriptor, sets done and signals
 * fe->changed. Never frees the conn: the accept thread or drain joins and
 * frees it. */
void *unix_conn_main(void *arg);

/* Write one error line {"status":N,"body":{"error":{"code","message"}}} to
 * fd, for refusals before a connection gets its thread (403, 503). Returns 0
 * or -1 when the write failed; either way the caller closes fd. */
int unix_conn_send_error(int fd, int status, const char *code, const char *message);

#endif /* BC_UNIX_CONN_H */
