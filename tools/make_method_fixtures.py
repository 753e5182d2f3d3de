"""Reference maps of the methods beyond the paper's (issue 28) on ResNet-18 with the fixture
formula's noise weights (fixture_formula.py), layer4, formula input: each map is
pytorch-grad-cam 1.5.7's own `get_cam_image` on the activations and gradients it hooks, before
its ReLU (and with `eigen_smooth` for six of them; with `aug_smooth`, GradCAM's and LayerCAM's
finished maps at input size in resnet18.augsmooth.*.f32). RandomCAM, being random, is given as the mean and variance of its map over 1000 of
NumPy's seeds. Writes tests/fixtures/cam/resnet18_methods.json.

    pip install torch torchvision grad-cam==1.5.7 torchcam scikit-learn
    python3 tools/make_method_fixtures.py
"""
import json
import os

import numpy as np
import torch
from pytorch_grad_cam import (
    AblationCAM, EigenCAM, EigenGradCAM, FEM, GradCAM, GradCAMElementWise, GradCAMPlusPlus,
    HiResCAM, KPCA_CAM, LayerCAM, RandomCAM, XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fixture_formula import input_tensor
from make_cam_fixtures import OUT, model
from pgc_extra import finercam_raw, shapleycam_raw

RANDOM_SEEDS = 1000


def main():
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with torch.no_grad():
        cls = int(m(x).argmax())
    target = [ClassifierOutputTarget(cls)]
    hooks = GradCAM(m, [m.layer4])
    hooks(x, target)
    acts = hooks.activations_and_grads.activations[0].cpu().numpy()
    grads = hooks.activations_and_grads.gradients[0].cpu().numpy()
    out = {"class": cls, "layer": "layer4", "maps": {}}
    for name, ctor in [("hirescam", HiResCAM), ("gradcam-elementwise", GradCAMElementWise),
                       ("eigengradcam", EigenGradCAM), ("eigencam", EigenCAM),
                       ("kpcacam", KPCA_CAM), ("fem", FEM)]:
        c = ctor(m, [m.layer4])
        raw = c.get_cam_image(x, m.layer4, target, acts, grads, False)[0]
        out["maps"][name] = np.asarray(raw, dtype=np.float64).ravel().tolist()
    finer, main = finercam_raw(m, m.layer4, x)
    assert main == cls, (main, cls)
    out["maps"]["finercam"] = finer.ravel().tolist()
    out["maps"]["shapleycam"] = shapleycam_raw(m, m.layer4, x, cls).ravel().tolist()
    ab = AblationCAM(m, [m.layer4], batch_size=64)
    out["maps"]["ablationcam"] = np.asarray(
        ab.get_cam_image(x, m.layer4, target, acts, grads, False)[0], dtype=np.float64
    ).ravel().tolist()
    # CAM: torch-cam's, from the fc layer's weights of the class.
    from torchcam.methods import CAM
    extractor = CAM(m, "layer4", "fc")
    with torch.no_grad():
        scores = m(x)
    cam_map = extractor(cls, scores, normalized=False)[0][0]
    extractor.remove_hooks()
    out["cam"] = {"weights": m.fc.weight[cls].detach().double().tolist(),
                  "map": cam_map.double().ravel().tolist()}
    # eigen_smooth: the first principal component of what each map sums over channels.
    out["eigen_smooth"] = {}
    for name, ctor in [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus),
                       ("xgradcam", XGradCAM), ("layercam", LayerCAM), ("hirescam", HiResCAM),
                       ("gradcam-elementwise", GradCAMElementWise)]:
        c = ctor(m, [m.layer4])
        raw = c.get_cam_image(x, m.layer4, target, acts, grads, True)[0]
        out["eigen_smooth"][name] = np.asarray(raw, dtype=np.float64).ravel().tolist()
    # aug_smooth: pytorch-grad-cam's whole call (six flipped and scaled copies, finished maps at
    # input size, mirrored back, averaged), as float32 files beside the JSON.
    for name, ctor in [("gradcam", GradCAM), ("layercam", LayerCAM)]:
        final = ctor(m, [m.layer4])(x, target, aug_smooth=True)[0]
        final.astype("<f4").tofile(os.path.join(OUT, f"resnet18.augsmooth.{name}.f32"))
    # SmoothGradCAM++: torch-cam's, its noise replaced by camlens' seeded noise (seed 5) so that
    # both sides run on the same noisy copies.
    from torchcam.methods import SmoothGradCAMpp
    from smoothgrad_noise import noise
    extractor = SmoothGradCAMpp(m, "layer4", num_samples=4, std=0.3)
    draws = iter(torch.from_numpy(noise(5, 4, [1, 3, 224, 224])))
    extractor._distrib.sample = lambda size: next(draws)
    scores = m(x)
    smooth = extractor(cls, scores, normalized=False)[0][0]
    extractor.remove_hooks()
    out["smoothgradcam++"] = {"seed": 5, "map": smooth.detach().double().ravel().tolist()}
    # Each of pytorch-grad-cam's own RandomCAM maps, over seeds.
    rc = RandomCAM(m, [m.layer4])
    maps = []
    for seed in range(RANDOM_SEEDS):
        np.random.seed(seed)
        maps.append(rc.get_cam_image(x, m.layer4, target, acts, grads, False)[0].ravel())
    maps = np.array(maps, dtype=np.float64)
    out["randomcam"] = {"seeds": RANDOM_SEEDS, "mean": maps.mean(0).tolist(),
                        "var": maps.var(0).tolist()}
    with open(os.path.join(OUT, "resnet18_methods.json"), "w") as f:
        json.dump(out, f)
    print("class", cls)


if __name__ == "__main__":
    main()
