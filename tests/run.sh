#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# Run the unit test binaries given as arguments, then the integration suite,
# and end with one line "N passed, N failed" for the whole run.
# --unit-only skips the integration suite.
set -u

unit_only=0
if [ "${1:-}" = "--unit-only" ]; then
    unit_only=1
    shift
fi
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$@"; do
    echo "== unit: $(basename "$t")"
    "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1                     # crashed or never reached its summary
        echo "!! $(basename "$t") exited with status $rc"
    fi
    if grep -q '^\[  FAILED  \] GROUP \(SETUP\|TEARDOWN\)' "$out"; then
        f=$((f + 1))            # cmocka still exits 0 for these
        echo "!! $(basename "$t"): group setup or teardown failed"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

if [ "$unit_only" -eq 0 ]; then
    echo "== integration"
    "$PYTHON" "$(dirname "$0")/integration/run.py" | tee "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    p=${p:-0}
    f=${f:-1}
    passed=$((passed + p))
    failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
