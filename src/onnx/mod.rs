//! Any classifier exported to ONNX, run by camlens itself: `onnx-ir` (burn's parser) turns the
//! file into typed nodes with their configs and constants, `load` compiles each node into an
//! operation (`ops/`, one family of operators per file), and this file runs them in order.
//! `survey` finds the layers one can explain, `layout` how each reads as a `[N, C, H, W]` map,
//! `names` the exporter's own node names, `ranks` what TorchScript leaves undeclared, and
//! `config` what a model.json beside the file says; `fuse` and `region` what makes a run
//! faster than node by node. Because the graph is run here,
//! it can be split at any node's output like the hand-written models: `features` runs the nodes
//! up to the target layer, `head` the rest from the (possibly autodiff) activation, with the
//! values that skip across the split (residual connections) handed over as context.

mod config;
mod fuse;
mod layout;
mod load;
mod names;
pub mod ops;
mod ranks;
mod region;
mod survey;

use crate::error::{Error, Result};
use crate::models::detection::DetectFormat;
use crate::models::detection::{best_box_scores, box_scores};
use crate::models::network::Focus;
use crate::models::network::{Context, Features, LayerInfo, Network, Scores, Task, Trace};
use crate::models::segmentation::region_scores;
use crate::models::value::Value;
use burn::tensor::{DType, Tensor};
use layout::MapLayout;
use ops::Op;

pub use config::{Config, FitName, FormatName, HeadName, ResampleName, TaskName};

/// The context key of the tokens a token layer sets aside (class tokens), beside graph slots.
const SET_ASIDE: usize = usize::MAX;

/// A layer one can explain: a node output that reads as a `[N, C, H, W]` map.
#[derive(Debug, Clone)]
struct Layer {
    info: LayerInfo,
    layout: MapLayout,
    /// The last node computed by `features`.
    node: usize,
    /// Its output's slot.
    slot: usize,
    /// Slots filled before the split that nodes after it read.
    crossing: Vec<usize>,
}

#[derive(Debug)]
pub struct OnnxNet {
    ops: Vec<Op>,
    /// Constants (weights, shapes) by slot, filled before every run.
    constants: Vec<(usize, Value)>,
    slots: usize,
    input: usize,
    output: usize,
    /// A DETR graph's boxes output (its class logits are `output`).
    boxes_output: Option<usize>,
    layers: Vec<Layer>,
    default_layer: usize,
    peak: usize,
    /// Nodes computed once at load time from constants only (a weight's Transpose, shape
    /// arithmetic on fixed sizes): their outputs are in `constants`.
    folded: Vec<bool>,
    /// Side of the square input the graph declares (or was given).
    pub input_size: usize,
    pub num_classes: usize,
    /// What the scores are: the graph's last Sigmoid or Softmax is left out (see `load`).
    pub scores: Scores,
    /// The operator at the end of the graph that `output` skips, if any.
    pub ends_in: Option<&'static str>,
    /// Class names the exporter stored in the graph's metadata.
    pub labels: Option<Vec<String>>,
    /// How batches run, in words (a fixed batch of 1 relaxed, or a dynamic batch).
    pub batching: String,
    /// A fixed batch of 1 the graph hard-codes: batches are run an input at a time.
    one_at_a_time: bool,
    /// A transformer's blocks, where the graph has some camlens reads (LeGrad).
    attention: Option<Attention>,
    /// Whether the output is class scores or a class score per pixel.
    pub task: Task,
    /// What a segmenter's or detector's scores are read for (see `models::network::Focus`).
    focus: std::sync::RwLock<Focus>,
    /// A detector's score and IoU thresholds from its model.json, where given.
    box_thresholds: (Option<f32>, Option<f32>),
    /// By node: what a convolution computes of the nodes after it (see `fuse`).
    tails: Vec<Option<Tail>>,
    /// By Pad node: the convolution that takes its zeros in (see `fuse`).
    pads: Vec<Option<usize>>,
    /// By Mul node: the 1×1 convolution that may take its gate in (see `fuse`).
    gates: Vec<Option<usize>>,
    /// By slot: the last node that reads it, after which a run lets it go (see `fuse`).
    last_reads: Vec<Option<usize>>,
    /// Nodes whose outputs depend on the input's size alone (shape arithmetic: a `Shape` and
    /// what is computed from it and constants), and those outputs for one input of the
    /// graph's size, given to every such run instead of recomputing them (see `survey`).
    sized: Vec<bool>,
    sized_values: Vec<(usize, Value)>,
    /// The first node a region pass cannot take, where enough comes before it to be worth
    /// one; 0: none is run (see `region`).
    region_upto: usize,
    /// The all-zero input's passes that region passes read (see `region`).
    zero_passes: ZeroPasses,
}

