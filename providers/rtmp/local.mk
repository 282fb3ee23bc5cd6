# SPDX-License-Identifier: Apache-2.0
# providers/rtmp: one-time RTMP stream keys enforced by nginx-rtmp through
# its notify callbacks. rtmp.c lifecycle and options, rtmp_keys.c the key
# table, rtmp_callbacks.c the callback listener (CivetWeb, with the HTTP
# frontend's request guard compiled in, as providers/local does),
# rtmp_form.c the callbacks' form bodies, rtmp_allow.c the `allow` list,
# rtmp_control.c nginx-rtmp's control module (libcurl), rtmp_reaper.c the
# thread that reports publishers nginx stopped calling back about.

if BUILD_PLUGIN_PROVIDER_RTMP
pkglib_LTLIBRARIES += providers/rtmp/provider_rtmp.la
providers_rtmp_provider_rtmp_la_SOURCES = \
	providers/rtmp/rtmp.c \
	providers/rtmp/rtmp_allow.c \
	providers/rtmp/rtmp_allow.h \
	providers/rtmp/rtmp_callbacks.c \
	providers/rtmp/rtmp_callbacks.h \
	providers/rtmp/rtmp_control.c \
	providers/rtmp/rtmp_control.h \
	providers/rtmp/rtmp_form.c \
	providers/rtmp/rtmp_form.h \
	providers/rtmp/rtmp_keys.c \
	providers/rtmp/rtmp_keys.h \
	providers/rtmp/rtmp_reaper.c \
	providers/rtmp/rtmp_reaper.h \
	frontends/http/http_guard.c \
	frontends/http/http_guard.h \
	providers/common/token.c \
	providers/common/token.h
providers_rtmp_provider_rtmp_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/providers/rtmp \
	-I$(srcdir)/frontends/http -I$(srcdir)/providers/common
providers_rtmp_provider_rtmp_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
providers_rtmp_provider_rtmp_la_LDFLAGS = $(bc_plugin_ldflags)
providers_rtmp_provider_rtmp_la_LIBADD = $(CIVETWEB_LIBS) $(CURL_LIBS)

if HAVE_CHECK
# test_rtmp_form: the form parser, the allow list (configured through the
# stub host against the real option table) and the key table; their
# sources are internal to the .so, so they are compiled into the test.
check_PROGRAMS += tests/unit/test_rtmp_form
TESTS += tests/unit/test_rtmp_form
tests_unit_test_rtmp_form_SOURCES = tests/unit/test_rtmp_form.c \
	providers/rtmp/rtmp_form.c providers/rtmp/rtmp_form.h \
	providers/rtmp/rtmp_allow.c providers/rtmp/rtmp_allow.h \
	providers/rtmp/rtmp_keys.c providers/rtmp/rtmp_keys.h
tests_unit_test_rtmp_form_CPPFLAGS = $(bc_plugin_test_cppflags) -I$(srcdir)/providers/rtmp
tests_unit_test_rtmp_form_CFLAGS = $(bc_unit_cflags)
tests_unit_test_rtmp_form_LDADD = $(bc_plugin_test_ldadd)
endif

# End to end with the real nginx + libnginx-mod-rtmp and ffmpeg, on the
# nginx.conf of docs/providers/rtmp.md; and hostile callbacks.
TESTS += \
	tests/integration/test_rtmp.py \
	tests/integration/test_rtmp_hostile.py
endif
