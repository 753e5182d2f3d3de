//! The model zoo and what it runs on. A model is split at a target layer into `features`
//! (input → activations) and `head` (activations → logits); that split is all the CAM code
//! needs, and all it sees.
//!
//! - `model`: `Model`, a loaded classifier (architecture, weights, preprocessing, labels), and
//!   the built-in EfficientNet-Lite0.
//! - `network`: the `Network` trait every architecture implements (the ONNX interpreter in
//!   `crate::onnx` too), and the values that flow between layers (`value`).
//! - `zoo`: the hand-written architectures (Lite0, ResNet, VGG, ViT) and the CNN/block
//!   machinery they share.
//! - `detection`: detectors' boxes decoded from YOLO and DETR outputs, with non-maximum
//!   suppression, and the scores of one box.
//! - `segmentation`: segmenters' per-pixel scores read over a region of pixels.
//! - `region`: forward passes over the non-zero rectangle of a mostly-zero (masked) input.
//! - `layers`: convolutions, linear and norm layers, weight loading, reduced precision.
//! - `kernels`: camlens' own CPU convolution and pooling kernels.

pub mod detection;
pub mod kernels;
pub mod layers;
pub mod model;
pub mod network;
pub mod region;
pub mod segmentation;
pub mod value;
pub mod zoo;

pub use model::{Arch, DEFAULT_MAX_BUFFER, Model, detect};
pub use network::{
    BiasProbe, Context, Cut, Features, Focus, LayerInfo, Network, Scores, Task, Trace,
};
pub use segmentation::{PixelMask, Segmentation};
