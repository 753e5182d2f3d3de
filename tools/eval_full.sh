#!/usr/bin/env bash
# The faithfulness tables of docs/faithfulness.md: the built-in model on every image of ../shared/data's
# imagenet-val (1300) and cats-dogs (1000). Each run appends to results/*/rows.csv and carries
# on where the committed rows stop (--resume), so it can be stopped and restarted at any time,
# on any machine (rows do not depend on the device beyond float rounding).
#   tools/eval_full.sh [camlens binary] [data folder]
# Set LIMIT_IV / LIMIT_CD to stop at a seeded random subset (the first N of the same order);
# SUMMARIES_ONLY=1 skips the runs and only rewrites the summaries and the tables of docs/faithfulness.md.
set -euo pipefail
B=${1:-target/release/camlens}
DATA=${2:-../shared/data}
DEVICE=${DEVICE:-auto}
IV=(--labels "$DATA/imagenet-val/labels.csv")
CD=(--folders "$DATA/cats-dogs" --group cat=281-285 --group dog=151-268)
GRADIENT=gradcam,gradcam++,xgradcam,layercam
MORE=$GRADIENT,hirescam,gradcam-elementwise,eigengradcam,finercam,shapleycam,eigencam,kpcacam,fem,randomcam,ablationcam

if [ -z "${SUMMARIES_ONLY:-}" ]; then
# The four gradient methods on every image (minutes on a CPU).
$B --device "$DEVICE" eval "${IV[@]}" --methods $GRADIENT --out results/imagenet-val-gradient --resume
$B --device "$DEVICE" eval "${CD[@]}" --methods $GRADIENT --out results/cats-dogs-gradient --resume
# The paper's seven methods, in a seeded random order (~24 s per image per core on a 2-core CPU;
# a lent GPU machine, which cannot see ../shared, gets the missing images in parts:
# tools/eval_device_data.py, tools/eval_device.sh).
$B --device "$DEVICE" eval "${IV[@]}" --limit "${LIMIT_IV:-1300}" --seed 0 --out results/imagenet-val-seven --resume
$B --device "$DEVICE" eval "${CD[@]}" --limit "${LIMIT_CD:-1000}" --seed 0 --out results/cats-dogs-seven --resume
# The methods added beyond the paper's (issue 28), without the score family: ~12 min on a CPU.
$B --device "$DEVICE" eval "${IV[@]}" --limit 1300 --seed 0 --methods $MORE --out results/imagenet-val-more --resume
# Deletion and insertion (RISE) beside the paper's metrics, the same seeded order (2 × 225 more
# forward passes per map: ~1.5 min per image on the 2-core AMD EPYC, 2026-11-29).
$B --device "$DEVICE" eval "${IV[@]}" --limit "${LIMIT_RISE:-100}" --seed 0 --metrics paper,deletion,insertion --out results/rise --resume
fi

# Summaries from the rows (also after a run stopped early): softmax probabilities, and logits as
# the authors' code scores; then docs/faithfulness.md's tables (tools/results_readme.py).
for d in imagenet-val cats-dogs; do
  for m in gradient seven; do
    [ "$m" = gradient ] && methods=(--methods $GRADIENT) || methods=()
    $B eval merge "${methods[@]}" --out results/$d-$m results/$d-$m/rows.csv
    $B eval merge "${methods[@]}" --score logit --out results/$d-$m/logit results/$d-$m/rows.csv
  done
done
$B eval merge --methods $MORE --out results/imagenet-val-more results/imagenet-val-more/rows.csv
$B eval merge --methods $MORE --score logit --out results/imagenet-val-more/logit results/imagenet-val-more/rows.csv
$B eval merge --out results/rise results/rise/rows.csv
python3 tools/results_readme.py
