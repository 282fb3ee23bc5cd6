# SPDX-License-Identifier: Apache-2.0
# The test suite: Check unit tests (tests/unit), test-only plugins
# (tests/plugins) and integration tests that run the real broadcastd
# (tests/integration, python3). Plugin folders add their own tests from their
# local.mk; the environment every test gets is set here once.

bc_build_plugin_path = $(abs_top_builddir)/stores/sqlite/.libs:$(abs_top_builddir)/stores/postgres/.libs:$(abs_top_builddir)/providers/local/.libs:$(abs_top_builddir)/providers/s3/.libs:$(abs_top_builddir)/providers/rtmp/.libs:$(abs_top_builddir)/providers/webrtc/.libs:$(abs_top_builddir)/frontends/http/.libs:$(abs_top_builddir)/frontends/unix/.libs
bc_plugin_path = $(abs_top_builddir)/tests/plugins/.libs:$(bc_build_plugin_path)

AM_TESTS_ENVIRONMENT = \
	BC_BUILDDIR='$(abs_top_builddir)'; BC_SRCDIR='$(abs_top_srcdir)'; CC='$(CC)'; \
	BROADCAST_PLUGIN_PATH='$(bc_plugin_path)'; \
	PYTHONPATH='$(abs_top_srcdir)/tests/integration'; PYTHONDONTWRITEBYTECODE=1; \
	CK_DEFAULT_TIMEOUT=30; FUZZ_SECONDS=$${FUZZ_SECONDS:-20}; \
	export FUZZ_SECONDS CC BC_BUILDDIR BC_SRCDIR BROADCAST_PLUGIN_PATH PYTHONPATH PYTHONDONTWRITEBYTECODE CK_DEFAULT_TIMEOUT;
TEST_EXTENSIONS = .py .sh
SH_LOG_COMPILER = $(SHELL)
PY_LOG_COMPILER = $(PYTHON3)

