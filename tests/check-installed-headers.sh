#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A plugin builds from the installed headers alone and loads: `make install
# DESTDIR=...`, compile docs/examples/hello_provider.c with only what
# `pkg-config --cflags broadcast` gives, load it with the installed
# broadcastd. Also: no .la files are installed, and `make uninstall` removes
# everything it installed.
set -eu
b=${BC_BUILDDIR:?}
s=${BC_SRCDIR:?}
d=$(mktemp -d /tmp/bc-install-XXXXXX)
trap 'rm -rf "$d"' EXIT
# `make -j check` runs this beside the other test that installs: two make
# runs in one build dir would race on its files (.deps), so they take turns.
flock "$b/.install-lock" make -s -C "$b" install DESTDIR="$d/root" >"$d/install.log" 2>&1 ||
	{ cat "$d/install.log"; echo "FAIL: make install"; exit 1; }

pc=$(find "$d/root" -name broadcast.pc | head -n1)
[ -n "$pc" ] || { echo "FAIL: broadcast.pc not installed"; exit 1; }
cflags=$(PKG_CONFIG_SYSROOT_DIR="$d/root" PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags broadcast)
plugindir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=plugindir broadcast)
echo "cflags from the installed broadcast.pc: $cflags"
# Only the installed headers: no -I of the source tree, no config.h.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -shared -fPIC $cflags \
	"$s/docs/examples/hello_provider.c" -o "$d/provider_hello.so"

if find "$d/root" -name '*.la' | grep -q .; then
	echo "FAIL: .la files installed:"; find "$d/root" -name '*.la'; exit 1
fi
ls "$d/root$plugindir"/store_sqlite.so >/dev/null ||
	{ echo "FAIL: plugins not installed in the pkg-config plugindir $plugindir"; exit 1; }

daemon=$(find "$d/root" -type f -name broadcastd | head -n1)
out=$(BROADCAST_PLUGIN_PATH="$d:$d/root$plugindir" "$daemon" --list-plugins)
echo "$out"
echo "$out" | grep -Eq '^provider +hello +1\.0 +1\.0 ' ||
	{ echo "FAIL: the example provider did not load"; exit 1; }
echo "$out" | grep -q rejected && { echo "FAIL: a plugin was rejected"; exit 1; }

cat >"$d/hello.yaml" <<YAML
store: {type: sqlite, path: $d/streams.db}
providers: [{type: hello, base_url: "https://ingest.example/live"}]
YAML
BROADCAST_PLUGIN_PATH="$d:$d/root$plugindir" "$daemon" -c "$d/hello.yaml" --check-config

flock "$b/.install-lock" make -s -C "$b" uninstall DESTDIR="$d/root" >"$d/uninstall.log" 2>&1 ||
	{ cat "$d/uninstall.log"; echo "FAIL: make uninstall"; exit 1; }
left=$(find "$d/root" -type f | head)
[ -z "$left" ] || { echo "FAIL: make uninstall left files: $left"; exit 1; }
echo "ok: built from installed headers, loaded, uninstalled cleanly"
