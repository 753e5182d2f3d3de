"""pytorch-grad-cam 1.5.7's FullGrad and guided backpropagation on ResNet-18 with the fixture formula's weights
(fixture_formula.py), formula input, the predicted class: its whole call (the input gradient and
every Conv2d/BatchNorm2d bias gradient, per channel min-max, resized, summed, min-max). Writes
tests/fixtures/cam/resnet18.fullgrad.f32 (224×224 float32, little-endian), and the same for the
ONNX architectures of ONNX_ARCHS (their PyTorch originals, as tools/make_arch_fixtures.py builds
them) as tests/fixtures/onnx/arch/<name>.fullgrad.f32.

Guided backpropagation (`GuidedBackpropReLUModel`, the input gradient with guided ReLUs,
[S, S, 3]) is written as camlens shows it, per pixel the largest magnitude over the channels,
in <name>.guided.f32; guided GradCAM (GradCAM's finished map at the layer times that gradient,
pytorch-grad-cam's recipe) likewise in <name>.guided-gradcam.f32.

    pip install torch torchvision grad-cam==1.5.7 onnx onnxruntime
    python3 tools/make_input_gradient_fixtures.py
"""
import json
import os

import torch
import numpy as np
from pytorch_grad_cam import FullGrad, GradCAM, GuidedBackpropReLUModel
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fixture_formula import input_tensor
from make_cam_fixtures import OUT, model
import make_arch_fixtures as arch

# Batch norms as nodes (resnet50), convolutions with biases (small_cnn), a ViT's patch embedding.
ONNX_ARCHS = ["small_cnn", "resnet50", "vit_b_16"]


def guided(m, layer, x, cls, out, name):
    """Guided backpropagation and guided GradCAM, as camlens shows them."""
    cam = GradCAM(m, [layer])(x, [ClassifierOutputTarget(cls)])[0]
    gb = GuidedBackpropReLUModel(m, device="cpu")(x, cls)
    np.abs(gb).max(axis=2).astype("<f4").tofile(os.path.join(out, f"{name}.guided.f32"))
    (np.abs(gb * cam[:, :, None]).max(axis=2).astype("<f4")
     .tofile(os.path.join(out, f"{name}.guided-gradcam.f32")))


def main():
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with torch.no_grad():
        cls = int(m(x).argmax())
    cam = FullGrad(m, [])
    final = cam(x, [ClassifierOutputTarget(cls)])[0]
    final.astype("<f4").tofile(os.path.join(OUT, "resnet18.fullgrad.f32"))
    print("class", cls, final.shape, float(final.min()), float(final.max()),
          "layers", len(cam.bias_data))
    guided(m, m.layer4, x, cls, OUT, "resnet18")
    for name in ONNX_ARCHS:
        size = arch.ARCHS[name][0]
        m, _ = arch.formula_model(name)
        x = torch.from_numpy(input_tensor([1, 3, size, size]))
        with open(os.path.join(arch.OUT, f"{name}.json")) as f:
            cls = json.load(f)["class"]
        cam = FullGrad(m, [])
        final = cam(x, [ClassifierOutputTarget(cls)])[0]
        final.astype("<f4").tofile(os.path.join(arch.OUT, f"{name}.fullgrad.f32"))
        print(name, "class", cls, final.shape, "layers", len(cam.bias_data))
        if name != "vit_b_16":
            guided(m, arch.module(m, arch.ARCHS[name][1]), x, cls, arch.OUT, name)


if __name__ == "__main__":
    main()