# Flags for a Check unit test linked with the whole framework.
bc_unit_cflags = $(AM_CFLAGS) $(CHECK_CFLAGS) $(YAML_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
bc_unit_ldadd = framework/libbroadcast_core.la $(CHECK_LIBS)

# A stub host for unit tests of one plugin (tests/support/stubhost.h).
if HAVE_CHECK
check_LTLIBRARIES += tests/support/libstubhost.la
tests_support_libstubhost_la_SOURCES = tests/support/stubhost.c tests/support/stubhost.h
tests_support_libstubhost_la_CFLAGS = $(bc_unit_cflags)
tests_support_libstubhost_la_LIBADD = framework/libbroadcast_core.la $(CHECK_LIBS)
endif
# broadcast-plugin-check(1): the conformance kit, installed for plugin
# authors. The stub host above, built without libcheck (ck_shim.h), drives
# the plugin; `make check` runs it on every plugin of the tree
# (tests/check-plugins.sh).
bin_PROGRAMS += tests/support/broadcast-plugin-check
tests_support_broadcast_plugin_check_SOURCES = tests/support/plugin_check.c \
	tests/support/stubhost.c tests/support/stubhost.h tests/support/ck_shim.h
tests_support_broadcast_plugin_check_CPPFLAGS = $(AM_CPPFLAGS) -DSTUBHOST_NO_CHECK \
	-I$(top_srcdir)/tests/support
tests_support_broadcast_plugin_check_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(JANSSON_CFLAGS) \
	$(BC_PIE_CFLAGS)
tests_support_broadcast_plugin_check_LDADD = framework/libbroadcast_core.la
tests_support_broadcast_plugin_check_LDFLAGS = $(BC_LDFLAGS) $(BC_PIE_LDFLAGS)

# For a plugin's Check test: CPPFLAGS, CFLAGS and LDADD.
bc_plugin_test_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/support
bc_plugin_test_ldadd = tests/support/libstubhost.la framework/libbroadcast_core.la $(CHECK_LIBS)

include tests/unit/core.mk
include tests/unit/config.mk
include tests/unit/params.mk
include tests/plugins/local.mk
include tests/integration/local.mk

# Provider faults that end: the daemon recovers without a restart (the
# faults' answers themselves are checked by test_s3_sts.py).
if BUILD_PLUGIN_PROVIDER_S3
TESTS += tests/integration/test_provider_faults.py
endif

# Whole-tree checks: exported symbols, the ABI history, a plugin built from
# the installed headers alone.
TESTS += tests/check-exports.sh tests/check-abi-history.py tests/check-installed-headers.sh
# `make config-reference`: rewrite the reference part of
# docs/configuration.md (between its first BEGIN and last END markers) from
# `broadcastd --describe all --markdown` over the plugins built here, after
# an option table changed (test_plugin_cli.py fails until then).
config-reference: framework/broadcastd
	BROADCAST_PLUGIN_PATH='$(bc_build_plugin_path)' $(abs_top_builddir)/framework/broadcastd \
		--describe all --markdown > config-reference.md.tmp
	$(PYTHON3) -c 'import sys; d, r = sys.argv[1:]; s = open(d).read(); \
		t = open(r).read().rstrip("\n"); i = s.index("<!-- BEGIN "); \
		j = s.index("-->", s.rindex("<!-- END ")) + 3; \
		open(d, "w").write(s[:i] + t + s[j:])' \
		$(srcdir)/docs/configuration.md config-reference.md.tmp
	rm -f config-reference.md.tmp
.PHONY: config-reference

# The plugin SDK: every plugin passes the conformance kit; the example
# provider builds against an installed copy alone and serves a start/stop.
TESTS += tests/check-plugins.sh tests/check-sdk.sh
EXTRA_DIST += tests/check-plugins.sh tests/check-sdk.sh
# The lock the two tests that run `make install` take turns with.
CLEANFILES += .install-lock
# The binary ABI guard: abidw/abidiff against the dumps kept in abi/
# (docs/abi.md); tests/abi/abi_view.so is a plugin's view of every public
# struct and enum, built with debug information. `make abi-dump` rewrites
# the kept dumps on purpose.
check_LTLIBRARIES += tests/abi/abi_view.la
tests_abi_abi_view_la_SOURCES = tests/abi/abi_view.c
tests_abi_abi_view_la_CFLAGS = $(AM_CFLAGS) -g
tests_abi_abi_view_la_LDFLAGS = -module -avoid-version -no-undefined -shared -rpath /nowhere \
	-export-symbols-regex '^bc_abi_view$$' $(BC_LDFLAGS)
TESTS += tests/check-abi.sh
EXTRA_DIST += tests/check-abi.sh
abi-dump: framework/libbroadcast.la tests/abi/abi_view.la
	BC_SRCDIR='$(abs_top_srcdir)' BC_BUILDDIR='$(abs_top_builddir)' \
	$(SHELL) $(srcdir)/tests/check-abi.sh --dump
.PHONY: abi-dump
# debian/control builds with .ci/build's build_deps (docs/packaging.md); the
# packages themselves are built by tests/packaging/build-debs.sh, last in
# .ci/build check.
TESTS += tests/packaging/check-build-deps.sh
EXTRA_DIST += tests/packaging/check-build-deps.sh
# Hardening: readelf on what was built, systemd-analyze on the unit; static
# analysis with cppcheck and clang-tidy (BC_SKIP_STATIC=1 skips it).
TESTS += tests/check-hardening.sh tests/check-static.sh
EXTRA_DIST += tests/check-hardening.sh tests/check-static.sh tests/cppcheck.supp
EXTRA_DIST += tests/check-exports.sh tests/check-abi-history.py \
	tests/check-installed-headers.sh tests/support/pg-cluster.sh

# Load: wrk drives start+stop at saturation (LOAD_SECONDS, default 20);
# docs/testing.md "Load".
TESTS += tests/integration/test_load_wrk.py
EXTRA_DIST += tests/integration/test_load_wrk.lua
