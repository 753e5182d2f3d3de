//! A small, seedable, dependency-free generator (SplitMix64), for everything that must be
//! reproducible from a seed: augmentations and evaluation subsets.

pub struct SplitMix(pub u64);

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal (Box–Muller, one value per two uniforms; tools/smoothgrad_noise.py
    /// draws the same values in Python).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// The `index`-th value `normal` draws from `SplitMix(seed)`, without drawing those before:
    /// the state after `n` steps is `seed + n γ`, and each normal takes two steps. Lets a batch
    /// of masks draw its noise in any order and still get the seed's values.
    pub fn normal_at(seed: u64, index: u64) -> f64 {
        SplitMix(seed.wrapping_add(index.wrapping_mul(2).wrapping_mul(GAMMA))).normal()
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix;

    #[test]
    fn normal_at_is_the_streams_value_at_that_index() {
        let mut rng = SplitMix(42);
        let stream: Vec<f64> = (0..50).map(|_| rng.normal()).collect();
        for i in [0usize, 1, 7, 49] {
            assert_eq!(SplitMix::normal_at(42, i as u64), stream[i]);
        }
        assert_ne!(stream[0], stream[1]);
    }
}