/// A pre-norm transformer's attention in a graph, for LeGrad: each block's attention
/// probabilities (a Softmax over the last axis of `[N, heads, T, T]`), each block's output tokens
/// (what the next block's first layer norm reads; for the last block, the final norm's input),
/// and the tail from the last block's output to the logits. Running that tail on a block's mean
/// token is torch-cam's `project_tokens` (`heads(norm(tokens.mean(1)))`) for any such graph:
/// the norm acts per token and the class token read (a Gather or Slice of token 0) or a pooling
/// of one token is that token. Graphs where the tail reads anything else computed before it,
/// or fails on one token, have no attention camlens reads.
///
/// Found when the graph is loaded (`OnnxNet::find_attention`, survey.rs), run by
/// `OnnxNet::attention_of`.
#[derive(Debug, Clone)]
pub(super) struct Attention {
    pub blocks: Vec<AttentionBlock>,
    /// The first node of the tail, and the slot it starts from.
    pub tail_from: usize,
    pub tail_input: usize,
}

/// One block of a transformer's attention (see `Attention`).
#[derive(Debug, Clone)]
pub(super) struct AttentionBlock {
    /// The Softmax node and its output's slot.
    pub softmax: usize,
    pub probabilities: usize,
    /// The slot of the block's output tokens `[N, T, D]`.
    pub tokens: usize,
}

/// The all-zero input's pass over nodes `0..end`, which region passes read (see `region`):
/// each map on the host (shape arithmetic is not recorded: a sized run skips it, see `fresh_for`).
#[derive(Debug)]
pub(super) struct Zeros {
    pub dims: [usize; 4],
    pub end: usize,
    pub maps: Vec<Option<std::sync::Arc<[f32]>>>,
}

/// Recorded all-zero passes, by input shape.
#[derive(Debug, Default)]
pub(super) struct ZeroPasses(pub std::sync::Mutex<Vec<std::sync::Arc<Zeros>>>);

/// The nodes after a convolution that it computes itself (see `fuse`): a batch norm folded
/// into its weights, an activation it applies as it writes, or both.
#[derive(Debug, Clone)]
struct Tail {
    /// The nodes (the batch norm first; one activation node, or SiLU's Sigmoid and Mul),
    /// skipped where the convolution computes them.
    nodes: Vec<usize>,
    act: crate::models::layers::Act,
    /// The last node's output slot, which the convolution fills.
    out: usize,
    /// The convolution with the batch norm folded in, run instead of the node's own.
    folded: Option<std::sync::Arc<crate::models::layers::Conv>>,
}

impl OnnxNet {
    /// How many nodes read each slot.
    fn readers(&self) -> Vec<usize> {
        let mut readers = vec![0usize; self.slots];
        for op in &self.ops {
            op.inputs.iter().flatten().for_each(|&s| readers[s] += 1);
        }
        readers
    }

    fn fresh(&self) -> Vec<Option<Value>> {
        let mut slots = nones(self.slots);
        for (s, v) in &self.constants {
            slots[*s] = Some(v.clone());
        }
        slots
    }

    /// `fresh`, or where `sized` (what is run is one input of the graph's size: the first
    /// value's dimensions are those it has then), the values that the nodes a run does not
    /// skip read, shape arithmetic's included (`run` skips it: see `fold_shapes`, survey.rs).
    fn fresh_for(&self, sized: bool) -> Vec<Option<Value>> {
        if !sized {
            return self.fresh();
        }
        let mut slots = nones(self.slots);
        for (s, v) in &self.sized_values {
            slots[*s] = Some(v.clone());
        }
        slots
    }

    /// Whether `x` is one input of the graph's size (see `fresh_for`).
    fn sized_input(&self, x: &Tensor<4>) -> bool {
        x.dims() == [1, 3, self.input_size, self.input_size]
    }

