//! camlens: explain image classifiers with class activation maps.
//!
//! The layers, from the bottom: `weights` (files → named tensors), `models` (the zoo, split into
//! `features` and `head` at a target layer; knows nothing of CAMs), `preprocess` (files → input
//! tensors), `cam` (the methods, as functions of activations, gradients or scores), `overlay`
//! (maps → pictures and files), `explain` (one image through all of it) and `device` (wgpu GPU or
//! flex CPU). The CLI in `main.rs` only parses and prints.

pub mod app;
pub mod cam;
pub mod chart;
pub mod classify;
pub mod device;
pub mod error;
pub mod eval;
pub mod explain;
pub mod labels;
pub mod metrics;
pub mod models;
pub mod overlay;
pub mod preprocess;
pub mod rng;
pub mod samples;
pub mod tensor_io;
pub mod weights;

pub use error::{Error, Result};
