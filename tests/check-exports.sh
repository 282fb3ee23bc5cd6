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
s=${BC_SRCDIR:-$(dirname "$0")/..}
# Exactly the functions <broadcast/embed.h> declares: the header, the export
# list the linker uses (framework/libbroadcast.sym) and the library agree.
declared=$(sed -n 's/^[a-z].*[ *]\(bc_[a-z_]*\)(.*/\1/p' "$s/include/broadcast/embed.h" | sort -u)
listed=$(sort -u "$s/framework/libbroadcast.sym")
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
if [ "$declared" != "$listed" ] || [ "$listed" != "$exported" ]; then
	echo "FAIL: embed.h, framework/libbroadcast.sym and libbroadcast.so disagree"
	echo "  declared: $(echo $declared)"
	echo "  listed:   $(echo $listed)"
	echo "  exported: $(echo $exported)"
	fail=1
else
	echo "ok: libbroadcast.so exports exactly embed.h's $(echo "$listed" | wc -l) functions"
fi
# libcurl is opened on first use by the webhook sender, never linked: linked,
# it costs every daemon ~4 MiB resident (docs/performance.md, "Memory").
if readelf -d "$lib" | grep 'NEEDED' | grep -q 'libcurl'; then
	echo "FAIL: libbroadcast.so links libcurl; framework/webhook_http.c opens it with dlopen"
	fail=1
else
	echo "ok: libbroadcast.so does not link libcurl"
fi
case $(readlink "$lib") in
libbroadcast.so.1*) echo "ok: the soname follows ABI major 1" ;;
*) echo "FAIL: libbroadcast.so -> $(readlink "$lib"), want libbroadcast.so.1 (ABI major 1)"; fail=1 ;;
esac
exit $fail
