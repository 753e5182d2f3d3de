"""Zeroes the built-in Lite0 weights inside a camlens binary, so that it compresses to what the
GPU machine's transfer limit allows (the weights are ~18 MB of incompressible floats). The
zeroed binary must then be given the weights file: `--model models/efficientnet-lite0-57934424.pth`
gives the same model and the same numbers as the built-in one.

    python3 tools/zero_builtin_weights.py .gpu/camlens target/release/build/camlens-*/out/lite0.safetensors
"""
import json
import struct
import sys

binary, blob_path = sys.argv[1], sys.argv[2]
blob = open(blob_path, "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
data = bytearray(open(binary, "rb").read())
at = data.find(blob[:8 + n + 4096])
if at < 0:
    raise SystemExit(f"{binary} does not hold {blob_path}")
start = at + 8 + n
data[start:at + len(blob)] = bytes(len(blob) - 8 - n)
open(binary, "wb").write(data)
print(f"zeroed {len(blob) - 8 - n} bytes of {len(header) - ('__metadata__' in header)} tensors at {at}")
