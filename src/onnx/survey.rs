//! The load-time run on a blank image: every node checked, every value's shape read, constants
//! folded, the candidate layers listed and the default chosen.

use super::config::{Config, FormatName, TaskName};
use super::layout::{self, MapLayout};
use super::{Attention, AttentionBlock};
use super::{Layer, OnnxNet};
use crate::compute::tensor_io::to_vec;
use crate::error::guarded;
use crate::error::{Error, Result};
use crate::models::detection::DetectFormat;
use crate::models::network::{LayerInfo, Scores, Task};
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};

impl OnnxNet {
    /// Runs the graph once on a blank image: every node is checked, every value's shape read,
    /// the candidate layers listed and the class count taken from the output.
    pub(super) fn survey(&mut self, config: &Config, device: &Device) -> Result<()> {
        let x = Tensor::<4>::from_data(
            TensorData::new(
                vec![0.0f32; 3 * self.input_size * self.input_size],
                [1, 3, self.input_size, self.input_size],
            ),
            device,
        );
        let mut slots = self.fresh();
        slots[self.input] = Some(Value::R4(x));
        self.run(&mut slots, 0..self.ops.len(), 1, false)?;
        let dims: Vec<Option<Vec<usize>>> =
            slots.iter().map(|v| v.as_ref().map(Value::dims)).collect();
        // The largest map a run holds (it sizes the batches): what nodes compute, not the
        // constants (Lite0's classifier weights outnumber its largest map) nor a Pad's output,
        // which the convolution after it takes in instead (`fuse`).
        let computed = self
            .ops
            .iter()
            .filter(|op| !op.inputs.is_empty() && !op.is_pad());
        self.peak = computed
            .flat_map(|op| &op.outputs)
            .chain([&self.input])
            .filter_map(|&s| dims[s].as_ref())
            .map(|d| d.iter().product::<usize>())
            .max()
            .unwrap_or(1);
        self.read_classes(&dims, config)?;
        let constant = self.fold_constants(&slots);
        self.fold_shapes(&slots, &constant);
        self.region_upto = self.region_reach(&dims);
        self.list_layers(&dims, &constant)?;
        self.default_layer = self.default_layer(&constant);
        self.attention = self.find_attention(&dims, &constant, device);
        Ok(())
    }

    /// The task and class count (and a one-logit binary head) from the output's shape, or from
    /// what `model.json` declares.
    fn read_classes(&mut self, dims: &[Option<Vec<usize>>], config: &Config) -> Result<()> {
        let out = dims[self.output]
            .clone()
            .ok_or_else(|| Error::Invalid("the graph never computes its output".into()))?;
        if let Some(boxes) = self.boxes_output {
            let boxes = dims[boxes].clone().unwrap_or_default();
            return match (out.as_slice(), boxes.as_slice()) {
                ([1, q, k1], [1, q2, 4]) if q == q2 && *k1 >= 2 => {
                    self.task = Task::Detect(DetectFormat::Detr);
                    self.num_classes = k1 - 1;
                    Ok(())
                }
                (l, b) => Err(Error::Invalid(format!(
                    "read as DETR, the class logits have shape {l:?} and the boxes {b:?}; DETR's \
                     are [N, queries, classes + 1] and [N, queries, 4]"
                ))),
            };
        }
        let declared = config.format.map(FormatName::format);
        let wanted = config.task;
        self.num_classes = match (out.as_slice(), wanted) {
            ([1, 1], None | Some(TaskName::Classify)) => {
                self.scores = Scores::Binary;
                2
            }
            ([1, c], None | Some(TaskName::Classify)) => *c,
            // A class score per pixel: a segmenter.
            ([1, c, h, w], None | Some(TaskName::Segment)) if *c >= 2 && h * w > 1 => {
                self.task = Task::Segment;
                *c
            }
            // Boxes, one row per anchor: a detector, in the layout declared or told by shape.
            (dims @ [1, _, _], None | Some(TaskName::Detect)) => {
                let (format, classes) = match declared {
                    Some(f) => (f, f.classes_of(dims)),
                    None => DetectFormat::of_shape(dims)
                        .map_or((DetectFormat::YoloV8, None), |(f, c)| (f, Some(c))),
                };
                let classes = classes.ok_or_else(|| Error::Invalid(format!(
                    "the output has shape {dims:?}, which camlens cannot read as {}; declare the \
                     layout with \"format\" (yolov8, yolov5 or detr) in a model.json beside it",
                    match declared {
                        Some(f) => f.to_string(),
                        None => "YOLO boxes".into(),
                    }
                )))?;
                self.task = Task::Detect(format);
                classes
            }
            (other, Some(task)) => {
                return Err(Error::Invalid(format!(
                    "model.json declares the task {task:?}, but the output has shape {other:?}: a \
                     classifier's is [N, classes], a segmenter's [N, classes, h, w], a YOLO \
                     detector's [N, 4 + classes, anchors] or [N, anchors, 5 + classes]"
                )));
            }
            (other, None) => {
                return Err(Error::Invalid(format!(
                    "the output has shape {other:?}; camlens needs class scores [N, classes], per-pixel class scores [N, classes, \
                     h, w] (a segmenter) or YOLO boxes [N, 4 + classes, anchors] or [N, \
                     anchors, 5 + classes] (a detector)"
                )));
            }
        };
        Ok(())
    }

