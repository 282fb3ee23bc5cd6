# SPDX-License-Identifier: Apache-2.0
# stores/postgres: stream records in PostgreSQL (libpq), so several
# broadcastd nodes share one set of streams. postgres.c (lifecycle, options,
# descriptor), pg_pool.c (connections), pg_schema.c (tables, migrations, SQL),
# pg_batch.c (writes batched into one transaction, with
# stores/common/group_commit.c, which the sqlite store shares).

if BUILD_PLUGIN_STORE_POSTGRES
pkglib_LTLIBRARIES += stores/postgres/store_postgres.la
stores_postgres_store_postgres_la_SOURCES = \
	stores/postgres/postgres.c \
	stores/postgres/pg_pool.c \
	stores/postgres/pg_pool.h \
	stores/postgres/pg_schema.c \
	stores/postgres/pg_schema.h \
	stores/postgres/pg_batch.c \
	stores/postgres/pg_batch.h \
	stores/common/group_commit.c \
	stores/common/group_commit.h
stores_postgres_store_postgres_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/stores/common
stores_postgres_store_postgres_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS) -pthread
stores_postgres_store_postgres_la_LDFLAGS = $(bc_plugin_ldflags)
stores_postgres_store_postgres_la_LIBADD = $(LIBPQ_LIBS) -lpthread

# Against a throwaway server (tests/support/pg-cluster.sh): the conformance
# suite shared with sqlite, two instances as two nodes, racing stops, a
# server restart mid-run, secrets kept out of logs.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_store_postgres
TESTS += tests/unit/test_store_postgres
tests_unit_test_store_postgres_SOURCES = tests/unit/test_store_postgres.c \
	tests/support/store_conformance.c tests/support/store_conformance.h
tests_unit_test_store_postgres_CPPFLAGS = $(bc_plugin_test_cppflags)
tests_unit_test_store_postgres_CFLAGS = $(bc_unit_cflags) $(LIBPQ_CFLAGS) -pthread
tests_unit_test_store_postgres_LDADD = $(bc_plugin_test_ldadd) $(LIBPQ_LIBS) -lpthread
# The test dlopen()s the module: build it first.
EXTRA_tests_unit_test_store_postgres_DEPENDENCIES = stores/postgres/store_postgres.la
endif

# Two real broadcastd nodes sharing one database.
TESTS += tests/integration/test_postgres_nodes.py
endif
