//! What the CAM code sees of a model: a list of layers one can explain, and the model split at
//! one of them into `features` (input → activations) and `head` (activations → logits).

use super::detection::{DetectFormat, Detection};
use super::segmentation::PixelMask;
use super::value::Value;
use burn::tensor::activation::relu;
use burn::tensor::{DType, Gradients, Tensor};
use std::sync::Arc;

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

/// What a network's output answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Task {
    /// Class scores `[N, classes]`.
    #[default]
    Classify,
    /// A class score per pixel `[N, classes, h, w]`, read over a region (`super::segmentation`).
    Segment,
    /// Boxes with class scores, one row per anchor (`super::detection`).
    Detect(DetectFormat),
}

/// What part of a segmenter's or detector's answer its class scores are read for.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Focus {
    /// The whole answer: a segmenter's every pixel, a detector's best box of each class.
    #[default]
    Whole,
    /// A segmenter's pixels (`super::segmentation`).
    Pixels(PixelMask),
    /// A detector's box: its class's score at the output row matching it best
    /// (`super::detection::box_scores`).
    Box(Detection),
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

/// A tracked zero added to the output of a layer that carries a bias, so that the gradient
/// reaching it is the gradient at that output; with the per-channel bias terms behind the output,
/// each scaled to act on it directly: a convolution's own bias (times the scale of a batch norm
/// folded after it) and a batch norm's `β − μγ/√(σ² + ε)`. FullGrad's bias gradients are each
/// term times the probe's gradient.
#[derive(Debug, Clone)]
pub struct BiasProbe {
    pub probe: Tensor<4>,
    pub terms: Arc<[Arc<[f32]>]>,
}

/// Reads a cut's leaf gradient from a backward pass's gradients, flattened.
type LeafGrad = Box<dyn Fn(&Gradients) -> Option<Tensor<1>>>;

/// A point at which a traced pass cut the graph: the value there (tracked, flattened) and a
/// new tracked leaf holding the same value (after a ReLU where `relu`) that the rest of the pass
/// reads. A backward pass stops at the leaf, and the caller decides what crosses: guided
/// backpropagation's rule at a ReLU, the gradient as it is elsewhere. Values that more than one
/// operation reads are cut too: burn's backward pass consumes what it goes through, and each
/// value must be gone through once. The leaf keeps the value's own shape (a reshape of it would
/// be such a value), so its gradient is read back through `leaf_grad`.
pub struct Cut {
    pub input: Tensor<1>,
    pub relu: bool,
    leaf_grad: LeafGrad,
}

impl Cut {
    /// The gradient `grads` holds at the leaf, flattened.
    pub fn leaf_grad(&self, grads: &Gradients) -> Option<Tensor<1>> {
        (self.leaf_grad)(grads)
    }
}

impl std::fmt::Debug for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cut {:?} relu {}", self.input.dims(), self.relu)
    }
}

/// What a traced forward pass (`Network::forward_traced`) records, and what it is asked to.
#[derive(Debug, Default)]
pub struct Trace {
    /// Put a [`BiasProbe`] on every biased convolution's and batch norm's output.
    pub probe_biases: bool,
    /// Cut the graph at every ReLU (`nn.ReLU` modules and ONNX `Relu` nodes, not ReLU6 or
    /// clamps: pytorch-grad-cam's guided backpropagation replaces `nn.ReLU` modules only) and
    /// at every value read twice.
    pub cut: bool,
    pub probes: Vec<BiasProbe>,
    /// In the order the pass met them: every cut comes before the cuts whose values read it.
    pub cuts: Vec<Cut>,
}

impl Trace {
    /// `y`, with a probe added where asked and `terms` has any.
    pub fn biased(&mut self, y: Tensor<4>, terms: &Arc<[Arc<[f32]>]>) -> Tensor<4> {
        if !self.probe_biases || terms.is_empty() {
            return y;
        }
        let probe = Tensor::zeros_like(&y).require_grad();
        self.probes.push(BiasProbe {
            probe: probe.clone(),
            terms: terms.clone(),
        });
        y + probe
    }

