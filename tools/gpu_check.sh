#!/usr/bin/env bash
# Runs on the lent GPU machine (see ../shared/docs/gpu.md): nothing is built there. Carries:
# .gpu/camlens.xz (stripped release binary), .gl (Vulkan/GL loader debs), .whl (grad-cam, ttach,
# torchcam wheels). Writes every figure to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
. tools/device_setup.sh
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
W=/tmp/resnet18-formula.safetensors
python3 tools/write_formula_weights.py $W >/dev/null
M=gradcam,gradcam++,xgradcam,layercam,scorecam,scorecam-pgc,scorecam++,auggradcam++
{
  echo "== predict (first run compiles shaders)"
  time $B --device gpu predict assets/samples/chelsea.png assets/samples/coffee.png --top 3
  echo "== bench lite0"
  timeout 130 $B --device gpu bench --image assets/samples/chelsea.png --model lite0 --methods $M --runs 2 --json "$OUT/ours-gpu-lite0.json" >/dev/null
  echo "== bench resnet18"
  timeout 130 $B --device gpu bench --image assets/samples/chelsea.png --model $W --methods $M --runs 2 --json "$OUT/ours-gpu-resnet18.json" >/dev/null
} > "$OUT/ours.log" 2>&1
{
  timeout 80 python3 tools/bench_peers.py --device cuda --model lite0 --runs 3 --scorecam-runs 3 --out "$OUT/peers-gpu-lite0.json"
  timeout 80 python3 tools/bench_peers.py --device cuda --model resnet18 --weights $W --runs 3 --scorecam-runs 3 --out "$OUT/peers-gpu-resnet18.json"
} > "$OUT/peers.log" 2>&1
for m in lite0 resnet18; do
  echo "## $m"; python3 tools/compare_bench.py "$OUT/ours-gpu-$m.json" "$OUT/peers-gpu-$m.json"
done > "$OUT/compare.md" 2>&1
cat "$OUT/gpu.txt" "$OUT/ours.log" "$OUT/compare.md"