    /// Runs `range` of the nodes; a failure here was not seen on the blank input at load time.
    fn run_checked(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
        sized: bool,
    ) {
        self.run_checked_after(slots, range, batch, sized, vec![]);
    }

    /// `run_checked`, the activation nodes in `applied` already applied (see `run_after`).
    fn run_checked_after(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
        sized: bool,
        applied: Vec<usize>,
    ) {
        if let Err(e) = self.run_after(slots, range, batch, sized, applied) {
            panic!("ONNX graph failed on an input its load-time check passed: {e}");
        }
    }
}

/// `n` empty slots. Not `vec![None; n]`, which copies a whole `None` (320 bytes for a `Value`)
/// into each of a graph's thousands of slots at every run (a Lite0 export: 3,349, a megabyte).
pub(super) fn nones<T>(n: usize) -> Vec<Option<T>> {
    std::iter::repeat_with(|| None).take(n).collect()
}

impl Network for OnnxNet {
    fn layers(&self) -> Vec<LayerInfo> {
        self.layers.iter().map(|l| l.info.clone()).collect()
    }

    fn default_layer(&self) -> usize {
        self.default_layer
    }

    fn features(&self, x: Tensor<4>, layer: usize) -> Features {
        let n = x.dims()[0];
        if !self.one_at_a_time || n == 1 {
            return self.features_of(x, layer);
        }
        let parts: Vec<Features> = (0..n)
            .map(|i| self.features_of(x.clone().narrow(0, i, 1), layer))
            .collect();
        Features {
            activation: Tensor::cat(parts.iter().map(|f| f.activation.clone()).collect(), 0),
            context: Context::PerInput(parts.into_iter().map(|f| f.context).collect()),
        }
    }

    fn forward_traced(&self, x: Tensor<4>, trace: &mut Trace) -> Option<Tensor<2>> {
        let batch = x.dims()[0];
        let mut slots = self.fresh();
        slots[self.input] = Some(Value::R4(x));
        let readers = self.readers();
        for (i, op) in self.ops.iter().enumerate() {
            if self.folded[i] {
                continue;
            }
            let (Some(&out), Some(&Some(input))) = (op.outputs.first(), op.inputs.first()) else {
                self.run_checked(&mut slots, i..i + 1, batch, false);
                continue;
            };
            if trace.cut && op.is_relu() {
                slots[out] = Some(trace.cut_value(slots[input].as_ref()?, true)?);
                continue;
            }
            self.run_checked(&mut slots, i..i + 1, batch, false);
            if let Some(terms) = op.bias_terms()
                && let Some(Value::R4(y)) = slots[out].take()
            {
                slots[out] = Some(Value::R4(trace.biased(y, &terms)));
            }
            if trace.cut && readers[out] > 1 && slots[out].as_ref().is_some_and(Value::is_float) {
                slots[out] = Some(trace.cut_value(slots[out].as_ref()?, false)?);
            }
        }
        Some(self.logits(&mut slots))
    }

