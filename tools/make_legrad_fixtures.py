"""torch-cam 0.5's LeGrad on torchvision's ViT-B/16 with the fixture formula's noise weights
(make_model_fixtures.py `fill`), formula input, the predicted class, on the last four encoder
blocks (torch-cam's example; camlens' default at the last layer): the map before normalisation,
14×14. Writes tests/fixtures/cam/vit_b_16.legrad.json. Then the same on the PyTorch original of
the ONNX ViT fixture (tools/make_arch_fixtures.py's formula weights and class), written as
tests/fixtures/onnx/arch/vit_b_16.legrad.f32 (14×14 float32, little-endian).

    pip install torch torchvision torchcam
    python3 tools/make_legrad_fixtures.py
"""
import json
import os

import torch
import torchvision
from torchcam.methods import LeGrad

from fixture_formula import input_tensor
from make_model_fixtures import ROOT, fill
import make_arch_fixtures as arch


def main():
    torch.manual_seed(0)
    m = torchvision.models.vit_b_16(weights=None)
    fill(m)
    m.eval()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with LeGrad(m, list(m.encoder.layers)[-4:]) as extractor:
        scores = m(x)
        cls = int(scores[0].argmax())
        cam = extractor(cls, scores, normalized=False)[0][0]
    out = {"class": cls, "blocks": [8, 9, 10, 11], "map": cam.double().ravel().tolist()}
    with open(os.path.join(ROOT, "cam", "vit_b_16.legrad.json"), "w") as f:
        json.dump(out, f)
    print("class", cls, tuple(cam.shape), float(cam.min()), float(cam.max()))
    onnx_original()


def onnx_original():
    m, _ = arch.formula_model("vit_b_16")
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with open(os.path.join(arch.OUT, "vit_b_16.json")) as f:
        cls = json.load(f)["class"]
    with LeGrad(m, list(m.encoder.layers)[-4:]) as extractor:
        scores = m(x)
        cam = extractor(cls, scores, normalized=False)[0][0]
    cam.numpy().astype("<f4").tofile(os.path.join(arch.OUT, "vit_b_16.legrad.f32"))
    print("onnx vit_b_16: class", cls, float(cam.min()), float(cam.max()))


if __name__ == "__main__":
    main()
