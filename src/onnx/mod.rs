//! Any classifier exported to ONNX, run by camlens itself: `onnx-ir` (burn's parser) turns the
//! file into typed nodes with their configs and constants, `ops.rs` compiles each node into an
//! operation on burn tensors, and this file runs them in order. Because the graph is run here,
//! it can be split at any node's output like the hand-written models: `features` runs the nodes
//! up to the target layer, `head` the rest from the (possibly autodiff) activation, with the
//! values that skip across the split (residual connections) handed over as context.

mod compile;
mod config;
mod indexing;
mod layout;
mod names;
mod ops;
mod ranks;
mod resize;
mod run;
mod shapes;
mod survey;
mod windows;

use crate::error::{Error, Result, guarded};
use crate::models::network::{Context, Features, LayerInfo, Network, Scores};
use crate::models::value::Value;
use burn::tensor::{DType, Device, Tensor};
use layout::MapLayout;
use names::{Producer, Shape};
use onnx_ir::Message;
use ops::Op;
use std::collections::HashMap;
use std::path::Path;

pub use config::{Config, HeadName, ResampleName};

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
}

impl OnnxNet {
    /// Parses `path` and compiles its graph for `device`, with what `config` (its `model.json`)
    /// adds; checks every node once on a blank input, so that a graph camlens cannot run fails
    /// here with a sentence, not later.
    pub fn load(path: &Path, config: &Config, device: &Device) -> Result<Self> {
        let bad = |detail: String| Error::Invalid(format!("{}: {detail}", path.display()));
        // The file's own header: the names its exporter gave (the parser renames nodes and
        // outputs) and its metadata.
        let original = std::fs::read(path)
            .ok()
            .and_then(|b| onnx_ir::ModelProto::parse_from_bytes(&b).ok())
            .unwrap_or_default();
        let graph = match onnx_ir::OnnxGraphBuilder::new().parse_file(path) {
            Ok(g) => Ok(g),
            // TorchScript's transformer exports: Reshape ranks declared, then parsed again.
            Err(e) if e.to_string().contains("no statically known length") => {
                let dir = path.parent().unwrap_or(Path::new("."));
                match ranks::declare_reshape_ranks(&original, dir) {
                    Some(bytes) => onnx_ir::OnnxGraphBuilder::new().parse_bytes(&bytes),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
        .map_err(|e| {
            let hint = if e.to_string().contains("no statically known length") {
                "; PyTorch's TorchScript exporter writes such Reshapes for nn.MultiheadAttention: \
                 export with torch.onnx.export(..., dynamo=True)"
            } else {
                ""
            };
            bad(format!("not a readable ONNX model ({e}){hint}"))
        })?;
        let [input] = graph.inputs.as_slice() else {
            return Err(bad(format!(
                "camlens explains models with one image input; this one has {} inputs ({})",
                graph.inputs.len(),
                names(&graph.inputs)
            )));
        };
        let output_names: Vec<String> = if original.graph.output.len() == graph.outputs.len() {
            original
                .graph
                .output
                .iter()
                .map(|o| o.name.clone())
                .collect()
        } else {
            graph.outputs.iter().map(|o| o.name.clone()).collect()
        };
        let output = match (&config.output, graph.outputs.as_slice()) {
            (None, [output]) => output,
            (Some(name), outputs) => outputs
                .iter()
                .zip(&output_names)
                .find(|(_, n)| *n == name)
                .map(|(o, _)| o)
                .ok_or_else(|| {
                    bad(format!(
                        "model.json names the output '{name}', but the graph's outputs are {}",
                        output_names.join(", ")
                    ))
                })?,
            (None, outputs) => {
                return Err(bad(format!(
                    "this model has {} outputs ({}); name the one with the class scores as \
                     \"output\" in a model.json beside it",
                    outputs.len(),
                    output_names.join(", ")
                )));
            }
        };
        let shape = input.ty.static_shape().cloned().unwrap_or_default();
        let (batch, size) = match (shape.as_slice(), config.size) {
            ([b, Some(3), Some(h), Some(w)], wanted) if h == w => match wanted {
                Some(s) if s != *h => {
                    return Err(bad(format!(
                        "the graph takes {h}×{h} inputs but model.json asks for {s}"
                    )));
                }
                _ => (*b, *h),
            },
            ([b, Some(3), None, None], Some(s)) => (*b, s),
            ([_, Some(3), h, w], _) => {
                return Err(bad(format!(
                    "the input's spatial size is {} × {}; camlens needs a fixed square size: \
                     set \"size\" in a model.json beside the model",
                    dim(*h),
                    dim(*w)
                )));
            }
            _ => {
                return Err(bad(format!(
                    "input '{}' is not an image batch [N, 3, H, W] (found {:?})",
                    input.name, input.ty
                )));
            }
        };
        let relax_batch = batch == Some(1);
        let mut slot_of: HashMap<String, usize> = HashMap::new();
        let mut unnamed = 0;
        let mut slot = |name: &str| -> usize {
            // Constants embedded in a node have no name: each gets a slot of its own.
            let key = match name {
                "" => {
                    unnamed += 1;
                    format!("\u{0}{unnamed}")
                }
                name => name.to_string(),
            };
            let n = slot_of.len();
            *slot_of.entry(key).or_insert(n)
        };
        let input_slot = slot(&input.name);
        let mut constants = vec![];
        let mut ops: Vec<Op> = vec![];
        let mut shapes: Vec<Shape> = vec![];
        let mut made_by: HashMap<usize, usize> = HashMap::new();
        for node in &graph.nodes {
            let mut inputs = vec![];
            let mut producers = vec![];
            for arg in node.inputs() {
                if arg.name.is_empty() && arg.value().is_none() {
                    inputs.push(None); // an optional input left out
                    continue;
                }
                let s = slot(&arg.name);
                if let Some(data) = arg.value() {
                    constants.push((s, compile::constant(data, device).map_err(&bad)?));
                } else if let Some(&j) = made_by.get(&s) {
                    producers.push(Producer::Node(j));
                } else if s == input_slot {
                    producers.push(Producer::Input);
                }
                inputs.push(Some(s));
            }
            let outputs: Vec<usize> = node.outputs().iter().map(|a| slot(&a.name)).collect();
            let kind = node.node_type().to_string().to_lowercase();
            // A node of constants only (a weight's Transpose) gives a constant, as in the file.
            if kind != "constant" && !producers.is_empty() {
                for &s in &outputs {
                    made_by.insert(s, ops.len());
                }
            }
            shapes.push(Shape { kind, producers });
            match Op::compile(node, inputs, outputs, relax_batch, device) {
                Ok(op) => ops.push(op),
                Err(e) => {
                    // Said with the node's name in the file, as Netron shows it.
                    let names = names::original_names(&original.graph, &shapes);
                    let e = match names.last() {
                        Some(Some(n)) => {
                            e.replace(&format!("'{}'", node.name()), &format!("'{n}'"))
                        }
                        _ => e,
                    };
                    return Err(bad(e));
                }
            }
        }
        for (op, name) in ops
            .iter_mut()
            .zip(names::original_names(&original.graph, &shapes))
        {
            if let Some(name) = name {
                op.name = name;
            }
        }
        constants.sort_by_key(|(s, _)| *s);
        constants.dedup_by_key(|(s, _)| *s);
        let mut output_slot = slot(&output.name);
        // A graph that ends in its probabilities is explained on the logits before them, as
        // every other model is: a probability's gradient vanishes where the model is sure, and
        // camlens computes the probabilities itself (`Model::probabilities`).
        let last = ops.iter().rev().find(|o| o.outputs.contains(&output_slot));
        let ends_in = match last.map(|o| (&o.kind, o.inputs.first().copied().flatten())) {
            Some((ops::Kind::Sigmoid, Some(logits))) => Some(("Sigmoid", logits)),
            Some((ops::Kind::Softmax(1), Some(logits))) => Some(("Softmax", logits)),
            _ => None,
        };
        if let Some((_, logits)) = ends_in {
            output_slot = logits;
        }
        let scores = match (config.head, ends_in) {
            (Some(config::HeadName::Sigmoid), _) | (None, Some(("Sigmoid", _))) => Scores::Sigmoid,
            _ => Scores::Softmax,
        };
        let mut net = OnnxNet {
            ops,
            constants,
            slots: slot_of.len(),
            input: input_slot,
            output: output_slot,
            layers: vec![],
            default_layer: 0,
            peak: 0,
            folded: vec![],
            input_size: size,
            num_classes: 0,
            scores,
            ends_in: ends_in.map(|(op, _)| op),
            labels: config::metadata_labels(
                original
                    .metadata_props
                    .iter()
                    .map(|p| (p.key.as_str(), p.value.as_str())),
            ),
            batching: match batch {
                Some(1) => "exported with a fixed batch of 1: run batched, the batch dimension \
                            relaxed"
                    .into(),
                _ => "dynamic batch".into(),
            },
            one_at_a_time: false,
        };
        guarded("the graph cannot run here", || net.survey(device))
            .map_err(|e| bad(e.to_string()))?;
        if relax_batch {
            let fails = guarded("a batch of 2", || net.relaxing_fails(device));
            if let Some(why) = fails.unwrap_or_else(|e| Some(e.to_string())) {
                net.one_at_a_time = true;
                net.batching = format!(
                    "exported with a fixed batch of 1 that the graph hard-codes ({why}): run \
                     one input at a time, slower on the masked forwards of the score methods; \
                     export with a dynamic batch axis to run batched"
                );
                log::warn!("{}: {}", path.display(), net.batching);
            }
        }
        Ok(net)
    }

    fn fresh(&self) -> Vec<Option<Value>> {
        let mut slots = vec![None; self.slots];
        for (s, v) in &self.constants {
            slots[*s] = Some(v.clone());
        }
        slots
    }

    /// Runs nodes `range` on a batch of `batch` images.
    fn run(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
    ) -> Result<()> {
        let start = range.start;
        for (i, op) in self.ops[range].iter().enumerate() {
            if self.folded.get(start + i) == Some(&true) {
                continue;
            }
            op.run(slots, batch).map_err(|e| match e {
                Error::Invalid(m) if !m.starts_with("node '") => {
                    Error::Invalid(format!("node '{}': {m}", op.name))
                }
                e => e,
            })?;
        }
        Ok(())
    }

    /// Runs `range` of the nodes; a failure here was not seen on the blank input at load time.
    fn run_checked(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
    ) {
        if let Err(e) = self.run(slots, range, batch) {
            panic!("ONNX graph failed on an input its load-time check passed: {e}");
        }
    }
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

    fn set_dtype(&mut self, dtype: DType) {
        // The last weighted node is the classifier: it stays f32.
        let weighted: Vec<usize> = (0..self.ops.len())
            .filter(|&i| self.ops[i].has_weights())
            .collect();
        for &i in weighted.split_last().map_or(&[][..], |(_, rest)| rest) {
            self.ops[i].set_dtype(dtype);
        }
    }
}

impl OnnxNet {
    fn features_of(&self, x: Tensor<4>, layer: usize) -> Features {
        let l = &self.layers[layer];
        let mut slots = self.fresh();
        let batch = x.dims()[0];
        slots[self.input] = Some(Value::R4(x));
        self.run_checked(&mut slots, 0..l.node + 1, batch);
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
        let mut slots = self.fresh();
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
        self.run_checked(&mut slots, l.node + 1..self.ops.len(), batch);
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

fn names(args: &[onnx_ir::Argument]) -> String {
    args.iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn dim(d: Option<usize>) -> String {
    d.map_or("dynamic".into(), |d| d.to_string())
}
