#!/usr/bin/env python3
"""Deletion and insertion curves computed the way the RISE authors' `evaluation.py` computes
them (re-implemented here in PyTorch, independently of camlens), for tests/integration/curves.rs:
a torchvision ResNet-18 with the fixture formula's noise weights, the fixture input tensor
(tools/fixture_formula.py `input_tensor`), and an integer formula map with ties (ordered by
position, as NumPy's stable argsort of −L), 224 pixels per step.

    pip install torch torchvision scipy numpy
    python3 tools/make_curve_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(__file__))
from fixture_formula import input_tensor, noise  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "curves")
S, STEP = 224, 224


def the_map():
    """As tests/integration/curves.rs `map`: integers, many ties."""
    y, x = np.mgrid[0:S, 0:S].astype(np.int64)
    return ((x * 7919 + y * 104729) % 5003).astype(np.float32)


def gkern(klen=11, nsig=5):
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = gaussian_filter(inp, nsig)
    kern = np.zeros((3, 3, klen, klen), np.float32)
    for c in range(3):
        kern[c, c] = k
    return torch.from_numpy(kern)


def curve(model, x, order, c, mode):
    hw = S * S
    if mode == "deletion":
        start, finish = x.clone(), torch.zeros_like(x)
    else:
        start, finish = F.conv2d(x, gkern(), padding=5), x.clone()
    n = (hw + STEP - 1) // STEP
    scores = []
    with torch.no_grad():
        for i in range(n + 1):
            scores.append(float(torch.softmax(model(start), 1)[0, c]))
            if i < n:
                coords = order[STEP * i:STEP * (i + 1)]
                start.view(1, 3, hw)[0, :, coords] = finish.view(1, 3, hw)[0, :, coords]
    auc = (sum(scores) - scores[0] / 2 - scores[-1] / 2) / n
    return scores, auc


def main():
    os.makedirs(OUT, exist_ok=True)
    model = torchvision.models.resnet18(weights=None).eval()
    state = model.state_dict()
    model.load_state_dict({**state, **{k: torch.from_numpy(noise(k, list(v.shape)))
                                       for k, v in state.items() if v.dtype == torch.float32}})
    x = torch.from_numpy(input_tensor([1, 3, S, S]))
    with torch.no_grad():
        c = int(model(x).argmax())
    order = np.argsort(-the_map().reshape(-1), kind="stable")
    out = {"class": c}
    for mode in ["deletion", "insertion"]:
        scores, auc = curve(model, x, order, c, mode)
        out[mode] = {"scores": scores, "auc": auc}
        print(f"{mode}: AUC {auc:.6f}, {len(scores)} points, first {scores[0]:.4f} last {scores[-1]:.4f}")
    with open(os.path.join(OUT, "resnet18.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
