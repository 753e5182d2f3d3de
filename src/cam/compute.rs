//! One method on one session: the method's own function (from its [`Spec`](super::method::Spec)),
//! then what every method ends with: ReLU, bilinear upsampling to the input size and min-max
//! normalisation. It sits above `Session`, `score` and `augment`, which know nothing of it.

use super::family::gradient::{RawMap, Terms};
use super::family::{ablation, attention, augment, factorisation, input_gradient, score};
use super::map::Map;
use super::method::{Family, GradientOf, MaskKind, Method};
use super::monitor::Monitor;
use super::options::{ChannelOrder, Options};
use super::projection::first_component;
use super::session::Session;
use super::wrapper;
use crate::error::Result;
use std::time::{Duration, Instant};

/// One method's explanation of one class.
#[derive(Debug, Clone)]
pub struct CamResult {
    pub method: Method,
    pub class: usize,
    /// The map before ReLU and normalisation: at feature resolution for methods that build it
    /// there (the gradient family, ScoreCAM), at input resolution otherwise. It can be negative,
    /// and where the head ends in a LayerNorm (ConvNeXt, Swin) the gradient family's sums to
    /// about zero over positions: compare [`CamResult::rectified`] with other tools' maps.
    pub raw: Map,
    /// ReLU, bilinear `Up` to the input size, min-max normalised to [0, 1].
    pub map: Map,
    /// Per-channel weights, for methods that have them.
    pub weights: Option<Vec<f32>>,
    /// The map was flat (all-zero after normalisation).
    pub flat: bool,
    /// A note to show wherever the map is: computed with an approximation (top-N channels),
    /// the method's premise not met (CAM), or no target layer used (FullGrad).
    pub approximate: Option<String>,
    pub elapsed: Duration,
    /// DFF's concepts, each with its finished map and top classes; empty for other methods.
    pub concepts: Vec<Concept>,
}

/// One concept of Deep Feature Factorization: where it is, and what the classifier makes of it.
#[derive(Debug, Clone)]
pub struct Concept {
    /// Finished as every map (ReLU, input size, min-max).
    pub map: Map,
    /// The three most probable classes of the concept's vector, most probable first.
    pub classes: Vec<(usize, f32)>,
}

impl CamResult {
    /// The result of `raw`, finished as every method ends (ReLU, `size`, min-max).
    fn finish(
        method: Method,
        class: usize,
        raw: Map,
        weights: Option<Vec<f32>>,
        approximate: Option<String>,
        size: usize,
        start: Instant,
    ) -> Self {
        let (map, flat) = raw.clone().finished(size);
        Self {
            method,
            class,
            raw,
            map,
            weights,
            flat,
            approximate,
            elapsed: start.elapsed(),
            concepts: vec![],
        }
    }

    /// The map after the method's ReLU, before upsampling and normalisation: what
    /// pytorch-grad-cam's `cam = max(cam, 0)` and torch-cam's `relu` give before they resize.
    pub fn rectified(&self) -> Map {
        self.raw.clone().relu()
    }
}

/// What a CAM card and line say where CAM's premise does not hold.
const NOT_POOLED_LINEAR: &str = "the head after this layer is not pooling then one linear \
    layer: these are not a classifier's weights but the summed gradient (GradCAM's map)";

/// Explains `class` with `method`. Long methods report to `monitor` and stop with
/// `Error::Cancelled` within one batch of a cancel.
pub fn run_method(
    session: &mut Session,
    method: Method,
    class: usize,
    options: &Options,
    monitor: &Monitor,
) -> Result<CamResult> {
    session.model.check_class(class)?;
    let start = Instant::now();
    let size = session.input_size();
    if options.aug_smooth {
        let plain = Options {
            aug_smooth: false,
            ..*options
        };
        let raw = wrapper::aug_smoothed(session, &mut |s| {
            Ok(run_method(s, method, class, &plain, monitor)?.map)
        })?;
        return Ok(CamResult::finish(
            method, class, raw, None, None, size, start,
        ));
    }
    let [k, h, w] = session.shape;
    let mut approximate = None;
    let mut concepts = vec![];
    let (raw, weights, terms) = match method.spec().family {
        Family::Gradient(f, of) => {
            if of == GradientOf::Classifier && !session.pooled_linear_head(class)? {
                approximate = Some(NOT_POOLED_LINEAR.to_string());
            }
            let g = session.gradient_of(class, of, &options.finer)?.to_vec();
            at_layer(w, h, f(&session.activations, &g, k))
        }
        Family::Activation(f) => {
            let seed = options.augment.seed;
            at_layer(w, h, f(&session.activations, k, seed))
        }
        Family::Score(recipe) => {
            let priority = channel_priority(session, class, options.channel_order)?;
            let out = score::run(session, &recipe, class, options, monitor, &priority)?;
            approximate = out.approximate;
            // Gated ScoreCAM++ sums at input resolution, not over the layer's channels.
            let terms = match recipe.mask {
                MaskKind::Gated => Terms::Own,
                MaskKind::MinMax { .. } | MaskKind::NormalisedThenUpsampled => Terms::Weighted,
            };
            (out.raw, Some(out.weights), terms)
        }
        Family::Ablation => {
            let (raw, weights) = ablation::run(session, class, options, monitor)?;
            (raw, Some(weights), Terms::Weighted)
        }
        Family::SmoothGrad => {
            let seed = options.augment.seed;
            at_layer(w, h, augment::smooth(session, class, seed, monitor)?)
        }
        Family::Refine(base) => (
            wrapper::refined(session, &options.refine, &mut |s| {
                Ok(run_method(s, base, class, options, monitor)?.map)
            })?,
            None,
            Terms::Own,
        ),
        Family::Factorisation => {
            let (raw, found, note) = factorised(session, class, options.dff_concepts())?;
            concepts = found;
            approximate = note;
            (raw, None, Terms::Own)
        }
        Family::Sess(base) => (
            wrapper::sess(session, class, monitor, &mut |s| {
                Ok(run_method(s, base, class, options, monitor)?.map)
            })?,
            None,
            Terms::Own,
        ),
        Family::FullGrad | Family::Attention | Family::Guided(_) => {
            let (raw, note) = past_the_layer(session, method, class, options, monitor)?;
            approximate = note;
            (raw, None, Terms::Own)
        }
        Family::Augmented => (
            augment::run(session, class, &options.augment, options, monitor)?,
            None,
            Terms::Own,
        ),
    };
    let raw = match options.eigen_smooth {
        true => eigen_smoothed(&session.activations, k, raw, weights.as_deref(), terms),
        false => raw,
    };
    let mut result = CamResult::finish(method, class, raw, weights, approximate, size, start);
    result.concepts = concepts;
    Ok(result)
}

