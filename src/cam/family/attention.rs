//! LeGrad (Bousselham et al. 2024) as torch-cam 0.5 computes it (`LeGrad`), for transformers:
//! for each chosen block `l`, the class's layer score `s^l` (the block's output tokens
//! averaged, then the model's final norm and head) differentiated with respect to the block's
//! attention probabilities `A^l`; the positive part averaged over heads and queries, the class
//! token's key dropped, the patch keys laid out on the grid; the mean over the blocks. The
//! attention values are not multiplied in (torch-cam's code). torch-cam asks for the blocks;
//! camlens takes the block whose attention reads the target layer and the three before it
//! (torch-cam's example: a ViT's last four), fewer where there are fewer. The built-in ViT-B/16
//! and ONNX exports of pre-norm transformers (`onnx::attention`) have such blocks.

use crate::cam::method::NO_ATTENTION;
use crate::cam::session::Session;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};

/// How many blocks, ending at the target layer's.
pub const BLOCKS: usize = 4;

/// The map at the target layer's grid `[h, w]`, before normalisation.
pub fn legrad(s: &Session, class: usize) -> Result<Vec<f32>> {
    let [_, h, w] = s.shape;
    let found = s
        .model
        .net
        .attention_scores(s.x.clone(), s.layer, BLOCKS)
        .ok_or_else(|| Error::Invalid(NO_ATTENTION.into()))?;
    let mut map = vec![0f32; h * w];
    for (attention, scores) in &found {
        let grads = scores
            .clone()
            .slice([0..1, class..class + 1])
            .sum()
            .backward();
        let g = attention
            .grad(&grads)
            .ok_or_else(|| Error::Device("no gradient reached the attention".into()))?;
        let [_, heads, queries, keys] = g.dims();
        let prefix = keys
            .checked_sub(h * w)
            .ok_or_else(|| Error::Invalid(format!("{keys} attention keys for a {h}×{w} grid")))?;
        let mut relevance = vec![0f32; keys];
        for row in to_vec(g)?.chunks_exact(keys) {
            relevance
                .iter_mut()
                .zip(row)
                .for_each(|(r, v)| *r += v.max(0.0));
        }
        let scale = (heads * queries * found.len()) as f32;
        map.iter_mut()
            .zip(&relevance[prefix..])
            .for_each(|(m, r)| *m += r / scale);
    }
    Ok(map)
}
