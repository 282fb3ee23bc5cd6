# SPDX-License-Identifier: Apache-2.0
# providers/webrtc: WHIP ingest through Janus's VideoRoom (issue 23).
# webrtc.c lifecycle and options, webrtc_streams.c the stream and session
# table, webrtc_janus.c Janus's HTTP API (libcurl, jansson), webrtc_http.c
# the WHIP listener (CivetWeb, with the HTTP frontend's request guard
# compiled in, as providers/local does), webrtc_sdp.c SDP checks.

if BUILD_PLUGIN_PROVIDER_WEBRTC
pkglib_LTLIBRARIES += providers/webrtc/provider_webrtc.la
providers_webrtc_provider_webrtc_la_SOURCES = \
	providers/webrtc/webrtc.c \
	providers/webrtc/webrtc_err.h \
	providers/webrtc/webrtc_http.c \
	providers/webrtc/webrtc_http.h \
	providers/webrtc/webrtc_janus.c \
	providers/webrtc/webrtc_janus.h \
	providers/webrtc/webrtc_sdp.c \
	providers/webrtc/webrtc_sdp.h \
	providers/webrtc/webrtc_streams.c \
	providers/webrtc/webrtc_streams.h \
	frontends/http/http_guard.c \
	frontends/http/http_guard.h \
	providers/common/token.c \
	providers/common/token.h
providers_webrtc_provider_webrtc_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/providers/webrtc \
	-I$(srcdir)/frontends/http -I$(srcdir)/providers/common
providers_webrtc_provider_webrtc_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
providers_webrtc_provider_webrtc_la_LDFLAGS = $(bc_plugin_ldflags)
providers_webrtc_provider_webrtc_la_LIBADD = $(CIVETWEB_LIBS) $(CURL_LIBS) $(JANSSON_LIBS)

if HAVE_CHECK
# test_webrtc_sdp: the SDP checks and the trickle-ICE fragment parser the
# listener runs on every body; internal to the .so, so compiled in.
check_PROGRAMS += tests/unit/test_webrtc_sdp
TESTS += tests/unit/test_webrtc_sdp
tests_unit_test_webrtc_sdp_SOURCES = tests/unit/test_webrtc_sdp.c \
	providers/webrtc/webrtc_sdp.c providers/webrtc/webrtc_sdp.h \
	providers/webrtc/webrtc_janus.h providers/webrtc/webrtc_err.h
tests_unit_test_webrtc_sdp_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/providers/webrtc
tests_unit_test_webrtc_sdp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_webrtc_sdp_LDADD = $(CHECK_LIBS)
endif

# End to end with the real Janus (its VideoRoom) and headless Chromium
# publishing over WHIP and watching; and hostile requests to the listener.
# Chromium makes them heavy: they run when BC_SLOW_SUITES is unset or
# contains "webrtc" (the CI's sanitizer and distcheck passes set it to
# "none"), see tests/integration/test_webrtc.py.
TESTS += \
	tests/integration/test_webrtc.py \
	tests/integration/test_webrtc_hostile.py
endif
