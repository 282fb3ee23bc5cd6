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
