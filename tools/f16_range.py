"""Whether the values camlens stores in f16 (`--precision f16`: every dense convolution's and hidden
linear layer's output, BatchNorm folded in, before it is cast back to f32; grouped convolutions
stay f32) stay inside f16's range
(largest finite 65504; below 6.1e-5 precision thins out) on the models camlens ships and
benchmarks: the shipped EfficientNet-Lite0 and the formula-weight ResNet-18 and VGG-16 of the
GPU and CPU benchmarks, over ImageNet validation photos, whole and as ScoreCAM++ masks them
(each photo times tanh of each upsampled channel of the target layer, the largest activations).

    python3 tools/f16_range.py [N_PHOTOS] > results/f16-range.md
"""
import glob
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
from bench_peers import load_model, prepare  # noqa: E402

F16_MAX = 65504.0
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PHOTOS = sorted(glob.glob(os.path.join(HERE, "..", "..", "shared", "data", "imagenet-val", "images", "*")))[:N]
# VGG-16 on the CPU takes minutes a photo here with 32 masks: a quarter of the photos.
MODELS = [("lite0", None, N), ("resnet18", "out/resnet18-formula.safetensors", N),
          ("vgg16", "out/vgg16-formula.safetensors", max(N // 4, 1))]


def stored_outputs(model):
    """The modules whose outputs camlens keeps in f16: a dense convolution with its BatchNorm
    folded (the BatchNorm's output), one without, and every linear layer but the last."""
    mods = list(model.named_modules())
    out = []
    for i, (name, m) in enumerate(mods):
        if isinstance(m, nn.Conv2d) and m.groups == 1:
            nxt = mods[i + 1][1] if i + 1 < len(mods) else None
            out.append(mods[i + 1] if isinstance(nxt, nn.BatchNorm2d) else (name, m))
    linears = [(n, m) for n, m in mods if isinstance(m, nn.Linear)]
    return out + linears[:-1]


def main():
    print(f"# f16 range of the values camlens stores in f16\n\n`python3 tools/f16_range.py {N}`: "
          f"the first ImageNet validation photos, each whole and as 32 ScoreCAM++ masked inputs "
          f"(the target layer's most active channels). f16's largest finite value is {F16_MAX:.0f}.\n")
    print("| model | photos | largest magnitude | where | share of f16's range | non-zero values under 6.1e-5 |")
    print("|---|---|---|---|---|---|")
    for name, weights, photos in MODELS:
        if weights and not os.path.exists(weights):
            print(f"| {name} | – | – | {weights} missing (tools/write_formula_weights.py) | – | – |")
            continue
        model, target, _ = load_model(name, weights)
        model.eval()
        peak = {}
        tiny = [0, 0]

        def hook(key):
            def f(_m, _i, o):
                a = o.detach().abs()
                peak[key] = max(peak.get(key, 0.0), float(a.max()))
                nz = a[a > 0]
                tiny[0] += int((nz < 6.1e-5).sum())
                tiny[1] += int(nz.numel())
            return f

        for key, m in stored_outputs(model):
            m.register_forward_hook(hook(key))
        acts = {}
        target.register_forward_hook(lambda _m, _i, o: acts.__setitem__("a", o.detach()))
        recipe = "lite0" if name == "lite0" else "torchvision"
        with torch.no_grad():
            for path in PHOTOS[:photos]:
                x = prepare(path, recipe)
                model(x)
                a = acts["a"][0]
                top = a.flatten(1).amax(1).argsort(descending=True)[:32]
                up = F.interpolate(a[top][None], size=x.shape[-2:], mode="bilinear",
                                   align_corners=False)[0]
                masks = torch.tanh(up / up.flatten(1).amax(1).clamp_min(1e-12)[:, None, None])
                model(x * masks[:, None])
        key = max(peak, key=peak.get)
        print(f"| {name} | {photos} | {peak[key]:.1f} | {key} | {peak[key] / F16_MAX:.2%} | "
              f"{tiny[0] / max(tiny[1], 1):.3%} |")


if __name__ == "__main__":
    main()
