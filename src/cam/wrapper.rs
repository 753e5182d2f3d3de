//! Methods made of other methods' finished maps: pytorch-grad-cam's `aug_smooth` and RefineCAM.
//! Each gets a runner that finishes a method on a session (`compute::run_method`), so this file
//! knows sessions and maps, not how a method is run.

use super::map::Map;
use super::options::RefineLayers;
use super::session::Session;
use crate::error::{Error, Result};
use crate::models::LayerInfo;

/// Runs the wrapped method on a session and gives its finished map (ReLU, input size, min-max).
pub type Finish<'a> = dyn FnMut(&mut Session) -> Result<Map> + 'a;

/// pytorch-grad-cam's `aug_smooth` (its ttach transforms: a horizontal flip or none, times the
/// input by 0.9, 1 or 1.1): the method on each of the six inputs, each finished map mirrored
/// back, their mean. Each copy is a session of its own; the plain one is `session`.
pub fn aug_smoothed(session: &mut Session, finish: &mut Finish) -> Result<Map> {
    let size = session.input_size();
    let mut sum = vec![0f32; size * size];
    for flip in [false, true] {
        for factor in [0.9f32, 1.0, 1.1] {
            let map = if !flip && factor == 1.0 {
                finish(session)?
            } else {
                let input = augmented(&session.input, size, flip, factor);
                finish(&mut Session::new(session.model, input, session.layer)?)?
            };
            for (y, row) in map.data.chunks_exact(size).enumerate() {
                for (x, v) in row.iter().enumerate() {
                    sum[y * size + if flip { size - 1 - x } else { x }] += v / 6.0;
                }
            }
        }
    }
    Ok(Map::new(size, size, sum))
}

/// The prepared input `[3, S, S]` mirrored left–right if `flip`, times `factor`.
fn augmented(input: &[f32], size: usize, flip: bool, factor: f32) -> Vec<f32> {
    input
        .chunks_exact(size)
        .flat_map(|row| {
            let at = move |x: usize| if flip { row[size - 1 - x] } else { row[x] };
            (0..size).map(move |x| at(x) * factor)
        })
        .collect()
}

/// RefineCAM (pytorch-grad-cam 1.5.7's `RefineCAM`): the base method's finished map at each
/// layer, multiplied, at input size. pytorch-grad-cam's loop that means to clip and rescale
/// each map before the product rebinds its loop variable and changes nothing; its maps are
/// already the base method's finished ones (in [0, 1]), as here, so the results agree.
pub fn refined(session: &mut Session, layers: &RefineLayers, finish: &mut Finish) -> Result<Map> {
    let all = session.model.layers();
    let layers = layers
        .chosen()
        .unwrap_or_else(|| default_refine_layers(&all, session.layer));
    let size = session.input_size();
    let mut product = vec![1f32; size * size];
    for layer in layers {
        if layer >= all.len() {
            return Err(Error::Invalid(format!(
                "RefineCAM: layer {layer} is not one of the model's {}",
                all.len()
            )));
        }
        let map = if layer == session.layer {
            finish(session)?
        } else {
            finish(&mut Session::new(
                session.model,
                session.input.clone(),
                layer,
            )?)?
        };
        product.iter_mut().zip(&map.data).for_each(|(p, v)| *p *= v);
    }
    Ok(Map::new(size, size, product))
}

/// RefineCAM's default layers for `target`: the target and the last layer of each of the two
/// stages before it (going back, the first layer of a finer resolution than the last one
/// chosen), shallowest first. Where no earlier layer is finer (a ViT's blocks), the target
/// alone: RefineCAM is then its base method.
pub fn default_refine_layers(layers: &[LayerInfo], target: usize) -> Vec<usize> {
    let mut chosen = vec![target];
    let mut side = layers[target].height * layers[target].width;
    for i in (0..target).rev() {
        if chosen.len() == 3 {
            break;
        }
        let here = layers[i].height * layers[i].width;
        if here > side {
            chosen.push(i);
            side = here;
        }
    }
    chosen.reverse();
    chosen
}

/// SESS's defaults (pytorch-grad-cam 1.5.7's `SESS`): twelve scales from the window size up in
/// steps of 2/7 of it, non-overlapping windows of the input's size, every patch kept, mean
/// fusion of positive values, an 11×11 Gaussian blur of σ = 5.
const SESS_SCALES: usize = 12;
const SESS_STEP_RATIO: f64 = 2.0 / 7.0;
const SESS_BLUR_SIZE: usize = 11;
const SESS_BLUR_SIGMA: f64 = 5.0;

