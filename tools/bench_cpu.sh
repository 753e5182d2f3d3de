#!/usr/bin/env bash
# Ours and the peers, one after the other on this machine, for Lite0 and ResNet-18 (formula
# weights: speed does not depend on the values). Needs: cargo build --release; pip install torch
# torchvision grad-cam torchcam safetensors. Writes bench/*-cpu-*.json and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench out
W=out/resnet18-formula.safetensors
[ -f $W ] || python3 tools/write_formula_weights.py $W
B=./target/release/camlens
M=gradcam,gradcam++,xgradcam,layercam,scorecam,scorecam-pgc,scorecam++
$B --device cpu bench --model lite0 --methods $M --runs ${RUNS:-3} --json bench/ours-cpu-lite0.json > /dev/null
$B --device cpu bench --model $W --methods $M --runs ${RUNS:-3} --json bench/ours-cpu-resnet18.json > /dev/null
python3 tools/bench_peers.py --device cpu --model lite0 --runs ${RUNS:-3} --out bench/peers-cpu-lite0.json
python3 tools/bench_peers.py --device cpu --model resnet18 --weights $W --runs ${RUNS:-3} --out bench/peers-cpu-resnet18.json
for m in lite0 resnet18; do
  echo "## $m"
  python3 tools/compare_bench.py bench/ours-cpu-$m.json bench/peers-cpu-$m.json
done
