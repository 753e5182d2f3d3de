//! Dense layers of the classifier heads and transformers.

use super::reduced;
use burn::tensor::module::{layer_norm, linear};
use burn::tensor::{DType, Tensor};

#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor<2>,
    bias: Tensor<1>,
}

impl Linear {
    /// From a weight already laid out `[in, out]`.
    pub fn new(weight: Tensor<2>, bias: Tensor<1>) -> Self {
        Self { weight, bias }
    }

    pub fn d_out(&self) -> usize {
        self.weight.dims()[1]
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        reduced::run(self.weight.dtype(), x, |x| {
            linear(x, self.weight.clone(), Some(self.bias.clone()))
        })
    }

    /// Runs in `dtype` (see `crate::compute::precision`): the weights cast once here.
    pub fn set_dtype(&mut self, dtype: DType) {
        reduced::cast(&mut self.weight, dtype);
        reduced::cast(&mut self.bias, dtype);
    }
}

#[derive(Debug, Clone)]
pub struct LayerNorm {
    gamma: Tensor<1>,
    beta: Tensor<1>,
    eps: f64,
}

impl LayerNorm {
    pub fn new(gamma: Tensor<1>, beta: Tensor<1>, eps: f64) -> Self {
        Self { gamma, beta, eps }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        layer_norm(x, self.gamma.clone(), Some(self.beta.clone()), self.eps)
    }
}
