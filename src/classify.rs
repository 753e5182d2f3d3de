//! Plain classification: probabilities and the top-k classes of a batch of images.

use crate::compute::tensor_io::to_vec;
use crate::error::Result;
use crate::input::preprocess::load_image;
use crate::models::Model;
use crate::models::detection::Thresholds;
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

/// A detector's box on the photo, in the photo's own pixels (clipped to it).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhotoBox {
    /// Its index in the image's list (what `--target box:I` will name).
    pub index: usize,
    pub class: usize,
    pub name: String,
    pub score: f32,
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

/// A detector's boxes in each image file, best first (see `models::detection`).
pub fn detect_files(
    model: &Model,
    paths: &[&Path],
    thresholds: Option<Thresholds>,
) -> Result<Vec<Vec<PhotoBox>>> {
    let size = model.preprocess.size as f32;
    paths
        .iter()
        .map(|p| {
            let (input, crop) = model.preprocess.prepare(&load_image(p)?);
            let found = model.detect(&input, thresholds)?;
            let (w, h) = (crop.image_width as f32, crop.image_height as f32);
            let x = |v: f32| (crop.x + v * crop.width / size).clamp(0.0, w);
            let y = |v: f32| (crop.y + v * crop.height / size).clamp(0.0, h);
            Ok(found
                .iter()
                .enumerate()
                .map(|(index, d)| PhotoBox {
                    index,
                    class: d.class,
                    name: model.classes.get(d.class).cloned().unwrap_or_default(),
                    score: d.score,
                    x1: x(d.x1),
                    y1: y(d.y1),
                    x2: x(d.x2),
                    y2: y(d.y2),
                })
                .collect())
        })
        .collect()
}
