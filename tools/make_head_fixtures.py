#!/usr/bin/env python3
"""Two more detector heads as ONNX graphs without their weights (issue 29), for camlens' tests
(tests/fixtures/onnx/det/, and a segmenter in tests/fixtures/onnx/seg/), each on a small
convolutional backbone at 64×64, weights from the
fixture formula (tools/fixture_formula.py) by parameter name, exported with PyTorch's
TorchScript exporter (opset 17):

- `yolov5_head.onnx`: YOLOv5's `Detect` head as the YOLOv5 repository writes it in export mode
  (per scale a 1×1 convolution to 3 anchors × (5 + K), sigmoid, centre `(2σ − 0.5 + grid) ×
  stride`, size `(2σ)² × anchor`, objectness, then class probabilities), on two scales (8×8 and
  4×4): output `[1, 240, 5 + 3]`.
- `detr_head.onnx`: a small DETR-style set predictor: the backbone's map (stride 8) flattened to
  64 tokens with a learned position embedding, 12 learned queries through one
  `nn.TransformerDecoderLayer` (cross-attention to the tokens), a class layer to K + 1 logits
  (the last "no object") and a box MLP with a sigmoid: outputs `logits` `[1, 12, 4]` and
  `pred_boxes` `[1, 12, 4]` (centre, size, fractions of the input), DETR's names and layouts.

- `segformer_head.onnx`: a SegFormer-style segmenter whose logits stay at a quarter of the
  input: two stages (strides 4 and 8), each projected by a 1×1 convolution, the coarser one
  upsampled (bilinear) to the finer, concatenated, fused and classified into K + 1 = 4
  classes: output `[1, 4, 16, 16]`. Its JSON holds onnxruntime's logits, the class explained
  (the most pixels among those covering less than half the map) and pytorch-grad-cam's GradCAM
  with `SemanticSegmentationTarget` over its predicted pixels at the coarser stage.

The initializers that hold a parameter's formula values under its own name are stripped (the
tests refill them by the same formula); what the exporter folded (transposed matrices) keeps
its data. For the fixture input each `<name>.json` holds onnxruntime's outputs, the boxes a
plain NumPy decode keeps (YOLOv5: score = objectness × best class ≥ the threshold, per-class
greedy NMS; DETR: every query whose best class's softmax ≥ the threshold), and, on the PyTorch
model itself, for one box at the backbone's last map: GradCAM with pytorch-grad-cam (the
target the box's class score at its row: objectness × class probability for YOLOv5, the
softmax's entry for DETR) and ScoreCAM++'s per-mask scores read as `FasterRCNNBoxScoreTarget`
reads them (best-matching row of the box's class at IoU ≥ 0.5, zero where none), with the
ScoreCAM++ map at input size.

    pip install torch grad-cam onnx onnxruntime
    python3 tools/make_head_fixtures.py
"""
import json
import os
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

from fixture_formula import input_tensor, noise as formula

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx", "det")
SIZE = 64
K = 3


def conv(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.SiLU())


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv(3, 16, 2)
        self.down = conv(16, 32, 2)
        self.p3 = conv(32, 32, 2)
        self.p4 = conv(32, 48, 2)

    def forward(self, x):
        p3 = self.p3(self.down(self.stem(x)))
        return p3, self.p4(p3)


class Detect(nn.Module):
    """YOLOv5's Detect head (models/yolo.py), export branch."""
    strides = (8, 16)
    anchors = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119))

    def __init__(self, channels):
        super().__init__()
        self.no, self.na = 5 + K, 3
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in channels)

    def forward(self, xs):
        z = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            yv, xv = torch.meshgrid(torch.arange(ny, dtype=torch.float32),
                                    torch.arange(nx, dtype=torch.float32), indexing="ij")
            grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2) - 0.5
            anchor = torch.tensor(self.anchors[i], dtype=torch.float32).view(1, self.na, 1, 1, 2)
            xy, wh, conf = x.sigmoid().split((2, 2, K + 1), 4)
            xy = (xy * 2 + grid) * self.strides[i]
            wh = (wh * 2) ** 2 * anchor
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1)


