"""Writes BENCHMARKS.md from the JSON files that `tools/bench_cpu.sh` (a CPU machine),
`tools/bench_onnx.sh` (the ONNX interpreter against the native path) and `tools/gpu_check.sh`
(a GPU machine; its outputs copied to bench/gpu-*/) produce.

    python3 tools/bench_report.py > BENCHMARKS.md

Every date, machine name and time in the prose is read from those files (or, for a date a file
does not record, from the commit that last changed it), so the prose cannot disagree with the
tables under it.
"""
import glob
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
from compare_bench import main as compare  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, ".."))


def load(path):
    with open(path) as f:
        return json.load(f)


def rel(path):
    return os.path.relpath(path, ROOT)


def table(ours, peers):
    buf = io.StringIO()
    with redirect_stdout(buf):
        compare(ours, peers)
    return buf.getvalue()


def ours_rows(path):
    d = load(path)
    lines = ["| method | first run ms (warm-up) | median ms |", "|---|---:|---:|"]
    for r in d["rows"]:
        lines.append(f"| {r['method']} | {r['first_ms']:.1f} | {r['median_ms']:.1f} |")
    return "\n".join(lines)


def committed(path):
    """The date of the commit that last changed `path`, or None (not in git, or uncommitted)."""
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", path], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        if dirty:
            return None
        out = subprocess.run(["git", "log", "-1", "--format=%ad", "--date=short", "--", path],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return out or None
    except (OSError, subprocess.CalledProcessError):
        return None


def date_of(*paths):
    """The measurement date: a file's own `date` field, else the date its commit records."""
    for p in paths:
        if p and os.path.exists(p):
            d = load(p).get("date")
            if d:
                return d, "measured"
    for p in paths:
        if p and os.path.exists(p):
            d = committed(p)
            if d:
                return d, "committed"
    return None, None


def gpu_name(folder):
    """The GPU's name from nvidia-smi's CSV (`gpu.txt`), when the folder has one."""
    path = os.path.join(folder, "gpu.txt")
    if not os.path.exists(path):
        return None
    lines = [l.strip() for l in open(path) if l.strip()]
    if len(lines) >= 2 and lines[0].startswith("name"):
        return lines[1].split(",")[0].strip()
    return None


def row(d, method, model_prefix=None):
    for r in d["rows"]:
        if r["method"] == method and (model_prefix is None or r["model"].startswith(model_prefix)):
            return r
    return None


def peer_ms(p, peer, method):
    for r in p["rows"]:
        if r["peer"] == peer and r["method"] == method:
            return r["median_ms"]
    return None


def secs(ms):
    return f"{ms / 1e3:.1f} s" if ms >= 1000 else f"{ms:.1f} ms"


def summary_line(ours_path, peers_path):
    """One sentence per model, every figure read from the two files."""
    o, p = load(ours_path), load(peers_path)
    parts = []
    spp, their_sc = row(o, "scorecam++"), peer_ms(p, "pytorch-grad-cam", "scorecam")
    if spp and their_sc:
        parts.append(f"ScoreCAM++ {secs(spp['median_ms'])} against pytorch-grad-cam's ScoreCAM "
                     f"{secs(their_sc)} ({spp['median_ms'] / their_sc:.2f}×)")
    grad, their_gc = row(o, "gradient methods together"), peer_ms(p, "pytorch-grad-cam", "gradcam")
    if grad and their_gc:
        parts.append(f"the four gradient methods together {secs(grad['median_ms'])} against its "
                     f"GradCAM alone {secs(their_gc)} ({grad['median_ms'] / their_gc:.2f}×)")
    return "; ".join(parts)


def model_name(path):
    return os.path.basename(path)[:-5].split("-")[-1]


def machine(ours_path, peers_path):
    o = load(ours_path)
    names = [o["device"] + (f", {o['precision']}" if "precision" in o else "")]
    folder_gpu = gpu_name(os.path.dirname(ours_path))
    if folder_gpu and folder_gpu not in names[0]:
        names.append(folder_gpu)
    if peers_path and os.path.exists(peers_path):
        names.append(f"peers on {load(peers_path)['device']}")
    return "; ".join(names)


sections = [("CPU", "bench/ours-cpu-*.json"), ("GPU", "bench/gpu-*/ours-gpu-*.json")]
found = {title: sorted(f for f in glob.glob(os.path.join(ROOT, pattern)) if "-onnx-" not in f)
         for title, pattern in sections}

print("# Benchmarks\n")
print("Per-image times of each method (`camlens bench`: a fresh session per run, so each figure")
print("includes the forward pass and, for gradient methods, the backward), beside the Python peers")
print("(pytorch-grad-cam and torch-cam, `tools/bench_peers.py`) on the same model, input")
print("(`assets/samples/chelsea.png`) and machine, in the same run. Ratios below 1 mean camlens is")
print("faster. ResNet-18 and VGG-16 use formula weights (`tools/write_formula_weights.py`): speed does")
print("not depend on the values. The peers' ScoreCAM batch size is the one `tools/bench_peers.py` sets.")
print("Each table names its machine and date; times on different machines are not comparable, ratios")
print("measured in one run are.\n")
print("The detector (YOLOv8n, ONNX, 640², the best box) and the segmenter (FCN-ResNet50, ONNX,")
print("520², the largest class's region) explain the same box or region in both tools, with")
print("pytorch-grad-cam's box and `SemanticSegmentationTarget` targets (`tools/bench_detectors.py`).\n")
print("Rerun: `tools/bench_cpu.sh` (add `MODELS=vgg16` for VGG-16), `tools/bench_onnx.sh` and")
print("`python3 tools/bench_detectors.py` on a CPU machine; `tools/gpu_check.sh` on a GPU machine (see")
print("the script's header), its output copied to `bench/gpu-NAME/`; then")
print("`python3 tools/bench_report.py > BENCHMARKS.md`.\n")

short = []
for title, files in found.items():
    for ours in files:
        peers = ours.replace("ours-", "peers-")
        if os.path.exists(peers):
            line = summary_line(ours, peers)
            if line:
                date, how = date_of(peers, ours)
                when = f", {date}" if date else ""
                on = load(peers)["device"]
                short.append(f"* **{model_name(ours)}** on {on}{when} (`{rel(ours)}`): {line}.")
if short:
    print("## In short\n")
    print("\n".join(short))
    print()

for title, files in found.items():
    if not files:
        continue
    print(f"## {title}\n")
    for ours in files:
        peers = ours.replace("ours-", "peers-")
        where = rel(os.path.dirname(ours))
        print(f"### {model_name(ours)} ({where})\n")
        date, how = date_of(peers, ours)
        peers_path = peers if os.path.exists(peers) else None
        if peers_path:
            # compare_bench's first line names both machines and the peers' date.
            print(table(ours, peers))
        else:
            print(f"Machine: {machine(ours, None)}."
                  + (f" Date: {date}" + (" (the commit of this file)" if how == "committed" else "")
                     + "." if date else "") + "\n")
        print("camlens alone (first run = shader compilation and autotuning on a GPU):\n")
        print(ours_rows(ours))
        print()

ONNX_MODELS = [
    ("resnet18", "ResNet-18", "The same seeded torchvision ResNet-18 as a `.pth` (camlens' hand-written ResNet) and as\n"
     "an ONNX export (camlens' interpreter)"),
    ("lite0", "EfficientNet-Lite0", "The built-in Lite0 (camlens' hand-written model, its shipped weights) and its ONNX\n"
     "export (`tools/export_lite0_onnx.py`: TensorFlow's SAME padding as 49 computed Pads, 33 Clips;\n"
     "2,118 nodes, 1,976 of them shape arithmetic, computed once; run with the clamp and Pad fusions\n"
     "and the region passes: `src/onnx/fuse.rs`, `src/onnx/region.rs`, `src/onnx/survey.rs`; fed\n"
     "the built-in's input through the `lite0.model.json` the export tool writes beside it: TensorFlow's\n"
     "crop-then-resize, mean 127, std 128, so both compute the same masks, 442 of them).\n"
     "ScoreCAM++ takes seconds and its ratio is the measure; the rows in milliseconds vary by tens of\n"
     "percent from one run to the next on this 2-core VM"),
]
for key, title, what in ONNX_MODELS:
    onnx = sorted(glob.glob(os.path.join(ROOT, f"bench/ours-cpu-onnx-{key}-*.json")))
    if not onnx:
        continue
    by = {}
    devices = []
    for path in onnx:
        d = load(path)
        if d["device"] not in devices:
            devices.append(d["device"])
        for r in d["rows"]:
            kind = "onnx" if r["model"].startswith("ONNX") else "native"
            by.setdefault(r["method"], {})[kind] = (r["median_ms"], r["runs"])
    date, how = date_of(*onnx)
    print(f"## The ONNX interpreter against the native path ({title}, CPU)\n")
    print(what + ", in one `camlens bench` run per file on one machine")
    when = ""
    if date:
        when = f"; {date}" + (", the commit of these files" if how == "committed" else "")
    print(f"(`tools/bench_onnx.sh`; {', '.join(devices)}{when}).\n")
    print("| method | runs | native ms | ONNX ms | ONNX / native |")
    print("|---|---:|---:|---:|---:|")
    for method, v in by.items():
        if "native" in v and "onnx" in v:
            (n, runs), (o, _) = v["native"], v["onnx"]
            print(f"| {method} | {runs} | {n:.1f} | {o:.1f} | {o / n:.2f} |")
    print()

ARCH = [("mobilenet_v3_large", "MobileNetV3-Large"), ("efficientnet_b0", "EfficientNet-B0"),
        ("mobilenet_v2", "MobileNetV2 (its ImageNet weights)"), ("resnet50", "ResNet-50"),
        ("convnext_tiny", "ConvNeXt-Tiny"), ("vit_b_16", "ViT-B/16")]
arch_rows = []
for key, title in ARCH:
    paths = [os.path.join(ROOT, f"bench/{f}.json") for f in
             (f"ours-cpu-onnx-arch-{key}-score", f"ours-cpu-onnx-arch-{key}-gradient",
              f"peers-cpu-onnx-arch-{key}")]
    if all(os.path.exists(p) for p in paths):
        arch_rows.append((title, *(load(p) for p in paths)))
if arch_rows:
    peers = arch_rows[0][3]
    print("## Your own models as ONNX against the peers (CPU)\n")
    print("torchvision models with seeded weights, exported by `tools/export_torchvision.py` "
          "(the `.onnx`\ncamlens runs, the same weights for the peers; MobileNetV2 with its "
          "ImageNet weights,\n`tools/export_mobilenet_v2.py`), on the sample photo at "
          "camlens' default layer of\neach export and the same module in PyTorch, camlens and "
          "the peers one after the other in one run\nper model (`tools/bench_onnx_arch.sh`; "
          f"camlens on {arch_rows[0][1]['device']}, the peers on {peers['device']},\n"
          f"torch {peers['torch']}; each row's date and CPU in its last column). ScoreCAM++ and "
          "ScoreCAM (batch 32): one\ntimed run after a warm-up; the gradient methods: median of "
          "5. Ratios are camlens over the peer,\nwithin a row; compare rows of different "
          "dates or CPUs by their ratios only.\n")
    print("| model | camlens ScoreCAM++ | pytorch-grad-cam ScoreCAM | ratio | torch-cam ScoreCAM "
          "| ratio | camlens' 4 gradient methods together | pytorch-grad-cam GradCAM | ratio "
          "| measured |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for title, score, grad, p in arch_rows:
        spp, together = row(score, "scorecam++"), row(grad, "gradient methods together")
        cells = [title, secs(spp["median_ms"])]
        for peer, method, ours in [("pytorch-grad-cam", "scorecam", spp),
                                   ("torch-cam", "scorecam", spp)]:
            ms = peer_ms(p, peer, method)
            cells += [secs(ms), f"{ours['median_ms'] / ms:.2f}×"] if ms else ["–", "–"]
        gc = peer_ms(p, "pytorch-grad-cam", "gradcam")
        cells += [secs(together["median_ms"]), secs(gc), f"{together['median_ms'] / gc:.2f}×"]
        cells.append(f"{p['date']}, {p.get('cpu', 'CPU')}")
        print("| " + " | ".join(cells) + " |")
    print()
