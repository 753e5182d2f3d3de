//! The gradient family as pure functions of the target layer's activations `a` and gradients `g`
//! (both `[K, h, w]`, row-major), returning the raw map `[h, w]` before ReLU and, where the method
//! has them, its per-channel weights. Formulas and epsilons follow pytorch-grad-cam 1.5.7, whose
//! numbers our tests compare with.

use crate::cam::projection::first_component;

/// A gradient method: `(activations, gradients, K)` → its raw map `[h, w]` and, where the method
/// has them, its per-channel weights.
pub type GradientFn = fn(&[f32], &[f32], usize) -> RawMap;

/// A method's map at the layer's resolution, before ReLU, and its channel weights if it has any.
pub struct RawMap {
    pub raw: Vec<f32>,
    pub weights: Option<Vec<f32>>,
    pub terms: Terms,
}

/// What the map sums over channels, for pytorch-grad-cam's `eigen_smooth` (the first principal
/// component of these terms instead of their sum).
pub enum Terms {
    /// `w_k A_k`, from the weights.
    Weighted,
    /// Per-position terms `[K, h, w]` (LayerCAM, HiResCAM, GradCAM element-wise).
    Elementwise(Vec<f32>),
    /// Not a sum over channels (EigenCAM and its kin, FEM): no smoothing, as in pytorch-grad-cam.
    Own,
}

impl RawMap {
    pub fn unweighted(raw: Vec<f32>) -> Self {
        Self {
            raw,
            weights: None,
            terms: Terms::Own,
        }
    }

    /// `Σ_k terms_k`, keeping the terms.
    pub fn elementwise(terms: Vec<f32>, k: usize) -> Self {
        let mut raw = vec![0.0f32; terms.len() / k];
        for t in channels(&terms, k) {
            raw.iter_mut().zip(t).for_each(|(o, v)| *o += v);
        }
        Self {
            raw,
            weights: None,
            terms: Terms::Elementwise(terms),
        }
    }
}

/// `Σ_k w_k A_k`, keeping the weights.
pub fn weighted(a: &[f32], weights: Vec<f32>) -> RawMap {
    RawMap {
        raw: weighted_sum(a, &weights),
        weights: Some(weights),
        terms: Terms::Weighted,
    }
}

pub fn gradcam(a: &[f32], g: &[f32], k: usize) -> RawMap {
    weighted(a, gradcam_weights(g, k))
}

pub fn gradcam_pp(a: &[f32], g: &[f32], k: usize) -> RawMap {
    weighted(a, gradcam_pp_weights(a, g, k))
}

pub fn xgradcam(a: &[f32], g: &[f32], k: usize) -> RawMap {
    weighted(a, xgradcam_weights(a, g, k))
}

pub fn layercam(a: &[f32], g: &[f32], k: usize) -> RawMap {
    let terms = a.iter().zip(g).map(|(a, g)| g.max(0.0) * a).collect();
    RawMap::elementwise(terms, k)
}

/// CAM (Zhou et al. 2016): the classifier's weights of the class, `w_k = Σ_ij ∂z_c/∂A_kij`, which
/// is `W_ck` exactly where the head is global average pooling then one linear layer (its
/// gradient is then `W_ck / hw` at every position); map `Σ_k w_k A_k`. Read from the gradient,
/// it needs no knowledge of the model's modules, and works for any file camlens opens.
pub fn cam(a: &[f32], g: &[f32], k: usize) -> RawMap {
    let weights = channels(g, k)
        .map(|gk| sum64(gk.iter().copied()) as f32)
        .collect();
    weighted(a, weights)
}

/// HiResCAM (Draelos & Carin 2020): `Σ_k g_k ⊙ A_k`, the gradient kept at each position (GradCAM
/// averages it first).
pub fn hirescam(a: &[f32], g: &[f32], k: usize) -> RawMap {
    RawMap::elementwise(a.iter().zip(g).map(|(a, g)| g * a).collect(), k)
}

/// pytorch-grad-cam's GradCAMElementWise: `Σ_k relu(g_k ⊙ A_k)`.
pub fn gradcam_elementwise(a: &[f32], g: &[f32], k: usize) -> RawMap {
    RawMap::elementwise(a.iter().zip(g).map(|(a, g)| (g * a).max(0.0)).collect(), k)
}

/// pytorch-grad-cam's EigenGradCAM: the first principal component of `g ⊙ A` over positions,
/// signed as EigenCAM's (see [`first_component`]).
pub fn eigengradcam(a: &[f32], g: &[f32], k: usize) -> RawMap {
    let product: Vec<f32> = a.iter().zip(g).map(|(a, g)| a * g).collect();
    RawMap::unweighted(first_component(&product, k))
}

