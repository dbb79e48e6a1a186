#!/usr/bin/env bash
# `make bench`: the same ViCLIP workloads in viclip and in PyTorch on this machine, same thread
# count, printed side by side. Usage: bench/run.sh [threads] [iters] [config]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
iters=${2:-3}
config=${3:-b16}
mkdir -p build/bench
echo "benchmark: ViCLIP-$config, $threads threads, median of $iters runs"
OMP_NUM_THREADS=$threads build/bench_viclip "$threads" "$iters" "$config" | tee build/bench/viclip.json
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    OMP_NUM_THREADS=$threads /usr/bin/python3 bench/bench_torch.py --threads "$threads" --iters "$iters" --config "$config" \
        | tail -n 1 | tee build/bench/torch.json
else
    echo '{}' > build/bench/torch.json
    echo "PyTorch not installed (python3-torch): printing viclip figures only"
fi
/usr/bin/python3 - <<'PY'
import json
c = json.load(open("build/bench/viclip.json"))
t = json.load(open("build/bench/torch.json"))
rows = [("video encode, batch 1 (clips/s)", "video_b1_clips_per_s"),
        ("video encode, batch 4 (clips/s)", "video_b4_clips_per_s"),
        ("video encode, batch 4 (GFLOP/s)", "video_gflops"),
        ("text encode, batch 64 (captions/s)", "text_caps_per_s"),
        ("train step, 90% masked (samples/s)", "train_samples_per_s"),
        ("peak memory (MB)", "peak_rss_mb")]
print(f"\n{'workload':38s} {'viclip':>10s} {'pytorch':>10s} {'ratio':>7s}")
for name, key in rows:
    a, b = c.get(key), t.get(key)
    ratio = f"{a / b:7.2f}" if a and b else "    n/a"
    bs = f"{b:10.2f}" if b is not None else "       n/a"
    print(f"{name:38s} {a:10.2f} {bs} {ratio}")
print(f"(train batch {c.get('train_batch')}; pytorch {t.get('torch_version', 'n/a')})")
PY

# Decoding: 8x224x224 evaluation clips from the shared 640x480 MPEG-4 clip, one worker each side.
video=${VICLIP_SHARED_DATA:-../shared/data}/example1.mp4
if [ -f "$video" ] && [ -x build/bench_decode ]; then
    echo
    build/bench_decode "$video" --clips 40
    if /usr/bin/python3 -c "import av, torch" 2>/dev/null; then
        /usr/bin/python3 bench/bench_decode_pyav.py "$video" --clips 40
    else
        echo "PyAV not installed (python3-av): no Python decoding figure"
    fi
fi
