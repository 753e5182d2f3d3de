//! The hand-written models' region pass (`models::region`) over a graph's nodes: one mostly-zero
//! input (Score-CAM's and ScoreCAM++'s masked inputs) computed only where its non-zero pixels
//! reach, node by node, while each node is one whose outputs' receptive fields are known —
//! camlens' own convolutions (with the clamps and Pads `fuse` gives them), max pools,
//! elementwise operations and batch norms (shape arithmetic is skipped: see `fresh_for`) — and while
//! the computed rectangle stays small. The rest of each value is the all-zero input's,
//! recorded once per input size. The first other node (a global pool, a reshape, a
//! convolution off the CPU kernels) ends it: the values still to be read are made whole there
//! and the run goes on as usual. The results are a whole pass's up to summation order, so the
//! CAM code never knows.

use super::ops::InSpace;
use super::{OnnxNet, Zeros, fuse};
use crate::compute::tensor_io::{host_tensor, to_vec};
use crate::models::kernels::{Geometry, pool};
use crate::models::region::{self, Part, WHOLE};
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};
use std::sync::Arc;

/// A Pad the convolution after it takes in: (the convolution's node, the slot it reads, the
/// rows and columns of zeros, the Pad's node).
type Taken = (usize, usize, [(usize, usize); 2], usize);

/// A region pass under way: the values computed on part of their plane, by slot.
struct Walk<'a> {
    net: &'a OnnxNet,
    zeros: &'a Zeros,
    parts: Vec<Option<Part>>,
    /// By node: activation nodes a convolution applied (skipped here and by the run after).
    applied: Vec<bool>,
    taken: Vec<Taken>,
    end: usize,
    device: Device,
}

impl OnnxNet {
    /// Runs nodes from the first towards `end` on the one input in `slots` (`fresh_for(sized)`)
    /// where its non-zero pixels reach, as far as that pays; returns the first node left to run
    /// (0 where no region pass applies), every value it leaves for later nodes whole in `slots`,
    /// and the activation nodes from there on that convolutions already applied (`run_after`).
    pub(super) fn run_region(
        &self,
        slots: &mut [Option<Value>],
        end: usize,
        sized: bool,
    ) -> (usize, Vec<usize>) {
        let input = match &slots[self.input] {
            Some(Value::R4(x)) if x.dims()[0] == 1 && host_tensor(x) => x.clone(),
            _ => return (0, vec![]),
        };
        let end = end.min(self.region_upto);
        if !sized || self.last_reads.is_empty() || end == 0 {
            return (0, vec![]);
        }
        slots[self.input] = None;
        let (dims, device) = (input.dims(), input.device());
        let data = to_vec(input).expect("a host tensor reads back");
        let plane = (dims[2] * dims[3]) as f64;
        let rect = region::nonzero(&data, dims).filter(|r| r.area() as f64 <= WHOLE * plane);
        let Some(rect) = rect else {
            slots[self.input] = Some(Value::R4(map(data, dims, &device)));
            return (0, vec![]);
        };
        let zeros = self.zeros(dims, end, &device);
        let whole = Part::whole(data, dims);
        let mut walk = Walk {
            net: self,
            zeros: &zeros,
            parts: super::nones(self.slots),
            applied: vec![false; self.ops.len()],
            taken: vec![],
            end,
            device,
        };
        walk.parts[self.input] = Some(Part {
            data: whole.on(rect, &[]).into_owned(),
            rect,
            ..whole
        });
        let mut at = 0;
        while at < end {
            let applied = walk.applied[at];
            if self.folded.get(at) == Some(&true) || applied || self.given(at, true) {
                at += 1;
                continue;
            }
            let Some(share) = walk.step(at, slots) else {
                break;
            };
            walk.let_go(at);
            at += 1;
            if share > WHOLE {
                break;
            }
        }
        let applied = walk.make_whole(slots, at);
        (at, applied)
    }

