//! What every method shares for one (image, model, layer): the input, the target layer's
//! activations and the prediction, computed once, and the gradients per class, computed once for
//! all the gradient methods. The methods themselves are dispatched above it, in `compute.rs`.

use super::method::Options;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use crate::models::{Features, Model};
use burn::tensor::{Tensor, TensorData};
use std::collections::HashMap;

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
        let logits = model
            .net
            .head(features.activation.clone(), &features.context, layer);
        let probs = to_vec(model.probabilities(logits.clone()))?;
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
                .head(a.clone(), &self.features.context, self.layer);
            let score = logits.slice([0..1, class..class + 1]).sum();
            let grads = score.backward();
            let g = a
                .grad(&grads)
                .ok_or_else(|| Error::Device("no gradient reached the target layer".into()))?;
            self.gradients.insert(class, to_vec(g)?);
        }
        Ok(&self.gradients[&class])
    }

    /// Masked inputs per forward: from the options, else sized to the device.
    pub fn batch_size(&self, options: &Options) -> usize {
        options
            .batch_size
            .unwrap_or_else(|| self.model.auto_batch_size())
            .max(1)
    }
}