/// A map at the layer's resolution `w × h`, with its weights and terms.
fn at_layer(w: usize, h: usize, m: RawMap) -> (Map, Option<Vec<f32>>, Terms) {
    (Map::new(w, h, m.raw), m.weights, m.terms)
}

/// The methods that read more of the network than the target layer: FullGrad (every bias and
/// the input: it says so), LeGrad (attention) and guided backpropagation (the input, times the
/// base method's map for guided GradCAM). The map, and the note to show beside it.
fn past_the_layer(
    session: &mut Session,
    method: Method,
    class: usize,
    options: &Options,
    monitor: &Monitor,
) -> Result<(Map, Option<String>)> {
    let [_, h, w] = session.shape;
    Ok(match method.spec().family {
        Family::FullGrad => (
            input_gradient::fullgrad(session, class)?,
            Some(input_gradient::LAYER_FREE.to_string()),
        ),
        Family::Attention => (Map::new(w, h, attention::legrad(session, class)?), None),
        Family::Guided(base) => {
            let gradient = input_gradient::guided(session, class)?;
            let mut map = input_gradient::saliency(&gradient, session.input_size());
            if let Some(base) = base {
                let cam = run_method(session, base, class, options, monitor)?.map;
                map.data
                    .iter_mut()
                    .zip(&cam.data)
                    .for_each(|(v, c)| *v *= c);
            }
            (map, None)
        }
        other => unreachable!("{} is not past the layer", other.name()),
    })
}

/// DFF: the activations factorised into `n` concepts, each scored by the head; the map is
/// that of the concept most probably `class`.
fn factorised(
    session: &mut Session,
    class: usize,
    n: usize,
) -> Result<(Map, Vec<Concept>, Option<String>)> {
    let [k, h, w] = session.shape;
    let f = factorisation::dff(&session.activations, k, n);
    let probs = session.head_probabilities(&f.concepts)?;
    let best = (0..n)
        .max_by(|&a, &b| probs[a][class].total_cmp(&probs[b][class]).then(b.cmp(&a)))
        .unwrap_or(0);
    let size = session.input_size();
    let concepts = f
        .maps
        .iter()
        .zip(&probs)
        .map(|(m, p)| {
            let mut order: Vec<usize> = (0..p.len()).collect();
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            Concept {
                map: Map::new(w, h, m.clone()).finished(size).0,
                classes: order.into_iter().take(3).map(|c| (c, p[c])).collect(),
            }
        })
        .collect();
    let note = match session.pooled_linear_head(class)? {
        true => None,
        false => Some(NOT_POOLED_CONCEPTS.to_string()),
    };
    Ok((Map::new(w, h, f.maps[best].clone()), concepts, note))
}

/// What DFF's cards say where the head is not a classifier of pooled channels.
const NOT_POOLED_CONCEPTS: &str = "the head after this layer is not pooling then one linear \
    layer: a concept's classes are the head's on a map filled with the concept";

/// pytorch-grad-cam's `eigen_smooth`: the first principal component of the terms the map sums
/// over channels (`w_k A_k`, or a method's per-position terms) instead of their sum, signed as
/// EigenCAM's. Maps that are not such a sum stay as they are, as there.
fn eigen_smoothed(a: &[f32], k: usize, raw: Map, weights: Option<&[f32]>, terms: Terms) -> Map {
    let terms = match (terms, weights) {
        (Terms::Elementwise(t), _) => t,
        (Terms::Weighted, Some(w)) => {
            let n = a.len() / k;
            a.chunks_exact(n)
                .zip(w)
                .flat_map(|(ak, wk)| ak.iter().map(move |v| v * wk))
                .collect()
        }
        _ => return raw,
    };
    Map::new(raw.width, raw.height, first_component(&terms, k))
}

/// Each channel's rank key for `order` (higher runs first): the score methods' maps are sums
/// over channels, so the order changes only their previews, which converge sooner when the
/// channels that weigh most come first.
fn channel_priority(session: &mut Session, class: usize, order: ChannelOrder) -> Result<Vec<f32>> {
    let [k, _, _] = session.shape;
    let mass: Vec<f32> = session
        .activations
        .chunks(session.activations.len() / k)
        .map(|a| a.iter().sum())
        .collect();
    Ok(match order {
        ChannelOrder::Index => (0..k).map(|c| -(c as f32)).collect(),
        ChannelOrder::Mass => mass,
        // The channel's term in GradCAM's map, summed: a first-order estimate of its weight.
        ChannelOrder::Gradient => {
            let g = session.gradients(class)?;
            let alpha = super::family::gradient::gradcam_weights(g, k);
            alpha.iter().zip(&mass).map(|(a, m)| a * m).collect()
        }
    })
}
