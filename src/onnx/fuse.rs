//! Work the native models fuse, found in a graph once it is loaded, and the run that takes
//! it. A convolution whose only reader is an activation (ReLU, ReLU6, a Clip with constant
//! bounds, HardSwish), or whose only readers are a Sigmoid and the Mul of the two (SiLU, as
//! exporters write it), applies it as its CPU kernels write their output, as the hand-written
//! models' `Conv::forward_act` does, instead of one or two more passes over the activation;
//! a zero Pad whose only reader is an unpadded convolution (TensorFlow's "SAME" as PyTorch
//! ports and exporters write it) is taken into the convolution's own padding instead of
//! copying the map into a larger one; a squeeze-excitation's gate (a Mul of a map by a
//! `[N, C, 1, 1]` factor) whose only reader is a 1×1 convolution (the block's projection) is
//! multiplied in as the convolution reads each band of the map, instead of a pass writing
//! the gated map. The graph's nodes stay as they are: the traced run
//! (which cuts at ReLUs) and a split between the nodes run them one by one; `run` takes
//! the shortcut where all are in the range it runs.

use super::ops::{Instead, Then};
use super::{OnnxNet, Tail};
use crate::error::{Error, Result};
use crate::models::layers::Act;
use crate::models::value::Value;
use std::sync::Arc;

/// A node (a Pad, a gate's Mul) taken into the convolution after it, for one run.
struct Taken {
    conv: usize,
    instead: Instead,
    node: usize,
}

impl OnnxNet {
    /// For each slot, the node that alone reads it, where one does and the slot is not one of
    /// the graph's outputs.
    fn sole_readers(&self) -> Vec<Option<usize>> {
        let readers = self.readers();
        let mut sole = vec![None; self.slots];
        for (i, op) in self.ops.iter().enumerate() {
            op.inputs.iter().flatten().for_each(|&s| sole[s] = Some(i));
        }
        for s in [Some(self.output), self.boxes_output].into_iter().flatten() {
            sole[s] = None;
        }
        sole.iter()
            .zip(readers)
            .map(|(r, n)| r.filter(|_| n == 1))
            .collect()
    }

    /// Each convolution's tail (batch norm, activation), each zero Pad's and each gate's
    /// convolution, where nothing else reads what the first computes.
    pub(super) fn plan_fusions(&mut self) {
        let sole = self.sole_readers();
        self.last_reads = vec![None; self.slots];
        for (i, op) in self.ops.iter().enumerate() {
            op.inputs
                .iter()
                .flatten()
                .for_each(|&s| self.last_reads[s] = Some(i));
        }
        // The outputs camlens reads may be read by a node left out (a final Softmax).
        for s in [Some(self.output), self.boxes_output].into_iter().flatten() {
            self.last_reads[s] = None;
        }
        self.tails = (0..self.ops.len())
            .map(|i| self.tail_after(i, &sole))
            .collect();
        self.pads = vec![None; self.ops.len()];
        self.gates = vec![None; self.ops.len()];
        let tail_nodes: Vec<usize> = self
            .tails
            .iter()
            .flatten()
            .flat_map(|a| a.nodes.clone())
            .collect();
        for (i, op) in self.ops.iter().enumerate() {
            let [x] = op.outputs[..] else {
                continue;
            };
            let Some(j) = sole[x].filter(|&j| j > i && self.live(i) && self.live(j)) else {
                continue;
            };
            let next = &self.ops[j];
            if next.inputs.first() != Some(&Some(x)) {
                continue;
            }
            if op.is_pad() && next.takes_padding([(0, 0); 2]) {
                self.pads[i] = Some(j)
            }
            // Whether the values fit (a map and its gate, a 1×1 on the CPU kernels) is seen
            // when they are computed (`take_node`).
            let two = op.inputs.iter().flatten().count() == 2;
            if op.is_mul() && next.is_conv() && two && !tail_nodes.contains(&i) {
                self.gates[i] = Some(j)
            }
        }
    }

    fn live(&self, i: usize) -> bool {
        !self.folded.get(i).copied().unwrap_or(false)
    }

