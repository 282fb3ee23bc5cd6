#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run-short.sh: run every built libFuzzer target of tests/fuzz for a short
# while from its checked-in seed corpus, and fail on any crash, leak,
# undefined behaviour, timeout or out-of-memory report.
#
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_TARGETS (names to
# run, default every corpus/<name>/ with a built binary), BC_BUILDDIR and
# BC_SRCDIR (set by `make check`; default: the script's tree). New inputs
# libFuzzer finds go to $BC_BUILDDIR/tests/fuzz/work/<name>/, never into the
# checked-in corpus; a crashing input is kept as
# $BC_BUILDDIR/tests/fuzz/crash-<name>-*. Exit 77 (skip) when no target is
# built, e.g. without clang: see `make fuzz` in tests/fuzz/local.mk.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${BC_SRCDIR:-$here/../..}
builddir=${BC_BUILDDIR:-$(pwd)}
seconds=${FUZZ_SECONDS:-60}
fuzzdir=$builddir/tests/fuzz

if [ -z "${FUZZ_TARGETS:-}" ]; then
	FUZZ_TARGETS=
	for d in "$srcdir"/tests/fuzz/corpus/*/; do
		FUZZ_TARGETS="$FUZZ_TARGETS $(basename "$d")"
	done
fi

ran=0
failed=
for t in $FUZZ_TARGETS; do
	bin=$fuzzdir/$t
	if [ ! -x "$bin" ]; then
		echo "SKIP $t: $bin is not built (make fuzz; needs clang-14 and libclang-rt-14-dev)"
		continue
	fi
	work=$fuzzdir/work/$t
	mkdir -p "$work"
	log=$fuzzdir/fuzz-$t.log
	echo "RUN  $t for ${seconds}s (log: $log)"
	# libFuzzer's own exit codes (77 for a crash by default) would read as
	# a skip to automake, so every failure is mapped to 1 below. The first
	# corpus directory receives new inputs; the seeds are only read.
	# A smaller ASan quarantine (16 MiB, not 256) still catches a use after
	# free within one input, and spares the page faults that halve the exec
	# rate on a VM.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$fuzzdir/crash-$t-" \
		"$work" "$srcdir/tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	ran=$((ran + 1))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $t (exit $rc) after ${execs:-?} runs; the report:"
		grep -E -A40 '^==[0-9]+==ERROR|runtime error|^SUMMARY|deadly signal|Test unit written' \
			"$log" | head -n 80
		failed="$failed $t"
	else
		echo "PASS $t: ${execs:-?} runs, no crash"
	fi
done

if [ "$ran" -eq 0 ]; then
	echo "SKIP: no fuzz target is built"
	exit 77
fi
if [ -n "$failed" ]; then
	echo "fuzz targets failed:$failed"
	exit 1
fi
exit 0
