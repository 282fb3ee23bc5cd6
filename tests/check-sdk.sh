#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The plugin SDK as a new plugin author meets it (issue 25), from an
# installed copy alone: `make install DESTDIR=...`, then
#  - broadcast.pc: abi_major/abi_minor equal the installed plugin.h's, no
#    Libs (a plugin links nothing); broadcast-embed.pc has -lbroadcast;
#  - the docs and man pages are installed, the man pages send readers to
#    installed files only, and broadcastd(8)'s default config is --help's;
#  - examples/provider-hello, copied from the installed docs folder, builds
#    with its own Makefile and `pkg-config broadcast` pointing only into
#    the DESTDIR (PKG_CONFIG_LIBDIR, PKG_CONFIG_SYSROOT_DIR);
#  - the installed broadcast-plugin-check passes it, the installed
#    broadcastd --check-plugin describes it;
#  - the installed broadcastd loads it through BROADCAST_PLUGIN_PATH and
#    serves one start and stop over HTTP with it.
# Works from a VPATH build with a read-only source tree (make distcheck).
set -eu
b=${BC_BUILDDIR:?}
d=$(mktemp -d /tmp/bc-sdk-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# `make -j check` runs this beside the other test that installs: two make
# runs in one build dir would race on its files (.deps), so they take turns.
flock "$b/.install-lock" make -s -C "$b" install DESTDIR="$d/root" >"$d/install.log" 2>&1 ||
	{ cat "$d/install.log"; fail "make install"; }
# Nothing of the build's make may leak into the example's.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES || true

pc=$(find "$d/root" -name broadcast.pc | head -n1)
[ -n "$pc" ] || fail "broadcast.pc not installed"
export PKG_CONFIG_LIBDIR="$(dirname "$pc")" PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR="$d/root"
hdr=$(find "$d/root" -path '*/broadcast/plugin.h' | head -n1)
for v in major minor; do
	want=$(sed -n "s/^#define BC_ABI_$(echo $v | tr a-z A-Z) \([0-9]*\)$/\1/p" "$hdr")
	got=$(pkg-config --variable=abi_$v broadcast)
	[ "$got" = "$want" ] || fail "broadcast.pc abi_$v=$got, plugin.h says $want"
done
[ -z "$(pkg-config --libs broadcast)" ] ||
	fail "broadcast.pc has Libs ($(pkg-config --libs broadcast)): a plugin links nothing"
pkg-config --libs broadcast-embed | grep -q -- -lbroadcast ||
	fail "broadcast-embed.pc does not link libbroadcast"
plugindir=$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=plugindir broadcast)

# Docs and man pages.
docdir=$(dirname "$(find "$d/root" -name writing-a-provider.md | head -n1)")
[ -d "$docdir" ] || fail "writing-a-provider.md not installed"
for f in architecture.md abi.md abi-history configuration.md \
         migrating-from-django-broadcast.md examples/hello_provider.c \
         examples/provider-hello/Makefile examples/provider-hello/provider_hello.c; do
	[ -f "$docdir/$f" ] || fail "$f not installed in $docdir"
done
for m in man8/broadcastd.8 man5/broadcast.yaml.5 man7/broadcast-plugin.7 \
         man1/broadcast-plugin-check.1 man1/broadcastctl.1; do
	f=$(find "$d/root" -path "*/man/$m" | head -n1)
	[ -n "$f" ] || fail "$m not installed"
	if grep -n 'docs/' "$f"; then fail "$m points into the source tree (docs/...)"; fi
	if grep -n '@[a-z]*@' "$f"; then fail "$m has an unsubstituted @variable@"; fi
done
daemon=$(find "$d/root" -type f -name broadcastd | head -n1)
kit=$(find "$d/root" -type f -name broadcast-plugin-check | head -n1)
[ -n "$kit" ] || fail "broadcast-plugin-check not installed"
conf=$("$daemon" --help | sed -n 's/.*configuration (default \([^)]*\)).*/\1/p')
man8=$(find "$d/root" -path '*/man/man8/broadcastd.8' | head -n1)
grep -q -- "$conf" "$man8" || fail "broadcastd(8) does not name --help's default config $conf"

# The example, built from the installed copy.
cp -R "$docdir/examples/provider-hello" "$d/ex"
chmod -R u+w "$d/ex"
make -C "$d/ex" CC="${CC:-cc}" >"$d/build.log" 2>&1 || { cat "$d/build.log"; fail "make"; }
grep -- "-I$d/root" "$d/build.log" >/dev/null ||
	{ cat "$d/build.log"; fail "the example did not take its -I from the installed broadcast.pc"; }
"$kit" "$d/ex/provider_hello.so" --config "$d/ex/hello.yaml" ||
	fail "broadcast-plugin-check refuses the example"
make -C "$d/ex" check PLUGIN_CHECK="$kit" >"$d/check.log" 2>&1 ||
	{ cat "$d/check.log"; fail "make check of the example"; }
"$daemon" --check-plugin "$d/ex/provider_hello.so" >"$d/inspect.txt" ||
	{ cat "$d/inspect.txt"; fail "broadcastd --check-plugin refuses the example"; }
grep -q '^thread safety: *thread-safe' "$d/inspect.txt" || { cat "$d/inspect.txt"; fail "--check-plugin"; }

# The installed daemon with it: one start and one stop.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$d/broadcast.yaml" <<YAML
store: {type: sqlite, path: $d/streams.db}
providers:
  - {type: hello, base_url: "https://ingest.example/live"}
frontends:
  - {type: http, listen: "127.0.0.1:$port"}
YAML
BROADCAST_PLUGIN_PATH="$d/ex:$d/root$plugindir" "$daemon" -c "$d/broadcast.yaml" \
	>"$d/daemon.log" 2>&1 &
pid=$!
python3 - "$port" <<'PY' || { cat "$d/daemon.log"; fail "start/stop through the example provider"; }
import json, sys, time, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/healthz", timeout=2).read()
        break
    except Exception:
        time.sleep(0.1)
req = urllib.request.Request(base + "/stream/start/?type=hello&name=sdk", method="POST")
start = json.load(urllib.request.urlopen(req, timeout=10))
sid = start["stream"]["id"]
url = start["endpoint"]["HTTP"]["upload_url"]
assert url == "https://ingest.example/live/" + sid, start
req = urllib.request.Request(base + "/stream/stop/?id=" + sid, method="POST")
stop = json.load(urllib.request.urlopen(req, timeout=10))
assert stop["stream"]["id"] == sid and stop["stream"].get("stop_date"), stop
print("start and stop through provider hello:", sid)
PY
grep -q "stream .* finished" "$d/daemon.log" || { cat "$d/daemon.log"; fail "no stop() log line"; }
echo "ok: the example provider built from the installed SDK, passed the kit, served a start and stop"