    /// The first node that reads a map and that a region pass does not take (a global pool, a
    /// reshape), from the blank input's value sizes `dims`; 0 where the convolutions before it
    /// write less than a quarter of what all of them write (EfficientNet-B0, whose first
    /// squeeze-excitation comes after its first depthwise convolution): there the copies in and
    /// out of the rectangles would cost more than the few positions saved.
    pub(super) fn region_reach(&self, dims: &[Option<Vec<usize>>]) -> usize {
        let map = |s: &usize| dims[*s].as_ref().is_some_and(|d| d.len() == 4);
        let skipped = |i: usize| self.folded[i] || self.sized.get(i) == Some(&true);
        let stop = (0..self.ops.len())
            .find(|&i| {
                let op = &self.ops[i];
                // A Pad goes on where a convolution takes it in (`fuse`, planned later).
                !skipped(i)
                    && !op.is_pad()
                    && matches!(op.in_space(), InSpace::Other)
                    && op.inputs.iter().flatten().any(map)
            })
            .unwrap_or(self.ops.len());
        let written = |range: std::ops::Range<usize>| -> usize {
            range
                .filter(|&i| self.ops[i].is_conv())
                .flat_map(|i| self.ops[i].outputs.first())
                .filter_map(|&s| dims[s].as_ref())
                .map(|d| d.iter().product::<usize>())
                .sum()
        };
        if 4 * written(0..stop) < written(0..self.ops.len()) {
            return 0;
        }
        stop
    }

    /// The all-zero input's pass for `dims` over nodes `0..end`, recorded first if needed.
    fn zeros(&self, dims: [usize; 4], end: usize, device: &Device) -> Arc<Zeros> {
        let lock = || self.zero_passes.0.lock().unwrap_or_else(|e| e.into_inner());
        let covering = |z: &&Arc<Zeros>| z.dims == dims && z.end >= end;
        if let Some(z) = lock().iter().find(covering) {
            return z.clone();
        }
        // Recorded without the lock, as in `models::region`: the kernels may hand work to the
        // thread pool, whose threads may start another input's pass on this very thread.
        let mut slots = self.fresh();
        let mut maps = super::nones(self.slots);
        let zero = map(vec![0.0; dims.iter().product()], dims, device);
        slots[self.input] = Some(Value::R4(zero));
        let mut keep = |slots: &[Option<Value>], s: usize| {
            if let Some(Value::R4(t)) = &slots[s]
                && t.dims()[0] == 1
            {
                maps[s] = to_vec(t.clone()).ok().map(Arc::from);
            }
        };
        keep(&slots, self.input);
        for i in 0..end {
            if self.folded.get(i) != Some(&true) {
                self.run_checked(&mut slots, i..i + 1, 1, false);
                self.ops[i].outputs.iter().for_each(|&s| keep(&slots, s));
            }
        }
        let z = Arc::new(Zeros { dims, end, maps });
        let mut all = lock();
        all.retain(|z| z.dims != dims);
        all.push(z.clone());
        z
    }
}

