#!/usr/bin/env bash
# Issue 12's multi-level alignment experiment on the synthetic set (demo model config, the
# demo's recipe, shortened): the same run with the global clip/caption InfoNCE alone, with the
# frame level added (--align global,frame --align-weights 1,FRAME_WEIGHT) and, when LAYERS is
# given (e.g. 1,2: blocks of both towers, at most the text tower's 2 in the demo config), with
# the layer level added (--align global,layers=LAYERS --align-weights 1,LAYER_WEIGHT) and with
# both (global,frame,layers=LAYERS); each evaluated as the demo evaluates, in frame order and
# with shuffled frames. One run at a time; results in OUT/results.tsv (name, eval JSON, eval
# JSON with shuffled frames). RUNS (default: all that apply) picks some of: global frame layers
# frame_layers.
# SEED (default 0) seeds the init, data order, masks and drop-path of every run (the data set
# stays the same), so reruns with other seeds show the spread.
# Usage: tools/align_experiment.sh OUT_DIR [STEPS] [BATCH] [UNMASKED] [N_TRAIN] [FRAME_WEIGHT] [THREADS] [SEED]
#            [LAYERS] [LAYER_WEIGHT]
set -eu
out=$1; steps=${2:-150}; batch=${3:-24}; unmasked=${4:-30}; ntrain=${5:-1500}; fw=${6:-1}; threads=${7:-2}
seed=${8:-0}; layers=${9:-}; lw=${10:-0.5}
runs=${RUNS:-global frame${layers:+ layers frame_layers}}
. "$(dirname "$0")/demo_recipe.sh"
sfx=$([ "$seed" = 0 ] || echo "_s$seed")  # seed 0 keeps the unsuffixed names
for r in $runs; do
    case $r in
    global) name=global_only; align=(--align global) ;;
    frame) name=global_plus_frame; align=(--align global,frame --align-weights "1,$fw") ;;
    layers) name=global_plus_layers; align=(--align "global,layers=$layers" --align-weights "1,$lw") ;;
    frame_layers) name=global_frame_layers; align=(--align "global,frame,layers=$layers" --align-weights "1,$fw,$lw") ;;
    *) echo "align_experiment.sh: unknown run '$r' in RUNS" >&2; exit 2 ;;
    esac
    train --steps "$steps" --seed "$seed" "${align[@]}" --out "$out/$r$sfx" > "$out/$r$sfx.log"
    evaluate "$name$sfx" "$out/$r$sfx/model.safetensors"
done
