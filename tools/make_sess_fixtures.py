"""pytorch-grad-cam 1.5.7's SESS (base GradCAM, its defaults: twelve scales, windows of the
input's size, mean fusion, Gaussian blur) on ResNet-18 with the fixture formula's weights
(fixture_formula.py), layer4, formula input: its whole call. Writes
tests/fixtures/cam/resnet18.sess.f32 (224×224 float32, little-endian).

    pip install torch torchvision grad-cam==1.5.7 opencv-python-headless
    python3 tools/make_sess_fixtures.py
"""
import os

import torch
from pytorch_grad_cam.sess import SESS
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fixture_formula import input_tensor
from make_cam_fixtures import OUT, model


def main():
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with torch.no_grad():
        cls = int(m(x).argmax())
    cam = SESS(m, [m.layer4])
    final = cam(x, [ClassifierOutputTarget(cls)])[0]
    final.astype("<f4").tofile(os.path.join(OUT, "resnet18.sess.f32"))
    print("class", cls, final.shape, float(final.min()), float(final.max()))


if __name__ == "__main__":
    main()
