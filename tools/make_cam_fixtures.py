"""Reference CAMs on ResNet-18 with the fixture formula's noise weights (fixture_formula.py), layer4,
formula input.

GradCAM, GradCAM++, XGradCAM, LayerCAM and ScoreCAM come from pytorch-grad-cam itself (its
get_cam_weights / get_cam_image on the activations and gradients it hooks). ScoreCAM++ and the
authors' ScoreCAM are computed here in PyTorch from their definitions in shared/docs/method.md.
Writes tests/fixtures/cam/resnet18.json (+ .f32 files for input-size maps).

    pip install torch torchvision grad-cam
    python3 tools/make_cam_fixtures.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from fixture_formula import input_tensor, noise

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "cam")


def model():
    m = torchvision.models.resnet18(weights=None)
    sd = m.state_dict()
    for k, t in sd.items():
        if t.is_floating_point():
            sd[k] = torch.from_numpy(noise(k, list(t.shape)))
    m.load_state_dict(sd)
    return m.eval()


def main():
    os.makedirs(OUT, exist_ok=True)
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    with torch.no_grad():
        logits = m(x)
    cls = int(logits.argmax())
    target = [ClassifierOutputTarget(cls)]
    out = {"class": cls, "layer": "layer4"}

    # Activations and gradients exactly as pytorch-grad-cam hooks them.
    cam = GradCAM(m, [m.layer4])
    cam(x, target)
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads = cam.activations_and_grads.gradients[0].cpu().numpy()
    out["activations_checksum"] = float(np.abs(acts).sum())
    out["zero_channels"] = int((acts[0].reshape(512, -1).max(1) == 0).sum())

    for name, ctor in [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus),
                       ("xgradcam", XGradCAM), ("layercam", LayerCAM)]:
        c = ctor(m, [m.layer4])
        entry = {}
        if name != "layercam":
            entry["weights"] = c.get_cam_weights(x, m.layer4, target, acts, grads)[0].tolist()
        entry["raw"] = c.get_cam_image(x, m.layer4, target, acts, grads, False)[0].ravel().tolist()
        out[name] = entry

    sc = ScoreCAM(m, [m.layer4])
    sc.batch_size = 32
    w = sc.get_cam_weights(x, m.layer4, target, acts, grads)
    out["scorecam-pgc"] = {
        "weights": w[0].tolist(),
        "raw": sc.get_cam_image(x, m.layer4, target, acts, grads, False)[0].ravel().tolist(),
    }

    a = torch.from_numpy(acts)  # [1, K, 7, 7]
    up = F.interpolate(a, size=(224, 224), mode="bilinear", align_corners=False)[0]  # [K,224,224]
    k = up.shape[0]
    with torch.no_grad():
        # ScoreCAM++, the authors' code: tanh gate on the raw upsampled activation, softmax prob.
        gate = torch.tanh(up)
        probs = []
        for i in range(0, k, 32):
            probs.append(F.softmax(m(x * gate[i:i + 32, None]), dim=1)[:, cls])
        s = torch.cat(probs)
        raw = (s[:, None, None] * gate).sum(0)
        out["scorecam++"] = {"weights": s.tolist()}
        raw.numpy().astype("<f4").tofile(os.path.join(OUT, "resnet18.scorecampp.raw.f32"))

        # ScoreCAM, as its authors define it: min-max masks, flat channels skipped, softmax prob.
        flat = up.reshape(k, -1)
        lo, hi = flat.min(1).values, flat.max(1).values
        weights = torch.zeros(k)
        for i in range(k):
            if hi[i] > lo[i]:
                mask = (up[i] - lo[i]) / (hi[i] - lo[i])
                weights[i] = F.softmax(m(x * mask), dim=1)[0, cls]
        out["scorecam"] = {
            "weights": weights.tolist(),
            "raw": (weights[:, None, None] * a[0]).sum(0).ravel().tolist(),
        }

    with open(os.path.join(OUT, "resnet18.json"), "w") as f:
        json.dump(out, f)
    print("class", cls, "zero channels", out["zero_channels"])


if __name__ == "__main__":
    main()