    /// What convolution `i` can compute of the nodes after it: a batch norm that alone reads
    /// its output, folded into its weights, then the activation after that (`activation_on`).
    fn tail_after(&self, i: usize, sole: &[Option<usize>]) -> Option<Tail> {
        let op = &self.ops[i];
        let &[x] = &op.outputs[..] else {
            return None;
        };
        if !op.takes_activation() || !self.live(i) || self.last_reads[x].is_none() {
            return None;
        }
        let norm = sole[x]
            .filter(|&j| j > i && self.live(j) && self.ops[j].inputs.first() == Some(&Some(x)))
            .and_then(|j| Some((j, self.ops[j].folded_into(&self.ops[i])?)));
        let (x, mut nodes, folded) = match norm {
            Some((j, conv)) => (self.ops[j].outputs[0], vec![j], Some(Arc::new(conv))),
            None => (x, vec![], None),
        };
        let (act, out) = match self.activation_on(x, i, sole) {
            Some((more, act, out)) => {
                nodes.extend(more);
                (act, out)
            }
            None if folded.is_some() && self.last_reads[x].is_some() => (Act::None, x),
            None => return None,
        };
        Some(Tail {
            nodes,
            act,
            out,
            folded,
        })
    }

    /// The activation on slot `x` (computed by node `i` or a batch norm folded into it) that a
    /// convolution can apply as it writes: the slot's only reader, an activation node reading
    /// it first; or SiLU, a Sigmoid of it whose only reader is the Mul of the two, and nothing
    /// else reading it. Its nodes and output slot.
    fn activation_on(
        &self,
        x: usize,
        i: usize,
        sole: &[Option<usize>],
    ) -> Option<(Vec<usize>, Act, usize)> {
        let later = |j: &usize| *j > i && self.live(*j);
        let reads_x = |j: usize| self.ops[j].inputs.first() == Some(&Some(x));
        if let Some(j) = sole[x].filter(later).filter(|&j| reads_x(j)) {
            let next = &self.ops[j];
            return match (next.as_activation(), &next.outputs[..]) {
                (Some(act), &[out]) => Some((vec![j], act, out)),
                _ => None,
            };
        }
        // A graph's output (no last reader) keeps its nodes.
        self.last_reads[x]?;
        let readers: Vec<usize> = (i + 1..self.ops.len())
            .filter(|&j| self.ops[j].inputs.contains(&Some(x)))
            .collect();
        let &[j, k] = &readers[..] else {
            return None;
        };
        let sigmoid = &self.ops[j];
        let &[s] = &sigmoid.outputs[..] else {
            return None;
        };
        let mul = &self.ops[k];
        let pair = |a, b| mul.inputs[..] == [Some(a), Some(b)];
        let silu = sigmoid.is_sigmoid()
            && reads_x(j)
            && sole[s] == Some(k)
            && mul.is_mul()
            && (pair(x, s) || pair(s, x))
            && [j, k].iter().all(later);
        match &mul.outputs[..] {
            &[out] if silu => Some((vec![j, k], Act::Silu, out)),
            _ => None,
        }
    }

    /// Whether node `at` is shape arithmetic a `sized` run skips (see `fresh_for`).
    pub(super) fn given(&self, at: usize, sized: bool) -> bool {
        sized && self.sized.get(at) == Some(&true)
    }

    /// The graph run node by node, nothing fused and no region passes (tests compare the
    /// fused run with it).
    pub fn unfused(mut self) -> Self {
        self.tails.iter_mut().for_each(|t| *t = None);
        self.pads.iter_mut().for_each(|p| *p = None);
        self.gates.iter_mut().for_each(|g| *g = None);
        self.region_upto = 0;
        self
    }

    /// How many activations the convolutions apply (`camlens layers`, tests).
    pub fn fused_activations(&self) -> usize {
        let act = |t: &&Tail| !matches!(t.act, Act::None);
        self.tails.iter().flatten().filter(act).count()
    }

    /// How many batch norms are folded into the convolution before them (`camlens layers`,
    /// tests).
    pub fn fused_batch_norms(&self) -> usize {
        self.tails
            .iter()
            .flatten()
            .filter(|t| t.folded.is_some())
            .count()
    }

    /// How many squeeze-excitation gates the convolutions after them may take in (`camlens
    /// layers`, tests): where the values fit when they are computed (see `take_node`).
    pub fn fused_gates(&self) -> usize {
        self.gates.iter().flatten().count()
    }

    /// How many Pads the convolutions after them take in (`camlens layers`, tests).
    pub fn fused_pads(&self) -> usize {
        self.pads.iter().flatten().count()
    }

    /// Runs nodes `range` on a batch of `batch` images, with the fusions whose nodes are all
    /// in the range; `sized`: on `fresh_for(true)`'s values, the shape arithmetic skipped.
    pub(super) fn run(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
        sized: bool,
    ) -> Result<()> {
        self.run_after(slots, range, batch, sized, vec![])
    }

