//! The CAM engine. A [`Session`] holds what every method shares for one (image, model, layer):
//! the input, the target-layer activations and the base prediction, computed once, and the
//! gradients per class, computed once for all the gradient methods. Each method is then a small
//! function of activations, gradients or masked-forward scores (`family/`), described once in
//! the registry ([`method::SPECS`]); [`run_method`] (in `compute.rs`, above the session) runs one.
//!
//! Imports go one way: `compute` → `wrapper` (methods made of other methods' finished maps,
//! which it hands a runner) and `family` (`score`, `augment`) → `session` → `method` →
//! `family` (`gradient`, `activation`: plain functions), `options`, `map`; `projection` (the
//! principal components EigenCAM and its kin share) is below them all.

pub mod compute;
pub mod family;
pub mod map;
pub mod method;
pub mod monitor;
pub mod options;
pub mod projection;
pub mod session;
pub mod wrapper;

pub use compute::{CamResult, run_method};
pub use map::Map;
pub use method::{Family, GradientOf, Method, Spec};
pub use monitor::{Monitor, Preview};
pub use options::{
    Aggregate, AugmentOptions, ChannelOrder, FinerOptions, Gate, Options, RefineLayers,
    ScoreCamPlusPlusOptions, ScoreMode,
};
pub use session::Session;