impl Walk<'_> {
    /// Node `at` on the parts; the share of its plane its output covers (0 where it has no map
    /// output), `None` where the node does not run on parts.
    fn step(&mut self, at: usize, slots: &mut [Option<Value>]) -> Option<f64> {
        let net = self.net;
        let op = &net.ops[at];
        if let Some(conv) = net.pads[at].filter(|&c| c < self.end) {
            let src = op.inputs.first().copied().flatten()?;
            let pad = op.spatial_zeros(slots, 1)?;
            self.parts[src].as_ref()?;
            net.ops[conv].takes_padding(pad).then_some(())?;
            self.taken.push((conv, src, pad, at));
            return Some(0.0);
        }
        let reads_part = op.inputs.iter().flatten().any(|&s| self.parts[s].is_some());
        if !reads_part && !self.taken.iter().any(|t| t.0 == at) {
            // Shape arithmetic: it reads no map.
            op.run(slots, 1, false).ok()?;
            return Some(0.0);
        }
        let out = match op.in_space() {
            InSpace::Conv(conv) => self.conv(at, conv)?,
            InSpace::MaxPool(kernel, stride, [pad_h, pad_w]) => {
                let x = op.inputs.first().copied().flatten()?;
                let g = Geometry {
                    kernel,
                    stride,
                    pad_h,
                    pad_w,
                };
                let part =
                    region::windowed(self.parts[x].as_ref()?, self.zero(x)?, g, |x, d, g| {
                        pool::max_pool_padded(x, d, kernel, stride, (g.pad_h, g.pad_w))
                    });
                (op.outputs[0], part)
            }
            InSpace::Pointwise if op.is_add() => match self.add(at) {
                Some(out) => out,
                None => self.pointwise(at, slots, false)?,
            },
            InSpace::Pointwise => self.pointwise(at, slots, false)?,
            InSpace::PerChannel => self.pointwise(at, slots, true)?,
            InSpace::Other => return None,
        };
        let share = out.1.share();
        self.parts[out.0] = Some(out.1);
        Some(share)
    }

    /// Convolution `at` on its input's part, with the Pad before it and the batch norm and
    /// activation after it that it takes in: its output slot and part.
    fn conv(&mut self, at: usize, conv: &crate::models::layers::Conv) -> Option<(usize, Part)> {
        let net = self.net;
        let op = &net.ops[at];
        let tail = self.net.tails[at].as_ref();
        let tail = tail.filter(|t| t.nodes.iter().all(|&n| n < self.end));
        let then = fuse::then(tail, op.outputs[0]);
        let conv = then.conv.unwrap_or(conv);
        let (x, padded) = match self.taken.iter().find(|t| t.0 == at) {
            Some(&(_, src, [h, w], _)) => (src, Some(conv.padded(h, w)?)),
            None => (op.inputs.first().copied().flatten()?, None),
        };
        let part = region::apply(
            padded.as_ref().unwrap_or(conv),
            self.parts[x].as_ref()?,
            self.zero(x)?,
            then.act,
        );
        let out = then.out;
        for &n in tail.iter().flat_map(|t| &t.nodes) {
            self.applied[n] = true;
        }
        if self.net.last_reads[x].is_some_and(|r| r < at) {
            self.parts[x] = None; // a taken Pad's input, which only the Pad read
        }
        Some((out, part))
    }

    /// A residual Add of two parts, as the hand-written models do it: in place, on the part
    /// that covers the other (taken where no later node reads it), the other read where it has
    /// it and from the all-zero input around it. `None` where it is not two parts of one
    /// plane and size, or neither covers the other.
    fn add(&mut self, at: usize) -> Option<(usize, Part)> {
        let op = &self.net.ops[at];
        let (a, b) = (op.inputs[0]?, op.inputs[1]?);
        let (pa, pb) = (self.parts[a].as_ref()?, self.parts[b].as_ref()?);
        if pa.full != pb.full || pa.channels != pb.channels || a == b {
            return None;
        }
        let rect = pa.rect.union(pb.rect);
        let (into, from) = if pa.rect == rect { (a, b) } else { (b, a) };
        if self.parts[into].as_ref()?.rect != rect {
            return None;
        }
        let sum = match self.net.last_reads[into] == Some(at) {
            true => self.parts[into].take()?,
            false => self.parts[into].clone()?,
        };
        let other = self.parts[from].as_ref()?;
        Some((
            op.outputs[0],
            region::add(sum, other, self.zero(from)?, false),
        ))
    }

    /// An elementwise node on the rectangle holding its inputs' parts, the inputs that are not
    /// maps constant over the plane (or, `per_channel`, the node's own per-channel numbers):
    /// its output slot and part.
    fn pointwise(
        &mut self,
        at: usize,
        slots: &mut [Option<Value>],
        per_channel: bool,
    ) -> Option<(usize, Part)> {
        let net = self.net;
        let op = &net.ops[at];
        let mapped: Vec<usize> = op
            .inputs
            .iter()
            .flatten()
            .copied()
            .filter(|&s| self.parts[s].is_some())
            .collect();
        let &first = mapped.first()?;
        let full = self.parts[first].as_ref()?.full;
        let mut rect = self.parts[first].as_ref()?.rect;
        for &s in &mapped {
            let p = self.parts[s].as_ref()?;
            (p.full == full).then_some(())?;
            rect = rect.union(p.rect);
        }
        let flat = |s: &usize| {
            slots[*s]
                .as_ref()
                .is_some_and(|v| v.dims().iter().rev().take(2).all(|&n| n == 1))
        };
        let mut others = op.inputs.iter().flatten().filter(|s| !mapped.contains(s));
        (per_channel || others.all(flat)).then_some(())?;
        for &s in &mapped {
            let p = self.parts[s].as_ref()?;
            let data = p.on(rect, self.zero(s)?).into_owned();
            let (h, w) = rect.size();
            slots[s] = Some(Value::R4(map(data, [1, p.channels, h, w], &self.device)));
        }
        let ran = op.run(slots, 1, false);
        mapped.iter().for_each(|&s| slots[s] = None);
        let out = op.outputs[0];
        let value = slots[out].take();
        ran.ok()?;
        let Some(Value::R4(y)) = value else {
            return None;
        };
        let [_, channels, h, w] = y.dims();
        ((h, w) == rect.size()).then_some(())?;
        let part = Part {
            data: to_vec(y).ok()?,
            channels,
            rect,
            full,
        };
        Some((out, part))
    }

    /// The all-zero input's map in slot `s`.
    fn zero(&self, s: usize) -> Option<&[f32]> {
        self.zeros.maps[s].as_deref()
    }

    /// Lets go of the parts no node after `at` reads.
    fn let_go(&mut self, at: usize) {
        let op = &self.net.ops[at];
        if self.taken.iter().any(|t| t.3 == at) {
            return; // the convolution reads the Pad's input
        }
        for &s in op.inputs.iter().flatten() {
            if self.net.last_reads[s] == Some(at) {
                self.parts[s] = None;
            }
        }
    }

    /// Every part a node from `at` on reads, made whole in `slots`; a taken Pad whose
    /// convolution did not run is run as it is. Returns the activation nodes from `at` on that
    /// a convolution which ran applied: the run after skips them.
    fn make_whole(mut self, slots: &mut [Option<Value>], at: usize) -> Vec<usize> {
        let pending: Vec<Taken> = self.taken.iter().copied().filter(|t| t.0 >= at).collect();
        let parts = std::mem::take(&mut self.parts);
        for (s, part) in parts.into_iter().enumerate() {
            let read = self.net.last_reads[s].is_none_or(|r| r >= at);
            if let (Some(part), Some(zero)) = (part, self.zero(s))
                && (read || pending.iter().any(|t| t.1 == s))
            {
                let part = region::whole(part, zero);
                let dims = [1, part.channels, part.full.0, part.full.1];
                slots[s] = Some(Value::R4(map(part.data, dims, &self.device)));
            }
        }
        for (_, _, _, pad) in pending {
            let _ = self.net.ops[pad].run(slots, 1, false);
        }
        (at..self.applied.len())
            .filter(|&n| self.applied[n])
            .collect()
    }
}

