//! The score family: ScoreCAM (authors' and pytorch-grad-cam's) and ScoreCAM++. Each channel's
//! mask is built on the device from the activations, a batch of channels at a time, multiplied
//! with the input and classified in one forward pass; only the batch's scores come back to the
//! host. Channels whose masks are identical (constant activations) share one forward pass.

use crate::cam::map::Map;
use crate::cam::method::{FlatChannels, MaskKind, ScoreRecipe, ScoreTarget};
use crate::cam::monitor::{Monitor, Preview};
use crate::cam::options::{Gate, Options, ScoreMode};
use crate::cam::session::Session;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use burn::tensor::activation::{mish, relu, sigmoid, silu, tanh};
use burn::tensor::{Int, Tensor, TensorData};
use std::collections::HashMap;

pub struct ScoreOutput {
    pub raw: Map,
    pub weights: Vec<f32>,
    pub approximate: Option<String>,
}

/// How a channel takes part.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// Not evaluated: weight 0 (a flat channel in the authors' ScoreCAM, or outside the top-N).
    Skip,
    /// Its score is the score of job `n`.
    Job(usize),
}

pub fn run(
    s: &Session,
    recipe: &ScoreRecipe,
    class: usize,
    options: &Options,
    monitor: &Monitor,
    priority: &[f32],
) -> Result<ScoreOutput> {
    let [k, _, _] = s.shape;
    let opts = options.scorecam_pp;

    let (mut selected, approximate) = select_channels(&s.activations, k, options.top_channels);
    // Highest priority first (ties by index): jobs are made in this order.
    selected.sort_by(|&a, &b| priority[b].total_cmp(&priority[a]).then(a.cmp(&b)));
    let Plan { roles, jobs, uses } = plan(s, recipe, opts.gate, &selected);
    // Gated ScoreCAM++ sums its masks at input resolution. Each job's mask is already on the
    // device for its forward pass and its weight is known right after it, so the map is summed
    // there instead of gating and upsampling every channel again afterwards.
    let gated = recipe.mask == MaskKind::Gated && !opts.gate_in_normalization_only;
    let (logit, base) = target(recipe, opts.mode, s.probs[class]);
    let size = s.input_size();
    let mut gated_map = Tensor::<2>::zeros([1, size * size], &s.model.device);

    let batch = s.batch_size(options);
    let total = jobs.len();
    log::debug!(
        "{} channels, {} selected, {total} forward passes",
        k,
        selected.len()
    );
    monitor.clear_preview();
    monitor.set(0, total);
    let mut job_scores = Vec::with_capacity(total);
    for chunk in jobs.chunks(batch) {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let masks = masks(s, recipe.mask, opts.gate, chunk);
        let inputs = s.x.clone() * masks.clone(); // [B, 3, S, S]
        let logits = s.model.forward(inputs);
        let b = chunk.len();
        let scores = if logit {
            logits.slice([0..b, class..class + 1])
        } else {
            s.model
                .probabilities(logits)
                .slice([0..b, class..class + 1])
        };
        let first = job_scores.len();
        job_scores.extend(to_vec(scores)?);
        if gated {
            let coef: Vec<f32> = (first..first + b)
                .map(|j| (job_scores[j] - base) * uses[j])
                .collect();
            let coef = Tensor::<2>::from_data(TensorData::new(coef, [1, b]), &s.model.device);
            gated_map = gated_map + coef.matmul(masks.reshape([b, size * size]));
        }
        if monitor.wants_preview() && job_scores.len() < total {
            let weights = channel_weights(&roles, &job_scores, base, recipe.channel_softmax);
            monitor.set_preview(Preview {
                map: summed(s, gated, &gated_map, &weights)?.finished(size).0,
                done: job_scores.len(),
                total,
            });
        }
        monitor.set(job_scores.len(), total);
    }
    // The previews were this method's: none is left for whoever reads the monitor next.
    monitor.clear_preview();
    if monitor.is_cancelled() {
        return Err(Error::Cancelled);
    }

    let weights = channel_weights(&roles, &job_scores, base, recipe.channel_softmax);

    let raw = summed(s, gated, &gated_map, &weights)?;
    Ok(ScoreOutput {
        raw,
        weights,
        approximate,
    })
}

/// The map of `weights` so far. Up is linear, `Σ s_k Up(A_k) = Up(Σ s_k A_k)`, so maps over raw
/// activations are built at feature resolution; only gated ScoreCAM++ sums at input resolution,
/// on the device as its batches go (`gated_map`).
fn summed(s: &Session, gated: bool, gated_map: &Tensor<2>, weights: &[f32]) -> Result<Map> {
    let [_, h, w] = s.shape;
    let size = s.input_size();
    Ok(match gated {
        true => Map::new(size, size, to_vec(gated_map.clone())?),
        false => Map::new(w, h, super::gradient::weighted_sum(&s.activations, weights)),
    })
}

/// The forward passes a score method needs: one job per distinct mask.
struct Plan {
    roles: Vec<Role>,
    /// The channel whose mask each job runs.
    jobs: Vec<usize>,
    /// How many channels each job's score stands for (a weight counts once per channel).
    uses: Vec<f32>,
}

