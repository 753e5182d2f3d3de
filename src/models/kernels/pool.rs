//! Max pooling on the CPU, as two passes per plane: the maximum over each window's columns
//! along every input row, then over its rows, a whole output row at a time.
//!
//! Why not flex's own: it runs 2-D pooling as 3-D pooling with indices (for a backward pass
//! that inference never takes); ResNet-18's 3×3/2 stem pool on 64 × 112 × 112 was 15 % of its
//! ScoreCAM++ profile on the AMD EPYC build machine. Padding never wins (PyTorch's), and the
//! result is exactly flex's: a maximum does not round.

use rayon::prelude::*;

/// `x` is `[batch, channels, h, w]`; a `kernel`² window every `stride`, `pad` on every side
/// (floor mode); returns `[batch, channels, ho, wo]` and its shape.
pub fn max_pool(
    x: &[f32],
    dims: [usize; 4],
    kernel: usize,
    stride: usize,
    pad: usize,
) -> (Vec<f32>, [usize; 4]) {
    max_pool_padded(x, dims, kernel, stride, ((pad, pad), (pad, pad)))
}

/// As [`max_pool`], with (before, after) padding of rows and of columns (part of a plane: see
/// `quiet`).
pub fn max_pool_padded(
    x: &[f32],
    [batch, c, h, w]: [usize; 4],
    kernel: usize,
    stride: usize,
    (pad_h, pad_w): ((usize, usize), (usize, usize)),
) -> (Vec<f32>, [usize; 4]) {
    assert_eq!(x.len(), batch * c * h * w, "input size");
    assert!(kernel > 0 && stride > 0, "a window and a stride");
    let outputs = |n: usize, (a, b): (usize, usize)| {
        assert!(n + a + b >= kernel, "a window larger than the padded plane");
        (n + a + b - kernel) / stride + 1
    };
    let (ho, wo) = (outputs(h, pad_h), outputs(w, pad_w));
    let mut out = vec![0.0f32; batch * c * ho * wo];
    if out.is_empty() {
        return (out, [batch, c, ho, wo]);
    }
    // Input rows (or columns) that window `o` covers, clipped to the plane.
    let span = |o: usize, n: usize, pad: usize| {
        let start = (o * stride).saturating_sub(pad);
        let end = (o * stride + kernel).saturating_sub(pad).min(n);
        start..end
    };
    let plane = |(input, out): (&[f32], &mut [f32]), rows: &mut Vec<f32>| {
        rows.resize(h * wo, 0.0);
        for (row, dst) in input.chunks_exact(w).zip(rows.chunks_exact_mut(wo)) {
            for (ox, d) in dst.iter_mut().enumerate() {
                *d = row[span(ox, w, pad_w.0)]
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
            }
        }
        for (oy, dst) in out.chunks_exact_mut(wo).enumerate() {
            dst.fill(f32::NEG_INFINITY);
            for y in span(oy, h, pad_h.0) {
                for (d, &v) in dst.iter_mut().zip(&rows[y * wo..(y + 1) * wo]) {
                    *d = if v > *d { v } else { *d };
                }
            }
        }
    };
    // Already on the thread pool (inputs run side by side, see `Model::forward`): this core
    // does the whole input.
    if rayon::current_thread_index().is_some() {
        let mut rows = vec![];
        x.chunks_exact(h * w)
            .zip(out.chunks_exact_mut(ho * wo))
            .for_each(|p| plane(p, &mut rows));
    } else {
        x.par_chunks_exact(h * w)
            .zip(out.par_chunks_exact_mut(ho * wo))
            .for_each_init(Vec::new, |rows, p| plane(p, rows));
    }
    (out, [batch, c, ho, wo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::max_pool2d;
    use burn::tensor::ops::MaxPoolOptions;
    use burn::tensor::{Device, Tensor, TensorData};

    /// Exactly burn's own pooling: ResNet's 3×3/2 with padding 1, VGG's 2×2/2, odd sizes,
    /// stride 1, negative values (padding must not win).
    #[test]
    fn equals_burns_max_pool() {
        let device = Device::flex();
        for (dims, k, s, p) in [
            ([2, 3, 13, 11], 3, 2, 1),
            ([1, 4, 8, 8], 2, 2, 0),
            ([1, 2, 7, 9], 3, 1, 1),
            ([2, 1, 5, 6], 3, 3, 0),
        ] {
            let n: usize = dims.iter().product();
            let x: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.77).sin() - 0.5).collect();
            let (got, shape) = max_pool(&x, dims, k, s, p);
            let mut o = MaxPoolOptions::new([k, k]);
            o.stride = [s, s];
            o.padding = [(p, p); 2];
            let t: Tensor<4> = Tensor::from_data(TensorData::new(x, dims), &device);
            let want = max_pool2d(t, o);
            assert_eq!(shape, want.dims());
            assert_eq!(
                got,
                want.into_data().try_to_vec::<f32>().unwrap(),
                "{dims:?} {k} {s} {p}"
            );
        }
    }
}
