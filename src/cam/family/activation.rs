//! The activation family: functions of the target layer's activations `a` (`[K, h, w]`,
//! row-major) alone, from the session's one forward pass (no gradient, no class: their maps are
//! the same for every class), returning the raw map `[h, w]` before ReLU. Definitions follow
//! pytorch-grad-cam 1.5.7's source.

use super::gradient::{RawMap, Terms, weighted};
use crate::cam::projection::{first_component, kernel_first_component};
use crate::rng::SplitMix;

/// An activation method: `(activations, K, seed)` → its raw map; `seed` only for the random ones.
pub type ActivationFn = fn(&[f32], usize, u64) -> RawMap;

/// EigenCAM (Muhammad & Yeasin 2020): the activations' first principal component over positions
/// (pytorch-grad-cam's `get_2d_projection`), signed so that its largest-magnitude entry is
/// positive (see [`first_component`]).
pub fn eigencam(a: &[f32], k: usize, _: u64) -> RawMap {
    RawMap::unweighted(first_component(a, k))
}

/// KPCA-CAM (Karmani et al. 2024): EigenCAM with kernel PCA, pytorch-grad-cam's defaults (the
/// sigmoid kernel, γ = 1/K).
pub fn kpcacam(a: &[f32], k: usize, _: u64) -> RawMap {
    RawMap::unweighted(kernel_first_component(a, k))
}

/// FEM (Fuad et al. 2020), k = 2: a channel's weight is the share of its positions above its
/// mean + 2 standard deviations (population, as NumPy's `std`); map `Σ_k w_k A_k`.
pub fn fem(a: &[f32], k: usize, _: u64) -> RawMap {
    const SIGMAS: f64 = 2.0;
    let n = a.len() / k;
    let weights = a
        .chunks_exact(n)
        .map(|ch| {
            let mean = ch.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = ch.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            let threshold = (mean + SIGMAS * var.sqrt()) as f32;
            ch.iter().filter(|&&v| v > threshold).count() as f32 / n as f32
        })
        .collect();
    // Its own map in pytorch-grad-cam: `eigen_smooth` leaves it as it is.
    RawMap {
        terms: Terms::Own,
        ..weighted(a, weights)
    }
}

/// RandomCAM: a baseline any method should beat. Each channel's weight is uniform in
/// [−1, 1) drawn from `seed` (pytorch-grad-cam draws from NumPy's global generator).
pub fn randomcam(a: &[f32], k: usize, seed: u64) -> RawMap {
    let mut rng = SplitMix(seed);
    weighted(a, (0..k).map(|_| rng.uniform(-1.0, 1.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fem_weighs_channels_by_their_share_of_outliers() {
        // Channel 0: one position far above the rest (mean 2.375, σ ≈ 3.64: 12 > 2.375 + 7.28).
        // Channel 1: evenly spread, none above mean + 2σ.
        let mut a = vec![1.0f32; 8];
        a[3] = 12.0;
        a.extend([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let m = fem(&a, 2, 0);
        assert_eq!(m.weights.as_deref(), Some(&[0.125f32, 0.0][..]));
        assert_eq!(m.raw[3], 1.5);
        assert_eq!(m.raw[0], 0.125);
    }

    #[test]
    fn randomcam_is_reproducible_by_seed_and_changes_with_it() {
        let a: Vec<f32> = (0..32).map(|i| (i % 7) as f32).collect();
        let one = randomcam(&a, 4, 3).weights.unwrap();
        assert_eq!(one, randomcam(&a, 4, 3).weights.unwrap());
        assert_ne!(one, randomcam(&a, 4, 4).weights.unwrap());
        assert!(one.iter().all(|w| (-1.0..1.0).contains(w)));
        assert!(
            one.iter().any(|&w| w < 0.0) && one.iter().any(|&w| w > 0.0),
            "{one:?}"
        );
    }

    #[test]
    fn eigencam_of_one_pattern_is_that_pattern() {
        // Two channels repeating one centred pattern at different scales, plus offsets.
        let p = [2.0f32, -1.0, -1.0, 0.0];
        let a: Vec<f32> = [3.0f32, 1.0]
            .iter()
            .zip([5.0f32, -2.0])
            .flat_map(|(s, o)| p.iter().map(move |v| s * v + o))
            .collect();
        let m = eigencam(&a, 2, 0).raw;
        let norm = 10f32.sqrt();
        for (got, v) in m.iter().zip(p) {
            assert!((got - v * norm).abs() < 1e-5, "{m:?}");
        }
    }
}