    /// Marks the nodes whose inputs are all constant as folded, keeping their outputs (from the
    /// blank run's `slots`) as constants; returns which slots are constant.
    fn fold_constants(&mut self, slots: &[Option<Value>]) -> Vec<bool> {
        let mut constant = vec![false; self.slots];
        for (s, _) in &self.constants {
            constant[*s] = true;
        }
        self.folded = vec![false; self.ops.len()];
        for (i, op) in self.ops.iter().enumerate() {
            if op.inputs.iter().flatten().all(|&s| constant[s]) {
                self.folded[i] = true;
                for &o in &op.outputs {
                    constant[o] = true;
                    if let Some(v) = &slots[o] {
                        self.constants.push((o, v.clone()));
                    }
                }
            }
        }
        self.constants.sort_by_key(|(s, _)| *s);
        self.constants.dedup_by_key(|(s, _)| *s);
        constant
    }

    /// The shape arithmetic (a `Shape` node and what is computed from it and constants alone)
    /// and its values for one input of the graph's size: TorchScript exports of
    /// TensorFlow-ported models compute every Pad from shapes, thousands of nodes that every
    /// run would repeat (EfficientNet-Lite0: 1,680 of its 2,118 nodes, and 296 folded when the
    /// file opens; 142 are left to run). Tensors count as well as host integers: each Pad's
    /// amounts go through a Reshape, Slice, Transpose, Reshape and Cast of an 8-element tensor,
    /// 192 burn operations per Lite0 forward when only integers counted (about a millisecond
    /// and thousands of small allocations, measured 2026-12-07).
    fn fold_shapes(&mut self, slots: &[Option<Value>], constant: &[bool]) {
        let mut known = constant.to_vec();
        self.sized = vec![false; self.ops.len()];
        self.sized_values.clear();
        for (i, op) in self.ops.iter().enumerate() {
            let from_shapes = op.is_shape_of()
                || (!op.inputs.is_empty() && op.inputs.iter().flatten().all(|&s| known[s]));
            let computed = op.outputs.iter().all(|&o| slots[o].is_some());
            if self.folded[i] || !from_shapes || !computed {
                continue;
            }
            self.sized[i] = true;
            op.outputs.iter().for_each(|&o| known[o] = true);
        }
        // What the nodes a sized run does not skip read: constants and shape values alike
        // (not a convolution's weights, which it holds: each run copies these into its slots).
        let mut read = vec![false; self.slots];
        for (i, op) in self.ops.iter().enumerate() {
            if !self.folded[i] && !self.sized[i] {
                op.reads().iter().flatten().for_each(|&s| read[s] = true);
            }
        }
        self.sized_values = (0..self.slots)
            .filter(|&s| read[s] && known[s])
            .filter_map(|s| Some((s, slots[s].clone()?)))
            .collect();
    }

