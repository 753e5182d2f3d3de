//! 1×1 stride-1 convolutions on the CPU (EfficientNet's and MobileNet's expansions and
//! projections, ResNet's bottlenecks): per input one product `[c_out, c_in] · [c_in, h·w]` read
//! straight from NCHW. The output is computed a band of columns at a time, sized so that the
//! band is still in L2 when its bias and clamp are applied, into a buffer that is never
//! zero-filled first.
//!
//! A squeeze-excitation's gate (`Fused::input_scale`) is multiplied into each band of input
//! as it is copied for the product, in cache, instead of a pass over the whole map before it.
//!
//! Why not flex's own 1×1 path: it zero-fills its output, multiplies, then adds the bias in a
//! second pass over memory, and the clamp takes a third; on Lite0's ScoreCAM++ the zero-filling
//! alone was 11 % of the profile (its expansions write 4.8 MB per input).

use super::ConvArgs;
use super::im2col::{gemm_parallelism, matmul_raw};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Floats of output per band (256 KiB, a quarter of an L2 per core here).
const BAND_BUDGET: usize = 64 << 10;

/// `x` is `[batch, c_in, h, w]`, `weight` `[c_out, c_in, 1, 1]`; returns `[batch, c_out, h, w]`
/// and its shape. `fused.input_bias` and `fused.input` are not taken. The signature is `im2col::conv`'s, so that a
/// layer can hold either.
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
    assert_eq!(
        (g.kernel, g.stride, g.pad_h, g.pad_w, ch.groups),
        (1, 1, (0, 0), (0, 0), 1),
        "1×1, stride 1, no padding, dense"
    );
    let [_, m, ..] = args.checked_output(ch.c_out * c_in);
    let n = h * w;
    assert_eq!(bias.len(), m, "bias size");
    if let Some(s) = fused.input_scale {
        assert_eq!(
            s.len(),
            batch * c_in,
            "a factor per input channel of each input"
        );
    }
    let mut out: Vec<MaybeUninit<f32>> = Vec::with_capacity(batch * m * n);
    // SAFETY: `MaybeUninit` needs no initialisation; every element is written below before the
    // vector is turned into a `Vec<f32>`.
    unsafe { out.set_len(batch * m * n) };
    if batch * m * n > 0 {
        let inner = gemm_parallelism(batch);
        let band = (BAND_BUDGET / m).next_multiple_of(16).clamp(16, n.max(16));
        out.par_chunks_mut(m * n).enumerate().for_each(|(b, out)| {
            let input = &x[b * c_in * n..(b + 1) * c_in * n];
            let scale = fused.input_scale.map(|s| &s[b * c_in..(b + 1) * c_in]);
            let mut scaled = vec![
                0.0f32;
                if scale.is_some() {
                    c_in * band.min(n)
                } else {
                    0
                }
            ];
            for first in (0..n).step_by(band) {
                let width = band.min(n - first);
                let (rhs, rhs_stride) = match scale {
                    Some(scale) => {
                        let rows = scaled.chunks_exact_mut(width).zip(input.chunks_exact(n));
                        for ((dst, src), &f) in rows.zip(scale) {
                            dst.iter_mut()
                                .zip(&src[first..first + width])
                                .for_each(|(d, v)| *d = v * f);
                        }
                        (scaled.as_ptr(), width)
                    }
                    None => (input[first..].as_ptr(), n),
                };
                let dst = out[first..].as_mut_ptr().cast::<f32>();
                // SAFETY: `dst` addresses `m` rows of `width` floats, `n` apart, inside `out`
                // (`first + width ≤ n`); `rhs` is `c_in` rows of `width` floats, `rhs_stride`
                // apart, inside `input` or `scaled` (`c_in · width` floats). gemm writes every
                // element of the block without reading it.
                unsafe {
                    matmul_raw(dst, n, weight, rhs, rhs_stride, [m, c_in, width], inner);
                }
                for (row, &bv) in out[first..].chunks_mut(n).zip(bias) {
                    let row = &mut row[..width] as *mut [MaybeUninit<f32>] as *mut [f32];
                    // SAFETY: the product above wrote every element of the row's band;
                    // `MaybeUninit<f32>` has `f32`'s layout.
                    fused.finish_with_bias(unsafe { &mut *row }, bv);
                }
            }
        });
    }
    let mut out = std::mem::ManuallyDrop::new(out);
    let (ptr, len, cap) = (out.as_mut_ptr(), out.len(), out.capacity());
    // SAFETY: every element was initialised above; `MaybeUninit<f32>` has `f32`'s layout.
    let out = unsafe { Vec::from_raw_parts(ptr.cast::<f32>(), len, cap) };
    (out, [batch, m, h, w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::kernels::{Channels, Fused, Geometry};

    #[test]
    fn equals_the_definition() {
        let fill =
            |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| ((i as f32) * f).sin()).collect() };
        // Shapes that leave partial bands and single columns.
        for (c_in, c_out, h, w) in [(16, 96, 40, 41), (3, 5, 1, 1), (40, 1100, 7, 7)] {
            for batch in [1, 3] {
                let n = h * w;
                let x = fill(batch * c_in * n, 0.37);
                let weight = fill(c_out * c_in, 0.71);
                let bias = fill(c_out, 1.3);
                let ch = Channels {
                    c_in,
                    c_out,
                    groups: 1,
                };
                let g = Geometry {
                    kernel: 1,
                    stride: 1,
                    pad_h: (0, 0),
                    pad_w: (0, 0),
                };
                let fused = Fused {
                    output: Some((0.0, 1.5)),
                    ..Fused::default()
                };
                let (got, shape) = conv(ConvArgs {
                    x: &x,
                    dims: [batch, c_in, h, w],
                    weight: &weight,
                    bias: &bias,
                    ch,
                    g,
                    fused,
                });
                assert_eq!(shape, [batch, c_out, h, w]);
                let (mut inside, mut clamped) = (false, false);
                for b in 0..batch {
                    for o in 0..c_out {
                        for p in 0..n {
                            let sum: f32 = (0..c_in)
                                .map(|c| weight[o * c_in + c] * x[(b * c_in + c) * n + p])
                                .sum();
                            let want = (sum + bias[o]).clamp(0.0, 1.5);
                            let got = got[(b * c_out + o) * n + p];
                            assert!((got - want).abs() < 1e-4, "{c_in}→{c_out}: {got} vs {want}");
                            inside |= want > 0.0 && want < 1.5;
                            clamped |= want == 0.0 || want == 1.5;
                        }
                    }
                }
                assert!(inside && clamped, "outputs both inside and at the clamp");
            }
        }
    }

    /// A gate per input channel of each input gives, float for float, the product of the
    /// input multiplied by it first (a squeeze-excitation's Mul, then this convolution), over
    /// bands that end inside the plane.
    #[test]
    fn an_input_scale_is_the_scaled_input_s_product() {
        let fill =
            |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * f).sin()).collect() };
        for (c_in, c_out, h, w) in [(24, 40, 30, 31), (96, 24, 7, 7)] {
            let (batch, n) = (2, h * w);
            let x = fill(batch * c_in * n, 0.37);
            let gate = fill(batch * c_in, 0.9);
            let weight = fill(c_out * c_in, 0.71);
            let bias = fill(c_out, 1.3);
            let args = |x: &[f32], input_scale| {
                conv(ConvArgs {
                    x,
                    dims: [batch, c_in, h, w],
                    weight: &weight,
                    bias: &bias,
                    ch: Channels {
                        c_in,
                        c_out,
                        groups: 1,
                    },
                    g: Geometry {
                        kernel: 1,
                        stride: 1,
                        pad_h: (0, 0),
                        pad_w: (0, 0),
                    },
                    fused: Fused {
                        input_scale,
                        ..Fused::default()
                    },
                })
                .0
            };
            let scaled: Vec<f32> = x.iter().enumerate().map(|(i, v)| v * gate[i / n]).collect();
            let got = args(&x, Some(&gate));
            assert_eq!(got, args(&scaled, None), "{c_in}→{c_out}");
            assert_ne!(got, args(&x, None), "the gate changes the output");
        }
    }
}
