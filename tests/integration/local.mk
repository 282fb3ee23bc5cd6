# SPDX-License-Identifier: Apache-2.0
# Integration tests of the framework itself (plugins add theirs in their
# own local.mk).
TESTS += tests/integration/test_daemon.py \
	tests/integration/test_events.py \
	tests/integration/test_hostile_input.py
