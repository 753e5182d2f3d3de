#!/usr/bin/env python3
"""A detector as an ONNX graph without its weights (issue 29), for camlens' tests
(tests/fixtures/onnx/det/): YOLOv8n from Ultralytics' model definition (`yolov8n.yaml`, nothing
downloaded), exported by Ultralytics' own exporter at 160×160 (opset 17, its metadata: task,
names, image size, stride). The exporter folds batch norms into the convolutions, so the
fixture formula's noise (tools/fixture_formula.py) is written into the exported graph's weight
initializers (`model.*.weight` / `.bias`, all but the DFL's fixed projection), which the tests
refill by the same formula.

For the fixture input it writes `yolov8n.out.f32` (onnxruntime's output `[1, 84, 525]`,
float32 little-endian) and `yolov8n.json`: the boxes a plain NumPy decode and per-class greedy
NMS of that output keeps (score ≥ 0.25, IoU 0.7: Ultralytics' defaults), best first.

    pip install ultralytics onnx onnxruntime
    python3 tools/make_det_fixtures.py
"""
import json
import os
import shutil
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from fixture_formula import input_tensor, noise as formula

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx", "det")
SIZE = 160
SCORE, IOU = 0.25, 0.7


def filled_names(m):
    return [i.name for i in m.graph.initializer
            if i.data_type == onnx.TensorProto.FLOAT and i.name.startswith("model.")
            and (i.name.endswith(".weight") or i.name.endswith(".bias"))
            and ".dfl." not in i.name]


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode(out):
    """YOLOv8 rows [4 + K, A]: boxes by best class, per-class greedy NMS."""
    rows = out[0]
    scores = rows[4:]
    cls = scores.argmax(0)
    best = scores.max(0)
    cands = []
    for a in np.nonzero(best >= SCORE)[0]:
        cx, cy, w, h = (float(v) for v in rows[:4, a])
        cands.append({"class": int(cls[a]), "score": float(best[a]), "anchor": int(a),
                      "box": [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]})
    cands.sort(key=lambda c: (-c["score"], c["anchor"]))
    kept = []
    for c in cands:
        if len(kept) == 300:
            break
        if all(k["class"] != c["class"] or iou(k["box"], c["box"]) <= IOU for k in kept):
            kept.append(c)
    return kept, len(cands)


def main():
    from ultralytics import YOLO
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp()
    cwd = os.getcwd()
    os.chdir(work)
    try:
        exported = YOLO("yolov8n.yaml").export(format="onnx", imgsz=SIZE, opset=17,
                                               simplify=False, dynamic=False)
    finally:
        os.chdir(cwd)
    m = onnx.load(os.path.join(work, exported))
    names = set(filled_names(m))
    for init in m.graph.initializer:
        if init.name in names:
            init.CopyFrom(numpy_helper.from_array(formula(init.name, list(init.dims)), init.name))
    full = os.path.join(work, "full.onnx")
    onnx.save(m, full)
    x = input_tensor([1, 3, SIZE, SIZE])
    out = ort.InferenceSession(full).run(None, {m.graph.input[0].name: x})[0]
    out.astype("<f4").tofile(os.path.join(OUT, "yolov8n.out.f32"))
    kept, candidates = decode(out)
    for init in m.graph.initializer:
        if init.name in names:
            init.ClearField("raw_data")
            init.ClearField("float_data")
    onnx.save(m, os.path.join(OUT, "yolov8n.onnx"))
    with open(os.path.join(OUT, "yolov8n.json"), "w") as f:
        json.dump({"size": SIZE, "shape": list(out.shape), "score": SCORE, "iou": IOU,
                   "candidates": candidates, "boxes": kept}, f)
    shutil.rmtree(work)
    print(f"yolov8n: output {out.shape}, {candidates} candidates, {len(kept)} boxes kept, "
          f"{os.path.getsize(os.path.join(OUT, 'yolov8n.onnx')) // 1024} KB")


if __name__ == "__main__":
    main()
