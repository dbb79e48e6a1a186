#!/usr/bin/env bash
# Does training wait for video decoding? Trains on real videos (../shared/data: example1.mp4
# 640x480 MPEG-4, bikes.mp4 640x272 h264, carphone 176x144 h264, cut into 2-4 s clips by
# start/end) with clips streamed by the loader (rand sampling, crop + flip), and prints each run's
# summary line: samples/s and the share of the time spent waiting for decoded clips.
#   bench/train_real_video.sh [STEPS]
# Two model sizes: the demo config (32x32 input: decoding is the bottleneck) and ViT-B/16
# (224x224, 90% masking: the model is). Not a test: a measurement, run on a quiet machine.
set -eu
cd "$(dirname "$0")/.."
steps=${1:-6}
shared=${VICLIP_SHARED_DATA:-../shared/data}
out=build/bench_train_video
mkdir -p $out
ann=$out/clips.jsonl
: > $ann
for i in $(seq 0 31); do
    s=$(( i % 4 ))
    echo "{\"video\": \"$(realpath $shared/example1.mp4)\", \"caption\": \"a dog and its owner in the snow, part $i\", \"start\": $s, \"end\": $(( s + 4 ))}" >> $ann
    echo "{\"video\": \"$(realpath $shared/videos/bikes.mp4)\", \"caption\": \"people riding bikes, part $i\", \"start\": $(( i % 6 )), \"end\": $(( i % 6 + 3 ))}" >> $ann
    echo "{\"video\": \"$(realpath $shared/videos/carphone_distorted.mp4)\", \"caption\": \"a man talking in a car, part $i\"}" >> $ann
done
run() {
    local name=$1; shift
    echo "== $name"
    build/viclip train --train-data $ann --out $out/$name --steps $steps --warmup 1 --log-every 1000 "$@" | grep -E "^summary|step .*/" | tail -2
}
for w in 1 2; do
    run demo_w$w -m demo -b 32 --workers $w
done
run b16_w1 -m b16 -b 8 --workers 1 --mask-ratio 0.9
