//! AblationCAM (Desai & Ramaswamy 2020) as pytorch-grad-cam 1.5.7 computes it: each channel of
//! the target layer ablated in turn, the class's logit of the rest of the network read, and the
//! channel weighted by the relative drop `w_k = (z − z_k) / z`; map `Σ_k w_k A_k`.
//!
//! pytorch-grad-cam swaps the layer for one that returns the cached activations, so every batch
//! of channels still runs the whole network before the layer. Here the layers before it run
//! once, for one batch of copies of the input (what the head needs beside the activations: skip
//! connections, a residual stream), and each batch of ablations runs the head alone.

use crate::cam::map::Map;
use crate::cam::monitor::{Monitor, Preview};
use crate::cam::options::Options;
use crate::cam::session::Session;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use burn::tensor::{Tensor, TensorData};

/// What an ablated channel is set to: 0 where the layer's smallest value is 0 (after a ReLU, as
/// in the paper), else 1e7 below that smallest value (pytorch-grad-cam's choice for layers that
/// can be negative; its value sinks by a further 1e7 for each input of a batch, which camlens
/// does not copy: a channel's weight should not depend on its place in a batch).
pub fn ablation_value(activations: &[f32]) -> f32 {
    let min = activations.iter().cloned().fold(f32::MAX, f32::min);
    if min == 0.0 { 0.0 } else { min - 1e7 }
}

/// The map at the layer's resolution and each channel's weight.
pub fn run(
    s: &Session,
    class: usize,
    options: &Options,
    monitor: &Monitor,
) -> Result<(Map, Vec<f32>)> {
    let [k, h, w] = s.shape;
    let n = h * w;
    let value = ablation_value(&s.activations);
    let batch = s.batch_size(options).min(k);
    let context = s
        .model
        .net
        .features(s.x.clone().repeat_dim(0, batch), s.layer)
        .context;
    let z = s.logits[class];
    let weight = |zk: f32| (z - zk) / z;
    monitor.clear_preview();
    monitor.set(0, k);
    let mut weights = Vec::with_capacity(k);
    for first in (0..k).step_by(batch) {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let channels = first..(first + batch).min(k);
        // Every batch has `batch` rows, as its context does; rows past the last channel ablate
        // nothing and are not read.
        let mut data = Vec::with_capacity(batch * k * n);
        for row in 0..batch {
            let start = data.len();
            data.extend_from_slice(&s.activations);
            if channels.contains(&(first + row)) {
                let c = start + (first + row) * n;
                data[c..c + n].fill(value);
            }
        }
        let a = Tensor::<4>::from_data(TensorData::new(data, [batch, k, h, w]), &s.model.device);
        let logits = s.model.net.head(a, &context, s.layer);
        let scores = to_vec(logits.slice([0..batch, class..class + 1]))?;
        weights.extend(scores[..channels.len()].iter().map(|&zk| weight(zk)));
        if monitor.wants_preview() && weights.len() < k {
            let mut partial = weights.clone();
            partial.resize(k, 0.0);
            let map = Map::new(
                w,
                h,
                super::gradient::weighted_sum(&s.activations, &partial),
            );
            monitor.set_preview(Preview {
                map: map.finished(s.input_size()).0,
                done: weights.len(),
                total: k,
            });
        }
        monitor.set(weights.len(), k);
    }
    monitor.clear_preview();
    let raw = super::gradient::weighted_sum(&s.activations, &weights);
    Ok((Map::new(w, h, raw), weights))
}
