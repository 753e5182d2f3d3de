//! The method families, each a set of small functions the registry (`method.rs`) points at:
//! `gradient` (activations and gradients of one backward pass), `activation` (activations
//! alone), `score` (masked forward passes), `ablation` (the head run with each channel ablated), `augment` (GradCAM++ over augmented copies), `smooth` (SmoothGradCAM++ over noisy copies), and
//! `projection`, the principal components EigenCAM and its kin share, and `factorisation`,
//! DFF's non-negative matrix factorisation.

pub mod ablation;
pub mod activation;
pub mod augment;
pub mod factorisation;
pub mod gradient;
pub mod projection;
pub mod score;
pub mod smooth;
