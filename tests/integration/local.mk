# SPDX-License-Identifier: Apache-2.0
# Integration tests of the framework itself (plugins add theirs in their
# own local.mk).
TESTS += tests/integration/test_daemon.py \
	tests/integration/test_events.py \
	tests/integration/test_hostile_input.py
TESTS += tests/integration/test_events_crash.py
TESTS += tests/integration/test_events_nodes.py
TESTS += tests/integration/test_check_config.py
TESTS += tests/integration/test_docs_examples.py tests/integration/test_docs_configs.py tests/integration/test_openapi.py
