# SPDX-License-Identifier: Apache-2.0
# Integration tests of the framework itself (plugins add theirs in their
# own local.mk).
TESTS += tests/integration/test_daemon.py \
	tests/integration/test_events.py \
	tests/integration/test_hostile_input.py
TESTS += tests/integration/test_events_crash.py
TESTS += tests/integration/test_events_nodes.py
TESTS += tests/integration/test_check_config.py
# The plugin author's command line and the generated configuration reference
# (issue 25).
TESTS += tests/integration/test_plugin_cli.py
TESTS += tests/integration/test_docs_examples.py tests/integration/test_docs_configs.py tests/integration/test_openapi.py
# Webhooks (issue 21) against a real receiver (webhook_receiver.py); the
# nodes test starts its own PostgreSQL like test_events_nodes.py.
TESTS += tests/integration/test_webhooks.py tests/integration/test_webhooks_nodes.py
# System calls per start and stop (issue 24): a count under strace, not a
# time, so a flush or a file added to the request path fails here.
TESTS += tests/integration/test_syscalls.py
