#!/usr/bin/env bash
# On the build machine, before a lent GPU session (../shared/docs/gpu.md): everything
# tools/gpu_check.sh carries, in folders git ignores. Builds the GPU binary (cargo feature
# `gpu-vulkan`: SPIR-V with tensor cores, kernel cache on disk; ~47 min the first time, minutes
# after), strips and compresses it; downloads the Vulkan/GL loader packages and the peers' wheels;
# copies the first N ImageNet validation photos for the precision check; writes the ONNX graphs of
# the device-parity check (weights filled there) and this CPU's maps of every method for it
# (tools/parity_maps.sh; needs torch for the ResNet-18 formula weights). Then, on the device:
#   run(command="OUT=$OUT bash tools/gpu_check.sh", carry=[".gpu", ".gl", ".whl", ".gpudata"])
set -euo pipefail
N=${N:-150}
cargo build --release --features gpu-vulkan
mkdir -p .gpu .gl .whl .gpudata/images
strip -o .gpu/camlens target/release/camlens
xz -T2 -6 -k -f .gpu/camlens
(cd .gl && apt-get download -oAPT::Architecture=amd64 libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# grad-cam 1.5.7 comes as a source archive only: made into a wheel here (pure Python).
pip wheel -q --no-deps grad-cam==1.5.7 -w .whl
pip download --no-deps ttach torchcam -d .whl
# Listed whole first: `ls | head` fails under pipefail when head closes the pipe early (SIGPIPE).
mapfile -t photos < <(ls ../shared/data/imagenet-val/images)
for f in "${photos[@]:0:N}"; do
  cp "../shared/data/imagenet-val/images/$f" .gpudata/images/
done
rm -rf .gpudata/onnx .gpudata/cpu-maps
python3 tools/refill_onnx.py efficientnet_b0 timm_vit_tiny_patch16_224 small_cnn --out .gpudata/onnx
python3 tools/refill_onnx.py --write-data .gpudata/onnx
W=/tmp/resnet18-formula.safetensors
python3 tools/write_formula_weights.py $W
# The GPU build's CPU path is the default build's (flex): its maps are the CPU's.
B=.gpu/camlens DEVICE=cpu W=$W OUT=.gpudata/cpu-maps bash tools/parity_maps.sh
# The data files are written again there from their manifests: only the graphs travel.
rm .gpudata/onnx/*.onnx.data .gpu/camlens
du -sh .gpu .gl .whl .gpudata
# The default build again, for everything else here.
cargo build --release
