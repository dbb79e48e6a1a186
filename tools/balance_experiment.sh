#!/usr/bin/env bash
# Issue 12's balance experiment on the synthetic set: a pretrained video tower (e.g. the MAE
# model that tools/pretrain_experiments.sh writes to OUT/mae) with a randomly initialised text
# tower, contrastive training at one learning rate with --balance off and with --balance auto,
# otherwise `viclip demo`'s recipe; each evaluated as the demo evaluates (frame order and
# shuffled frames, OUT/results.tsv), with the loss curve and the towers' update/weight ratios
# every 25 steps and at the last in OUT/curves.tsv (mode, step, loss, update ratio of the video
# tower, of the text tower, lr multiplier of the video tower, of the text tower).
# Usage: tools/balance_experiment.sh OUT_DIR VIDEO_TOWER [STEPS] [BATCH] [LR] [UNMASKED] [N_TRAIN] [THREADS]
set -eu
out=$1; tower=$2; steps=${3:-300}; batch=${4:-48}; lr=${5:-1e-3}; unmasked=${6:-40}; ntrain=${7:-4000}
threads=${8:-2}
. "$(dirname "$0")/demo_recipe.sh"
for mode in off auto; do
    run $v train --train-data "$data/train.jsonl" --workers 0 --init-vision "$tower" --init-text random \
        -b "$batch" --steps "$steps" --warmup 10 --lr "$lr" --min-lr 1e-5 --wd 0.05 --mask-ratio 0.5 \
        --unmasked-steps "$unmasked" --drop-path 0.05 --temp-init 0.07 --positives label --seed 0 \
        --balance "$mode" --log-every 25 -t "$threads" --out "$out/$mode" > "$out/$mode.log"
    evaluate "balance_$mode" "$out/$mode/model.safetensors"
    awk -v m="$mode" -v last="$steps" 'BEGIN { FS = "[{,:}]" } { for (i = 1; i < NF; i++) f[$i] = $(i + 1) }
        f["\"step\""] % 25 == 0 || f["\"step\""] == last { print m, f["\"step\""], f["\"loss\""], f["\"update_ratio_vision\""],
        f["\"update_ratio_text\""], f["\"lr_mult_vision\""], f["\"lr_mult_text\""] }' OFS='\t' \
        "$out/$mode/train_log.jsonl" >> "$out/curves.tsv"
done
