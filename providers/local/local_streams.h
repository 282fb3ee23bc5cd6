/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_streams.h: the local origin's table of streams and their folders.
 *
 * Central type: struct local_streams, one per provider instance. It owns the
 * `root` directory, one folder per stream that was uploaded to
 * (root/{stream_id}/, made by its first upload: a start touches no file,
 * issue 24), the in-memory table of the streams (upload token hash, expiry,
 * live or stopped, bytes stored) and the janitor thread that deletes
 * stopped streams' folders once their retention has passed. Every function
 * is safe to call from any thread: one mutex guards the table (a hash keyed
 * by stream id), and every change of a stream's files that must agree with
 * its state (the rename that publishes an upload, a delete) happens under
 * it. Making a stream's folder (first upload) and its stop's file work
 * (ending playlists, the stop marker) happen outside it. Nothing on a
 * start's or a stop's path is flushed.
 *
 * The table is soft state (DESIGN §4b): a start writes nothing durable but
 * the store's commit, which the host makes after start() returns. After a
 * restart the host re-announces every stream the store says is live with
 * the meta kept at start (local_streams_resume()), and only that re-admits
 * an upload token; a stream the store recorded as stopped is never
 * re-announced, so its token stays refused. The folders found at open are
 * loaded without a token, for playback and for the retention: stop()
 * leaves a zero-length marker ".stopped" whose mtime is the stop time (not
 * flushed: after a power loss the folder's last change counts), and
 * the janitor deletes a folder the retention after its marker (or, without
 * one, after its last modification), never one resume() claimed, and none
 * found at open before a grace (LOCAL_RESUME_GRACE_MS in local_streams.c)
 * gives the host time to resume. The token itself is never written
 * anywhere. Names starting with '.' are never served or accepted as uploads
 * (local_name_is_valid()), which keeps the marker and temporary upload
 * files private.
 *
 * Media (ABI 1.1): each live stream has a media state in memory only
 * (none before its first upload, publishing, idle, unknown after resume).
 * An upload makes it publishing; a watcher thread, every 250 ms, makes a
 * publishing (or unknown) stream idle once no upload came for idle_after.
 * Only changes are reported, through api->media_report() when the host has
 * it (BC_HAS_MEMBER); the report is a non-blocking queue push.
 *
 * The HTTP side (parsing requests, reading bodies, answering) is in
 * local_origin.c; lifecycle and options in local.c.
 */
#ifndef BC_LOCAL_STREAMS_H
#define BC_LOCAL_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include <broadcast/provider.h>

/** A stream id is a lowercase UUID: 36 characters. */
#define LOCAL_ID_LEN 36
/** The longest file name accepted in a stream's folder. */
#define LOCAL_NAME_MAX 128
/** The longest request path the origin answers (ours need at most 171). */
#define LOCAL_PATH_MAX 256

struct local_streams;

/** What local_streams_open() needs; strings are borrowed for the call. */
struct local_streams_cfg {
	const char *root;          /**< the folder holding every stream's folder */
	int64_t retention_ms;      /**< how long a stopped stream's files stay; 0 = forever */
	uint64_t max_stream_bytes; /**< bytes one stream may hold; 0 = no limit */
	uint64_t max_file_bytes;   /**< the largest file accepted (bounds playlist reads) */
	int64_t idle_after_ms;     /**< a publishing stream with no upload for this long is
	                                reported idle (api->media_report, when the host has it) */
};

/** The answer of local_streams_authorize(). */
enum local_auth {
	LOCAL_AUTH_OK = 0,     /**< a live stream and its token */
	LOCAL_AUTH_UNKNOWN,    /**< no such stream here */
	LOCAL_AUTH_BAD_TOKEN,  /**< no token or not this stream's */
	LOCAL_AUTH_EXPIRED,    /**< the right token, past its expiry */
	LOCAL_AUTH_STOPPED     /**< the right token, but the stream was stopped */
};

/**
 * Create `root` if needed (mode 0755), load the stream folders found in it
 * without a token (removing temporary files a crash left, and converting
 * the state file ".stream" of releases up to 0.1: its stop time becomes a
 * stop marker, the file goes), and start the janitor thread.
 * Returns BC_OK and sets *out, or BC_E_UNAVAILABLE "local.root_unusable" when
 * the folder cannot be created or written, BC_E_NOMEM, BC_E_INTERNAL.
 * api and host are kept and must outlive the table.
 */
enum bc_status local_streams_open(struct local_streams **out, const struct bc_host_api *api,
                                  struct bc_host *host, const struct local_streams_cfg *cfg,
                                  struct bc_error *err);

/** Stop the janitor and free the table; the files stay. NULL is a no-op. */
void local_streams_close(struct local_streams *ls);

/**
 * Add a live stream, in memory only: no file, no folder (its first upload
 * makes the folder; the store's commit is the durable record).
 * token_sha256 is the lowercase hex hash of its upload token.
 * Returns BC_OK, BC_E_CONFLICT
 * "local.stream_exists" when the id is already known, BC_E_INVALID
 * "local.bad_id", BC_E_NOMEM.
 */
enum bc_status local_streams_add(struct local_streams *ls, const char *id,
                                 const char *token_sha256, int64_t expires_ms,
                                 struct bc_error *err);

/**
 * Take back a stream the host re-announces as live after a restart
 * (bc_provider_ops.resume): its token hash and expiry come from the store's
 * meta, the only place they are kept. A folder found at open is claimed
 * (the janitor no longer deletes it) and made live with that token, also
 * one with a stop marker: the store says the stop never completed, so it
 * was never acknowledged, and the marker is removed. A stream without a
 * folder is added as local_streams_add() does (its first upload makes the
 * folder). Its media state
 * becomes unknown: the first upload reports publishing, no upload within
 * idle_after reports idle. Idempotent.
 * Returns BC_OK, BC_E_INVALID "local.bad_id", BC_E_CONFLICT
 * "local.stream_busy" (file work of the stream is under way), BC_E_NOMEM.
 */
enum bc_status local_streams_resume(struct local_streams *ls, const char *id,
                                    const char *token_sha256, int64_t expires_ms,
                                    struct bc_error *err);

/**
 * Forget a stream local_streams_add() just added (and its folder, if an
 * upload made one): the undo of a start() that fails after it. Unknown ids
 * are ignored.
 */
void local_streams_discard(struct local_streams *ls, const char *id);

/**
 * Stop a stream: its token stops working at once, and for a stream with a
 * folder every media playlist in it gets "#EXT-X-ENDLIST" appended if it
 * lacks one (so players see the end) and the retention clock starts: a stop
 * marker ".stopped", mtime the stop time, so the retention counts from the
 * stop across a restart. Neither is flushed (issue 24: no flush on a stop's
 * request path; the store's commit is the stop's record). Idempotent: an unknown or already stopped
 * stream is BC_OK. `meta_token_sha256` (may be NULL) is the hash the store
 * kept; a mismatch with the one in memory is logged. Returns BC_OK: a
 * marker that cannot be written is logged (uploads are refused all the same,
 * a retried stop writes it again), and err is then left alone.
 */
enum bc_status local_streams_finish(struct local_streams *ls, const char *id,
                                    const char *meta_token_sha256, struct bc_error *err);

/**
 * Check an upload's bearer token (NULL when the request had none) against the
 * stream's, in constant time.
 */
enum local_auth local_streams_authorize(struct local_streams *ls, const char *id,
                                        const char *bearer);

/** 1 when the stream is known (live, or stopped and not yet deleted). */
int local_streams_exists(struct local_streams *ls, const char *id);

/**
 * Open a new temporary file in the stream's folder for an upload, making the
 * folder first when the live stream has none yet (its first upload; a
 * failure to make it is logged with the path). Writes the file's path into
 * path (size pathlen) and returns the descriptor, or -1 with errno.
 */
int local_streams_tmpfile(struct local_streams *ls, const char *id, char *path,
                          size_t pathlen);

/**
 * Publish a finished upload: under the table lock, check the stream is still
 * live and the stream's byte quota, then rename tmp_path to `name` in its
 * folder. On any failure tmp_path is removed. *created is set to 1 when the
 * name did not exist before. `peer` is the uploader's address (for the
 * media report's detail; never a secret): a stream not publishing yet, or
 * idle, is reported publishing, under the lock so that reports reach the
 * host in the order of the changes.
 * Returns BC_OK, BC_E_CONFLICT "local.stream_stopped", BC_E_NOT_FOUND,
 * BC_E_TOO_LARGE "local.stream_quota", BC_E_UNAVAILABLE "local.write_failed".
 */
enum bc_status local_streams_commit(struct local_streams *ls, const char *id,
                                    const char *tmp_path, const char *name, uint64_t size,
                                    const char *peer, int *created, struct bc_error *err);

/**
 * Delete one file of a live stream (a broadcaster's sliding window).
 * Returns BC_OK, BC_E_NOT_FOUND (no such file), BC_E_CONFLICT when stopped,
 * BC_E_UNAVAILABLE on a file system error.
 */
enum bc_status local_streams_remove(struct local_streams *ls, const char *id,
                                    const char *name, struct bc_error *err);

/**
 * Open one file of a known stream for reading. Returns a descriptor or -1
 * (errno ENOENT when the stream or file does not exist).
 */
int local_streams_open_file(struct local_streams *ls, const char *id, const char *name);

/** Number of live streams, for health and metrics. */
size_t local_streams_live_count(struct local_streams *ls);

/**
 * 1 when `name` may be a file of a stream: 1..LOCAL_NAME_MAX characters of
 * [A-Za-z0-9._-], not starting with '.', and ending in one of .m3u8 .ts .m4s
 * .mp4 .aac .vtt. Sets *bad_ext when only the extension is wrong.
 */
int local_name_is_valid(const char *name, int *bad_ext);

/**
 * 1 when `path` (len bytes; they need not end in NUL, and a NUL among them
 * is refused) is a request path the origin may act on, judged before any
 * percent-decoding: it starts with '/', is at most LOCAL_PATH_MAX bytes of
 * [A-Za-z0-9._/-] (so no '%', NUL, '\\', ';', space or non-ASCII byte), and
 * has no empty segment ("//"), no segment starting with '.' (".", "..",
 * hidden files) and no "..". Thread-safe, pure.
 */
int local_path_is_plain(const char *path, size_t len);

/** 1 when `id` looks like a stream id (36 of [0-9a-f-], dashes in place). */
int local_id_is_valid(const char *id);

/** Write all `len` bytes of `data` to `fd`, retrying on EINTR and short
 *  writes: 0, or -1 with errno set. */
int local_write_all(int fd, const char *data, size_t len);

#endif /* BC_LOCAL_STREAMS_H */
