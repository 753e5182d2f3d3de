//! Bilinear resizing as PyTorch's `interpolate(mode="bilinear")` does it (no antialiasing),
//! on any device as two matrix products `R_h X R_wᵀ`. burn's interpolate kernel on wgpu gave
//! other numbers than flex's on lavapipe (1.5 off for a [6, 1, 8, 8] → 32×32 map, found by
//! tests/integration/gpu_path.rs); matrix products are the same on every backend.

use burn::tensor::{Tensor, TensorData};

/// For each output coordinate along an axis of `n_in` → `n_out`: the two source indices and
/// the weight of the second (`align_corners = false`: source `(i + ½) · n_in/n_out − ½`
/// clamped at 0; `true`: `i · (n_in − 1)/(n_out − 1)`).
pub fn axis(n_in: usize, n_out: usize, align_corners: bool) -> Vec<(usize, usize, f32)> {
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
