#!/usr/bin/env bash
# `make bench`: the same ViCLIP workloads in viclip and in PyTorch 2.x (from PyPI, installed by
# this script into build/bench-venv on first use) on this machine, same thread count, in fp32
# and in bf16 (viclip --precision bf16 / torch.autocast bfloat16), printed side by side.
# Runs are interleaved (viclip, PyTorch, viclip, ...) for `rounds` rounds and each figure is the
# best of all its runs, so other load on the machine hurts both sides alike and as little as
# possible. Also one fp32 viclip run with VICLIP_ISA=avx2 (the path of a CPU without AVX-512).
# Usage: bench/run.sh [threads] [iters] [config] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
iters=${2:-3}
config=${3:-b16}
rounds=${4:-2}
out=build/bench
mkdir -p "$out"
rm -f "$out"/*.json

# PyTorch 2.x from PyPI in a virtual environment this script owns (Debian's python3-torch is
# 1.13, kept for the test fixtures). The default Linux wheel also pulls CUDA libraries: slow once.
venv=build/bench-venv
if ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
    echo "bench: installing PyTorch from PyPI into $venv (once; several minutes)"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q torch numpy \
        || echo "bench: could not install PyTorch into $venv (offline?)"
fi
py=""
if "$venv/bin/python" -c "import torch" 2>/dev/null; then py="$venv/bin/python"
elif /usr/bin/python3 -c "import torch" 2>/dev/null; then py=/usr/bin/python3
fi

echo "benchmark: ViCLIP-$config, $threads threads, best of $rounds rounds x $iters runs, interleaved"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=$threads build/viclip info --system | sed 's/^/  /'
[ -n "$py" ] && echo "  pytorch:    $("$py" -c 'import torch; print(torch.__version__, "(" + torch.backends.cpu.get_cpu_capability() + ")")' 2>/dev/null || echo "?") at $py"

for r in $(seq 1 "$rounds"); do
    for prec in fp32 bf16; do
        echo "round $r/$rounds, $prec: viclip"
        OMP_NUM_THREADS=$threads build/bench_viclip "$threads" "$iters" "$config" "$prec" > "$out/viclip_${prec}_$r.json"
        if [ -n "$py" ]; then
            echo "round $r/$rounds, $prec: pytorch"
            OMP_NUM_THREADS=$threads "$py" bench/bench_torch.py --threads "$threads" --iters "$iters" \
                --config "$config" --precision "$prec" | tail -n 1 > "$out/torch_${prec}_$r.json"
        fi
    done
done
echo "viclip fp32 with VICLIP_ISA=avx2 (no AVX-512)"
VICLIP_ISA=avx2 OMP_NUM_THREADS=$threads build/bench_viclip "$threads" "$iters" "$config" fp32 > "$out/avx2_fp32_1.json"
echo "viclip fp32 training step alone, without and with --grad-checkpointing (peak memory of the step)"
for ck in plain ckpt; do
    OMP_NUM_THREADS=$threads build/bench_viclip "$threads" "$iters" "$config" fp32 "train,$ck" > "$out/train_${ck}_1.json"
done
[ -n "$py" ] || echo "PyTorch not available: printing viclip figures only"

/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
def best(prefix):
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{prefix}_*.json"))]
    runs = [r for r in runs if r]
    if not runs: return {}
    b = dict(runs[-1])
    for k, v in runs[-1].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
            b[k] = min(vals) if "rss" in k or "cpu_s" in k else max(vals)
    return b
v32, t32, v16, t16, a32 = (best(p) for p in ("viclip_fp32", "torch_fp32", "viclip_bf16", "torch_bf16", "avx2_fp32"))
rows = [("video encode, batch 1 (clips/s)", "video_b1_clips_per_s"),
        ("video encode, batch 4 (clips/s)", "video_b4_clips_per_s"),
        ("video encode, batch 4 (GFLOP/s)", "video_gflops"),
        ("text encode, batch 64 (captions/s)", "text_caps_per_s"),
        ("train step, 90% masked (samples/s)", "train_samples_per_s"),
        ("peak memory (MB)", "peak_rss_mb")]
def f(x): return f"{x:9.2f}" if isinstance(x, (int, float)) else "      n/a"
def ratio(a, b, key):
    if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a and b): return "    n/a"
    return f"{(b / a if 'rss' in key else a / b):6.2f}x"
print(f"\n{'workload':36s} {'viclip':>9s} {'pytorch':>9s} {'speedup':>7s} | {'viclip':>9s} {'pytorch':>9s} {'speedup':>7s} | {'avx2':>9s}")
print(f"{'':36s} {'fp32':>9s} {'fp32':>9s} {'':>7s} | {'bf16':>9s} {'autocast':>9s} {'':>7s} | {'fp32':>9s}")
for name, k in rows:
    print(f"{name:36s} {f(v32.get(k))} {f(t32.get(k))} {ratio(v32.get(k), t32.get(k), k)} | "
          f"{f(v16.get(k))} {f(t16.get(k))} {ratio(v16.get(k), t16.get(k), k)} | {f(a32.get(k))}")
print("(peak memory 'speedup' is pytorch/viclip: above 1 means viclip uses less)")
for tag, v in (("fp32", v32), ("bf16", v16), ("avx2 fp32", a32)):
    if v.get("gemm_ceiling_gflops"):
        print(f"{tag:9s}: model {v['video_gflops']:.1f} GFLOP/s (video batch 4) = "
              f"{100 * v['video_gflops'] / v['gemm_ceiling_gflops']:.0f}% of the GEMM ceiling "
              f"{v['gemm_ceiling_gflops']:.1f} GFLOP/s measured in the same run ({v.get('precision')})")
for tag, key in (("without", "train_plain"), ("with", "train_ckpt")):
    c = best(key)
    if c:
        print(f"training step alone, fp32, {tag} --grad-checkpointing: {c['train_samples_per_s']:.2f} samples/s, "
              f"activations planned {c['train_activations_planned_mb']:.0f} MiB, peak RSS {c['peak_rss_mb']:.0f} MB"
              f" (pytorch fp32 training phase: {t32.get('peak_rss_per_phase_mb', {}).get('train', 'n/a')} MB)")
print(f"viclip gemm: {v32.get('gemm', '?')}")
print(f"train batch {v32.get('train_batch')}; pytorch {t32.get('torch_version', 'n/a')}")
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