    /// `relu(x)`, cut where asked.
    pub fn relu<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        match self.cut {
            true => self.cut_at(x, true),
            false => relu(x),
        }
    }

    /// `x`, cut where asked: for a value more than one operation reads.
    pub fn fork<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        match self.cut {
            true => self.cut_at(x, false),
            false => x,
        }
    }

    /// A graph value cut at its own rank (a ReLU's output where `after_relu`); `None` for
    /// host integers.
    pub fn cut_value(&mut self, v: &Value, after_relu: bool) -> Option<Value> {
        Some(match v {
            Value::R1(t) => Value::R1(self.cut_at(t.clone(), after_relu)),
            Value::R2(t) => Value::R2(self.cut_at(t.clone(), after_relu)),
            Value::R3(t) => Value::R3(self.cut_at(t.clone(), after_relu)),
            Value::R4(t) => Value::R4(self.cut_at(t.clone(), after_relu)),
            Value::R5(t) => Value::R5(self.cut_at(t.clone(), after_relu)),
            Value::R6(t) => Value::R6(self.cut_at(t.clone(), after_relu)),
            Value::Ints(_) => return None,
        })
    }

    fn cut_at<const D: usize>(&mut self, x: Tensor<D>, after_relu: bool) -> Tensor<D> {
        let dims = x.dims();
        let n = dims.iter().product::<usize>();
        let value = match after_relu {
            true => relu(x.clone().detach()),
            false => x.clone().detach(),
        };
        let leaf = value.require_grad();
        let held = leaf.clone();
        self.cuts.push(Cut {
            input: x.reshape([n]),
            relu: after_relu,
            leaf_grad: Box::new(move |grads| held.grad(grads).map(|g| g.reshape([n]))),
        });
        leaf
    }
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
    /// The whole forward pass of a tracked `x` (one input) to the logits, recording in
    /// `trace` what it asks for (bias probes, ReLU cuts); `None` where the network cannot say
    /// where its biases and ReLUs are.
    fn forward_traced(&self, _x: Tensor<4>, _trace: &mut Trace) -> Option<Tensor<2>> {
        None
    }
    /// Transformers whose attention camlens reads: for the block whose attention reads layer
    /// `layer` and the `count − 1` before it, in order, its attention probabilities
    /// `[N, heads, tokens, tokens]` as a tracked leaf, and the class scores the block's output
    /// gives when read as the model reads its last block's (LeGrad's layer scores). `None` for
    /// networks without such attention.
    fn attention_scores(
        &self,
        _x: Tensor<4>,
        _layer: usize,
        _count: usize,
    ) -> Option<Vec<(Tensor<4>, Tensor<2>)>> {
        None
    }
    /// Whether `attention_scores` answers.
    fn has_attention(&self) -> bool {
        false
    }
    fn task(&self) -> Task {
        Task::Classify
    }
    /// A segmenter's per-pixel class scores `[N, classes, h, w]`, before any region is read.
    fn dense_scores(&self, _x: Tensor<4>) -> Option<Tensor<4>> {
        None
    }
    /// A detector's output as rows `[N, A, 4 + K]` of box and class scores
    /// (`super::detection::DetectFormat::rows`), before decoding.
    fn detector_output(&self, _x: Tensor<4>) -> Option<Tensor<3>> {
        None
    }
    /// A detector's own score and IoU thresholds (its model.json's), where it has any.
    fn box_thresholds(&self) -> (Option<f32>, Option<f32>) {
        (None, None)
    }
    /// What the scores are read for from now on: only segmenters have pixels, only detectors
    /// boxes.
    fn set_focus(&self, focus: Focus) -> crate::error::Result<()> {
        match focus {
            Focus::Whole => Ok(()),
            _ => Err(crate::error::Error::Invalid(
                "this model classifies whole images: it has no pixels or boxes to choose".into(),
            )),
        }
    }
}
