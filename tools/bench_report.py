"""Writes BENCHMARKS.md from the JSON files that `tools/bench_cpu.sh` (this machine) and
`tools/gpu_check.sh` (a GPU machine; its outputs copied to bench/gpu-*/) produce.

    python3 tools/bench_report.py > BENCHMARKS.md
"""
import glob
import io
import json
import os
import sys
from contextlib import redirect_stdout

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
from compare_bench import main as compare  # noqa: E402

ROOT = os.path.join(HERE, "..")


def table(ours, peers):
    buf = io.StringIO()
    with redirect_stdout(buf):
        compare(ours, peers)
    return buf.getvalue()


def ours_rows(path):
    d = json.load(open(path))
    lines = ["| method | first run ms (warm-up) | median ms |", "|---|---:|---:|"]
    for r in d["rows"]:
        lines.append(f"| {r['method']} | {r['first_ms']:.1f} | {r['median_ms']:.1f} |")
    return "\n".join(lines)


print("# Benchmarks\n")
print("Per-image times of each method at 224×224 (`camlens bench`: a fresh session per run, so")
print("each figure includes the forward pass and, for gradient methods, the backward), beside the")
print("Python peers on the same model, input (`assets/samples/chelsea.png`) and machine, in the same")
print("run (`tools/bench_peers.py`). Ratios below 1 mean camlens is faster. ResNet-18 uses")
print("formula weights (`tools/write_formula_weights.py`): no pretrained weights can be downloaded")
print("here, and speed does not depend on the values. The peers' ScoreCAM runs at batch size 32.\n")
print("The build machine changes between sessions: the CPU tables below were measured on 2026-11-29")
print("on an AMD EPYC (2 cores, AVX2, no AVX-512), where the peers run about 2.5× slower than on the")
print("AVX-512 Xeon of earlier sessions (pytorch-grad-cam's ScoreCAM: 30.0 → 72.0 s on Lite0, 7.7 →")
print("20.2 s on ResNet-18); compare ratios, not times, across dates.\n")
print("Rerun: `tools/bench_cpu.sh` on a CPU machine; `tools/gpu_check.sh` on a GPU machine (see the")
print("script's header); then `python3 tools/bench_report.py > BENCHMARKS.md`.\n")
for title, pattern in [("CPU (this project's 2-core build machine)", "bench/ours-cpu-*.json"),
                       ("GPU", "bench/gpu-*/ours-gpu-*.json")]:
    files = sorted(f for f in glob.glob(os.path.join(ROOT, pattern)) if "-onnx-" not in f)
    if not files:
        continue
    print(f"## {title}\n")
    for ours in files:
        peers = ours.replace("ours-", "peers-")
        name = os.path.basename(ours)[:-5].split("-")[-1]
        where = os.path.relpath(os.path.dirname(ours), ROOT)
        print(f"### {name} ({where})\n")
        if os.path.exists(peers):
            print(table(ours, peers))
        print("camlens alone (first run = shader compilation and autotuning on a GPU):\n")
        print(ours_rows(ours))
        print()

onnx = sorted(glob.glob(os.path.join(ROOT, "bench/ours-cpu-onnx-resnet18-*.json")))
if onnx:
    by = {}
    for path in onnx:
        d = json.load(open(path))
        for r in d["rows"]:
            kind = "onnx" if r["model"].startswith("ONNX") else "native"
            by.setdefault(r["method"], {})[kind] = (r["median_ms"], r["runs"])
    print("## The ONNX interpreter against the native path (ResNet-18, CPU)\n")
    print("The same seeded torchvision ResNet-18 as a `.pth` (camlens' hand-written ResNet) and as")
    print("an ONNX export (camlens' interpreter), in one `camlens bench` run per file on one machine")
    print(f"(`tools/bench_onnx.sh`; {d['device']}).\n")
    print("| method | runs | native ms | ONNX ms | ONNX / native |")
    print("|---|---:|---:|---:|---:|")
    for method, v in by.items():
        if "native" in v and "onnx" in v:
            (n, runs), (o, _) = v["native"], v["onnx"]
            print(f"| {method} | {runs} | {n:.1f} | {o:.1f} | {o / n:.2f} |")
    print()
