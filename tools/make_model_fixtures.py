"""Reference logits of torchvision models on the fixture formula's noise weights (fixture_formula.py:
noise, not the sine of `values`, whose weight matrices are rank 2 and would check about two
numbers per layer).

Writes tests/fixtures/models/<arch>.json: the state dict's float keys and shapes (so the Rust test
can rebuild the same weights in torchvision's key names) and the float64 reference logits for the
formula input. Also writes the small checkpoints of tests/fixtures/formats/ that exercise each file
format the loader accepts.

    pip install torch torchvision safetensors
    python3 tools/make_model_fixtures.py
"""
import json
import os

import torch
import torchvision

from fixture_formula import input_tensor, noise, values

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")


def fill(model):
    sd = model.state_dict()
    keys = []
    for k, t in sd.items():
        if t.is_floating_point():
            sd[k] = torch.from_numpy(noise(k, list(t.shape)))
            keys.append([k, list(t.shape)])
    model.load_state_dict(sd)
    return keys


def reference(name, ctor):
    torch.manual_seed(0)
    model = ctor(weights=None)
    keys = fill(model)
    model = model.double().eval()
    x = torch.from_numpy(input_tensor([1, 3, 224, 224])).double()
    with torch.no_grad():
        logits = model(x)[0].tolist()
    os.makedirs(os.path.join(ROOT, "models"), exist_ok=True)
    with open(os.path.join(ROOT, "models", f"{name}.json"), "w") as f:
        json.dump({"arch": name, "keys": keys, "logits": logits}, f)
    print(name, "logit range", min(logits), max(logits))


def formats():
    """A few tensors in each container, with values from the formula."""
    out = os.path.join(ROOT, "formats")
    os.makedirs(out, exist_ok=True)
    sd = {
        "conv.weight": torch.from_numpy(values("conv.weight", [4, 3, 3, 3])),
        "bn.running_var": torch.from_numpy(values("bn.running_var", [4])),
        "fc.bias": torch.from_numpy(values("fc.bias", [5])),
        "half.weight": torch.from_numpy(values("half.weight", [6])).half(),
        "double.weight": torch.from_numpy(values("double.weight", [2, 3])).double(),
        "bn.num_batches_tracked": torch.tensor(7),
    }
    torch.save(sd, os.path.join(out, "zip.pth"))
    torch.save(sd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in sd.items()},
                "optimizer": {"state": {0: {"momentum_buffer": torch.zeros(3)}}}},
               os.path.join(out, "nested.pth"))
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(out, "plain.safetensors"))


if __name__ == "__main__":
    formats()
    reference("resnet18", torchvision.models.resnet18)
    reference("resnet50", torchvision.models.resnet50)
    reference("vgg19", torchvision.models.vgg19)
    reference("vit_b_16", torchvision.models.vit_b_16)
