//! Segmenters: networks whose output is a class score per pixel, `[N, classes, h, w]`
//! (torchvision's FCN, DeepLabV3 and LR-ASPP exports, SegFormer-style logits at a fraction of
//! the input). Everything else in camlens reads scores `[N, classes]`, so a segmenter's output
//! is read over a region: the pixels of a [`PixelMask`] (by default all of them).
//!
//! The score of class `k` over region `M` has two parts. Its gradient is that of
//! `Σ_{(i,j)∈M} z_k(i,j)`, the class's logits summed over the region: pytorch-grad-cam's
//! `SemanticSegmentationTarget`, so every gradient method explains what pytorch-grad-cam's
//! segmentation tutorial explains. Its value is `log p̄_k`, where `p̄_k` is the mean over the
//! region of the per-pixel softmax probability of `k`: since the `p̄_k` sum to 1 over the
//! classes, the softmax every score method and metric takes of the scores gives back exactly
//! `p̄_k`, "the class's mean probability over the region". (The value and the gradient are
//! joined as `detach(log p̄) + (s − detach(s))`.)

use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};
use std::sync::Arc;

/// The pixels a segmenter's scores are read over, at its output's resolution (1 inside).
#[derive(Debug, Clone, PartialEq)]
pub struct PixelMask {
    pub width: usize,
    pub height: usize,
    pub values: Arc<[f32]>,
}

impl PixelMask {
    pub fn pixels(&self) -> usize {
        self.values.iter().filter(|&&v| v > 0.0).count()
    }
}

/// A segmenter's answer for one image: the most probable class of each output pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    pub width: usize,
    pub height: usize,
    pub classes: usize,
    /// Row-major, `height × width`.
    pub labels: Vec<u32>,
}

impl Segmentation {
    /// From one image's scores `[1, classes, h, w]`.
    pub fn from_scores(scores: Tensor<4>) -> Result<Self> {
        let [n, classes, height, width] = scores.dims();
        if n != 1 {
            return Err(Error::Invalid(format!(
                "a segmentation is read for one image, not {n}"
            )));
        }
        let labels = to_vec(scores.argmax(1).float())?
            .into_iter()
            .map(|v| v as u32)
            .collect();
        Ok(Self {
            width,
            height,
            classes,
            labels,
        })
    }

    /// Each class's number of pixels.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Each class's share of the pixels.
    pub fn shares(&self) -> Vec<f32> {
        let total = self.labels.len().max(1) as f32;
        self.counts()
            .into_iter()
            .map(|c| c as f32 / total)
            .collect()
    }

    /// The class with the most pixels.
    pub fn largest(&self) -> usize {
        let counts = self.counts();
        (0..self.classes).max_by_key(|&k| counts[k]).unwrap_or(0)
    }

    /// The pixels predicted as `class`; an error naming the classes present where it has none.
    pub fn mask(&self, class: usize, names: &[String]) -> Result<PixelMask> {
        if class >= self.classes {
            return Err(Error::ClassOutOfRange {
                index: class,
                classes: self.classes,
            });
        }
        let values: Arc<[f32]> = self
            .labels
            .iter()
            .map(|&l| if l as usize == class { 1.0 } else { 0.0 })
            .collect();
        if values.iter().all(|&v| v == 0.0) {
            let name = |k: usize| names.get(k).cloned().unwrap_or_else(|| k.to_string());
            let present: Vec<String> = self
                .shares()
                .iter()
                .enumerate()
                .filter(|(_, s)| **s > 0.0)
                .map(|(k, s)| format!("{k} '{}' {:.1}%", name(k), 100.0 * s))
                .collect();
            return Err(Error::Invalid(format!(
                "class {class} '{}' has no pixels in this photo's segmentation: nothing to \
                 explain there; the classes present: {}",
                name(class),
                present.join(", ")
            )));
        }
        Ok(PixelMask {
            width: self.width,
            height: self.height,
            values,
        })
    }
}

/// The scores `[N, classes]` of per-pixel scores `z` `[N, classes, h, w]` over `mask` (all
/// pixels where `None`): see the module's comment.
pub fn region_scores(z: Tensor<4>, mask: Option<&PixelMask>) -> Tensor<2> {
    let [n, k, h, w] = z.dims();
    let device = z.device();
    let m = match mask {
        Some(m) if (m.height, m.width) == (h, w) => {
            Tensor::<4>::from_data(TensorData::new(m.values.to_vec(), [1, 1, h, w]), &device)
        }
        _ => Tensor::<4>::ones([1, 1, h, w], &device),
    };
    let pixels = mask
        .filter(|m| (m.height, m.width) == (h, w))
        .map_or(h * w, PixelMask::pixels)
        .max(1) as f32;
    let over = |t: Tensor<4>| t.sum_dim(3).sum_dim(2).reshape([n, k]);
    let m = m.expand([n, k, h, w]);
    let summed = over(z.clone() * m.clone());
    let mean = over(softmax(z, 1) * m) / pixels;
    let value = mean.clamp_min(1e-30).log();
    // `s − s` is exactly zero, so the value is `log p̄` to the last bit (the sum over many
    // pixels is large, and `s + (v − s)` would round `v` to its precision).
    value.detach() + (summed.clone() - summed.detach())
}
