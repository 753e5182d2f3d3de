//! Work the native models fuse, found in a graph once it is loaded: a convolution whose only
//! reader is a clamp (ReLU, ReLU6, a Clip with constant bounds) applies it as its CPU kernels
//! write their output, as the hand-written models' `Conv::forward_act` does, instead of the
//! clamp making one more pass over the activation. The graph's nodes stay as they are (the
//! traced run, which cuts at ReLUs, and a split at the convolution's own output run them one
//! by one); `OnnxNet::run` takes the shortcut where both nodes are in the range it runs.

use super::{Clamp, OnnxNet};

impl OnnxNet {
    /// Each convolution's clamp, where nothing else reads the convolution's output.
    pub(super) fn plan_clamps(&mut self) {
        let readers = self.readers();
        let mut producer = vec![None; self.slots];
        for (i, op) in self.ops.iter().enumerate() {
            op.outputs.iter().for_each(|&s| producer[s] = Some(i));
        }
        let graph_outputs = [Some(self.output), self.boxes_output];
        let live = |i: usize| !self.folded.get(i).copied().unwrap_or(false);
        self.clamps = vec![None; self.ops.len()];
        for (j, clamp) in self.ops.iter().enumerate() {
            let (Some(act), [out]) = (clamp.as_clamp(), clamp.outputs.as_slice()) else {
                continue;
            };
            let Some(&Some(x)) = clamp.inputs.first() else {
                continue;
            };
            let Some(i) = producer[x] else {
                continue;
            };
            let conv = &self.ops[i];
            let sole = readers[x] == 1 && !graph_outputs.contains(&Some(x));
            if conv.takes_clamp() && conv.outputs == [x] && sole && live(i) && live(j) && i < j {
                self.clamps[i] = Some(Clamp {
                    op: j,
                    act,
                    out: *out,
                });
            }
        }
    }

    /// How many clamps the convolutions apply (`camlens layers`, tests).
    pub fn fused_clamps(&self) -> usize {
        self.clamps.iter().flatten().count()
    }
}
