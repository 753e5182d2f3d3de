//! Dense k×k convolutions on the CPU as one matrix product per input: the input's k² shifted
//! (and strided) views are laid out as the rows of a `[c_in·k², ho·wo]` matrix in cache-sized
//! pieces and multiplied by the `[c_out, c_in·k²]` weight with gemm, whose AVX-512 kernels run at
//! ~80 GMAC/s on one core of this project's Xeon; the bias and the activation's clamp follow on
//! the result while it is still in cache.
//!
//! Why not flex's own kernel: it converts every input to channels-last and builds its columns
//! tile by tile with a separate small product per tile; measured per input at batch 12 it ran
//! ResNet's 7×7/2 stem at 14 GMAC/s and its 3×3 layers at ~37.

use super::{ConvArgs, Geometry};
use rayon::prelude::*;

/// `x` is `[batch, c_in, h, w]`, `weight` `[c_out, c_in, k, k]` (groups must be 1); returns
/// `[batch, c_out, ho, wo]` and its shape. Only `fused.output` and `fused.smooth` are used. The signature is
/// `plane_conv::conv`'s, so that a layer can hold either.
pub fn conv(args: ConvArgs) -> (Vec<f32>, [usize; 4]) {
    let ConvArgs {
        x,
        dims: [batch, c_in, h, w],
        weight,
        bias,
        ch,
        g,
        fused,
    } = args;
    assert_eq!(ch.groups, 1, "dense convolutions only");
    let depth = c_in * g.kernel * g.kernel;
    let [_, m, ho, wo] = args.checked_output(ch.c_out * depth);
    let n = ho * wo;
    let mut out = vec![0.0f32; batch * m * n];
    if n == 0 || m == 0 {
        return (out, [batch, m, ho, wo]);
    }
    // One input per task; a lone input lets gemm use the threads instead.
    let inner = gemm_parallelism(batch);
    // Columns are built a band of output rows at a time, so that they stay in L2 while gemm
    // reads them (a whole ResNet layer1 input's would be 7 MB).
    let band = (COLUMN_BUDGET / (depth * wo)).clamp(1, ho);
    out.par_chunks_mut(m * n).enumerate().for_each_init(
        || vec![0.0f32; depth * band * wo],
        |cols, (b, out)| {
            let input = &x[b * c_in * h * w..(b + 1) * c_in * h * w];
            for first_row in (0..ho).step_by(band) {
                let rows = band.min(ho - first_row);
                let width = rows * wo;
                let cols = &mut cols[..depth * width];
                fill_columns(
                    input,
                    [c_in, h, w],
                    g,
                    wo,
                    first_row..first_row + rows,
                    cols,
                );
                // An `m×width` block of the `m×n` output (row stride n).
                let dst = &mut out[first_row * wo..];
                matmul(dst, n, weight, cols, [m, depth, width], inner);
            }
            for (row, &bv) in out.chunks_exact_mut(n).zip(bias) {
                fused.finish_with_bias(row, bv);
            }
        },
    );
    (out, [batch, m, ho, wo])
}

/// `dst = lhs · rhs` for row-major `lhs` (`m×k`, packed) and `rhs` (`k×n`, packed) into the
/// first `n` columns of `m` rows of `dst`, whose rows are `dst_stride` apart.
pub(super) fn matmul(
    dst: &mut [f32],
    dst_stride: usize,
    lhs: &[f32],
    rhs: &[f32],
    [m, k, n]: [usize; 3],
    parallelism: gemm::Parallelism,
) {
    assert!(rhs.len() >= k * n, "operands too short");
    assert!(
        m == 0 || dst.len() >= (m - 1) * dst_stride + n,
        "destination too short"
    );
    // SAFETY: the asserts above keep every access inside the three slices.
    unsafe {
        matmul_raw(
            dst.as_mut_ptr(),
            dst_stride,
            lhs,
            rhs.as_ptr(),
            n,
            [m, k, n],
            parallelism,
        )
    }
}

