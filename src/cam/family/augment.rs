//! Augmented GradCAM++ (Morbidelli et al. 2020; Gao et al. 2023): GradCAM++ on N rotated and
//! shifted copies of the input (the first the identity), each map warped back onto the original
//! frame, then aggregated. Seeded, so a result can be reproduced. And SmoothGradCAM++, GradCAM++
//! from noisy copies of the input (below).

use super::gradient::{RawMap, gradcam_pp_weights, weighted, weighted_sum};
use crate::cam::map::Map;
use crate::cam::monitor::Monitor;
use crate::cam::options::{Aggregate, AugmentOptions, Options};
use crate::cam::session::Session;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use crate::rng::SplitMix;
use burn::tensor::{Tensor, TensorData};

/// A rotation by `angle` about the image centre followed by a shift, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub angle: f32,
    pub dx: f32,
    pub dy: f32,
}

impl Transform {
    pub const IDENTITY: Transform = Transform {
        angle: 0.0,
        dx: 0.0,
        dy: 0.0,
    };

    /// Where the original pixel `(x, y)` lands in the augmented image.
    pub fn forward(&self, x: f32, y: f32, size: usize) -> (f32, f32) {
        let c = (size as f32 - 1.0) / 2.0;
        let (sin, cos) = self.angle.sin_cos();
        let (u, v) = (x - c, y - c);
        (
            cos * u - sin * v + c + self.dx,
            sin * u + cos * v + c + self.dy,
        )
    }

    /// Where the augmented pixel `(x, y)` comes from in the original.
    pub fn inverse(&self, x: f32, y: f32, size: usize) -> (f32, f32) {
        let c = (size as f32 - 1.0) / 2.0;
        let (sin, cos) = self.angle.sin_cos();
        let (u, v) = (x - c - self.dx, y - c - self.dy);
        (cos * u + sin * v + c, -sin * u + cos * v + c)
    }
}

/// The seeded transforms: the identity first, then rotations uniform in ±max angle and shifts
/// uniform in ±30 px at 224 px (scaled to the input size).
pub fn transforms(options: &AugmentOptions, size: usize) -> Vec<Transform> {
    let mut rng = SplitMix(options.seed);
    let shift = 30.0 * size as f32 / 224.0;
    let max_angle = options.max_angle_rad();
    (0..options.copies.max(1))
        .map(|i| {
            if i == 0 {
                return Transform::IDENTITY;
            }
            Transform {
                angle: rng.uniform(-max_angle, max_angle),
                dx: rng.uniform(-shift, shift),
                dy: rng.uniform(-shift, shift),
            }
        })
        .collect()
}

