//! The score family: ScoreCAM (authors' and pytorch-grad-cam's), torch-cam's SS-CAM and IS-CAM,
//! and ScoreCAM++. Each channel's
//! mask is built on the device from the activations, a batch of channels at a time, multiplied
//! with the input and classified in one forward pass; only the batch's scores come back to the
//! host. Channels whose masks are identical (constant activations) share one forward pass.

use crate::cam::map::Map;
use crate::cam::method::{FlatChannels, MaskKind, Passes, ScoreRecipe, ScoreTarget};
use crate::cam::monitor::{Monitor, Preview};
use crate::cam::options::{Gate, Options, ScoreMode};
use crate::cam::session::Session;
use crate::compute::resize::{bilinear, bilinear_host};
use crate::compute::tensor_io::{host_tensor, to_vec};
use crate::error::{Error, Result};
use crate::rng::SplitMix;
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
    // Noisy masks differ channel by channel even where the activations agree: no sharing.
    let share = !matches!(recipe.passes, Passes::Noisy { .. });
    let Plan { roles, jobs, uses } = plan(s, recipe, opts.gate, &selected, share);
    // Gated ScoreCAM++ sums its masks at input resolution. Each job's mask is already on the
    // device for its forward pass and its weight is known right after it, so the map is summed
    // there instead of gating and upsampling every channel again afterwards.
    let gated = recipe.mask == MaskKind::Gated && !opts.gate_in_normalization_only;
    let (logit, base) = target(recipe, opts.mode, s.probs[class], s.logits[class]);
    let size = s.input_size();
    let mut gated_map = Tensor::<2>::zeros([1, size * size], &s.model.device);

    let samples = recipe.passes.samples(options.score_samples);
    let passes: Vec<Pass> = jobs
        .iter()
        .flat_map(|&channel| (0..samples).map(move |sample| Pass { channel, sample }))
        .collect();
    let batch = s.batch_size(options);
    let total = passes.len();
    log::debug!(
        "{k} channels, {} selected, {total} forward passes",
        selected.len()
    );
    monitor.clear_preview();
    monitor.set(0, total);
    let mut scores = Vec::with_capacity(total);
    for chunk in passes.chunks(batch) {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let masks = sampled(s, recipe, opts.gate, options.augment.seed, samples, chunk);
        let inputs = s.x.clone() * masks.clone(); // [B, 3, S, S]
        let logits = s.model.forward(inputs);
        let b = chunk.len();
        let chunk_scores = if logit {
            logits.slice([0..b, class..class + 1])
        } else {
            s.model
                .probabilities(logits)
                .slice([0..b, class..class + 1])
        };
        let first = scores.len();
        scores.extend(to_vec(chunk_scores)?);
        if gated {
            // One pass per job here (ScoreCAM++ takes no samples).
            let coef: Vec<f32> = (first..first + b)
                .map(|j| (scores[j] - base) * uses[j])
                .collect();
            let coef = Tensor::<2>::from_data(TensorData::new(coef, [1, b]), &s.model.device);
            gated_map = gated_map + coef.matmul(masks.reshape([b, size * size]));
        }
        if monitor.wants_preview() && scores.len() < total {
            let values = job_values(&scores, samples, base);
            let weights = channel_weights(&roles, &values, recipe.channel_softmax);
            monitor.set_preview(Preview {
                map: summed(s, gated, &gated_map, &weights)?.finished(size).0,
                done: scores.len(),
                total,
            });
        }
        monitor.set(scores.len(), total);
    }
    // The previews were this method's: none is left for whoever reads the monitor next.
    monitor.clear_preview();
    if monitor.is_cancelled() {
        return Err(Error::Cancelled);
    }

    let values = job_values(&scores, samples, base);
    let weights = channel_weights(&roles, &values, recipe.channel_softmax);

    let raw = summed(s, gated, &gated_map, &weights)?;
    Ok(ScoreOutput {
        raw,
        weights,
        approximate,
    })
}

/// One masked forward pass: a channel's mask, as its `sample`-th variant.
#[derive(Debug, Clone, Copy)]
struct Pass {
    channel: usize,
    sample: usize,
}

