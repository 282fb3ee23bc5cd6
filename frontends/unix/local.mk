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

# Integration tests: the real broadcastd with a unix frontend, real clients
# (python sockets and broadcastctl).
TESTS += \
	tests/integration/test_unix_socket.py \
	tests/integration/test_unix_protocol.py \
	tests/integration/test_broadcastctl.py
endif
