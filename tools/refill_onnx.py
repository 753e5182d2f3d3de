"""Fills the weights the committed architecture graphs lack (tests/fixtures/onnx/arch, stored
without their weights) with the fixture formula's noise, exactly as the Rust tests refill them
(tests/integration/onnx_arch.rs), so that a whole model can run where no Rust test does (the lent
GPU machine's device-parity check in tools/gpu_check.sh).

Real-size weights do not fit in what is carried to the GPU machine, so this works in two steps:
here, the graph is rewritten to read every missing weight from ONNX external data (the graph
stays a few hundred kilobytes) and a manifest lists each weight's name, shape and offset; there,
`--write-data` writes the data file from the manifest with numpy alone (no onnx package there).

    python3 tools/refill_onnx.py efficientnet_b0 timm_vit_tiny_patch16_224 --out .gpudata/onnx
    python3 tools/refill_onnx.py --write-data .gpudata/onnx     # on the GPU machine
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from fixture_formula import noise  # noqa: E402

HERE = os.path.dirname(__file__)


def external(name: str, out_dir: str) -> str:
    """The graph, reading its missing weights from `NAME.onnx.data`, and `NAME.manifest.json`."""
    import onnx

    model = onnx.load(os.path.join(HERE, "..", "tests", "fixtures", "onnx", "arch", f"{name}.onnx"))
    data = f"{name}.onnx.data"
    offset, entries = 0, []
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and not init.raw_data and not init.float_data:
            length = 4 * int(np.prod(list(init.dims), dtype=np.int64))
            init.data_location = onnx.TensorProto.EXTERNAL
            del init.external_data[:]
            for k, v in (("location", data), ("offset", str(offset)), ("length", str(length))):
                e = init.external_data.add()
                e.key, e.value = k, v
            entries.append({"name": init.name, "dims": list(init.dims), "offset": offset})
            offset += length
    if len(entries) < 4:
        raise SystemExit(f"{name}: only {len(entries)} weights to fill")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.onnx")
    onnx.save(model, path)
    with open(os.path.join(out_dir, f"{name}.manifest.json"), "w") as f:
        json.dump({"data": data, "size": offset, "weights": entries}, f)
    return path


def write_data(out_dir: str) -> None:
    for manifest in sorted(glob.glob(os.path.join(out_dir, "*.manifest.json"))):
        with open(manifest) as f:
            m = json.load(f)
        buf = np.zeros(m["size"] // 4, dtype="<f4")
        for w in m["weights"]:
            v = noise(w["name"], w["dims"]).ravel()
            buf[w["offset"] // 4: w["offset"] // 4 + v.size] = v
        buf.tofile(os.path.join(out_dir, m["data"]))
        print(os.path.join(out_dir, m["data"]), m["size"])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="*")
    p.add_argument("--out")
    p.add_argument("--write-data", metavar="DIR")
    a = p.parse_args()
    if a.write_data:
        write_data(a.write_data)
    for n in a.names:
        print(external(n, a.out))
