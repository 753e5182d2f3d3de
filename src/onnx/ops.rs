//! The operations an ONNX graph compiles to (`compile.rs` builds them from the parser's nodes;
//! `run.rs` runs them).

use crate::models::layers::Conv;
use crate::models::layers::reduced::cast;
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{DType, Device, Tensor};

#[derive(Debug)]
pub struct Op {
    pub name: String,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    pub(super) kind: Kind,
}

impl Op {
    /// Whether the node holds weights `set_dtype` casts.
    pub(super) fn has_weights(&self) -> bool {
        matches!(
            self.kind,
            Kind::Conv(_) | Kind::ConvGeneral { .. } | Kind::Linear { .. }
        )
    }

    /// A weighted node's products in `dtype` (see `crate::precision`). A Linear node's bias is
    /// added after its product is cast back, so it stays f32.
    pub(super) fn set_dtype(&mut self, dtype: DType) {
        match &mut self.kind {
            Kind::Conv(conv) => conv.set_dtype(dtype),
            // Grouped convolutions stay f32, as in `Conv::set_dtype`.
            Kind::ConvGeneral { options, .. } if options.groups > 1 => {}
            Kind::ConvGeneral { weight, bias, .. } => {
                cast(weight, dtype);
                bias.iter_mut().for_each(|b| cast(b, dtype));
            }
            Kind::Linear { weight, .. } => cast(weight, dtype),
            _ => {}
        }
    }
}

#[derive(Debug)]
pub(super) enum Kind {
    /// Symmetric padding, square kernel, no dilation: camlens' own convolution.
    Conv(Box<Conv>),
    /// Anything else a Conv node can be: burn's convolution with explicit options.
    ConvGeneral {
        weight: Tensor<4>,
        bias: Option<Tensor<1>>,
        options: ConvOptions<2>,
        /// auto_pad SAME_*: `options.padding` computed from each input's size.
        same: Option<Same>,
    },
    BatchNorm {
        scale: Tensor<1>,
        shift: Tensor<1>,
    },
    Relu,
    Clip(Option<f32>, Option<f32>),
    Sigmoid,
    HardSigmoid(f32, f32),
    HardSwish,
    Tanh,
    Gelu,
    Erf,
    Binary(Arith),
    MaxPool(MaxPoolOptions<2>, Option<Same>),
    AvgPool(AvgPoolOptions<2>, Option<Same>),
    GlobalAvgPool,
    Flatten(usize),
    /// The shape is a constant, or else the value of input 1.
    Reshape {
        shape: Option<Vec<i64>>,
        relax_batch: bool,
        device: Device,
    },
    /// Dimensions `start..end` of the input's shape, as integers.
    Shape(usize, usize),
    /// Along an axis; a scalar index removes the axis.
    Gather {
        axis: usize,
        scalar: bool,
    },
    Unsqueeze(Vec<i64>),
    Squeeze(Option<Src>),
    Slice {
        starts: Src,
        ends: Src,
        axes: Option<Src>,
        steps: Option<Src>,
    },
    /// To a shape; integers expanded to more than one axis become floats on the device.
    Expand(Src, Device),
    Split {
        axis: usize,
        sizes: Option<Src>,
    },
    Pad {
        pads: PadSrc,
        value: f32,
    },
    ConstantOfShape {
        shape: Src,
        value: f32,
        int: bool,
        device: Device,
    },
    /// To integers (kept on the host where they are a list) or to floats.
    Cast {
        to_float: bool,
        device: Device,
    },
    /// softmax(Q·Kᵀ·scale + mask)·V over `[B, heads, tokens, d]`; the parser fuses attention
    /// blocks into it.
    Attention {
        scale: Option<f64>,
    },
    /// Of a `[N, C, H, W]` map.
    Resize {
        how: How,
        size: ResizeTo,
    },
    /// ONNX ScatterND without reduction (inputs: data, indices, updates).
    ScatterNd,
    Equal,
    Where,
    Not,
    Mod,
    Sqrt,
    Neg,
    Pow,
    Range(Src, Src, Src),
    /// Over the given axes.
    ReduceMean {
        axes: Vec<i64>,
        keepdims: bool,
    },
    /// `x · W + b` with `W` as `[in, out]`.
    Linear {
        weight: Tensor<2>,
        bias: Option<Tensor<1>>,
    },
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    MatMul,
    Concat(usize),
    Softmax(usize),
    Transpose(Vec<usize>),
    /// Over the last axis, as burn's `layer_norm`.
    LayerNorm {
        gamma: Tensor<1>,
        beta: Option<Tensor<1>>,
        epsilon: f64,
    },
    Identity,
}

/// Integers an operation takes: fixed in the file, or computed in the graph (input `i`).
#[derive(Debug, Clone)]
pub(super) enum Src {
    Static(Vec<i64>),
    Input(usize),
}

