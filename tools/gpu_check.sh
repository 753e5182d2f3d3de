#!/usr/bin/env bash
# Runs on the lent GPU machine (see ../shared/docs/gpu.md): nothing is built there. Carries what
# tools/gpu_prepare.sh made: .gpu/camlens.xz (the `gpu-vulkan` release binary), .gl (Vulkan/GL
# loader debs), .whl (grad-cam, ttach, torchcam wheels), .gpudata/images (ImageNet photos).
# Writes every figure to $OUT, in one run, ours and the peers' side by side (issue 15):
#   1. the device line: compiler (SPIR-V), precision, tensor cores;
#   2. launch to first heatmap, with an empty kernel cache and again with the cache it left;
#   3. every method on Lite0 and ResNet-18 at `auto` precision, and ScoreCAM++ at f32;
#   4. f16 against f32 over the photos, every method (class, map correlation, Average Drop);
#   5. pytorch-grad-cam and torch-cam on the same GPU, and the ratios.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
. tools/device_setup.sh
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
# The kernel cache lives in the platform's cache folder: an empty one for the first launch.
export XDG_CACHE_HOME=/tmp/camlens-cache
rm -rf "$XDG_CACHE_HOME"
W=/tmp/resnet18-formula.safetensors
python3 tools/write_formula_weights.py $W >/dev/null
M=gradcam,gradcam++,xgradcam,layercam,scorecam,scorecam-pgc,scorecam++,auggradcam++
S=assets/samples/chelsea.png
launch() {
  local t0 t1
  t0=$(date +%s.%N)
  timeout "$2" $B --device gpu explain $S --methods gradcam --out /tmp/launch-$1 --overwrite > /dev/null 2>> "$OUT/launch.log"
  t1=$(date +%s.%N)
  echo "$1 launch to first heatmap (process start to GradCAM PNG written): $(python3 -c "print(round($t1 - $t0, 2))") s" | tee -a "$OUT/launch.txt"
}
{
  launch first 90
  du -sh "$XDG_CACHE_HOME" 2>&1
  launch second 40
  echo "== bench lite0 (auto precision)"
  timeout 100 $B --device gpu bench --image $S --model lite0 --methods $M --runs 2 --json "$OUT/ours-gpu-lite0.json" > /dev/null
  echo "== bench resnet18 (auto precision)"
  timeout 100 $B --device gpu bench --image $S --model $W --methods $M --runs 2 --json "$OUT/ours-gpu-resnet18.json" > /dev/null
  echo "== bench resnet18 scorecam++ and the gradient methods at f32"
  timeout 50 $B --device gpu --precision f32 bench --image $S --model $W --methods gradcam,gradcam++,xgradcam,layercam,scorecam++ --runs 2 --json "$OUT/ours-gpu-resnet18-f32.json" > /dev/null
  echo "== f16 against f32, Lite0, every method"
  timeout 130 $B --device gpu --precision f16 precision-check .gpudata/images --seconds 100 --methods all --json "$OUT/precision-f16-lite0.json" > "$OUT/precision-f16-lite0.md"
} > "$OUT/ours.log" 2>&1
{
  timeout 70 python3 tools/bench_peers.py --device cuda --model lite0 --runs 3 --scorecam-runs 3 --out "$OUT/peers-gpu-lite0.json"
  timeout 70 python3 tools/bench_peers.py --device cuda --model resnet18 --weights $W --runs 3 --scorecam-runs 3 --out "$OUT/peers-gpu-resnet18.json"
} > "$OUT/peers.log" 2>&1
for m in lite0 resnet18; do
  echo "## $m"; python3 tools/compare_bench.py "$OUT/ours-gpu-$m.json" "$OUT/peers-gpu-$m.json"
done > "$OUT/compare.md" 2>&1
cat "$OUT/gpu.txt" "$OUT/launch.txt" "$OUT/ours.log" "$OUT/precision-f16-lite0.md" "$OUT/compare.md"
