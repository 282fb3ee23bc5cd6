# SPDX-License-Identifier: Apache-2.0
# stores/sqlite: the embedded default stream store, one SQLite file in WAL
# mode (docs/stores.md), and its Check test, which runs the store conformance
# suite of tests/support/store_conformance.h (shared with stores/postgres)
# plus the SQLite-only checks (schema version, file mode, journal mode).

if BUILD_PLUGIN_STORE_SQLITE
pkglib_LTLIBRARIES += stores/sqlite/store_sqlite.la
stores_sqlite_store_sqlite_la_SOURCES = \
	stores/sqlite/sqlite.c \
	stores/sqlite/sqlite_conn.c \
	stores/sqlite/sqlite_conn.h \
	stores/sqlite/sqlite_pending.c \
	stores/sqlite/sqlite_pending.h \
	stores/sqlite/sqlite_schema.c \
	stores/sqlite/sqlite_schema.h \
	stores/common/group_commit.c \
	stores/common/group_commit.h
stores_sqlite_store_sqlite_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/stores/common
stores_sqlite_store_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
stores_sqlite_store_sqlite_la_LDFLAGS = $(bc_plugin_ldflags)
stores_sqlite_store_sqlite_la_LIBADD = $(SQLITE_LIBS)

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_store_sqlite
TESTS += tests/unit/test_store_sqlite
tests_unit_test_store_sqlite_SOURCES = tests/unit/test_store_sqlite.c \
	tests/support/store_conformance.c tests/support/store_conformance.h
tests_unit_test_store_sqlite_CPPFLAGS = $(bc_plugin_test_cppflags) \
	-DBC_STORE_SQLITE_SO='"$(abs_top_builddir)/stores/sqlite/.libs/store_sqlite.so"'
tests_unit_test_store_sqlite_CFLAGS = $(bc_unit_cflags) $(SQLITE_CFLAGS)
tests_unit_test_store_sqlite_LDADD = $(bc_plugin_test_ldadd) $(SQLITE_LIBS)
# The test dlopen()s the module: build it first.
EXTRA_tests_unit_test_store_sqlite_DEPENDENCIES = stores/sqlite/store_sqlite.la
endif
# Real faults under a running daemon: unwritable file, full disk, lock
# held by another process (docs/stores.md, "Faults").
TESTS += tests/integration/test_store_faults.py
endif
