# SPDX-License-Identifier: Apache-2.0
# The Unix socket frontend (frontend_unix.so): one JSON request per line on a
# SOCK_STREAM socket, peer identity from SO_PEERCRED. broadcastctl, its client,
# is built from framework/local.mk.

if BUILD_PLUGIN_FRONTEND_UNIX
pkglib_LTLIBRARIES += frontends/unix/frontend_unix.la
frontends_unix_frontend_unix_la_SOURCES = \
	frontends/unix/unix.c \
	frontends/unix/unix_conn.c \
	frontends/unix/unix_conn.h
frontends_unix_frontend_unix_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
frontends_unix_frontend_unix_la_LIBADD = $(JANSSON_LIBS)
frontends_unix_frontend_unix_la_LDFLAGS = $(bc_plugin_ldflags)

if HAVE_CHECK
# test_unix_helpers: mode, ids, the socket's folder and check() on configs
# the stub host builds. The helpers are static in unix.c, which the test
# includes; unix_conn.c links beside it.
check_PROGRAMS += tests/unit/test_unix_helpers
TESTS += tests/unit/test_unix_helpers
tests_unit_test_unix_helpers_SOURCES = tests/unit/test_unix_helpers.c \
	frontends/unix/unix_conn.c frontends/unix/unix_conn.h
tests_unit_test_unix_helpers_CPPFLAGS = $(bc_plugin_test_cppflags) -I$(srcdir)/frontends/unix
tests_unit_test_unix_helpers_CFLAGS = $(bc_unit_cflags)
tests_unit_test_unix_helpers_LDADD = $(bc_plugin_test_ldadd) $(JANSSON_LIBS)
endif

# Integration tests: the real broadcastd with a unix frontend, real clients
# (python sockets and broadcastctl).
TESTS += \
	tests/integration/test_unix_socket.py \
	tests/integration/test_unix_protocol.py \
	tests/integration/test_broadcastctl.py
endif
