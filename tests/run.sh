#!/usr/bin/env bash
# Runs every test binary in build/tests and closes with "N passed, N failed".
# Usage: tests/run.sh [filter]   (filter is passed to each binary to select test names)
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0; crashed=0
for bin in build/tests/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    start=$(date +%s)
    out=$("$bin" "$@" 2>&1); rc=$?
    echo "$out" | grep -v '^RESULT'
    res=$(echo "$out" | grep '^RESULT' | tail -n 1)
    if [ -z "$res" ]; then
        echo "FAIL $name: exited with status $rc before reporting (crash?)"
        failed=$((failed + 1)); crashed=$((crashed + 1))
        continue
    fi
    p=$(echo "$res" | sed -E 's/.*passed=([0-9]+).*/\1/')
    f=$(echo "$res" | sed -E 's/.*failed=([0-9]+).*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    echo "  ($name: $p passed, $f failed, $(( $(date +%s) - start ))s)"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
