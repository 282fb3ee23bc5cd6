#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# tests/check-abi.sh: the binary ABI guard (docs/abi.md, "How it is tested").
#
# abidw (abigail-tools) describes two objects of the build:
#   framework/.libs/libbroadcast.so   the embedding library's functions and
#                                     every type they reach   -> abi/libbroadcast.abi
#   tests/abi/.libs/abi_view.so       every public struct and enum, as a
#                                     plugin built against the headers sees
#                                     them (tests/abi/abi_view.c) -> abi/plugin-view.abi
# and abidiff compares each fresh description with the one kept in abi/.
# It is a semantic comparison (sizes, offsets, types, names, values), not a
# textual one, so compiler flags, sanitizers and the build folder do not
# matter. It fails on
#   - a removed or changed function, a member removed, retyped or moved, an
#     enum value removed or renumbered, a changed struct size that is not
#     members appended at the end;
#   - a member appended at the end of a struct that docs/abi-history does not
#     record with the headers' own minor (BC_ABI_MINOR): a new member comes
#     with a minor bump, and once a minor is released its members are in the
#     kept dumps;
#   - a struct or enum of docs/abi-history missing from the plugin view
#     (add it to tests/abi/abi_view.c);
#   - a function added to libbroadcast whose comment in <broadcast/embed.h>
#     does not say "Since ABI" with the headers' version.
# Appended enum values and renamed members are not reported by abidiff (no
# layout changes): tests/check-abi-history.py checks them, and the spelled
# types (`const` included, which abidiff does not compare), against
# docs/abi-history.
#
#   tests/check-abi.sh            compare, then the self-test (make check runs it)
#   tests/check-abi.sh --dump     rewrite abi/*.abi from the build (make abi-dump)
#
# abigail-tools missing, or a build without debug information (-g): FAIL,
# unless BC_ABI_CHECK=skip, which makes the test SKIP (77). CI installs
# abigail-tools and builds with -g, so the check cannot silently go away
# there; a packager without abigail-tools sets BC_ABI_CHECK=skip.
set -eu

src=${BC_SRCDIR:?}
b=${BC_BUILDDIR:?}
mode=check
[ "${1:-}" = --dump ] && mode=dump

if [ "${BC_ABI_CHECK:-}" = skip ] && [ "$mode" = check ]; then
	echo "SKIP: BC_ABI_CHECK=skip"
	exit 77
fi
for tool in abidw abidiff; do
	command -v "$tool" >/dev/null || {
		echo "FAIL: $tool not found: apt-get install abigail-tools (or set BC_ABI_CHECK=skip" \
		     "to skip the ABI guard)"
		exit 1
	}
done

lib="$b/framework/.libs/libbroadcast.so"
view="$b/tests/abi/.libs/abi_view.so"
for so in "$lib" "$view"; do
	[ -f "$so" ] || { echo "FAIL: $so not built (make check builds it; make abi-dump too)"; exit 1; }
	if ! readelf -S "$so" | grep -q '\.debug_info'; then
		echo "FAIL: $so has no debug information: build with -g in CFLAGS (the default" \
		     "-g -O2 has it), or set BC_ABI_CHECK=skip"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bc-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Only what the public headers define: the library's internal types (the
# whole struct bc_context behind the opaque pointer) are left declared.
dump() {
	abidw --no-corpus-path --no-comp-dir-path --no-show-locs \
		--headers-dir "$src/include/broadcast" --drop-private-types "$1" >"$2"
}
dump "$lib" "$tmp/libbroadcast.abi"
dump "$view" "$tmp/plugin-view.abi"

# Every struct and enum of docs/abi-history, with its members, in the view
# (lines with "=" are enum values, or flag bits when no enum has the name).
missing=""
for t in $(sed -n 's/^\(bc_[a-z0-9_]*\)\.[A-Za-z0-9_]*  *[0-9].*/\1/p' "$src/docs/abi-history" | sort -u); do
	grep -q "<class-decl name='$t' size-in-bits=" "$tmp/plugin-view.abi" || missing="$missing $t"
