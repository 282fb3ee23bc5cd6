/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_streams.c: the local origin's per-stream state and files (see
 * local_streams.h for the model: one folder a stream under `root`, an
 * in-memory table under one mutex, a janitor thread). The table is soft
 * state: the store is the one durable record of a stream (DESIGN §4b), and
 * after a restart the host hands every live stream back through resume().
 *
 * File system rules kept here: an upload becomes visible only by rename() of
 * a fully written and fsync()ed temporary file from the same folder, so a
 * player never reads half a segment; the rename happens under the table lock
 * after re-checking that the stream is live, so nothing lands after stop();
 * folders are flat (no sub-folders), so removal is unlink + rmdir, done with
 * *at() calls on the folder's descriptor so a swapped symlink cannot
 * redirect it.
 *
 * What a start and a stop cost (issue 24): a start touches no file, it
 * only adds the stream to the table; the stream's folder is made by its
 * first upload (local_streams_tmpfile()), so a stream nobody publishes to
 * never has one. A stop closes uploads in memory and, only for a stream
 * with a folder, ends its playlists by appending in place and leaves the
 * stop marker, both without a flush: neither is a record anything depends
 * on (the store has the stop; see LOCAL_STOP_MARKER).
 *
 * Locking: the lock guards only memory (the hash table, the vector used to
 * walk it, each stream's fields). File work for one stream that others need
 * not wait for (making its folder, writing its stop marker, ending its
 * playlists) happens outside it, so one slow disk does not serialise every
 * start and stop of the daemon; a stream whose file work is under way has
 * `busy` set, so the janitor and discard leave it alone.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "local_streams.h"

/*
 * The stop marker: a zero-length file stop() creates in the folder of a
 * stream that has one, its mtime set to the stop time. It is not a record
 * of the stream (no token, no state: the store has those, and a stream the
 * store says is live is resumed whatever the folder holds); it exists only
 * for the retention, which should count from the stop across a restart and
 * which the store does not hand to providers. It is not flushed (issue 24:
 * no flush on a stop's request path): after a power loss within the
 * kernel's writeback delay the folder is found without it and its retention
 * counts from its last change, which a stop's appended playlist end makes
 * the stop time. Hidden ('.'), so never served.
 */
#define LOCAL_STOP_MARKER ".stopped"
/*
 * The state file of releases up to 0.1 (commit ad216a9 and before): lines
 * "broadcast-local 1", "token_sha256 HEX", "expires_ms N", "stopped_ms N",
 * a stop appending another "stopped_ms N" (the last one counts; a final
 * line without its newline was cut by a crash). Its token hash is the one
 * the store's meta has, so only its stop time is still of use: at open it
 * becomes a stop marker and the file is removed (local_load_old_state()).
 */
#define LOCAL_OLD_STATE_FILE ".stream"
#define LOCAL_OLD_STATE_MAGIC "broadcast-local 1"
/*
 * After create() the janitor deletes no folder it found on disk for this
 * long unless resume() claimed it: until the host has resumed the live
 * streams (right after create(), before any frontend serves) a folder
 * without a stop marker may belong to a live stream whose broadcaster has
 * paused for longer than the retention, and a marked one to a stream whose
 * stop never reached the store.
 */
#define LOCAL_RESUME_GRACE_MS (5 * 60 * 1000)
#define LOCAL_TMP_PREFIX ".up-"
#define LOCAL_ENDLIST "#EXT-X-ENDLIST"
/* Room for an address as CivetWeb writes it (INET6_ADDRSTRLEN is 46). */
#define LOCAL_PEER_MAX 48

/* A stream's media state, in memory only (local_streams.h). */
enum local_media {
	LOCAL_MEDIA_NONE = 0,   /* no upload yet (or stopped): nothing reported */
	LOCAL_MEDIA_UNKNOWN,    /* resumed after a restart: the host may think either */
	LOCAL_MEDIA_PUBLISHING, /* reported publishing */
	LOCAL_MEDIA_IDLE        /* reported idle */
};

typedef enum bc_status (*local_media_report_fn)(struct bc_host *host, const char *stream_id,
                                                enum bc_media_fact fact, const char *detail);

struct local_stream {
	char id[LOCAL_ID_LEN + 1];
	char token_sha256[65]; /* "" when unknown: no token can match */
	int64_t expires_ms;
	int64_t stopped_ms;    /* 0 while live; for a folder found without a stop
	                          marker (unclaimed), its last modification */
	uint64_t bytes;        /* sum of the sizes of its published files */
	struct local_stream *next; /* the next one in its hash bucket */
	size_t at;             /* its index in local_streams.v */
	unsigned has_dir : 1;  /* its folder exists (made by its first upload, or
	                          found at open) */
	unsigned unmarked : 1; /* stopped in memory, its stop marker not written yet */
	unsigned marked : 1;   /* its folder holds a stop marker */
	unsigned unclaimed : 1; /* found on disk at create, not resumed (yet): no
	                           token; the janitor waits out the grace */
	unsigned busy;         /* file work outside the lock; janitor skips it */
	unsigned char media;   /* enum local_media */
	int64_t last_upload_ms; /* monotonic; of the last upload (or of the resume) */
	char peer[LOCAL_PEER_MAX]; /* the last uploader's address; "" when none */
	/* In the watch list (media unknown or publishing), oldest upload first. */
	struct local_stream *watch_prev, *watch_next;
	unsigned watched : 1;
};

struct local_streams {
	const struct bc_host_api *api;
	struct bc_host *host;
	char *root;
	int64_t retention_ms;
	uint64_t max_stream_bytes;
	uint64_t max_file_bytes;

	pthread_mutex_t lock; /* guards v, n, cap, buckets, live, and each stream */
	struct local_stream **v; /* every stream, in no order, to walk them */
	size_t n, cap;
	struct local_stream **buckets; /* hash of the id -> chain; nbuckets a power of 2 */
	size_t nbuckets;
	size_t live;          /* streams not stopped */
	int64_t grace_until;  /* monotonic ms: LOCAL_RESUME_GRACE_MS after open */

	pthread_t janitor;
	int janitor_running;
	int quitting;         /* under lock */
	pthread_cond_t wake;  /* CLOCK_MONOTONIC; the janitor's (and quitting) */
	pthread_cond_t watch_wake; /* CLOCK_MONOTONIC; the watcher's: its list
	                              got a first stream, or quitting */

	/* media reporting; report is NULL on a host without media_report */
	local_media_report_fn report;
	int64_t idle_after_ms;
	struct local_stream *watch_head, *watch_tail; /* under lock */
	pthread_t watcher;
	int watcher_running;
};

/* ---- names ----------------------------------------------------------------- */

int local_id_is_valid(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != LOCAL_ID_LEN)
		return 0;
	for (i = 0; i < LOCAL_ID_LEN; i++) {
		char c = id[i];
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

int local_name_is_valid(const char *name, int *bad_ext)
{
	static const char *const exts[] = { ".m3u8", ".ts", ".m4s", ".mp4", ".aac", ".vtt", NULL };
	size_t len, i;
	const char *dot;

	if (bad_ext)
		*bad_ext = 0;
	if (name == NULL)
		return 0;
	len = strlen(name);
	if (len == 0 || len > LOCAL_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	/* ".." cannot escape a flat folder once '/' is excluded, but a name
	 * like "a..ts" serves no player either: keep names boring. */
	if (strstr(name, "..") != NULL)
		return 0;
	dot = strrchr(name, '.');
	for (i = 0; dot != NULL && exts[i] != NULL; i++)
		if (strcmp(dot, exts[i]) == 0)
			return 1;
	if (bad_ext)
		*bad_ext = 1;
	return 0;
}

int local_path_is_plain(const char *path, size_t len)
{
	size_t i;

	if (path == NULL || len == 0 || len > LOCAL_PATH_MAX || path[0] != '/')
		return 0;
	for (i = 0; i < len; i++) {
		char c = path[i];
		/* The origin's whole vocabulary: ids, file names, "live", "player".
		 * Anything else (a percent-encoding, NUL, '\\', ';', a space, a
		 * byte >= 0x80) can only be an attempt to make CivetWeb or the file
		 * system read the path differently from us: refused, not decoded. */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/'))
			return 0;
		if (c == '/' && i + 1 < len && (path[i + 1] == '/' || path[i + 1] == '.'))
			return 0; /* an empty segment, ".", "..", or a hidden file */
		if (c == '.' && i + 1 < len && path[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* ---- small file helpers ------------------------------------------------------ */

static int local_path(char *buf, size_t len, const char *root, const char *id, const char *name)
{
	int n;

	if (name != NULL)
		n = snprintf(buf, len, "%s/%s/%s", root, id, name);
	else
		n = snprintf(buf, len, "%s/%s", root, id);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int local_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		buf[i] = (i == len) ? '\0' : '/';
	}
	return 0;
}

int local_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Read a whole small file at dirfd/name into a NUL-terminated buffer. */
static char *local_read_small(int dirfd, const char *name, size_t max, size_t *len_out)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		errno = EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (len_out)
		*len_out = got;
out:
	close(fd);
	return buf;
}

/* Remove a stream's folder: its files (flat), then itself. */
static int local_remove_dir(const char *root, const char *id)
{
	char path[4096];
	int dfd;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (local_path(path, sizeof(path), root, id, NULL) != 0)
		return -1;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) != 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	if (rmdir(path) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

static int64_t local_mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* The sum of the sizes of a folder's published (not hidden) regular files,
 * removing the temporary upload files a crash left. When newest_ms is not
 * NULL it gets the latest modification of the folder and of its files. */
static uint64_t local_dir_scan(int dfd, int64_t *newest_ms)
{
	int dup_fd = dup(dfd);
	DIR *d;
	struct dirent *de;
	struct stat st;
	uint64_t sum = 0;

	if (newest_ms != NULL)
		*newest_ms = fstat(dfd, &st) == 0 ? local_mtime_ms(&st) : 0;
	if (dup_fd < 0)
		return 0;
	d = fdopendir(dup_fd);
	if (d == NULL) {
		close(dup_fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) == 0) {
			/* A crash between mkstemp() and rename() left it. */
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			sum += (uint64_t)st.st_size;
			if (newest_ms != NULL && local_mtime_ms(&st) > *newest_ms)
				*newest_ms = local_mtime_ms(&st);
		}
	}
	closedir(d);
	return sum;
}

/* ---- the stop marker ------------------------------------------------------------ */

/*
 * Mark the stop of the stream whose folder is dfd (see LOCAL_STOP_MARKER):
 * create the marker (or reuse one a retried stop left) and set its mtime to
 * stopped_ms. Flushed only when `flush` (the one-time conversion of an old
 * state file, which is removed next): a stop's marker is not, since its
 * loss costs only the retention's exact start. 0, or -1 with errno.
 */
static int local_marker_write(int dfd, int64_t stopped_ms, int flush)
{
	struct timespec ts[2];
	int fd, rc;

	fd = openat(dfd, LOCAL_STOP_MARKER, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ts[0].tv_sec = (time_t)(stopped_ms / 1000);
	ts[0].tv_nsec = (long)(stopped_ms % 1000) * 1000000L;
	ts[1] = ts[0];
	rc = futimens(fd, ts) == 0 && (!flush || fsync(fd) == 0) ? 0 : -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* The stop time a folder's marker records (its mtime), or 0 when it has
 * none (a symlink or anything but a regular file does not count). */
static int64_t local_marker_read(int dfd)
{
	struct stat st;

	if (fstatat(dfd, LOCAL_STOP_MARKER, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return local_mtime_ms(&st) > 0 ? local_mtime_ms(&st) : 1;
}

/* ---- the table -------------------------------------------------------------------- */

/* FNV-1a over the id: ids are random UUIDs, so any cheap mix spreads them. */
static size_t local_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	while (*id != '\0') {
		h ^= (unsigned char)*id++;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

/* Find a stream by id; caller holds the lock.
 * A hash table, since every start, stop, upload and GET looks one up and
 * a daemon may hold many thousands of streams (stopped ones included). */
static struct local_stream *local_find(const struct local_streams *ls, const char *id)
{
	struct local_stream *s;

	if (ls->nbuckets == 0)
		return NULL;
	for (s = ls->buckets[local_hash(id) & (ls->nbuckets - 1)]; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

/* Double the bucket array once there are more streams than buckets, so
 * chains stay about one long. On failure the old array stays: lookups
 * remain correct, only slower. */
static void local_rehash(struct local_streams *ls)
{
	size_t nb = ls->nbuckets ? ls->nbuckets * 2 : 64, i;
	struct local_stream **b;

	if (nb < ls->nbuckets)
		return;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		struct local_stream *s = ls->v[i];
		size_t k = local_hash(s->id) & (nb - 1);
		s->next = b[k];
		b[k] = s;
	}
	free(ls->buckets);
	ls->buckets = b;
	ls->nbuckets = nb;
}

/* Add s to the table; caller holds the lock (or is alone, while loading). */
static int local_append(struct local_streams *ls, struct local_stream *s)
{
	size_t k;

	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 16;
		struct local_stream **v = realloc(ls->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		ls->v = v;
		ls->cap = cap;
	}
	if (ls->nbuckets == 0) {
		local_rehash(ls);
		if (ls->nbuckets == 0)
			return -1;
	}
	s->at = ls->n;
	ls->v[ls->n++] = s;
	k = local_hash(s->id) & (ls->nbuckets - 1);
	s->next = ls->buckets[k];
	ls->buckets[k] = s;
	if (ls->n > ls->nbuckets)
		local_rehash(ls); /* after linking s, so it is rehashed too */
	if (s->stopped_ms == 0)
		ls->live++;
	return 0;
}

/* ---- media ------------------------------------------------------------------------ */

/* Take s out of the watch list if it is in it; caller holds the lock. */
static void local_watch_unlink(struct local_streams *ls, struct local_stream *s)
{
	if (!s->watched)
		return;
	if (s->watch_prev != NULL)
		s->watch_prev->watch_next = s->watch_next;
	else
		ls->watch_head = s->watch_next;
	if (s->watch_next != NULL)
		s->watch_next->watch_prev = s->watch_prev;
	else
		ls->watch_tail = s->watch_prev;
	s->watch_prev = s->watch_next = NULL;
	s->watched = 0;
}

/* Put s at the tail of the watch list (its upload is the newest); caller
 * holds the lock. The list stays ordered by last_upload_ms, so the watcher
 * looks only at its head. */
static void local_watch_touch(struct local_streams *ls, struct local_stream *s)
{
	local_watch_unlink(ls, s);
	/* The watcher sleeps until its head's deadline, or for good when the
	 * list is empty: wake it for a first stream. Later ones are due after
	 * the head, so it wakes for them anyway. */
	if (ls->watch_head == NULL)
		pthread_cond_signal(&ls->watch_wake);
	s->watch_prev = ls->watch_tail;
	s->watch_next = NULL;
	if (ls->watch_tail != NULL)
		ls->watch_tail->watch_next = s;
	else
		ls->watch_head = s;
	ls->watch_tail = s;
	s->watched = 1;
}

/* Tell the host a media fact about s. Called with the lock held, so facts
 * reach the host in the order the state changed (an upload racing the
 * watcher cannot overtake its idle report); media_report only queues and
 * never blocks (host.h). A full queue drops the fact: logged, and the next
 * change is reported as usual. */
static void local_media_report(struct local_streams *ls, const struct local_stream *s,
                               enum bc_media_fact fact)
{
	enum bc_status st = ls->report(ls->host, s->id, fact, s->peer[0] ? s->peer : NULL);

	if (st != BC_OK)
		ls->api->log(ls->host, BC_LOG_WARN,
		             "stream %s: the host did not take a media report (status %d)", s->id,
		             (int)st);
}

/* Unlink s from the table and free it; caller holds the lock. */
static void local_remove(struct local_streams *ls, struct local_stream *s)
{
	struct local_stream **pp = &ls->buckets[local_hash(s->id) & (ls->nbuckets - 1)];

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	local_watch_unlink(ls, s);
	ls->v[s->at] = ls->v[--ls->n];
	ls->v[s->at]->at = s->at;
	if (s->stopped_ms == 0)
		ls->live--;
	free(s);
}

static void local_free_all(struct local_streams *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->v[i]);
	free(ls->v);
	free(ls->buckets);
}

/*
 * Convert the state file of a release up to 0.1 (LOCAL_OLD_STATE_FILE) in
 * folder dfd, if it has one: its last complete "stopped_ms N" line, when N
 * is not 0 and the folder has no stop marker, becomes one (flushed, since
 * the file that held the time goes next), and the file is removed. Its
 * token hash is not needed: the store's meta has the same one, and only
 * resume() re-admits a token. 1 when a state file was converted, 0 when
 * there was none, -1 when it could not be (it then stays for the next
 * start, and the folder counts as stopped at its last change meanwhile).
 */
static int local_load_old_state(int dfd, int64_t *stopped_ms)
{
	char *text = local_read_small(dfd, LOCAL_OLD_STATE_FILE, 4096, NULL);
	char *line, *save = NULL, *last_nl;
	int64_t stop = 0;
	int magic = 0;

	if (text == NULL)
		return errno == ENOENT ? 0 : -1;
	/* A final line without its newline is an append a crash cut short. */
	last_nl = strrchr(text, '\n');
	if (last_nl != NULL)
		last_nl[1] = '\0';
	else
		text[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		long long v;
		if (strcmp(line, LOCAL_OLD_STATE_MAGIC) == 0)
			magic = 1;
		else if (sscanf(line, "stopped_ms %lld", &v) == 1)
			stop = v;
	}
	free(text);
	if (magic && stop > 0 && *stopped_ms == 0) {
		if (local_marker_write(dfd, stop, 1) != 0)
			return -1;
		*stopped_ms = stop;
	}
	if (unlinkat(dfd, LOCAL_OLD_STATE_FILE, 0) != 0)
		return -1;
	return 1;
}

/*
 * Load every stream folder under root, as unclaimed: no token (no upload can
 * match one) until resume() hands the stream back from the store. A folder
 * with a stop marker counts as stopped at the marker's time, one without as
 * stopped at its last modification: either way the janitor deletes it the
 * retention after that, but not before the resume grace is over
 * (LOCAL_RESUME_GRACE_MS), and never once resume() claimed it. Nothing here
 * decides that a stream is live: only the store does. The state files of
 * older releases are converted (local_load_old_state()).
 */
static int local_load(struct local_streams *ls)
{
	DIR *d = opendir(ls->root);
	struct dirent *de;
	int found = 0, marked = 0, converted = 0, unconverted = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct local_stream *s;
		int dfd;

		if (!local_id_is_valid(de->d_name))
			continue;
		dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			close(dfd);
			closedir(d);
			return -1;
		}
		memcpy(s->id, de->d_name, LOCAL_ID_LEN + 1);
		s->unclaimed = 1;
		s->has_dir = 1;
		s->stopped_ms = local_marker_read(dfd);
		switch (local_load_old_state(dfd, &s->stopped_ms)) {
		case 1:
			converted++;
			break;
		case -1:
			if (unconverted++ == 0)
				ls->api->log(ls->host, BC_LOG_WARN,
				             "stream %s: cannot convert the state file of an older "
				             "version: %s; it stays until the next start", s->id,
				             strerror(errno));
			break;
		default:
			break;
		}
		s->marked = s->stopped_ms != 0;
		s->bytes = local_dir_scan(dfd, s->marked ? NULL : &s->stopped_ms);
		if (s->stopped_ms <= 0)
			s->stopped_ms = 1; /* an mtime at the epoch is still "stopped" */
		close(dfd);
		if (local_append(ls, s) != 0) {
			free(s);
			closedir(d);
			return -1;
		}
		found++;
		marked += s->marked;
	}
	closedir(d);
	if (converted > 0)
		ls->api->log(ls->host, BC_LOG_INFO,
		             "converted the state files of %d stream folder(s) of an older version "
		             "(their stop times are kept as stop markers; tokens come back from "
		             "the store)", converted);
	if (found > 0)
		ls->api->log(ls->host, BC_LOG_INFO,
		             "found %d stream folder(s) in %s, %d of them stopped: uploads stay "
		             "closed until the host resumes a stream", found, ls->root, marked);
	return 0;
}

/* ---- janitor -------------------------------------------------------------------------- */

static int64_t local_janitor_interval(int64_t retention_ms)
{
	int64_t t = retention_ms / 4;

	if (t < 200)
		t = 200;
	if (t > 60000)
		t = 60000;
	return t;
}

static void *local_janitor_main(void *arg)
{
	struct local_streams *ls = arg;
	int64_t interval = local_janitor_interval(ls->retention_ms);

	pthread_mutex_lock(&ls->lock);
	while (!ls->quitting) {
		struct timespec ts;
		int64_t now = ls->api->now_ms();
		int in_grace = ls->api->monotonic_ms() < ls->grace_until;
		size_t i = 0;

		while (i < ls->n) {
			struct local_stream *s = ls->v[i];
			char id[LOCAL_ID_LEN + 1];

			if (s->stopped_ms == 0 || s->busy || s->stopped_ms + ls->retention_ms > now ||
			    (s->unclaimed && in_grace)) {
				i++;
				continue;
			}
			if (!s->has_dir) {
				/* Never published to: nothing on disk to delete. */
				local_remove(ls, s);
				ls->api->counter_add(ls->host, "local_streams_expired_total", NULL, 1);
				continue; /* the last one took its place at i */
			}
			/* Forget it first, so no GET opens files we are deleting;
			 * delete outside the lock, since it may take a while. */
			memcpy(id, s->id, sizeof(id));
			local_remove(ls, s);
			pthread_mutex_unlock(&ls->lock);
			if (local_remove_dir(ls->root, id) != 0)
				ls->api->log(ls->host, BC_LOG_WARN,
				             "stream %s: could not remove its folder: %s", id,
				             strerror(errno));
			else
				ls->api->log(ls->host, BC_LOG_INFO,
				             "stream %s: retention over, files removed", id);
			ls->api->counter_add(ls->host, "local_streams_expired_total", NULL, 1);
			pthread_mutex_lock(&ls->lock);
			i = 0; /* the table may have changed meanwhile */
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += interval / 1000;
		ts.tv_nsec += (long)(interval % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!ls->quitting)
			pthread_cond_timedwait(&ls->wake, &ls->lock, &ts);
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

/* The media watcher: report idle every watched stream whose last upload
 * (or resume) is idle_after old, then sleep until the head of the list is
 * due, or until local_watch_touch() gives an empty list a stream. The watch
 * list is ordered oldest first, so a pass stops at the first recent one.
 * (It ticked every 250 ms before issue 24: four wake-ups a second of an
 * idle daemon.) */
static void *local_watcher_main(void *arg)
{
	struct local_streams *ls = arg;

	pthread_mutex_lock(&ls->lock);
	while (!ls->quitting) {
		struct timespec ts;
		int64_t now = ls->api->monotonic_ms();
		struct local_stream *s;

		while ((s = ls->watch_head) != NULL && s->last_upload_ms + ls->idle_after_ms <= now) {
			local_watch_unlink(ls, s);
			s->media = LOCAL_MEDIA_IDLE;
			local_media_report(ls, s, BC_MEDIA_FACT_IDLE);
		}
		if (ls->quitting)
			break;
		if (s == NULL) {
			pthread_cond_wait(&ls->watch_wake, &ls->lock);
			continue;
		}
		/* The head is due at last_upload_ms + idle_after, on the host's
		 * monotonic clock: wait that much from now on watch_wake's. */
		{
			int64_t left = s->last_upload_ms + ls->idle_after_ms - now;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)(left / 1000);
			ts.tv_nsec += (long)(left % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		pthread_cond_timedwait(&ls->watch_wake, &ls->lock, &ts);
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

/* ---- public ---------------------------------------------------------------------------------- */

/* Stop and join the janitor and the media watcher, whichever run. */
static void local_threads_stop(struct local_streams *ls)
{
	if (!ls->janitor_running && !ls->watcher_running)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->quitting = 1;
	pthread_cond_broadcast(&ls->wake);
	pthread_cond_broadcast(&ls->watch_wake);
	pthread_mutex_unlock(&ls->lock);
	if (ls->janitor_running)
		pthread_join(ls->janitor, NULL);
	if (ls->watcher_running)
		pthread_join(ls->watcher, NULL);
	ls->janitor_running = ls->watcher_running = 0;
}

enum bc_status local_streams_open(struct local_streams **out, const struct bc_host_api *api,
                                  struct bc_host *host, const struct local_streams_cfg *cfg,
                                  struct bc_error *err)
{
	struct local_streams *ls = NULL;
	pthread_condattr_t ca;
	int have_lock = 0, have_cond = 0;
	enum bc_status st = BC_OK;

	*out = NULL;
	ls = calloc(1, sizeof(*ls));
	if (ls == NULL || (ls->root = strdup(cfg->root)) == NULL) {
		st = api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
		goto out;
	}
	ls->api = api;
	ls->host = host;
	ls->retention_ms = cfg->retention_ms;
	ls->max_stream_bytes = cfg->max_stream_bytes;
	ls->max_file_bytes = cfg->max_file_bytes;
	ls->idle_after_ms = cfg->idle_after_ms > 0 ? cfg->idle_after_ms : 10000;
	/* A 1.0 host has no media_report: then nothing is tracked. */
	if (BC_HAS_MEMBER(api, struct bc_host_api, media_report) && api->media_report != NULL)
		ls->report = api->media_report;
	ls->grace_until = ls->api->monotonic_ms() + LOCAL_RESUME_GRACE_MS;
	if (pthread_mutex_init(&ls->lock, NULL) != 0) {
		st = api->fail(err, BC_E_INTERNAL, "local.thread", "pthread_mutex_init failed");
		goto out;
	}
	have_lock = 1;
	if (pthread_condattr_init(&ca) != 0) {
		st = api->fail(err, BC_E_INTERNAL, "local.thread", "pthread_condattr_init failed");
		goto out;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	have_cond = pthread_cond_init(&ls->wake, &ca) == 0;
	if (have_cond && pthread_cond_init(&ls->watch_wake, &ca) != 0) {
		pthread_cond_destroy(&ls->wake);
		have_cond = 0;
	}
	pthread_condattr_destroy(&ca);
	if (!have_cond) {
		st = api->fail(err, BC_E_INTERNAL, "local.thread", "pthread_cond_init failed");
		goto out;
	}
	if (local_mkdir_p(ls->root, 0755) != 0 || access(ls->root, W_OK | X_OK) != 0) {
		st = api->fail(err, BC_E_UNAVAILABLE, "local.root_unusable",
		               "cannot create or write the folder %s (%s): set the option `root` "
		               "to a folder this user may write", ls->root, strerror(errno));
		goto out;
	}
	if (local_load(ls) != 0) {
		st = api->fail(err, BC_E_UNAVAILABLE, "local.root_unusable",
		               "cannot read the folder %s: %s", ls->root, strerror(errno));
		goto out;
	}
	if (ls->retention_ms > 0) {
		if (pthread_create(&ls->janitor, NULL, local_janitor_main, ls) != 0) {
			st = api->fail(err, BC_E_INTERNAL, "local.thread",
			               "cannot start the janitor thread");
			goto out;
		}
		ls->janitor_running = 1;
	}
	if (ls->report != NULL) {
		if (pthread_create(&ls->watcher, NULL, local_watcher_main, ls) != 0) {
			st = api->fail(err, BC_E_INTERNAL, "local.thread",
			               "cannot start the media watcher thread");
			goto out;
		}
		ls->watcher_running = 1;
	}
	*out = ls;
	ls = NULL;
out:
	if (ls != NULL) {
		local_threads_stop(ls);
		local_free_all(ls);
		if (have_cond) {
			pthread_cond_destroy(&ls->wake);
			pthread_cond_destroy(&ls->watch_wake);
		}
		if (have_lock)
			pthread_mutex_destroy(&ls->lock);
		free(ls->root);
		free(ls);
	}
	return st;
}

void local_streams_close(struct local_streams *ls)
{
	if (ls == NULL)
		return;
	local_threads_stop(ls);
	local_free_all(ls);
	pthread_cond_destroy(&ls->wake);
	pthread_cond_destroy(&ls->watch_wake);
	pthread_mutex_destroy(&ls->lock);
	free(ls->root);
	free(ls);
}

/* s came back through resume: its media state is unknown to us, so the
 * first upload reports publishing and idle_after without one reports idle
 * (the host ignores a fact that repeats its state). Caller holds the lock. */
static void local_media_resumed(struct local_streams *ls, struct local_stream *s)
{
	if (ls->report == NULL)
		return;
	s->media = LOCAL_MEDIA_UNKNOWN;
	s->peer[0] = '\0';
	s->last_upload_ms = ls->api->monotonic_ms();
	local_watch_touch(ls, s);
}

/*
 * Add a live stream to the table: for start() (an id already known is a
 * conflict) and for resume() of a stream the table does not know. Memory
 * only: the store's commit is the durable record of the stream, and its
 * folder is made by its first upload (local_streams_tmpfile()).
 */
static enum bc_status local_add(struct local_streams *ls, const char *id,
                                const char *token_sha256, int64_t expires_ms, int resumed,
                                struct bc_error *err)
{
	const struct bc_host_api *api = ls->api;
	struct local_stream *s;

	if (!local_id_is_valid(id) || strlen(token_sha256) != 64)
		return api->fail(err, BC_E_INVALID, "local.bad_id", "not a stream id: %s", id);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
	memcpy(s->id, id, LOCAL_ID_LEN + 1);
	memcpy(s->token_sha256, token_sha256, 65);
	s->expires_ms = expires_ms;

	pthread_mutex_lock(&ls->lock);
	if (local_find(ls, id) != NULL) {
		pthread_mutex_unlock(&ls->lock);
		free(s);
		return api->fail(err, BC_E_CONFLICT, "local.stream_exists",
		                 "stream %s is known already", id);
	}
	if (local_append(ls, s) != 0) {
		pthread_mutex_unlock(&ls->lock);
		free(s);
		return api->fail(err, BC_E_NOMEM, "local.nomem", "out of memory");
	}
	if (resumed)
		local_media_resumed(ls, s);
	pthread_mutex_unlock(&ls->lock);
	return BC_OK;
}

enum bc_status local_streams_add(struct local_streams *ls, const char *id,
                                 const char *token_sha256, int64_t expires_ms,
                                 struct bc_error *err)
{
	return local_add(ls, id, token_sha256, expires_ms, 0, err);
}

enum bc_status local_streams_resume(struct local_streams *ls, const char *id,
                                    const char *token_sha256, int64_t expires_ms,
                                    struct bc_error *err)
{
	const struct bc_host_api *api = ls->api;
	struct local_stream *s;
	char marker[4096];
	int unmark;

	if (!local_id_is_valid(id) || token_sha256 == NULL || strlen(token_sha256) != 64 ||
	    strspn(token_sha256, "0123456789abcdef") != 64)
		return api->fail(err, BC_E_INVALID, "local.bad_id",
		                 "not a stream id with a token hash: %s", id);
	if (local_path(marker, sizeof(marker), ls->root, id, LOCAL_STOP_MARKER) != 0)
		return api->fail(err, BC_E_INVALID, "local.root_too_long", "root path too long");
	pthread_mutex_lock(&ls->lock);
	s = local_find(ls, id);
	if (s == NULL) {
		pthread_mutex_unlock(&ls->lock);
		/* No folder (never published to, removed, or `root` changed):
		 * as at start, the first upload makes one. */
		return local_add(ls, id, token_sha256, expires_ms, 1, err);
	}
	if (s->busy) {
		pthread_mutex_unlock(&ls->lock);
		return api->fail(err, BC_E_CONFLICT, "local.stream_busy",
		                 "stream %s is being started or stopped", id);
	}
	if (!s->unclaimed && strcmp(s->token_sha256, token_sha256) != 0)
		api->log(ls->host, BC_LOG_WARN,
		         "stream %s: the store's token hash differs from the one it was resumed "
		         "with; the store's is used", id);
	/* The store is the truth: it says live. A folder found without a stop
	 * marker is simply claimed; one with a marker had a stop that never
	 * reached the store (a crash between the provider's stop and the
	 * store's commit), so it was never acknowledged: uploads open again
	 * and the marker goes, or a later restart would count its retention. */
	memcpy(s->token_sha256, token_sha256, 65);
	s->expires_ms = expires_ms;
	if (s->stopped_ms != 0) {
		if (s->marked)
			api->log(ls->host, BC_LOG_WARN,
			         "stream %s: its folder says stopped but the store says live: uploads "
			         "open again", id);
		s->stopped_ms = 0;
		s->unmarked = 0;
		ls->live++;
	}
	s->unclaimed = 0;
	if (s->media == LOCAL_MEDIA_NONE) /* a second resume keeps what it knows */
		local_media_resumed(ls, s);
	unmark = s->marked;
	if (unmark)
		s->busy++;
	pthread_mutex_unlock(&ls->lock);
	if (!unmark)
		return BC_OK;

	/* A failure is only logged: the stream works now, and a restart
	 * before its stop resumes it from the store again (the janitor waits
	 * for that, marker or not). */
	if (unlink(marker) != 0 && errno != ENOENT)
		api->log(ls->host, BC_LOG_WARN, "stream %s: cannot remove %s: %s", id, marker,
		         strerror(errno));
	pthread_mutex_lock(&ls->lock);
	s->busy--;
	s->marked = 0;
	pthread_mutex_unlock(&ls->lock);
	return BC_OK;
}

void local_streams_discard(struct local_streams *ls, const char *id)
{
	struct local_stream *s;
	int found, has_dir = 0;

	pthread_mutex_lock(&ls->lock);
	s = local_find(ls, id);
	found = s != NULL && !s->busy;
	if (found) {
		has_dir = s->has_dir;
		local_remove(ls, s);
	}
	pthread_mutex_unlock(&ls->lock);
	if (has_dir) /* a start undone before it answered has none */
		local_remove_dir(ls->root, id);
}

/*
 * Append "#EXT-X-ENDLIST" to one media playlist of folder dfd that lacks
 * it, in place and without a flush (issue 24: a stop's request path makes
 * no temporary file and no flush; the store has the stop, and a playlist
 * whose end a crash lost is deleted with its folder after the retention).
 * No upload can replace the file any more (commit refuses a stopped
 * stream), and a player reading it meanwhile sees it with or without the
 * line. Master playlists (no #EXTINF) are left alone: they have no end.
 */
static void local_endlist_one(struct local_streams *ls, int dfd, const char *id,
                              const char *name)
{
	int fd = openat(dfd, name, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	const char *tail;

	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > ls->max_file_bytes)
		goto out;
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	text[got] = '\0';
	if (strstr(text, "#EXTINF") == NULL || strstr(text, LOCAL_ENDLIST) != NULL)
		goto out;
	tail = (got > 0 && text[got - 1] != '\n') ? "\n" LOCAL_ENDLIST "\n" : LOCAL_ENDLIST "\n";
	if (local_write_all(fd, tail, strlen(tail)) != 0)
		ls->api->log(ls->host, BC_LOG_WARN, "stream %s: cannot end the playlist %s: %s", id,
		             name, strerror(errno));
	else
		ls->api->log(ls->host, BC_LOG_DEBUG, "stream %s: ended the playlist %s", id, name);
out:
	free(text);
	close(fd);
}

/* End every media playlist of the folder dfd (local_endlist_one()). */
static void local_endlist_all(struct local_streams *ls, int dfd, const char *id)
{
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 5, ".m3u8") != 0)
			continue;
		local_endlist_one(ls, dfd, id, de->d_name);
	}
	closedir(d);
}

enum bc_status local_streams_finish(struct local_streams *ls, const char *id,
                                    const char *meta_token_sha256, struct bc_error *err)
{
	struct local_stream *s;
	char dir[4096];
	int newly_stopped = 0, wrote = 0, dfd = -1, e = 0;
	int64_t stopped_ms;

	(void)err; /* a stop no longer fails here: see below */
	pthread_mutex_lock(&ls->lock);
	s = local_find(ls, id);
	if (s == NULL) {
		pthread_mutex_unlock(&ls->lock);
		ls->api->log(ls->host, BC_LOG_DEBUG, "stream %s: nothing to stop here (%s)", id,
		             meta_token_sha256 ? "its folder is gone" : "not a stream of ours");
		return BC_OK;
	}
	if (meta_token_sha256 != NULL && s->token_sha256[0] != '\0' &&
	    strcmp(meta_token_sha256, s->token_sha256) != 0)
		ls->api->log(ls->host, BC_LOG_WARN,
		             "stream %s: the store's token hash differs from the one it was started "
		             "with; stopping it all the same", id);
	/* Close uploads in memory first, under the lock, so they fail from
	 * now on (commit re-checks under it); the files, which only end the
	 * playlists and keep the retention's start across a restart, are
	 * written after, without the lock. A folder found at create and never
	 * resumed (no marker, so counted from its last modification) is
	 * stopped now. */
	if (s->stopped_ms == 0 || (s->unclaimed && !s->marked)) {
		if (s->stopped_ms == 0)
			ls->live--;
		s->stopped_ms = ls->api->now_ms();
		s->unmarked = 1;
		newly_stopped = 1;
		/* No media fact after stop: the host has the stream's end. */
		local_watch_unlink(ls, s);
		s->media = LOCAL_MEDIA_NONE;
	}
	if (!s->has_dir) {
		/* Never published to: there is no file to end or mark. (A first
		 * upload making the folder right now finds the stream stopped
		 * at its commit; the empty folder counts from its mtime.) */
		s->unmarked = 0;
		pthread_mutex_unlock(&ls->lock);
		return BC_OK;
	}
	if (!s->unmarked) {
		pthread_mutex_unlock(&ls->lock);
		return BC_OK;
	}
	s->busy++;
	stopped_ms = s->stopped_ms;
	pthread_mutex_unlock(&ls->lock);

	/* A marker that cannot be written does not fail the stop: the store
	 * records it, and the token is refused from now on and after any
	 * restart (tokens come back only through resume()). Without the
	 * marker a restart counts the retention from the folder's last
	 * modification (about the stop, which ends the playlists); a retried
	 * stop writes it again. */
	if (local_path(dir, sizeof(dir), ls->root, id, NULL) == 0)
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	else
		errno = ENAMETOOLONG;
	if (dfd >= 0) {
		/* No upload can be published any more, so the playlists can be
		 * finished without holding the lock. */
		if (newly_stopped)
			local_endlist_all(ls, dfd, id);
		wrote = local_marker_write(dfd, stopped_ms, 0) == 0;
	}
	if (!wrote) {
		e = errno;
		ls->api->log(ls->host, BC_LOG_ERROR,
		             "stream %s: cannot write its stop marker under %s: %s; after a "
		             "restart its retention counts from its last change", id, ls->root,
		             strerror(e));
	}
	if (dfd >= 0)
		close(dfd);
	pthread_mutex_lock(&ls->lock);
	/* busy kept the janitor and discard away, so s is still there. */
	s->busy--;
	if (wrote) {
		s->unmarked = 0;
		s->marked = 1;
	}
	pthread_mutex_unlock(&ls->lock);
	return BC_OK;
}

enum local_auth local_streams_authorize(struct local_streams *ls, const char *id,
                                        const char *bearer)
{
	char hash[65];
	struct local_stream *s;
	enum local_auth a;

	if (bearer != NULL)
		ls->api->sha256_hex(bearer, strlen(bearer), hash);
	pthread_mutex_lock(&ls->lock);
	s = local_find(ls, id);
	if (s == NULL)
		a = LOCAL_AUTH_UNKNOWN;
	else if (bearer == NULL || s->token_sha256[0] == '\0' ||
	         !ls->api->secure_equal(hash, 64, s->token_sha256, 64))
		a = LOCAL_AUTH_BAD_TOKEN;
	else if (s->stopped_ms != 0)
		a = LOCAL_AUTH_STOPPED;
	else if (s->expires_ms != 0 && ls->api->now_ms() >= s->expires_ms)
		a = LOCAL_AUTH_EXPIRED;
	else
		a = LOCAL_AUTH_OK;
	pthread_mutex_unlock(&ls->lock);
	return a;
}

int local_streams_exists(struct local_streams *ls, const char *id)
{
	int found;

	pthread_mutex_lock(&ls->lock);
	found = local_find(ls, id) != NULL;
	pthread_mutex_unlock(&ls->lock);
	return found;
}

/*
 * Make the folder of live stream s, which has none: its first upload
 * (issue 24: a start makes no file). Caller holds the lock; it is dropped
 * around the mkdir (s is busy meanwhile, so nobody removes it). A folder
 * already there is a concurrent first upload's: taken as it is (not
 * scanned: that would remove the other upload's temporary file). The new
 * folder's entry is not flushed, like the uploads' renames into it.
 * 0, or -1 with errno.
 */
static int local_make_dir(struct local_streams *ls, struct local_stream *s)
{
	char dir[4096];
	struct stat st;
	int rc = 0, e = 0;

	if (local_path(dir, sizeof(dir), ls->root, s->id, NULL) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s->busy++;
	pthread_mutex_unlock(&ls->lock);
	if (mkdir(dir, 0755) != 0 &&
	    (errno != EEXIST || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		rc = -1;
		e = errno == EEXIST ? ENOTDIR : errno; /* a file or a symlink is in the way */
		/* The path to the log only: the upload's answer names none. */
		ls->api->log(ls->host, BC_LOG_ERROR, "stream %s: cannot create its folder %s: %s",
		             s->id, dir, strerror(e));
	}
	pthread_mutex_lock(&ls->lock);
	s->busy--;
	if (rc == 0)
		s->has_dir = 1;
	errno = e;
	return rc;
}

int local_streams_tmpfile(struct local_streams *ls, const char *id, char *path, size_t pathlen)
{
	struct local_stream *s;
	int n = snprintf(path, pathlen, "%s/%s/" LOCAL_TMP_PREFIX "XXXXXX", ls->root, id);

	if (n < 0 || (size_t)n >= pathlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	pthread_mutex_lock(&ls->lock);
	s = local_find(ls, id);
	if (s != NULL && !s->has_dir && s->stopped_ms == 0 && local_make_dir(ls, s) != 0) {
		int e = errno;
		pthread_mutex_unlock(&ls->lock);
		errno = e;
		return -1;
	}
	pthread_mutex_unlock(&ls->lock);
	/* An unknown or stopped stream: mkostemp fails (no folder) or
	 * commit refuses the upload, as before. */
	return mkostemp(path, O_CLOEXEC);
}


/* The live stream `id`, for a write to its folder; NULL with *st set and
 * `err` filled when there is none (404) or it was stopped (409, "the stream
 * was stopped: <closed>"). Caller holds ls->lock. */
static struct local_stream *local_find_writable(struct local_streams *ls, const char *id,
                                                const char *closed, struct bc_error *err,
                                                enum bc_status *st)
{
	struct local_stream *s = local_find(ls, id);
	if (s == NULL)
		*st = ls->api->fail(err, BC_E_NOT_FOUND, "local.unknown_stream", "no such stream");
	else if (s->stopped_ms != 0)
		*st = ls->api->fail(err, BC_E_CONFLICT, "local.stream_stopped",
		                    "the stream was stopped: %s", closed);
	else
		return s;
	return NULL;
}

enum bc_status local_streams_commit(struct local_streams *ls, const char *id,
                                    const char *tmp_path, const char *name, uint64_t size,
                                    const char *peer, int *created, struct bc_error *err)
{
	const struct bc_host_api *api = ls->api;
	char dst[4096];
	struct local_stream *s;
	struct stat st_old;
	uint64_t old_size = 0, total;
	enum bc_status st = BC_OK;

	*created = 0;
	if (local_path(dst, sizeof(dst), ls->root, id, name) != 0) {
		unlink(tmp_path);
		return api->fail(err, BC_E_INVALID, "local.bad_name", "path too long");
	}
	pthread_mutex_lock(&ls->lock);
	s = local_find_writable(ls, id, "uploads are closed", err, &st);
	if (s == NULL)
		goto out;
	if (lstat(dst, &st_old) == 0) {
		if (!S_ISREG(st_old.st_mode)) {
			st = api->fail(err, BC_E_INVALID, "local.bad_name", "not a regular file");
			goto out;
		}
		old_size = (uint64_t)st_old.st_size;
	} else {
		*created = 1;
	}
	total = s->bytes - (old_size <= s->bytes ? old_size : s->bytes) + size;
	if (ls->max_stream_bytes != 0 && total > ls->max_stream_bytes) {
		st = api->fail(err, BC_E_TOO_LARGE, "local.stream_quota",
		               "the stream would hold %" PRIu64 " bytes, over max_stream_bytes "
		               "(%" PRIu64 "): delete old segments", total, ls->max_stream_bytes);
		goto out;
	}
	if (rename(tmp_path, dst) != 0) {
		st = api->fail(err, BC_E_UNAVAILABLE, "local.write_failed", "cannot store %s: %s",
		               name, strerror(errno));
		goto out;
	}
	s->bytes = total;
	if (ls->report != NULL) {
		snprintf(s->peer, sizeof(s->peer), "%s", peer != NULL ? peer : "");
		s->last_upload_ms = api->monotonic_ms();
		local_watch_touch(ls, s);
		if (s->media != LOCAL_MEDIA_PUBLISHING) {
			s->media = LOCAL_MEDIA_PUBLISHING;
			local_media_report(ls, s, BC_MEDIA_FACT_PUBLISHING);
		}
	}
out:
	pthread_mutex_unlock(&ls->lock);
	if (st != BC_OK)
		unlink(tmp_path);
	return st;
}

enum bc_status local_streams_remove(struct local_streams *ls, const char *id, const char *name,
                                    struct bc_error *err)
{
	const struct bc_host_api *api = ls->api;
	char path[4096];
	struct local_stream *s;
	struct stat st_old;
	enum bc_status st = BC_OK;

	if (local_path(path, sizeof(path), ls->root, id, name) != 0)
		return api->fail(err, BC_E_INVALID, "local.bad_name", "path too long");
	pthread_mutex_lock(&ls->lock);
	s = local_find_writable(ls, id, "its files are read-only", err, &st);
	if (s == NULL)
		goto out;
	if (lstat(path, &st_old) != 0 || !S_ISREG(st_old.st_mode)) {
		st = api->fail(err, BC_E_NOT_FOUND, "local.no_such_file", "no such file");
		goto out;
	}
	if (unlink(path) != 0) {
		st = api->fail(err, BC_E_UNAVAILABLE, "local.write_failed", "cannot delete %s: %s",
		               name, strerror(errno));
		goto out;
	}
	s->bytes -= ((uint64_t)st_old.st_size <= s->bytes) ? (uint64_t)st_old.st_size : s->bytes;
out:
	pthread_mutex_unlock(&ls->lock);
	return st;
}

int local_streams_open_file(struct local_streams *ls, const char *id, const char *name)
{
	char path[4096];
	int fd = -1;

	if (local_path(path, sizeof(path), ls->root, id, name) != 0) {
		errno = ENOENT;
		return -1;
	}
	/* Under the lock, so the janitor cannot be half-way through the
	 * folder; once open, the descriptor outlives a later removal. */
	pthread_mutex_lock(&ls->lock);
	if (local_find(ls, id) != NULL)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	else
		errno = ENOENT;
	pthread_mutex_unlock(&ls->lock);
	return fd;
}

size_t local_streams_live_count(struct local_streams *ls)
{
	size_t live;

	/* A counter kept by add, finish and remove: start and stop report it
	 * each time, and a walk of the table would make them O(streams). */
	pthread_mutex_lock(&ls->lock);
	live = ls->live;
	pthread_mutex_unlock(&ls->lock);
	return live;
}