fn plan(s: &Session, recipe: &ScoreRecipe, gate: Gate, selected: &[usize]) -> Plan {
    let [k, h, w] = s.shape;
    let plane = h * w;
    let mut roles = vec![Role::Skip; k];
    let mut jobs: Vec<usize> = vec![];
    let mut constant_jobs: HashMap<u32, usize> = HashMap::new();
    let mut channel_jobs: HashMap<Vec<u32>, usize> = HashMap::new();
    for &c in selected {
        let ch = &s.activations[c * plane..(c + 1) * plane];
        let flat = ch.iter().all(|v| *v == ch[0]);
        roles[c] = if !flat {
            // Bit-identical channels give bit-identical masks: one forward serves them all.
            let key = ch.iter().map(|v| v.to_bits()).collect();
            Role::Job(*channel_jobs.entry(key).or_insert_with(|| {
                jobs.push(c);
                jobs.len() - 1
            }))
        } else {
            // A constant activation v gives a constant mask, which the recipe decides.
            let key = match recipe.flat_channels {
                FlatChannels::Skip => None,
                FlatChannels::ZeroMask => Some(0f32.to_bits()),
                FlatChannels::Gated => Some(gate.apply(ch[0]).to_bits()),
            };
            match key {
                None => Role::Skip,
                Some(key) => Role::Job(*constant_jobs.entry(key).or_insert_with(|| {
                    jobs.push(c);
                    jobs.len() - 1
                })),
            }
        };
    }

    // A job's weight counts once per channel it stands for.
    let mut uses = vec![0.0f32; jobs.len()];
    for r in &roles {
        if let Role::Job(j) = r {
            uses[*j] += 1.0;
        }
    }
    Plan { roles, jobs, uses }
}

/// Whether the scores are logits, and the baseline subtracted from them.
fn target(recipe: &ScoreRecipe, mode: ScoreMode, prob: f32) -> (bool, f32) {
    match recipe.target {
        ScoreTarget::Probability => (false, 0.0),
        ScoreTarget::Logit => (true, 0.0),
        ScoreTarget::ScoreCamPlusPlusMode => match mode {
            ScoreMode::Probability => (false, 0.0),
            ScoreMode::IncreaseInConfidence => (false, prob),
        },
    }
}

/// Each channel's weight from the scores of the jobs run so far (the others weigh 0).
fn channel_weights(roles: &[Role], job_scores: &[f32], base: f32, softmax: bool) -> Vec<f32> {
    let done: Vec<Role> = roles
        .iter()
        .map(|r| match r {
            Role::Job(j) if *j < job_scores.len() => *r,
            _ => Role::Skip,
        })
        .collect();
    let mut weights: Vec<f32> = done
        .iter()
        .map(|r| match r {
            Role::Skip => 0.0,
            Role::Job(j) => job_scores[*j] - base,
        })
        .collect();
    if softmax {
        softmax_over_selected(&mut weights, &done);
    }
    weights
}

/// Faster-ScoreCAM's approximation: the `n` channels of highest spatial variance.
fn select_channels(a: &[f32], k: usize, top: Option<usize>) -> (Vec<usize>, Option<String>) {
    match top {
        Some(n) if n < k => {
            let plane = a.len() / k;
            let var = |c: usize| {
                let ch = &a[c * plane..(c + 1) * plane];
                let mean = ch.iter().sum::<f32>() / plane as f32;
                ch.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()
            };
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&x, &y| var(y).total_cmp(&var(x)));
            order.truncate(n);
            order.sort_unstable();
            (
                order,
                Some(format!(
                    "approximation: top {n} of {k} channels by variance"
                )),
            )
        }
        _ => ((0..k).collect(), None),
    }
}

fn softmax_over_selected(weights: &mut [f32], roles: &[Role]) {
    let max = weights
        .iter()
        .zip(roles)
        .filter(|(_, r)| **r != Role::Skip)
        .map(|(w, _)| *w)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (w, r) in weights.iter_mut().zip(roles) {
        *w = if *r == Role::Skip {
            0.0
        } else {
            (*w - max).exp()
        };
        sum += *w;
    }
    if sum > 0.0 {
        weights.iter_mut().for_each(|w| *w /= sum);
    }
}

/// The given channels of the activations, upsampled to the input size: `[B, 1, S, S]`.
fn upsampled(s: &Session, channels: &[usize], align_corners: bool) -> Tensor<4> {
    let [_, h, w] = s.shape;
    let (b, size) = (channels.len(), s.input_size());
    let device = &s.model.device;
    let idx: Vec<i64> = channels.iter().map(|&c| c as i64).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b]), device);
    let a = s
        .features
        .activation
        .clone()
        .select(1, idx)
        .reshape([b, 1, h, w]);
    crate::compute::resize::bilinear(a, size, size, align_corners)
}

fn gate(g: Gate, x: Tensor<4>) -> Tensor<4> {
    match g {
        Gate::Tanh => tanh(x),
        Gate::Relu => relu(x),
        Gate::Sigmoid => sigmoid(x),
        Gate::Mish => mish(x),
        Gate::Swish => silu(x),
    }
}

fn masks(s: &Session, kind: MaskKind, g: Gate, channels: &[usize]) -> Tensor<4> {
    let b = channels.len();
    match kind {
        MaskKind::Gated => gate(g, upsampled(s, channels, false)),
        MaskKind::MinMax {
            align_corners,
            epsilon,
        } => {
            let up = upsampled(s, channels, align_corners);
            let size = s.input_size();
            let flat = up.clone().reshape([b, size * size]);
            let lo = flat.clone().min_dim(1).reshape([b, 1, 1, 1]);
            let hi = flat.max_dim(1).reshape([b, 1, 1, 1]);
            // Constant channels reach here only with an epsilon (pytorch-grad-cam's variant),
            // which turns them into all-zero masks, as it does.
            let range = hi - lo.clone() + epsilon;
            (up - lo) / range
        }
    }
}
