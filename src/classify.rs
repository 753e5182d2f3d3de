//! Plain classification: probabilities and the top-k classes of a batch of images.

use crate::compute::tensor_io::to_vec;
use crate::error::Result;
use crate::input::preprocess::load_image;
use crate::models::Model;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub name: String,
    pub probability: f32,
    pub logit: f32,
}

/// Per-class values, one row per input.
pub type Rows = Vec<Vec<f32>>;

/// Logits and softmax probabilities, one row per prepared input.
pub fn logits_and_probs(model: &Model, inputs: &[Vec<f32>]) -> Result<(Rows, Rows)> {
    let x = model.preprocess.batch(inputs, &model.device);
    let logits = model.forward(x);
    let probs = model.probabilities(logits.clone());
    let n = model.num_classes();
    let rows = |v: Vec<f32>| v.chunks(n).map(<[f32]>::to_vec).collect::<Vec<_>>();
    Ok((rows(to_vec(logits)?), rows(to_vec(probs)?)))
}

/// The `k` most probable classes, most probable first.
pub fn top_k(model: &Model, logits: &[f32], probs: &[f32], k: usize) -> Vec<Prediction> {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    order
        .into_iter()
        .take(k)
        .map(|c| Prediction {
            class: c,
            name: model.classes[c].clone(),
            probability: probs[c],
            logit: logits[c],
        })
        .collect()
}

/// Opens, prepares and classifies image files, a batch at a time.
pub fn predict_files(model: &Model, paths: &[&Path], k: usize) -> Result<Vec<Vec<Prediction>>> {
    const BATCH: usize = 16;
    let mut out = vec![];
    for chunk in paths.chunks(BATCH) {
        let inputs = chunk
            .iter()
            .map(|p| Ok(model.preprocess.prepare(&load_image(p)?).0))
            .collect::<Result<Vec<_>>>()?;
        let (logits, probs) = logits_and_probs(model, &inputs)?;
        out.extend(
            logits
                .iter()
                .zip(&probs)
                .map(|(l, p)| top_k(model, l, p, k)),
        );
    }
    Ok(out)
}

/// One class of a segmentation: its share of the pixels.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Share {
    pub class: usize,
    pub name: String,
    pub share: f32,
    pub pixels: usize,
}

/// A segmenter's classes present in each image file, by share of the pixels, largest first.
pub fn segment_files(model: &Model, paths: &[&Path]) -> Result<Vec<Vec<Share>>> {
    paths
        .iter()
        .map(|p| {
            let seg = model.segment(&model.preprocess.prepare(&load_image(p)?).0)?;
            let total = seg.labels.len().max(1) as f32;
            let mut shares: Vec<Share> = seg
                .counts()
                .into_iter()
                .enumerate()
                .filter(|&(_, n)| n > 0)
                .map(|(class, pixels)| Share {
                    class,
                    name: model.classes[class].clone(),
                    share: pixels as f32 / total,
                    pixels,
                })
                .collect();
            shares.sort_by_key(|s| std::cmp::Reverse(s.pixels));
            Ok(shares)
        })
        .collect()
}
