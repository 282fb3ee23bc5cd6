/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_pending.h: the sqlite store's reserved starts, kept in memory
 * until their commit writes them to the file as LIVE rows.
 *
 * Why: store.h lets a reserve be non-durable, and a PENDING row on disk
 * bought nothing a crash could use (it was never acknowledged, and the
 * providers clean up what they minted by themselves), yet it cost a second
 * write transaction for every start. So a start is one write now: the
 * commit inserts the whole row. While a record is reserved, get() and a
 * list of PENDING records see it here, and a second reserve of its id is a
 * conflict, exactly as if the row were in the file.
 *
 * The table holds as many records as starts are between their reserve and
 * their commit or abort at one moment (at most the host's worker threads),
 * so it is a list searched linearly. Thread-safe: one mutex.
 */
#ifndef BC_SQLITE_PENDING_H
#define BC_SQLITE_PENDING_H

#include <pthread.h>
#include <stddef.h>

#include <broadcast/store.h>

struct sqlite_reserved {
	struct sqlite_reserved *next;
	struct bc_record rec; /* state PENDING; its strings live after this struct */
	int committing;       /* a commit is writing it: not free to abort or commit */
	int aborted;          /* an abort came during that commit */
};

struct sqlite_pending {
	pthread_mutex_t lock; /* guards head and every entry's flags */
	struct sqlite_reserved *head;
};

/* 0, or -1 when the mutex cannot be made. */
int sqlite_pending_init(struct sqlite_pending *p);
/* Frees every entry (the host never leaves one behind, but a crashed
 * caller's would otherwise leak) and the mutex. */
void sqlite_pending_destroy(struct sqlite_pending *p);

/* Keep a copy of `rec` (strings copied, state set to PENDING): BC_OK,
 * BC_E_CONFLICT when its id is already reserved here, BC_E_NOMEM. */
enum bc_status sqlite_pending_add(struct sqlite_pending *p, const struct bc_record *rec);

/* Claim `id` for a commit: its entry, marked committing, or NULL when the
 * id is not reserved here or another commit holds it. The entry stays
 * valid until sqlite_pending_end_commit(). */
struct sqlite_reserved *sqlite_pending_begin_commit(struct sqlite_pending *p, const char *id);

/* The commit of `r` is over: `written` says whether the row is in the file.
 * Written, or aborted meanwhile: the entry is freed. Otherwise it is
 * reserved again (the host's abort, or a retried commit, finds it). */
void sqlite_pending_end_commit(struct sqlite_pending *p, struct sqlite_reserved *r,
                               int written);

/* Drop the reservation of `id`: 1 when it was here (freed, or marked for
 * the commit in flight to drop), 0 when it was not. */
int sqlite_pending_abort(struct sqlite_pending *p, const char *id);

/* For get() and list(): lock the table, then look up or collect records;
 * what they return stays valid until sqlite_pending_unlock(). */
void sqlite_pending_lock(struct sqlite_pending *p);
void sqlite_pending_unlock(struct sqlite_pending *p);

/* The reserved record `id` (state PENDING), or NULL. Caller holds the lock. */
const struct bc_record *sqlite_pending_lookup(struct sqlite_pending *p, const char *id);

/* Collect the entries that match `owner`
 * (NULL: any) and come strictly after the keyset cursor (after_id NULL:
 * from the top), newest first (start_ms, then id, descending, the store's
 * list order). Caller holds the lock. *out is malloc()ed (NULL when none).
 * Returns -1 when out of memory. */
int sqlite_pending_collect(struct sqlite_pending *p, const char *owner, int64_t after_start_ms,
                           const char *after_id, const struct bc_record ***out, size_t *n);

/* The list order: > 0 when a comes before b (newer start, then larger id). */
int sqlite_pending_order(int64_t a_start_ms, const char *a_id, int64_t b_start_ms,
                         const char *b_id);

#endif
