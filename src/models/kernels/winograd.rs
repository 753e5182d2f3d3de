//! Dense 3×3 stride-1 convolutions on the CPU by Winograd's minimal filtering F(2×2, 3×3)
//! (Lavin & Gray, 2016): each 2×2 block of outputs ("tile") comes from a 4×4 patch of the input,
//! and in the transformed domain the convolution is 16 independent matrix products
//! `M_ξ = U_ξ · V_ξ` (`[c_out, c_in] · [c_in, tiles]`): 16 multiply-adds per 4 outputs and input
//! channel instead of 36, so 2.25× fewer than im2col's product, plus transforms that are linear
//! in the channels. The 3×3 layers are most of ResNet's, VGG's, RegNet's and DenseNet's work.
//!
//! F(2×2, 3×3) rather than F(4×4, 3×3), by measurement: an F(4×4) version (36 products per 16
//! outputs, 1.78× fewer multiply-adds) ran ResNet-18's ScoreCAM++ in the same time as this one
//! (21.2 vs 21.4 s, three rounds each, AMD EPYC build machine, both with the band sizing below):
//! its larger transforms and thinner products ate the saving, and its transformed weights take
//! 36/16 as much memory. Its coefficients (¼…1/24, up to 8) also gave slightly larger errors
//! (5.4e-6 of the output range in the test below, against 4.3e-6 here); F(2×2)'s are 0, ±½
//! and ±1 only.
//!
//! Tiles are taken a band of tile rows at a time, sized so that the band's transformed input
//! and products stay in L2 while gemm reads and writes them; the bias and the activation's
//! clamp are applied in the output transform. Input and output transforms run along whole rows
//! so that the compiler vectorises them.

use super::im2col::{gemm_parallelism, matmul};
use super::{ConvArgs, Fused};
use rayon::prelude::*;

/// Floats of transformed input and products held per band (1 MiB, half an L2 per core here).
const BAND_BUDGET: usize = 256 << 10;

/// `U_ξ = G g Gᵀ` of every (output, input) channel pair, laid out `[16][c_out][c_in]` as the
/// products read it. `weight` is PyTorch's `[c_out, c_in, 3, 3]`.
pub fn transform_weights(weight: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    assert_eq!(weight.len(), c_out * c_in * 9, "a 3×3 weight");
    const G: [[f64; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut u = vec![0.0f32; 16 * c_out * c_in];
    for o in 0..c_out {
        for c in 0..c_in {
            let g = &weight[(o * c_in + c) * 9..][..9];
            // G g: 4×3, then (G g) Gᵀ: 4×4.
            let mut gg = [[0.0f64; 3]; 4];
            for (i, row) in gg.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|k| G[i][k] * g[k * 3 + j] as f64).sum();
                }
            }
            for i in 0..4 {
                for j in 0..4 {
                    let v: f64 = (0..3).map(|k| gg[i][k] * G[j][k]).sum();
                    u[((i * 4 + j) * c_out + o) * c_in + c] = v as f32;
                }
            }
        }
    }
    u
}

