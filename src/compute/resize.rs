//! Bilinear resizing as PyTorch's `interpolate(mode="bilinear")` does it (no antialiasing),
//! on any device as two matrix products `R_h X R_wᵀ`. burn's interpolate kernel on wgpu gave
//! other numbers than flex's on lavapipe (1.5 off for a [6, 1, 8, 8] → 32×32 map, found by
//! tests/integration/gpu_path.rs); matrix products are the same on every backend. On the CPU
//! backend the same sums are computed on the host (`bilinear_host`).

use crate::compute::tensor_io::{host_tensor, on_host};
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// For each output coordinate along an axis of `n_in` → `n_out`: the two source indices and
/// the weight of the second (`align_corners = false`: source `(i + ½) · n_in/n_out − ½`
/// clamped at 0; `true`: `i · (n_in − 1)/(n_out − 1)`).
pub fn axis(n_in: usize, n_out: usize, align_corners: bool) -> Vec<Tap> {
    (0..n_out)
        .map(|i| {
            let src = if align_corners {
                if n_out > 1 {
                    i as f64 * (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
                } else {
                    0.0
                }
            } else {
                ((i as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0)
            };
            let i0 = (src.floor() as usize).min(n_in - 1);
            let i1 = (i0 + 1).min(n_in - 1);
            (i0, i1, (src - i0 as f64) as f32)
        })
        .collect()
}

/// The `[n_out, n_in]` matrix of [`axis`]'s weights.
pub fn weights(n_in: usize, n_out: usize, align_corners: bool) -> Vec<f32> {
    let mut m = vec![0f32; n_out * n_in];
    for (o, (i0, i1, frac)) in axis(n_in, n_out, align_corners).into_iter().enumerate() {
        m[o * n_in + i0] += 1.0 - frac;
        m[o * n_in + i1] += frac;
    }
    m
}

/// `x` `[N, C, H, W]` resized to `[N, C, out_h, out_w]`.
pub fn bilinear(x: Tensor<4>, out_h: usize, out_w: usize, align_corners: bool) -> Tensor<4> {
    if host_tensor(&x) {
        return bilinear_host(x, out_h, out_w, align_corners, |_| ());
    }
    products(x, out_h, out_w, align_corners)
}

/// The resize as two matrix products, on any device.
fn products(x: Tensor<4>, out_h: usize, out_w: usize, align_corners: bool) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let matrix = |out: usize, inp: usize| {
        let m = weights(inp, out, align_corners);
        Tensor::<2>::from_data(TensorData::new(m, [out, inp]), &device)
    };
    let b = n * c;
    let rows = matrix(out_h, h).unsqueeze::<3>().expand([b, out_h, h]);
    let cols = matrix(out_w, w)
        .transpose()
        .unsqueeze::<3>()
        .expand([b, w, out_w]);
    rows.matmul(x.reshape([b, h, w]))
        .matmul(cols)
        .reshape([n, c, out_h, out_w])
}

/// [`bilinear`] on the CPU backend's memory (`x` a [`host_tensor`]), then `then` on each
/// resized plane while it is in cache. Planes run in parallel: flex computes the two products
/// of small matrices on one thread, and ScoreCAM's masks were made there while the other cores
/// waited. The same sums as the products, in the same order: rows, then columns, each output
/// the first tap's product plus the second's as one multiply-add.
pub fn bilinear_host(
    x: Tensor<4>,
    out_h: usize,
    out_w: usize,
    align_corners: bool,
    then: impl Fn(&mut [f32]) + Sync,
) -> Tensor<4> {
    on_host(x, |input, [n, c, h, w]| {
        let rows = axis(h, out_h, align_corners);
        let cols = axis(w, out_w, align_corners);
        let mut out = vec![0f32; n * c * out_h * out_w];
        out.par_chunks_mut(out_h * out_w)
            .zip(input.par_chunks(h * w))
            .for_each(|(plane, src)| {
                resize_plane(src, w, &rows, &cols, plane);
                then(plane);
            });
        (out, [n, c, out_h, out_w])
    })
}

/// One plane `src` (`w` wide) resized into `plane`: rows first, as the first product does.
fn resize_plane(src: &[f32], w: usize, rows: &[Tap], cols: &[Tap], plane: &mut [f32]) {
    // The multiply-add is one instruction with FMA and a call to libm's `fmaf` without it
    // (the same floats either way).
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("fma") {
        #[target_feature(enable = "fma")]
        unsafe fn fused(src: &[f32], w: usize, rows: &[Tap], cols: &[Tap], plane: &mut [f32]) {
            resize_plane_with(src, w, rows, cols, plane)
        }
        // SAFETY: the CPU has FMA, checked just above.
        return unsafe { fused(src, w, rows, cols, plane) };
    }
    resize_plane_with(src, w, rows, cols, plane)
}

#[inline(always)]
fn resize_plane_with(src: &[f32], w: usize, rows: &[Tap], cols: &[Tap], plane: &mut [f32]) {
    let mut tall = vec![0f32; rows.len() * w];
    for (row, &tap) in tall.chunks_exact_mut(w).zip(rows) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = two_taps(tap, |i| src[i * w + j]);
        }
    }
    for (out_row, row) in plane.chunks_exact_mut(cols.len()).zip(tall.chunks_exact(w)) {
        for (v, &tap) in out_row.iter_mut().zip(cols) {
            *v = two_taps(tap, |j| row[j]);
        }
    }
}

/// An output coordinate's two source indices and the second's weight ([`axis`]).
type Tap = (usize, usize, f32);

/// One output of an axis' interpolation: [`weights`]' row (one weight where both taps clamp
/// to the same source) times the sources.
#[inline(always)]
fn two_taps((i0, i1, frac): Tap, at: impl Fn(usize) -> f32) -> f32 {
    if i0 == i1 {
        ((1.0 - frac) + frac) * at(i0)
    } else {
        frac.mul_add(at(i1), (1.0 - frac) * at(i0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::tensor_io::to_vec;
    use burn::tensor::Device;

    /// The host's resize gives the matrix products' floats, up and down, both alignments, and
    /// `then` sees each resized plane.
    #[test]
    fn host_resize_is_the_products() {
        let d = Device::flex();
        let (n, c, h, w) = (2, 3, 7, 5);
        let data: Vec<f32> = (0..n * c * h * w)
            .map(|i| ((i * 37) % 23) as f32 * 0.173 - 1.9)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [n, c, h, w]), &d);
        for (oh, ow) in [(224, 160), (3, 4), (7, 5)] {
            for align in [false, true] {
                let want = to_vec(products(x.clone(), oh, ow, align)).unwrap();
                let got = bilinear_host(x.clone(), oh, ow, align, |p| p[0] *= 2.0);
                let got = to_vec(got).unwrap();
                assert_eq!(got.len(), want.len());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let g = if i % (oh * ow) == 0 { g / 2.0 } else { *g };
                    assert_eq!(g, *w, "{oh}×{ow} {align} {i}");
                }
            }
        }
    }
}
