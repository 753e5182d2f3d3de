#!/usr/bin/env bash
# The ranking of every method (issue 28) on ../shared/data's imagenet-val, for two real models:
# the built-in Lite0 and torchvision's MobileNetV2 with its ImageNet weights (exported by
# tools/export_mobilenet_v2.py into $MNV2_DIR). Each run appends to results/*/rows.csv and
# resumes where the committed rows stop, in seed 0's order, so it can be stopped and restarted
# anywhere; LIMIT_* caps a run at the first N images of that order (the slow methods cost
# minutes per image on a CPU). Then tools/ranking.py writes docs/ranking.md and its chart.
#   tools/eval_methods.sh [camlens binary] [data folder]
set -euo pipefail
B=${1:-target/release/camlens}
DATA=${2:-../shared/data}
MNV2=${MNV2_DIR:-../mobilenet_v2}/mobilenet_v2.onnx
IV=(--labels "$DATA/imagenet-val/labels.csv" --seed 0 --resume)
# SS-CAM and IS-CAM with 2 samples per channel, not their 35 and 10 (as the benches run them):
# 35 cost about seven minutes an image on Lite0 on 2 cores. Stated beside the ranking.
SAMPLES=(--score-samples "${SCORE_SAMPLES:-2}")
# The methods that cost a forward and backward pass or two per image.
FAST=gradcam,gradcam++,xgradcam,layercam,hirescam,gradcam-elementwise,eigengradcam,finercam,shapleycam,cam,eigencam,kpcacam,fem,randomcam,ablationcam,refinecam
# What the Lite0 runs of tools/eval_full.sh do not have yet.
LITE0_NEW=refinecam,dff
# Layer-free and pixel-level: a backward pass through the whole network (and GradCAM's).
WHOLE=fullgrad,guided-backprop,guided-gradcam
# A forward pass per channel (and sample), per window or per augmented copy.
SLOW=scorecam,scorecam-pgc,scorecam++,auggradcam++,smoothgradcam++,sess,iscam,sscam
# What the Lite0 runs of tools/eval_full.sh have not run among those.
LITE0_SLOW=scorecam-pgc,smoothgradcam++,sess,iscam,sscam

if [ -z "${SUMMARIES_ONLY:-}" ]; then
$B eval "${IV[@]}" --limit "${LIMIT_LITE0_NEW:-1300}" --methods $LITE0_NEW --out results/imagenet-val-lite0-new
$B eval "${IV[@]}" --model "$MNV2" --limit "${LIMIT_MNV2_FAST:-1300}" --methods $FAST --out results/imagenet-val-mobilenet_v2-fast
$B eval "${IV[@]}" --limit "${LIMIT_WHOLE:-300}" --methods $WHOLE --out results/imagenet-val-lite0-whole
$B eval "${IV[@]}" --model "$MNV2" --limit "${LIMIT_WHOLE:-300}" --methods $WHOLE --out results/imagenet-val-mobilenet_v2-whole
$B eval "${IV[@]}" --limit "${LIMIT_CAM:-1300}" --methods cam --out results/imagenet-val-lite0-cam
$B eval "${IV[@]}" --model "$MNV2" --limit "${LIMIT_MNV2_DFF:-1300}" --methods dff --out results/imagenet-val-mobilenet_v2-dff
$B eval "${IV[@]}" --limit "${LIMIT_SLOW:-10}" "${SAMPLES[@]}" --methods $LITE0_SLOW --out results/imagenet-val-lite0-slow
$B eval "${IV[@]}" --model "$MNV2" --limit "${LIMIT_SLOW:-10}" "${SAMPLES[@]}" --methods $SLOW --out results/imagenet-val-mobilenet_v2-slow
# Every method on the same images with RISE's deletion and insertion curves (two curves of 225
# forward passes per map: about two minutes an image for all the methods on 2 cores).
$B eval "${IV[@]}" --limit "${LIMIT_RISE:-8}" "${SAMPLES[@]}" --methods all --metrics paper,deletion,insertion --out results/imagenet-val-lite0-rise
$B eval "${IV[@]}" --model "$MNV2" --limit "${LIMIT_RISE:-8}" "${SAMPLES[@]}" --methods all --metrics paper,deletion,insertion --out results/imagenet-val-mobilenet_v2-rise
fi
for d in lite0-new lite0-cam mobilenet_v2-fast mobilenet_v2-dff lite0-slow mobilenet_v2-slow lite0-whole mobilenet_v2-whole lite0-rise mobilenet_v2-rise; do
  [ -f results/imagenet-val-$d/rows.csv ] && $B eval merge --out results/imagenet-val-$d results/imagenet-val-$d/rows.csv
done
python3 tools/ranking.py