/// `x` is `[batch, c_in, h, w]`, `u` from [`transform_weights`]; returns `[batch, c_out, ho, wo]`
/// and its shape. Only `fused.output` and `fused.smooth` are used. The signature is `im2col::conv`'s, so that a
/// layer can hold either.
pub fn conv(args: ConvArgs) -> (Vec<f32>, [usize; 4]) {
    let ConvArgs {
        x,
        dims: [batch, c_in, h, w],
        weight: u,
        bias,
        ch,
        g,
        fused,
    } = args;
    assert_eq!(
        (g.kernel, g.stride, ch.groups),
        (3, 1, 1),
        "3×3, stride 1, dense"
    );
    let [_, c_out, ho, wo] = args.checked_output(16 * ch.c_out * c_in);
    let mut out = vec![0.0f32; batch * c_out * ho * wo];
    if ho == 0 || wo == 0 || c_out == 0 {
        return (out, [batch, c_out, ho, wo]);
    }
    let (th, tw) = (ho.div_ceil(2), wo.div_ceil(2));
    // Bands of tile rows across the whole batch: late layers have few tiles per input
    // (16 at 7×7), and their products only reach gemm's speed with many inputs' tiles side by
    // side.
    let band_rows = band_rows(BAND_BUDGET / (16 * (c_in + c_out) * tw), tw, batch * th);
    let rows: Vec<(usize, usize)> = (0..batch)
        .flat_map(|b| (0..th).map(move |ty| (b, ty)))
        .collect();
    let bands: Vec<&[(usize, usize)]> = rows.chunks(band_rows).collect();
    // One band per task; a lone band lets gemm use the threads instead.
    let inner = gemm_parallelism(bands.len());
    let plan = Plan {
        c_in,
        c_out,
        h,
        w,
        ho,
        wo,
        tw,
        pad: (g.pad_h.0, g.pad_w.0),
    };
    let dst = SharedOut(out.as_mut_ptr());
    let work = |scratch: &mut Scratch, band: &[(usize, usize)]| {
        let n = band.len() * tw;
        transform_input(
            &plan,
            x,
            band,
            &mut scratch.v[..16 * c_in * n],
            &mut scratch.row,
        );
        for xi in 0..16 {
            matmul(
                &mut scratch.m[xi * c_out * n..(xi + 1) * c_out * n],
                n,
                &u[xi * c_out * c_in..(xi + 1) * c_out * c_in],
                &scratch.v[xi * c_in * n..(xi + 1) * c_in * n],
                [c_out, c_in, n],
                inner,
            );
        }
        let m = &scratch.m[..16 * c_out * n];
        transform_output(&plan, m, band, bias, &fused, &dst, &mut scratch.row);
    };
    bands.par_iter().for_each(|band| {
        KEPT.with(|kept| {
            // A thread already inside a band (it ran another task while waiting for gemm's
            // threads) takes buffers of its own.
            let (mut kept, mut own) = (kept.try_borrow_mut().ok(), None);
            let scratch = match kept.as_deref_mut() {
                Some(kept) => kept,
                None => own.insert(Scratch::default()),
            };
            scratch.fit(&plan, band_rows);
            work(scratch, band);
        })
    });
    (out, [batch, c_out, ho, wo])
}

/// Tile rows per band: what fits `fit`, but at least 64 tiles (gemm runs 16 at a time, and a
/// thinner product is mostly its remainder kernels), rounded up to whole 16s of tiles where a
/// few more rows do that. With late layers batched (`Network::cpu_batch_from`): ResNet-18's
/// ScoreCAM++ 23.6 → 21.4 s (three rounds each, AMD EPYC build machine).
fn band_rows(fit: usize, tw: usize, rows: usize) -> usize {
    let least = fit.max(64usize.div_ceil(tw));
    let whole = (least..least + 16).find(|r| (r * tw).is_multiple_of(16));
    whole.unwrap_or(least).clamp(1, rows)
}

/// The output, written by the bands in parallel: each writes only its own tile rows' output
/// rows (two per tile row, per input and channel), which no other band touches.
struct SharedOut(*mut f32);
// SAFETY: see above; the pointer outlives the parallel loop that uses it.
unsafe impl Sync for SharedOut {}

/// One layer's sizes: input, output, tiles per row, (top, left) padding.
struct Plan {
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    tw: usize,
    pad: (usize, usize),
}

