//! camlens' own CPU kernels, on host floats in PyTorch's `[batch, c, h, w]` layout: flex's
//! general kernels leave most of a 2-core CPU idle on the small, many-channel planes of
//! late CNN layers (each file says why its kernel exists). The shared types live here: what a
//! convolution is (`Geometry`, `Channels`), the neighbouring work it absorbs (`Fused`), and the
//! one argument struct every convolution kernel takes (`ConvArgs`).
//!
//! - `plane_conv` + `plane_taps`: depthwise (and few-input-plane) convolutions, tap by tap.
//! - `im2col`: dense convolutions as column bands times a matrix (the `gemm` crate).
//! - `winograd`: 3×3 stride-1 dense convolutions, F(2×2, 3×3).
//! - `pointwise`: 1×1 convolutions straight as matrix products.
//! - `pool`: max pooling.
//! - `activation`: sigmoid, SiLU and HardSwish (ONNX graphs' elementwise nodes, and what the
//!   convolutions apply as they write).

/// `$vis fn $name(args)`: the loop `$plain(args)` compiled again for AVX-512 and AVX2, the widest
/// the CPU has chosen when called. The same arithmetic in each (Rust does not fuse multiply-adds),
/// so every path gives the same floats; only the vector width differs.
macro_rules! widest {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) = $plain:ident) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    $plain($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    $plain($($arg),*)
                }
                if is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $plain($($arg),*)
        }
    };
}

pub mod activation;
pub mod im2col;
pub mod plane_conv;
pub mod plane_taps;
pub mod pointwise;
pub mod pool;
pub mod winograd;

/// Kernel size, stride and (before, after) padding of rows and columns.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub kernel: usize,
    pub stride: usize,
    pub pad_h: (usize, usize),
    pub pad_w: (usize, usize),
}

impl Geometry {
    /// Output rows and columns for an `h × w` input.
    pub fn output(&self, h: usize, w: usize) -> (usize, usize) {
        let out = |n: usize, (a, b): (usize, usize)| (n + a + b - self.kernel) / self.stride + 1;
        (out(h, self.pad_h), out(w, self.pad_w))
    }
}

/// Channel layout of a convolution: `groups` groups, each mapping `c_in / groups` input planes
/// to `c_out / groups` output planes (`weight` is `[c_out, c_in / groups, k, k]`, PyTorch's).
#[derive(Debug, Clone, Copy)]
pub struct Channels {
    pub c_in: usize,
    pub c_out: usize,
    pub groups: usize,
}

/// Work of the neighbouring layers done here, each saving a pass over memory: the previous
/// convolution's bias (one per input channel) and clamp applied to the input as it is read,
/// and this layer's clamp applied as the result is written, or its smooth activation (SiLU,
/// HardSwish) on each stretch of output just written, still in cache. `pointwise` alone takes
/// `input_scale`, a factor per input channel of each input (`[batch, c_in]`: a
/// squeeze-excitation's gate, multiplied in as each band of input is read).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fused<'a> {
    pub input_bias: Option<&'a [f32]>,
    pub input: Option<(f32, f32)>,
    pub output: Option<(f32, f32)>,
    pub smooth: Option<activation::Smooth>,
    pub input_scale: Option<&'a [f32]>,
}

impl Fused<'_> {
    /// The output's smooth activation on `x`, written just now.
    pub fn finish(&self, x: &mut [f32]) {
        if let Some(s) = self.smooth {
            s.apply(x);
        }
    }

    /// `bias`, then the output's clamp and smooth activation, on `x`, a stretch of one output
    /// channel just written.
    pub fn finish_with_bias(&self, x: &mut [f32], bias: f32) {
        let (lo, hi) = self.output.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
        bias_clamp(x, bias, lo, hi);
        self.finish(x);
    }
}

widest! {
    /// `x + bias` clamped to `[lo, hi]`, in the widest vectors the CPU has: built for the
    /// baseline CPU, the loop ran four floats at a time, 8 % of MobileNetV2's ScoreCAM++ in 1×1
    /// convolutions' bias alone. Adds, maxima and minima are exact, so every path gives the
    /// same floats.
    fn bias_clamp(x: &mut [f32], bias: f32, lo: f32, hi: f32) = bias_clamp_plain
}

#[inline(always)]
fn bias_clamp_plain(x: &mut [f32], bias: f32, lo: f32, hi: f32) {
    for v in x.iter_mut() {
        *v = (*v + bias).max(lo).min(hi);
    }
}

