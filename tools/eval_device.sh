#!/usr/bin/env bash
# Runs on the lent GPU machine (../shared/docs/gpu.md): the seven-method evaluation of one part of
# the images prepared by tools/eval_device_data.py, for at most SECONDS, then the rows to $OUT.
#   tools/eval_device.sh p1 SECONDS
# Carries: .gl (Vulkan/GL loader debs), .gpu/camlens.xz (stripped release binary; its embedded
# weights may be zeroed to save transfer, the model is read from models/ instead, which gives the
# same numbers), .evaldata/PART. Nothing is built there.
# Several processes share the GPU (each image's passes are small; one process leaves it idle
# while it decodes, warps and scores), each a --shard of the part, with the built-in `--shard`
# bookkeeping. Without a hardware GPU the same runs go to the CPU cores, one thread each.
# Rows come back as $OUT/PART-iv.csv and $OUT/PART-cd.csv; here,
# `python3 tools/eval_device_data.py --merge FILES…` adds them to results/*-seven/rows.csv.
set -uo pipefail
PART=$1
SECONDS_LEFT=${2:-300}
OUT=${OUT:-/tmp/out}
P=.evaldata/$PART
END=$(($(date +%s) + SECONDS_LEFT))
mkdir -p "$OUT" /tmp/eval-logs
LOG=$OUT/$PART.log
. tools/device_setup.sh
W=models/efficientnet-lite0-57934424.pth
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  grep -m1 'model name' /proc/cpuinfo
  echo "cores: $(nproc)"
  echo "part $PART: $(tail -n +2 $P/iv/labels.csv | wc -l) imagenet-val, $(find $P/cd -type f | wc -l) cats-dogs"
} > "$LOG" 2>&1
DEVICE=${EVAL_DEVICE:-}
if [ -z "$DEVICE" ]; then
  # The app's own device report: a hardware adapter, not llvmpipe.
  report=$($B --device gpu layers --model $W 2>&1 | grep '^device:')
  echo "$report" >> "$LOG"
  case $report in *GPU*software*|'') DEVICE=cpu ;; *GPU*) DEVICE=gpu ;; *) DEVICE=cpu ;; esac
fi
if [ "$DEVICE" = gpu ]; then K=${EVAL_PROCS:-3}; T=2; else K=$(($(nproc) / 2)); T=1; fi
echo "device $DEVICE, $K processes per data set, $T threads each" >> "$LOG"
IV=(--labels $P/iv/labels.csv --images $P/iv/images)
CD=(--folders $P/cd --group cat=281-285 --group dog=151-268)
for ds in iv cd; do
  for ((i = 0; i < K; i++)); do
    [ $ds = iv ] && args=("${IV[@]}") || args=("${CD[@]}")
    RAYON_NUM_THREADS=$T timeout $((END - $(date +%s))) $B --device $DEVICE eval --model $W \
      "${args[@]}" --shard $i/$K --resume --out /tmp/eval-rows/$PART-$ds \
      > /tmp/eval-logs/$PART-$ds-$i.log 2>&1 &
  done
done
wait
for f in /tmp/eval-logs/$PART-*.log; do
  echo "== $(basename $f): $(tr '\r' '\n' < $f | grep -v '^\s*$' | tail -n 2 | tr '\n' ' ')"
done >> "$LOG"
# A process stopped at the deadline leaves whole rows only (each is written and flushed at once);
# the field count guards against anything else.
for ds in iv cd; do
  files=(/tmp/eval-rows/$PART-$ds/rows-shard-*.csv)
  [ -f "${files[0]}" ] || continue
  head -n 1 "${files[0]}" > "$OUT/$PART-$ds.csv"
  tail -q -n +2 "${files[@]}" | awk -F, 'NF == 39' >> "$OUT/$PART-$ds.csv"
  echo "$ds: $(($(wc -l < "$OUT/$PART-$ds.csv") - 1)) rows" >> "$LOG"
done
cat "$LOG"
