"""Reference maps of torch-cam 0.5's SS-CAM and IS-CAM on ResNet-18 with the fixture formula's
weights (fixture_formula.py), layer4, formula input, two samples each (the tests keep to two;
the methods' defaults are 35 and 10). SS-CAM's noise is replaced by camlens' seeded noise
(seed 5, smoothgrad_noise.sscam_noise) so that both sides mask with the very same noise.
Writes tests/fixtures/cam/resnet18_score.json.

    pip install torch torchvision torchcam
    python3 tools/make_score_fixtures.py
"""
import json
import os

import torch
from torchcam.methods import ISCAM, SSCAM

from fixture_formula import input_tensor
from make_cam_fixtures import OUT, model
from smoothgrad_noise import sscam_noise

SAMPLES = 2
SEED = 5


def main():
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with torch.no_grad():
        cls = int(m(x).argmax())
    out = {"class": cls, "layer": "layer4", "samples": SAMPLES, "seed": SEED}

    ss = SSCAM(m, "layer4", num_samples=SAMPLES, std=2.0)
    draws = iter(torch.from_numpy(sscam_noise(SEED, i, 512, 224, 2.0)) for i in range(SAMPLES))
    ss._distrib.sample = lambda size: next(draws)
    with torch.no_grad():
        scores = m(x)
    out["sscam"] = ss(cls, scores, normalized=False)[0][0].double().ravel().tolist()
    ss.remove_hooks()

    iscam = ISCAM(m, "layer4", num_samples=SAMPLES)
    with torch.no_grad():
        scores = m(x)
    out["iscam"] = iscam(cls, scores, normalized=False)[0][0].double().ravel().tolist()
    iscam.remove_hooks()

    with open(os.path.join(OUT, "resnet18_score.json"), "w") as f:
        json.dump(out, f)
    print("class", cls)


if __name__ == "__main__":
    main()
