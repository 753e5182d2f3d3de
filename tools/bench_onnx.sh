#!/usr/bin/env bash
# The ONNX interpreter against the native path on the same ResNet-18 (seeded torchvision
# weights, exported both ways), one after the other in one run on this machine. Needs:
# cargo build --release; pip install torch torchvision onnx onnxruntime.
# Writes bench/ours-cpu-onnx-resnet18.json; also prints the agreement with onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench out/onnx
[ -f out/onnx/resnet18.onnx ] || python3 tools/export_torchvision.py out/onnx resnet18
./target/release/camlens --device cpu bench --model out/onnx/resnet18.pth --model out/onnx/resnet18.onnx \
  --methods gradcam,gradcam++,xgradcam,layercam,scorecam++ --runs ${RUNS:-3} \
  --json bench/ours-cpu-onnx-resnet18.json > /dev/null
python3 tools/onnx_reference.py out/onnx/resnet18.onnx
cargo run --release --example onnx_check -- out/onnx/resnet18.onnx
