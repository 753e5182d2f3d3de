#!/usr/bin/env python3
"""Real architectures as ONNX graphs without their weights, for camlens' per-architecture tests
(tests/fixtures/onnx/arch/). Each torchvision classifier gets weights from the fixture formula's noise
(tools/fixture_formula.py `noise`, mirrored by tests/integration/common.rs), is exported by PyTorch's TorchScript exporter
(opset 17, dynamic batch, batch norms kept as nodes so every weight keeps its module name),
and the file is written with every formula weight's data removed: a few hundred KB instead of
100 MB. The test refills them by the same formula, so the tests need no Python.

For the fixture input (x_j = 1.5 sin(0.0131 j + 0.5) over [1, 3, S, S]) it writes
`<name>.json`: onnxruntime's logits of the refilled file, and pytorch-grad-cam's GradCAM,
GradCAM++, XGradCAM and LayerCAM maps on the PyTorch original at the module that matches
camlens' layer, for the top class: raw (at the layer's resolution, before ReLU and
normalisation, so that a map that is negative everywhere is still compared), and XGradCAM once
more from a float64 run of the same model (`xgradcam_f64`), which tells which float32 side is
off where XGradCAM's per-channel sums cancel.

    pip install torch torchvision timm onnx onnxruntime grad-cam==1.5.7
    python3 tools/make_arch_fixtures.py [name …]
    python3 tools/make_arch_fixtures.py --maps-only [name …]   # the JSON only; graphs kept
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnx import numpy_helper
from pytorch_grad_cam import (
    AblationCAM, EigenCAM, EigenGradCAM, FEM, GradCAM, GradCAMElementWise, GradCAMPlusPlus, HiResCAM,
    KPCA_CAM, LayerCAM, ScoreCAM, XGradCAM,
)
from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fixture_formula import input_tensor, noise as formula
from pgc_extra import finercam_raw, shapleycam_raw

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx", "arch")

# name: (input size, the PyTorch module, camlens' layer for it, camlens' default layer)
ARCHS = {
    "resnet50": (224, "layer4", "/layer4/layer4.2/relu_2/Relu", None),
    "mobilenet_v3_large": (224, "features", "/features/features.16/features.16.2/HardSwish", None),
    "efficientnet_b0": (224, "features", "/features/features.8/features.8.2/Mul", None),
    # DenseNet applies F.relu(features, inplace=True) after `features`: pytorch-grad-cam's
    # activations there are overwritten by that ReLU while its gradients are taken before it, a
    # mix of two layers; its last dense block is one layer on both sides.
    "densenet121": (224, "features.denseblock4", "/features/denseblock4/Concat", "/Relu"),
    "convnext_tiny": (224, "features", "/features/features.7/features.7.2/Add", None),
    "regnet_y_400mf": (224, "trunk_output", "/trunk_output/block4/block4-5/activation/Relu", None),
    "inception_v3": (299, "Mixed_7c", "/Mixed_7c/Concat", None),
    # Exported by the dynamo exporter (its node names are module paths and operations).
    "resnet18_dynamo": (224, "layer4", "layer4.1.relu/relu_16", None),
    # Tokens: pytorch-grad-cam's ViT recipe (the last block's first norm, class token dropped,
    # 14×14 grid) is camlens' default layer.
    "vit_b_16": (224, "encoder.layers.encoder_layer_11.ln_1",
                 "encoder.layers.encoder_layer_11.ln_1/layer_norm_22", None),
    # Small enough for ScoreCAM's one forward pass per channel.
    "small_cnn": (32, "features", "/features/features.3/Relu", None),
    # timm, TorchScript exporter: tokens with a class token, and Swin-T's windowed stages.
    "timm_vit_tiny_patch16_224": (224, "blocks.11.norm1",
                                  "/blocks/blocks.11/norm1/LayerNormalization", None),
    "timm_swin_tiny_patch4_window7_224": (224, "layers.3.blocks.1",
                                          "/layers/layers.3/blocks/blocks.1/Add_1", None),
    # torchvision's ViT through the TorchScript exporter: nn.MultiheadAttention's reshapes are
    # typed by camlens (ranks.rs) before the parser reads them.
    "vit_b_16_torchscript": (224, "encoder.layers.encoder_layer_11.ln_1",
                             "/encoder/layers/encoder_layer_11/ln_1/LayerNormalization", None),
    # torchvision's Swin-T: channels-last stages, its shifted-window mask built with ScatterND.
    "swin_t": (224, "features", "/features/features.7/features.7.1/Add_1", "/permute/Transpose"),
}
# The dynamo exporter where the TorchScript one writes Reshapes that the parser cannot type.
DYNAMO = {"resnet18_dynamo", "vit_b_16"}


class SmallCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU())
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def tokens_to_map(t):
    """pytorch-grad-cam's reshape_transform for ViTs: class token dropped, 14×14 grid."""
    return t[:, 1:, :].reshape(t.size(0), 14, 14, t.size(2)).permute(0, 3, 1, 2)


