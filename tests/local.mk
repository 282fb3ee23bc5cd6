# SPDX-License-Identifier: Apache-2.0
# The test suite: Check unit tests (tests/unit), test-only plugins
# (tests/plugins) and integration tests that run the real broadcastd
# (tests/integration, python3). Plugin folders add their own tests from their
# local.mk; the environment every test gets is set here once.

bc_plugin_path = $(abs_top_builddir)/tests/plugins/.libs:$(abs_top_builddir)/stores/sqlite/.libs:$(abs_top_builddir)/stores/postgres/.libs:$(abs_top_builddir)/providers/local/.libs:$(abs_top_builddir)/providers/s3/.libs:$(abs_top_builddir)/frontends/http/.libs:$(abs_top_builddir)/frontends/unix/.libs

AM_TESTS_ENVIRONMENT = \
	BC_BUILDDIR='$(abs_top_builddir)'; BC_SRCDIR='$(abs_top_srcdir)'; \
	BROADCAST_PLUGIN_PATH='$(bc_plugin_path)'; \
	PYTHONPATH='$(abs_top_srcdir)/tests/integration'; PYTHONDONTWRITEBYTECODE=1; \
	CK_DEFAULT_TIMEOUT=30; \
	export BC_BUILDDIR BC_SRCDIR BROADCAST_PLUGIN_PATH PYTHONPATH PYTHONDONTWRITEBYTECODE CK_DEFAULT_TIMEOUT;
TEST_EXTENSIONS = .py
PY_LOG_COMPILER = python3

# Flags for a Check unit test linked with the whole framework.
bc_unit_cflags = $(AM_CFLAGS) $(CHECK_CFLAGS) $(YAML_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
bc_unit_ldadd = framework/libbroadcast_core.la $(CHECK_LIBS)

include tests/unit/core.mk
include tests/unit/config.mk
include tests/unit/params.mk
