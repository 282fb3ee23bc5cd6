#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every installable plugin .so exports exactly bc_plugin_entry, and
# libbroadcast.so only the embedding API (STYLE rule 2).
set -eu
b=${BC_BUILDDIR:?}
fail=0
found=0
for so in "$b"/stores/*/.libs/*.so "$b"/providers/*/.libs/*.so "$b"/frontends/*/.libs/*.so \
          "$b"/tests/plugins/.libs/*.so; do
	[ -f "$so" ] || continue
	found=$((found + 1))
	syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
	if [ "$syms" != "bc_plugin_entry" ]; then
		echo "FAIL: $so exports: $(echo $syms)"
		fail=1
	else
		echo "ok: $so exports only bc_plugin_entry"
	fi
done
[ "$found" -gt 0 ] || { echo "FAIL: no plugin .so found under $b"; exit 1; }
lib="$b/framework/.libs/libbroadcast.so"
other=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
	grep -Ev '^bc_(context|stream|response)_' || true)
if [ -n "$other" ]; then
	echo "FAIL: libbroadcast.so exports more than the embedding API: $(echo $other)"
	fail=1
else
	echo "ok: libbroadcast.so exports only bc_context_*, bc_stream_*, bc_response_*"
fi
exit $fail
