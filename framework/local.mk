# SPDX-License-Identifier: Apache-2.0
# libbroadcast (the framework), broadcastd and broadcastctl.

# Everything of the framework, for the library, the daemon and the unit tests.
noinst_LTLIBRARIES += framework/libbroadcast_core.la
framework_libbroadcast_core_la_SOURCES = \
	framework/bc_internal.h \
	framework/error.c \
	framework/util.c \
	framework/log.c \
	framework/yamldoc.c \
	framework/options.c \
	framework/params.c
framework_libbroadcast_core_la_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
framework_libbroadcast_core_la_LIBADD = $(YAML_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)

pkginclude_HEADERS += \
	include/broadcast/broadcast.h \
	include/broadcast/plugin.h \
	include/broadcast/host.h \
	include/broadcast/provider.h \
	include/broadcast/store.h \
	include/broadcast/frontend.h
