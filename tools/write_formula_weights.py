"""Writes a torchvision model (ResNet-18, or VGG-16 / ViT-B/16 when the file name says vgg16 /
vit_b_16) with formula
weights (fixture_formula.py) as safetensors, for benchmarks that need the same file on both sides
(no pretrained weights can be downloaded here; speed does not depend on the values).

    python3 tools/write_formula_weights.py out/resnet18-formula.safetensors
    python3 tools/write_formula_weights.py out/vgg16-formula.safetensors
    python3 tools/write_formula_weights.py out/vit_b_16-formula.safetensors
"""
import os
import sys

import torch
import torchvision
from safetensors.torch import save_file

from fixture_formula import values

out = sys.argv[1] if len(sys.argv) > 1 else "out/resnet18-formula.safetensors"
name = os.path.basename(out)
arch = next((a for a in ("vgg16", "vit_b_16") if a in name), "resnet18")
m = getattr(torchvision.models, arch)(weights=None)
sd = {k: (torch.from_numpy(values(k, list(t.shape))) if t.is_floating_point() else t)
      for k, t in m.state_dict().items()}
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
save_file({k: v.contiguous() for k, v in sd.items() if v.is_floating_point()}, out)
print(out)
