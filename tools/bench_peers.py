"""Times the Python peers on the same model, input and machine as `camlens bench`:
pytorch-grad-cam (GradCAM, GradCAM++, XGradCAM, LayerCAM, ScoreCAM and AblationCAM at batch 32,
HiResCAM, GradCAM element-wise, EigenGradCAM, FinerCAM, ShapleyCAM, EigenCAM, KPCA-CAM, FEM,
RandomCAM) and torch-cam (GradCAM, GradCAM++, XGradCAM, LayerCAM, ScoreCAM). Median of --runs
after one warm-up run; --only restricts to some camlens ids.

    python3 tools/bench_peers.py --model lite0 --out bench/peers-cpu.json
    python3 tools/bench_peers.py --model resnet18 --weights out/resnet18-formula.safetensors ...
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
HERE = os.path.dirname(__file__)


def prepare(path, recipe):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    side = int(0.875 * min(w, h))
    x0, y0 = (w - side + 1) // 2, (h - side + 1) // 2
    img = img.crop((x0, y0, x0 + side, y0 + side))
    if recipe == "lite0":
        img = img.resize((224, 224), Image.BICUBIC)
        a = (np.asarray(img, dtype=np.float32) - 127.0) / 128.0
    else:
        img = img.resize((224, 224), Image.BILINEAR)
        a = (np.asarray(img, dtype=np.float32) / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    return torch.from_numpy(a.astype(np.float32).transpose(2, 0, 1))[None]


def load_model(name, weights):
    if name == "lite0":
        from lite0_torch import load
        m = load(weights or os.path.join(HERE, "..", "models", "efficientnet-lite0-57934424.pth"))
        return m, m.head_act, "head_act"
    m = getattr(torchvision.models, name)(weights=None)
    if weights:
        from safetensors.torch import load_file
        m.load_state_dict(load_file(weights))
    if name == "vit_b_16":
        # LeGrad's blocks are chosen below; the layer is camlens' default (the last ln_1).
        return m.eval(), m.encoder.layers[-1].ln_1, "encoder.layers.encoder_layer_11.ln_1"
    if name == "vgg16":
        # camlens' default VGG layer and pytorch-grad-cam's usual one: the last pool (512×7×7).
        return m.eval(), m.features[30], "features.30"
    if name in LAST_FEATURES:
        # camlens' default layer of the ONNX export (`camlens layers`): the last stage's output.
        i = LAST_FEATURES[name]
        return m.eval(), m.features[i], f"features.{i}"
    return m.eval(), m.layer4, "layer4"


# The index of the module in `features` whose output camlens' ONNX export explains by default:
# MobileNetV3-Large's last 960×7×7 convolution (after its HardSwish), EfficientNet-B0's
# 1280×7×7 head convolution, ConvNeXt-Tiny's last stage (768×7×7), MobileNetV2's last
# 1280×7×7 convolution (after its ReLU6).
LAST_FEATURES = {"mobilenet_v3_large": 16, "efficientnet_b0": 8, "convnext_tiny": 7,
                 "mobilenet_v2": 18}


def vit_tokens(t):
    """pytorch-grad-cam's reshape for ViT-B/16: the class token set aside, 196 tokens as 14×14
    (what camlens reads of the same layer)."""
    return t[:, 1:, :].reshape(t.size(0), 14, 14, t.size(2)).permute(0, 3, 1, 2)


def cpu_name():
    """The CPU's model name, where Linux says it (rows measured on different machines are
    compared by their ratios only)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_time(fn, runs, sync):
    fn()
    sync()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def refine_layers(model, name):
    """RefineCAM's earlier layers as camlens picks them by default: the ends of the two stages
    before the target layer."""
    if name == "lite0":
        return [model._blocks[4], model._blocks[10]]
    if name == "resnet18":
        return [model.layer2, model.layer3]
    return []


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="lite0",
                   choices=["lite0", "resnet18", "vgg16", "vit_b_16", "resnet50",
                            *LAST_FEATURES])
    p.add_argument("--weights")
    p.add_argument("--image", default=os.path.join(HERE, "..", "assets", "samples", "chelsea.png"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scorecam-runs", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--skip", default="", help="comma-separated peer methods to skip")
    p.add_argument("--only", default="", help="comma-separated method ids to time (default all)")
    p.add_argument("--score-samples", type=int, default=2,
                   help="SS-CAM's and IS-CAM's samples per channel (camlens: --score-samples)")
    p.add_argument("--out")
    a = p.parse_args()

    dev = torch.device(a.device)
    model, layer, layer_name = load_model(a.model, a.weights)
    model = model.to(dev)
    x = prepare(a.image, "lite0" if a.model == "lite0" else "torchvision").to(dev)
    cls = int(model(x).argmax())
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    rows = []
    skip = set(a.skip.split(","))

    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    targets = [ClassifierOutputTarget(cls)]
    only = set(filter(None, a.only.split(",")))
    slow = {"scorecam", "ablationcam"}
    for name, ctor in [("gradcam", pgc.GradCAM), ("gradcam++", pgc.GradCAMPlusPlus),
                       ("xgradcam", pgc.XGradCAM), ("layercam", pgc.LayerCAM),
                       ("hirescam", pgc.HiResCAM), ("gradcam-elementwise", pgc.GradCAMElementWise),
                       ("eigengradcam", pgc.EigenGradCAM), ("finercam", pgc.FinerCAM),
                       ("shapleycam", pgc.ShapleyCAM), ("eigencam", pgc.EigenCAM),
                       ("kpcacam", pgc.KPCA_CAM), ("fem", pgc.FEM), ("randomcam", pgc.RandomCAM),
                       ("scorecam", pgc.ScoreCAM), ("ablationcam", pgc.AblationCAM),
                       ("fullgrad", pgc.FullGrad)]:
        if f"pgc:{name}" in skip or (only and name not in only):
            continue
        # FullGrad finds its own layers (every Conv2d and BatchNorm2d with a bias).
        reshape = vit_tokens if a.model == "vit_b_16" else None
        cam = ctor(model, [] if name == "fullgrad" else [layer], reshape_transform=reshape)
        if name in ("scorecam", "ablationcam"):
            cam.batch_size = 32
        runs = a.scorecam_runs if name in slow else a.runs
        # FinerCAM builds its own target (the class against its nearest ones) when given none.
        tg = None if name == "finercam" else targets
        t = median_time(lambda: cam(x, tg), runs, sync)
        rows.append({"peer": "pytorch-grad-cam", "method": name, "median_ms": t * 1e3, "runs": runs})
        print(rows[-1], flush=True)

    # The wrappers and DFF: pytorch-grad-cam's whole calls, as camlens' tests compare them.
    from pytorch_grad_cam.refine_cam import RefineCAM
    from pytorch_grad_cam.sess import SESS
    from pytorch_grad_cam.feature_factorization.deep_feature_factorization import (
        DeepFeatureFactorization)
    earlier = refine_layers(model, a.model)
    for name in ["refinecam", "sess", "dff"]:
        if f"pgc:{name}" in skip or (only and name not in only):
            continue
        if name == "refinecam":
            cam = RefineCAM(model, earlier + [layer])
            fn = lambda: cam(x, targets)
        elif name == "sess":
            cam = SESS(model, [layer])
            fn = lambda: cam(x, targets)
        else:
            # The whole class as its tutorial runs it: forward, NMF, maps scaled to the input,
            # the concepts through the classifier (what camlens' DFF does too).
            head = model.fc if hasattr(model, "fc") else model._fc
            cam = DeepFeatureFactorization(model, layer, computation_on_concepts=head)
            fn = lambda: cam(x, n_components=5)
        runs = a.scorecam_runs if name == "sess" else a.runs
        t = median_time(fn, runs, sync)
        rows.append({"peer": "pytorch-grad-cam", "method": name, "median_ms": t * 1e3, "runs": runs})
        print(rows[-1], flush=True)

    # Guided backpropagation, and guided GradCAM as pytorch-grad-cam's recipe makes it (GradCAM,
    # then the guided gradient, multiplied).
    from pytorch_grad_cam import GuidedBackpropReLUModel
    for name in ["guided-backprop", "guided-gradcam"]:
        if f"pgc:{name}" in skip or (only and name not in only):
            continue
        gb_model = GuidedBackpropReLUModel(model, device=a.device)
        gradcam = pgc.GradCAM(model, [layer])

        def fn():
            gb = gb_model(x, cls)
            if name == "guided-gradcam":
                return gb * gradcam(x, targets)[0][:, :, None]
            return gb

        t = median_time(fn, a.runs, sync)
        rows.append({"peer": "pytorch-grad-cam", "method": name, "median_ms": t * 1e3,
                     "runs": a.runs})
        print(rows[-1], flush=True)

    import torchcam.methods as tc
    for name, ctor in [("gradcam", tc.GradCAM), ("gradcam++", tc.GradCAMpp),
                       ("xgradcam", tc.XGradCAM), ("layercam", tc.LayerCAM),
                       ("scorecam", tc.ScoreCAM), ("sscam", tc.SSCAM), ("iscam", tc.ISCAM),
                       ("cam", tc.CAM), ("smoothgradcam++", tc.SmoothGradCAMpp),
                       ("legrad", tc.LeGrad)]:
        if f"torchcam:{name}" in skip or (only and name not in only):
            continue
        kwargs = {"batch_size": 32} if name in ("scorecam", "sscam", "iscam") else {}
        if name in ("sscam", "iscam"):
            kwargs["num_samples"] = a.score_samples
        if name == "cam":
            kwargs["fc_layer"] = model.fc if hasattr(model, "fc") else model._fc
        if name == "legrad":
            # torch-cam's example, camlens' default: the last four encoder blocks.
            extractor = ctor(model, list(model.encoder.layers)[-4:])
        else:
            extractor = ctor(model, target_layer=layer_name, **kwargs)

        def run():
            if name in ("scorecam", "sscam", "iscam"):
                with torch.no_grad():
                    out = model(x)
            else:
                out = model(x)
            extractor(cls, out)
            model.zero_grad(set_to_none=True)

        runs = a.scorecam_runs if name in ("scorecam", "sscam", "iscam") else a.runs
        t = median_time(run, runs, sync)
        extractor.remove_hooks()
        rows.append({"peer": "torch-cam", "method": name, "median_ms": t * 1e3, "runs": runs})
        print(rows[-1], flush=True)

    report = {
        "model": a.model, "device": torch.cuda.get_device_name(0) if dev.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "class": cls, "rows": rows,
        "cpu": cpu_name(),
    }
    if a.out:
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
