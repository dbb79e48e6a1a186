#!/usr/bin/env bash
# Issue 12's fine-tuning experiment on the synthetic set: a `viclip demo` model classified
#   zero-shot       (its text tower's class prompts, no training)
#   linear probe    (the video tower frozen, the head trained from the prompts)
#   fine-tuned      (`viclip finetune` at its defaults: tower + head)
# with the probe and the fine-tuning at the same budget: STEPS steps of BATCH clips each, from the
# demo's 4000 training clips (60 seen attribute combinations). Test clips: a second synthetic set
# drawn with another generator seed (fresh clips of the same 60 combinations, 20 each); the
# held-out combinations' clips (unseen in training) are scored too. Every run is repeated for
# each SEED (the data order and drop-path; the test set and the demo model stay the same).
# One run at a time; results in OUT/results.tsv (name, settings, JSON on the seen-combination test
# clips, JSON on the unseen combinations), the commands in OUT/commands.txt.
# Usage: tools/finetune_experiment.sh OUT_DIR DEMO_DIR [STEPS] [BATCH] [PROBE_LR] [THREADS] [SEED...]
#   DEMO_DIR: a `viclip demo --out DEMO_DIR` run (model.safetensors and data/); made if missing.
set -eu
out=$1; demo=$2; steps=${3:-100}; batch=${4:-32}; probe_lr=${5:-5e-3}; threads=${6:-2}
shift $(($# < 6 ? $# : 6))
seeds=${*:-0}
v=${VICLIP:-build/viclip}
mkdir -p "$out"
run() { echo "+ $*" >> "$out/commands.txt"; "$@"; }
[ -f "$demo/model.safetensors" ] || run $v demo --out "$demo" -t "$threads" > "$out/demo.log"
data="$demo/data"; test="$out/test/train.jsonl"
[ -f "$test" ] || run $v synth "$out/test" --n-train 1200 --seed 7 -t "$threads" > /dev/null
score() { # name settings model [eval options for a model without a head]
    local name=$1 what=$2 model=$3 s u; shift 3
    s=$(run $v eval classify --model "$model" --annotations "$test" "$@" --json -t "$threads")
    u=$(run $v eval classify --model "$model" --annotations "$data/heldout.jsonl" "$@" --json -t "$threads")
    printf '%s\t%s\t%s\t%s\n' "$name" "$what" "$s" "$u" >> "$out/results.tsv"
}
score zeroshot "no training" "$demo/model.safetensors" --labels "$data/classes.txt" --templates "$data/templates.txt"
for seed in $seeds; do
    ft() { # name options
        local name=$1; shift
        run $v finetune --init "$demo/model.safetensors" --train-data "$data/train.jsonl" --labels "$data/classes.txt" \
            --templates "$data/templates.txt" --steps "$steps" -b "$batch" --seed "$seed" --log-every 50 -t "$threads" \
            --out "$out/$name" "$@" > "$out/$name.log"
        score "$name" "$steps x $batch $*" "$out/$name/model.safetensors"
    }
    ft "probe_s$seed" --linear-probe --lr "$probe_lr"
    ft "finetune_s$seed"
done
