# SPDX-License-Identifier: Apache-2.0
# Check unit tests of the configuration layer: YAML loading with positions
# and ${VAR} interpolation (framework/yamldoc.c) and option validation
# (framework/options.c). Fixtures live in tests/fixtures/config.

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_yamldoc tests/unit/test_options
TESTS += tests/unit/test_yamldoc tests/unit/test_options

tests_unit_test_yamldoc_SOURCES = tests/unit/test_yamldoc.c
tests_unit_test_yamldoc_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR_FALLBACK='"$(abs_top_srcdir)"'
tests_unit_test_yamldoc_CFLAGS = $(bc_unit_cflags)
tests_unit_test_yamldoc_LDADD = $(bc_unit_ldadd)

tests_unit_test_options_SOURCES = tests/unit/test_options.c
tests_unit_test_options_CFLAGS = $(bc_unit_cflags)
tests_unit_test_options_LDADD = $(bc_unit_ldadd)
endif
