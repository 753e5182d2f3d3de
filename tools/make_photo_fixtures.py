#!/usr/bin/env python3
"""What PIL + torchvision make of photo files, for camlens' preprocessing tests
(tests/fixtures/photos/): torchvision's `Resize(256)` (Pillow's antialiased bilinear) then
`CenterCrop(224)`, from files, not tensors.

1. Synthetic photos of odd sizes and formats, drawn by an integer formula that
   tests/integration/photos.rs draws again (so only the expected crops are committed): each is
   written as a file, opened by PIL (`convert("RGB")`), resized and cropped; the 224×224 result is
   saved as `<name>.png`.
2. A real JPEG committed with the app (assets/samples/rocket.jpg, public domain): a torchvision
   ResNet-18 with the fixture formula's noise weights (tools/fixture_formula.py) gives its
   probabilities, and pytorch-grad-cam its GradCAM, GradCAM++, XGradCAM and LayerCAM at `layer4`
   (7×7, raw: before ReLU and normalisation) for the top class: `resnet18_jpeg.json`.

    pip install torch torchvision pillow grad-cam numpy
    python3 tools/make_photo_fixtures.py
"""
import json
import os
import struct
import sys
import tempfile
import zlib

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(__file__))
from fixture_formula import noise  # noqa: E402
from make_arch_fixtures import low_res_cams, module  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "photos")
JPEG = "assets/samples/rocket.jpg"

# name, width, height, format (as tests/integration/photos.rs `PHOTOS`)
PHOTOS = [
    ("landscape", 500, 333, "rgb8"),
    ("portrait", 333, 500, "rgb8"),
    ("tiny", 57, 43, "rgb8"),
    ("large", 1600, 1200, "rgb8"),
    ("half_offset", 259, 256, "rgb8"),
    ("grey", 300, 451, "grey8"),
    ("deep", 401, 300, "rgb16"),
]


def value(x, y, c):
    """The photo formula: smooth ramps, wrap-around edges and 9×7 blocks (integers only)."""
    return (x * x // 64 + y * 3 + c * 85 + ((x // 9 + y // 7) % 3) * 40) % 256


def draw(w, h, fmt):
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    if fmt == "grey8":
        return value(x, y, 0).astype(np.uint8)
    rgb = np.stack([value(x, y, c) for c in range(3)], axis=-1)
    if fmt == "rgb16":
        return (rgb * 256 + (x + y)[..., None] % 256).astype(np.uint16)
    return rgb.astype(np.uint8)


def png16(path, a):
    """A 16-bit RGB PNG (PIL cannot write one)."""
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[r].astype(">u2").tobytes() for r in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


TORCHVISION = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])


def photos():
    with tempfile.TemporaryDirectory() as tmp:
        for name, w, h, fmt in PHOTOS:
            path = os.path.join(tmp, name + ".png")
            a = draw(w, h, fmt)
            if fmt == "rgb16":
                png16(path, a)
            else:
                Image.fromarray(a).save(path)
            crop = TORCHVISION(Image.open(path).convert("RGB"))
            crop.save(os.path.join(OUT, name + ".png"))
            print(f"{name}: {w}×{h} {fmt} → {crop.size}")


def resnet18_jpeg():
    name = JPEG
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    state = model.state_dict()
    filled = {k: torch.from_numpy(noise(k, list(v.shape))) for k, v in state.items()
              if v.dtype == torch.float32}
    model.load_state_dict({**state, **filled})
    prepare = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = prepare(Image.open(os.path.join(HERE, "..", name)).convert("RGB"))[None]
    with torch.no_grad():
        probs = torch.softmax(model(x), 1)[0].numpy()
    cls = int(np.argmax(probs))
    maps, shape = low_res_cams(model, module(model, "layer4"), x, cls, None)
    with open(os.path.join(OUT, "resnet18_jpeg.json"), "w") as f:
        json.dump({"image": name, "class": cls,
                   "probs": probs.tolist(), "map_shape": shape, "maps": maps}, f)
    print(f"{name}: class {cls} p={probs[cls]:.4f}, top-5 {np.sort(probs)[-5:][::-1]}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    photos()
    resnet18_jpeg()
