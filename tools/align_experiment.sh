#!/usr/bin/env bash
# Issue 12's multi-level alignment experiment on the synthetic set (demo model config, the
# demo's recipe, shortened): the same run with the global clip/caption InfoNCE alone and with
# the frame level added (--align global,frame --align-weights 1,FRAME_WEIGHT), each evaluated as
# the demo evaluates, in frame order and with shuffled frames. One run at a time; results in
# OUT/results.tsv (name, eval JSON, eval JSON with shuffled frames).
# SEED (default 0) seeds the init, data order, masks and drop-path of both runs (the data set
# stays the same), so reruns with other seeds show the spread.
# Usage: tools/align_experiment.sh OUT_DIR [STEPS] [BATCH] [UNMASKED] [N_TRAIN] [FRAME_WEIGHT] [THREADS] [SEED]
set -eu
out=$1; steps=${2:-150}; batch=${3:-24}; unmasked=${4:-30}; ntrain=${5:-1500}; fw=${6:-1}; threads=${7:-2}
seed=${8:-0}
. "$(dirname "$0")/demo_recipe.sh"
sfx=$([ "$seed" = 0 ] || echo "_s$seed")  # seed 0 keeps the unsuffixed names
train --steps "$steps" --seed "$seed" --out "$out/global$sfx" > "$out/global$sfx.log"
evaluate "global_only$sfx" "$out/global$sfx/model.safetensors"
train --steps "$steps" --seed "$seed" --align global,frame --align-weights "1,$fw" --out "$out/frame$sfx" > "$out/frame$sfx.log"
evaluate "global_plus_frame$sfx" "$out/frame$sfx/model.safetensors"