    /// `run`, the activation nodes in `applied` already applied by their convolutions (a region
    /// pass's, see `region`).
    pub(super) fn run_after(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
        sized: bool,
        applied: Vec<usize>,
    ) -> Result<()> {
        let mut taken: Vec<Taken> = vec![];
        // By node: a lookup per node of a graph of thousands, at every run.
        let mut applied_at = vec![false; self.ops.len()];
        applied.iter().for_each(|&n| applied_at[n] = true);
        for at in range.clone() {
            let op = &self.ops[at];
            if self.folded.get(at) == Some(&true) || applied_at[at] || self.given(at, sized) {
                continue;
            }
            if let Some(t) = self.take_node(at, slots, &range, batch) {
                taken.push(t);
                continue;
            }
            let last = |s: Option<usize>, node| {
                s.is_some_and(|s| self.last_reads.get(s) == Some(&Some(node)))
            };
            let taken_here = taken.iter().find(|t| t.conv == at);
            let hand_over = match taken_here {
                Some(t) => last(Some(t.instead.source()), t.node),
                None => last(op.inputs.first().copied().flatten(), at),
            };
            let tail = self.tails.get(at).and_then(Option::as_ref);
            let tail = tail.filter(|t| t.nodes.iter().all(|n| range.contains(n)));
            match (taken_here, tail) {
                (None, None) => op.run(slots, batch, hand_over),
                (t, tail) => {
                    tail.iter()
                        .flat_map(|t| &t.nodes)
                        .for_each(|&n| applied_at[n] = true);
                    let then = then(tail, op.outputs[0]);
                    op.run_fused(slots, batch, then, t.map(|t| t.instead), hand_over)
                }
            }
            .map_err(|e| match e {
                Error::Invalid(m) if !m.starts_with("node '") => {
                    Error::Invalid(format!("node '{}': {m}", op.name))
                }
                e => e,
            })?;
            // What no later node reads is let go, so its memory is reused while still in cache
            // (the inputs of a node taken in, too).
            let read = |node: usize| {
                self.ops[node]
                    .inputs
                    .iter()
                    .flatten()
                    .map(move |&s| (s, node))
            };
            for (s, node) in read(at).chain(taken_here.into_iter().flat_map(|t| read(t.node))) {
                if self.last_reads.get(s) == Some(&Some(node)) {
                    slots[s] = None;
                }
            }
        }
        Ok(())
    }

    /// Node `at` taken into the convolution after it, where that is in `range` and takes it
    /// for these values: a zero Pad, or the Mul of a map `[N, C, H, W]` by its gate
    /// `[N, C, 1, 1]`.
    fn take_node(
        &self,
        at: usize,
        slots: &[Option<Value>],
        range: &std::ops::Range<usize>,
        batch: usize,
    ) -> Option<Taken> {
        let op = &self.ops[at];
        let planned = |v: &[Option<usize>]| v.get(at).copied().flatten();
        let conv = planned(&self.pads).or(planned(&self.gates));
        let conv = conv.filter(|c| range.contains(c))?;
        let instead = if op.is_pad() {
            let src = op.inputs.first().copied().flatten()?;
            let pad = op.spatial_zeros(slots, batch)?;
            self.ops[conv]
                .takes_padding(pad)
                .then_some(Instead::Padded(src, pad))?
        } else {
            let &[Some(a), Some(b)] = &op.inputs[..] else {
                return None;
            };
            let dims = |s: usize| slots[s].as_ref().map(Value::dims);
            let flat = |d: &[usize]| d.len() == 4 && d[2..] == [1, 1];
            let (map, gate) = match (dims(a)?, dims(b)?) {
                (_, g) if flat(&g) => (a, b),
                (g, _) if flat(&g) => (b, a),
                _ => return None,
            };
            let (m, g) = (dims(map)?, dims(gate)?);
            let fits = m.len() == 4 && m[..2] == g[..2] && m[2] * m[3] > 1;
            (fits && self.ops[conv].takes_gate(slots[map].as_ref()?))
                .then_some(Instead::Gated(map, gate))?
        };
        Some(Taken {
            conv,
            instead,
            node: at,
        })
    }
}

/// How a convolution whose output slot is `own` runs with `tail` (or none).
pub(super) fn then(tail: Option<&Tail>, own: usize) -> Then<'_> {
    match tail {
        Some(t) => Then {
            act: &t.act,
            out: t.out,
            conv: t.folded.as_deref(),
        },
        None => Then {
            act: &Act::None,
            out: own,
            conv: None,
        },
    }
}
