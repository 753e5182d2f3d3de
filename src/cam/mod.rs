//! The CAM engine. A [`Session`] holds what every method shares for one (image, model, layer):
//! the input, the target-layer activations and the base prediction, computed once, and the
//! gradients per class, computed once for all four gradient methods. Each method is then a small
//! function of activations, gradients or masked-forward scores, described once in
//! [`Method::spec`]; [`run_method`] (in `compute.rs`, above the session) runs one.
//!
//! Imports go one way: `compute` → `score`, `augment` → `session` → `method`, `map`.

pub mod augment;
pub mod compute;
pub mod gradient;
pub mod map;
pub mod method;
pub mod monitor;
pub mod score;
pub mod session;

pub use compute::{CamResult, run_method};
pub use map::Map;
pub use method::{
    Aggregate, AugmentOptions, ChannelOrder, Family, Gate, Method, Options,
    ScoreCamPlusPlusOptions, ScoreMode, Spec,
};
pub use monitor::{Monitor, Preview};
pub use session::Session;
