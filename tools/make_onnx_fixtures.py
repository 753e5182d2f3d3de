#!/usr/bin/env python3
"""Small ONNX classifiers built operator by operator with `onnx.helper`, and their outputs from
onnxruntime, for camlens' ONNX interpreter tests (tests/fixtures/onnx/). No PyTorch needed:

    pip install onnx onnxruntime numpy
    python3 tools/make_onnx_fixtures.py

Each model reads a [N, 3, 32, 32] float input. The reference input is the fixture formula of
tests/integration/common.rs (`input`): x_j = 1.5 sin(0.0131 j + 0.5) over the flattened
[3, 32, 32] tensor, repeated for a batch of 2 with the second image mirrored, so a mix-up of
batch items shows. Written per model: `<name>.onnx` and `<name>.json` with the logits of both
images and, for each named intermediate output, its values for the first image.
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx")
rng = np.random.default_rng(7)


def weight(name, shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    scale = scale if scale is not None else np.sqrt(2.0 / fan_in)
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def bn(prefix, c):
    return [
        numpy_helper.from_array((1.0 + 0.2 * rng.standard_normal(c)).astype(np.float32), prefix + ".scale"),
        numpy_helper.from_array((0.1 * rng.standard_normal(c)).astype(np.float32), prefix + ".bias"),
        numpy_helper.from_array((0.1 * rng.standard_normal(c)).astype(np.float32), prefix + ".mean"),
        numpy_helper.from_array((1.0 + 0.5 * rng.random(c)).astype(np.float32), prefix + ".var"),
    ]


def reference_input():
    j = np.arange(3 * 32 * 32, dtype=np.float64)
    x = (1.5 * np.sin(0.0131 * j + 0.5)).astype(np.float32).reshape(1, 3, 32, 32)
    return np.concatenate([x, x[:, :, :, ::-1]], axis=0).copy()


def tiny_cnn():
    """A MobileNet/ResNet-like stem: Conv+BN+Relu, a depthwise Conv with Clip (ReLU6), a 1×1
    expansion with HardSwish, a residual Add, MaxPool, GlobalAveragePool, Flatten, Gemm."""
    n = helper.make_node
    inits = [
        weight("c1.w", [8, 3, 3, 3]), *bn("bn1", 8),
        weight("dw.w", [8, 1, 3, 3]), weight("dw.b", [8], 0.1),
        weight("pw.w", [8, 8, 1, 1]), weight("pw.b", [8], 0.1),
        weight("c2.w", [16, 8, 3, 3]), weight("c2.b", [16], 0.1),
        weight("fc.w", [10, 16], 0.3), weight("fc.b", [10], 0.1),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, np.float32), "six"),
    ]
    nodes = [
        n("Conv", ["x", "c1.w"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
        n("BatchNormalization", ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"], ["b1"], epsilon=1e-5, name="bn1"),
        n("Relu", ["b1"], ["r1"], name="relu1"),
        n("Conv", ["r1", "dw.w", "dw.b"], ["d1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8, name="dwconv"),
        n("Clip", ["d1", "zero", "six"], ["d1c"], name="relu6"),
        n("Conv", ["d1c", "pw.w", "pw.b"], ["p1"], kernel_shape=[1, 1], name="pwconv"),
        n("HardSwish", ["p1"], ["h1"], name="hswish"),
        n("Add", ["h1", "r1"], ["s1"], name="residual"),
        n("MaxPool", ["s1"], ["m1"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        n("Conv", ["m1", "c2.w", "c2.b"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv2"),
        n("Relu", ["c2"], ["r2"], name="relu2"),
        n("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["r1", "s1", "r2"]


def fixed_batch():
    """As exporters write by default: a batch fixed at 1, and a Reshape to [1, -1] before the
    classifier (which camlens relaxes to run batched)."""
    n = helper.make_node
    inits = [
        weight("c.w", [6, 3, 3, 3]), weight("c.b", [6], 0.1),
        weight("fc.w", [6, 5], 0.3), weight("fc.b", [5], 0.1),
        numpy_helper.from_array(np.array([1, -1], np.int64), "flat"),
    ]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1], name="conv"),
        n("Sigmoid", ["c"], ["sg"], name="gate"),
        n("Mul", ["c", "sg"], ["sw"], name="swish"),
        n("ReduceMean", ["sw"], ["m"], axes=[2, 3], keepdims=1, name="mean"),
        n("Reshape", ["m", "flat"], ["f"], name="reshape"),
        n("MatMul", ["f", "fc.w"], ["mm"], name="matmul"),
        n("Add", ["mm", "fc.b"], ["logits"], name="bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "fixed_batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), ["sw"]


def channels_last():
    """ConvNeXt's pattern: a channels-last stretch (Transpose, LayerNormalization over the last
    axis, a MatMul over channels) between two channels-first maps."""
    n = helper.make_node
    inits = [
        weight("c.w", [8, 3, 3, 3]), weight("c.b", [8], 0.1),
        weight("ln.g", [8], 0.3), weight("ln.b", [8], 0.1),
        weight("pw.w", [8, 8], 0.3),
        weight("fc.w", [4, 8], 0.3), weight("fc.b", [4], 0.1),
    ]
    for i in inits[2:4]:
        i.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(i) + (1.0 if i.name == "ln.g" else 0.0), i.name))
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv"),
        n("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1], name="to_nhwc"),
        n("LayerNormalization", ["t", "ln.g", "ln.b"], ["ln"], axis=-1, epsilon=1e-6, name="norm"),
        n("MatMul", ["ln", "pw.w"], ["pw"], name="pointwise"),
        n("Transpose", ["pw"], ["back"], perm=[0, 3, 1, 2], name="to_nchw"),
        n("Add", ["back", "c"], ["s"], name="residual"),
        n("GlobalAveragePool", ["s"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "channels_last",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["s"]


def computed_shape():
    """`x.view(x.size(0), -1)` as the TorchScript exporter writes it with a dynamic batch:
    Shape → Gather → Unsqueeze → Concat → Reshape."""
    n = helper.make_node
    inits = [
        weight("c.w", [4, 3, 3, 3]), weight("c.b", [4], 0.1),
        weight("fc.w", [3, 4 * 8 * 8], 0.1), weight("fc.b", [3], 0.1),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
        numpy_helper.from_array(np.array([0], np.int64), "axes"),
    ]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], strides=[4, 4], pads=[1, 1, 1, 1], name="conv"),
        n("Relu", ["c"], ["r"], name="relu"),
        n("Shape", ["r"], ["shape"], name="shape"),
        n("Gather", ["shape", "zero"], ["batch"], axis=0, name="batch"),
        n("Unsqueeze", ["batch", "axes"], ["batch1"], name="unsqueeze"),
        n("Concat", ["batch1", "minus_one"], ["new_shape"], axis=0, name="concat"),
        n("Reshape", ["r", "new_shape"], ["f"], name="view"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "computed_shape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["r"]


def computed_pads():
    """TensorFlow's "SAME" as PyTorch ports write it (`F.pad` with amounts from `x.shape`, as
    timm's `tf_` models and EfficientNet ports do): Pad amounts computed from a Shape, before a
    stride-2 and then a stride-1 convolution. The second Pad's amounts come from the shape of
    the first convolution's output, which a parser that takes a Pad's output size for its
    input's gets wrong (onnx-ir, where the batch is fixed at 1 as exporters write it and so
    every size is static). Its own weights (a generator of its own), so that adding it changed no
    other fixture."""
    n = helper.make_node
    own = np.random.default_rng(29)

    def w(name, shape, scale):
        return numpy_helper.from_array((own.standard_normal(shape) * scale).astype(np.float32), name)

    def i64(name, v):
        return numpy_helper.from_array(np.array(v, np.int64), name)

    inits = [
        w("a.w", [4, 3, 3, 3], 0.4), w("a.b", [4], 0.1), w("b.w", [4, 1, 3, 3], 0.5),
        w("b.b", [4], 0.1), w("fc.w", [3, 4], 0.5), w("fc.b", [3], 0.1),
        i64("two", 2), i64("axes", [0]), i64("zeros", [0, 0]),
        # (ceil(32 / 2) - 1) * 2 + 3 and (16 - 1) + 3: the padded sizes, as the tracer folds them
        i64("size_a", 33), i64("size_b", 18),
    ]
    def amounts(name, src, size):
        """Pad amounts for `src` padded to `size` rows and columns, the extra one at the end."""
        return [
            n("Shape", [src], [f"{name}.shape"], name=f"{name}_shape"),
            n("Gather", [f"{name}.shape", "two"], [f"{name}.h"], axis=0, name=f"{name}_gather"),
            n("Sub", [size, f"{name}.h"], [f"{name}.total"], name=f"{name}_total"),
            n("Div", [f"{name}.total", "two"], [f"{name}.before"], name=f"{name}_before"),
            n("Sub", [f"{name}.total", f"{name}.before"], [f"{name}.after"], name=f"{name}_after"),
            n("Unsqueeze", [f"{name}.before", "axes"], [f"{name}.b1"], name=f"{name}_b1"),
            n("Unsqueeze", [f"{name}.after", "axes"], [f"{name}.a1"], name=f"{name}_a1"),
            # ONNX's order: [0, 0, top, left, 0, 0, bottom, right]
            n("Concat", ["zeros", f"{name}.b1", f"{name}.b1", "zeros", f"{name}.a1", f"{name}.a1"],
              [f"{name}.amounts"], axis=0, name=f"{name}_pads"),
        ]

    nodes = amounts("a", "x", "size_a") + [
        n("Pad", ["x", "a.amounts"], ["pa"], mode="constant", name="pad_a"),
        n("Conv", ["pa", "a.w", "a.b"], ["c1"], kernel_shape=[3, 3], strides=[2, 2], name="conv_a"),
        n("Relu", ["c1"], ["r1"], name="relu1"),
    ] + amounts("b", "r1", "size_b") + [
        n("Pad", ["r1", "b.amounts"], ["pb"], mode="constant", name="pad_b"),
        n("Conv", ["pb", "b.w", "b.b"], ["c2"], kernel_shape=[3, 3], group=4, name="conv_b"),
        n("Relu", ["c2"], ["r2"], name="relu2"),
        n("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "computed_pads",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["r1", "r2"]


def same_padding():
    """As tf2onnx writes TensorFlow's "SAME": auto_pad=SAME_UPPER on a stride-2 convolution."""
    n = helper.make_node
    inits = [
        weight("c.w", [4, 3, 3, 3]), weight("c.b", [4], 0.1),
        weight("fc.w", [2, 4], 0.3), weight("fc.b", [2], 0.1),
    ]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", name="conv"),
        n("Relu", ["c"], ["r"], name="relu"),
        n("GlobalAveragePool", ["r"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "same_padding",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["r"]


def not_an_image():
    """A classifier of feature vectors: no image input to explain."""
    n = helper.make_node
    graph = helper.make_graph(
        [n("Gemm", ["x", "w"], ["logits"], transB=1, name="fc")],
        "not_an_image",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
        [weight("w", [3, 10])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def two_outputs():
    """Logits and an embedding, as some exports return: which one to explain is not obvious."""
    n = helper.make_node
    graph = helper.make_graph(
        [
            n("GlobalAveragePool", ["x"], ["g"], name="gap"),
            n("Flatten", ["g"], ["logits"], name="flatten"),
            n("Relu", ["x"], ["features"], name="relu"),
        ],
        "two_outputs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 3, 32, 32]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def small_head(name, outputs, spatial):
    """conv → ReLU → global pooling → Gemm to `outputs` scores, on an input of spatial size
    `spatial` (a number, or None for a dynamic one)."""
    n = helper.make_node
    inits = [weight("c.w", [4, 3, 3, 3]), weight("c.b", [4], 0.1),
             weight("fc.w", [outputs, 4], 0.5), weight("fc.b", [outputs], 0.1)]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv"),
        n("Relu", ["c"], ["r"], name="relu"),
        n("GlobalAveragePool", ["r"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    side = spatial if spatial else "S"
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, side, side])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", outputs])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def binary_head():
    """One logit (a "dog or not" classifier), its class named in the metadata."""
    m = small_head("binary_head", 1, 32)
    helper.set_model_props(m, {"names": '{0: "dog"}'})
    return m, []


def dynamic_size():
    """A dynamic spatial size (the size must come from model.json); three classes named in the
    metadata as a JSON list."""
    m = small_head("dynamic_size", 3, None)
    helper.set_model_props(m, {"labels": '["cat", "dog", "fox"]'})
    return m, []


def resize():
    """Upsampling as decoders and feature pyramids export it: bilinear (half-pixel, as
    F.interpolate(align_corners=False)), nearest (asymmetric, floor, as PyTorch's default) and
    nearest as ONNX's default rounds (half-pixel, round_prefer_ceil), by scales."""
    n = helper.make_node
    inits = [weight("c.w", [4, 3, 3, 3]), weight("c.b", [4], 0.1),
             weight("c2.w", [6, 4, 3, 3]), weight("c2.b", [6], 0.1),
             weight("fc.w", [5, 6], 0.5), weight("fc.b", [5], 0.1),
             numpy_helper.from_array(np.array([1, 1, 0.5, 0.5], np.float32), "half"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "twice"),
             numpy_helper.from_array(np.array([1, 1, 0.75, 0.75], np.float32), "smaller"),
             numpy_helper.from_array(np.array([1, 1, 1.5, 1.5], np.float32), "larger")]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv"),
        n("Relu", ["c"], ["r"], name="relu"),
        n("Resize", ["r", "", "half"], ["down"], mode="linear",
          coordinate_transformation_mode="half_pixel", name="down"),
        n("Resize", ["down", "", "twice"], ["up"], mode="linear",
          coordinate_transformation_mode="half_pixel", name="up"),
        n("Conv", ["up", "c2.w", "c2.b"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv2"),
        n("Resize", ["c2", "", "smaller"], ["near"], mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor", name="nearest"),
        n("Resize", ["near", "", "larger"], ["tf_near"], mode="nearest",
          coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil", name="tf_nearest"),
        n("GlobalAveragePool", ["tf_near"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["up", "near", "tf_near"]


def auto_pad():
    """Every auto_pad camlens meets in TensorFlow and Keras exports: SAME_LOWER on a stride-2
    Conv, SAME_UPPER on a 1×3 Conv, MaxPool and AveragePool with SAME padding; then YOLOv5's
    Focus (four Slices with steps of 2) and a Slice of channels backwards by 3. (onnx-ir
    needs the spatial size of a SAME_LOWER node's input: the Slices come after.)"""
    n = helper.make_node
    big = np.iinfo(np.int64).max
    ints = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    inits = [
        ints("axes", [2, 3]), ints("two", [2, 2]), ints("end", [big, big]),
        ints("s00", [0, 0]), ints("s10", [1, 0]), ints("s01", [0, 1]), ints("s11", [1, 1]),
        ints("c_axis", [1]), ints("c_start", [-1]), ints("c_end", [-big]), ints("c_step", [-3]),
        weight("c.w", [8, 3, 3, 3]), weight("c.b", [8], 0.1),
        weight("w.w", [8, 8, 1, 3]), weight("w.b", [8], 0.1),
        weight("fc.w", [5, 11], 0.5), weight("fc.b", [5], 0.1),
    ]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], strides=[2, 2],
          auto_pad="SAME_LOWER", name="conv"),
        n("Relu", ["c"], ["r"], name="relu"),
        n("Conv", ["r", "w.w", "w.b"], ["wide"], kernel_shape=[1, 3], auto_pad="SAME_UPPER", name="wide"),
        n("MaxPool", ["wide"], ["pool"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", name="pool"),
        n("AveragePool", ["pool"], ["avg"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER",
          name="avg"),
        *[n("Slice", ["avg", start, "end", "axes", "two"], [f"f{start}"], name=f"focus_{start}")
          for start in ["s00", "s10", "s01", "s11"]],
        n("Concat", ["fs00", "fs10", "fs01", "fs11"], ["focus"], axis=1, name="focus"),
        n("Slice", ["focus", "c_start", "c_end", "c_axis", "c_step"], ["picked"], name="picked"),
        n("GlobalAveragePool", ["picked"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "auto_pad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["wide", "pool"]


def ends_in(name, op, outputs):
    """small_head whose last node turns the logits into probabilities (`op`: Sigmoid for a
    multi-label head, Softmax as some exports append); the output is named "logits" all the
    same, for write()."""
    m = small_head(name, outputs, 32)
    g = m.graph
    last = g.node[-1]
    last.output[0] = "z"
    extra = {"axis": -1} if op == "Softmax" else {}
    g.node.append(helper.make_node(op, ["z"], ["logits"], name=op.lower(), **extra))
    return m, []


def batch_bound():
    """A fixed batch of 1 the graph hard-codes: the map reshaped to [8, 256] (channels, pixels:
    no batch axis left) and back to [1, 8, 16, 16], so a relaxed batch cannot run."""
    n = helper.make_node
    inits = [weight("c.w", [8, 3, 3, 3]), weight("c.b", [8], 0.1),
             weight("fc.w", [4, 8], 0.5), weight("fc.b", [4], 0.1),
             numpy_helper.from_array(np.array([8, 256], np.int64), "fold"),
             numpy_helper.from_array(np.array([1, 8, 16, 16], np.int64), "unfold")]
    nodes = [
        n("Conv", ["x", "c.w", "c.b"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
          name="conv"),
        n("Reshape", ["c", "fold"], ["planes"], name="fold"),
        n("Sigmoid", ["planes"], ["gated"], name="gate"),
        n("Reshape", ["gated", "unfold"], ["u"], name="unfold"),
        n("Mul", ["u", "c"], ["sw"], name="swish"),
        n("GlobalAveragePool", ["sw"], ["g"], name="gap"),
        n("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        n("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "batch_bound",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), []


def unsupported():
    """A graph with an operator camlens does not run (Cos), to check the message."""
    n = helper.make_node
    nodes = [
        n("Cos", ["x"], ["c"], name="odd_cosine"),
        n("GlobalAveragePool", ["c"], ["g"], name="gap"),
        n("Flatten", ["g"], ["logits"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes,
        "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def write(name, model, intermediates):
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(model, path)
    # Expose the intermediates as outputs of a copy, for onnxruntime only.
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for t in intermediates:
        probe.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    x = reference_input()
    if model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1:
        # A fixed batch of 1: one image at a time.
        per = [sess.run(["logits", *intermediates], {"x": x[i:i + 1]}) for i in range(len(x))]
        outs = [np.concatenate([p[k] for p in per]) for k in range(len(per[0]))]
    else:
        outs = sess.run(["logits", *intermediates], {"x": x})
    ref = {
        "logits": outs[0].tolist(),
        "intermediates": {t: {"shape": list(v.shape[1:]), "first": v[0].ravel().tolist()}
                          for t, v in zip(intermediates, outs[1:])},
        # The classifier's weights [classes, features], for the gradient checks.
        "fc_w": next((numpy_helper.to_array(i) for i in model.graph.initializer if i.name == "fc.w")).tolist(),
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f)
    print(f"{path}: logits {np.round(outs[0][0][:4], 4)} …")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("tiny_cnn", *tiny_cnn())
    write("fixed_batch", *fixed_batch())
    write("channels_last", *channels_last())
    write("computed_shape", *computed_shape())
    write("same_padding", *same_padding())
    write("binary_head", *binary_head())
    write("dynamic_size", *dynamic_size())
    write("resize", *resize())
    write("auto_pad", *auto_pad())
    write("multi_label", *ends_in("multi_label", "Sigmoid", 4))
    write("softmax_head", *ends_in("softmax_head", "Softmax", 3))
    write("batch_bound", *batch_bound())
    write("computed_pads", *computed_pads())
    # tiny_cnn with its weights in a file beside it, as exporters write models over 2 GB.
    m = onnx.load(os.path.join(OUT, "tiny_cnn.onnx"))
    onnx.save(m, os.path.join(OUT, "external_data.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="external_data.onnx.data", size_threshold=0)
    for name, make in [("unsupported", unsupported), ("not_an_image", not_an_image),
                       ("two_outputs", two_outputs)]:
        m = make()
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(OUT, name + ".onnx"))
