#!/usr/bin/env bash
# Every method of the registry at f32 on one photo, for each kind of model, as raw maps
# (`camlens explain --raw`): the built-in Lite0, a torchvision ResNet-18 file (formula weights),
# and ONNX graphs (EfficientNet-B0, a timm ViT, a small CNN; tools/refill_onnx.py). Run once with
# --device cpu on the build machine (tools/gpu_prepare.sh) and once with --device gpu on the GPU
# machine (tools/gpu_check.sh); tools/device_parity.py compares the two folders.
#   B=camlens DEVICE=cpu W=resnet18-formula.safetensors OUT=.gpudata/cpu-maps bash tools/parity_maps.sh
set -uo pipefail
B=${B:-target/release/camlens}
DEVICE=${DEVICE:-cpu}
OUT=${OUT:-.gpudata/cpu-maps}
ONNX=${ONNX:-.gpudata/onnx}
PHOTO=${PHOTO:-assets/samples/chelsea.png}
TIMEOUT=${TIMEOUT:-0}
for spec in lite0:${LITE0:-lite0} resnet18:$W efficientnet_b0:$ONNX/efficientnet_b0.onnx \
  vit_tiny:$ONNX/timm_vit_tiny_patch16_224.onnx small_cnn:$ONNX/small_cnn.onnx; do
  name=${spec%%:*}
  mkdir -p "$OUT/$name"
  start=$(date +%s.%N)
  timeout "$TIMEOUT" "$B" --device "$DEVICE" --precision f32 explain --raw --overwrite \
    --model "${spec#*:}" --methods all --out "$OUT/$name" "$PHOTO" > "$OUT/$name/explain.log" 2>&1
  rc=$?
  printf '%s on %s: exit %s, %.1f s\n' "$name" "$DEVICE" $rc "$(awk "BEGIN { print $(date +%s.%N) - $start }")"
done
