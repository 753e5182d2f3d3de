#!/usr/bin/env bash
# Times the README's first build from a clean build folder: `cargo build --release --timings
# --bin camlens` (what `cargo run --release` compiles) into a new, empty target folder, then
# prints the wall time, the compile time summed over crates, and the slowest crates, from cargo's
# timing report (kept beside it: <folder>/cargo-timings/cargo-timing.html).
#
#   tools/build_timing.sh [folder]      # default /tmp/camlens-build-timing; about 20 min on 2 cores
#
# The crates must already be downloaded (or the network reachable): download time is not build time.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-/tmp/camlens-build-timing}"
rm -rf "$DIR"
cargo fetch --locked
start=$(date +%s)
CARGO_TARGET_DIR="$DIR" cargo build --release --locked --timings --bin camlens
echo "wall: $(( $(date +%s) - start )) s on $(nproc) cores"
python3 - "$DIR"/cargo-timings/cargo-timing.html <<'PY'
import json, re, sys
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", open(sys.argv[1]).read(), re.S).group(1))
total = sum(u["duration"] for u in units)
print(f"compile time summed over {len(units)} units: {total:.0f} s")
for u in sorted(units, key=lambda u: -u["duration"])[:15]:
    print(f"{u['duration']:7.1f} s  {u['name']} {u['version']}{u['target']}")
PY
