#!/usr/bin/env python3
"""The built-in EfficientNet-Lite0 (the shipped checkpoint, tools/lite0_torch.py) exported to
ONNX, so the interpreter can be timed and compared against the native Lite0 on the same
weights (issue 30): `camlens bench --model lite0 --model OUT.onnx`.

TorchScript exporter, opset 17, input 224²; BatchNorm folded into the convolutions by the
exporter (eval mode); the TensorFlow "SAME" padding becomes a Pad before each strided
convolution, as it does in any TF-ported PyTorch model. Beside it, OUT's `<stem>.model.json`
gives the built-in's input recipe (TensorFlow's crop-then-resize, mean 127, std 128).

    pip install torch onnx
    python3 tools/export_lite0_onnx.py out/onnx/lite0.onnx
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from lite0_torch import load  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "out", "onnx", "lite0.onnx")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    model = load(os.path.join(ROOT, "models", "efficientnet-lite0-57934424.pth"))
    torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), out, input_names=["input"],
                      output_names=["logits"], opset_version=17, dynamo=False)
    # The built-in's input recipe (src/input/preprocess.rs, efficientnet_lite): TensorFlow's
    # centre crop, then a bicubic resize, (x - 127) / 128. Without it the export would be fed
    # torchvision's recipe, another input: other activations, other masks, another count of them.
    sidecar = os.path.splitext(out)[0] + ".model.json"
    with open(sidecar, "w") as f:
        json.dump({"size": 224, "crop_fraction": 0.875, "resample": "bicubic",
                   "mean": [127, 127, 127], "std": [128, 128, 128], "scale": 255,
                   "fit": "crop-first"}, f)
    print(f"{out}: EfficientNet-Lite0, the shipped weights; {sidecar}: its input recipe")


if __name__ == "__main__":
    main()