/// One convolution as every kernel here takes it. `weight` is in the kernel's own form
/// (PyTorch's layout, or Winograd's transformed weights).
#[derive(Debug, Clone, Copy)]
pub struct ConvArgs<'a> {
    /// `[batch, c_in, h, w]` row-major.
    pub x: &'a [f32],
    pub dims: [usize; 4],
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub ch: Channels,
    pub g: Geometry,
    pub fused: Fused<'a>,
}

impl ConvArgs<'_> {
    /// The checks every kernel opens with (a wrong size would read out of bounds in the
    /// unchecked loops), given the weight length its form has; the output's `[batch, c_out,
    /// ho, wo]`.
    pub fn checked_output(&self, weight_len: usize) -> [usize; 4] {
        let [batch, c_in, h, w] = self.dims;
        assert_eq!(c_in, self.ch.c_in, "input channels");
        assert_eq!(self.weight.len(), weight_len, "weight size");
        assert_eq!(self.x.len(), batch * c_in * h * w, "input size");
        let (ho, wo) = self.g.output(h, w);
        [batch, self.ch.c_out, ho, wo]
    }
}

/// A convolution kernel: its output `[batch, c_out, ho, wo]` and that shape.
pub type ConvKernel = fn(ConvArgs) -> (Vec<f32>, [usize; 4]);

#[cfg(test)]
mod tests {
    use super::activation::{self, Smooth};
    use super::*;

    /// Every vector width adds the bias and clamps as the plain loop does, NaN and infinities
    /// included.
    #[test]
    fn every_path_gives_the_same_bias_and_clamp() {
        let mut xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0]);
        for (lo, hi) in [(0.0, 6.0), (f32::NEG_INFINITY, f32::INFINITY), (-1.0, 0.5)] {
            let mut plain = xs.clone();
            bias_clamp_plain(&mut plain, 0.25, lo, hi);
            let mut widest = xs.clone();
            bias_clamp(&mut widest, 0.25, lo, hi);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain), bits(&widest), "{lo}..{hi}");
            let want = (xs[700] + 0.25).clamp(lo, hi);
            assert_eq!(plain[700], want);
        }
    }

    /// Every convolution kernel applies a smooth activation to each output float once, after
    /// its bias and clamp: the fused output is the unfused one with the activation applied,
    /// float for float (shapes that leave partial bands and tiles, a batch of two).
    #[test]
    fn every_kernel_applies_its_smooth_activation_to_every_output() {
        let fill =
            |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * f).sin()).collect() };
        let (batch, c_in, c_out, h, w) = (2, 6, 10, 13, 11);
        let x = fill(batch * c_in * h * w, 0.37);
        let bias = fill(c_out, 1.3);
        let dense = fill(c_out * c_in * 9, 0.71);
        let geometry = |kernel: usize, stride: usize, pad: usize| Geometry {
            kernel,
            stride,
            pad_h: (pad, pad),
            pad_w: (pad, pad),
        };
        let winograd_weight = winograd::transform_weights(&dense, c_out, c_in);
        let depthwise = fill(c_in * 9, 0.53);
        let cases: [(ConvKernel, &[f32], usize, Geometry, usize); 5] = [
            (
                pointwise::conv,
                &dense[..c_out * c_in],
                c_out,
                geometry(1, 1, 0),
                1,
            ),
            (im2col::conv, &dense, c_out, geometry(3, 2, 1), 1),
            (
                winograd::conv,
                &winograd_weight,
                c_out,
                geometry(3, 1, 1),
                1,
            ),
            (plane_conv::conv, &depthwise, c_in, geometry(3, 1, 1), c_in),
            (plane_conv::conv, &depthwise, c_in, geometry(3, 2, 1), c_in),
        ];
        for (i, (kernel, weight, c_out, g, groups)) in cases.into_iter().enumerate() {
            let run = |fused: Fused| {
                kernel(ConvArgs {
                    x: &x,
                    dims: [batch, c_in, h, w],
                    weight,
                    bias: &bias[..c_out],
                    ch: Channels {
                        c_in,
                        c_out,
                        groups,
                    },
                    g,
                    fused,
                })
                .0
            };
            let clamp = Some((-1.0, 1.2));
            for (smooth, f) in [
                (Smooth::Silu, activation::silu as fn(&mut [f32])),
                (Smooth::HardSwish, activation::hard_swish),
            ] {
                let mut want = run(Fused {
                    output: clamp,
                    ..Fused::default()
                });
                let before = want.clone();
                f(&mut want);
                let got = run(Fused {
                    output: clamp,
                    smooth: Some(smooth),
                    ..Fused::default()
                });
                assert_eq!(got, want, "kernel {i}, {smooth:?}");
                assert_ne!(got, before, "kernel {i}: the activation changes the map");
            }
        }
    }
}
