#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# tests/packaging/build-debs.sh: build the Debian packages from this tree,
# check them with lintian, install them on this machine and run the packaged
# broadcastd once. The last stage of `.ci/build check`; docs/packaging.md.
#
#   tests/packaging/build-debs.sh [--keep-installed] [--out DIR]
#
# 1. copies the tree (the files git knows, tracked or not ignored; never a
#    build folder) to a temporary folder and runs
#    `DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b`
#    there, so the checkout gets no debian/ build folders and no ../*.deb;
# 2. lintian on the .changes: any error fails (warnings are printed);
# 3. `apt-get install ./*.deb` (the packages really get installed: run it on
#    a throwaway machine, or know that step 6 removes them again);
# 4. `broadcastd --list-plugins`: every packaged plugin loads;
# 5. as the unit would run it (ExecStartPre, then ExecStart): `broadcastd
#    --check-config`, then broadcastd, on the shipped
#    /etc/broadcast/broadcast.yaml, as an unprivileged user (the unit's
#    DynamicUser= has no account to switch to: a free uid does the same
#    here, with state and run folders of its own, set through the variables
#    the unit sets), in a network namespace of its own so 127.0.0.1:8080 and
#    :8081 are free whatever else runs on the machine; a stream is started
#    and stopped with curl, then the daemon gets SIGTERM and must exit 0;
# 6. purges the packages (unless --keep-installed; never one that was
#    installed before the run), so the machine is as before. Test builds
#    never load installed plugins anyway: they are in
#    /usr/lib/<triplet>/broadcast, while a build tree's broadcastd searches
#    $BROADCAST_PLUGIN_PATH (the build tree's plugins, tests/local.mk) and its
#    own prefix's folder (/usr/local/lib/broadcast by default).
#
# Needs root, dpkg-dev, debhelper, fakeroot, lintian, curl, util-linux,
# iproute2 (.ci/build installs them).
set -eu

keep=no
out=
while [ $# -gt 0 ]; do
	case "$1" in
	--keep-installed) keep=yes ;;
	--out) out=$2; shift ;;
	*) echo "usage: $0 [--keep-installed] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done

top=$(cd "$(dirname "$0")/../.." && pwd)
t0=$(date +%s)
say() { echo "build-debs: [$(($(date +%s) - t0))s] $*"; }
die() { echo "build-debs: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs the packages)"
for tool in dpkg-buildpackage dh fakeroot lintian curl unshare setpriv; do
	command -v "$tool" >/dev/null || die "$tool not found (.ci/build check installs it)"
done

work=$(mktemp -d /tmp/bc-debs.XXXXXX)
pkgs=
before=
cleanup() {
	purge=
	for p in $pkgs; do
		case " $before " in
		*" $p "*) ;;
		*) purge="$purge $p" ;;
		esac
	done
	if [ -n "$purge" ] && [ "$keep" = no ]; then
		say "purging$purge"
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $purge >/dev/null || true
	fi
	[ -z "$before" ] || say "left installed (they were before this run):$before"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 1. build ------------------------------------------------------------
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src="$work/broadcast-$version"
mkdir -p "$src"
cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z -c -o --exclude-standard |
		tr '\0' '\n' | while IFS= read -r f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	# A tarball: everything but build folders and generated files.
	tar --exclude='./_build*' --exclude='./broadcast-[0-9]*' --exclude=.libs -cf - . |
		tar -xf - -C "$src"
fi
say "building broadcast $version in $src"
cd "$src"
DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ||
	{ tail -n 80 "$work/build.log" >&2; die "dpkg-buildpackage failed (log above)"; }