    fn head(&self, activation: Tensor<4>, context: &Context, layer: usize) -> Tensor<2> {
        match context {
            Context::PerInput(contexts) => Tensor::cat(
                contexts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| self.head_of(activation.clone().narrow(0, i, 1), c, layer))
                    .collect(),
                0,
            ),
            context => self.head_of(activation, context, layer),
        }
    }

    fn peak_activation(&self) -> usize {
        self.peak
    }

    fn has_attention(&self) -> bool {
        self.attention.is_some()
    }

    fn task(&self) -> Task {
        self.task
    }

    fn dense_scores(&self, x: Tensor<4>) -> Option<Tensor<4>> {
        if self.task != Task::Segment {
            return None;
        }
        self.output_slots(x)[self.output]
            .take()?
            .to_rank::<4>()
            .ok()
    }

    fn box_thresholds(&self) -> (Option<f32>, Option<f32>) {
        self.box_thresholds
    }

    fn detector_output(&self, x: Tensor<4>) -> Option<Tensor<3>> {
        let Task::Detect(format) = self.task else {
            return None;
        };
        let mut slots = self.output_slots(x);
        Some(self.detector_rows(&mut slots, format))
    }

    fn set_focus(&self, focus: Focus) -> Result<()> {
        let fits = matches!(
            (&focus, self.task),
            (Focus::Whole, _)
                | (Focus::Pixels(_), Task::Segment)
                | (Focus::Box(_), Task::Detect(_))
        );
        if !fits {
            let has = match self.task {
                Task::Segment => "a segmenter: it has pixels to choose, not boxes",
                Task::Detect(_) => "a detector: it has boxes to choose, not pixels",
                Task::Classify => "a classifier of whole images: it has no pixels or boxes",
            };
            return Err(Error::Invalid(format!("this model is {has}")));
        }
        *self.focus.write().unwrap_or_else(|e| e.into_inner()) = focus;
        Ok(())
    }

    fn attention_scores(
        &self,
        x: Tensor<4>,
        layer: usize,
        count: usize,
    ) -> Option<Vec<(Tensor<4>, Tensor<2>)>> {
        self.attention_of(x, layer, count)
    }

    fn scaled_aside(&self, context: &Context, factor: f32) -> Context {
        match context {
            Context::Values(values) => Context::Values(
                values
                    .iter()
                    .map(|(s, v)| match (*s, v) {
                        (SET_ASIDE, Value::R3(t)) => (*s, Value::R3(t.clone().mul_scalar(factor))),
                        _ => (*s, v.clone()),
                    })
                    .collect(),
            ),
            Context::PerInput(each) => {
                Context::PerInput(each.iter().map(|c| self.scaled_aside(c, factor)).collect())
            }
            other => other.clone(),
        }
    }

    fn set_dtype(&mut self, dtype: DType) {
        // The last weighted node is the classifier: it stays f32.
        let weighted: Vec<usize> = (0..self.ops.len())
            .filter(|&i| self.ops[i].has_weights())
            .collect();
        for &i in weighted.split_last().map_or(&[][..], |(_, rest)| rest) {
            self.ops[i].set_dtype(dtype);
        }
        // Batch norms are folded again into the convolutions as they now are.
        self.plan_fusions();
    }
}

impl OnnxNet {
    /// The values after the whole graph ran on `x` (a segmenter's or detector's output, before
    /// reading).
    fn output_slots(&self, x: Tensor<4>) -> Vec<Option<Value>> {
        let batch = x.dims()[0];
        let sized = self.sized_input(&x);
        let mut slots = self.fresh_for(sized);
        slots[self.input] = Some(Value::R4(x));
        self.run_checked(&mut slots, 0..self.ops.len(), batch, sized);
        slots
    }

    /// A detector's output slots read as rows `[N, A, 4 + K]` (`DetectFormat::rows`).
    fn detector_rows(&self, slots: &mut [Option<Value>], format: DetectFormat) -> Tensor<3> {
        let outputs = std::iter::once(self.output)
            .chain(self.boxes_output)
            .map(|s| {
                slots[s]
                    .take()
                    .and_then(|v| v.to_rank::<3>().ok())
                    .expect("a detector's outputs are [N, a, b]")
            })
            .collect();
        format.rows(outputs, self.input_size)
    }

    /// The logits of the tail run on `tokens` `[N, 1, D]` in place of the last block's output.
    fn tail(&self, attention: &Attention, tokens: Tensor<3>) -> Option<Tensor<2>> {
        let mut slots = self.fresh();
        slots[attention.tail_input] = Some(Value::R3(tokens));
        let batch = slots[attention.tail_input].as_ref()?.dims()[0];
        self.run(
            &mut slots,
            attention.tail_from..self.ops.len(),
            batch,
            false,
        )
        .ok()?;
        slots[self.output].as_ref()?.clone().to_rank::<2>().ok()?;
        Some(self.logits(&mut slots))
    }

