//! What every method shares for one (image, model, layer): the input, the target layer's
//! activations and the prediction, computed once, and the gradients per class, computed once for
//! all the gradient methods. The methods themselves are dispatched above it, in `compute.rs`.

use super::method::GradientOf;
use super::options::{FinerOptions, Options};
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use crate::models::{Context, Features, Model};
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
    gradients: HashMap<(usize, GradientOf, FinerOptions), Vec<f32>>,
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
        self.gradient_of(class, GradientOf::Class, &FinerOptions::default())
    }

    /// The derivative `of` asks for, computed once per class (and FinerCAM's options).
    pub fn gradient_of(
        &mut self,
        class: usize,
        of: GradientOf,
        finer: &FinerOptions,
    ) -> Result<&[f32]> {
        self.model.check_class(class)?;
        let finer = if of == GradientOf::Finer {
            *finer
        } else {
            FinerOptions::default()
        };
        let key = (class, of, finer);
        if !self.gradients.contains_key(&key) {
            let g = match of {
                GradientOf::Class | GradientOf::Classifier => {
                    let mut c = vec![0.0; self.logits.len()];
                    c[class] = 1.0;
                    self.backward(1.0, &c)?
                }
                GradientOf::Finer => {
                    let c = finer_coefficients(&self.logits, class, &finer);
                    self.backward(1.0, &c)?
                }
                GradientOf::Shapley => self.shapley(class)?,
            };
            self.gradients.insert(key, g);
        }
        Ok(&self.gradients[&key])
    }

    /// `∂(Σ_i c_i z_i)/∂A` at the activations scaled by `scale`.
    fn backward(&self, scale: f32, c: &[f32]) -> Result<Vec<f32>> {
        let a = self.features.activation.clone();
        let a = if scale == 1.0 { a } else { a.mul_scalar(scale) };
        let a = a.autodiff().require_grad();
        let context = if scale == 1.0 {
            self.features.context.clone()
        } else {
            self.model.net.scaled_aside(&self.features.context, scale)
        };
        let logits = self.model.net.head(a.clone(), &context, self.layer);
        let weights = Tensor::<2>::from_data(
            TensorData::new(c.to_vec(), [1, c.len()]),
            &self.model.device,
        )
        .autodiff();
        let grads = (logits * weights).sum().backward();
        let g = a
            .grad(&grads)
            .ok_or_else(|| Error::Device("no gradient reached the target layer".into()))?;
        to_vec(g)
    }

    /// Whether the head after the layer pools then applies one linear layer (CAM's premise):
    /// the class gradient is then the same at every position of a channel, and the same at
    /// `2A`. Within 1e-4 of the gradient's peak: float32 rounding, not a near miss, is what
    /// that allows.
    pub fn pooled_linear_head(&mut self, class: usize) -> Result<bool> {
        let g = self.gradients(class)?.to_vec();
        let mut c = vec![0.0; self.logits.len()];
        c[class] = 1.0;
        let doubled = self.backward(2.0, &c)?;
        let peak = g.iter().fold(0f32, |m, v| m.max(v.abs()));
        let tolerance = 1e-4 * peak;
        let linear = g
            .iter()
            .zip(&doubled)
            .all(|(a, b)| (a - b).abs() <= tolerance);
        let n = g.len() / self.shape[0];
        let pooled = g
            .chunks_exact(n)
            .all(|ch| ch.iter().all(|v| (v - ch[0]).abs() <= tolerance));
        Ok(linear && pooled)
    }

    /// ShapleyCAM's `g − ½ H A`, `H A` by central differences of the gradient along `A`.
    fn shapley(&mut self, class: usize) -> Result<Vec<f32>> {
        let g = self.gradients(class)?.to_vec();
        let mut c = vec![0.0; self.logits.len()];
        c[class] = 1.0;
        let plus = self.backward(1.0 + SHAPLEY_STEP, &c)?;
        let minus = self.backward(1.0 - SHAPLEY_STEP, &c)?;
        Ok(g.iter()
            .zip(plus.iter().zip(&minus))
            .map(|(g, (p, m))| g - 0.5 * (p - m) / (2.0 * SHAPLEY_STEP))
            .collect())
    }

    /// The head's class probabilities for each vector of the layer's channels, as a map filled
    /// with it (the head's pooling then gives the vector itself): DFF's concepts classified.
    pub fn head_probabilities(&self, vectors: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let [k, h, w] = self.shape;
        let n = vectors.len();
        let data: Vec<f32> = vectors
            .iter()
            .flat_map(|v| v.iter().flat_map(|&x| std::iter::repeat_n(x, h * w)))
            .collect();
        let a = Tensor::<4>::from_data(TensorData::new(data, [n, k, h, w]), &self.model.device);
        // A context is per input, so a batch of n needs the backbone run n times; most
        // networks carry none and skip that.
        let context = match self.features.context {
            Context::None => Context::None,
            _ => {
                let x = self.x.clone().repeat_dim(0, n);
                self.model.net.features(x, self.layer).context
            }
        };
        let probs = to_vec(
            self.model
                .probabilities(self.model.net.head(a, &context, self.layer)),
        )?;
        Ok(probs
            .chunks_exact(probs.len() / n)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Masked inputs per forward: from the options, else sized to the device.
    pub fn batch_size(&self, options: &Options) -> usize {
        options
            .batch_size
            .unwrap_or_else(|| self.model.auto_batch_size())
            .max(1)
    }
}

/// ShapleyCAM's relative step along the activations: small enough that the difference's
/// truncation error (∝ h²) is negligible, large enough that float32 gradients' rounding, divided
/// by 2h, stays below 1e-4 of the gradient (measured against pytorch-grad-cam's exact
/// second-order autodiff in tests/integration/onnx_arch.rs).
const SHAPLEY_STEP: f32 = 1e-2;

/// `∂T/∂z` for FinerCAM's target `T = Σ_j p_j (z_c − α z_j) / (Σ_j p_j + 1e-9)` over the
/// `comparisons` classes whose logits are nearest `z_c` (pytorch-grad-cam's
/// `FinerWeightedTarget`; `p = softmax(z)` is differentiated too, as there).
fn finer_coefficients(logits: &[f32], class: usize, finer: &FinerOptions) -> Vec<f32> {
    let z: Vec<f64> = logits.iter().map(|&v| v as f64).collect();
    let zc = z[class];
    let mut order: Vec<usize> = (0..z.len()).filter(|&i| i != class).collect();
    // Stable, as NumPy's argsort on ties would not promise: nearest first, then by index.
    order.sort_by(|&a, &b| {
        (z[a] - zc)
            .abs()
            .total_cmp(&(z[b] - zc).abs())
            .then(a.cmp(&b))
    });
    let near = &order[..finer.comparisons.min(order.len())];
    let max = z.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
    let total: f64 = e.iter().sum();
    let p: Vec<f64> = e.iter().map(|v| v / total).collect();
    let alpha = finer.alpha();
    // T = n / d: n = Σ_j p_j (z_c − α z_j), d = Σ_j p_j + 1e-9; ∂p_j/∂z_i = p_j (δ_ij − p_i).
    let n: f64 = near.iter().map(|&j| p[j] * (zc - alpha * z[j])).sum();
    let sum_p: f64 = near.iter().map(|&j| p[j]).sum();
    let d = sum_p + 1e-9;
    // The −p_j p_i terms, for every class.
    let mut c: Vec<f64> = (0..z.len())
        .map(|i| (-p[i] * n * d + n * p[i] * sum_p) / (d * d))
        .collect();
    for &j in near {
        // The δ_ij terms of ∂p_j/∂z_j, and ∂(z_c − α z_j)/∂z_j.
        let dn = p[j] * (zc - alpha * z[j]) - alpha * p[j];
        c[j] += (dn * d - n * p[j]) / (d * d);
    }
    c[class] += sum_p / d;
    c.iter().map(|&v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coefficients against central differences of the target itself.
    #[test]
    fn finer_coefficients_are_the_targets_derivative() {
        let z = [2.0f32, 1.5, -0.3, 1.9, 0.2, 2.4];
        let finer = FinerOptions::default();
        let target = |z: &[f64]| {
            let (c, near) = (0usize, [3usize, 1, 5]);
            let max = z.iter().cloned().fold(f64::MIN, f64::max);
            let total: f64 = z.iter().map(|v| (v - max).exp()).sum();
            let p = |j: usize| (z[j] - max).exp() / total;
            let n: f64 = near.iter().map(|&j| p(j) * (z[c] - z[j])).sum();
            n / (near.iter().map(|&j| p(j)).sum::<f64>() + 1e-9)
        };
        let c = finer_coefficients(&z, 0, &finer);
        for i in 0..z.len() {
            let h = 1e-5;
            let mut up: Vec<f64> = z.iter().map(|&v| v as f64).collect();
            let mut down = up.clone();
            up[i] += h;
            down[i] -= h;
            let numeric = (target(&up) - target(&down)) / (2.0 * h);
            assert!(
                (c[i] as f64 - numeric).abs() < 1e-6,
                "z_{i}: {} vs {numeric}",
                c[i]
            );
        }
    }
}
