#!/usr/bin/env bash
# Issue 12's multi-stage experiment on the synthetic set (demo model config, demo recipe):
# the same total number of optimizer steps, from random weights,
#   (i)   contrastive only                          TOTAL steps
#   (ii)  MAE pretraining, then contrastive         PRE + (TOTAL - PRE) steps
#   (iii) UMT pretraining (teacher: (i)'s model), then contrastive
#   (iv)  contrastive only, TOTAL - PRE steps       (what (ii)/(iii) get without pretraining)
# Each contrastive stage is `viclip demo`, which prints retrieval R@1 and zero-shot top-1 on
# held-out attribute combinations next to the shuffled-frames baseline. One run at a time.
# Usage: tools/pretrain_experiments.sh [OUT_DIR] [TOTAL] [PRE] [BATCH] [UNMASKED] [N_TRAIN] [THREADS]
# (UNMASKED: the demo recipe's final unmasked contrastive steps, in every contrastive stage;
# N_TRAIN: synthetic training clips, default the demo's 4000)
set -eu
out=${1:-runs/pretrain_exp}; total=${2:-200}; pre=${3:-80}; batch=${4:-32}; unmasked=${5:-40}; ntrain=${6:-4000}
threads=${7:-2}
v=${VICLIP:-build/viclip}
rest=$((total - pre))
mkdir -p "$out"
run() { echo "+ $*" | tee -a "$out/commands.txt"; "$@"; }
demo() { run $v demo -b "$batch" --unmasked-steps "$unmasked" --n-train "$ntrain" -t "$threads" "$@"; }
demo --out "$out/i" --steps "$total" > "$out/i.log"
data="$out/i/data/train.jsonl"
run $v pretrain --objective mae --train-data "$data" --out "$out/mae" --steps "$pre" --batch-size "$batch" \
    --warmup 20 --lr 1e-3 -t "$threads" --log-every 20 > "$out/mae.log"
demo --out "$out/ii" --init "$out/mae/model.safetensors" --steps "$rest" > "$out/ii.log"
run $v pretrain --objective umt --teacher "$out/i/model.safetensors" --train-data "$data" --out "$out/umt" \
    --steps "$pre" --batch-size "$batch" --warmup 20 --lr 1e-3 -t "$threads" --log-every 20 > "$out/umt.log"
demo --out "$out/iii" --init "$out/umt/model.safetensors" --steps "$rest" > "$out/iii.log"
demo --out "$out/iv" --steps "$rest" > "$out/iv.log"
for r in i ii iii iv; do printf '%-4s ' "$r"; tail -n 1 "$out/$r.log"; done
