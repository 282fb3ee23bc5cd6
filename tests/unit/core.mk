# SPDX-License-Identifier: Apache-2.0
# Check suites of the framework's own files (one per module, STYLE rule 13).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_loader tests/unit/test_lifecycle tests/unit/test_embed
TESTS += tests/unit/test_loader tests/unit/test_lifecycle tests/unit/test_embed
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CFLAGS = $(bc_unit_cflags)
tests_unit_test_loader_LDADD = $(bc_unit_ldadd)
tests_unit_test_lifecycle_SOURCES = tests/unit/test_lifecycle.c
tests_unit_test_lifecycle_CFLAGS = $(bc_unit_cflags)
tests_unit_test_lifecycle_LDADD = $(bc_unit_ldadd)
tests_unit_test_embed_SOURCES = tests/unit/test_embed.c
tests_unit_test_embed_CFLAGS = $(bc_unit_cflags)
tests_unit_test_embed_LDADD = $(bc_unit_ldadd)
check_PROGRAMS += tests/unit/test_status
TESTS += tests/unit/test_status
tests_unit_test_status_SOURCES = tests/unit/test_status.c
tests_unit_test_status_CFLAGS = $(bc_unit_cflags)
tests_unit_test_status_LDADD = $(bc_unit_ldadd)
check_PROGRAMS += tests/unit/test_webhook
TESTS += tests/unit/test_webhook
tests_unit_test_webhook_SOURCES = tests/unit/test_webhook.c
tests_unit_test_webhook_CFLAGS = $(bc_unit_cflags)
tests_unit_test_webhook_LDADD = $(bc_unit_ldadd)
endif
