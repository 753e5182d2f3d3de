#!/usr/bin/env python3
"""A detector and a segmenter timed in one run on this machine (issue 29): camlens (`camlens
bench`, CPU) beside pytorch-grad-cam on the same architecture, weights and photo, each
explaining the same thing:

- YOLOv8n, Ultralytics' model definition exported by its own exporter at 640 (its default),
  the fixture formula's weights (tools/make_det_fixtures.py's recipe); the photo letterboxed;
  the best box explained at `model.15` (camlens' default layer for YOLO): gradient methods on
  the box's class score at its anchor, EigenCAM, and score methods with the box's score read
  on each masked input as `FasterRCNNBoxScoreTarget` reads it (camlens: ScoreCAM++ and its
  ScoreCAM; pytorch-grad-cam: ScoreCAM, batch 32).
- FCN-ResNet50 (torchvision, 21 classes, formula weights) at 520 (torchvision's segmentation
  size): the largest predicted class's region with `SemanticSegmentationTarget` at
  `backbone.layer4`; gradient methods and EigenCAM (a score method needs 2048 masked forwards
  of a 280-GFLOP network: hours on a CPU for either tool).

Writes bench/ours-cpu-<model>.json and bench/peers-cpu-<model>.json (camlens first, then the
peers, median of RUNS after a warm-up); then `python3 tools/bench_report.py > BENCHMARKS.md`.

    pip install ultralytics torch torchvision grad-cam onnx
    cargo build --release && python3 tools/bench_detectors.py [--runs 2] [--only yolov8n]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from fixture_formula import noise as formula  # noqa: E402

HERE = os.path.dirname(__file__)
ROOT = os.path.normpath(os.path.join(HERE, ".."))
PHOTO = os.path.join(ROOT, "assets", "samples", "chelsea.png")
OURS = {"yolov8n": "gradcam,gradcam++,xgradcam,layercam,eigencam,scorecam,scorecam++",
        "fcn_resnet50": "gradcam,gradcam++,xgradcam,layercam,eigencam"}


def median_time(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def yolo(work):
    """YOLOv8n at 640 with formula weights: the ONNX file and the PyTorch model (its rows)."""
    from make_det_fixtures import filled_names, torch_model
    from ultralytics import YOLO
    cwd = os.getcwd()
    os.chdir(work)
    try:
        exported = YOLO("yolov8n.yaml").export(format="onnx", imgsz=640, opset=17,
                                               simplify=False, dynamic=False)
    finally:
        os.chdir(cwd)
    m = onnx.load(os.path.join(work, exported))
    for init in m.graph.initializer:
        if init.name in set(filled_names(m)):
            init.CopyFrom(numpy_helper.from_array(formula(init.name, list(init.dims)), init.name))
    path = os.path.join(work, "yolov8n.onnx")
    onnx.save(m, path)
    return path, torch_model(m)


def letterbox(size):
    img = Image.open(PHOTO).convert("RGB")
    k = size / max(img.size)
    w, h = round(img.width * k), round(img.height * k)
    canvas = Image.new("RGB", (size, size), (114, 114, 114))
    canvas.paste(img.resize((w, h), Image.BILINEAR), ((size - w) // 2, (size - h) // 2))
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1) / 255)[None]


def box_target(rows):
    """The best box of rows `[84, A]`, and `FasterRCNNBoxScoreTarget`'s reading of any rows for
    it (vectorised): the class score at the best-overlapping row of its class, IoU ≥ 0.5."""
    scores = rows[4:]
    best = int(scores.max(0).values.argmax())
    cls = int(scores[:, best].argmax())

    def corners(r):
        return torch.stack([r[0] - r[2] / 2, r[1] - r[3] / 2, r[0] + r[2] / 2, r[1] + r[3] / 2])

    box = corners(rows[:4, best:best + 1].detach())

    def gradient(out):
        return out[4 + cls, best]

    def score(out):
        c = corners(out[:4])
        w = (torch.minimum(c[2], box[2]) - torch.maximum(c[0], box[0])).clamp(min=0)
        h = (torch.minimum(c[3], box[3]) - torch.maximum(c[1], box[1])).clamp(min=0)
        inter = w * h
        area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
        iou = inter / (area(c) + area(box) - inter)
        iou = torch.where(out[4:].argmax(0) == cls, iou, torch.zeros_like(iou))
        a = int(iou.argmax())
        return out[4 + cls, a] if iou[a] >= 0.5 else out.new_zeros(())
    return gradient, score


def fcn(work, size):
    """FCN-ResNet50 with the segmentation fixtures' formula weights (make_seg_fixtures.py), its
    `out` logits exported at `size`."""
    from make_seg_fixtures import Out, formula_model
    model, _ = formula_model("fcn_resnet50")
    wrapped = Out(model).eval()
    path = os.path.join(work, "fcn_resnet50.onnx")
    torch.onnx.export(wrapped, (torch.zeros(1, 3, size, size),), path, input_names=["x"],
                      output_names=["out"], opset_version=17, dynamo=False)
    return path, wrapped


def segment_input(size):
    img = Image.open(PHOTO).convert("RGB")
    k = size / min(img.size)
    img = img.resize((round(img.width * k), round(img.height * k)), Image.BILINEAR)
    x0, y0 = (img.width - size) // 2, (img.height - size) // 2
    img = img.crop((x0, y0, x0 + size, y0 + size))
    a = (np.asarray(img, dtype=np.float32) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    return torch.from_numpy(a.astype(np.float32).transpose(2, 0, 1))[None]


def peers(name, model, x, runs):
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget
    # Importing Ultralytics sets torch to cpu_count - 1 threads; the peers get every core,
    # as camlens does.
    torch.set_num_threads(os.cpu_count())
    with torch.no_grad():
        out = model(x)[0]
    if name == "yolov8n":
        layer = model.model.model[15]
        gradient, score = box_target(out)
        targets = {"gradient": [gradient], "score": [score]}
        methods = ["gradcam", "gradcam++", "xgradcam", "layercam", "eigencam", "scorecam"]
    else:
        layer = model.model.backbone.layer4
        labels = out.argmax(0)
        cls = int(torch.bincount(labels.ravel(), minlength=21).argmax())
        target = SemanticSegmentationTarget(cls, (labels == cls).float().numpy())
        targets = {"gradient": [target], "score": [target]}
        methods = ["gradcam", "gradcam++", "xgradcam", "layercam", "eigencam"]
    ctors = {"gradcam": pgc.GradCAM, "gradcam++": pgc.GradCAMPlusPlus, "xgradcam": pgc.XGradCAM,
             "layercam": pgc.LayerCAM, "eigencam": pgc.EigenCAM, "scorecam": pgc.ScoreCAM}
    rows = []
    for method in methods:
        cam = ctors[method](model, [layer])
        if method == "scorecam":
            cam.batch_size = 32
        t = targets["score" if method == "scorecam" else "gradient"]
        ms = median_time(lambda: cam(x, t), 1 if method == "scorecam" else runs) * 1e3
        rows.append({"peer": "pytorch-grad-cam", "method": method, "median_ms": ms,
                     "runs": 1 if method == "scorecam" else runs})
        print(rows[-1], flush=True)
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--only", default="yolov8n,fcn_resnet50")
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count())
    binary = os.path.join(ROOT, "target", "release", "camlens")
    os.makedirs(os.path.join(ROOT, "bench"), exist_ok=True)
    for name in a.only.split(","):
        work = tempfile.mkdtemp()
        path, model = yolo(work) if name == "yolov8n" else fcn(work, 520)
        x = letterbox(640) if name == "yolov8n" else segment_input(520)
        ours = os.path.join(ROOT, "bench", f"ours-cpu-{name}.json")
        subprocess.run([binary, "--device", "cpu", "bench", "--model", path, "--methods",
                        OURS[name], "--runs", str(a.runs), "--json", ours],
                       check=True, stdout=subprocess.DEVNULL)
        rows = peers(name, model, x, a.runs)
        with open(os.path.join(ROOT, "bench", f"peers-cpu-{name}.json"), "w") as f:
            json.dump({"model": name, "device": f"CPU ({platform.machine()}, "
                       f"{torch.get_num_threads()} threads)", "torch": torch.__version__,
                       "date": time.strftime("%Y-%m-%d"), "rows": rows}, f, indent=1)
        shutil.rmtree(work)
        print(f"{name}: written bench/ours-cpu-{name}.json and bench/peers-cpu-{name}.json")


if __name__ == "__main__":
    main()