changes=$(ls "$work"/*.changes)
debs=$(for d in "$work"/*.deb; do case "$d" in *-dbgsym_*) ;; *) echo "$d" ;; esac; done)
say "built: $(for d in $debs; do basename "$d"; done | tr '\n' ' ')"
for d in $debs; do
	echo "== $(basename "$d")"
	dpkg-deb -c "$d" | awk '$6 !~ /\/$/ {$1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print "   " $0}'
done
[ -z "$out" ] || { mkdir -p "$out"; cp "$work"/*.deb "$changes" "$out"/; }

# ---- 2. lintian ------------------------------------------------------------
say "lintian $(lintian --version | awk '{print $2}')"
rc=0
lintian --fail-on error --display-info "$changes" >"$work/lintian.log" 2>&1 || rc=$?
grep -v '^running with root privileges' "$work/lintian.log" || true
[ "$rc" -eq 0 ] || die "lintian reports errors (above)"

# ---- 3. install --------------------------------------------------------------
pkgs=$(for d in $debs; do printf ' %s' "$(dpkg-deb -f "$d" Package)"; done)
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' &&
		before="$before $p"
done
say "installing$pkgs"
cd "$work"
# shellcheck disable=SC2046 # one word per .deb
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	$(for d in $debs; do printf './%s ' "$(basename "$d")"; done) >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; die "apt-get install failed"; }
dpkg -s broadcastd | grep -q '^Status: install ok installed' || die "broadcastd is not installed"
dpkg-query -W -f='${Conffiles}\n' broadcastd | grep -q ' /etc/broadcast/broadcast.yaml ' ||
	die "/etc/broadcast/broadcast.yaml is not a conffile of broadcastd"

# ---- 4. the plugins ------------------------------------------------------------
/usr/sbin/broadcastd --list-plugins | tee "$work/plugins.txt"
# Every packaged plugin loads (listed with its path, not as rejected).
# shellcheck disable=SC2086 # one word per package
plugins=$(dpkg -L $pkgs | grep '^/usr/lib/.*/broadcast/.*\.so$' || true)
[ -n "$plugins" ] || die "no plugin in the packages"
for so in $plugins; do
	grep -q "^[a-z]* .* $so\$" "$work/plugins.txt" || die "$so is not listed as loaded (above)"
done
for p in 'frontend  http' 'frontend  unix' 'provider  local' 'store     sqlite'; do
	grep -q "^$p " "$work/plugins.txt" || die "plugin '$p' (the shipped configuration's) is missing"
done
! grep -q '^rejected' "$work/plugins.txt" || die "an installed plugin is rejected (above)"

# ---- 5. check the shipped configuration, then start it once -------------------
conf=/etc/broadcast/broadcast.yaml
# A uid no account has, the way systemd's DynamicUser= picks one.
uid=61184
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
state="$work/state"
mkdir -p "$state/lib" "$state/run"
chown -R "$uid:$uid" "$state"
chmod 755 "$work"
# What the unit runs: ExecStartPre, then ExecStart, as its user, with its
# Environment= (StateDirectory= and RuntimeDirectory= made by systemd there).
cat >"$work/smoke.sh" <<EOF
set -eu
ip link set lo up
as_unit="env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin BROADCAST_STATE_DIR=$state/lib
	BROADCAST_RUN_DIR=$state/run
	setpriv --reuid=$uid --regid=$uid --clear-groups --no-new-privs"
echo "broadcastd --check-config -c $conf"
\$as_unit /usr/sbin/broadcastd --check-config -c $conf
\$as_unit /usr/sbin/broadcastd -c $conf >$work/daemon.log 2>&1 &
pid=\$!
trap 'kill \$pid 2>/dev/null || true' EXIT
i=0
until curl -sf http://127.0.0.1:8080/healthz >/dev/null 2>&1; do
	i=\$((i + 1))
	if [ \$i -ge 100 ] || ! kill -0 \$pid 2>/dev/null; then
		echo "broadcastd did not come up on 127.0.0.1:8080" >&2; exit 1
	fi
	sleep 0.1
done
start=\$(curl -sf -X POST 'http://127.0.0.1:8080/stream/start/?type=hls&name=packaging')
# the upload token is a credential: never into a CI log
echo "start: \$start" | sed 's/"upload_token":"[^"]*"/"upload_token":"(redacted)"/'
id=\$(printf '%s' "\$start" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "\$id" ] || { echo "no stream id in the start response" >&2; exit 1; }
stop=\$(curl -sf -X POST "http://127.0.0.1:8080/stream/stop/?id=\$id")
echo "stop: \$stop"
printf '%s' "\$stop" | grep -q '"stop_date"' || { echo "the stop response has no stop_date" >&2; exit 1; }
[ -S $state/run/control.sock ] || { echo "no control socket in $state/run" >&2; exit 1; }
kill -TERM \$pid
rc=0
wait \$pid || rc=\$?
trap - EXIT
[ \$rc -eq 0 ] || { echo "broadcastd exited \$rc after SIGTERM" >&2; exit 1; }
EOF
say "checking and starting the packaged broadcastd as uid $uid on $conf (own network namespace)"
if unshare --net -- sh "$work/smoke.sh"; then
	sed 's/^/   daemon: /' "$work/daemon.log"
else
	sed 's/^/   daemon: /' "$work/daemon.log" >&2 || true
	die "the packaged broadcastd did not start, serve a start and a stop, and stop"
fi
[ -f "$state/lib/streams.db" ] || die "no streams.db in the state folder"

say "ok: packages built, lintian clean of errors, installed, broadcastd ran"
