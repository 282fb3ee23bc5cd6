# SPDX-License-Identifier: Apache-2.0
# Test-only plugins, real .so files built by `make check` and never
# installed: the provider `test` and the store `memory` (found through
# BROADCAST_PLUGIN_PATH, see tests/local.mk), and the ABI negotiation
# plugins of tests/unit/test_loader.c (in their own folder so the daemon
# never scans them).

check_LTLIBRARIES += tests/plugins/provider_test.la tests/plugins/store_memory.la
tests_plugins_provider_test_la_SOURCES = tests/plugins/provider_test.c
tests_plugins_provider_test_la_LDFLAGS = $(bc_test_plugin_ldflags)
tests_plugins_store_memory_la_SOURCES = tests/plugins/store_memory.c
tests_plugins_store_memory_la_LDFLAGS = $(bc_test_plugin_ldflags)

# Without -export-symbols-regex: abi_no_entry must export its other symbol.
bc_abi_ldflags = -module -avoid-version -no-undefined -shared -rpath /nowhere $(BC_LDFLAGS)
check_LTLIBRARIES += tests/plugins/abi/abi_same.la tests/plugins/abi/abi_newer_minor.la \
	tests/plugins/abi/abi_other_major.la tests/plugins/abi/abi_no_entry.la \
	tests/plugins/abi/abi_short_struct.la tests/plugins/abi/abi_missing_op.la \
	tests/plugins/abi/abi_decline.la
tests_plugins_abi_abi_same_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_same_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_newer_minor_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_newer_minor_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-newer-minor"' -DABI_MINOR_V='(BC_ABI_MINOR + 1)'
tests_plugins_abi_abi_newer_minor_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_other_major_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_other_major_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-other-major"' -DABI_MAJOR_V='(BC_ABI_MAJOR + 1)'
tests_plugins_abi_abi_other_major_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_no_entry_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_no_entry_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_NO_ENTRY
tests_plugins_abi_abi_no_entry_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_short_struct_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_short_struct_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_SHORT_STRUCT
tests_plugins_abi_abi_short_struct_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_missing_op_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_missing_op_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-missing-op"' -DABI_MISSING_OP
tests_plugins_abi_abi_missing_op_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_decline_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_decline_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_DECLINE
tests_plugins_abi_abi_decline_la_LDFLAGS = $(bc_abi_ldflags)

# ABI 1.1 (docs/abi.md "Compatibility"), loaded by tests/unit/test_loader.c:
# abi_min0 is built against the 1.1 headers with BC_PLUGIN_MIN_MINOR 0 (it
# loads on a host presenting 1.0, abi_same does not); abi_hidden is built
# with -fvisibility=hidden and still exports its entry (BC_PLUGIN_EXPORT),
# abi_hidden_nodecl defines the entry without the header's declaration and
# does not; abi_reserved_* declare a host-wide option (refused), abi_fe_idle
# declares one that is reserved only for providers (a frontend may); the
# store abi_store_partial has some of 1.1's event operations (refused), and
# abi_store_cursor_half one of the two cursor operations (refused).
check_LTLIBRARIES += tests/plugins/abi/abi_min0.la tests/plugins/abi/abi_hidden.la \
	tests/plugins/abi/abi_hidden_nodecl.la tests/plugins/abi/abi_reserved_provider.la \
	tests/plugins/abi/abi_reserved_frontend.la tests/plugins/abi/abi_fe_idle.la \
	tests/plugins/abi/abi_store_partial.la tests/plugins/abi/abi_store_cursor_half.la
tests_plugins_abi_abi_min0_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_min0_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_NAME='"abi-min0"' \
	-DBC_PLUGIN_MIN_MINOR=0
tests_plugins_abi_abi_min0_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_hidden_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_hidden_la_CPPFLAGS = $(AM_CPPFLAGS) -DABI_NAME='"abi-hidden"'
tests_plugins_abi_abi_hidden_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_plugins_abi_abi_hidden_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_hidden_nodecl_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_hidden_nodecl_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-hidden-nodecl"' -DABI_NO_DECL
tests_plugins_abi_abi_hidden_nodecl_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_plugins_abi_abi_hidden_nodecl_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_reserved_provider_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_reserved_provider_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-reserved"' -DABI_RESERVED_OPTION='"idle_timeout"'
tests_plugins_abi_abi_reserved_provider_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_reserved_frontend_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_reserved_frontend_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-reserved-fe"' -DABI_FRONTEND -DABI_RESERVED_OPTION='"tokens_file"'
tests_plugins_abi_abi_reserved_frontend_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_fe_idle_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_fe_idle_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-fe-idle"' -DABI_FRONTEND -DABI_RESERVED_OPTION='"idle_timeout"'
tests_plugins_abi_abi_fe_idle_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_store_partial_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_store_partial_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-store-partial"' -DABI_STORE_PARTIAL
tests_plugins_abi_abi_store_partial_la_LDFLAGS = $(bc_abi_ldflags)
tests_plugins_abi_abi_store_cursor_half_la_SOURCES = tests/plugins/abi/abi_plugin.c
tests_plugins_abi_abi_store_cursor_half_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DABI_NAME='"abi-store-cursor-half"' -DABI_STORE_PARTIAL -DABI_STORE_CURSOR_HALF
tests_plugins_abi_abi_store_cursor_half_la_LDFLAGS = $(bc_abi_ldflags)

# Plugins written and built against the ABI 1.0 headers (kept unchanged in
# tests/plugins/abi-1.0, first on the include path), in a folder of their
# own: tests/unit/test_loader.c loads them and
# tests/integration/test_abi_compat.py runs the 1.1 broadcastd with them.
bc_abi10_cppflags = -I$(top_srcdir)/tests/plugins/abi-1.0 $(AM_CPPFLAGS)
check_LTLIBRARIES += tests/plugins/abi/v10/store_memory_v10.la \
	tests/plugins/abi/v10/provider_test_v10.la
tests_plugins_abi_v10_store_memory_v10_la_SOURCES = tests/plugins/abi/store_v10.c
tests_plugins_abi_v10_store_memory_v10_la_CPPFLAGS = $(bc_abi10_cppflags)
tests_plugins_abi_v10_store_memory_v10_la_LDFLAGS = $(bc_test_plugin_ldflags)
tests_plugins_abi_v10_provider_test_v10_la_SOURCES = tests/plugins/abi/provider_v10.c
tests_plugins_abi_v10_provider_test_v10_la_CPPFLAGS = $(bc_abi10_cppflags)
tests_plugins_abi_v10_provider_test_v10_la_LDFLAGS = $(bc_test_plugin_ldflags)
EXTRA_DIST += tests/plugins/abi-1.0/broadcast/plugin.h tests/plugins/abi-1.0/broadcast/host.h \
	tests/plugins/abi-1.0/broadcast/provider.h tests/plugins/abi-1.0/broadcast/store.h \
	tests/plugins/abi-1.0/broadcast/frontend.h
# Kept here rather than in tests/integration/local.mk.
TESTS += tests/integration/test_abi_compat.py
