"""The deterministic weight and input formula shared with tests/common/formula.rs.

Every tensor is filled from its name and flat index, so the Rust tests can rebuild the exact weights
the reference outputs were computed with, without committing hundreds of megabytes of weights.
"""
import math

import numpy as np


def seed(name: str) -> int:
    return sum((i + 1) * b for i, b in enumerate(name.encode())) % 9973


def values(name: str, shape) -> np.ndarray:
    n = int(np.prod(shape)) if len(shape) else 1
    j = np.arange(n, dtype=np.float64)
    return scaled(name, shape, np.sin(0.7123 * j + 0.137 * seed(name)))


def noise(name: str, shape) -> np.ndarray:
    """Like `values`, but from SplitMix64 noise (uniform, the RMS of a sine) instead of a sine:
    deep networks with squeeze-excitation (EfficientNet) turn the sine's regular weights into
    spatially uniform activations, whose maps cannot be compared."""
    n = int(np.prod(shape)) if len(shape) else 1
    x = (np.uint64(seed(name)) << np.uint64(32)) | np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / 2.0**53 * 2.0 - 1.0
    return scaled(name, shape, u * math.sqrt(1.5))


def scaled(name: str, shape, v) -> np.ndarray:
    """Values in [-1, 1] scaled as the tensor's role needs."""
    if name.endswith("running_var"):
        out = 1.0 + 0.5 * v * v
    elif name.endswith("running_mean"):
        out = 0.1 * v
    elif name.endswith("class_token") or name.endswith("pos_embedding"):
        out = 0.02 * v
    elif len(shape) <= 1 and name.endswith("weight"):
        out = 1.0 + 0.2 * v
    elif len(shape) <= 1:
        out = 0.05 * v
    else:
        fan_in = int(np.prod(shape[1:]))
        out = v * (2.0 / math.sqrt(fan_in))
    return out.astype(np.float32).reshape(shape)


def input_tensor(shape) -> np.ndarray:
    n = int(np.prod(shape))
    j = np.arange(n, dtype=np.float64)
    return (1.5 * np.sin(0.0131 * j + 0.5)).astype(np.float32).reshape(shape)