/// Bilinear sample of a `size×size` plane at `(x, y)`; `None` outside.
fn sample(plane: &[f32], size: usize, x: f32, y: f32) -> Option<f32> {
    if x < 0.0 || y < 0.0 || x > (size - 1) as f32 || y > (size - 1) as f32 {
        return None;
    }
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(size - 1), (y0 + 1).min(size - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |x: usize, y: usize| plane[y * size + x];
    Some(
        (at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx) * (1.0 - fy)
            + (at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx) * fy,
    )
}

/// The input `[3, S, S]` seen through `t` (zero, the dataset mean, where nothing maps).
pub fn warp_input(input: &[f32], size: usize, t: &Transform) -> Vec<f32> {
    let n = size * size;
    let mut out = vec![0.0; 3 * n];
    for y in 0..size {
        for x in 0..size {
            let (sx, sy) = t.inverse(x as f32, y as f32, size);
            for c in 0..3 {
                if let Some(v) = sample(&input[c * n..(c + 1) * n], size, sx, sy) {
                    out[c * n + y * size + x] = v;
                }
            }
        }
    }
    out
}

pub fn run(
    s: &Session,
    class: usize,
    aug: &AugmentOptions,
    options: &Options,
    monitor: &Monitor,
) -> Result<Map> {
    let size = s.input_size();
    let [k, h, w] = s.shape;
    let ts = transforms(aug, size);
    let batch = (s.batch_size(options) / 2).max(1);
    let n = size * size;
    let mut acc = vec![
        if aug.aggregate == Aggregate::Max {
            f32::NEG_INFINITY
        } else {
            0.0
        };
        n
    ];
    let mut count = vec![0u32; n];
    monitor.set(0, ts.len());
    for (done, chunk) in ts.chunks(batch).enumerate() {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let b = chunk.len();
        let data: Vec<f32> = chunk
            .iter()
            .flat_map(|t| warp_input(&s.input, size, t))
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [b, 3, size, size]), &s.model.device);
        let f = s.model.net.features(x, s.layer);
        let a = f.activation.autodiff().require_grad();
        let logits = s.model.net.head(a.clone(), &f.context, s.layer);
        let grads = logits.slice([0..b, class..class + 1]).sum().backward();
        let g = a
            .grad(&grads)
            .ok_or_else(|| Error::Device("no gradient reached the target layer".into()))?;
        let a = to_vec(a.without_autodiff())?;
        let g = to_vec(g)?;
        let per = k * h * w;
        for (i, t) in chunk.iter().enumerate() {
            let (ai, gi) = (&a[i * per..(i + 1) * per], &g[i * per..(i + 1) * per]);
            let weights = gradcam_pp_weights(ai, gi, k);
            let m = Map::new(w, h, weighted_sum(ai, &weights))
                .relu()
                .resized(size, size, false);
            for y in 0..size {
                for x in 0..size {
                    let (ax, ay) = t.forward(x as f32, y as f32, size);
                    if let Some(v) = sample(&m.data, size, ax, ay) {
                        let p = y * size + x;
                        acc[p] = match aug.aggregate {
                            Aggregate::Mean => acc[p] + v,
                            Aggregate::Max => acc[p].max(v),
                        };
                        count[p] += 1;
                    }
                }
            }
        }
        monitor.set((done * batch + b).min(ts.len()), ts.len());
    }
    let data = acc
        .iter()
        .zip(&count)
        .map(|(v, c)| match (aug.aggregate, c) {
            (_, 0) => 0.0,
            (Aggregate::Mean, c) => v / *c as f32,
            (Aggregate::Max, _) => *v,
        })
        .collect();
    Ok(Map::new(size, size, data))
}

// SmoothGradCAM++: GradCAM++ from the gradients of noisy copies of the input.
//
// SmoothGradCAM++ (Omeiza et al. 2019) as torch-cam 0.5 computes it (`SmoothGradCAMpp`): the
// prepared input plus Gaussian noise (σ = 0.3, in the prepared input's units), four copies,
// one forward and backward pass each (batched here). With `G²`, `G³` the copies' mean squared
// and cubed gradients and `A⁰` the clean activations,
// `α_kij = G²_kij / (2 G²_kij + Σ_ab G³_kab A⁰_kab + 1e-8)`, `w_k = Σ_ij α_kij relu(g_kij)`.
// torch-cam's code (not its paper) takes `g` and the activations the map sums from the last
// noisy copy (its hooks keep the last pass), so the map is `Σ_k w_k A_k` of that copy: camlens
// follows the code. The noise comes from `--seed` (SplitMix64, Box–Muller).

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

pub fn smooth(s: &Session, class: usize, seed: u64, monitor: &Monitor) -> Result<RawMap> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_round_trips() {
        let t = Transform {
            angle: 0.3,
            dx: 5.0,
            dy: -7.0,
        };
        let (x, y) = t.forward(40.0, 100.0, 224);
        let (bx, by) = t.inverse(x, y, 224);
        assert!((bx - 40.0).abs() < 1e-3 && (by - 100.0).abs() < 1e-3);
    }

    #[test]
    fn transforms_are_seeded_and_start_with_the_identity() {
        let o = AugmentOptions {
            copies: 5,
            ..Default::default()
        };
        let a = transforms(&o, 224);
        assert_eq!(a, transforms(&o, 224));
        assert_eq!(a[0], Transform::IDENTITY);
        assert!(
            a[1..]
                .iter()
                .all(|t| t.angle.abs() <= 0.5 && t.dx.abs() <= 30.0)
        );
        let b = transforms(&AugmentOptions { seed: 1, ..o }, 224);
        assert_ne!(a[1], b[1]);
    }
}
