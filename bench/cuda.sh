#!/usr/bin/env bash
# `make bench-cuda`: viclip's CUDA backend and PyTorch (tools/viclip_ref.py, eager and
# torch.compile) on the same GPU in one run, side by side, bf16 (viclip --precision bf16,
# torch.autocast bfloat16): the workloads of issue 10 (training: viclip's exact fp32 attention and,
# as viclip-tc, its tensor-core attention). Each run is a separate process with a
# time limit, so one failure or hang costs only its row. JSON lines go to $BENCH_OUT
# (default build/bench-cuda/results.jsonl); the table is printed at the end.
# Environment: BUILD (build folder), PY (a python with torch + CUDA; default: the first of
# python3 / build/bench-venv that has it), ITERS (default 5), PEAK_TFLOPS (790, H200 dense bf16),
# TORCH_TIMEOUT (seconds per PyTorch run, default 240), SKIP_COMPILE=1 (eager only), DEADLINE
# (a `date +%s` time: rows that would start after it are skipped; torch.compile rows, which
# compile for a minute or more each, run last).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ITERS=${ITERS:-5}
PEAK=${PEAK_TFLOPS:-790}
TT=${TORCH_TIMEOUT:-240}
out=${BENCH_OUT:-$BUILD/bench-cuda/results.jsonl}
mkdir -p "$(dirname "$out")"
: > "$out"

py=${PY:-}
if [ -z "$py" ]; then
    for cand in python3 /usr/bin/python3 python "$BUILD/bench-venv/bin/python" build/bench-venv/bin/python; do
        if "$cand" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
            py=$cand; break
        fi
    done
fi
echo "bench-cuda: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not available')"
"$BUILD/viclip" info --system | sed 's/^/  /'
[ -n "$py" ] && echo "  pytorch: $("$py" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>/dev/null) ($py)" \
             || echo "  pytorch with CUDA: not found (viclip figures only)"

viclip_row() { # workload config batch [impl]: impl viclip-tc trains with tensor-core attention
    local impl=${4:-viclip}
    echo "$impl $1 $2 batch $3" >&2
    env VICLIP_BENCH_IMPL="$impl" $([ "$impl" = viclip-tc ] && echo VICLIP_CUDA_ATTENTION=tc) \
        timeout 300 "$BUILD/bench_cuda" "$1" "$2" "$3" bf16 "$ITERS" "$PEAK" >> "$out" 2>>"$out.stderr" \
        || echo "{\"impl\":\"$impl\",\"workload\":\"$1\",\"config\":\"$2\",\"batch\":$3,\"failed\":\"exit $?\"}" >> "$out"
}
time_left() { [ -z "${DEADLINE:-}" ] && return 0; [ "$(date +%s)" -lt "$DEADLINE" ]; }
torch_row() { # mode workload config batch [extra flags]
    [ -n "$py" ] || return 0
    local mode=$1 w=$2 c=$3 b=$4; shift 4
    {
        [ "$mode" = compile ] && [ "${SKIP_COMPILE:-0}" = 1 ] && return 0
        if ! time_left; then
            echo "{\"impl\":\"pytorch-$mode\",\"workload\":\"$w\",\"config\":\"$c\",\"batch\":$b,\"skipped\":\"out of time\"}" >> "$out"
            return 0
        fi
        local lim=$TT
        [ -n "${DEADLINE:-}" ] && [ $(( DEADLINE - $(date +%s) )) -lt "$lim" ] && lim=$(( DEADLINE - $(date +%s) ))
        echo "pytorch-$mode $w $c batch $b $*" >&2
        local res
        res=$(timeout "$lim" "$py" bench/bench_torch_cuda.py --workload "$w" --config "$c" --batch "$b" --precision bf16 \
            --iters "$ITERS" --peak-tflops "$PEAK" $([ "$mode" = compile ] && echo --compile) "$@" 2>>"$out.stderr" | tail -n 1)
        case "$res" in
            "{"*) echo "$res" >> "$out" ;;
            *) echo "{\"impl\":\"pytorch-$mode\",\"workload\":\"$w\",\"config\":\"$c\",\"batch\":$b,\"failed\":\"timeout or error (see $out.stderr)\"}" >> "$out" ;;
        esac
    }
}
for mode in eager compile; do
    [ "$mode" = eager ] && viclip_row video b16 128;  torch_row $mode video b16 128
    [ "$mode" = eager ] && viclip_row text b16 1024;  torch_row $mode text b16 1024
    [ "$mode" = eager ] && viclip_row train b16 256 && viclip_row train b16 256 viclip-tc; torch_row $mode train b16 256 --masking-prob 0.9 --freeze-text
    [ "$mode" = eager ] && viclip_row video l14 64;   torch_row $mode video l14 64
    [ "$mode" = eager ] && viclip_row train l14 128 && viclip_row train l14 128 viclip-tc; torch_row $mode train l14 128 --masking-prob 0.9 --freeze-text
done

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
keys = []
for r in rows:
    k = (r.get("workload"), r.get("config"), r.get("batch"))
    if k not in keys: keys.append(k)
impls = ["viclip", "viclip-tc", "pytorch-eager", "pytorch-compile"]
print(f"\n{'workload':<22}" + "".join(f"{i:>26}" for i in impls) + f"{'viclip/eager':>14}{'viclip/compile':>16}")
for k in keys:
    cells, ms = [], {}
    for i in impls:
        r = next((r for r in rows if (r.get("workload"), r.get("config"), r.get("batch")) == k and r.get("impl") == i), None)
        if r is None: cells.append("-")
        elif "ms" in r:
            ms[i] = r["ms"]
            mem = f" {r['peak_mem_gib']}G" if "peak_mem_gib" in r else ""
            cells.append(f"{r['ms']:.1f}ms mfu {100 * r['mfu']:.1f}%{mem}")
        else: cells.append((r.get("skipped") or r.get("failed") or "?")[:24])
    sp = lambda a, b: f"{ms[b] / ms[a]:.2f}x" if a in ms and b in ms else "-"
    print(f"{k[0] + ' ' + k[1] + ' b' + str(k[2]):<22}" + "".join(f"{c:>26}" for c in cells)
          + f"{sp('viclip', 'pytorch-eager'):>14}{sp('viclip', 'pytorch-compile'):>16}")
print("(speed-up = PyTorch time / viclip time; viclip times include host->GPU input copies; viclip-tc: training\n"
      " with VICLIP_CUDA_ATTENTION=tc, tensor-core attention both ways, opt-in until checked on a GPU)")
PY
