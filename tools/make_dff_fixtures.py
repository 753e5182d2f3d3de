"""pytorch-grad-cam 1.5.7's Deep Feature Factorization (`dff`, scikit-learn's NMF with
init='random', random_state=0) on ResNet-18 with the fixture formula's weights
(fixture_formula.py), layer4, formula input, five concepts: each concept's vector, its map at
7×7, and the fc layer's softmax over the concept (pytorch-grad-cam's `run_dff_on_image` with
`computation_on_concepts=model.fc`). Writes tests/fixtures/cam/resnet18_dff.json.

    pip install torch torchvision grad-cam==1.5.7 scikit-learn
    python3 tools/make_dff_fixtures.py
"""
import json
import os

import numpy as np
import torch
from pytorch_grad_cam.feature_factorization.deep_feature_factorization import dff

from fixture_formula import input_tensor
from make_cam_fixtures import OUT, model

CONCEPTS = 5


def main():
    m = model()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224]))
    acts = {}
    hook = m.layer4.register_forward_hook(lambda mod, i, o: acts.setdefault("a", o.detach()))
    with torch.no_grad():
        cls = int(m(x).argmax())
    hook.remove()
    a = acts["a"].numpy()
    concepts, explanations = dff(a.copy(), n_components=CONCEPTS)
    with torch.no_grad():
        probs = torch.softmax(m.fc(torch.from_numpy(np.float32(concepts).T)), -1).numpy()
    out = {"class": cls, "layer": "layer4", "concepts": np.asarray(concepts, np.float64).T.tolist(),
           "maps": explanations[0].reshape(CONCEPTS, -1).astype(np.float64).tolist(),
           "probabilities": probs.astype(np.float64).tolist()}
    with open(os.path.join(OUT, "resnet18_dff.json"), "w") as f:
        json.dump(out, f)
    print("class", cls, "top classes", probs.argmax(-1))


if __name__ == "__main__":
    main()