class Yolov5(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.detect = Detect((32, 48))

    def forward(self, x):
        return self.detect(self.backbone(x))


class Detr(nn.Module):
    queries = 12

    def __init__(self, d=32):
        super().__init__()
        self.backbone = nn.Sequential(conv(3, 16, 2), conv(16, 32, 2), conv(32, d, 2))
        self.pos = nn.Parameter(torch.zeros(1, (SIZE // 8) ** 2, d))
        self.query = nn.Parameter(torch.zeros(1, self.queries, d))
        self.decoder = nn.TransformerDecoderLayer(d, 4, 64, dropout=0.0, batch_first=True)
        self.class_embed = nn.Linear(d, K + 1)
        self.bbox_embed = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    def forward(self, x):
        f = self.backbone(x)
        memory = f.flatten(2).transpose(1, 2) + self.pos
        h = self.decoder(self.query.expand(x.shape[0], -1, -1), memory)
        return self.class_embed(h), self.bbox_embed(h).sigmoid()


class SegFormerish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(conv(3, 16, 2), conv(16, 32, 2))
        self.stage2 = conv(32, 48, 2)
        self.proj1 = nn.Conv2d(32, 32, 1)
        self.proj2 = nn.Conv2d(48, 32, 1)
        self.fuse = nn.Sequential(nn.Conv2d(64, 32, 1), nn.ReLU())
        self.classifier = nn.Conv2d(32, K + 1, 1)

    def forward(self, x):
        f1 = self.stage1(x)
        f2 = self.stage2(f1)
        up = F.interpolate(self.proj2(f2), size=f1.shape[-2:], mode="bilinear",
                           align_corners=False)
        return self.classifier(self.fuse(torch.cat([self.proj1(f1), up], 1)))


def make_segmenter():
    """The SegFormer-style fixture and its reference (see the module's docstring)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget
    model = fill(SegFormerish())
    x = torch.from_numpy(input_tensor([1, 3, SIZE, SIZE]))
    seg = os.path.join(OUT, "..", "seg")
    path = os.path.join(seg, "segformer_head.onnx")
    with tempfile.TemporaryDirectory() as work:
        full = os.path.join(work, "full.onnx")
        torch.onnx.export(model, (x,), full, opset_version=17, input_names=["images"],
                          output_names=["logits"], dynamo=False)
        out = ort.InferenceSession(full).run(None, {"images": x.numpy()})[0]
        stripped = strip(full, model, path)
    with torch.no_grad():
        assert np.abs(model(x).numpy() - out).max() <= 1e-5 * np.ptp(out)
    labels = out[0].argmax(0)
    counts = np.bincount(labels.ravel(), minlength=K + 1)
    partial = np.where(counts < labels.size // 2, counts, 0)
    cls = int(partial.argmax())
    assert partial.max() > 0, counts
    mask = (labels == cls).astype(np.float32)
    target = SemanticSegmentationTarget(cls, mask)
    cam = GradCAM(model=model, target_layers=[model.stage2])
    outputs = cam.activations_and_grads(x)
    model.zero_grad()
    target(outputs[0]).backward()
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads = cam.activations_and_grads.gradients[0].cpu().numpy()
    gradcam = cam.get_cam_image(x, model.stage2, [target], acts, grads, False)[0]
    cam.activations_and_grads.release()
    assert np.ptp(gradcam) > 0
    reference = {"size": SIZE, "logits": out.ravel().tolist(), "shape": list(out.shape),
                 "class": cls, "pixels": int(mask.sum()), "layer": layer_name(path, "/stage2/"),
                 "gradcam": gradcam.ravel().tolist(), "map_shape": list(gradcam.shape)}
    with open(os.path.join(seg, "segformer_head.json"), "w") as f:
        json.dump(reference, f)
    print(f"segformer_head: {stripped} weights stripped, output {out.shape}, class {cls} "
          f"({int(mask.sum())} pixels), layer {reference['layer']}")


def fill(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(formula(name, list(p.shape))))
    return model.eval()


def strip(path, model, dest):
    """The graph at `path` saved to `dest` without the initializers the formula refills."""
    m = onnx.load(path)
    state = dict(model.named_parameters())
    stripped = 0
    for init in m.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or init.name not in state:
            continue
        if np.array_equal(numpy_helper.to_array(init), formula(init.name, list(init.dims))):
            init.ClearField("raw_data")
            init.ClearField("float_data")
            stripped += 1
    onnx.save(m, dest)
    return stripped


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def corners(r):
    cx, cy, w, h = (float(v) for v in r[:4])
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def candidates(rows, score):
    """Rows `[A, 4 + K]` (box in input pixels, final class scores): the boxes above `score`."""
    cls, best = rows[:, 4:].argmax(1), rows[:, 4:].max(1)
    out = [{"class": int(cls[a]), "score": float(best[a]), "anchor": int(a),
            "box": corners(rows[a])} for a in np.nonzero(best >= score)[0]]
    return sorted(out, key=lambda c: (-c["score"], c["anchor"]))


def nms(cands, threshold):
    kept = []
    for c in cands:
        if all(k["class"] != c["class"] or iou(k["box"], c["box"]) <= threshold for k in kept):
            kept.append(c)
    return kept


def yolov5_rows(out):
    """YOLOv5's `[A, 5 + K]` as rows `[A, 4 + K]`: class probability × objectness."""
    return torch.cat([out[:, :4], out[:, 5:] * out[:, 4:5]], 1)


def detr_rows(logits, boxes):
    return torch.cat([boxes * SIZE, logits.softmax(-1)[:, :-1]], 1)


def box_score(rows, target):
    """`FasterRCNNBoxScoreTarget`'s reading of rows `[A, 4 + K]` for a box."""
    label = rows[:, 4:].argmax(1)
    best, best_iou = None, 0.0
    for a in range(rows.shape[0]):
        if int(label[a]) != target["class"]:
            continue
        o = iou(target["box"], corners(rows[a]))
        if o >= 0.5 and (best is None or o > best_iou):
            best, best_iou = a, o
    return rows[best, 4 + target["class"]] if best is not None else rows.new_zeros(())


def explain(model, rows_of, x, box, layer):
    """GradCAM (pytorch-grad-cam) and ScoreCAM++ of a box, at `layer`."""
    from pytorch_grad_cam import GradCAM
    cam = GradCAM(model=model, target_layers=[layer])
    target = lambda rows: rows[box["anchor"], 4 + box["class"]]  # noqa: E731
    outputs = cam.activations_and_grads(x)
    model.zero_grad()
    target(rows_of(outputs)).backward()
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads = cam.activations_and_grads.gradients[0].cpu().numpy()
    gradcam = cam.get_cam_image(x, layer, [target], acts, grads, False)[0]
    cam.activations_and_grads.release()
    assert np.ptp(gradcam) > 0, "a flat GradCAM"
    up = F.interpolate(torch.from_numpy(acts), size=x.shape[-2:], mode="bilinear",
                       align_corners=False)[0]
    gate = torch.tanh(up)
    with torch.no_grad():
        s = torch.stack([box_score(rows_of(model(x * g[None, None])), box) for g in gate])
    assert float(s.max() - s.min()) > 0.05, "the masked inputs should change the box's score"
    plusplus = (s[:, None, None] * gate).sum(0).numpy()
    return {"gradcam": gradcam.ravel().tolist(), "map_shape": list(gradcam.shape),
            "scorecampp_scores": s.tolist(), "scorecampp": plusplus.ravel().tolist()}


def layer_name(path, prefix):
    """The ONNX name of the map the module at `prefix` ends with (its SiLU's Mul)."""
    m = onnx.load(path)
    return [n.name for n in m.graph.node if n.name.startswith(prefix) and n.op_type == "Mul"][-1]


def make(name, model, outputs, rows_of, score, iou_threshold, layer, prefix):
    x = torch.from_numpy(input_tensor([1, 3, SIZE, SIZE]))
    path = os.path.join(OUT, f"{name}.onnx")
    with tempfile.TemporaryDirectory() as work:
        full = os.path.join(work, "full.onnx")
        torch.onnx.export(model, (x,), full, opset_version=17, input_names=["images"],
                          output_names=outputs, dynamo=False)
        theirs = ort.InferenceSession(full).run(None, {"images": x.numpy()})
        stripped = strip(full, model, path)
    with torch.no_grad():
        ours = model(x)
    ours = ours if isinstance(ours, tuple) else (ours,)
    off = max(float(np.abs(o.numpy() - t).max() / np.ptp(t)) for o, t in zip(ours, theirs))
    assert off < 1e-5, off
    out = tuple(torch.from_numpy(t) for t in theirs)
    rows = rows_of(out if len(out) > 1 else out[0]).numpy()
    cands = candidates(rows, score)
    kept = nms(cands, iou_threshold)
    assert 3 <= len(kept) < len(rows), f"{name}: {len(kept)} boxes of {len(rows)}"
    reference = {"size": SIZE, "outputs": [t.ravel().tolist() for t in theirs],
                 "shapes": [list(t.shape) for t in theirs], "score": score, "iou": iou_threshold,
                 "candidates": len(cands), "boxes": kept, "torch_vs_onnx": off,
                 "layer": layer_name(path, prefix), "explained": 0,
                 **explain(model, rows_of, x, kept[0], layer)}
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(reference, f)
    print(f"{name}: {stripped} weights stripped, torch vs onnxruntime {off:.1e}, "
          f"{len(cands)} candidates, {len(kept)} boxes, layer {reference['layer']}, "
          f"{os.path.getsize(path) // 1024} KB")


def main():
    os.makedirs(OUT, exist_ok=True)
    v5 = fill(Yolov5())
    make("yolov5_head", v5, ["output0"], lambda o: yolov5_rows(o[0]), 0.25, 0.45,
         v5.backbone.p3, "/backbone/p3/")
    detr = fill(Detr())
    make("detr_head", detr, ["logits", "pred_boxes"], lambda o: detr_rows(o[0][0], o[1][0]),
         0.3, 1.0, detr.backbone[2], "/backbone/backbone.2/")
    make_segmenter()


if __name__ == "__main__":
    main()
