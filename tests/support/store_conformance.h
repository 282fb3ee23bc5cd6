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
};

/*
 * A suite named `suite_name` with one test case per behaviour above. `fx` is
 * kept by pointer; one conformance suite per test program.
 */
Suite *store_conformance_suite(const char *suite_name, const struct store_fixture *fx);

#endif /* BC_STORE_CONFORMANCE_H */
