/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_schema.h: the sqlite store's schema and its versions.
 *
 * The version lives in the database header (PRAGMA user_version). Each
 * release that changes the schema appends one migration to the ordered
 * array in sqlite_schema.c and bumps SQLITE_SCHEMA_VERSION; opening a file
 * applies the missing ones in one transaction. A file newer than this code
 * is refused, never "downgraded".
 */
#ifndef BC_SQLITE_SCHEMA_H
#define BC_SQLITE_SCHEMA_H

#include <sqlite3.h>

#include <broadcast/store.h>

/* The schema version this code writes and reads (the number of migrations).
 * tests/unit/test_store_sqlite.c checks files against it. */
#define SQLITE_SCHEMA_VERSION 5

/*
 * Bring the database `db` (at `path`, for messages) to SQLITE_SCHEMA_VERSION.
 * *from is set to the version found. Returns BC_OK; BC_E_UNSUPPORTED
 * "sqlite.schema_too_new" when the file is newer than this code; or a
 * failure of sqlite_conn_fail(). A failed migration changes nothing.
 * Main thread.
 */
enum bc_status sqlite_schema_migrate(sqlite3 *db, const char *path, int *from,
                                     const struct bc_host_api *api, struct bc_error *err);

#endif /* BC_SQLITE_SCHEMA_H */