def swin_to_map(t):
    """pytorch-grad-cam's reshape_transform for Swin: the last stage's 7×7 tokens (timm keeps
    them as [B, H, W, C] or [B, H·W, C], depending on its version)."""
    return t.reshape(t.size(0), 7, 7, t.size(-1)).permute(0, 3, 1, 2)


def module(model, path):
    for part in path.split("."):
        model = getattr(model, part)
    return model


def low_res_cams(model, layer, x, cls, reshape):
    out = {}
    methods = [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus),
               ("xgradcam", XGradCAM), ("layercam", LayerCAM)]
    if x.shape[-1] <= 64:
        methods.append(("scorecam", ScoreCAM))
    for key, Cam in methods:
        cam = Cam(model=model, target_layers=[layer], reshape_transform=reshape)
        logits = cam.activations_and_grads(x)
        model.zero_grad()
        target = ClassifierOutputTarget(cls)
        target(logits[0]).backward(retain_graph=True)
        acts = cam.activations_and_grads.activations[0].cpu().numpy()
        grads = cam.activations_and_grads.gradients[0].cpu().numpy()
        raw = cam.get_cam_image(x, layer, [target], acts, grads, False)[0]
        if key == "gradcam":
            # A map whose range is a tiny part of its terms' magnitude cannot be compared in
            # float32 (both sides round differently): refuse such a layer here.
            w = grads[0].mean(axis=(1, 2))
            terms = np.tensordot(np.abs(w), np.abs(acts[0]), 1).max()
            conditioning = float(np.ptp(raw) / terms)
            assert conditioning > 1e-2, f"GradCAM's range is {conditioning:.1e} of its terms"
        assert np.ptp(raw) > 0, f"{key}: a flat reference map"
        out[key] = raw.astype(np.float32).ravel().tolist()
        cam.activations_and_grads.release()
    return out, list(raw.shape)


# The methods beyond the paper's (issue 28), written as `more_maps` for the archs named here.
MORE = [("hirescam", HiResCAM), ("gradcam-elementwise", GradCAMElementWise),
        ("eigengradcam", EigenGradCAM), ("eigencam", EigenCAM), ("kpcacam", KPCA_CAM),
        ("fem", FEM)]
MORE_ARCHS = {"resnet50", "small_cnn", "vit_b_16", "convnext_tiny", "mobilenet_v3_large"}


