//! Deletion and insertion (Petsiuk et al., RISE, BMVC 2018) with the authors' settings, as
//! `../shared/docs/method.md` gives them: pixels taken in order of decreasing map value, `step`
//! (224) per step, the class's probability after each step, the trapezoid area under the curve.
//! Deletion replaces pixels of the input by zeros of the normalised tensor (the mean colour);
//! insertion starts from the input blurred by the authors' 11×11 Gaussian (σ 5) and puts the
//! input's pixels back. The masked inputs of a curve are run in batches, as the score methods'.

use crate::cam::Monitor;
use crate::compute::tensor_io::to_vec;
use crate::error::{Error, Result};
use crate::models::Model;
use burn::tensor::{Tensor, TensorData};

/// The authors' pixels per step at 224×224.
pub const STEP: usize = 224;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// From the input to zeros: a faithful map makes the probability fall fast (lower is better).
    Deletion,
    /// From the blurred input to the input: a faithful map makes it rise fast (higher is better).
    Insertion,
}

/// Area under a curve of `n + 1` scores over x from 0 to 1 (trapezoid).
pub fn auc(scores: &[f32]) -> f32 {
    let n = scores.len().saturating_sub(1).max(1);
    let (first, last) = (scores[0], scores[scores.len() - 1]);
    (scores.iter().sum::<f32>() - first / 2.0 - last / 2.0) / n as f32
}

/// The pixels in the order the curves take them: decreasing map value, ties by position
/// (row-major), as NumPy's stable `argsort(-L)` orders them.
pub fn order(map: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..map.len()).collect();
    idx.sort_by(|&a, &b| map[b].total_cmp(&map[a]));
    idx
}

/// What every curve of one image starts or ends at: the prepared input (`[3, S, S]`) and its
/// blurred copy, computed once for all of the image's maps.
pub struct Substrates {
    pub input: Vec<f32>,
    pub blurred: Vec<f32>,
}

impl Substrates {
    pub fn new(input: Vec<f32>, size: usize) -> Self {
        let blurred = blur(&input, size);
        Self { input, blurred }
    }
}

/// One map's two curves (the class's probability at each point) at the authors' settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub deletion: Vec<f32>,
    pub insertion: Vec<f32>,
}

impl Curves {
    /// Both curves of `map` (at input size, `[S, S]`) for `class`, [`STEP`] pixels per step.
    /// `monitor` counts the masked inputs run (both curves together) and can stop it.
    pub fn of(
        model: &Model,
        image: &Substrates,
        map: &[f32],
        class: usize,
        monitor: &Monitor,
    ) -> Result<Self> {
        let points = points(model, STEP);
        // Stops between batches when cancelled.
        let progress = |curve: usize| {
            move |done: usize| {
                monitor.set(curve * points + done, 2 * points);
                match monitor.is_cancelled() {
                    true => Err(Error::Cancelled),
                    false => Ok(()),
                }
            }
        };
        progress(0)(0)?;
        let deletion = scores(
            model,
            image,
            map,
            class,
            Curve::Deletion,
            STEP,
            &progress(0),
        )?;
        let insertion = scores(
            model,
            image,
            map,
            class,
            Curve::Insertion,
            STEP,
            &progress(1),
        )?;
        Ok(Self {
            deletion,
            insertion,
        })
    }

    /// (deletion AUC, insertion AUC).
    pub fn aucs(&self) -> (f32, f32) {
        (auc(&self.deletion), auc(&self.insertion))
    }

    /// `fraction,deletion,insertion`, one row per point (the fraction of pixels removed or
    /// inserted).
    pub fn to_csv(&self) -> String {
        let n = (self.deletion.len() - 1).max(1) as f32;
        let mut text = String::from("fraction,deletion,insertion\n");
        for (k, (a, b)) in self.deletion.iter().zip(&self.insertion).enumerate() {
            text.push_str(&format!("{:.6},{a:.6},{b:.6}\n", k as f32 / n));
        }
        text
    }

    /// Both curves drawn with their areas in the legend, under `title`.
    pub fn plot(&self, title: &str) -> image::RgbImage {
        let (d, i) = self.aucs();
        crate::draw::chart::line_chart(
            &format!("{title}, {STEP} pixels per step"),
            &[
                (
                    format!("deletion AUC {d:.3} (lower is better)"),
                    &self.deletion[..],
                    [200, 40, 40],
                ),
                (
                    format!("insertion AUC {i:.3} (higher is better)"),
                    &self.insertion[..],
                    [40, 90, 200],
                ),
            ],
            640,
            420,
        )
    }
}

/// Points on one curve: the start and one per step.
fn points(model: &Model, step: usize) -> usize {
    let s = model.preprocess.size as usize;
    (s * s).div_ceil(step.max(1)) + 1
}

