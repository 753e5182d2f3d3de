#!/usr/bin/env python3
"""Logits of ONNX models from onnxruntime on the fixture formula input, for
`cargo run --release --example onnx_check -- MODEL.onnx`: writes MODEL.onnx.json beside each.

    pip install onnxruntime numpy
    python3 tools/onnx_reference.py MODEL.onnx [...]
"""
import json
import sys

import numpy as np
import onnxruntime as ort

for path in sys.argv[1:]:
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    size = inp.shape[2]
    j = np.arange(3 * size * size, dtype=np.float64)
    x = (1.5 * np.sin(0.0131 * j + 0.5)).astype(np.float32).reshape(1, 3, size, size)
    logits = sess.run(None, {inp.name: x})[0][0]
    with open(path + ".json", "w") as f:
        json.dump(logits.tolist(), f)
    print(path, "top-1", int(np.argmax(logits)))
