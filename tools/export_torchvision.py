#!/usr/bin/env python3
"""Exports torchvision classifiers with seeded random weights (speed and agreement do not depend
on the values) as ONNX (TorchScript exporter, opset 17, dynamic batch) and, for those camlens
also has natively, their weights as .pth, so both paths run the same model.

    pip install torch torchvision onnx
    python3 tools/export_torchvision.py OUT_DIR resnet18 [mobilenet_v3_large …]
"""
import os
import sys

import torch
import torchvision

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name in sys.argv[2:]:
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)(weights=None).eval()
    size = 299 if name == "inception_v3" else 224
    torch.save(m.state_dict(), os.path.join(out, f"{name}.pth"))
    path = os.path.join(out, f"{name}.onnx")
    torch.onnx.export(m, (torch.randn(1, 3, size, size),), path, input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
                      opset_version=17, dynamo=False)
    print(path)
