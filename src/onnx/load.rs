//! Loading an ONNX file, step by step: parse it (declaring the ranks TorchScript leaves out),
//! find the image input and the class scores among its outputs, compile every node, leave out
//! a final Sigmoid or Softmax, and run the graph once on a blank input.

use super::config::{self, Config};
use super::names::{self, Producer, Shape};
use super::ops::{self, Op};
use super::{OnnxNet, ranks};
use crate::error::{Error, Result, guarded};
use crate::models::network::{Scores, Task};
use crate::models::value::Value;
use burn::tensor::Device;
use onnx_ir::{Argument, Message, ModelProto, OnnxGraph};
use std::collections::HashMap;
use std::path::Path;

/// Runs `work` on the one thread that parses and compiles every ONNX file, and returns what
/// it returns (or resumes its panic here).
///
/// Why a thread of its own: parsing leaves hundreds of thousands of freed blocks of every size
/// among the compiled graph's, and glibc keeps a heap (an arena) per thread. Parsed on the
/// thread that then runs the graph, every large allocation of every run (each convolution's
/// output) walked the free lists of that debris: a fifth of a Lite0 export's forward was
/// `malloc` (1,450 samples of `_int_malloc` against the built-in's 50, 2026-12-07, 2-core AMD
/// EPYC). The thread never ends, so no later thread inherits its heap.
fn on_loader_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    type Job = Box<dyn FnOnce() + Send>;
    static LOADER: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    let jobs = LOADER.get_or_init(|| {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("camlens-onnx-load".into())
            .spawn(move || queue.into_iter().for_each(|job| job()))
            .expect("spawning the ONNX loading thread");
        jobs
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
    });
    jobs.send(job)
        .expect("the ONNX loading thread lives as long as the program");
    match rx
        .recv()
        .expect("the ONNX loading thread answers every job")
    {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The graph's values by name, each given a slot.
#[derive(Default)]
struct Slots {
    of: HashMap<String, usize>,
    unnamed: usize,
}

impl Slots {
    fn slot(&mut self, name: &str) -> usize {
        // Constants embedded in a node have no name: each gets a slot of its own.
        let key = match name {
            "" => {
                self.unnamed += 1;
                format!("\u{0}{}", self.unnamed)
            }
            name => name.to_string(),
        };
        let n = self.of.len();
        *self.of.entry(key).or_insert(n)
    }
}

/// The nodes compiled, in order, with the constants they read.
struct Compiled {
    ops: Vec<Op>,
    constants: Vec<(usize, Value)>,
    slots: Slots,
    input: usize,
}

impl OnnxNet {
    /// Parses `path` and compiles its graph for `device`, with what `config` (its `model.json`)
    /// adds; checks every node once on a blank input, so that a graph camlens cannot run fails
    /// here with a sentence, not later.
    pub fn load(path: &Path, config: &Config, device: &Device) -> Result<Self> {
        let (path, config, device) = (path.to_path_buf(), config.clone(), device.clone());
        on_loader_thread(move || Self::load_here(&path, &config, &device))
    }

    fn load_here(path: &Path, config: &Config, device: &Device) -> Result<Self> {
        let bad = |detail: String| Error::Invalid(format!("{}: {detail}", path.display()));
        let (original, graph) = parse(path).map_err(&bad)?;
        let [input] = graph.inputs.as_slice() else {
            return Err(bad(format!(
                "camlens explains models with one image input; this one has {} inputs ({})",
                graph.inputs.len(),
                names(&graph.inputs)
            )));
        };
        let (output, boxes) = scores_output(&graph, &original, config).map_err(&bad)?;
        let (batch, size) = image_input(input, config).map_err(&bad)?;
        let relax_batch = batch == Some(1);
        let mut c = compile(&graph, &original, input, relax_batch, device).map_err(&bad)?;
        let mut output_slot = c.slots.slot(&output.name);
        let boxes_output = boxes.map(|b| c.slots.slot(&b.name));
        // A graph that ends in its probabilities is explained on the logits before them, as
        // every other model is: a probability's gradient vanishes where the model is sure, and
        // camlens computes the probabilities itself (`Model::probabilities`).
        let last = c
            .ops
            .iter()
            .rev()
            .find(|o| o.outputs.contains(&output_slot));
        let ends_in = last.and_then(|o| Some((o.probabilities()?, o.inputs.first().copied()??)));
        if let (Some((_, logits)), None) = (ends_in, boxes_output) {
            output_slot = logits;
        }
        let scores = match (config.head, ends_in) {
            (Some(config::HeadName::Sigmoid), _) | (None, Some(("Sigmoid", _))) => Scores::Sigmoid,
            _ => Scores::Softmax,
        };
        let metadata = original.metadata_props.iter();
        let mut net = OnnxNet {
            ops: c.ops,
            constants: c.constants,
            slots: c.slots.of.len(),
            input: c.input,
            output: output_slot,
            boxes_output,
            layers: vec![],
            default_layer: 0,
            peak: 0,
            folded: vec![],
            input_size: size,
            num_classes: 0,
            scores,
            ends_in: ends_in.map(|(op, _)| op),
            labels: config::metadata_labels(metadata.map(|p| (p.key.as_str(), p.value.as_str()))),
            batching: match batch {
                Some(1) => "exported with a fixed batch of 1: run batched, the batch dimension \
                            relaxed"
                    .into(),
                _ => "dynamic batch".into(),
            },
            one_at_a_time: false,
            attention: None,
            task: crate::models::network::Task::Classify,
            focus: Default::default(),
            box_thresholds: (config.score, config.iou),
            tails: vec![],
            pads: vec![],
            gates: vec![],
            last_reads: vec![],
            sized: vec![],
            sized_values: vec![],
            region_upto: 0,
            zero_passes: Default::default(),
        };
        guarded("the graph cannot run here", || net.survey(config, device))
            .map_err(|e| bad(e.to_string()))?;
        net.check_box_thresholds().map_err(bad)?;
        if relax_batch {
            net.check_relaxed_batch(path, device);
        }
        net.plan_fusions();
        Ok(net)
    }

    /// A model.json's thresholds are a detector's, each between 0 and 1.
    fn check_box_thresholds(&self) -> std::result::Result<(), String> {
        let (score, iou) = self.box_thresholds;
        match self.task {
            Task::Detect(format) => format
                .thresholds(score, iou)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            _ if score.is_some() || iou.is_some() => Err("its model.json gives a score or IoU \
                 threshold, which only a detector has: the graph's output is not a detector's"
                .into()),
            _ => Ok(()),
        }
    }

    /// A graph exported with a fixed batch of 1 is run batched where a batch of 2 runs; else
    /// an input at a time, with a warning.
    fn check_relaxed_batch(&mut self, path: &Path, device: &Device) {
        let fails = guarded("a batch of 2", || self.relaxing_fails(device));
        if let Some(why) = fails.unwrap_or_else(|e| Some(e.to_string())) {
            self.one_at_a_time = true;
            self.batching = format!(
                "exported with a fixed batch of 1 that the graph hard-codes ({why}): run one \
                 input at a time, slower on the masked forwards of the score methods; export \
                 with a dynamic batch axis to run batched"
            );
            log::warn!("{}: {}", path.display(), self.batching);
        }
    }
}

/// The file's own header (the names its exporter gave, which the parser renames, and its
/// metadata) and the parsed graph.
fn parse(path: &Path) -> std::result::Result<(ModelProto, OnnxGraph), String> {
    let original = std::fs::read(path)
        .ok()
        .and_then(|b| ModelProto::parse_from_bytes(&b).ok())
        .unwrap_or_default();
    // onnx-ir types a Pad's output as its input (its static size unchanged), and its
    // simplification then folds the shapes of what follows from that wrong size: a graph that
    // computes its Pad amounts (TensorFlow's "SAME" as PyTorch ports write it, F.pad with
    // amounts from x.shape) would be padded by the wrong amounts. Such a graph is read without
    // it; camlens folds what is constant itself (`survey`).
    let builder = || onnx_ir::OnnxGraphBuilder::new().simplify(!computes_pads(&original));
    let graph = match builder().parse_file(path) {
        Ok(g) => Ok(g),
        // TorchScript's transformer exports: Reshape ranks declared, then parsed again.
        Err(e) if e.to_string().contains("no statically known length") => {
            let dir = path.parent().unwrap_or(Path::new("."));
            match ranks::declare_reshape_ranks(&original, dir) {
                Some(bytes) => builder().parse_bytes(&bytes),
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
        format!("not a readable ONNX model ({e}){hint}")
    })?;
    Ok((original, graph))
}

/// Whether a Pad node's amounts are computed in the graph (neither an initializer nor a
/// Constant node's output).
fn computes_pads(model: &ModelProto) -> bool {
    let graph = &model.graph;
    let fixed = |name: &str| {
        graph.initializer.iter().any(|i| i.name == name)
            || graph
                .node
                .iter()
                .any(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))
    };
    graph
        .node
        .iter()
        .filter(|n| n.op_type == "Pad")
        .any(|n| n.input.get(1).is_some_and(|p| !p.is_empty() && !fixed(p)))
}

/// The output with the class scores: the only one, or the one model.json names.
fn scores_output<'g>(
    graph: &'g OnnxGraph,
    original: &ModelProto,
    config: &Config,
) -> std::result::Result<(&'g Argument, Option<&'g Argument>), String> {
    let output_names: Vec<String> = if original.graph.output.len() == graph.outputs.len() {
        let outputs = original.graph.output.iter();
        outputs.map(|o| o.name.clone()).collect()
    } else {
        graph.outputs.iter().map(|o| o.name.clone()).collect()
    };
    let named = |name: &str, what: &str| {
        graph
            .outputs
            .iter()
            .zip(&output_names)
            .find(|(_, n)| *n == name)
            .map(|(o, _)| o)
            .ok_or_else(|| {
                format!(
                    "model.json names the {what} output '{name}', but the graph's outputs are {}",
                    output_names.join(", ")
                )
            })
    };
    // DETR's two outputs, by name (Hugging Face's and the original's: "logits" or
    // "pred_logits", "pred_boxes"), unless model.json says otherwise.
    let by_word = |word: &str| {
        let mut found = output_names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.to_ascii_lowercase().contains(word));
        match (found.next(), found.next()) {
            (Some((i, _)), None) => Some(&graph.outputs[i]),
            _ => None,
        }
    };
    let detr = config.format == Some(super::config::FormatName::Detr) || config.boxes.is_some();
    let undeclared = config.output.is_none() && config.format.is_none();
    if detr || (undeclared && graph.outputs.len() >= 2) {
        let logits = match &config.output {
            Some(name) => Some(named(name, "class scores")?),
            None => by_word("logits"),
        };
        let boxes = match &config.boxes {
            Some(name) => Some(named(name, "boxes")?),
            None => by_word("boxes"),
        };
        match (logits, boxes) {
            (Some(l), Some(b)) => return Ok((l, Some(b))),
            _ if detr => {
                return Err(format!(
                    "a DETR graph has class logits and boxes outputs; name them as \"output\" \
                     and \"boxes\" in a model.json beside it (the graph's outputs are {})",
                    output_names.join(", ")
                ));
            }
            _ => {}
        }
    }
    match (&config.output, graph.outputs.as_slice()) {
        (None, [output]) => Ok((output, None)),
        (Some(name), _) => Ok((named(name, "class scores")?, None)),
        (None, outputs) => Err(format!(
            "this model has {} outputs ({}); name the one with the class scores as \
             \"output\" in a model.json beside it",
            outputs.len(),
            output_names.join(", ")
        )),
    }
}

