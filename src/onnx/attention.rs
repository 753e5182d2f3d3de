//! A pre-norm transformer's attention in a graph, for LeGrad: each block's attention
//! probabilities (a Softmax over the last axis of `[N, heads, T, T]`), each block's output tokens
//! (what the next block's first layer norm reads; for the last block, the final norm's input),
//! and the tail from the last block's output to the logits. Running that tail on a block's mean
//! token is torch-cam's `project_tokens` (`heads(norm(tokens.mean(1)))`) for any such graph:
//! the norm acts per token and the class token read (a Gather or Slice of token 0) or a pooling
//! of one token is that token. Graphs where the tail reads anything else computed before it,
//! or fails on one token, have no attention camlens reads.
//!
//! Found when the graph is loaded (`OnnxNet::find_attention`, survey.rs), run by
//! `OnnxNet::attention_of` (mod.rs).

#[derive(Debug, Clone)]
pub(super) struct Block {
    /// The Softmax node and its output's slot.
    pub softmax: usize,
    pub probabilities: usize,
    /// The slot of the block's output tokens `[N, T, D]`.
    pub tokens: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Attention {
    pub blocks: Vec<Block>,
    /// The first node of the tail, and the slot it starts from.
    pub tail_from: usize,
    pub tail_input: usize,
}
