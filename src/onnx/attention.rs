//! A pre-norm transformer's attention in a graph, for LeGrad: each block's attention
//! probabilities (a Softmax over the last axis of `[N, heads, T, T]`), each block's output tokens
//! (what the next block's first layer norm reads; for the last block, the final norm's input),
//! and the tail from the last block's output to the logits. Running that tail on a block's mean
//! token is torch-cam's `project_tokens` (`heads(norm(tokens.mean(1)))`) for any such graph:
//! the norm acts per token and the class token read (a Gather or Slice of token 0) or a pooling
//! of one token is that token. Graphs where the tail reads anything else computed before it,
//! or fails on one token, have no attention camlens reads.

use super::OnnxNet;
use crate::error::guarded;
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};

#[derive(Debug, Clone)]
struct Block {
    /// The Softmax node and its output's slot.
    softmax: usize,
    probabilities: usize,
    /// The slot of the block's output tokens `[N, T, D]`.
    tokens: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Attention {
    blocks: Vec<Block>,
    /// The first node of the tail, and the slot it starts from.
    tail_from: usize,
    tail_input: usize,
}

impl OnnxNet {
    /// The transformer blocks of the graph, from the blank run's shapes; `None` where there are
    /// none camlens reads (see the module's comment).
    pub(super) fn find_attention(
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
            blocks.push(Block {
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

    /// The logits of the tail run on `tokens` `[N, 1, D]` in place of the last block's output.
    fn tail(&self, attention: &Attention, tokens: Tensor<3>) -> Option<Tensor<2>> {
        let mut slots = self.fresh();
        slots[attention.tail_input] = Some(Value::R3(tokens));
        let batch = slots[attention.tail_input].as_ref()?.dims()[0];
        self.run(&mut slots, attention.tail_from..self.ops.len(), batch)
            .ok()?;
        slots[self.output].as_ref()?.clone().to_rank::<2>().ok()?;
        Some(self.logits(&mut slots))
    }

    /// LeGrad's probabilities and layer scores (see `Network::attention_scores`): the block
    /// whose attention reads the target layer (the last where none after it does) and the
    /// `count − 1` before it.
    pub(super) fn attention_of(
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
        let mut slots = self.fresh();
        let batch = x.dims()[0];
        slots[self.input] = Some(Value::R4(x));
        let mut found = vec![];
        let mut from = 0;
        // Each block's scores from a graph of its own (burn frees a graph's tape on backward):
        // the untracked pass goes on, a tracked copy runs from the leaf to the block's output.
        for b in chosen {
            self.run_checked(&mut slots, from..b.softmax + 1, batch);
            from = b.softmax + 1;
            let p = slots[b.probabilities].clone()?.to_rank::<4>().ok()?;
            let leaf = p.detach().autodiff().require_grad();
            let mut tracked = slots.clone();
            tracked[b.probabilities] = Some(Value::R4(leaf.clone()));
            let end = self
                .ops
                .iter()
                .rposition(|o| o.outputs.contains(&b.tokens))?;
            self.run_checked(&mut tracked, from..end + 1, batch);
            let tokens = tracked[b.tokens].take()?.to_rank::<3>().ok()?;
            found.push((leaf, self.tail(attention, tokens.mean_dim(1))?));
        }
        Some(found)
    }
}
