#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every plugin of the tree passes the conformance kit, broadcast-plugin-check
# (tests/support/plugin_check.c): the one plugin authors run on theirs. The
# providers and stores get a configuration of temporary files and loopback
# ports; s3 points at a closed port (start then needs an upstream: skipped,
# test_s3_sts.py covers it), postgres at none (create needs a server:
# skipped here; test_postgres_nodes.py runs the kit on it against the real
# server it starts, and BC_PG_CONNINFO=... checks it against another one).
set -eu
b=${BC_BUILDDIR:?}
kit="$b/tests/support/broadcast-plugin-check"
d=$(mktemp -d /tmp/bc-check-plugins-XXXXXX)
trap 'rm -rf "$d"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

printf 'listen: "127.0.0.1:%s"\nroot: %s/hls\n' "$port" "$d" >"$d/local.yaml"
printf 'path: %s/streams.db\n' "$d" >"$d/sqlite.yaml"
printf 'bucket: plugin-check\naccess_key_id: AKIAPLUGINCHECK00001\nsecret_access_key: plugin-check\nsts_endpoint: "http://127.0.0.1:9"\n' >"$d/s3.yaml"
printf 'conninfo: "%s"\n' "${BC_PG_CONNINFO:-host=/nonexistent dbname=none connect_timeout=1}" >"$d/postgres.yaml"
printf 'path: %s/control.sock\n' "$d" >"$d/unix.yaml"
printf 'listen: "127.0.0.1:%s"\n' "$port" >"$d/http.yaml"

fail=0 n=0
for so in "$b"/providers/*/.libs/provider_*.so "$b"/stores/*/.libs/store_*.so \
          "$b"/frontends/*/.libs/frontend_*.so; do
	[ -f "$so" ] || continue
	name=$(basename "$so" .so); name=${name#*_}
	cfg=
	[ -f "$d/$name.yaml" ] && cfg="--config $d/$name.yaml"
	n=$((n + 1))
	echo "== $so $cfg"
	# shellcheck disable=SC2086
	if ! "$kit" "$so" $cfg >"$d/out" 2>&1; then
		cat "$d/out"; echo "FAIL: $so"; fail=1
	else
		grep -v '^ok ' "$d/out" || true
		grep ' # SKIP ' "$d/out" || true
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no plugin found under $b"; exit 1; }
# And it refuses what the loader refuses, with the reason.
if "$kit" "$b/tests/plugins/abi/.libs/abi_missing_op.so" >"$d/out" 2>&1; then
	cat "$d/out"; echo "FAIL: a plugin the loader refuses passed"; fail=1
fi
grep -q "does not implement the required operation" "$d/out" ||
	{ cat "$d/out"; echo "FAIL: no reason for the refusal"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok: $n plugins pass broadcast-plugin-check"
exit "$fail"