/// [`matmul`] on raw rows: `rhs` holds `k` rows of `n` floats, `rhs_stride` apart, and `dst`
/// may be uninitialised (it is written, never read).
///
/// # Safety
/// `dst` must be valid for writes of `m` rows of `n` floats `dst_stride` apart, and `rhs` for
/// reads of `k` rows of `n` floats `rhs_stride` apart.
pub(super) unsafe fn matmul_raw(
    dst: *mut f32,
    dst_stride: usize,
    lhs: &[f32],
    rhs: *const f32,
    rhs_stride: usize,
    [m, k, n]: [usize; 3],
    parallelism: gemm::Parallelism,
) {
    assert!(lhs.len() >= m * k, "operands too short");
    // SAFETY: the caller's guarantee and the assert above.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_stride as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs,
            1,
            rhs_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// gemm's own threads for a lone task, unless the caller already runs on the thread pool (a
/// CPU batch is split into inputs run side by side, see `Model::forward`): nesting would only
/// add scheduling.
pub(super) fn gemm_parallelism(tasks: usize) -> gemm::Parallelism {
    if tasks == 1 && rayon::current_thread_index().is_none() {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// Floats of column matrix built at a time (1 MiB, half this CPU's L2 per core).
const COLUMN_BUDGET: usize = 256 << 10;

/// Row `(c, kh, kw)` of the column matrix holds input channel `c` shifted by the tap, sampled
/// at the output positions of `out_rows`, with zeros where the tap falls into the padding.
fn fill_columns(
    input: &[f32],
    [c_in, h, w]: [usize; 3],
    g: Geometry,
    wo: usize,
    out_rows: std::ops::Range<usize>,
    cols: &mut [f32],
) {
    let (k, s) = (g.kernel, g.stride);
    let n = out_rows.len() * wo;
    for c in 0..c_in {
        let plane = &input[c * h * w..(c + 1) * h * w];
        for kh in 0..k {
            for kw in 0..k {
                let row = &mut cols[((c * k + kh) * k + kw) * n..][..n];
                // Output columns whose input column lies inside the image.
                let first = g.pad_w.0.saturating_sub(kw).div_ceil(s).min(wo);
                let end = (w + g.pad_w.0)
                    .saturating_sub(kw)
                    .div_ceil(s)
                    .clamp(first, wo);
                for (oh, out_row) in out_rows.clone().zip(row.chunks_exact_mut(wo)) {
                    let iy = (oh * s + kh) as isize - g.pad_h.0 as isize;
                    if iy < 0 || iy >= h as isize {
                        out_row.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * w..(iy as usize + 1) * w];
                    out_row[..first].fill(0.0);
                    out_row[end..].fill(0.0);
                    let x0 = first * s + kw - g.pad_w.0;
                    if s == 1 {
                        out_row[first..end].copy_from_slice(&src[x0..x0 + end - first]);
                    } else {
                        for (o, v) in out_row[first..end]
                            .iter_mut()
                            .zip(src[x0..].iter().step_by(s))
                        {
                            *o = *v;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::kernels::{Channels, Fused, Geometry};

    #[test]
    fn equals_the_plane_kernel_on_dense_convolutions() {
        // plane_conv is checked against the definition; dense layouts of several shapes here.
        let fill =
            |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| ((i as f32) * f).sin()).collect() };
        let mut inside = false;
        for (c_in, c_out, h, w, k, s, ph, pw) in [
            (3, 5, 11, 9, 3, 1, (1, 1), (1, 1)),
            (4, 6, 12, 13, 3, 2, (0, 1), (1, 0)),
            (3, 4, 16, 15, 7, 2, (3, 3), (3, 3)),
            (2, 3, 5, 5, 3, 1, (0, 0), (0, 0)),
            (5, 2, 9, 8, 5, 3, (2, 1), (1, 2)),
        ] {
            for batch in [1, 3] {
                let dims = [batch, c_in, h, w];
                let x = fill(batch * c_in * h * w, 0.37);
                let weight = fill(c_out * c_in * k * k, 0.71);
                let bias = fill(c_out, 1.3);
                let ch = Channels {
                    c_in,
                    c_out,
                    groups: 1,
                };
                let g = Geometry {
                    kernel: k,
                    stride: s,
                    pad_h: ph,
                    pad_w: pw,
                };
                let fused = Fused {
                    output: Some((0.0, 1.5)),
                    ..Fused::default()
                };
                let (want, want_shape) = super::super::plane_conv::conv(ConvArgs {
                    x: &x,
                    dims,
                    weight: &weight,
                    bias: &bias,
                    ch,
                    g,
                    fused,
                });
                let (got, shape) = conv(ConvArgs {
                    x: &x,
                    dims,
                    weight: &weight,
                    bias: &bias,
                    ch,
                    g,
                    fused,
                });
                assert_eq!(shape, want_shape);
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!((a - b).abs() < 1e-4, "{ch:?} {g:?} at {i}: {a} vs {b}");
                }
                inside |= want.iter().any(|&v| v > 0.0 && v < 1.5);
            }
        }
        assert!(inside, "a test whose outputs are all clamped");
    }
}
