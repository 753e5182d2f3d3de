//! Sigmoid, SiLU, HardSwish and tanh on host floats, in place. flex computes a sigmoid float by float
//! through a scalar `expf` call behind a closure: on EfficientNet-B0 (SiLU everywhere, a sigmoid
//! gate in every block) that was half of its CPU forward pass. Here it is branch-free
//! arithmetic over a slice, which the compiler vectorises. The convolution kernels apply SiLU
//! and HardSwish (`Smooth`) to what they have just written, while it is still in cache.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two, so that `n · ln 2` is subtracted without losing `x`'s low bits.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding and subtracting it rounds to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// eˣ as Cephes' `expf` computes it (range reduction by ln 2, a degree-6 polynomial; within
/// 2 ulp), for `x` clamped to [−87, 88], where 2ⁿ stays a normal float. Integer work on the
/// bits alone (n is read from the rounded float's low bits, not by a saturating cast), so that
/// the loops below vectorise.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let k = t.to_bits().wrapping_sub(ROUND.to_bits());
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5) // Cephes' 5.0000001201e-1, which is 0.5 as an f32
        * r
        * r
        + r
        + 1.0;
    f32::from_bits(k.wrapping_add(127) << 23) * p
}

widest! {
    /// 1 / (1 + e⁻ˣ) over `x`, in the widest vectors the CPU has (the same arithmetic in each:
    /// Rust does not fuse the multiply-adds, so every path gives the same floats).
    pub fn sigmoid(x: &mut [f32]) = sigmoid_plain
}

#[inline(always)]
fn sigmoid_plain(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 1.0 / (1.0 + exp(-*v));
    }
}

/// x · clamp(x / 6 + ½, 0, 1) over `x`: ONNX's HardSwish, as the graph's own formula writes it.
pub fn hard_swish(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v *= (*v / 6.0 + 0.5).clamp(0.0, 1.0);
    }
}

widest! {
    /// x · sigmoid(x) over `x`: SiLU, as an exported graph's Sigmoid and Mul nodes compute it
    /// (the same floats: the sigmoid is `sigmoid`'s, then one product).
    pub fn silu(x: &mut [f32]) = silu_plain
}

#[inline(always)]
fn silu_plain(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v *= 1.0 / (1.0 + exp(-*v));
    }
}

/// tanh(x) as Cephes' `tanhf` computes it (within 2 ulp): an odd polynomial below 0.625,
/// `1 − 2 / (e²ˣ + 1)` above, both computed and one chosen, so that loops over it vectorise.
#[inline(always)]
fn tanh_value(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_5e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    let large = (1.0 - 2.0 / (exp(a + a) + 1.0)).copysign(x);
    if a < 0.625 { small } else { large }
}

widest! {
    /// tanh over `x` (ScoreCAM++'s gate on every mask of a batch: glibc's scalar `tanhf`, which
    /// flex calls float by float, was a twentieth of MobileNetV2's ScoreCAM++ on one thread).
    pub fn tanh(x: &mut [f32]) = tanh_plain
}

#[inline(always)]
fn tanh_plain(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = tanh_value(*v);
    }
}

/// An activation that is not a clamp, applied by a convolution kernel to each stretch of its
/// output as soon as it is written (see `kernels::Fused`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smooth {
    Silu,
    HardSwish,
}

impl Smooth {
    pub fn apply(self, x: &mut [f32]) {
        match self {
            Smooth::Silu => silu(x),
            Smooth::HardSwish => hard_swish(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 2·10⁻⁷ of f64's eˣ, relative, from e⁻⁸⁷ to e⁸⁸ (a tolerance of one f32 ulp
    /// and a bit: a wrong coefficient or range reduction is off by 10⁻⁵ or more).
    #[test]
    fn exp_is_within_two_ulp_of_f64s() {
        let mut worst = 0f64;
        for i in 0..175_000 {
            let x = (-87.0 + i as f64 * 0.001) as f32;
            let want = (x as f64).exp();
            worst = worst.max(((exp(x) as f64) - want).abs() / want);
        }
        assert!(worst < 2e-7, "relative error {worst}");
    }

    /// Every vector width gives the plain loop's floats.
    #[test]
    fn every_path_gives_the_same_sigmoid() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.037).collect();
        let mut plain = xs.clone();
        sigmoid_plain(&mut plain);
        let mut widest = xs;
        sigmoid(&mut widest);
        assert_eq!(plain, widest);
    }

    /// SiLU gives what a graph's Sigmoid then Mul give, float for float, on every path.
    #[test]
    fn silu_is_sigmoid_then_product() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.037).collect();
        let mut s = xs.clone();
        sigmoid(&mut s);
        let want: Vec<f32> = xs.iter().zip(&s).map(|(x, s)| x * s).collect();
        let mut widest = xs.clone();
        silu(&mut widest);
        assert_eq!(widest, want);
        let mut plain = xs;
        silu_plain(&mut plain);
        assert_eq!(plain, want);
        assert!(want[0] < 0.0 && want[999] > 18.0, "a test over both signs");
    }

    /// Within 3·10⁻⁷ of f64's tanh, relative (a wrong coefficient is off by 10⁻⁵ or more), on
    /// both sides of the polynomial's edge, down to tiny values and up to where it is ±1; every
    /// vector width gives the plain loop's floats.
    #[test]
    fn tanh_is_within_two_ulp_and_the_same_on_every_path() {
        let mut xs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 5e-4).collect();
        xs.extend([1e-30, -3e-9, 0.624_999_9, 0.625, 9.0, 44.0, 100.0, -1e4]);
        for &x in &xs {
            let (got, want) = (tanh_value(x) as f64, (x as f64).tanh());
            let err = if want == 0.0 {
                got.abs()
            } else {
                (got - want).abs() / want.abs()
            };
            assert!(err < 3e-7, "tanh({x}) = {got}, not {want}");
        }
        let mut plain = xs.clone();
        tanh_plain(&mut plain);
        let mut widest = xs;
        tanh(&mut widest);
        assert_eq!(plain, widest);
        assert_eq!(plain[0], -1.0);
    }

    #[test]
    fn sigmoid_and_hard_swish_match_their_formulas() {
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.01).collect();
        let mut s = xs.clone();
        sigmoid(&mut s);
        for (x, s) in xs.iter().zip(&s) {
            let want = 1.0 / (1.0 + (-(*x as f64)).exp());
            assert!(
                (*s as f64 - want).abs() < 2e-7,
                "sigmoid({x}) = {s}, not {want}"
            );
        }
        let mut h = xs.clone();
        hard_swish(&mut h);
        for (x, h) in xs.iter().zip(&h) {
            assert_eq!(*h, x * (x / 6.0 + 0.5).clamp(0.0, 1.0));
        }
        assert_eq!(h[0], 0.0);
        assert_eq!(*h.last().unwrap(), 40.0);
    }
}
