//! The methods that differentiate the whole network down to the input, with no target layer.
//!
//! FullGrad (Srinivas & Fleuret 2019) as pytorch-grad-cam 1.5.7 computes it (`FullGrad`): one
//! forward and backward pass through the whole network, then `|∂z/∂x ⊙ x|` for each input
//! channel and `|b ⊙ ∂z/∂y|` for each channel of each biased layer output `y` (convolutions
//! and batch norms: `Network::forward_probed`), each channel min-max normalised
//! (`scale_accross_batch_and_channels`, 1e-7 in the range), resized to the input (bilinear,
//! half-pixel centres, as `cv2.resize`), all summed, and the sum min-max normalised.
//! Layer-free: the session's target layer plays no part. Min-max is per channel and resizing is
//! linear, so each layer's channels are summed at its own resolution and resized once: the same
//! map but for rounding, with one resize per layer instead of one per channel.
//!
//! Guided backpropagation (Springenberg et al. 2015) as pytorch-grad-cam 1.5.7's
//! `GuidedBackpropReLUModel`: the class's logit differentiated down to the input, each ReLU
//! passing back only the positive gradient where its input was positive. pytorch-grad-cam
//! replaces `nn.ReLU` modules only: ReLU6 (Lite0, MobileNetV2) and clamps pass gradients as they
//! always do, and a network without `nn.ReLU` gets its plain input gradient. burn has no custom
//! backward rules, so the pass is cut at every ReLU (`models::Trace`) and the rule applied
//! between one backward pass per cut, last cut first.

use crate::cam::map::Map;
use crate::cam::session::Session;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use crate::models::{Cut, Trace};
use burn::tensor::{Gradients, Tensor};

/// What the app, the CLI and the sheets say beside a FullGrad map.
pub const LAYER_FREE: &str = "layer-free: the input and every bias, not the chosen layer";

/// The map at input size, already min-max normalised as pytorch-grad-cam's last step.
pub fn fullgrad(s: &Session, class: usize) -> Result<Map> {
    let size = s.input_size();
    let mut trace = Trace {
        probe_biases: true,
        ..Trace::default()
    };
    let (x, logits) = traced(s, &mut trace, "FullGrad needs the biases of every layer")?;
    let grads = logits.slice([0..1, class..class + 1]).sum().backward();
    let gx = x
        .grad(&grads)
        .ok_or_else(|| Error::Device("no gradient reached the input".into()))?;
    let input_term: Vec<f32> = to_vec(gx)?
        .iter()
        .zip(&s.input)
        .map(|(g, x)| (g * x).abs())
        .collect();
    let mut total = vec![0f32; size * size];
    add_channels(&mut total, &input_term, [size, size], size);
    for p in trace.probes {
        let [_, _, h, w] = p.probe.dims();
        // A layer the class's logit does not depend on: every channel normalises to zero.
        let Some(g) = p.probe.grad(&grads) else {
            continue;
        };
        let g = to_vec(g)?;
        for bias in p.terms.iter() {
            let term: Vec<f32> = g
                .chunks_exact(h * w)
                .zip(bias.iter())
                .flat_map(|(gc, b)| gc.iter().map(move |v| (v * b).abs()))
                .collect();
            add_channels(&mut total, &term, [h, w], size);
        }
    }
    Ok(scaled(Map::new(size, size, total)))
}

/// Adds to `total` (`size × size`) the sum over channels of `values` (`[c, h, w]`), each
/// channel min-max normalised, resized to `size`.
fn add_channels(total: &mut [f32], values: &[f32], [h, w]: [usize; 2], size: usize) {
    let mut sum = vec![0f32; h * w];
    for channel in values.chunks_exact(h * w) {
        let lo = channel.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = channel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let range = 1e-7 + (hi - lo);
        sum.iter_mut()
            .zip(channel)
            .for_each(|(s, v)| *s += (v - lo) / range);
    }
    let map = Map::new(w, h, sum);
    let map = match (w, h) == (size, size) {
        true => map,
        false => map.resized(size, size, false),
    };
    total.iter_mut().zip(&map.data).for_each(|(t, v)| *t += v);
}

/// pytorch-grad-cam's `scale_cam_image`: `(m − min) / (1e-7 + max − min)`.
fn scaled(mut m: Map) -> Map {
    let (lo, hi) = m.min_max();
    let range = 1e-7 + (hi - lo);
    m.data.iter_mut().for_each(|v| *v = (*v - lo) / range);
    m
}

/// Guided backpropagation's gradient at the input, `[3, S, S]`.
pub fn guided(s: &Session, class: usize) -> Result<Vec<f32>> {
    let mut trace = Trace {
        cut: true,
        ..Trace::default()
    };
    let (x, logits) = traced(
        s,
        &mut trace,
        "guided backpropagation needs the ReLUs of the network",
    )?;
    let mut gathered = Gathered {
        at_cut: vec![None; trace.cuts.len()],
        at_input: None,
    };
    gathered.add(
        &logits.slice([0..1, class..class + 1]).sum().backward(),
        &trace.cuts,
        &x,
    );
    for (i, cut) in trace.cuts.iter().enumerate().rev() {
        let Some(g) = gathered.at_cut[i].take() else {
            continue;
        };
        let passed = match cut.relu {
            true => {
                let open = cut
                    .input
                    .clone()
                    .without_autodiff()
                    .greater_elem(0.0)
                    .float();
                g.clamp_min(0.0) * open
            }
            false => g,
        };
        let grads = (cut.input.clone() * passed.autodiff()).sum().backward();
        gathered.add(&grads, &trace.cuts, &x);
    }
    match gathered.at_input {
        Some(g) => to_vec(g),
        None => Ok(vec![0.0; s.input.len()]),
    }
}

/// The session's input as a tracked leaf and its logits from a pass traced as `trace` asks;
/// `needs` (what the method needs, which the network does not say) where it cannot be.
fn traced(s: &Session, trace: &mut Trace, needs: &str) -> Result<(Tensor<4>, Tensor<2>)> {
    let x = s.x.clone().autodiff().require_grad();
    let logits = s
        .model
        .net
        .forward_traced(x.clone(), trace)
        .ok_or_else(|| Error::Invalid(format!("{needs}, which {} does not give", s.model.name)))?;
    Ok((x, logits))
}

/// The gradients one backward pass after another left at the cuts' leaves and the input.
struct Gathered {
    at_cut: Vec<Option<Tensor<1>>>,
    at_input: Option<Tensor<4>>,
}

impl Gathered {
    fn add(&mut self, grads: &Gradients, cuts: &[Cut], x: &Tensor<4>) {
        for (sum, cut) in self.at_cut.iter_mut().zip(cuts) {
            if let Some(g) = cut.leaf_grad(grads) {
                *sum = Some(sum.take().map_or(g.clone(), |s| s + g));
            }
        }
        if let Some(g) = x.grad(grads) {
            self.at_input = Some(self.at_input.take().map_or(g.clone(), |s| s + g));
        }
    }
}

/// An input gradient `[3, S, S]` as a heat map: per pixel the largest magnitude over the
/// channels (Simonyan et al. 2014's saliency map). pytorch-grad-cam returns the gradient as an
/// image and leaves showing it to `deprocess_image`; a map is what camlens' cards, metrics and
/// overlays take.
pub fn saliency(g: &[f32], size: usize) -> Map {
    let plane = size * size;
    let data = (0..plane)
        .map(|i| (0..3).map(|c| g[c * plane + i].abs()).fold(0.0, f32::max))
        .collect();
    Map::new(size, size, data)
}
