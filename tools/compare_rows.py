#!/usr/bin/env python3
"""How far two `camlens eval` runs of the same images differ (e.g. GPU rows against CPU rows).

    python3 tools/compare_rows.py A/rows.csv B/rows.csv

For each score column (`y_prob`, `<method>:o_prob`, …) over the images both files hold: the
largest absolute difference, and the largest difference of the per-image Average Drop term
max(0, y − o)/y in percentage points, the quantity the tables average. Timing columns (`:ms`)
are skipped; the predicted class and the flat-map flag must be equal.
"""
import csv
import sys


def read(path):
    with open(path) as f:
        return {r["image"]: r for r in csv.DictReader(f)}


def main():
    a, b = read(sys.argv[1]), read(sys.argv[2])
    common = sorted(a.keys() & b.keys())
    if not common:
        sys.exit("no image in both files")
    cols = [c for c in next(iter(a.values())) if c not in ("image",) and not c.endswith(":ms")]
    print(f"{len(common)} images in both")
    bad = 0
    for c in cols:
        if c == "class" or c.endswith(":flat"):
            diff = [i for i in common if a[i][c] != b[i][c]]
            bad += len(diff)
            print(f"{c:28} {'equal' if not diff else 'DIFFERS on ' + ', '.join(diff)}")
            continue
        d = max(abs(float(a[i][c]) - float(b[i][c])) for i in common)
        line = f"{c:28} max |a - b| {d:.2e}"
        if c.endswith(":o_prob"):
            def drop(r):
                y, o = float(r["y_prob"]), float(r[c])
                return 100 * max(0.0, y - o) / y
            dd = max(abs(drop(a[i]) - drop(b[i])) for i in common)
            line += f"   Average Drop term: max {dd:.4f} points"
        print(line)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
