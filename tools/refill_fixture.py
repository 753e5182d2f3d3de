#!/usr/bin/env python3
"""A stripped test fixture (tests/fixtures/onnx/...) made whole again: every float initializer
left empty gets the fixture formula's values under its name, as the Rust tests' `refilled`
does. For the README's screenshots of a detector and a segmenter (no trained weights can be
downloaded here):

    python3 tools/refill_fixture.py tests/fixtures/onnx/det/yolov8n.onnx /tmp/yolov8n.onnx
    cargo run --release --example screenshot -- /tmp/yolov8n.onnx assets/samples/astronaut.png \
        screenshots/app-detector.png box:1
"""
import os
import sys

import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from fixture_formula import noise  # noqa: E402


def main():
    src, dst = sys.argv[1:3]
    m = onnx.load(src)
    filled = 0
    for init in m.graph.initializer:
        empty = not init.raw_data and not init.float_data
        if init.data_type == onnx.TensorProto.FLOAT and empty:
            init.CopyFrom(numpy_helper.from_array(noise(init.name, list(init.dims)), init.name))
            filled += 1
    onnx.save(m, dst)
    print(f"{dst}: {filled} initializers filled")


if __name__ == "__main__":
    main()
