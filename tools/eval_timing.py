#!/usr/bin/env python3
"""Per-method time from `camlens eval` rows: mean ms per image and images per second.

    python3 tools/eval_timing.py [--rows FIRST:END] results/imagenet-val-seven/rows.csv [...]

--rows takes a slice of each file's rows (0-based, END exclusive, either may be left out): the
rows of one stretch of a run that grew over several sessions, machines or versions.

The times are each method's own work on the image (the shared forward and backward pass is
counted in the first gradient method), as the run measured them: they depend on the machine and
on what else ran beside it.
"""
import csv
import sys

args = sys.argv[1:]
first, end = None, None
if args[:1] == ["--rows"]:
    a, b = args[1].split(":")
    first, end = (int(a) if a else None), (int(b) if b else None)
    args = args[2:]
for path in args:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))[first:end]
    methods = [k[: -len(":ms")] for k in rows[0] if k.endswith(":ms")] if rows else []
    print(f"{path}: {len(rows)} images")
    total = 0.0
    for m in methods:
        ms = sum(float(r[f"{m}:ms"]) for r in rows) / len(rows)
        total += ms
        print(f"  {m:14s} {ms:10.1f} ms/image  {1000.0 / ms if ms else float('inf'):8.3f} images/s")
    if methods:
        print(f"  {'all':14s} {total:10.1f} ms/image  {1000.0 / total:8.3f} images/s")
