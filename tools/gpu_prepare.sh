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
# The GPU build's CPU path is the default build's (flex): its maps are the CPU's. Only the raw
# maps travel (the overlays and the normalised maps would not fit beside the binary).
B=.gpu/camlens DEVICE=cpu W=$W OUT=.gpudata/cpu-maps bash tools/parity_maps.sh
find .gpudata/cpu-maps \( -name '*.png' -o -name '*.npy' ! -name '*.raw.npy' \) -delete
# The data files are written again there from their manifests: only the graphs travel.
rm .gpudata/onnx/*.onnx.data
# The working tree and everything carried must stay under 64 MiB: the built-in weights (18 MB
# that do not compress) are zeroed, and gpu_check.sh reads Lite0 from models/ instead.
python3 tools/zero_builtin_weights.py .gpu/camlens "$(ls target/release/build/camlens-*/out/lite0.safetensors | head -n1)"
xz -T2 -6 -f .gpu/camlens
du -sh .gpu .gl .whl .gpudata
# Only what gpu_check.sh reads travels beside the carried folders (tools/, assets/, models/):
# before the run, hide the rest of the tree from the copy, and restore it after:
#   for d in src tests screenshots results bench docs examples Cargo.lock BENCHMARKS.md; do
#     echo "/$d" >> .git/info/exclude; git rm -r -q --cached "$d"; done
#   ... run ...;  git reset -q && sed -i '/^\//d' .git/info/exclude
# The default build again, for everything else here.
cargo build --release