/// The input's batch (where fixed) and its square side, from the graph or model.json.
fn image_input(
    input: &Argument,
    config: &Config,
) -> std::result::Result<(Option<usize>, usize), String> {
    let shape = input.ty.static_shape().cloned().unwrap_or_default();
    match (shape.as_slice(), config.size) {
        ([b, Some(3), Some(h), Some(w)], wanted) if h == w => match wanted {
            Some(s) if s != *h => Err(format!(
                "the graph takes {h}×{h} inputs but model.json asks for {s}"
            )),
            _ => Ok((*b, *h)),
        },
        ([b, Some(3), None, None], Some(s)) => Ok((*b, s)),
        ([_, Some(3), h, w], _) => Err(format!(
            "the input's spatial size is {} × {}; camlens needs a fixed square size: set \
             \"size\" in a model.json beside the model",
            dim(*h),
            dim(*w)
        )),
        _ => Err(format!(
            "input '{}' is not an image batch [N, 3, H, W] (found {:?})",
            input.name, input.ty
        )),
    }
}

/// Every node compiled into an operation, its inputs and outputs given slots; nodes renamed
/// as the file names them (Netron shows those), errors too.
fn compile(
    graph: &OnnxGraph,
    original: &ModelProto,
    input: &Argument,
    relax_batch: bool,
    device: &Device,
) -> std::result::Result<Compiled, String> {
    let mut slots = Slots::default();
    let input_slot = slots.slot(&input.name);
    let (mut constants, mut ops, mut shapes) = (vec![], vec![], vec![]);
    let mut made_by: HashMap<usize, usize> = HashMap::new();
    for node in &graph.nodes {
        let mut inputs = vec![];
        let mut producers = vec![];
        for arg in node.inputs() {
            if arg.name.is_empty() && arg.value().is_none() {
                inputs.push(None); // an optional input left out
                continue;
            }
            let s = slots.slot(&arg.name);
            if let Some(data) = arg.value() {
                constants.push((s, ops::constant(data, device)?));
            } else if let Some(&j) = made_by.get(&s) {
                producers.push(Producer::Node(j));
            } else if s == input_slot {
                producers.push(Producer::Input);
            }
            inputs.push(Some(s));
        }
        let outputs: Vec<usize> = node.outputs().iter().map(|a| slots.slot(&a.name)).collect();
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
                let names = names::original_names(&original.graph, &shapes);
                return Err(match names.last() {
                    Some(Some(n)) => e.replace(&format!("'{}'", node.name()), &format!("'{n}'")),
                    _ => e,
                });
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
    Ok(Compiled {
        ops,
        constants,
        slots,
        input: input_slot,
    })
}

fn names(args: &[Argument]) -> String {
    let names: Vec<&str> = args.iter().map(|a| a.name.as_str()).collect();
    names.join(", ")
}

fn dim(d: Option<usize>) -> String {
    d.map_or("dynamic".into(), |d| d.to_string())
}
