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


GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def normals_at(seed, start, count):
    """Values `start .. start+count` of SplitMix(seed)'s normal stream, vectorised: the state
    after n steps is seed + n·γ and normal n takes steps 2n+1 and 2n+2 (`SplitMix::normal_at`)."""
    n = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        a = _mix(np.uint64(seed) + (np.uint64(2) * n + np.uint64(1)) * GAMMA)
        b = _mix(np.uint64(seed) + (np.uint64(2) * n + np.uint64(2)) * GAMMA)
    u1 = 1.0 - (a >> np.uint64(11)).astype(np.float64) / 2.0**53
    u2 = (b >> np.uint64(11)).astype(np.float64) / 2.0**53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def sscam_noise(seed, sample, channels, size, sigma):
    """SS-CAM's noise for one sample, `[1, K, S, S]` float32 as src/cam/family/score.rs adds it
    (`noise_plane`): sample-major, then channel, then pixel."""
    plane = channels * size * size
    z = normals_at(seed, sample * plane, plane)
    return (sigma * z).astype(np.float32).reshape(1, channels, size, size)
