# SPDX-License-Identifier: Apache-2.0
# The HTTP frontend (frontend_http.so): the django-broadcast wire API and the
# read-only additions, on CivetWeb. Only translates; the dispatcher decides.

if BUILD_PLUGIN_FRONTEND_HTTP
pkglib_LTLIBRARIES += frontends/http/frontend_http.la
frontends_http_frontend_http_la_SOURCES = \
	frontends/http/http.c \
	frontends/http/http_guard.c \
	frontends/http/http_guard.h \
	frontends/http/http_routes.c \
	frontends/http/http_routes.h \
	frontends/http/http_tls.c \
	frontends/http/http_tls.h
frontends_http_frontend_http_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
# libssl ships with libcrypto (libssl-dev): http_tls.c terminates TLS itself,
# as Debian's CivetWeb cannot load OpenSSL 3 (see there).
frontends_http_frontend_http_la_LIBADD = $(CIVETWEB_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS)
frontends_http_frontend_http_la_LDFLAGS = $(bc_plugin_ldflags)

if HAVE_CHECK
# test_http_helpers: listen syntax, Host and Origin rules. They are static
# in http.c, which the test includes; the plugin's other sources link beside.
check_PROGRAMS += tests/unit/test_http_helpers
TESTS += tests/unit/test_http_helpers
tests_unit_test_http_helpers_SOURCES = tests/unit/test_http_helpers.c \
	frontends/http/http_guard.c frontends/http/http_guard.h \
	frontends/http/http_routes.c frontends/http/http_routes.h \
	frontends/http/http_tls.c frontends/http/http_tls.h
tests_unit_test_http_helpers_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/frontends/http
tests_unit_test_http_helpers_CFLAGS = $(bc_unit_cflags)
tests_unit_test_http_helpers_LDADD = $(CHECK_LIBS) $(CIVETWEB_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS)
endif

# Integration tests: the real broadcastd with the test provider, real clients
# (python http.client and curl), one concern a file.
bc_http_tests = \
	tests/integration/test_http_api.py \
	tests/integration/test_http_params.py \
	tests/integration/test_http_errors.py \
	tests/integration/test_http_auth.py \
	tests/integration/test_http_transport.py \
	tests/integration/test_http_security.py \
	tests/integration/test_http_hostile.py
TESTS += $(bc_http_tests)
endif
# docs/ and tests/integration/ are distributed whole by the top Makefile.am.
