#!/usr/bin/env bash
# The ONNX interpreter against the native path on the same model, one after the other in one
# run on this machine: ResNet-18 (seeded torchvision weights, exported both ways) and the
# built-in EfficientNet-Lite0 (its shipped weights, tools/export_lite0_onnx.py); MODELS picks
# (default: both): the gradient
# methods over 101 runs (they take 15–80 ms, and this VM varies by tens of percent between runs), ScoreCAM++ over RUNS (3).
# Needs: cargo build --release; pip install torch torchvision onnx onnxruntime.
# Writes bench/ours-cpu-onnx-{resnet18,lite0}-{gradient,score}.json; also prints the agreement with
# onnxruntime. Then: python3 tools/bench_report.py > BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench out/onnx
for m in ${MODELS:-resnet18 lite0}; do
  case $m in
    resnet18)
      [ -f out/onnx/resnet18.onnx ] || python3 tools/export_torchvision.py out/onnx resnet18
      native=out/onnx/resnet18.pth ;;
    lite0)
      [ -f out/onnx/lite0.onnx ] || python3 tools/export_lite0_onnx.py out/onnx/lite0.onnx
      native=lite0 ;;
  esac
  B="${CARGO_TARGET_DIR:-target}/release/camlens --device cpu bench --model $native --model out/onnx/$m.onnx"
  $B --methods gradcam,gradcam++,xgradcam,layercam --runs 101 \
    --json bench/ours-cpu-onnx-$m-gradient.json > /dev/null
  $B --methods scorecam++ --runs ${RUNS:-3} --json bench/ours-cpu-onnx-$m-score.json > /dev/null
  python3 tools/onnx_reference.py out/onnx/$m.onnx
  cargo run --release --example onnx_check -- out/onnx/$m.onnx
done