/// Per-channel view of `[K, h, w]` data.
fn channels(x: &[f32], k: usize) -> std::slice::ChunksExact<'_, f32> {
    x.chunks_exact(x.len() / k)
}

/// `Σ_k w_k A_k`.
pub fn weighted_sum(a: &[f32], weights: &[f32]) -> Vec<f32> {
    let k = weights.len();
    let mut out = vec![0.0f32; a.len() / k];
    for (w, ak) in weights.iter().zip(channels(a, k)) {
        out.iter_mut().zip(ak).for_each(|(o, v)| *o += w * v);
    }
    out
}

/// `Σ x` accumulated in f64: a channel's sum can cancel (LayerNorm outputs sum to nearly zero
/// over a channel), and an f32 running sum would then hang on the order of its terms.
fn sum64(x: impl Iterator<Item = f32>) -> f64 {
    x.map(f64::from).sum()
}

/// GradCAM: `w_k = mean_ij g_kij`.
pub fn gradcam_weights(g: &[f32], k: usize) -> Vec<f32> {
    channels(g, k)
        .map(|gk| (sum64(gk.iter().copied()) / gk.len() as f64) as f32)
        .collect()
}

/// GradCAM++ (Chattopadhay et al., eq. 19): `a_kij = g² / (2g² + Σ_ab A_kab · g³ + ε)`, zero where
/// `g = 0`; `w_k = Σ_ij a_kij · relu(g_kij)`. ε = 1e-6 as pytorch-grad-cam.
pub fn gradcam_pp_weights(a: &[f32], g: &[f32], k: usize) -> Vec<f32> {
    channels(a, k)
        .zip(channels(g, k))
        .map(|(ak, gk)| {
            let sum_a = sum64(ak.iter().copied()) as f32;
            gk.iter()
                .map(|&g| {
                    if g == 0.0 {
                        return 0.0;
                    }
                    let g2 = g * g;
                    let alpha = g2 / (2.0 * g2 + sum_a * g2 * g + 1e-6);
                    alpha * g.max(0.0)
                })
                .sum()
        })
        .collect()
}

/// XGradCAM (Fu et al.): `w_k = Σ_ij g_kij A_kij / (Σ_ij A_kij + ε)`, ε = 1e-7.
pub fn xgradcam_weights(a: &[f32], g: &[f32], k: usize) -> Vec<f32> {
    channels(a, k)
        .zip(channels(g, k))
        .map(|(ak, gk)| {
            let sum_a = sum64(ak.iter().copied());
            let sum_ga: f64 = ak.iter().zip(gk).map(|(&a, &g)| a as f64 * g as f64).sum();
            (sum_ga / (sum_a + 1e-7)) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_two_channel_case() {
        // K = 2 channels of 2 pixels.
        let a = [1.0, 3.0, 0.0, 2.0];
        let g = [0.5, -0.5, 1.0, 0.0];
        assert_eq!(gradcam_weights(&g, 2), vec![0.0, 0.5]);
        assert_eq!(weighted_sum(&a, &[0.0, 0.5]), vec![0.0, 1.0]);
        // XGradCAM: (0.5·1 − 0.5·3)/4 = −0.25 ; (0)/2 = 0
        let x = xgradcam_weights(&a, &g, 2);
        assert!((x[0] + 0.25).abs() < 1e-6 && x[1].abs() < 1e-6);
        // LayerCAM: relu(g)·A summed over channels = [0.5·1 + 1·0, 0 + 0]
        assert_eq!(layercam(&a, &g, 2).raw, vec![0.5, 0.0]);
        // GradCAM++ channel 0 pixel 0: g=.5, g²=.25, g³=.125, ΣA=4 → .25/(.5+.5) = .25 → .125
        // pixel 1: relu(−.5) = 0. Channel 1: g = 1 → 1/(2 + 2) = .25; g = 0 → 0.
        let w = gradcam_pp_weights(&a, &g, 2);
        assert!(
            (w[0] - 0.125).abs() < 1e-5 && (w[1] - 0.25).abs() < 1e-5,
            "{w:?}"
        );
    }

    #[test]
    fn zero_activations_give_zero_weights_not_nan() {
        let a = [0.0; 8];
        let g = [0.0; 8];
        for w in [
            gradcam_weights(&g, 2),
            gradcam_pp_weights(&a, &g, 2),
            xgradcam_weights(&a, &g, 2),
        ] {
            assert!(w.iter().all(|v| *v == 0.0));
        }
    }
}
