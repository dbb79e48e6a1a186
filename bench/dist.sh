#!/usr/bin/env bash
# Data-parallel throughput on this machine: the same global batch trained by 1 rank x 2 threads
# and by 2 ranks x 1 thread (mpirun), on the demo model and on ViT-B/16 with 90% masking, and
# the share of the step time spent waiting for communication. Usage: bench/dist.sh [steps]
# (part of `make bench`; skipped when mpirun or the MPI build is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-12}
if ! command -v mpirun >/dev/null || ! grep -q "MPI ?= 1" build/config.mk 2>/dev/null; then
    echo "data-parallel benchmark skipped: no mpirun or viclip built without MPI"
    exit 0
fi
mkdir -p build/bench
MPIRUN="mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 -np 2"
[ -f build/bench/synth32/train.jsonl ] || build/viclip synth build/bench/synth32 --n-train 512 >/dev/null
[ -f build/bench/synth224/train.jsonl ] || build/viclip synth build/bench/synth224 --size 224 --n-train 32 >/dev/null
common="--workers 0 --warmup 1 --lr 1e-4 --log-every 1000 --seed 3"
demo="--train-data build/bench/synth32/train.jsonl --model-config demo --mask-ratio 0.5 --steps $steps $common"
b16="--train-data build/bench/synth224/train.jsonl --model-config b16 --mask-ratio 0.9 --steps 3 $common"

run() { # label, launcher, threads, batch per rank, args...
    local label=$1 launcher=$2 threads=$3 batch=$4; shift 4
    local out=build/bench/dist_$label
    rm -rf "$out"
    OMP_NUM_THREADS=$threads $launcher build/viclip train "$@" --out "$out" --batch-size "$batch" -t "$threads" \
        > "$out.txt" 2>&1 || { cat "$out.txt"; exit 1; }
}
run demo_1x2 "" 2 32 $demo
run demo_2x1 "$MPIRUN" 1 16 $demo
run b16_1x2 "" 2 8 $b16
run b16_2x1 "$MPIRUN" 1 4 $b16

/usr/bin/python3 - "$steps" <<'PY'
import json, re, sys
def stats(label, batch):
    log = [json.loads(l) for l in open(f"build/bench/dist_{label}/train_log.jsonl")]
    # throughput after the first step (planning, first touch of memory)
    t = log[-1]["elapsed_s"] - log[0]["elapsed_s"]
    sps = (len(log) - 1) * batch / t if t > 0 else float("nan")
    text = open(f"build/bench/dist_{label}.txt").read()
    m = re.search(r"waited ([0-9.]+) s \(([0-9.]+)% of the run\), gradient all-reduce ran ([0-9.]+) s", text)
    return sps, (float(m.group(2)) if m else 0.0), (float(m.group(3)) if m else 0.0)
print(f"\n{'data-parallel training (global batch)':44s} {'1 rank x 2 thr':>15s} {'2 ranks x 1 thr':>16s} {'ratio':>6s} {'comm wait':>10s} {'all-reduce':>11s}")
for name, label, batch in (("demo model, batch 32, 50% masked (samples/s)", "demo", 32),
                           ("ViT-B/16, batch 8, 90% masked (samples/s)", "b16", 8)):
    one, _, _ = stats(f"{label}_1x2", batch)
    two, wait, busy = stats(f"{label}_2x1", batch)
    print(f"{name:44s} {one:15.2f} {two:16.2f} {two / one:6.2f} {wait:9.1f}% {busy:9.2f} s")
print("comm wait: share of the 2-rank run spent waiting in collectives (all-gathers, reduce-scatters, the part of the")
print("gradient all-reduce not hidden behind the backward, and waiting for the slower rank); all-reduce: its total time")
PY