    /// Every node output that reads as a map, with the values computed before it that later
    /// nodes read (what crosses the split).
    fn list_layers(&mut self, dims: &[Option<Vec<usize>>], constant: &[bool]) -> Result<()> {
        // The node that computes each slot: a slot is made up to node i if i or one before it
        // computes it (or it is the input).
        let mut made_by: Vec<Option<usize>> = vec![None; self.slots];
        for (i, op) in self.ops.iter().enumerate() {
            for &s in &op.outputs {
                made_by[s] = Some(i);
            }
        }
        let layouts = layout::layouts(&self.ops, self.slots, dims);
        for (i, op) in self.ops.iter().enumerate() {
            let Some(&slot) = op.outputs.first().filter(|_| !self.folded[i]) else {
                continue;
            };
            let Some((layout, [c, h, w])) = dims[slot]
                .as_deref()
                .and_then(|d| MapLayout::of(d, layouts[slot]))
            else {
                continue;
            };
            // Values made up to node i that a later node reads.
            let made = |s: usize| s == self.input || made_by[s].is_some_and(|j| j <= i);
            let mut crossing: Vec<usize> = self.ops[i + 1..]
                .iter()
                .flat_map(|o| o.inputs.iter().flatten().copied())
                .filter(|&s| s != slot && made(s) && !constant[s])
                .collect();
            crossing.sort_unstable();
            crossing.dedup();
            self.layers.push(Layer {
                info: LayerInfo {
                    name: op.name.clone(),
                    channels: c,
                    height: h,
                    width: w,
                    note: layout.note(),
                },
                layout,
                node: i,
                slot,
                crossing,
            });
        }
        if self.layers.is_empty() {
            return Err(Error::Invalid(
                "no node output reads as a map to explain ([N, C, H, W], channels-last, or \
                 transformer tokens on a square grid)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The transformer blocks of the graph, from the blank run's shapes; `None` where there are
    /// none camlens reads (see the module's comment).
    fn find_attention(
        &self,
        dims: &[Option<Vec<usize>>],
        constant: &[bool],
        device: &Device,
    ) -> Option<Attention> {
        let live = |i: &usize| !self.folded[*i];
        let softmaxes: Vec<usize> = (0..self.ops.len())
            .filter(live)
            .filter(|&i| {
                let out = self.ops[i].outputs[0];
                matches!(dims[out].as_deref(), Some([_, _, t, k]) if t == k)
                    && self.ops[i].softmax_axis() == Some(3)
            })
            .collect();
        let norms: Vec<usize> = (0..self.ops.len())
            .filter(live)
            .filter(|&i| self.ops[i].is_layer_norm())
            .collect();
        let last_norm_before =
            |end: usize, after: usize| norms.iter().rev().find(|&&n| n < end && n > after);
        let mut blocks = vec![];
        for (b, &s) in softmaxes.iter().enumerate() {
            let end = softmaxes.get(b + 1).copied().unwrap_or(self.ops.len());
            let norm = *last_norm_before(end, s)?;
            let tokens = self.ops[norm].inputs.first().copied()??;
            let tokens_count = dims[self.ops[s].outputs[0]].as_ref()?[2];
            if !matches!(dims[tokens].as_deref(), Some([_, t, _]) if *t == tokens_count) {
                return None;
            }
            blocks.push(AttentionBlock {
                softmax: s,
                probabilities: self.ops[s].outputs[0],
                tokens,
            });
        }
        let tail_input = blocks.last()?.tokens;
        let tail_from = self
            .ops
            .iter()
            .rposition(|o| o.outputs.contains(&tail_input))?
            + 1;
        let attention = Attention {
            blocks,
            tail_from,
            tail_input,
        };
        let made_in_tail = |s: usize| self.ops[tail_from..].iter().any(|o| o.outputs.contains(&s));
        let reads_before = self.ops[tail_from..]
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.folded[tail_from + i])
            .flat_map(|(_, o)| o.inputs.iter().flatten())
            .any(|&s| s != tail_input && !constant[s] && !made_in_tail(s));
        let dim = *dims[tail_input].as_ref()?.last()?;
        let blank = Tensor::<3>::from_data(TensorData::new(vec![0.0f32; dim], [1, 1, dim]), device);
        // A tail that hard-codes the token count may panic in a kernel rather than fail.
        let runs = guarded("the tail on one token", || Ok(self.tail(&attention, blank)))
            .ok()
            .flatten()
            .is_some_and(|l| l.dims() == [1, self.num_classes]);
        (!reads_before && runs).then_some(attention)
    }

    /// A segmenter's: its backbone's last map (pytorch-grad-cam's segmentation tutorial takes
    /// `backbone.layer4`), found by the exporter's names; without such names, the last map
    /// before the head's class maps (the last with other than one channel per class).
    fn segmenter_layer(&self) -> usize {
        let classes = self.num_classes;
        self.layers
            .iter()
            .rposition(|l| l.info.name.to_ascii_lowercase().contains("backbone"))
            .or_else(|| {
                let first_class_map = self
                    .layers
                    .iter()
                    .position(|l| l.info.channels == classes)?;
                (0..first_class_map).next_back()
            })
            .unwrap_or(self.layers.len() - 1)
    }

    /// A detector's: the map its head's first convolution reads, the head being the module (by
    /// the exporter's names, `/model.22/…`) that computes the output. In YOLO's feature
    /// pyramids that is the finest scale's map, which every coarser scale's boxes are computed
    /// from too, so that a box of any size has a map there (the last map before the head reads
    /// only the coarsest scale's). `None` without such names.
    fn detector_layer(&self) -> Option<usize> {
        let producer = self
            .ops
            .iter()
            .rposition(|o| o.outputs.contains(&self.output))?;
        let name = &self.ops[producer].name;
        let module = name.strip_prefix('/')?.split('/').next()?;
        let prefix = format!("/{module}/");
        let first = self
            .ops
            .iter()
            .position(|o| o.name.starts_with(&prefix) && o.has_weights())?;
        let read = self.ops[first].inputs.first().copied().flatten()?;
        self.layers.iter().rposition(|l| l.slot == read)
    }

    /// For a graph exported with a fixed batch of 1, run with its batch relaxed: whether a batch
    /// of two different images fails or gives other scores than each image alone, and why.
    pub(super) fn relaxing_fails(&self, device: &Device) -> Result<Option<String>> {
        let per = 3 * self.input_size * self.input_size;
        let data: Vec<f32> = (0..2 * per)
            .map(|j| match j < per {
                true => (j as f32 * 0.37).sin(),
                false => (j as f32 * 0.11).cos(),
            })
            .collect();
        let s = self.input_size;
        let x = Tensor::<4>::from_data(TensorData::new(data, [2, 3, s, s]), device);
        let scores = |x: Tensor<4>| -> Result<Vec<f32>> {
            let mut slots = self.fresh();
            let batch = x.dims()[0];
            slots[self.input] = Some(Value::R4(x));
            self.run(&mut slots, 0..self.ops.len(), batch, false)?;
            let out = slots[self.output]
                .take()
                .ok_or_else(|| Error::Invalid("the graph never computes its output".into()))?;
            match self.task {
                Task::Segment => to_vec(out.to_rank::<4>()?),
                Task::Detect(_) => to_vec(out.to_rank::<3>()?),
                Task::Classify => to_vec(out.to_rank::<2>()?),
            }
        };
        let both = match scores(x.clone()) {
            Ok(v) => v,
            Err(e) => return Ok(Some(e.to_string())),
        };
        let alone = [
            scores(x.clone().narrow(0, 0, 1))?,
            scores(x.narrow(0, 1, 1))?,
        ]
        .concat();
        if both.len() != alone.len() {
            return Ok(Some(format!(
                "a batch of 2 gave {} scores, not {}",
                both.len(),
                alone.len()
            )));
        }
        let (lo, hi) = alone
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        let worst = both
            .iter()
            .zip(&alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        Ok((worst > 1e-4 * (hi - lo).max(1e-6)).then(|| {
            format!("a batch of 2 gives other scores than each image alone (by {worst:.3e})")
        }))
    }

    /// The last map before global pooling (or the classifier). Where a class token carries the
    /// decision, the last token layer's patches do not reach the output: the default is then the
    /// input of the last attention, the last layer norm before the last product of two computed
    /// values (as pytorch-grad-cam's ViT recipe takes `blocks[-1].norm1`).
    pub(super) fn default_layer(&self, constant: &[bool]) -> usize {
        let last = self.layers.len() - 1;
        if self.task == Task::Segment {
            return self.segmenter_layer();
        }
        if self.task == Task::Detect(DetectFormat::Detr) {
            // DETR's transformer reads the backbone's map as tokens with positions added: the
            // map explained is the backbone's, as where pytorch-grad-cam users point DETR.
            let map = |l: &Layer| l.layout == MapLayout::ChannelsFirst;
            return self.layers.iter().rposition(map).unwrap_or(last);
        }
        if let (Task::Detect(_), Some(layer)) = (self.task, self.detector_layer()) {
            return layer;
        }
        if !matches!(
            self.layers[last].layout,
            MapLayout::Tokens { prefix: 1.., .. }
        ) {
            return last;
        }
        let Some(mixing) = self.ops.iter().rposition(|o| o.mixes(constant)) else {
            return last;
        };
        let before = |l: &&Layer| l.node < mixing;
        let position = |want_norm: bool| {
            self.layers
                .iter()
                .rposition(|l| before(&l) && (!want_norm || self.ops[l.node].is_layer_norm()))
        };
        position(true).or(position(false)).unwrap_or(last)
    }
}
