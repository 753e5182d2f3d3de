"""camlens' seeded noise in Python: SplitMix64 and Box–Muller exactly as src/rng.rs draws them
(`SplitMix::normal`), and SmoothGradCAM++'s noisy copies as src/cam/family/smooth.rs makes
them, so that torch-cam's SmoothGradCAMpp can be run on the very same noise."""
import math

import numpy as np

MASK = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def unit(self):
        return (self.next_u64() >> 11) / float(1 << 53)

    def normal(self):
        u1 = 1.0 - self.unit()
        u2 = self.unit()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def noise(seed, copies, shape, sigma=0.3):
    """Each copy's noise, float32 as camlens adds it: `(sigma * z) as f32`."""
    rng = SplitMix(seed)
    n = int(np.prod(shape))
    out = np.empty((copies, n), dtype=np.float32)
    for c in range(copies):
        out[c] = np.array([sigma * rng.normal() for _ in range(n)], dtype=np.float64).astype(np.float32)
    return out.reshape((copies,) + tuple(shape))
