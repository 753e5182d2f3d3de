//! What the CAM code sees of a model: a list of layers one can explain, and the model split at
//! one of them into `features` (input → activations) and `head` (activations → logits).

use super::value::Value;
use burn::tensor::{DType, Tensor};

/// A layer one can explain, with its activation shape for the model's input size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// How the value was read as a map, where that is not as it is (tokens, channels-last).
    pub note: Option<String>,
}

impl std::fmt::Display for LayerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}×{}×{})",
            self.name, self.channels, self.height, self.width
        )?;
        match &self.note {
            Some(note) => write!(f, " — {note}"),
            None => Ok(()),
        }
    }
}

/// What a model's scores are, which decides its probabilities and what a map explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scores {
    /// Logits of mutually exclusive classes: softmax probabilities; maps explain a logit.
    #[default]
    Softmax,
    /// One logit z, read as two classes whose softmax is (1 − σ(z), σ(z)); maps explain z.
    Binary,
    /// Independent logits, one per label (multi-label): σ(z) each; maps explain the label's z.
    Sigmoid,
}

impl std::fmt::Display for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scores::Softmax => "softmax over the classes; maps explain a class's logit",
            Scores::Binary => {
                "one logit z read as two classes, P = σ(z); maps explain z (its negative for \
                 the other class)"
            }
            Scores::Sigmoid => {
                "multi-label: σ(logit) per class, not summing to 1; maps explain the class's logit"
            }
        })
    }
}

/// Activations at the target layer, plus what the head needs beside them.
#[derive(Debug, Clone)]
pub struct Features {
    pub activation: Tensor<4>,
    pub context: Context,
}

/// What crosses the split besides the activation.
#[derive(Debug, Clone, Default)]
pub enum Context {
    #[default]
    None,
    /// ViT's residual stream (with the class token) at the target block.
    Residual(Box<Tensor<3>>),
    /// A graph's values computed before the split that nodes after it read (skip connections),
    /// by value index.
    Values(Vec<(usize, Value)>),
    /// A graph that runs one input at a time (its batch of 1 cannot be relaxed): each input's
    /// own context, in batch order.
    PerInput(Vec<Context>),
}

pub trait Network: Send + Sync + std::fmt::Debug {
    fn layers(&self) -> Vec<LayerInfo>;
    fn default_layer(&self) -> usize;
    fn features(&self, x: Tensor<4>, layer: usize) -> Features;
    fn head(&self, activation: Tensor<4>, context: &Context, layer: usize) -> Tensor<2>;
    /// The context with what the layer's output holds beside the map (a ViT's class token)
    /// multiplied by `factor`, as if the whole output were: ShapleyCAM's perturbation of the
    /// layer. Networks that keep nothing beside the map return it as it is.
    fn scaled_aside(&self, context: &Context, _factor: f32) -> Context {
        context.clone()
    }
    /// The largest intermediate tensor of one forward pass, in floats per input: what bounds
    /// the batch size on a device with a per-buffer limit (lavapipe: 128 MiB).
    fn peak_activation(&self) -> usize;
    /// Runs the convolutions and matrix products before the classifier in `dtype` (see
    /// `crate::compute::precision`); the classifier stays f32, its logits are what the scores and
    /// metrics read and it costs little.
    fn set_dtype(&mut self, dtype: DType);
    /// On the CPU, the layer after which a batch runs whole rather than one input per core
    /// (see `Model::forward`); `None`: one input at a time throughout. Only for networks whose
    /// `features` carry no context (`Context::None`): the joined activations go on without one.
    fn cpu_batch_from(&self) -> Option<usize> {
        None
    }
}