def more_cams(model, layer, x, cls, reshape):
    """pytorch-grad-cam's raw maps (before ReLU) of the MORE methods."""
    hooks = GradCAM(model=model, target_layers=[layer], reshape_transform=reshape)
    logits = hooks.activations_and_grads(x)
    model.zero_grad()
    target = ClassifierOutputTarget(cls)
    target(logits[0]).backward(retain_graph=True)
    acts = hooks.activations_and_grads.activations[0].cpu().numpy()
    grads = hooks.activations_and_grads.gradients[0].cpu().numpy()
    hooks.activations_and_grads.release()
    out = {}
    for key, Cam in MORE:
        cam = Cam(model=model, target_layers=[layer], reshape_transform=reshape)
        raw = cam.get_cam_image(x, layer, [target], acts, grads, False)[0]
        cam.activations_and_grads.release()
        out[key] = np.asarray(raw, dtype=np.float32).ravel().tolist()
    finer, main = finercam_raw(model, layer, x, reshape)
    assert main == cls, (main, cls)
    out["finercam"] = finer.ravel().tolist()
    out["shapleycam"] = shapleycam_raw(model, layer, x, cls, reshape).ravel().tolist()
    if acts.min() == 0:
        # AblationCAM zeroes a channel after a ReLU; elsewhere its ablation value drifts within
        # a batch (see camlens' family/ablation.rs), which camlens does not copy.
        cam = AblationCAM(model=model, target_layers=[layer], reshape_transform=reshape,
                          batch_size=64)
        raw = cam.get_cam_image(x, layer, [target], acts, grads, False)[0]
        cam.activations_and_grads.release()
        out["ablationcam"] = np.asarray(raw, dtype=np.float32).ravel().tolist()
    if x.shape[-1] <= 64:
        out.update(torchcam_score_cams(model, layer, x, cls, acts.shape[1]))
    return out


def torchcam_score_cams(model, layer, x, cls, channels):
    """torch-cam's SS-CAM (on camlens' noise, seed 5) and IS-CAM, two samples each: one
    forward pass per channel and sample, so small models only."""
    from torchcam.methods import ISCAM, SSCAM
    from smoothgrad_noise import sscam_noise
    size = x.shape[-1]
    out = {}
    for key, Cam in [("sscam", SSCAM), ("iscam", ISCAM)]:
        cam = Cam(model, layer, num_samples=2, input_shape=tuple(x.shape[1:]))
        if key == "sscam":
            draws = iter(torch.from_numpy(sscam_noise(5, i, channels, size, 2.0))
                         for i in range(2))
            cam._distrib.sample = lambda shape: next(draws)
        with torch.no_grad():
            scores = model(x)
        out[key] = cam(cls, scores, normalized=False)[0][0].double().ravel().tolist()
        cam.remove_hooks()
    return out


def xgradcam_f64(model, layer, x, cls, reshape):
    """XGradCAM's raw map from the model run in float64 (sums in float64 too)."""
    model = model.double()
    try:
        ag = ActivationsAndGradients(model, [layer], reshape)
        logits = ag(x.double())
        assert int(logits[0].argmax()) == cls, "float64 changes the top class"
        model.zero_grad()
        logits[0, cls].backward()
        a = ag.activations[0][0].numpy().astype(np.float64)
        g = ag.gradients[0][0].numpy().astype(np.float64)
        ag.release()
    finally:
        model.float()
    w = (g * a).sum(axis=(1, 2)) / (a.sum(axis=(1, 2)) + 1e-7)
    return np.tensordot(w, a, 1).ravel().tolist()


def formula_model(name):
    """The PyTorch model of `name` with the fixture formula's weights, and their names."""
    torch.manual_seed(0)
    kwargs = {"init_weights": False, "aux_logits": False} if name == "inception_v3" else {}
    arch = name.removesuffix("_dynamo").removesuffix("_torchscript")
    if arch == "small_cnn":
        model = SmallCnn().eval()
    elif arch.startswith("timm_"):
        import timm
        model = timm.create_model(arch.removeprefix("timm_"), pretrained=False).eval()
    else:
        model = getattr(torchvision.models, arch)(weights=None, **kwargs).eval()
    state = model.state_dict()
    filled = {k: torch.from_numpy(formula(k, list(v.shape))) for k, v in state.items()
              if v.dtype == torch.float32}
    model.load_state_dict({**state, **filled})
    return model, filled


