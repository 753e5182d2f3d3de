//! One method on one session: the method's own function (from its [`Spec`](super::method::Spec)),
//! then what every method ends with: ReLU, bilinear upsampling to the input size and min-max
//! normalisation. It sits above `Session`, `score` and `augment`, which know nothing of it.

use super::gradient::GradientMap;
use super::map::Map;
use super::method::{Family, Method, Options};
use super::monitor::Monitor;
use super::session::Session;
use super::{augment, score};
use crate::error::Result;
use std::time::{Duration, Instant};

/// One method's explanation of one class.
#[derive(Debug, Clone)]
pub struct CamResult {
    pub method: Method,
    pub class: usize,
    /// The map before ReLU and normalisation: at feature resolution for methods that build it
    /// there (the gradient family, ScoreCAM), at input resolution otherwise.
    pub raw: Map,
    /// ReLU, bilinear `Up` to the input size, min-max normalised to [0, 1].
    pub map: Map,
    /// Per-channel weights, for methods that have them.
    pub weights: Option<Vec<f32>>,
    /// The map was flat (all-zero after normalisation).
    pub flat: bool,
    /// Computed with an approximation (top-N channels); say so wherever it is shown.
    pub approximate: Option<String>,
    pub elapsed: Duration,
}

/// Explains `class` with `method`. Long methods report to `monitor` and stop with
/// `Error::Cancelled` within one batch of a cancel.
pub fn explain(
    session: &mut Session,
    method: Method,
    class: usize,
    options: &Options,
    monitor: &Monitor,
) -> Result<CamResult> {
    session.model.check_class(class)?;
    let start = Instant::now();
    let [k, h, w] = session.shape;
    let mut approximate = None;
    let (raw, weights) = match method.spec().family {
        Family::Gradient(f) => {
            let g = session.gradients(class)?.to_vec();
            let GradientMap { raw, weights } = f(&session.activations, &g, k);
            (Map::new(w, h, raw), weights)
        }
        Family::Score(recipe) => {
            let out = score::run(session, &recipe, class, options, monitor)?;
            approximate = out.approximate;
            (out.raw, Some(out.weights))
        }
        Family::Augmented => (
            augment::run(session, class, &options.augment, options, monitor)?,
            None,
        ),
    };
    let size = session.input_size();
    let up = if raw.width == size && raw.height == size {
        raw.clone().relu()
    } else {
        raw.clone().relu().resized(size, size, false)
    };
    let flat = up.is_flat();
    Ok(CamResult {
        method,
        class,
        raw,
        map: up.normalized(),
        weights,
        flat,
        approximate,
        elapsed: start.elapsed(),
    })
}
