#!/usr/bin/env bash
# `make bench-moments`: finding moments in a long video with the demo model (runs/demo or
# build/demo, from `make demo`; ViCLIP-B/16 weights are not needed).
#  1. a 2-hour 360p video: the clips of ../shared/data concatenated into a 60 s background and
#     repeated, with three synthetic clips (the demo's moving shapes, 4 s each) spliced in at
#     known times; written under build/bench_moments (never committed);
#  2. indexed in one decode pass in 4 s windows every 2 s: windows/s;
#  3. each planted clip's caption queried: the rank of the moment that overlaps it (want <= 3);
#  4. exact search over 10^6 random windows (E = 768, float16) vs a flat float32 GEMM index;
#  5. wrk on viclip serve's /api/search over a 100k-window index: requests/s and p99 latency.
# Usage: bench/moments.sh [model] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-}
threads=${2:-2}
if [ -z "$model" ]; then
    for m in runs/demo/model.safetensors build/demo/model.safetensors; do [ -f "$m" ] && model=$m && break; done
fi
[ -n "$model" ] && [ -f "$model" ] || { echo "bench-moments: no demo model: run 'make demo' first (or pass a model)"; exit 1; }
command -v ffmpeg >/dev/null || { echo "bench-moments: the ffmpeg tool is needed to make the long video"; exit 1; }
out=build/bench_moments
# OpenMP threads sleep instead of spinning between parallel regions: on a shared machine (more
# runnable threads than cores) spinning workers starve the decoder and the demo model's many
# short regions (measured: 60 s of video, 2 threads: 10.0 s spinning vs 1.5 s passive).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
data=${VICLIP_SHARED_DATA:-../shared/data}
mkdir -p "$out/seg"
enc=(-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 16 -bf 0 -r 8 -an)

# 1. the long video
if [ ! -f "$out/long.mp4" ]; then
    : > "$out/seg/clips.txt"
    i=0
    for clip in "$data/example1.mp4" "$data/videos/bikes.mp4" "$data/videos/rotation_0.mov"; do
        ffmpeg -nostdin -y -v error -i "$clip" -vf "scale=640:360,setsar=1,fps=8" "${enc[@]}" "$out/seg/c$i.mp4"
        echo "file 'c$i.mp4'" >> "$out/seg/clips.txt"
        i=$((i + 1))
    done
    ffmpeg -nostdin -y -v error -stream_loop -1 -f concat -safe 0 -i "$out/seg/clips.txt" -t 60 -vf fps=8 "${enc[@]}" "$out/seg/base.mp4"
    combos=(1 20 45)
    : > "$out/planted.tsv"
    for k in 0 1 2; do
        cap=$(build/plant_clip "${combos[$k]}" $((k + 7)) 8 32 2>&1 >/dev/null)
        build/plant_clip "${combos[$k]}" $((k + 7)) 8 32 2>/dev/null |
            ffmpeg -nostdin -y -v error -f rawvideo -pix_fmt rgb24 -s 32x32 -r 2 -i - \
                -vf "scale=640:360:flags=neighbor,setsar=1,fps=8" "${enc[@]}" "$out/seg/plant$k.mp4"
        echo "$k	$cap" >> "$out/planted.tsv"
    done
    # 120 one-minute backgrounds; the plants go after minutes 17, 63 and 101
    : > "$out/seg/long.txt"
    t=0; k=0
    for b in $(seq 0 119); do
        echo "file 'base.mp4'" >> "$out/seg/long.txt"; t=$((t + 60))
        if [ $b -eq 16 ] || [ $b -eq 62 ] || [ $b -eq 100 ]; then
            echo "file 'plant$k.mp4'" >> "$out/seg/long.txt"
            sed -i "s/^$k	/$k	$t	/" "$out/planted.tsv"
            t=$((t + 4)); k=$((k + 1))
        fi
    done
    ffmpeg -nostdin -y -v error -f concat -safe 0 -i "$out/seg/long.txt" -c copy "$out/long.mp4"
fi
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out/long.mp4")
echo "long video: $out/long.mp4, ${dur} s, 640x360 at 8 fps; planted (index, start s, caption):"
cat "$out/planted.tsv"

# 2. one decode pass, windows of 4 s every 2 s
echo "indexing with $model ($threads threads)..."
OMP_NUM_THREADS=$threads build/viclip encode -m "$model" --video "$out/long.mp4" --window 4 --stride 2 --fresh \
    --out "$out/index" --json -t "$threads" | tee "$out/encode.json"

# 3. the planted moments
mapfile -t caps < <(cut -f3 "$out/planted.tsv")
OMP_NUM_THREADS=$threads build/viclip search -m "$model" --index "$out/index" -k 3 --json -t "$threads" "${caps[@]}" > "$out/search.json"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
planted = [l.rstrip("\n").split("\t") for l in open(f"{out}/planted.tsv")]
res = json.load(open(f"{out}/search.json"))["queries"]
found = 0
for (k, start, cap), q in zip(planted, res):
    s, e = float(start), float(start) + 4
    rank = next((r["rank"] for r in q["results"] if r["start"] < e and r["end"] > s), None)
    found += rank is not None
    top = ", ".join(f'{r["start"]:.0f}-{r["end"]:.0f} s ({r["score"]:.3f})' for r in q["results"])
    print(f"  '{cap}' planted at {s:.0f}-{e:.0f} s: rank {rank if rank else '>3'}   top 3: {top}")
print(f"planted moments in the top 3: {found} of {len(planted)}")
PY

# 4. exact search over 10^6 windows
echo "exact search, 10^6 windows of 768 dims (median-free: best of 5), $threads threads:"
OMP_NUM_THREADS=$threads build/bench_search 1000000 768 "$threads" | tee "$out/search_1m.json"

# 5. wrk on /api/search, 100k windows
if command -v wrk >/dev/null; then
    build/bench_search --write-index "$out/index100k" --model "$model" --video "$out/seg/base.mp4" 100000
    build/viclip serve -m "$model" --index "$out/index100k" --port 0 -t "$threads" > "$out/serve.log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    for _ in $(seq 50); do grep -q listening "$out/serve.log" && break; sleep 0.2; done
    port=$(grep -o '127.0.0.1:[0-9]*' "$out/serve.log" | cut -d: -f2)
    wrk -t2 -c8 -d15s --latency "http://127.0.0.1:$port/api/search?q=a%20red%20circle%20moves%20to%20the%20left&k=10" | tee "$out/wrk.txt"
    kill $pid
else
    echo "wrk not installed (apt-get install wrk): no load run"
fi
