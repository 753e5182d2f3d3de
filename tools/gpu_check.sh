#!/usr/bin/env bash
# Runs on the lent GPU machine (see ../shared/docs/gpu.md): nothing is built there. Carries what
# tools/gpu_prepare.sh made: .gpu/camlens.xz (the `gpu-vulkan` release binary, its built-in weights
# zeroed: Lite0 is read from models/), .gl (Vulkan/GL
# loader debs), .whl (grad-cam, ttach, torchcam wheels), .gpudata/images (ImageNet photos).
# Writes every figure to $OUT, in one run, ours and the peers' side by side; the timeouts add up
# to 540 s, under one call's 600 (a step that runs out loses only its figures):
#   1. the device line: compiler (SPIR-V), precision, tensor cores;
#   2. launch to first heatmap, with an empty kernel cache and again with the cache it left;
#   3. every method on Lite0 and ResNet-18 at `auto` precision, and ScoreCAM++ at f32;
#   4. f16 against f32 over the photos, every method (class, map correlation, Average Drop);
#   5. pytorch-grad-cam and torch-cam on the same GPU, and the ratios;
#   6. device parity: every method at f32 on every kind of model (built-in, torchvision, ONNX)
#      against the CPU's maps made on the build machine (tools/parity_maps.sh, device_parity.py).
# Steps are ordered by what matters most (goals first), so that running out of time loses the last.
# A dry run on the build machine checks every command line on the CPU, with short budgets:
#   DRY_RUN=1 B=target/release/camlens OUT=/tmp/gpu-dry bash tools/gpu_check.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
M=gradcam,gradcam++,xgradcam,layercam,scorecam,scorecam-pgc,scorecam++,auggradcam++
if [ -n "${DRY_RUN:-}" ]; then
  # The CPU has no time for the score methods here (f16 on the CPU: ~0.5 s a forward pass).
  DEV=cpu PDEV=cpu K=10 M=gradcam,layercam SPP=gradcam PM=gradcam PS=pgc:scorecam,torchcam:scorecam
else
  DEV=gpu PDEV=cuda K=1 SPP=scorecam++ PM=all PS=
  . tools/device_setup.sh
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
# The kernel cache lives in the platform's cache folder: an empty one for the benches too, so
# that their warm-up figures are a first launch's.
export XDG_CACHE_HOME=/tmp/camlens-cache
rm -rf "$XDG_CACHE_HOME"
W=/tmp/resnet18-formula.safetensors
python3 tools/write_formula_weights.py $W >/dev/null
S=assets/samples/chelsea.png
# The carried binary's built-in weights are zeroed to fit the transfer (tools/zero_builtin_weights.py):
# Lite0 is read from its weights file, which gives the same model and numbers.
L=models/efficientnet-lite0-57934424.pth
{
  echo "== launch to first heatmap (process start to GradCAM PNG written), empty then filled kernel cache"
  B=$B DEVICE=$DEV MODEL=$L PHOTO=$S OUT=$OUT CACHES=on TIMEOUT=40 bash tools/kernel_cache_timing.sh
  echo "== bench lite0 (auto precision)"
  timeout 60 $B --device $DEV bench --image $S --model $L --methods $M --runs 2 --json "$OUT/ours-gpu-lite0.json" > /dev/null
  echo "== bench resnet18 (auto precision)"
  timeout 60 $B --device $DEV bench --image $S --model $W --methods $M --runs 2 --json "$OUT/ours-gpu-resnet18.json" > /dev/null
  echo "== bench resnet18 scorecam++ and the gradient methods at f32"
  timeout 30 $B --device $DEV --precision f32 bench --image $S --model $W --methods gradcam,gradcam++,xgradcam,layercam,$SPP --runs 2 --json "$OUT/ours-gpu-resnet18-f32.json" > /dev/null
  for bs in 128 512; do
    echo "== resnet18 and lite0 scorecam++ at auto precision, $bs masked inputs per pass (default: at most 64)"
    timeout 20 $B --device $DEV bench --image $S --model $W --methods $SPP --batch-size $bs --runs 2 --json "$OUT/ours-gpu-resnet18-batch$bs.json" > /dev/null
    timeout 20 $B --device $DEV bench --image $S --model $L --methods $SPP --batch-size $bs --runs 2 --json "$OUT/ours-gpu-lite0-batch$bs.json" > /dev/null
  done
} > "$OUT/ours.log" 2>&1
{
  timeout 55 python3 tools/bench_peers.py --device $PDEV --model lite0 --runs 3 --scorecam-runs 3 --skip "$PS" --out "$OUT/peers-gpu-lite0.json"
  timeout 55 python3 tools/bench_peers.py --device $PDEV --model resnet18 --weights $W --runs 3 --scorecam-runs 3 --skip "$PS" --out "$OUT/peers-gpu-resnet18.json"
} > "$OUT/peers.log" 2>&1
for m in lite0 resnet18; do
  echo "## $m"; python3 tools/compare_bench.py "$OUT/ours-gpu-$m.json" "$OUT/peers-gpu-$m.json"
done > "$OUT/compare.md" 2>&1
{
  echo "== device parity: every method at f32, $DEV against the CPU maps of the build machine"
  python3 tools/refill_onnx.py --write-data .gpudata/onnx
  B=$B DEVICE=$DEV W=$W LITE0=$L OUT=/tmp/parity TIMEOUT=25 bash tools/parity_maps.sh
  python3 tools/device_parity.py .gpudata/cpu-maps /tmp/parity --json "$OUT/parity.json" > "$OUT/parity.md"
  echo "== f16 against f32, Lite0, every method"
  timeout 60 $B --device $DEV --precision f16 precision-check --model $L .gpudata/images --seconds $((45 / K)) --limit $((200 / K)) --methods $PM --json "$OUT/precision-f16-lite0.json" > "$OUT/precision-f16-lite0.md"
} >> "$OUT/ours.log" 2>&1
cat "$OUT/gpu.txt" "$OUT/ours.log" "$OUT/compare.md" "$OUT/parity.md" "$OUT/precision-f16-lite0.md"
