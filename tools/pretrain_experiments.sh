#!/usr/bin/env bash
# Issue 12's multi-stage experiment on the synthetic set (demo model config, the demo's recipe):
# the same total number of optimizer steps, from random weights,
#   (ii)  MAE pretraining, then contrastive         PRE + (TOTAL - PRE) steps
#   (i)   contrastive only                          TOTAL steps
#   (iii) UMT pretraining (teacher: TEACHER, e.g. a `viclip demo` model), then contrastive
#   (iv)  contrastive only, TOTAL - PRE steps       (what (ii)/(iii) get without pretraining)
# Each contrastive stage is `viclip train` with `viclip demo`'s settings, evaluated as the demo
# evaluates (retrieval on held-out clips, zero-shot top-1 on held-out attribute combinations),
# in frame order and with shuffled frames. One run at a time; results in OUT/results.tsv.
# The pretrained arms take the video tower alone (--init-vision, --init-text random): the text
# tower and the temperature then start as in (i), from the same seed.
# Usage: tools/pretrain_experiments.sh OUT_DIR TEACHER [TOTAL] [PRE] [BATCH] [UNMASKED] [N_TRAIN] [THREADS]
set -eu
out=$1; teacher=$2; total=${3:-100}; pre=${4:-40}; batch=${5:-24}; unmasked=${6:-20}; ntrain=${7:-1500}
threads=${8:-2}
rest=$((total - pre))
. "$(dirname "$0")/demo_recipe.sh"
pretrain() { run $v pretrain --train-data "$data/train.jsonl" --steps "$pre" --batch-size "$batch" --warmup 10 \
    --lr 1e-3 -t "$threads" --log-every 10 "$@"; }
pretrain --objective mae --out "$out/mae" > "$out/mae.log"
train --init-vision "$out/mae/model.safetensors" --init-text random --steps "$rest" --out "$out/ii" > "$out/ii.log"
evaluate "ii_mae_then_contrastive" "$out/ii/model.safetensors"
train --steps "$total" --out "$out/i" > "$out/i.log"
evaluate "i_contrastive_only" "$out/i/model.safetensors"
pretrain --objective umt --teacher "$teacher" --out "$out/umt" > "$out/umt.log"
train --init-vision "$out/umt/model.safetensors" --init-text random --steps "$rest" --out "$out/iii" > "$out/iii.log"
evaluate "iii_umt_then_contrastive" "$out/iii/model.safetensors"
train --steps "$rest" --out "$out/iv" > "$out/iv.log"
evaluate "iv_contrastive_only_short" "$out/iv/model.safetensors"
