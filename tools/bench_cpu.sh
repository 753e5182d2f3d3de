#!/usr/bin/env bash
# Ours and the peers, one after the other on this machine, for Lite0 and ResNet-18 (formula
# weights: speed does not depend on the values). Needs: cargo build --release; pip install torch
# torchvision grad-cam torchcam safetensors. Writes bench/*-cpu-*.json and prints the ratios.
# MODELS="lite0" (or "resnet18", or "vgg16", not run by default) reruns one model only; the
# others' files are kept. METHODS=ablationcam,… times some methods only, into files suffixed
# SUFFIX (e.g. SUFFIX=-ablation), so that the full runs' files stay. SS-CAM and IS-CAM run
# SCORE_SAMPLES (2) samples per channel on both sides, not their 35 and 10: minutes otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench out
W=out/resnet18-formula.safetensors
[ -f $W ] || python3 tools/write_formula_weights.py $W
B=./target/release/camlens
M=${METHODS:-gradcam,gradcam++,xgradcam,layercam,hirescam,gradcam-elementwise,eigengradcam,finercam,shapleycam,eigencam,kpcacam,fem,randomcam,ablationcam,scorecam,scorecam-pgc,scorecam++}
MODELS=${MODELS:-lite0 resnet18}
for m in $MODELS; do
  case $m in
    lite0) spec=lite0; peer=(--model lite0) ;;
    resnet18) spec=$W; peer=(--model resnet18 --weights $W) ;;
    # VGG-16: minutes per ScoreCAM on 2 cores for both sides; MODELS=vgg16 runs it.
    vgg16) V=out/vgg16-formula.safetensors; [ -f $V ] || python3 tools/write_formula_weights.py $V
           spec=$V; peer=(--model vgg16 --weights $V) ;;
    # ViT-B/16 for LeGrad (MODELS=vit_b_16 METHODS=legrad).
    vit_b_16) V=out/vit_b_16-formula.safetensors; [ -f $V ] || python3 tools/write_formula_weights.py $V
           spec=$V; peer=(--model vit_b_16 --weights $V) ;;
  esac
  $B --device cpu bench --model $spec --methods $M --runs ${RUNS:-3} --score-samples ${SCORE_SAMPLES:-2} --json bench/ours-cpu-$m${SUFFIX:-}.json > /dev/null
  python3 tools/bench_peers.py --device cpu "${peer[@]}" --runs ${RUNS:-3} --score-samples ${SCORE_SAMPLES:-2} --only "$M" --out bench/peers-cpu-$m${SUFFIX:-}.json
done
for m in $MODELS; do
  echo "## $m"
  python3 tools/compare_bench.py bench/ours-cpu-$m${SUFFIX:-}.json bench/peers-cpu-$m${SUFFIX:-}.json
done
