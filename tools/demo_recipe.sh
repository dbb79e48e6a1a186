# Shared by the synthetic-set experiments (sourced, not run): `viclip demo`'s training recipe
# (src/cli/cmd_demo.c) as `viclip train`, with a shorter warmup for short runs, and the demo's
# evaluation, in frame order and with shuffled frames, appended to $out/results.tsv.
# Needs: out, ntrain, batch, unmasked, threads; sets v (the viclip binary: $VICLIP or build/viclip)
# and data (the synthetic set of ntrain training clips, made in $out/data unless already there).
run() { echo "+ $*" >> "$out/commands.txt"; "$@"; }
v=${VICLIP:-build/viclip}
mkdir -p "$out"
[ -f "$out/data/train.jsonl" ] || run $v synth "$out/data" --n-train "$ntrain" -t "$threads" > /dev/null
data="$out/data"
train() { run $v train --train-data "$data/train.jsonl" --workers 0 -m demo -b "$batch" --warmup 10 --lr 1e-3 \
    --min-lr 1e-5 --wd 0.05 --mask-ratio 0.5 --unmasked-steps "$unmasked" --drop-path 0.05 --temp-init 0.07 \
    --positives label --temporal-init-std 0.5 --seed 0 --log-every 20 -t "$threads" "$@"; }
evaluate() { # name model
    local r=() f
    for f in "" --shuffle-frames; do
        r+=("$(run $v eval --model "$2" --annotations "$data/eval.jsonl" --labels "$data/classes.txt" \
            --zeroshot-annotations "$data/heldout.jsonl" --templates "$data/templates.txt" --json -t "$threads" $f)")
    done
    printf '%s\t%s\t%s\n' "$1" "${r[0]}" "${r[1]}" >> "$out/results.tsv"
}