thread_local! {
    /// Each thread's band buffers, kept from call to call: allocating and zero-filling them for
    /// every task was ~4 % of ResNet-18's ScoreCAM++ profile.
    static KEPT: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// A thread's buffers, reused across bands, inputs and calls; every part used is written
/// before it is read.
#[derive(Default)]
struct Scratch {
    /// `[16][c_in][n]`: the band's transformed input.
    v: Vec<f32>,
    /// `[16][c_out][n]`: the band's products.
    m: Vec<f32>,
    /// Rows of the tile transforms: 4 padded input rows, then 4 partial rows.
    row: Vec<f32>,
}

impl Scratch {
    /// Grown (never shrunk) to what `band_rows` tile rows of this layer need.
    fn fit(&mut self, p: &Plan, band_rows: usize) {
        let n = band_rows * p.tw;
        let grow = |v: &mut Vec<f32>, len: usize| {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        };
        grow(&mut self.v, 16 * p.c_in * n);
        grow(&mut self.m, 16 * p.c_out * n);
        grow(&mut self.row, 8 * (2 * p.tw + 2));
    }
}

/// `V = Bᵀ d B` of every tile of the band (`(input, tile row)` pairs) and input channel, into
/// `v` (`[16][c_in][n]`). `x` is the whole batch.
fn transform_input(p: &Plan, x: &[f32], band: &[(usize, usize)], v: &mut [f32], row: &mut [f32]) {
    let width = 2 * p.tw + 2;
    let n = band.len() * p.tw;
    let (d, t) = row.split_at_mut(4 * width);
    for c in 0..p.c_in {
        for (r, &(b, ty)) in band.iter().enumerate() {
            let plane = &x[(b * p.c_in + c) * p.h * p.w..][..p.h * p.w];
            // The tile row's 4 input rows, zero-padded to the tiles' width.
            for (i, d) in d.chunks_exact_mut(width).enumerate() {
                d.fill(0.0);
                let iy = (2 * ty + i) as isize - p.pad.0 as isize;
                if iy < 0 || iy >= p.h as isize {
                    continue;
                }
                let src = &plane[iy as usize * p.w..][..p.w];
                // Input column x sits at padded column x + pad.1, clipped to the tiles' width.
                let start = p.pad.1;
                let len = p.w.min(width.saturating_sub(start));
                d[start..start + len].copy_from_slice(&src[..len]);
            }
            // Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3, along the whole row.
            let (d0, rest) = d.split_at(width);
            let (d1, rest) = rest.split_at(width);
            let (d2, d3) = rest.split_at(width);
            let (t0, rest) = t.split_at_mut(width);
            let (t1, rest) = rest.split_at_mut(width);
            let (t2, t3) = rest.split_at_mut(width);
            for x in 0..width {
                t0[x] = d0[x] - d2[x];
                t1[x] = d1[x] + d2[x];
                t2[x] = d2[x] - d1[x];
                t3[x] = d1[x] - d3[x];
            }
            // (Bᵀ d) B: the same combination of each tile's 4 columns.
            let base = r * p.tw;
            for (i, ti) in [&*t0, &*t1, &*t2, &*t3].into_iter().enumerate() {
                let at = |j: usize| ((i * 4 + j) * p.c_in + c) * n + base;
                let (a, rest) = v.split_at_mut(at(1));
                let (b, rest) = rest.split_at_mut(at(2) - at(1));
                let (e, f) = rest.split_at_mut(at(3) - at(2));
                let v0 = &mut a[at(0)..][..p.tw];
                let (v1, v2, v3) = (&mut b[..p.tw], &mut e[..p.tw], &mut f[..p.tw]);
                for tx in 0..p.tw {
                    let s = &ti[2 * tx..2 * tx + 4];
                    v0[tx] = s[0] - s[2];
                    v1[tx] = s[1] + s[2];
                    v2[tx] = s[2] - s[1];
                    v3[tx] = s[1] - s[3];
                }
            }
        }
    }
}

/// `Y = Aᵀ M A` of every tile of the band and output channel, plus the bias, with the fused
/// activation, into the output (`[batch, c_out, ho, wo]`).
fn transform_output(
    p: &Plan,
    m: &[f32],
    band: &[(usize, usize)],
    bias: &[f32],
    fused: &Fused,
    out: &SharedOut,
    row: &mut [f32],
) {
    let n = band.len() * p.tw;
    let tw = p.tw;
    let (z, y) = row.split_at_mut(8 * tw);
    for o in 0..p.c_out {
        for (r, &(b, ty)) in band.iter().enumerate() {
            let base = r * tw;
            let mrow = |i: usize, j: usize| &m[((i * 4 + j) * p.c_out + o) * n + base..][..tw];
            // Aᵀ M: rows M0 + M1 + M2 and M1 − M2 − M3, per column j of the tile.
            for j in 0..4 {
                let (m0, m1, m2, m3) = (mrow(0, j), mrow(1, j), mrow(2, j), mrow(3, j));
                let (z0, z1) = z[2 * j * tw..(2 * j + 2) * tw].split_at_mut(tw);
                for t in 0..tw {
                    z0[t] = m0[t] + m1[t] + m2[t];
                    z1[t] = m1[t] - m2[t] - m3[t];
                }
            }
            // (Aᵀ M) A: columns Z0 + Z1 + Z2 and Z1 − Z2 − Z3, interleaved into output rows.
            for i in 0..2 {
                let oy = 2 * ty + i;
                if oy >= p.ho {
                    continue;
                }
                let zc = |j: usize| &z[(2 * j + i) * tw..][..tw];
                let (z0, z1, z2, z3) = (zc(0), zc(1), zc(2), zc(3));
                let yr = &mut y[..2 * tw];
                for t in 0..tw {
                    yr[2 * t] = z0[t] + z1[t] + z2[t];
                    yr[2 * t + 1] = z1[t] - z2[t] - z3[t];
                }
                // SAFETY: row `oy` of input `b`, channel `o` is this band's alone (SharedOut).
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(
                        out.0.add(((b * p.c_out + o) * p.ho + oy) * p.wo),
                        p.wo,
                    )
                };
                dst.copy_from_slice(&yr[..p.wo]);
                fused.finish_with_bias(dst, bias[o]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::kernels::{Channels, Fused, Geometry};

    /// Real 3×3 layers' magnitudes: post-ReLU inputs up to ~3, weights ~ He-initialised.
    fn layer(
        c_in: usize,
        c_out: usize,
        h: usize,
        w: usize,
        batch: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let x = (0..batch * c_in * h * w)
            .map(|i| (1.5 + 1.5 * ((i as f32) * 0.37).sin()).max(0.0))
            .collect();
        let scale = (2.0 / (9 * c_in) as f32).sqrt();
        let weight = (0..c_out * c_in * 9)
            .map(|i| scale * 1.7 * ((i as f32) * 0.71).sin())
            .collect();
        let bias = (0..c_out).map(|i| 0.1 * (i as f32 * 1.3).sin()).collect();
        (x, weight, bias)
    }

    #[test]
    fn equals_the_direct_convolution_within_float_rounding() {
        let mut worst = 0.0f32;
        for (c_in, c_out, h, w, pad_h, pad_w, batch) in [
            (64, 64, 56, 56, (1, 1), (1, 1), 2),
            (8, 5, 11, 9, (1, 1), (1, 1), 1),
            (6, 7, 12, 13, (0, 0), (0, 0), 3),
            (5, 4, 7, 7, (0, 2), (2, 0), 2),
            (256, 256, 14, 14, (1, 1), (1, 1), 1),
            (512, 512, 7, 7, (1, 1), (1, 1), 2),
        ] {
            let (x, weight, bias) = layer(c_in, c_out, h, w, batch);
            let dims = [batch, c_in, h, w];
            let ch = Channels {
                c_in,
                c_out,
                groups: 1,
            };
            let g = Geometry {
                kernel: 3,
                stride: 1,
                pad_h,
                pad_w,
            };
            for fused in [
                Fused::default(),
                Fused {
                    output: Some((0.0, 6.0)),
                    ..Fused::default()
                },
            ] {
                let (want, want_shape) = super::super::im2col::conv(ConvArgs {
                    x: &x,
                    dims,
                    weight: &weight,
                    bias: &bias,
                    ch,
                    g,
                    fused,
                });
                let u = transform_weights(&weight, c_out, c_in);
                let (got, shape) = conv(ConvArgs {
                    x: &x,
                    dims,
                    weight: &u,
                    bias: &bias,
                    ch,
                    g,
                    fused,
                });
                assert_eq!(shape, want_shape);
                let (lo, hi) = want
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
                let err = got
                    .iter()
                    .zip(&want)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
                    / (hi - lo);
                assert!(err <= 1e-5, "{ch:?} {g:?}: {err} of the output range");
                worst = worst.max(err);
            }
        }
        eprintln!("worst difference from the direct convolution: {worst:.1e} of the output range");
    }
}
