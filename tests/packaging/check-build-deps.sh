#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# debian/control's Build-Depends are .ci/build's build_deps (docs/packaging.md):
# the same packages, minus what Debian provides otherwise (build-essential is
# implied; autoconf, automake and libtool come with debhelper's
# dh-autoreconf) and plus debhelper-compat itself.
set -eu
src=${BC_SRCDIR:?}
ci=$(sed -n '/^build_deps="/,/"/p' "$src/.ci/build" | sed 's/^build_deps="//; s/"$//' |
	tr ' ' '\n' | grep -v -x -e '' -e build-essential -e autoconf -e automake -e libtool | sort)
deb=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | sed '$d' |
	sed 's/^Build-Depends://' | tr ',' '\n' | sed 's/(.*)//; s/<.*>//; s/^[ \t]*//; s/[ \t]*$//' |
	grep -v -x -e '' -e debhelper-compat | sort)
if [ "$ci" != "$deb" ]; then
	echo "FAIL: debian/control's Build-Depends and .ci/build's build_deps differ:"
	printf '%s\n' "$ci" >"${TMPDIR:-/tmp}/bc-deps-ci.$$"
	printf '%s\n' "$deb" | diff -u "${TMPDIR:-/tmp}/bc-deps-ci.$$" - |
		sed -e 's/^---.*/--- .ci\/build build_deps/' -e 's/^+++.*/+++ debian\/control Build-Depends/' || true
	rm -f "${TMPDIR:-/tmp}/bc-deps-ci.$$"
	exit 1
fi
echo "ok: debian/control builds with .ci/build's build_deps: $(printf '%s\n' "$ci" | tr '\n' ' ')"
