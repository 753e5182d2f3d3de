"""pytorch-grad-cam 1.5.7's RefineCAM (base GradCAM++) on ResNet-18 with the fixture formula's
weights (fixture_formula.py), formula input, layers layer2, layer3 and layer4 (camlens' default
for layer4: the target layer and the ends of the two stages before it). Its whole call: each
layer's finished map at input size, their product, min-max. Writes
tests/fixtures/cam/resnet18.refinecam.f32 (224×224 float32, little-endian).

    pip install torch torchvision grad-cam==1.5.7
    python3 tools/make_refine_fixtures.py
"""
import os

import torch
from pytorch_grad_cam.refine_cam import RefineCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fixture_formula import input_tensor
from make_cam_fixtures import OUT, model


def main():
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with torch.no_grad():
        cls = int(m(x).argmax())
    cam = RefineCAM(m, [m.layer2, m.layer3, m.layer4])
    final = cam(x, [ClassifierOutputTarget(cls)])[0]
    final.astype("<f4").tofile(os.path.join(OUT, "resnet18.refinecam.f32"))
    print("class", cls, final.shape, float(final.min()), float(final.max()))


if __name__ == "__main__":
    main()
