#!/usr/bin/env bash
# Runs each named libFuzzer harness (build-fuzz/fuzz_NAME, built by `make fuzz`) for
# FUZZ_SECONDS on a scratch copy of its seeds, and prints one line per harness with the run
# count. Fails if any harness finds a crash, a leak, a timeout or a sanitizer report (the
# reproducer is left in build-fuzz/).
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
status=0
summary=()
for name in "$@"; do
    corpus=build-fuzz/corpus/$name
    mkdir -p "$corpus"
    [ -d tests/fuzz/corpus/$name ] && cp -n tests/fuzz/corpus/$name/* "$corpus"/ 2>/dev/null
    extra=()
    case $name in
        safetensors) cp -n tests/fixtures/st_python.safetensors "$corpus"/ ;;
        pickle) extra=(-max_len=4096) ;;
        zip) extra=(-max_len=8192) ;;
        npy) cp -n tests/fixtures/npy_*.npy tests/fixtures/video/ref_one_frame*.npy "$corpus"/ 2>/dev/null ;;
        video) cp -n tests/fixtures/video/*.mp4 tests/fixtures/video/*.mkv tests/fixtures/video/*.avi \
                     tests/fixtures/video/*.webm "$corpus"/ 2>/dev/null ;;
        annotations|json) : ;;
    esac
    log=build-fuzz/fuzz_$name.log
    echo "fuzz: $name for ${secs}s"
    (cd build-fuzz && ./fuzz_$name -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
        "${extra[@]}" -artifact_prefix="crash_${name}_" "corpus/$name") > "$log" 2>&1
    rc=$?
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
    [ -z "$runs" ] && runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    if [ $rc -ne 0 ]; then
        status=1
        summary+=("$name: FAILED (exit $rc) after ${runs:-?} runs; see $log")
        tail -n 30 "$log"
    else
        summary+=("$name: ${runs:-?} runs in ${secs}s, clean")
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