/// How a Resize samples.
#[derive(Debug)]
pub(super) enum How {
    /// burn's interpolation.
    Burn {
        mode: burn::tensor::ops::InterpolateMode,
        align_corners: bool,
    },
    /// The source pixel of each output pixel, by ONNX's formulas.
    Nearest {
        coords: onnx_ir::node::resize::CoordinateTransformMode,
        rounding: onnx_ir::node::resize::NearestMode,
    },
}

/// A Resize's target: ONNX's full-rank sizes or scales.
#[derive(Debug, Clone)]
pub(super) enum ResizeTo {
    Sizes(Src),
    Scales(Vec<f32>),
}

#[derive(Debug, Clone)]
pub(super) enum PadSrc {
    /// `(before, after)` per axis.
    Pairs(Vec<(usize, usize)>),
    /// ONNX's `[begins…, ends…]`, the value of input `i`.
    Input(usize),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    /// A Transpose's permutation of a rank-4 tensor.
    pub fn permutation(&self) -> Option<[usize; 4]> {
        match &self.kind {
            Kind::Transpose(p) => p.as_slice().try_into().ok(),
            _ => None,
        }
    }

    pub fn is_conv(&self) -> bool {
        matches!(self.kind, Kind::Conv(_) | Kind::ConvGeneral { .. })
    }

    pub fn is_layer_norm(&self) -> bool {
        matches!(self.kind, Kind::LayerNorm { .. })
    }

    /// Operations whose output axes are not the input's (a layout does not survive them).
    pub fn regroups_axes(&self) -> bool {
        matches!(
            self.kind,
            Kind::Reshape { .. }
                | Kind::Flatten(_)
                | Kind::Gather { .. }
                | Kind::Squeeze(_)
                | Kind::Unsqueeze(_)
                | Kind::Expand(..)
                | Kind::MatMul
                | Kind::Gemm { .. }
        )
    }

    /// A product with a matrix on the right: a linear map of the last axis at every position
    /// (an exported nn.Linear whose weight the graph transposes), which keeps a channels-last
    /// layout.
    pub fn maps_last_axis(&self, dims: &[Option<Vec<usize>>]) -> bool {
        matches!(self.kind, Kind::MatMul)
            && self
                .inputs
                .get(1)
                .copied()
                .flatten()
                .and_then(|s| dims[s].as_ref())
                .is_some_and(|d| d.len() == 2)
    }

    /// A product of two computed values (attention's scores and their use), which mixes tokens.
    pub fn mixes(&self, constant: &[bool]) -> bool {
        matches!(self.kind, Kind::MatMul)
            && self
                .inputs
                .iter()
                .flatten()
                .filter(|&&s| !constant[s])
                .count()
                == 2
    }
}

/// ONNX's `auto_pad` SAME_UPPER / SAME_LOWER: the output is ⌈input / stride⌉ long, and the
/// padding that takes depends on the input's size, so it is computed at run time. The odd
/// pixel goes at the end (UPPER, TensorFlow's SAME) or at the start (LOWER).
#[derive(Debug, Clone, Copy)]
pub(super) struct Same {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub lower: bool,
}

impl Same {
    /// The padding of a window over an input of `dims` `[N, C, H, W]`: `fixed`, or SAME's.
    pub fn padding(
        same: &Option<Same>,
        fixed: [(usize, usize); 2],
        dims: [usize; 4],
    ) -> [(usize, usize); 2] {
        same.map_or(fixed, |s| s.pads(dims[2], dims[3]))
    }

    /// `[(top, bottom), (left, right)]` for an `h`×`w` input.
    pub fn pads(&self, h: usize, w: usize) -> [(usize, usize); 2] {
        let axis = |n: usize, i: usize| {
            let (k, s, d) = (self.kernel[i], self.stride[i].max(1), self.dilation[i]);
            let total = ((n.div_ceil(s).max(1) - 1) * s + (k - 1) * d + 1).saturating_sub(n);
            let (small, big) = (total / 2, total - total / 2);
            if self.lower {
                (big, small)
            } else {
                (small, big)
            }
        };
        [axis(h, 0), axis(w, 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::Same;

    #[test]
    fn same_padding_puts_the_odd_pixel_where_onnx_says() {
        let same = |lower| Same {
            kernel: [3, 2],
            stride: [2, 2],
            dilation: [1, 1],
            lower,
        };
        // 32 → 16 rows: 1 pixel of padding for the 3-tall kernel, 0 for the 2-wide one.
        assert_eq!(same(false).pads(32, 32), [(0, 1), (0, 0)]);
        assert_eq!(same(true).pads(32, 32), [(1, 0), (0, 0)]);
        // 7 → 4: 2 rows, 1 column.
        assert_eq!(same(false).pads(7, 7), [(1, 1), (0, 1)]);
        assert_eq!(same(true).pads(7, 7), [(1, 1), (1, 0)]);
    }
}