done
for t in $(sed -n 's/^\(bc_[a-z0-9_]*\)\.[A-Za-z0-9_]*=.*/\1/p' "$src/docs/abi-history" | sort -u); do
	cat "$src"/include/broadcast/*.h | grep -q "^enum $t {" || continue
	grep -q "<enum-decl name='$t'" "$tmp/plugin-view.abi" || missing="$missing $t"
done
if [ -n "$missing" ]; then
	echo "FAIL: tests/abi/abi_view.c does not reach$missing (docs/abi-history lists them):" \
	     "add a parameter of each type to bc_abi_view()"
	exit 1
fi

if [ "$mode" = dump ]; then
	mkdir -p "$src/abi"
	for f in libbroadcast.abi plugin-view.abi; do
		cp "$tmp/$f" "$src/abi/$f"
		echo "wrote $src/abi/$f"
	done
	exit 0
fi

minor=$(sed -n 's/^#define BC_ABI_MINOR \([0-9]*\).*/\1/p' "$src/include/broadcast/plugin.h")
major=$(sed -n 's/^#define BC_ABI_MAJOR \([0-9]*\).*/\1/p' "$src/include/broadcast/plugin.h")

status=0
for f in libbroadcast.abi plugin-view.abi; do
	[ -f "$src/abi/$f" ] || { echo "FAIL: abi/$f is missing: make abi-dump"; status=1; continue; }
	rc=0
	abidiff --leaf-changes-only --suppressions "$src/abi/abidiff.suppr" \
		"$src/abi/$f" "$tmp/$f" >"$tmp/$f.diff" 2>&1 || rc=$?
	# abidiff's exit status: bit 1 error, 2 usage, 4 a change, 8 an
	# incompatible change (a removed function).
	if [ "$rc" -eq 0 ]; then
		echo "ok: abi/$f: no change"
		continue
	fi
	if [ $((rc & 11)) -ne 0 ]; then
		sed 's/^/    /' "$tmp/$f.diff"
		echo "FAIL: abi/$f: abidiff exit $rc: an incompatible change or an error (above)"
		status=1
		continue
	fi
	# Only changes: each leaf change must be members appended to a struct,
	# each recorded in docs/abi-history with this minor; anything else fails.
	verdict=$(awk -v hist="$src/docs/abi-history" -v want="$major.$minor" '
		BEGIN {
			while ((getline line < hist) > 0) {
				sub(/#.*/, "", line)
				if (split(line, f, /[ \t]+/) >= 2) ver[f[1]] = f[2]
			}
		}
		function bad(why) { if (!blockbad) print "BAD " why; blockbad = 1; nbad++ }
		/^(Leaf changes summary|Changed leaf types summary|Removed\/Changed\/Added (functions|variables) summary):/ { next }
		/^$/ { next }
		/^[0-9]+ Added functions?:$/ { st = ""; ins = 0; added = 1; blockbad = 0; next }
		added && /^  \[A\] / {
			fn = $0; sub(/^.*\{/, "", fn); sub(/\}.*$/, "", fn)
			print "FN " fn; next
		}
		/^'\''struct bc_[a-z0-9_]+'\'' changed:$/ {
			added = 0; ins = 0; blockbad = 0
			st = $2; gsub(/'\''/, "", st); oldsize = -1; next
		}
		st != "" && /^  type size changed from [0-9]+ to [0-9]+ \(in bits\)$/ { oldsize = $5; ins = 0; next }
		st != "" && /^  type size hasn'\''t changed$/ { oldsize = -1; ins = 0; next }
		st != "" && /^  [0-9]+ data member insertions?:$/ { ins = 1; next }
		st != "" && ins && /^    '\''.*'\'', at offset [0-9]+ \(in bits\)$/ {
			off = $0; sub(/.*, at offset /, "", off); sub(/ .*/, "", off)
			decl = $0; sub(/^    '\''/, "", decl); sub(/'\'', at offset.*/, "", decl)
			# the member name: "int x", "const char* x", "T (*x)(...)", "T x[4]"
			if (match(decl, /\(\*[A-Za-z0-9_]+\)/)) m = substr(decl, RSTART + 2, RLENGTH - 3)
			else { m = decl; sub(/\[.*$/, "", m); sub(/^.*[^A-Za-z0-9_]/, "", m) }
			if (oldsize < 0 || off + 0 < oldsize + 0) {
				bad("struct " st ": member " m " inserted at bit " off ", not appended " \
				    "(members are only appended at the end)")
				next
			}
			key = st "." m
			if (!(key in ver))
				bad("struct " st ": member " m " was appended but docs/abi-history does not " \
				    "record " key)
			else if (ver[key] != want)
				bad("struct " st ": member " m " was appended but docs/abi-history records it " \
				    "with " ver[key] ", not the headers'\'' ABI " want \
				    " (a new member comes with a minor bump)")
			else
				print "NOTE appended " key " (ABI " want ")"
			next
		}
		/^'\''/ { st = ""; ins = 0; added = 0; blockbad = 0 }
		{ bad((st != "" ? "struct " st ": " : "") "not members appended at the end: " $0) }
		END { if (nbad == 0) print "OK" }
	' "$tmp/$f.diff")
	# A new function of libbroadcast: its comment in <broadcast/embed.h> must
	# say "Since ABI" with the headers' version (STYLE rule 4).
	for fn in $(printf '%s\n' "$verdict" | sed -n 's/^FN //p'); do
		since=$(awk -v fn="$fn" '
			/\/\*/ { c = ""; incom = 1 }
			incom { c = c " " $0 }
			/\*\// { incom = 0; next }
			!incom && index($0, fn "(") && $0 !~ /^[ \t]*\*/ { print c; exit }
		' "$src/include/broadcast/embed.h" | grep -o 'Since ABI [0-9]*\.[0-9]*' | tail -n 1)
		if [ "$since" = "Since ABI $major.$minor" ]; then
			verdict="$verdict
NOTE added function $fn ($since)"
		else
			verdict="$verdict
BAD new function $fn: its comment in <broadcast/embed.h> says \"${since:-no Since ABI}\", not \"Since ABI $major.$minor\" (a new function comes with a minor bump)"
		fi
	done
	if printf '%s\n' "$verdict" | grep -q '^BAD'; then
		sed 's/^/    /' "$tmp/$f.diff"
		printf '%s\n' "$verdict" | sed -n 's/^BAD /FAIL: abi\/'"$f"': /p'
		echo "    a struct member is never removed, renamed, retyped or moved, and an enum" \
		     "value never renumbered (docs/abi.md); new members are appended and recorded"
		status=1
	else
		printf '%s\n' "$verdict" | sed -n 's/^NOTE /ok: abi\/'"$f"': /p'
		echo "ok: abi/$f: only additions, each recorded for ABI $major.$minor"
	fi
done
[ "${BC_ABI_SELFTEST:-yes}" = no ] && exit $status

# ---- self-test ----------------------------------------------------------------
# The guard must see what it guards against: copies of the headers and the
# history, each changed one way, and tests/abi/abi_view.c compiled against
# them with $CC -g; the check above is run on each and must pass or fail as
# expected (with the message expected), against the kept abi/ dumps.
cc=${CC:-cc}
# An integer member of bc_record of the minor in development (in no kept
# release), found in the history so the cases follow the tree.
hist="$src/docs/abi-history"
new_line=$(grep -E "^bc_record\.[a-z_]+ +$major\.$minor u?int64_t\$" "$hist" | tail -n 1)
new_m=$(printf '%s\n' "$new_line" | sed 's/^bc_record\.\([a-z_]*\) .*/\1/')
new_t=$(printf '%s\n' "$new_line" | sed 's/^[^ ]*  *[0-9.]*  *//')
any_line=$(grep '^bc_record\.' "$hist" | tail -n 1)
selftest() { # name, expected ("pass:MESSAGE" or a failure's message), edits (file old new ...)
	name=$1 want=$2
	shift 2
	st="$tmp/self"
	rm -rf "$st"
	mkdir -p "$st/src/include" "$st/src/docs" "$st/b/framework/.libs" "$st/b/tests/abi/.libs"
	cp -r "$src/include/broadcast" "$st/src/include/"
	cp "$hist" "$st/src/docs/"
	cp -r "$src/abi" "$st/src/"
	ln -s "$lib" "$st/b/framework/.libs/libbroadcast.so"
	python3 - "$st/src" "$@" <<'PY' || { echo "FAIL: self-test $name: the edit no longer applies"; return 1; }
import re, sys
root, edits = sys.argv[1], sys.argv[2:]
for i in range(0, len(edits), 3):
    path, old, new = root + "/" + edits[i], edits[i + 1], edits[i + 2]
    text = open(path).read()
    if old.startswith("@"):  # @append:STRUCT or @remove-last:STRUCT
        what, struct = old[1:].split(":")
        start = text.index("struct %s {" % struct)
        end = text.index("\n};", start) + 1
        if what == "append":
            text = text[:end] + new + "\n" + text[end:]
        else:  # from the line of the last member's ";" to the closing brace
            code = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), text, flags=re.S)
            semi = code.rindex(";", start, end)
            line = text.rindex("\n", start, semi) + 1
            text = text[:line] + text[end:]
    elif old not in text:
        sys.exit("%r not in %s" % (old, edits[i]))
    else:
        text = text.replace(old, new, 1)
    open(path, "w").write(text)
PY
	$cc -std=gnu11 -g -O0 -shared -fPIC -Wl,-soname,abi_view.so -I"$st/src/include" \
		-o "$st/b/tests/abi/.libs/abi_view.so" \
		"$src/tests/abi/abi_view.c" || { echo "FAIL: self-test $name: $cc failed"; return 1; }
	rc=0
	BC_SRCDIR="$st/src" BC_BUILDDIR="$st/b" BC_ABI_SELFTEST=no sh "$0" >"$st/out" 2>&1 || rc=$?
	if [ "${want%%:*}" = pass ] && [ "$rc" -eq 0 ] && grep -qF "${want#pass:}" "$st/out"; then
		echo "ok: self-test $name: passes"
	elif [ "${want%%:*}" != pass ] && [ "$rc" -ne 0 ] && grep -qF "$want" "$st/out"; then
		echo "ok: self-test $name: fails, saying \"$want\""
	else
		sed 's/^/    /' "$st/out"
		echo "FAIL: self-test $name: expected ${want}, got exit $rc (above)"
		return 1
	fi
}
inc=include/broadcast
rec="bc_record.bc_selftest_extra 1.$minor int"
sf=0
selftest "unchanged, built another way" "pass:plugin-view.abi: no change" || sf=1
selftest "a member appended and recorded with ABI $major.$minor" \
	"pass:appended bc_record.bc_selftest_extra" \
	"$inc/store.h" @append:bc_record "	int bc_selftest_extra;" \
	docs/abi-history "$any_line" "$any_line
$rec" || sf=1
selftest "a member appended without a line in the history" \
	"docs/abi-history does not record bc_record.bc_selftest_extra" \
	"$inc/store.h" @append:bc_record "	int bc_selftest_extra;" || sf=1
selftest "a member appended with an older minor" "not the headers' ABI" \
	"$inc/store.h" @append:bc_record "	int bc_selftest_extra;" \
	docs/abi-history "$any_line" "$any_line
bc_record.bc_selftest_extra 1.0 int" || sf=1
if [ -n "$new_m" ]; then
	other=int64_t
	[ "$new_t" = int64_t ] && other=uint64_t
	selftest "the type of bc_record.$new_m ($major.$minor) changed in headers and history" \
		"struct bc_record: not members appended at the end" \
		"$inc/store.h" "$new_t $new_m;" "$other $new_m;" \
		docs/abi-history "$new_line" "bc_record.$new_m $major.$minor $other" || sf=1
fi
selftest "the last member removed" "struct bc_record: not members appended at the end" \
	"$inc/store.h" @remove-last:bc_record "" || sf=1
selftest "a member inserted before the end" "inserted at bit" \
	"$inc/store.h" "	int64_t publish_ms;" "	int bc_selftest_extra;
	int64_t publish_ms;" \
	docs/abi-history "$any_line" "$any_line
$rec" || sf=1
selftest "an enum value renumbered" "'enum bc_status' changed" \
	"$inc/plugin.h" "BC_E_INTERNAL = 13" "BC_E_INTERNAL = 14" || sf=1
selftest "a struct left out of the plugin view" "does not reach bc_selftest_new" \
	docs/abi-history "$any_line" "$any_line
bc_selftest_new.struct_size 1.$minor size_t" || sf=1
[ "$sf" -eq 0 ] || status=1
exit $status