/// The class's probability at each of the `ceil(HW / step) + 1` points of `curve`, for one
/// image's substrates and a map at input size (`[S, S]`), telling `progress` how many points
/// are done after each batch (an error from it stops the curve).
pub fn scores(
    model: &Model,
    image: &Substrates,
    map: &[f32],
    class: usize,
    curve: Curve,
    step: usize,
    progress: &dyn Fn(usize) -> Result<()>,
) -> Result<Vec<f32>> {
    let s = model.preprocess.size as usize;
    let hw = s * s;
    let (start, finish) = match curve {
        Curve::Deletion => (image.input.clone(), vec![0.0; 3 * hw]),
        Curve::Insertion => (image.blurred.clone(), image.input.clone()),
    };
    let order = order(map);
    let steps = hw.div_ceil(step.max(1));
    let batch = model.auto_batch_size();
    let mut current = start;
    let mut out = Vec::with_capacity(steps + 1);
    let mut pending: Vec<f32> = Vec::with_capacity(batch * 3 * hw);
    for i in 0..=steps {
        if i > 0 {
            for &p in &order[((i - 1) * step).min(hw)..(i * step).min(hw)] {
                for c in 0..3 {
                    current[c * hw + p] = finish[c * hw + p];
                }
            }
        }
        pending.extend_from_slice(&current);
        if pending.len() == batch * 3 * hw || i == steps {
            let b = pending.len() / (3 * hw);
            let x = Tensor::<4>::from_data(
                TensorData::new(std::mem::take(&mut pending), [b, 3, s, s]),
                &model.device,
            );
            let p = model.probabilities(model.forward(x));
            out.extend(to_vec(p.slice([0..b, class..class + 1]))?);
            progress(out.len())?;
        }
    }
    Ok(out)
}

/// The authors' blur: each channel convolved with an 11×11 kernel (a unit impulse smoothed by
/// SciPy's `gaussian_filter(·, 5)`, whose reflected borders keep its sum 1), zero padding 5.
pub fn blur(input: &[f32], s: usize) -> Vec<f32> {
    let k = kernel_1d();
    let r = k.len() / 2;
    let mut out = vec![0.0f32; input.len()];
    for c in 0..3 {
        let plane = &input[c * s * s..(c + 1) * s * s];
        let dst = &mut out[c * s * s..(c + 1) * s * s];
        for y in 0..s {
            for x in 0..s {
                let mut acc = 0.0f32;
                for (dy, ky) in k.iter().enumerate() {
                    let Some(yy) = (y + dy).checked_sub(r).filter(|&v| v < s) else {
                        continue;
                    };
                    for (dx, kx) in k.iter().enumerate() {
                        let Some(xx) = (x + dx).checked_sub(r).filter(|&v| v < s) else {
                            continue;
                        };
                        acc += plane[yy * s + xx] * ky * kx;
                    }
                }
                dst[y * s + x] = acc;
            }
        }
    }
    out
}

/// One axis of the kernel: SciPy's `gaussian_filter1d` (σ 5, truncated at 4σ, borders
/// "reflect") of an 11-long impulse at its centre.
fn kernel_1d() -> [f32; 11] {
    const N: i64 = 11;
    let sigma = 5.0f64;
    let radius = (4.0 * sigma + 0.5) as i64;
    let w: Vec<f64> = (-radius..=radius)
        .map(|t| (-0.5 * (t * t) as f64 / (sigma * sigma)).exp())
        .collect();
    let total: f64 = w.iter().sum();
    // SciPy's "reflect": d c b a | a b c d | d c b a.
    let reflect = |mut m: i64| loop {
        if m < 0 {
            m = -m - 1;
        } else if m >= N {
            m = 2 * N - m - 1;
        } else {
            return m;
        }
    };
    let mut k = [0.0f32; 11];
    for (i, ki) in k.iter_mut().enumerate() {
        let v: f64 = (-radius..=radius)
            .filter(|t| reflect(i as i64 + t) == N / 2)
            .map(|t| w[(t + radius) as usize] / total)
            .sum();
        *ki = v as f32;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_sums_to_one_and_peaks_in_the_middle() {
        let k = kernel_1d();
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(k[5] > k[4] && k[4] > k[0] && (k[0] - k[10]).abs() < 1e-7);
    }

    #[test]
    fn auc_is_the_trapezoid_and_order_breaks_ties_by_position() {
        assert!((auc(&[1.0, 0.5, 0.0]) - 0.5).abs() < 1e-7);
        assert!((auc(&[1.0, 1.0]) - 1.0).abs() < 1e-7);
        assert_eq!(order(&[0.2, 0.9, 0.2, 0.5]), [1, 3, 0, 2]);
    }
}