/// SESS (Saliency Enhancing with Scaling and Sliding; pytorch-grad-cam 1.5.7's `SESS`): the
/// prepared input resized to twelve scales, a window of the input's size slid over each without
/// overlap (the last window of a row shifted back inside), the base method's finished map of
/// every patch weighted by the patch's probability of `class` over the largest, pasted back
/// and resized to the input, the positive values averaged where patches cover them, blurred.
/// Each patch is a session: its forward pass gives the probability and the base method's
/// activations at once.
pub fn sess(
    session: &mut Session,
    class: usize,
    monitor: &super::monitor::Monitor,
    finish: &mut Finish,
) -> Result<Map> {
    let size = session.input_size();
    let step = (size as f64 * SESS_STEP_RATIO).round() as usize;
    let scales: Vec<usize> = (0..SESS_SCALES).map(|i| size + step * i).collect();
    let windows: Vec<(usize, usize, usize)> = scales
        .iter()
        .flat_map(|&scale| {
            let starts = window_starts(scale, size, size);
            starts
                .iter()
                .flat_map(|&y| starts.iter().map(move |&x| (scale, x, y)))
                .collect::<Vec<_>>()
        })
        .collect();
    monitor.set(0, windows.len());
    let mut patches = vec![];
    let mut current: Option<(usize, Vec<Map>)> = None;
    for (i, &(scale, x, y)) in windows.iter().enumerate() {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if current.as_ref().map(|c| c.0) != Some(scale) {
            current = Some((scale, rescaled(&session.input, size, scale)));
        }
        let planes = &current.as_ref().expect("set above").1;
        let input = planes.iter().flat_map(|p| crop(p, x, y, size)).collect();
        let mut patch = Session::new(session.model, input, session.layer)?;
        let score = patch.probs[class].max(0.0);
        patches.push((score, finish(&mut patch)?, scale, x, y));
        monitor.set(i + 1, windows.len());
    }
    let best = patches.iter().map(|p| p.0).fold(0f32, f32::max);
    let (mut total, mut counts) = (vec![0f32; size * size], vec![0f32; size * size]);
    for (score, map, scale, x, y) in patches {
        let weight = if best > 0.0 { score / best } else { 1.0 };
        let mut full = Map::new(scale, scale, vec![0f32; scale * scale]);
        for (row, src) in map.data.chunks_exact(size).enumerate() {
            let at = (y + row) * scale + x;
            full.data[at..at + size]
                .iter_mut()
                .zip(src)
                .for_each(|(d, v)| *d = v * weight);
        }
        let back = full.resized(size, size, false);
        for ((t, c), v) in total.iter_mut().zip(&mut counts).zip(&back.data) {
            if *v > 0.0 {
                *t += v;
                *c += 1.0;
            }
        }
    }
    let fused: Vec<f32> = total
        .iter()
        .zip(&counts)
        .map(|(t, c)| if *c > 0.0 { t / c } else { 0.0 })
        .collect();
    Ok(gaussian_blur(&Map::new(size, size, fused)))
}

/// pytorch-grad-cam's `window_starts`: steps of `step` until a window would reach the end, then
/// that window shifted back inside.
fn window_starts(length: usize, step: usize, window: usize) -> Vec<usize> {
    let mut starts = vec![];
    let mut start = 0;
    while start < length {
        if start + window >= length {
            starts.push(length.saturating_sub(window));
            break;
        }
        starts.push(start);
        start += step;
    }
    starts
}

/// The prepared input `[3, S, S]` resized to `scale` per channel (bilinear, half-pixel
/// centres: torchvision's `resize` upscaling, where its antialiasing changes nothing).
fn rescaled(input: &[f32], size: usize, scale: usize) -> Vec<Map> {
    input
        .chunks_exact(size * size)
        .map(|c| Map::new(size, size, c.to_vec()).resized(scale, scale, false))
        .collect()
}

fn crop(plane: &Map, x: usize, y: usize, size: usize) -> Vec<f32> {
    (y..y + size)
        .flat_map(|row| plane.data[row * plane.width + x..row * plane.width + x + size].to_vec())
        .collect()
}

/// OpenCV's `GaussianBlur(map, (11, 11), 5)`: a separable kernel `exp(−d²/2σ²)`, normalised,
/// borders reflected without repeating the edge (`BORDER_REFLECT_101`).
fn gaussian_blur(map: &Map) -> Map {
    let r = SESS_BLUR_SIZE / 2;
    let kernel: Vec<f64> = (0..SESS_BLUR_SIZE)
        .map(|i| (-((i as f64 - r as f64).powi(2)) / (2.0 * SESS_BLUR_SIGMA.powi(2))).exp())
        .collect();
    let sum: f64 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| (k / sum) as f32).collect();
    let reflect = |i: isize, n: usize| -> usize {
        let n = n as isize;
        let i = if i < 0 { -i } else { i };
        (if i >= n { 2 * (n - 1) - i } else { i }) as usize
    };
    let (w, h) = (map.width, map.height);
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        (0..w * h)
            .map(|p| {
                let (x, y) = (p % w, p / w);
                kernel.iter().enumerate().fold(0f32, |acc, (k, kv)| {
                    let d = k as isize - r as isize;
                    let v = match horizontal {
                        true => src[y * w + reflect(x as isize + d, w)],
                        false => src[reflect(y as isize + d, h) * w + x],
                    };
                    acc + kv * v
                })
            })
            .collect()
    };
    Map::new(w, h, pass(&pass(&map.data, true), false))
}
