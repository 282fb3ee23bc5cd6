#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Static analysis of the project's own C code (framework/, providers/,
# stores/, frontends/; not the fuzz corpora, not vendored files) with
# cppcheck and clang-tidy-14 on a fixed check set: any finding fails the test.
# A false positive is silenced where it is, with a NOLINT or
# cppcheck-suppress comment that says why; whole checks are turned off below,
# one reason a line. Skipped (77) when the tools are missing, and when
# BC_SKIP_STATIC=1: the sanitizer pass of .ci/build has seen the same code.
set -eu

if [ "${BC_SKIP_STATIC:-0}" = 1 ]; then
	echo "SKIP: BC_SKIP_STATIC=1"
	exit 77
fi
src=${BC_SRCDIR:?}
b=${BC_BUILDDIR:?}
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
if ! command -v cppcheck >/dev/null || [ -z "$tidy" ]; then
	echo "SKIP: cppcheck or clang-tidy not installed (apt-get install cppcheck clang-tidy-14)"
	exit 77
fi

# The framework always; a plugin folder only when it was configured (its
# dependencies' headers may be missing otherwise).
cd "$src"
dirs=framework
for d in stores/* providers/* frontends/*; do
	[ -d "$d" ] || continue
	ls "$b/$d"/*.la >/dev/null 2>&1 && dirs="$dirs $d"
done
# Sources compiled into several providers (providers/*/local.mk) have no
# .la of their own: checked with any provider (or store) that was built.
case "$dirs" in *providers/*) dirs="$dirs providers/common" ;; esac
case "$dirs" in *stores/*) dirs="$dirs stores/common" ;; esac
# shellcheck disable=SC2086
files=$(find $dirs -name '*.c' ! -path '*/vendor/*' | sort)

# The build's preprocessor view: config.h, the project headers, the paths
# pkg-config gave configure (libpq's headers are in a folder of their own).
pkg_cflags=$(sed -n 's/^\(YAML\|JANSSON\|CRYPTO\|SSL\|SQLITE\|LIBPQ\|CURL\|EXPAT\)_CFLAGS = //p' \
	"$b/Makefile" | tr '\n' ' ')
defs="-DHAVE_CONFIG_H -DBC_PLUGIN_DIR=\"/usr/lib/broadcast\" -DBC_SYSCONF_DIR=\"/etc/broadcast\" -DBC_STATE_DIR=\"/var/lib/broadcast\""
incs="-I include -I framework -I frontends/http -I providers/common -I stores/common -I $b"

status=0

echo "== cppcheck $(cppcheck --version)"
# shellcheck disable=SC2086
cppcheck -q -j2 --std=c11 --enable=warning,portability,performance --inline-suppr \
	--suppressions-list="$src/tests/cppcheck.supp" --error-exitcode=1 \
	--template='{file}:{line}: {severity} ({id}): {message}' \
	$defs $incs $files || status=1

# clang-tidy: these families, minus the checks that flood with non-defects:
checks="-*,bugprone-*,cert-*,clang-analyzer-*,misc-*,performance-*"
# API shape, not a defect: many functions take two strings or two sizes.
checks="$checks,-bugprone-easily-swappable-parameters"
# printf/snprintf/fclose results are unused on purpose (truncation is designed in): ~160 hits.
checks="$checks,-cert-err33-c"
# Asks for C11 Annex K memcpy_s and friends, which glibc does not have.
checks="$checks,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling"
# Flags every strcpy/strcat, also after the length check that bounds it.
checks="$checks,-clang-analyzer-security.insecureAPI.strcpy"
# clang 14 reports every va_start()ed list passed to vsnprintf as uninitialized.
checks="$checks,-clang-analyzer-valist.Uninitialized"
# Flags constant products such as 64 * 1024 * 1024 that cannot overflow int.
checks="$checks,-bugprone-implicit-widening-of-multiplication-result"
# Flags `c = cond ? ' ' : *p` (int promotion of chars that came from a char).
checks="$checks,-bugprone-narrowing-conversions"
# Flags every correct `sizeof *v` of an array of struct pointers; 14 has no option for that alone.
checks="$checks,-bugprone-sizeof-expression"
# The YAML and JSON walkers recurse over trees whose depth the parsers bound.
checks="$checks,-misc-no-recursion"
# atoi/sscanf read integers that PostgreSQL or our own state files wrote.
checks="$checks,-cert-err34-c"

echo "== $($tidy --version | grep -i version | head -n1)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Two files a run, two runs at a time: the whole tree in about two minutes.
# shellcheck disable=SC2086
if ! printf '%s\n' $files | xargs -P2 -n2 sh -c '
	tidy=$1 checks=$2 flags=$3; shift 3
	exec "$tidy" --quiet --checks="$checks" --warnings-as-errors="*" \
		--header-filter="^(framework|providers|stores|frontends|include)/" "$@" -- $flags
	' sh "$tidy" "$checks" "-std=gnu11 $defs $incs $pkg_cflags" >"$out" 2>&1; then
	status=1
fi
grep -v -e '^[0-9]* warnings\? generated\.$' -e '^Suppressed [0-9]* warnings' \
	-e '^Use -header-filter=' -e '^[0-9]* warnings\? treated as errors\?' "$out" || true

n=$(echo "$files" | wc -l)
if [ "$status" -eq 0 ]; then
	echo "ok: cppcheck and clang-tidy clean on $n files"
else
	echo "FAIL: static analysis findings above"
fi
exit $status
