"""Compares the maps of one `camlens explain --raw` run on the CPU with the same run on the GPU
(tools/gpu_check.sh): per model and method, the Pearson correlation of the raw maps (at the
layer's resolution, or at input size for the methods that build them there), of the normalised
maps (at input size) where both sides kept them, and the predicted class. The goal is
r >= 0.999 at f32 for every method of the registry on every kind of model.

    python3 tools/device_parity.py CPU_DIR GPU_DIR [--json OUT.json]

Each DIR holds one folder per model, each with `explain.log` (the class line) and the `.npy` maps.
"""
import argparse
import glob
import json
import os
import re

import numpy as np

GOAL = 0.999


def corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if a.shape != b.shape:
        return float("nan")
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        # Two flat maps agree only when they are the same flat value.
        return 1.0 if sa == sb and np.allclose(a, b, rtol=1e-5, atol=1e-7) else 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def classes(d: str) -> str:
    try:
        with open(os.path.join(d, "explain.log")) as f:
            return " ".join(re.findall(r": class (\d+) ", f.read()))
    except OSError:
        return "?"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cpu")
    p.add_argument("gpu")
    p.add_argument("--json")
    a = p.parse_args()
    rows = []
    for model_dir in sorted(glob.glob(os.path.join(a.cpu, "*", ""))):
        model = os.path.basename(os.path.dirname(model_dir))
        gdir = os.path.join(a.gpu, model)
        if not glob.glob(os.path.join(model_dir, "*.raw.npy")):
            rows.append({"model": model, "method": "(none: the CPU run failed)", "raw_r": None,
                         "map_r": None, "class": False, "ok": False})
        same_class = classes(model_dir) == classes(gdir)
        for raw in sorted(glob.glob(os.path.join(model_dir, "*.raw.npy"))):
            method = os.path.basename(raw)[: -len(".raw.npy")].split(".", 1)[1]
            g = os.path.join(gdir, os.path.basename(raw))
            if not os.path.exists(g):
                rows.append({"model": model, "method": method, "raw_r": None, "map_r": None,
                             "class": same_class, "ok": False})
                continue
            raw_r = corr(np.load(raw), np.load(g))
            norm = raw[: -len(".raw.npy")] + ".npy"
            gnorm = os.path.join(gdir, os.path.basename(norm))
            # The CPU side's normalised maps stay behind when the carried folder must be small.
            map_r = (corr(np.load(norm), np.load(gnorm))
                     if os.path.exists(norm) and os.path.exists(gnorm) else None)
            worst = min(raw_r, map_r if map_r is not None else raw_r)
            rows.append({"model": model, "method": method, "raw_r": raw_r, "map_r": map_r,
                         "class": same_class, "ok": same_class and worst >= GOAL})
    print("| model | method | same class | raw map r | normalised map r | r >= 0.999 |")
    print("|---|---|---|---:|---:|---|")
    for r in rows:
        f = (lambda v: "–" if v is None else f"{v:.6f}")
        print(f"| {r['model']} | {r['method']} | {'yes' if r['class'] else 'NO'} | {f(r['raw_r'])} "
              f"| {f(r['map_r'])} | {'yes' if r['ok'] else 'NO'} |")
    bad = [r for r in rows if not r["ok"]]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} maps reach r >= {GOAL} with the same class")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
