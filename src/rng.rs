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

/// NumPy's legacy `RandomState(seed)` (MT19937, `init_genrand`) and its `standard_normal`
/// (the polar method, the second value of each pair kept for the next draw): what
/// scikit-learn's `NMF(init='random', random_state=seed)` starts from, so that camlens' DFF
/// starts where pytorch-grad-cam's does.
pub struct NumpyRandom {
    mt: [u32; 624],
    index: usize,
    gauss: Option<f64>,
}

impl NumpyRandom {
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = seed;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            mt,
            index: 624,
            gauss: None,
        }
    }

    fn twist(&mut self) {
        for i in 0..624 {
            let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % 624] & 0x7fff_ffff);
            let odd = if y & 1 == 1 { 0x9908_b0df } else { 0 };
            self.mt[i] = self.mt[(i + 397) % 624] ^ (y >> 1) ^ odd;
        }
        self.index = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample`: 53 bits from two draws.
    pub fn double(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `standard_normal`, one value.
    pub fn gauss(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.double() - 1.0;
            let x2 = 2.0 * self.double() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

#[cfg(test)]
mod numpy_tests {
    use super::NumpyRandom;

    /// `np.random.RandomState(0).standard_normal(4)` and `.randint(2**32)`'s raw words.
    #[test]
    fn numpy_random_state_0() {
        let mut r = NumpyRandom::new(0);
        let z: Vec<f64> = (0..4).map(|_| r.gauss()).collect();
        let expected = [
            1.764_052_345_967_664,
            0.400_157_208_367_223_3,
            0.978_737_984_105_739_2,
            2.240_893_199_201_458,
        ];
        for (a, b) in z.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }
}
