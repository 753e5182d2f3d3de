#!/usr/bin/env bash
# Launch to the first heatmap on the GPU, at a first and a second launch, with the kernel cache on
# disk and without it (cubecl's persistent autotune cache turned off by CUBECL_AUTOTUNE_CACHE=0),
# each series starting from an empty cache folder (the driver's own shader cache included: it
# lives under XDG_CACHE_HOME too). One `camlens explain` per launch, so the time is the whole
# process: device start, model, compile and tune, the map, the PNG.
#
#   tools/kernel_cache_timing.sh            # target/release/camlens, Lite0 GradCAM, sample photo
#   B=path/to/camlens MODEL=x.onnx METHODS=gradcam,scorecam++ tools/kernel_cache_timing.sh
#   CACHES=on TIMEOUT=45 ...      # only the cached series, each launch capped (tools/gpu_check.sh)
#
# Writes one line per launch to stdout and to ${OUT:-results}/kernel-cache-timing.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-target/release/camlens}
MODEL=${MODEL:-lite0}
METHODS=${METHODS:-gradcam}
PHOTO=${PHOTO:-assets/samples/astronaut.png}
DEVICE=${DEVICE:-gpu}
OUT=${OUT:-results}
CACHES=${CACHES:-off on}
TIMEOUT=${TIMEOUT:-0}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/camlens-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" "$OUT" && chmod 700 "$XDG_RUNTIME_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
report="$OUT/kernel-cache-timing.txt"
{
  echo "# $(date -u +%F) $(uname -m), $(nproc) cores; $("$B" --version 2>/dev/null || echo camlens)"
  echo "# model $MODEL, methods $METHODS, $PHOTO, --device $DEVICE"
} | tee "$report"
for cache in $CACHES; do
  mkdir -p "$work/$cache"
  for launch in first second; do
    start=$(date +%s.%N)
    XDG_CACHE_HOME="$work/$cache" CUBECL_AUTOTUNE_CACHE=$([ $cache = on ] && echo 1 || echo 0) \
      timeout "$TIMEOUT" "$B" --device "$DEVICE" explain --overwrite --model "$MODEL" --methods "$METHODS" \
      --out "$work/maps" "$PHOTO" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    end=$(date +%s.%N)
    device=$(sed -n 's/^device: //p' "$work/log")
    printf 'kernel cache %-3s  %-6s launch  %7.1f s   (%s)\n' "$cache" "$launch" \
      "$(awk "BEGIN { print $end - $start }")" "$device" | tee -a "$report"
  done
done
