//! SmoothGradCAM++ (Omeiza et al. 2019) as torch-cam 0.5 computes it (`SmoothGradCAMpp`): the
//! prepared input plus Gaussian noise (σ = 0.3, in the prepared input's units), four copies,
//! one forward and backward pass each (batched here). With `G²`, `G³` the copies' mean squared
//! and cubed gradients and `A⁰` the clean activations,
//! `α_kij = G²_kij / (2 G²_kij + Σ_ab G³_kab A⁰_kab + 1e-8)`, `w_k = Σ_ij α_kij relu(g_kij)`.
//! torch-cam's code (not its paper) takes `g` and the activations the map sums from the last
//! noisy copy (its hooks keep the last pass), so the map is `Σ_k w_k A_k` of that copy: camlens
//! follows the code. The noise comes from `--seed` (SplitMix64, Box–Muller).

use super::gradient::{RawMap, weighted};
use crate::cam::monitor::Monitor;
use crate::cam::session::Session;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use crate::rng::SplitMix;
use burn::tensor::{Tensor, TensorData};

/// torch-cam's defaults.
pub const COPIES: usize = 4;
pub const SIGMA: f64 = 0.3;

/// The noisy copies `[COPIES, 3, S, S]` of `input`, from `seed`: copy by copy, element by
/// element, each a standard normal times `SIGMA` added.
pub fn noisy_copies(input: &[f32], seed: u64) -> Vec<f32> {
    let mut rng = SplitMix(seed);
    (0..COPIES)
        .flat_map(|_| input.to_vec())
        .map(|v| v + (SIGMA * rng.normal()) as f32)
        .collect()
}

pub fn run(s: &Session, class: usize, seed: u64, monitor: &Monitor) -> Result<RawMap> {
    let [k, h, w] = s.shape;
    let size = s.input_size();
    monitor.set(0, COPIES);
    let x = Tensor::<4>::from_data(
        TensorData::new(noisy_copies(&s.input, seed), [COPIES, 3, size, size]),
        &s.model.device,
    );
    let f = s.model.net.features(x, s.layer);
    let a = f.activation.autodiff().require_grad();
    let logits = s.model.net.head(a.clone(), &f.context, s.layer);
    let grads = logits.slice([0..COPIES, class..class + 1]).sum().backward();
    let g = a
        .grad(&grads)
        .ok_or_else(|| Error::Device("no gradient reached the target layer".into()))?;
    let (a, g) = (to_vec(a.without_autodiff())?, to_vec(g)?);
    monitor.set(COPIES, COPIES);
    let per = k * h * w;
    let (mut g2, mut g3) = (vec![0f64; per], vec![0f64; per]);
    for copy in g.chunks_exact(per) {
        for ((s2, s3), &v) in g2.iter_mut().zip(&mut g3).zip(copy) {
            *s2 += (v as f64).powi(2) / COPIES as f64;
            *s3 += (v as f64).powi(3) / COPIES as f64;
        }
    }
    let last = COPIES - 1;
    let (a_last, g_last) = (&a[last * per..], &g[last * per..]);
    let n = h * w;
    let weights = (0..k)
        .map(|c| {
            let ch = c * n..(c + 1) * n;
            let d: f64 = ch.clone().map(|i| g3[i] * s.activations[i] as f64).sum();
            ch.map(|i| g2[i] / (2.0 * g2[i] + d + 1e-8) * g_last[i].max(0.0) as f64)
                .sum::<f64>() as f32
        })
        .collect();
    Ok(weighted(a_last, weights))
}
