//! The load-time run on a blank image: every node checked, every value's shape read, constants
//! folded, the candidate layers listed and the default chosen.

use super::layout::{self, MapLayout};
use super::{Layer, OnnxNet};
use crate::error::{Error, Result};
use crate::models::network::LayerInfo;
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};

impl OnnxNet {
    /// Runs the graph once on a blank image: every node is checked, every value's shape read,
    /// the candidate layers listed and the class count taken from the output.
    pub(super) fn survey(&mut self, device: &Device) -> Result<()> {
        let x = Tensor::<4>::from_data(
            TensorData::new(
                vec![0.0f32; 3 * self.input_size * self.input_size],
                [1, 3, self.input_size, self.input_size],
            ),
            device,
        );
        let mut slots = self.fresh();
        slots[self.input] = Some(Value::R4(x));
        self.run(&mut slots, 0..self.ops.len())?;
        let dims: Vec<Option<Vec<usize>>> =
            slots.iter().map(|v| v.as_ref().map(Value::dims)).collect();
        self.peak = dims
            .iter()
            .flatten()
            .map(|d| d.iter().product::<usize>())
            .max()
            .unwrap_or(1);
        let out = dims[self.output]
            .clone()
            .ok_or_else(|| Error::Invalid("the graph never computes its output".into()))?;
        self.num_classes = match out.as_slice() {
            [1, 1] => {
                self.binary = true;
                2
            }
            [1, c] => *c,
            other => {
                return Err(Error::Invalid(format!(
                    "the output has shape {other:?}; camlens needs class scores [N, classes]"
                )));
            }
        };
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
        // The node that computes each slot: a slot is made up to node i if i or one before it
        // computes it (or it is the input).
        let mut made_by: Vec<Option<usize>> = vec![None; self.slots];
        for (i, op) in self.ops.iter().enumerate() {
            for &s in &op.outputs {
                made_by[s] = Some(i);
            }
        }
        let layouts = layout::layouts(&self.ops, self.slots, &dims);
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
        self.default_layer = self.default_layer(&constant);
        Ok(())
    }

    /// The last map before global pooling (or the classifier). Where a class token carries the
    /// decision, the last token layer's patches do not reach the output: the default is then the
    /// input of the last attention, the last layer norm before the last product of two computed
    /// values (as pytorch-grad-cam's ViT recipe takes `blocks[-1].norm1`).
    pub(super) fn default_layer(&self, constant: &[bool]) -> usize {
        let last = self.layers.len() - 1;
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
