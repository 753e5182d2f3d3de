#!/usr/bin/env bash
# On the build machine, before a lent GPU session (../shared/docs/gpu.md): everything
# tools/gpu_check.sh carries, in folders git ignores. Builds the GPU binary (cargo feature
# `gpu-vulkan`: SPIR-V with tensor cores, kernel cache on disk; ~47 min the first time, minutes
# after), strips and compresses it; downloads the Vulkan/GL loader packages and the peers' wheels;
# copies the first N ImageNet validation photos for the precision check. Then, on the device:
#   run(command="OUT=$OUT bash tools/gpu_check.sh", carry=[".gpu", ".gl", ".whl", ".gpudata"])
set -euo pipefail
N=${N:-150}
cargo build --release --features gpu-vulkan
mkdir -p .gpu .gl .whl .gpudata/images
strip -o .gpu/camlens target/release/camlens
xz -T2 -6 -f .gpu/camlens
# The default build again, for everything else here (only the camlens crate recompiles).
cargo build --release
(cd .gl && apt-get download -oAPT::Architecture=amd64 libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
pip download --no-deps grad-cam ttach torchcam -d .whl
# Listed whole first: `ls | head` fails under pipefail when head closes the pipe early (SIGPIPE).
mapfile -t photos < <(ls ../shared/data/imagenet-val/images)
for f in "${photos[@]:0:N}"; do
  cp "../shared/data/imagenet-val/images/$f" .gpudata/images/
done
du -sh .gpu .gl .whl .gpudata
