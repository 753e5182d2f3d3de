//! Work the native models fuse, found in a graph once it is loaded, and the run that takes
//! it. A convolution whose only reader is a clamp (ReLU, ReLU6, a Clip with constant bounds)
//! applies it as its CPU kernels write their output, as the hand-written models'
//! `Conv::forward_act` does, instead of the clamp making one more pass over the activation;
//! a zero Pad whose only reader is an unpadded convolution (TensorFlow's "SAME" as PyTorch
//! ports and exporters write it) is taken into the convolution's own padding instead of
//! copying the map into a larger one. The graph's nodes stay as they are: the traced run
//! (which cuts at ReLUs) and a split between the two nodes run them one by one; `run` takes
//! the shortcut where both are in the range it runs.

use super::{Clamp, OnnxNet};
use crate::error::{Error, Result};
use crate::models::layers::Act;
use crate::models::value::Value;

/// A Pad taken into the convolution after it: (the convolution's node, the slot it reads
/// instead, the rows and columns of zeros, the Pad's node).
type Taken = (usize, usize, [(usize, usize); 2], usize);

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

    /// Each convolution's clamp and each zero Pad's convolution, where nothing else reads what
    /// the first of the two computes.
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
        let live = |i: usize| !self.folded.get(i).copied().unwrap_or(false);
        self.clamps = vec![None; self.ops.len()];
        self.pads = vec![None; self.ops.len()];
        for (i, op) in self.ops.iter().enumerate() {
            let [x] = op.outputs[..] else {
                continue;
            };
            let Some(j) = sole[x].filter(|&j| j > i && live(i) && live(j)) else {
                continue;
            };
            let next = &self.ops[j];
            let reads_x = next.inputs.first() == Some(&Some(x));
            match (next.as_clamp(), &next.outputs[..]) {
                (Some(act), [out]) if op.takes_clamp() && reads_x => {
                    self.clamps[i] = Some(Clamp {
                        op: j,
                        act,
                        out: *out,
                    })
                }
                _ if op.is_pad() && reads_x && next.takes_padding([(0, 0); 2]) => {
                    self.pads[i] = Some(j)
                }
                _ => {}
            }
        }
    }

    /// Whether node `at` is shape arithmetic a `sized` run skips (see `fresh_for`).
    pub(super) fn given(&self, at: usize, sized: bool) -> bool {
        sized && self.sized.get(at) == Some(&true)
    }

    /// How many clamps the convolutions apply (`camlens layers`, tests).
    pub fn fused_clamps(&self) -> usize {
        self.clamps.iter().flatten().count()
    }

    /// How many Pads the convolutions after them take in (`camlens layers`, tests).
    pub fn fused_pads(&self) -> usize {
        self.pads.iter().flatten().count()
    }

    /// Runs nodes `range` on a batch of `batch` images, with the fusions whose nodes are both
    /// in the range; `sized`: on `fresh_for(true)`'s values, the shape arithmetic skipped.
    pub(super) fn run(
        &self,
        slots: &mut [Option<Value>],
        range: std::ops::Range<usize>,
        batch: usize,
        sized: bool,
    ) -> Result<()> {
        let mut applied = vec![];
        let mut taken: Vec<Taken> = vec![];
        for at in range.clone() {
            let op = &self.ops[at];
            if self.folded.get(at) == Some(&true) || applied.contains(&at) || self.given(at, sized)
            {
                continue;
            }
            if let Some(t) = self.take_pad(at, slots, &range, batch) {
                taken.push(t);
                continue;
            }
            let last = |s: Option<&Option<usize>>, node| {
                s.copied()
                    .flatten()
                    .is_some_and(|s| self.last_reads.get(s) == Some(&Some(node)))
            };
            let taken_here = taken.iter().find(|t| t.0 == at);
            let pad = taken_here.map(|t| (t.1, t.2));
            let hand_over = match taken_here {
                Some(t) => last(Some(&Some(t.1)), t.3),
                None => last(op.inputs.first(), at),
            };
            let clamp = self.clamps.get(at).and_then(Option::as_ref);
            let clamp = clamp.filter(|c| range.contains(&c.op));
            match (pad, clamp) {
                (None, None) => op.run(slots, batch, hand_over),
                (pad, clamp) => {
                    applied.extend(clamp.map(|c| c.op));
                    let (act, out) = clamp.map_or((&Act::None, op.outputs[0]), |c| (&c.act, c.out));
                    op.run_fused(slots, batch, act, out, pad, hand_over)
                }
            }
            .map_err(|e| match e {
                Error::Invalid(m) if !m.starts_with("node '") => {
                    Error::Invalid(format!("node '{}': {m}", op.name))
                }
                e => e,
            })?;
            // What no later node reads is let go, so its memory is reused while still in cache.
            for &s in op.inputs.iter().flatten() {
                if self.last_reads.get(s) == Some(&Some(at)) {
                    slots[s] = None;
                }
            }
        }
        Ok(())
    }

    /// Pad node `at`, where the convolution after it is in `range` and takes its amounts for
    /// these values.
    fn take_pad(
        &self,
        at: usize,
        slots: &[Option<Value>],
        range: &std::ops::Range<usize>,
        batch: usize,
    ) -> Option<Taken> {
        let conv = self.pads.get(at).copied().flatten()?;
        let op = &self.ops[at];
        let (Some(&Some(src)), true) = (op.inputs.first(), range.contains(&conv)) else {
            return None;
        };
        let pad = op.spatial_zeros(slots, batch)?;
        self.ops[conv]
            .takes_padding(pad)
            .then_some((conv, src, pad, at))
    }
}
