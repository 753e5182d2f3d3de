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
NMS of that output keeps (score ≥ 0.25, IoU 0.7: Ultralytics' defaults), best first; and, from
the same weights in Ultralytics' PyTorch model (fused as its exporter fuses it), for two boxes
(the best, and the best found on a coarser scale) at `model.15` (the finest scale's output,
camlens' default layer for it):
- GradCAM with pytorch-grad-cam, the target the box's class score at its own anchor;
- ScoreCAM++ (the authors' recipe, tanh-gated masks) with the box's score on each masked input
  read as pytorch-grad-cam's `FasterRCNNBoxScoreTarget` reads it: the row of the box's class
  overlapping it most (IoU ≥ 0.5), zero where none does;
- EigenCAM (pytorch-grad-cam's `get_2d_projection`, signed so its largest-magnitude entry is
  positive, as camlens signs it) and its YOLO tutorial's "renormalise in the boxes" view over
  the ten best boxes, at input size.
The maps at input size are in `yolov8n.maps.f32` (every other pixel and row, float32), the rest
in the JSON.

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


class Rows(__import__("torch").nn.Module):
    """The model's decoded rows `[1, 84, A]` alone (in eval mode it returns them with the raw maps)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


def torch_model(m):
    """Ultralytics' PyTorch YOLOv8n, fused, with the graph's weights (same names)."""
    import torch
    from ultralytics import YOLO
    model = YOLO("yolov8n.yaml").model.fuse().eval()
    state = model.state_dict()
    weights = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    # The exporter shares identical initializers (the fresh model's zero biases) under one
    # name, read through Identity nodes.
    alias = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "Identity"}
    for name in list(alias):
        if alias[name] in weights:
            weights.setdefault(name, weights[alias[name]])
    loaded = {k: torch.from_numpy(weights[k].copy()) for k in state if k in weights}
    missing = [k for k in state if k not in weights and state[k].dtype == torch.float32]
    assert all("dfl" in k or "anchors" in k or "strides" in k for k in missing), missing
    model.load_state_dict({**state, **loaded})
    for p in model.parameters():
        p.requires_grad_(True)
    return Rows(model).eval()


def box_score(rows, target):
    """`FasterRCNNBoxScoreTarget`'s reading of one output `[84, A]` for a box (see the docstring)."""
    scores = rows[4:]
    label = scores.argmax(0)
    best, best_iou = None, 0.0
    for a in range(rows.shape[1]):
        if int(label[a]) != target["class"]:
            continue
        cx, cy, w, h = (float(v) for v in rows[:4, a])
        o = iou(target["box"], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        if o >= 0.5 and (best is None or o > best_iou):
            best, best_iou = a, o
    return scores[target["class"], best] if best is not None else rows.new_zeros(())


def box_cams(model, x, box, layer):
    import torch
    import torch.nn.functional as F
    from pytorch_grad_cam import GradCAM
    cam = GradCAM(model=model, target_layers=[layer])
    target = lambda out: out[4 + box["class"], box["anchor"]]  # noqa: E731
    outputs = cam.activations_and_grads(x)
    model.zero_grad()
    target(outputs[0]).backward()
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads = cam.activations_and_grads.gradients[0].cpu().numpy()
    gradcam = cam.get_cam_image(x, layer, [target], acts, grads, False)[0]
    cam.activations_and_grads.release()
    assert np.ptp(gradcam) > 0, "a flat GradCAM"
    up = F.interpolate(torch.from_numpy(acts), size=x.shape[-2:], mode="bilinear",
                       align_corners=False)[0]
    gate = torch.tanh(up)
    with torch.no_grad():
        s = torch.stack([box_score(model(x * g[None, None])[0], box) for g in gate])
    plusplus = (s[:, None, None] * gate).sum(0).numpy()
    return gradcam, plusplus, acts, s.numpy()


def eigen(acts, size, boxes):
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection
    raw = get_2d_projection(acts)[0]
    if raw.ravel()[np.abs(raw).argmax()] < 0:
        raw = -raw
    final = scale_cam_image(scale_cam_image(np.maximum(raw, 0)[None], (size, size)))[0]
    # The tutorial's renormalize_cam_in_bounding_boxes, on its integer boxes. It hands
    # scale_cam_image 2-D arrays, which that function takes as a stack of 1-D maps and
    # normalises row by row; camlens normalises each box, then the whole, as the tutorial's
    # docstring says ("normalize the CAM to be in the range [0, 1] inside every bounding box"),
    # so each array goes in as one map here.
    def scale(m):
        return scale_cam_image(m[None])[0]
    renormalized = np.zeros(final.shape, dtype=np.float32)
    for x1, y1, x2, y2 in boxes:
        renormalized[y1:y2, x1:x2] = scale(final[y1:y2, x1:x2].copy())
    return raw, final, scale(renormalized)


def references(m, x, kept):
    import torch
    model = torch_model(m)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        ours = model(xt).numpy()
    layer = model.model.model[15]
    out = {"torch_vs_onnx": None, "layer": "/model.15/cv2/act/Mul", "boxes_explained": []}
    big = []
    # The best box, and the best on a coarser scale that some masked inputs keep (on which
    # ScoreCAM++ is not zero throughout).
    coarse = (b for b in kept if b["anchor"] >= (SIZE // 8) ** 2)
    for box in [kept[0]] + [next(coarse)]:
        gradcam, plusplus, acts, s = box_cams(model, xt, box, layer)
        while box is not kept[0] and not (s != 0).any():
            box = next(coarse)
            gradcam, plusplus, acts, s = box_cams(model, xt, box, layer)
        out["boxes_explained"].append({"index": kept.index(box), "gradcam": gradcam.ravel().tolist(),
                             "scorecampp_scores": s.tolist(),
                             "map_shape": list(gradcam.shape)})
        big.append(plusplus)
    tens = [[int(v) for v in b["box"]] for b in kept[:10]]
    raw, final, renormalized = eigen(acts, SIZE, [[max(v, 0) for v in b] for b in tens])
    out["eigencam"] = {"raw": raw.ravel().tolist(), "boxes": tens}
    # The maps at input size, every other pixel of every other row, in one float32 file: each
    # box's ScoreCAM++, then EigenCAM's final map and its view in the boxes.
    big += [final, renormalized]
    np.stack([b[::2, ::2] for b in big]).astype("<f4").tofile(
        os.path.join(OUT, "yolov8n.maps.f32"))
    return ours, out


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
    torch_out, refs = references(m, x, kept)
    refs["torch_vs_onnx"] = float(np.abs(torch_out - out).max() / np.ptp(out))
    assert refs["torch_vs_onnx"] < 1e-4, refs["torch_vs_onnx"]
    for init in m.graph.initializer:
        if init.name in names:
            init.ClearField("raw_data")
            init.ClearField("float_data")
    onnx.save(m, os.path.join(OUT, "yolov8n.onnx"))
    with open(os.path.join(OUT, "yolov8n.json"), "w") as f:
        json.dump({"size": SIZE, "shape": list(out.shape), "score": SCORE, "iou": IOU,
                   "candidates": candidates, "boxes": kept, **refs}, f)
    shutil.rmtree(work)
    print(f"yolov8n: torch vs onnxruntime {refs['torch_vs_onnx']:.1e}; boxes explained: "
          f"{[b['index'] for b in refs['boxes_explained']]}")
    print(f"yolov8n: output {out.shape}, {candidates} candidates, {len(kept)} boxes kept, "
          f"{os.path.getsize(os.path.join(OUT, 'yolov8n.onnx')) // 1024} KB")


if __name__ == "__main__":
    main()