    /// LeGrad's probabilities and layer scores (see `Network::attention_scores`): the block
    /// whose attention reads the target layer (the last where none after it does) and the
    /// `count − 1` before it.
    fn attention_of(
        &self,
        x: Tensor<4>,
        layer: usize,
        count: usize,
    ) -> Option<Vec<(Tensor<4>, Tensor<2>)>> {
        let attention = self.attention.as_ref()?;
        let node = self.layers.get(layer)?.node;
        let last = attention.blocks.len() - 1;
        let target = attention
            .blocks
            .iter()
            .position(|b| b.softmax > node)
            .unwrap_or(last);
        let chosen = &attention.blocks[target.saturating_sub(count.max(1) - 1)..=target];
        let batch = x.dims()[0];
        let sized = self.sized_input(&x);
        let mut slots = self.fresh_for(sized);
        slots[self.input] = Some(Value::R4(x));
        let mut found = vec![];
        let mut from = 0;
        // Each block's scores from a graph of its own (burn frees a graph's tape on backward):
        // the untracked pass goes on, a tracked copy runs from the leaf to the block's output.
        for b in chosen {
            self.run_checked(&mut slots, from..b.softmax + 1, batch, sized);
            from = b.softmax + 1;
            let p = slots[b.probabilities].clone()?.to_rank::<4>().ok()?;
            let leaf = p.detach().autodiff().require_grad();
            let mut tracked = slots.clone();
            tracked[b.probabilities] = Some(Value::R4(leaf.clone()));
            let end = self
                .ops
                .iter()
                .rposition(|o| o.outputs.contains(&b.tokens))?;
            self.run_checked(&mut tracked, from..end + 1, batch, sized);
            let tokens = tracked[b.tokens].take()?.to_rank::<3>().ok()?;
            found.push((leaf, self.tail(attention, tokens.mean_dim(1))?));
        }
        Some(found)
    }

    fn features_of(&self, x: Tensor<4>, layer: usize) -> Features {
        let l = &self.layers[layer];
        let batch = x.dims()[0];
        let sized = self.sized_input(&x);
        let mut slots = self.fresh_for(sized);
        slots[self.input] = Some(Value::R4(x));
        let (from, applied) = self.run_region(&mut slots, l.node + 1, sized);
        self.run_checked_after(&mut slots, from..l.node + 1, batch, sized, applied);
        let value = slots[l.slot].take().expect("the layer's node computed it");
        let (activation, set_aside) = l
            .layout
            .read_map(&value)
            .expect("the layer's output reads as a map");
        let mut context: Vec<(usize, Value)> = l
            .crossing
            .iter()
            .filter_map(|&s| Some((s, slots[s].take()?)))
            .collect();
        context.extend(set_aside.map(|v| (SET_ASIDE, v)));
        Features {
            activation,
            context: Context::Values(context),
        }
    }

    fn head_of(&self, activation: Tensor<4>, context: &Context, layer: usize) -> Tensor<2> {
        let l = &self.layers[layer];
        let batch = activation.dims()[0];
        let i = &l.info;
        let sized = activation.dims() == [1, i.channels, i.height, i.width];
        let mut slots = self.fresh_for(sized);
        let mut set_aside = None;
        if let Context::Values(values) = context {
            for (s, v) in values {
                match *s {
                    SET_ASIDE => set_aside = Some(v),
                    s => slots[s] = Some(v.clone()),
                }
            }
        }
        slots[l.slot] = Some(
            l.layout
                .restore(activation, set_aside)
                .expect("a map of the layer's layout"),
        );
        self.run_checked(&mut slots, l.node + 1..self.ops.len(), batch, sized);
        self.logits(&mut slots)
    }

    /// The output slot read as logits `[N, classes]` (a segmenter's or detector's for its focus).
    fn logits(&self, slots: &mut [Option<Value>]) -> Tensor<2> {
        if self.task == Task::Segment {
            let z = slots[self.output]
                .take()
                .and_then(|v| v.to_rank::<4>().ok())
                .expect("a segmenter's output is [N, classes, h, w]");
            return match &*self.focus.read().unwrap_or_else(|e| e.into_inner()) {
                Focus::Pixels(mask) => region_scores(z, Some(mask)),
                _ => region_scores(z, None),
            };
        }
        if let Task::Detect(format) = self.task {
            let rows = self.detector_rows(slots, format);
            return match &*self.focus.read().unwrap_or_else(|e| e.into_inner()) {
                Focus::Box(target) => {
                    box_scores(rows, target).expect("the detector's rows read back")
                }
                // The best box of each class: what timing and checks run where no box is chosen.
                _ => best_box_scores(rows),
            };
        }
        let out = slots[self.output]
            .take()
            .and_then(|v| v.to_rank::<2>().ok())
            .expect("the output is [N, classes]");
        if self.scores == Scores::Binary {
            // One logit z: the scores (−z/2, z/2), whose softmax is exactly (1 − σ(z), σ(z)), and
            // whose gradients are ∓∂z/2, so "positive" is explained on z itself.
            let half = out * 0.5;
            return Tensor::cat(vec![half.clone().neg(), half], 1);
        }
        out
    }
}