fn map(data: Vec<f32>, dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(data, dims), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::Config;

    fn load(name: &str) -> OnnxNet {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/onnx");
        let path = std::path::PathBuf::from(format!("{dir}/{name}.onnx"));
        OnnxNet::load(&path, &Config::default(), &Device::flex()).unwrap()
    }

    /// A seeded image, zero outside a `side`² square at (`at`, `at`): a Score-CAM masked input.
    fn masked(size: usize, side: usize, at: usize) -> Tensor<4> {
        let mut rng = crate::rng::SplitMix(7);
        let data = (0..3 * size * size)
            .map(|i| {
                let (y, x) = (i / size % size, i % size);
                let inside = (at..at + side).contains(&y) && (at..at + side).contains(&x);
                if inside { rng.normal() as f32 } else { 0.0 }
            })
            .collect();
        map(data, [1, 3, size, size], &Device::flex())
    }

    /// `slot` after nodes `from..end` ran on `slots`, `applied` already applied.
    fn after(
        net: &OnnxNet,
        (mut slots, sized): (Vec<Option<Value>>, bool),
        (from, end, applied): (usize, usize, Vec<usize>),
        slot: usize,
    ) -> Vec<f32> {
        net.run_after(&mut slots, from..end, 1, sized, applied)
            .unwrap();
        to_vec(slots[slot].take().unwrap().to_rank::<4>().unwrap()).unwrap()
    }

    /// The region pass goes through every node kind it takes — convolutions with their fused
    /// clamps and taken Pads, batch norm, HardSwish, a residual Add, a max pool, computed Pad
    /// amounts — up to the first node it does not (the global pool), and the explained map and
    /// the logits are the whole pass's up to float rounding. (A square of 5 pixels: on
    /// tiny_cnn the rectangle stays under the whole plane up to the pool.)
    #[test]
    fn a_mostly_zero_input_is_computed_on_its_region_as_a_whole_pass_computes_it() {
        for (name, side) in [("tiny_cnn", 5), ("computed_pads", 9)] {
            let net = load(name);
            let x = masked(net.input_size, side, 3);
            let layer = &net.layers[net.default_layer];
            let ends = [(layer.node + 1, layer.slot), (net.ops.len(), net.output)];
            for (end, slot) in ends {
                let mut whole = net.fresh();
                whole[net.input] = Some(Value::R4(x.clone()));
                let want = after(&net, (whole, false), (0, end, vec![]), slot);
                let mut slots = net.fresh_for(true);
                slots[net.input] = Some(Value::R4(x.clone()));
                let (from, applied) = net.run_region(&mut slots, end, true);
                let rest = &net.ops[from.min(end)..end];
                assert!(
                    from > 0 && rest.iter().all(|o| !o.is_conv()),
                    "{name}: the region pass stopped at node {from} before a convolution"
                );
                let got = after(&net, (slots, true), (from, end, applied), slot);
                let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
                let worst = got
                    .iter()
                    .zip(&want)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    scale > 0.0 && worst <= 1e-5 * scale,
                    "{name}: {worst} of {scale}"
                );
            }
        }
    }

    /// A region pass is planned up to the first node that reads a map and that it cannot take:
    /// tiny_cnn's global pool, channels_last's Transpose to channels-last after its convolution.
    #[test]
    fn a_region_pass_is_planned_up_to_the_first_node_it_cannot_take() {
        for (name, stop) in [("tiny_cnn", "gap"), ("channels_last", "to_nhwc")] {
            let net = load(name);
            let at = net.ops.iter().position(|o| o.name == stop).unwrap();
            assert_eq!(net.region_upto, at, "{name}");
        }
    }

    /// An input without zeros, or of more than one image, runs whole.
    #[test]
    fn a_full_input_or_a_batch_runs_whole() {
        let net = load("tiny_cnn");
        let s = net.input_size;
        for x in [
            masked(s, s, 0),
            Tensor::cat(vec![masked(s, 5, 3), masked(s, 5, 3)], 0),
        ] {
            let mut slots = net.fresh_for(true);
            slots[net.input] = Some(Value::R4(x.clone()));
            assert_eq!(net.run_region(&mut slots, net.ops.len(), true), (0, vec![]));
            let Some(Value::R4(kept)) = &slots[net.input] else {
                panic!("the input is left in its slot")
            };
            assert_eq!(to_vec(kept.clone()).unwrap(), to_vec(x).unwrap());
        }
    }
}