def make(name, maps_only=False):
    size, module_path, layer_name, default = ARCHS[name]
    model, filled = formula_model(name)
    path = os.path.join(OUT, f"{name}.onnx")
    if maps_only:
        return remake_maps(name, model, size, module_path)
    if name in DYNAMO:
        batch = torch.export.Dim("N", min=1, max=1024)
        torch.onnx.export(model, (torch.zeros(2, 3, size, size),), path, input_names=["x"],
                          output_names=["logits"], dynamic_shapes={"x": {0: batch}},
                          opset_version=18, dynamo=True, external_data=False,
                          optimize=False)
    else:
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), path, input_names=["x"],
                          output_names=["logits"],
                          dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                          dynamo=False, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    x = input_tensor([1, 3, size, size])
    logits = ort.InferenceSession(path).run(None, {"x": x})[0][0]
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x))[0].numpy()
    assert np.abs(logits - torch_logits).max() <= 1e-3 * np.ptp(torch_logits), name
    cls = int(np.argmax(logits))
    reshape = (tokens_to_map if "vit" in arch else swin_to_map if "swin" in arch else None)
    maps, shape = low_res_cams(model, module(model, module_path), torch.from_numpy(x), cls,
                               reshape)
    f64 = xgradcam_f64(model, module(model, module_path), torch.from_numpy(x), cls, reshape)
    more = (more_cams(model.float(), module(model, module_path), torch.from_numpy(x), cls,
                      reshape) if name in MORE_ARCHS else None)
    # Strip what the formula rebuilds; anything else (shape constants) stays in the file.
    m = onnx.load(path)
    stripped = 0
    for init in m.graph.initializer:
        if init.name in filled and init.data_type == onnx.TensorProto.FLOAT:
            want = formula(init.name, list(init.dims))
            assert np.array_equal(numpy_helper.to_array(init), want), init.name
            init.ClearField("raw_data")
            init.ClearField("float_data")
            stripped += 1
    unfilled = [i.name for i in m.graph.initializer if i.data_type == onnx.TensorProto.FLOAT
                and i.name not in filled and np.prod(i.dims) > 64]
    assert not unfilled, f"{name}: weights that are not module parameters: {unfilled[:5]}"
    # The dynamo exporter's stack traces and FX details are most of a small graph's bytes;
    # the module scopes (which camlens names layers by) stay.
    for node in m.graph.node:
        keep = [p for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
        node.doc_string = ""
    onnx.save(m, path)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump({"size": size, "layer": layer_name, "default_layer": default or layer_name,
                   "class": cls, "logits": logits.tolist(), "map_shape": shape, "maps": maps,
                   "xgradcam_f64": f64, **({"more_maps": more} if more else {})}, f)
    print(f"{name}: {stripped} weights stripped, {os.path.getsize(path) // 1024} KB, class {cls}")


def remake_maps(name, model, size, module_path):
    """The maps of `<name>.json` computed again for its committed graph's class."""
    path = os.path.join(OUT, f"{name}.json")
    with open(path) as f:
        ref = json.load(f)
    x = torch.from_numpy(input_tensor([1, 3, size, size]))
    with torch.no_grad():
        cls = int(model(x)[0].argmax())
    assert cls == ref["class"], f"{name}: class {cls}, the fixture says {ref['class']}"
    arch = name.removesuffix("_dynamo").removesuffix("_torchscript")
    reshape = (tokens_to_map if "vit" in arch else swin_to_map if "swin" in arch else None)
    layer = module(model, module_path)
    ref["maps"], ref["map_shape"] = low_res_cams(model, layer, x, cls, reshape)
    ref["xgradcam_f64"] = xgradcam_f64(model, layer, x, cls, reshape)
    if name in MORE_ARCHS:
        ref["more_maps"] = more_cams(model.float(), layer, x, cls, reshape)
    with open(path, "w") as f:
        json.dump(ref, f)
    print(f"{name}: maps remade, class {cls}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    args = sys.argv[1:]
    maps_only = "--maps-only" in args
    for name in [a for a in args if a != "--maps-only"] or ARCHS:
        make(name, maps_only)
