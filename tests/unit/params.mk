# SPDX-License-Identifier: Apache-2.0
# Check unit tests of request parameters (framework/params.c), bearer tokens
# (framework/tokens.c) and rate limits (framework/ratelimit.c).

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_params tests/unit/test_tokens tests/unit/test_ratelimit
TESTS += tests/unit/test_params tests/unit/test_tokens tests/unit/test_ratelimit

tests_unit_test_params_SOURCES = tests/unit/test_params.c
tests_unit_test_params_CFLAGS = $(bc_unit_cflags)
tests_unit_test_params_LDADD = $(bc_unit_ldadd)

tests_unit_test_tokens_SOURCES = tests/unit/test_tokens.c
tests_unit_test_tokens_CFLAGS = $(bc_unit_cflags)
tests_unit_test_tokens_LDADD = $(bc_unit_ldadd)

tests_unit_test_ratelimit_SOURCES = tests/unit/test_ratelimit.c
tests_unit_test_ratelimit_CFLAGS = $(bc_unit_cflags)
tests_unit_test_ratelimit_LDADD = $(bc_unit_ldadd)
endif
