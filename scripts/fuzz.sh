#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# Run the libFuzzer targets built by "make fuzz", each for a fixed time on a
# working copy of its seed corpus; report executions per target and fail on
# any crash, leak or undefined behaviour.
# Usage: scripts/fuzz.sh SECONDS SEED BUILD_DIR TARGET...
#   BUILD_DIR/fuzz_TARGET is the fuzzer; tests/fuzz/corpus/TARGET its seeds
#   (never written to: the corpus grown by the run is BUILD_DIR/corpus/TARGET).
set -u

[ $# -ge 4 ] || { echo "usage: $0 SECONDS SEED BUILD_DIR TARGET..." >&2; exit 2; }
seconds=$1 seed=$2 dir=$3
shift 3

passed=0 failed=0 total=0
for t in "$@"; do
    total=$((total + 1))
    bin=$dir/fuzz_$t corpus=$dir/corpus/$t log=$dir/fuzz_$t.log
    rm -rf "$corpus" "$dir/artifacts/$t"
    mkdir -p "$corpus" "$dir/artifacts/$t"
    if [ -d "tests/fuzz/corpus/$t" ]; then
        cp -R "tests/fuzz/corpus/$t/." "$corpus/"
    fi
    # -detect_leaks=1 is also the default; said here so that no environment
    # (ASAN_OPTIONS) quietly turns it off.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1" \
        "$bin" -max_total_time="$seconds" -seed="$seed" -detect_leaks=1 \
            -artifact_prefix="$dir/artifacts/$t/" "$corpus" >"$log" 2>&1
    rc=$?
    # libFuzzer's last words: "Done 123456 runs in 60 second(s)"
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)
    runs=$(echo "$done_line" | sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p')
    secs=$(echo "$done_line" | sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p')
    if [ "$rc" -eq 0 ] && [ -n "$runs" ] \
        && ! grep -qE 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$log"; then
        passed=$((passed + 1))
        printf 'fuzz_%-10s ok      %6s s  %12s runs\n' "$t" "$secs" "$runs"
    else
        failed=$((failed + 1))
        printf 'fuzz_%-10s FAILED  (exit %s; log %s)\n' "$t" "$rc" "$log"
        grep -E 'runtime error:|ERROR: |invariant violated|SUMMARY:|Test unit written to' "$log" \
            | head -n 20 | sed 's/^/    /'
        for a in "$dir/artifacts/$t"/*; do
            [ -f "$a" ] || continue
            echo "    reproduce: $bin $a"
        done
    fi
done
echo "fuzz: $total targets, $passed passed, $failed failed"
[ "$failed" -eq 0 ]
