"""How much of each layer of EfficientNet-Lite0 a ScoreCAM++ forward pass computes when it runs
only where its masked input is not zero (camlens' src/models/region.rs): for every channel of the
target layer that is not zero everywhere, the bounding box of its mask `tanh(Up(A_k))`'s non-zero
pixels, carried through each convolution's window (TensorFlow "SAME" padding) as the positions
that see it; the share of each layer's positions and of the pass's multiply-adds.
The README's figures: the first 20 ImageNet validation photos and the bundled samples.

    python3 tools/region_share.py [IMAGES...]
"""
import glob
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
from bench_peers import prepare  # noqa: E402
from lite0_torch import BLOCKS, load  # noqa: E402


def layers():
    """(kernel, stride, input side, multiply-adds per output position) of every convolution."""
    out = [(3, 2, 224, 3 * 32 * 9)]
    c, size = 32, 112
    for k, s, e, c_out in BLOCKS:
        mid = c * e
        if e != 1:
            out.append((1, 1, size, c * mid))
        out.append((k, s, size, mid * k * k))
        size2 = math.ceil(size / s)
        out.append((1, 1, size2, mid * c_out))
        c, size = c_out, size2
    out.append((1, 1, 7, 320 * 1280))
    return out


def spans(lo, hi, convs):
    """The positions lo..hi (inclusive) seen through each convolution in turn."""
    for k, s, n, _ in convs:
        out = math.ceil(n / s)
        pad = max((out - 1) * s + k - n, 0) // 2
        lo, hi = max(0, math.ceil((lo + pad - k + 1) / s)), min(out - 1, (hi + pad) // s)
        yield hi - lo + 1, out


def main():
    root = os.path.join(HERE, "..")
    images = sys.argv[1:] or (
        sorted(glob.glob(os.path.join(root, "..", "shared", "data", "imagenet-val", "images", "*")))[:20]
        + sorted(glob.glob(os.path.join(root, "assets", "samples", "*")))
    )
    model = load(os.path.join(root, "models", "efficientnet-lite0-57934424.pth"))
    feats = {}
    model.head_act.register_forward_hook(lambda m, i, o: feats.__setitem__("a", o))
    convs = layers()
    per_layer = [[] for _ in convs]
    shares = []
    for path in images:
        with torch.no_grad():
            model(prepare(path, "lite0"))
        a = feats["a"][0]
        total = active = 0.0
        for k in range(a.shape[0]):
            if a[k].max() <= 0:
                continue
            mask = torch.tanh(F.interpolate(a[k][None, None], size=(224, 224), mode="bilinear",
                                            align_corners=False))[0, 0] != 0
            rows = torch.nonzero(mask.any(1)).flatten()
            cols = torch.nonzero(mask.any(0)).flatten()
            seen = zip(spans(rows.min().item(), rows.max().item(), convs),
                       spans(cols.min().item(), cols.max().item(), convs))
            for i, ((h, out), (w, _)) in enumerate(seen):
                mac = convs[i][3]
                total += out * out * mac
                active += h * w * mac
                per_layer[i].append(h * w / (out * out))
        shares.append(active / total)
        print(f"{os.path.basename(path)}: {active / total:.3f} of the multiply-adds")
    print(f"mean over {len(shares)} photos: {sum(shares) / len(shares):.3f}")
    for (k, s, n, _), v in zip(convs, per_layer):
        print(f"{k}×{k}/{s} on {n}×{n}: {sum(v) / len(v):.3f} of the positions")


if __name__ == "__main__":
    main()
