use super::map::Map;
use super::method::{Method, Options};
use super::monitor::Monitor;
use super::{augment, gradient, score};
use crate::error::{Error, Result};
use crate::models::{Features, Model};
use crate::tensor_io::to_vec;
use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};
use std::collections::HashMap;
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

/// Shared state for explaining one input with one model at one layer.
pub struct Session<'m> {
    pub model: &'m Model,
    pub layer: usize,
    /// The prepared input `[3, H, W]`.
    pub input: Vec<f32>,
    pub x: Tensor<4>,
    pub features: Features,
    /// Target-layer activations `[K, h, w]` on the host.
    pub activations: Vec<f32>,
    pub shape: [usize; 3],
    pub logits: Vec<f32>,
    pub probs: Vec<f32>,
    gradients: HashMap<usize, Vec<f32>>,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Model, input: Vec<f32>, layer: usize) -> Result<Self> {
        let s = model.preprocess.size as usize;
        if input.len() != 3 * s * s {
            return Err(Error::Invalid(format!(
                "input has {} values, expected 3×{s}×{s}",
                input.len()
            )));
        }
        if layer >= model.layers().len() {
            return Err(Error::Invalid(format!("layer index {layer} out of range")));
        }
        let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [1, 3, s, s]), &model.device);
        let features = model.net.features(x.clone(), layer);
        let [_, k, h, w] = features.activation.dims();
        let logits = model.net.head(
            features.activation.clone(),
            features.context.as_ref(),
            layer,
        );
        let probs = to_vec(softmax(logits.clone(), 1))?;
        let logits = to_vec(logits)?;
        let activations = to_vec(features.activation.clone())?;
        Ok(Self {
            model,
            layer,
            input,
            x,
            features,
            activations,
            shape: [k, h, w],
            logits,
            probs,
            gradients: HashMap::new(),
        })
    }

    pub fn input_size(&self) -> usize {
        self.model.preprocess.size as usize
    }

    /// The predicted class.
    pub fn top_class(&self) -> usize {
        (0..self.probs.len())
            .max_by(|&a, &b| self.probs[a].total_cmp(&self.probs[b]))
            .unwrap_or(0)
    }

    /// The class to explain: the one asked for (checked), else the predicted one.
    pub fn class_or_top(&self, class: Option<usize>) -> Result<usize> {
        match class {
            Some(c) => self.model.check_class(c).map(|()| c),
            None => Ok(self.top_class()),
        }
    }

    /// `∂logit_c/∂A`, computed once per class: one backward serves all gradient methods.
    pub fn gradients(&mut self, class: usize) -> Result<&[f32]> {
        self.model.check_class(class)?;
        if !self.gradients.contains_key(&class) {
            let a = self.features.activation.clone().autodiff().require_grad();
            let logits = self
                .model
                .net
                .head(a.clone(), self.features.context.as_ref(), self.layer);
            let score = logits.slice([0..1, class..class + 1]).sum();
            let grads = score.backward();
            let g = a
                .grad(&grads)
                .ok_or_else(|| Error::Device("no gradient reached the target layer".into()))?;
            self.gradients.insert(class, to_vec(g)?);
        }
        Ok(&self.gradients[&class])
    }

    /// Explains `class` with `method`. Long methods report to `monitor` and stop with
    /// `Error::Cancelled` within one batch of a cancel.
    pub fn explain(
        &mut self,
        method: Method,
        class: usize,
        options: &Options,
        monitor: &Monitor,
    ) -> Result<CamResult> {
        self.model.check_class(class)?;
        let start = Instant::now();
        let [k, h, w] = self.shape;
        let mut approximate = None;
        let (raw, weights) = match method {
            Method::GradCam | Method::GradCamPlusPlus | Method::XGradCam | Method::LayerCam => {
                let g = self.gradients(class)?.to_vec();
                let a = &self.activations;
                let weights = match method {
                    Method::GradCam => Some(gradient::gradcam_weights(&g, k)),
                    Method::GradCamPlusPlus => Some(gradient::gradcam_pp_weights(a, &g, k)),
                    Method::XGradCam => Some(gradient::xgradcam_weights(a, &g, k)),
                    _ => None,
                };
                let raw = match &weights {
                    Some(wts) => gradient::weighted_sum(a, wts),
                    None => gradient::layercam_map(a, &g, k),
                };
                (Map::new(w, h, raw), weights)
            }
            Method::ScoreCam | Method::ScoreCamPgc | Method::ScoreCamPlusPlus => {
                let out = score::run(self, method, class, options, monitor)?;
                approximate = out.approximate;
                (out.raw, Some(out.weights))
            }
            Method::AugGradCamPlusPlus => {
                let raw = augment::run(self, class, &options.augment, options, monitor)?;
                (raw, None)
            }
        };
        let size = self.input_size();
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

    /// Masked inputs per forward: from the options, else sized to the device.
    pub fn batch_size(&self, options: &Options) -> usize {
        options
            .batch_size
            .unwrap_or_else(|| self.model.auto_batch_size())
            .max(1)
    }
}
