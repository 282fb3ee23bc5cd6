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
	framework/params.c \
	framework/records.c \
	framework/loader.c \
	framework/instance.c \
	framework/host.c \
	framework/metrics.c \
	framework/render.c \
	framework/dispatch.c \
	framework/media.c \
	framework/webhook.c \
	framework/webhook_http.c \
	framework/bc_webhook.h \
	framework/context.c \
	framework/bc_runtime.h \
	framework/bc_render.h \
	framework/tokens.c \
	framework/ratelimit.c
framework_libbroadcast_core_la_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) \
	$(CURL_CFLAGS)
# libcurl is opened with dlopen() when a configuration has webhooks, not
# linked (framework/webhook_http.c): only its headers are needed here.
framework_libbroadcast_core_la_LIBADD = $(YAML_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)

pkginclude_HEADERS += \
	include/broadcast/broadcast.h \
	include/broadcast/plugin.h \
	include/broadcast/host.h \
	include/broadcast/provider.h \
	include/broadcast/store.h \
	include/broadcast/frontend.h

# libbroadcast.so: the embedding library. Only the bc_context_* API of
# broadcast/embed.h is exported; plugins never link it (they get the host table).
lib_LTLIBRARIES += framework/libbroadcast.la
framework_libbroadcast_la_SOURCES =
framework_libbroadcast_la_LIBADD = framework/libbroadcast_core.la
# The soname follows the plugin ABI's major (libbroadcast.so.1 for ABI 1.x):
# both change only when something is removed or changed, never on an
# append. The exported functions are exactly those <broadcast/embed.h>
# declares, listed in libbroadcast.sym (tests/check-exports.sh compares).
framework_libbroadcast_la_LDFLAGS = -version-info 1:0:0 -no-undefined \
	-export-symbols $(srcdir)/framework/libbroadcast.sym $(BC_LDFLAGS)
EXTRA_framework_libbroadcast_la_DEPENDENCIES = framework/libbroadcast.sym
EXTRA_DIST += framework/libbroadcast.sym
pkginclude_HEADERS += include/broadcast/embed.h

sbin_PROGRAMS += framework/broadcastd
framework_broadcastd_SOURCES = framework/broadcastd.c
framework_broadcastd_CFLAGS = $(AM_CFLAGS) $(BC_PIE_CFLAGS)
framework_broadcastd_LDADD = framework/libbroadcast_core.la
framework_broadcastd_LDFLAGS = $(BC_LDFLAGS) $(BC_PIE_LDFLAGS)

bin_PROGRAMS += framework/broadcastctl
framework_broadcastctl_SOURCES = framework/broadcastctl.c
framework_broadcastctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(BC_PIE_CFLAGS)
framework_broadcastctl_LDFLAGS = $(BC_LDFLAGS) $(BC_PIE_LDFLAGS)
framework_broadcastctl_LDADD = $(JANSSON_LIBS)

# broadcastd(8), broadcast.yaml(5) and broadcast-plugin(7) name the
# configured default config file, plugin and docs folders: made from
# docs/*.in here, not by configure, like etc/broadcastd.service
# (Makefile.am), so `make prefix=...` gets them right (tests/check-sdk.sh
# compares the installed broadcastd(8) with --help).
bc_man_in = docs/broadcastd.8 docs/broadcast.yaml.5 docs/broadcast-plugin.7
nodist_man_MANS = $(bc_man_in)
EXTRA_DIST += $(bc_man_in:=.in)
CLEANFILES += $(bc_man_in)
bc_man_sed = sed -e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@pkglibdir[@]|$(pkglibdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' -e 's|@docdir[@]|$(docdir)|g'
docs/broadcastd.8: $(srcdir)/docs/broadcastd.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && $(bc_man_sed) $(srcdir)/docs/broadcastd.8.in > $@.tmp && \
	mv $@.tmp $@
docs/broadcast.yaml.5: $(srcdir)/docs/broadcast.yaml.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && $(bc_man_sed) $(srcdir)/docs/broadcast.yaml.5.in > $@.tmp && \
	mv $@.tmp $@
docs/broadcast-plugin.7: $(srcdir)/docs/broadcast-plugin.7.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && $(bc_man_sed) $(srcdir)/docs/broadcast-plugin.7.in > $@.tmp && \
	mv $@.tmp $@
dist_man_MANS += docs/broadcastctl.1 docs/broadcast-plugin-check.1
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = contrib/bash-completion/broadcastctl