/// Each finished job's value: the mean over its samples of score − baseline, summed in sample
/// order in f32 as torch-cam accumulates it.
fn job_values(scores: &[f32], samples: usize, base: f32) -> Vec<f32> {
    scores
        .chunks_exact(samples)
        .map(|js| js.iter().fold(0f32, |acc, v| acc + (v - base)) / samples as f32)
        .collect()
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

fn plan(s: &Session, recipe: &ScoreRecipe, gate: Gate, selected: &[usize], share: bool) -> Plan {
    let [k, h, w] = s.shape;
    let plane = h * w;
    let mut roles = vec![Role::Skip; k];
    let mut jobs: Vec<usize> = vec![];
    let mut constant_jobs: HashMap<u32, usize> = HashMap::new();
    let mut channel_jobs: HashMap<Vec<u32>, usize> = HashMap::new();
    for &c in selected {
        let ch = &s.activations[c * plane..(c + 1) * plane];
        let flat = ch.iter().all(|v| *v == ch[0]);
        roles[c] = if !share {
            match (flat, recipe.flat_channels) {
                (true, FlatChannels::Skip) => Role::Skip,
                _ => {
                    jobs.push(c);
                    Role::Job(jobs.len() - 1)
                }
            }
        } else if !flat {
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
fn target(recipe: &ScoreRecipe, mode: ScoreMode, prob: f32, logit: f32) -> (bool, f32) {
    match recipe.target {
        ScoreTarget::Probability => (false, 0.0),
        ScoreTarget::Logit => (true, 0.0),
        ScoreTarget::LogitIncrease => (true, logit),
        ScoreTarget::ScoreCamPlusPlusMode => match mode {
            ScoreMode::Probability => (false, 0.0),
            ScoreMode::IncreaseInConfidence => (false, prob),
        },
    }
}

/// Each channel's weight from the values of the jobs finished so far (the others weigh 0).
fn channel_weights(roles: &[Role], values: &[f32], softmax: bool) -> Vec<f32> {
    let done: Vec<Role> = roles
        .iter()
        .map(|r| match r {
            Role::Job(j) if *j < values.len() => *r,
            _ => Role::Skip,
        })
        .collect();
    let mut weights: Vec<f32> = done
        .iter()
        .map(|r| match r {
            Role::Skip => 0.0,
            Role::Job(j) => values[*j],
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

/// The given channels of the activations at feature size: `[B, 1, h, w]`.
fn selected_channels(s: &Session, channels: &[usize]) -> Tensor<4> {
    let [_, h, w] = s.shape;
    let b = channels.len();
    let idx: Vec<i64> = channels.iter().map(|&c| c as i64).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b]), &s.model.device);
    s.features
        .activation
        .clone()
        .select(1, idx)
        .reshape([b, 1, h, w])
}

/// The given channels of the activations, upsampled to the input size: `[B, 1, S, S]`.
fn upsampled(s: &Session, channels: &[usize], align_corners: bool) -> Tensor<4> {
    let size = s.input_size();
    bilinear(selected_channels(s, channels), size, size, align_corners)
}

/// Min-max normalisation of each `[1, h, w]` plane of `x`, `epsilon` added to the range.
fn min_max(x: Tensor<4>, epsilon: f32) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    let flat = x.clone().reshape([b, h * w]);
    let lo = flat.clone().min_dim(1).reshape([b, 1, 1, 1]);
    let hi = flat.max_dim(1).reshape([b, 1, 1, 1]);
    (x - lo.clone()) / (hi - lo + epsilon)
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
    match kind {
        // On the CPU each plane is gated as it is resized, on all cores.
        MaskKind::Gated => {
            let (a, size) = (selected_channels(s, channels), s.input_size());
            if host_tensor(&a) {
                bilinear_host(a, size, size, false, |plane| g.apply_all(plane))
            } else {
                gate(g, bilinear(a, size, size, false))
            }
        }
        // Constant channels reach min-max only with an epsilon (pytorch-grad-cam's variant,
        // torch-cam's), which turns them into all-zero masks, as they do.
        MaskKind::MinMax {
            align_corners,
            epsilon,
        } => min_max(upsampled(s, channels, align_corners), epsilon),
        MaskKind::NormalisedThenUpsampled => {
            let size = s.input_size();
            let normalised = min_max(selected_channels(s, channels), 1e-8);
            bilinear(normalised, size, size, false)
        }
    }
}

/// The masks of a batch of passes: each channel's mask, then its sample's variant (noise
/// added, or a step of the integration).
fn sampled(
    s: &Session,
    recipe: &ScoreRecipe,
    g: Gate,
    seed: u64,
    samples: usize,
    chunk: &[Pass],
) -> Tensor<4> {
    let channels: Vec<usize> = chunk.iter().map(|p| p.channel).collect();
    let m = masks(s, recipe.mask, g, &channels);
    let device = &s.model.device;
    let b = chunk.len();
    match recipe.passes {
        Passes::One => m,
        Passes::Noisy { sigma, .. } => {
            let size = s.input_size();
            let [k, _, _] = s.shape;
            let noise = chunk
                .iter()
                .flat_map(|p| {
                    noise_plane(seed, sigma, (p.sample * k + p.channel) * size * size, size)
                })
                .collect();
            m + Tensor::<4>::from_data(TensorData::new(noise, [b, 1, size, size]), device)
        }
        Passes::Integrated { .. } => {
            let coef = chunk
                .iter()
                .map(|p| integration_step(p.sample, samples))
                .collect();
            m * Tensor::<4>::from_data(TensorData::new(coef, [b, 1, 1, 1]), device)
        }
    }
}

/// One mask's noise: `size²` values of the seed's normal stream from `start` (sample-major,
/// then channel, then pixel: torch-cam's `[1, K, S, S]` draw per sample), times `sigma`.
pub fn noise_plane(seed: u64, sigma: f32, start: usize, size: usize) -> Vec<f32> {
    (start..start + size * size)
        .map(|i| (sigma as f64 * SplitMix::normal_at(seed, i as u64)) as f32)
        .collect()
}

/// ISCAM's coefficient for sample `i` of `n`: `Σ_{j=1}^{i+1} j / n`, summed as torch-cam does.
fn integration_step(i: usize, n: usize) -> f32 {
    (0..=i).fold(0f64, |acc, j| acc + (j + 1) as f64 / n as f64) as f32
}
