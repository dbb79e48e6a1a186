#!/usr/bin/env bash
# Runs every test binary in build/tests and closes with "N passed, N failed".
# Usage: tests/run.sh [filter]   (filter is passed to each binary to select test names)
# VICLIP_TEST_BUILDS: the build folders whose tests/test_* run (default: build);
# VICLIP_TEST_BINS: more binaries counted in the same total (make test: the sanitizer pass).
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0; crashed=0
bins=()
for b in ${VICLIP_TEST_BUILDS:-build}; do bins+=("$b"/tests/test_*); done
for b in ${VICLIP_TEST_BINS:-}; do bins+=("$b"); done
for bin in "${bins[@]}"; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    case "$bin" in build/*) ;; *) name="${bin%%/*}/$name" ;; esac
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
