#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# What configure's hardening promises, read back from the built ELF files
# (the daemon, broadcastctl, libbroadcast.so, every plugin): full RELRO
# (GNU_RELRO + BIND_NOW), a non-executable stack, PIE executables, the stack
# protector, and _FORTIFY_SOURCE's checked calls when the build optimizes.
# Then the systemd unit: `systemd-analyze verify` and an exposure score of
# at most 2.0 from `systemd-analyze security --offline`.
# Skipped (77) for a --disable-hardening build.
set -eu
b=${BC_BUILDDIR:?}
mk="$b/Makefile"
if ! grep -q '^BC_PIE_LDFLAGS = -pie' "$mk"; then
	echo "SKIP: configured with --disable-hardening"
	exit 77
fi
fortify=no
grep -q '^BC_CPPFLAGS = .*-D_FORTIFY_SOURCE' "$mk" && fortify=yes
fail=0
file_ok=1
bad() { echo "FAIL: $1"; fail=1; file_ok=0; }

# One ELF file: $1 path, $2 "exe" or "lib".
check_elf() {
	f=$1 kind=$2
	file_ok=1
	ph=$(readelf -lW "$f")
	dyn=$(readelf -dW "$f")
	echo "$ph" | grep -q 'GNU_RELRO' || bad "$f: no GNU_RELRO segment (-z relro)"
	echo "$dyn" | grep -Eq 'BIND_NOW|FLAGS_1.*NOW' || bad "$f: not BIND_NOW (-z now): RELRO is partial"
	stack=$(echo "$ph" | awk '$1 == "GNU_STACK" {print $7}')
	[ "$stack" = RW ] || bad "$f: stack is '$stack', not RW (executable stack)"
	if [ "$kind" = exe ]; then
		readelf -hW "$f" | grep -q 'Type: *DYN' || bad "$f: not a position independent executable (-pie)"
		echo "$dyn" | grep -q 'FLAGS_1.*PIE' || bad "$f: no PIE flag"
	fi
	syms=$(nm -D "$f" 2>/dev/null || true)
	echo "$syms" | grep -q ' U __stack_chk_fail' || bad "$f: no stack protector (__stack_chk_fail not used)"
	if [ "$fortify" = yes ]; then
		echo "$syms" | grep -Eq ' U __[a-z]+_chk@' || bad "$f: no _FORTIFY_SOURCE checked call"
	fi
	if [ "$file_ok" = 1 ]; then echo "ok: $f"; fi
}

n=0
for f in "$b/framework/broadcastd" "$b/framework/broadcastctl"; do
	[ -f "$f" ] || { bad "$f not built"; continue; }
	check_elf "$f" exe
	n=$((n + 1))
done
# Real files only: the .so names are symlinks to libbroadcast.so.1.0.0.
for f in "$b"/framework/.libs/libbroadcast.so.* "$b"/stores/*/.libs/*.so \
         "$b"/providers/*/.libs/*.so "$b"/frontends/*/.libs/*.so; do
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	check_elf "$f" lib
	n=$((n + 1))
done
[ "$n" -ge 5 ] || bad "only $n ELF files found under $b"

# The unit, with ExecStart pointing at the build tree so verify finds it.
unit="$b/etc/broadcastd.service"
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP (unit): systemd-analyze not installed (apt-get install systemd)"
elif [ ! -f "$unit" ]; then
	bad "$unit not built"
else
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	sbin=$(sed -n 's/^sbindir = //p' "$mk")
	prefix=$(sed -n 's/^prefix = //p' "$mk")
	sbin=$(echo "$sbin" | sed "s|\${exec_prefix}|$prefix|")
	sed "s|$sbin/broadcastd|$b/framework/broadcastd|g" "$unit" >"$tmp/broadcastd.service"
	if systemd-analyze verify --man=no "$tmp/broadcastd.service"; then
		echo "ok: systemd-analyze verify $unit"
	else
		bad "systemd-analyze verify $unit"
	fi
	# The score is 0.0 (locked down) to 10.0; --threshold takes it times ten.
	if out=$(systemd-analyze security --offline=yes --threshold=20 "$tmp/broadcastd.service" 2>&1); then
		echo "ok: $(echo "$out" | grep 'Overall exposure')"
	else
		echo "$out" | grep -E '✗|Overall' || echo "$out"
		bad "the unit's exposure is above 2.0"
	fi
fi
exit $fail
