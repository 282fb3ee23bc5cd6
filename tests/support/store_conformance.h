/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_conformance.h: the behaviour every store plugin must show, as one
 * reusable Check suite. A store's own test (tests/unit/test_store_sqlite.c,
 * the postgres one) describes how to get an empty database and how to
 * reopen it, and adds the returned suite to its runner; the suite loads the
 * real .so through the stub host (stubhost.h) and drives bc_store_ops.
 *
 * What it checks (store.h is the contract): reserve/commit/get round trip
 * of every field, meta kept verbatim and an empty name; duplicate reserve
 * -> BC_E_CONFLICT; abort removes a PENDING record only and is idempotent,
 * commit after abort -> BC_E_NOT_FOUND; unknown ids -> BC_E_NOT_FOUND with
 * code "store.not_found" (get, commit, stop); PENDING records are not listed
 * unless asked; stop sets state and stop_ms and returns the record, a second
 * stop -> BC_E_CONFLICT with the stored record (first stop_ms); list order
 * (start_ms DESC, id DESC) with ties, keyset pagination visiting each record
 * once, owner and state filters; durability across destroy and reopen;
 * concurrent start/stop from 8 threads and racing stops of one stream
 * (exactly one winner); structs from an older host (smaller struct_size).
 *
 * Since ABI 1.1 (store.h's commit_event, stop_event, media, events,
 * events_prune; every store in the tree must have them): commit_event makes
 * the record LIVE with media IDLE, media_ms = start_ms, event_seq 1 and one
 * stream.started event (seq 1); media transitions, and BC_E_CONFLICT writing
 * nothing for a repeated state or a stopped record; stop_event keeps the
 * reason and writes one stream.stopped event only when it wins; seq per
 * stream 1, 2, 3... without gaps, cursors strictly increasing and assigned
 * by the store (the event's own cursor and seq are ignored); events() with
 * after, limit and owner, prune by time and by count, cursors never reused
 * after a prune; the list filter on media; 8 threads racing stop_event on
 * the same streams (exactly one stream.stopped event each) and writers
 * racing a reader that follows the feed by cursor (it must miss nothing:
 * cursor order is commit order). The records and events read back go
 * through the suite's own sinks, which check that a store puts them on the
 * thread of the call (host.h).
 *
 * The delivery cursors (cursor_claim, cursor_advance; optional, both or
 * neither, only with the event ops; skipped for a store without them):
 * creation at BC_CURSOR_HEAD (0 on an empty feed, else the last cursor) or
 * at a given cursor, renewal by the holder, BC_E_CONFLICT for another
 * holder while the lease is live and takeover after it, advance forward
 * only and by the holder only (BC_E_NOT_FOUND for no cursor), a lease of 0
 * giving the claim up, durability across a reopen, and 8 threads claiming
 * one cursor at once (exactly one wins, in each of three rounds).
 *
 * Threads: when the plugin lacks BC_PLUGIN_THREAD_SAFE the suite serialises
 * its calls with a mutex, as the host does.
 */
#ifndef BC_STORE_CONFORMANCE_H
#define BC_STORE_CONFORMANCE_H

#include <check.h>

/*
 * How to run a store. Everything is borrowed and must outlive the suite's
 * run (make it static). The callbacks run in the test's process (the forked
 * child under CK_FORK=yes), in this order per test: fresh_config, then any
 * number of same_config, then cleanup.
 */
struct store_fixture {
	const char *so_path;     /* the plugin's .so */
	const char *plugin_name; /* its BC_KIND_STORE descriptor's name */
	/* Key/value pairs (NULL-terminated, as for stubhost_new) opening a new,
	 * empty database. The array must stay valid until the next call. */
	const char *const *(*fresh_config)(void *arg);
	/* Key/value pairs reopening the database of the last fresh_config. */
	const char *const *(*same_config)(void *arg);
	/* Optional: drop what fresh_config made (a temp folder, a schema). */
	void (*cleanup)(void *arg);
	void *arg;               /* passed to the callbacks */
	/* Optional (since ABI 1.1's additions; zero keeps the old behaviour):
	 * 1 when the store keeps nothing across destroy() (a test store in
	 * memory): the tests that reopen the database are skipped. */
	int no_reopen;
};

/*
 * A suite named `suite_name` with one test case per behaviour above. `fx` is
 * kept by pointer. Up to four conformance suites (on different fixtures)
 * may be added to one test program.
 */
Suite *store_conformance_suite(const char *suite_name, const struct store_fixture *fx);

#endif /* BC_STORE_CONFORMANCE_H */
