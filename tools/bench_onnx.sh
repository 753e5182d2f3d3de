#!/usr/bin/env bash
# The ONNX interpreter against the native path on the same ResNet-18 (seeded torchvision
# weights, exported both ways), one after the other in one run on this machine: the gradient
# methods over 21 runs (they take ~80 ms, so the median needs many), ScoreCAM++ over RUNS (3).
# Needs: cargo build --release; pip install torch torchvision onnx onnxruntime.
# Writes bench/ours-cpu-onnx-resnet18-{gradient,score}.json; also prints the agreement with
# onnxruntime. Then: python3 tools/bench_report.py > BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench out/onnx
[ -f out/onnx/resnet18.onnx ] || python3 tools/export_torchvision.py out/onnx resnet18
B="./target/release/camlens --device cpu bench --model out/onnx/resnet18.pth --model out/onnx/resnet18.onnx"
$B --methods gradcam,gradcam++,xgradcam,layercam --runs 21 \
  --json bench/ours-cpu-onnx-resnet18-gradient.json > /dev/null
$B --methods scorecam++ --runs ${RUNS:-3} --json bench/ours-cpu-onnx-resnet18-score.json > /dev/null
python3 tools/onnx_reference.py out/onnx/resnet18.onnx
cargo run --release --example onnx_check -- out/onnx/resnet18.onnx
