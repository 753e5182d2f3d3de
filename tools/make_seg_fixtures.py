#!/usr/bin/env python3
"""Segmentation models as ONNX graphs without their weights (issue 29), for camlens' tests
(tests/fixtures/onnx/seg/): torchvision's FCN-ResNet50 and DeepLabV3-MobileNetV3-Large, 21
classes, the fixture formula's noise weights (tools/fixture_formula.py, refilled by the tests
as for tools/make_arch_fixtures.py), exported by PyTorch's TorchScript exporter at 128×128.

For the fixture input it writes `<name>.json`: onnxruntime's `out` logits of the refilled graph
(every 4th row and column: `[21, 32, 32]`), the per-pixel class (argmax over the classes, all
128×128 pixels), the class with the most pixels among those covering less than half the image,
and pytorch-grad-cam's GradCAM, GradCAM++ and
LayerCAM raw maps (before ReLU) at the backbone's last layer for that class with
`SemanticSegmentationTarget` over its predicted pixels (the class's logits summed over them),
on the PyTorch original (its `out`, as pytorch-grad-cam's segmentation tutorial wraps it), and
GradCAM++ again from a float64 run.

    pip install torch torchvision onnx onnxruntime grad-cam==1.5.7
    python3 tools/make_seg_fixtures.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnx import numpy_helper
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM
from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

from fixture_formula import input_tensor, noise as formula

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx", "seg")
SIZE = 128
# name: (the backbone's last module, camlens' name for its output)
MODELS = {
    "fcn_resnet50": ("backbone.layer4", "/backbone/layer4/layer4.2/relu_2/Relu"),
    "deeplabv3_mobilenet_v3_large": ("backbone.16",
                                     "/backbone/backbone.16/backbone.16.2/HardSwish"),
}


class Out(torch.nn.Module):
    """The model's `out` logits alone (pytorch-grad-cam's SegmentationModelOutputWrapper)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def formula_model(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models.segmentation, name)(
        weights=None, weights_backbone=None, num_classes=21).eval()
    state = model.state_dict()
    filled = {k: torch.from_numpy(formula(k, list(v.shape))) for k, v in state.items()
              if v.dtype == torch.float32}
    model.load_state_dict({**state, **filled})
    return model, filled


def module(model, path):
    for part in path.split("."):
        model = model[part] if part.isdigit() else getattr(model, part)
    return model


def cams(model, layer, x, cls, mask):
    out = {}
    target = SemanticSegmentationTarget(cls, mask)
    for key, Cam in [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus),
                     ("layercam", LayerCAM)]:
        cam = Cam(model=model, target_layers=[layer])
        outputs = cam.activations_and_grads(x)
        model.zero_grad()
        target(outputs[0]).backward(retain_graph=True)
        acts = cam.activations_and_grads.activations[0].cpu().numpy()
        grads = cam.activations_and_grads.gradients[0].cpu().numpy()
        raw = cam.get_cam_image(x, layer, [target], acts, grads, False)[0]
        assert np.ptp(raw) > 0, f"{key}: a flat reference map"
        out[key] = raw.astype(np.float32).ravel().tolist()
        cam.activations_and_grads.release()
    return out, list(raw.shape)


def make(name):
    module_path, layer_name = MODELS[name]
    model, filled = formula_model(name)
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(model, (torch.zeros(1, 3, SIZE, SIZE),), path, input_names=["x"],
                      output_names=["out"], dynamic_axes={"x": {0: "N"}, "out": {0: "N"}},
                      opset_version=17, dynamo=False, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    x = input_tensor([1, 3, SIZE, SIZE])
    out = ort.InferenceSession(path).run(["out"], {"x": x})[0][0]
    wrapped = Out(model).eval()
    with torch.no_grad():
        torch_out = wrapped(torch.from_numpy(x))[0].numpy()
    assert np.abs(out - torch_out).max() <= 1e-3 * np.ptp(torch_out), name
    labels = out.argmax(0)
    # The class with the most pixels among those that cover less than half the image (a region
    # with pixels outside it, so that the mask matters), else the largest.
    counts = np.bincount(labels.ravel(), minlength=21)
    partial = np.where(counts < labels.size // 2, counts, 0)
    cls = int(partial.argmax() if partial.max() > 0 else counts.argmax())
    mask = (labels == cls).astype(np.float32)
    maps, shape = cams(wrapped, module(model, module_path), torch.from_numpy(x), cls, mask)
    # GradCAM++ once more from a float64 run: where Σ A·g³ nearly cancels 2g² (HardSwish
    # activations are negative in places) its float32 weights are ill-conditioned.
    f64, _ = cams(Out(model.double()).eval(), module(model, module_path),
                  torch.from_numpy(x).double(), cls, mask.astype(np.float64))
    model.float()
    m = onnx.load(path)
    names = [n.name for n in m.graph.node]
    assert layer_name in names, layer_name
    for init in m.graph.initializer:
        if init.name in filled and init.data_type == onnx.TensorProto.FLOAT:
            assert np.array_equal(numpy_helper.to_array(init), formula(init.name, list(init.dims)))
            init.ClearField("raw_data")
            init.ClearField("float_data")
    unfilled = [i.name for i in m.graph.initializer if i.data_type == onnx.TensorProto.FLOAT
                and i.name not in filled and np.prod(i.dims) > 64]
    assert not unfilled, f"{name}: weights that are not module parameters: {unfilled[:5]}"
    onnx.save(m, path)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump({"size": SIZE, "layer": layer_name, "class": cls,
                   "pixels": int(mask.sum()), "out_every_4th": out[:, ::4, ::4].ravel().tolist(),
                   "labels": labels.ravel().astype(int).tolist(), "map_shape": shape,
                   "maps": maps, "gradcampp_f64": f64["gradcam++"]}, f)
    print(f"{name}: {os.path.getsize(path) // 1024} KB, class {cls} on {int(mask.sum())} "
          f"pixels, map {shape}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name in MODELS:
        make(name)
