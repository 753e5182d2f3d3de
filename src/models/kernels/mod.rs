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
//! - `activation`: sigmoid and HardSwish (ONNX graphs' elementwise nodes).

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
/// convolution's bias (one per input channel) and activation applied to the input as it is read,
/// and this layer's activation applied as the result is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fused<'a> {
    pub input_bias: Option<&'a [f32]>,
    pub input: Option<(f32, f32)>,
    pub output: Option<(f32, f32)>,
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
