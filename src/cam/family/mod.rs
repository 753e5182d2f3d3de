//! The method families, each a set of small functions the registry (`method.rs`) points at:
//! `gradient` (activations and gradients of one backward pass), `activation` (activations
//! alone), `score` (masked forward passes), `ablation` (the head run with each channel ablated),
//! `augment` (GradCAM++ over augmented or noisy copies of the input: Augmented GradCAM++,
//! SmoothGradCAM++), `input_gradient` (the gradients at the input: FullGrad, guided
//! backpropagation), `attention` (LeGrad, from a transformer's attention) and `factorisation`,
//! DFF's non-negative matrix factorisation.

pub mod ablation;
pub mod activation;
pub mod attention;
pub mod augment;
pub mod factorisation;
pub mod gradient;
pub mod input_gradient;
pub mod score;
