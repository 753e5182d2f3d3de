//! Convolutions and pooling windows: their weights, strides and paddings (explicit, or
//! ONNX's `auto_pad` computed from each input's size). A convolution goes through
//! `layers::Conv` where it can, so that on the CPU it uses camlens' own kernels as the
//! hand-written models do.

use super::context::Args;
use crate::error::Result;
use crate::input::weights::{RawTensor, WeightMap};
use crate::models::layers::reduced::{self, cast};
use crate::models::layers::{Act, Conv, Loader, Padding};
use crate::models::value::Value;
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{DType, Device, Tensor, TensorData};
use onnx_ir::Node;
use onnx_ir::node::avg_pool2d::AvgPool2dConfig;
use onnx_ir::node::conv2d::Conv2dConfig;
use onnx_ir::node::max_pool2d::MaxPool2dConfig;
use onnx_ir::node::padding::{AutoPad, PaddingConfig2d};

// One per node of a graph: the size of the tensors held inline does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Window {
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
    MaxPool(MaxPoolOptions<2>, Option<Same>),
    AvgPool(AvgPoolOptions<2>, Option<Same>),
}

operators! {
    Window, |node, cx| {
        ["Conv"] Node::Conv2d(n) => {
            let (w, shape) = cx.weight(1)?;
            conv(&n.config, w, shape, cx.floats(2), cx.name, cx.device)?
        },
        ["MaxPool"] Node::MaxPool2d(n) => max_pool(&n.config)?,
        ["AveragePool"] Node::AveragePool2d(n) => avg_pool(&n.config, cx.name)?,
    }
}

impl Window {
    pub(super) fn run(&self, a: &Args) -> Result<Value> {
        let x = a.take_x()?.to_rank::<4>()?;
        let pads = |same, fixed| Same::padding(same, fixed, x.dims());
        Ok(Value::R4(match self {
            Self::Conv(conv) => conv.forward(x),
            Self::ConvGeneral {
                weight,
                bias,
                options,
                same,
            } => {
                let mut options = options.clone();
                options.padding = pads(same, options.padding);
                reduced::run(weight.dtype(), x, |x| {
                    conv2d(x, weight.clone(), bias.clone(), options)
                })
            }
            Self::MaxPool(o, same) => {
                let mut o = o.clone();
                o.padding = pads(same, o.padding);
                max_pool2d(x, o)
            }
            Self::AvgPool(o, same) => {
                let mut o = o.clone();
                o.padding = pads(same, o.padding);
                avg_pool2d(x, o)
            }
        }))
    }

    /// camlens' own convolution (or `instead_of`: it with a batch norm folded in) followed by
    /// `then`, which its CPU kernels apply as they write,
    /// with `pad` (rows, columns) of zeros around its input where a Pad before it was taken in,
    /// its input multiplied by `gate` (per input channel of each input) where a
    /// squeeze-excitation's was (see `onnx::fuse`); `None` for any other window, or a padding it
    /// cannot take.
    pub(super) fn run_fused(
        &self,
        a: &Args,
        (then, instead_of): (&Act, Option<&Conv>),
        pad: Option<[(usize, usize); 2]>,
        gate: Option<&[f32]>,
    ) -> Option<Result<Value>> {
        let Self::Conv(conv) = self else {
            return None;
        };
        let conv = instead_of.unwrap_or(conv);
        let padded = match pad {
            Some([h, w]) => Some(conv.padded(h, w)?),
            None => None,
        };
        let conv = padded.as_ref().unwrap_or(conv);
        Some(a.take_x().and_then(|x| x.to_rank::<4>()).map(|x| {
            Value::R4(match gate {
                Some(gate) => conv.forward_gated(x, gate, then),
                None => conv.forward_act(x, then),
            })
        }))
    }

    /// Whether a Pad's `[rows, columns]` of zeros before this window can be taken in
    /// (`run_fused`): camlens' own convolution, unpadded (see `Conv::padded`).
    pub(super) fn takes_padding(&self, pad: [(usize, usize); 2]) -> bool {
        matches!(self, Self::Conv(conv) if conv.takes_padding(pad[0], pad[1]))
    }

    /// A convolution's products in `dtype` (see `crate::compute::precision`).
    pub(super) fn set_dtype(&mut self, dtype: DType) {
        match self {
            Self::Conv(conv) => conv.set_dtype(dtype),
            // Grouped convolutions stay f32, as in `Conv::set_dtype`.
            Self::ConvGeneral { options, .. } if options.groups > 1 => {}
            Self::ConvGeneral { weight, bias, .. } => {
                cast(weight, dtype);
                bias.iter_mut().for_each(|b| cast(b, dtype));
            }
            _ => {}
        }
    }
}

/// A Conv node: camlens' own convolution (im2col and depthwise kernels on the CPU) where the
/// padding is symmetric and the kernel square, else burn's with explicit options.
fn conv(
    c: &Conv2dConfig,
    w: Vec<f32>,
    shape: Vec<usize>,
    bias: Option<Vec<f32>>,
    name: &str,
    device: &Device,
) -> std::result::Result<Window, String> {
    let [c_out, c_in_g, kh, kw] = shape[..] else {
        return Err(format!("node '{name}': a Conv weight of shape {shape:?}"));
    };
    let square = kh == kw && c.stride[0] == c.stride[1] && c.dilation == [1, 1];
    // TensorFlow's SAME (tf2onnx writes SAME_UPPER): padding that depends on the
    // input size, the extra row and column at the end, as Lite0's convolutions.
    let same_upper = c.auto_pad == AutoPad::SameUpper;
    let same = same(&c.auto_pad, c.kernel_size, c.stride, c.dilation);
    let pads = if same.is_some() {
        [0; 4]
    } else {
        pads(&c.padding, &c.auto_pad)?
    };
    let symmetric = pads.iter().all(|p| *p == pads[0]);
    Ok(if square && symmetric && (same.is_none() || same_upper) {
        let mut map = WeightMap::default();
        map.tensors.insert(
            "w.weight".into(),
            RawTensor {
                shape: shape.clone(),
                data: w,
            },
        );
        if let Some(b) = bias {
            map.tensors.insert(
                "w.bias".into(),
                RawTensor {
                    shape: vec![c_out],
                    data: b,
                },
            );
        }
        let loader = Loader {
            map: &map,
            model: "ONNX model",
            device,
        };
        let conv = loader
            .conv(
                "w",
                None,
                c_in_g * c.groups,
                c_out,
                kh,
                c.stride[0],
                if same_upper {
                    Padding::TfSame
                } else {
                    Padding::Symmetric(pads[0])
                },
                c.groups,
            )
            .map_err(|e| e.to_string())?;
        Window::Conv(Box::new(conv))
    } else {
        Window::ConvGeneral {
            weight: Tensor::from_data(TensorData::new(w, [c_out, c_in_g, kh, kw]), device),
            bias: bias.map(|b| Tensor::from_data(TensorData::new(b, [c_out]), device)),
            options: ConvOptions {
                stride: c.stride,
                padding: [(pads[0], pads[2]), (pads[1], pads[3])],
                dilation: c.dilation,
                groups: c.groups,
            },
            same,
        }
    })
}

fn max_pool(c: &MaxPool2dConfig) -> std::result::Result<Window, String> {
    let same = same(&c.auto_pad, c.kernel_size, c.strides, c.dilation);
    let p = if same.is_some() {
        [0; 4]
    } else {
        pads(&c.padding, &c.auto_pad)?
    };
    Ok(Window::MaxPool(
        MaxPoolOptions {
            kernel_size: c.kernel_size,
            stride: c.strides,
            padding: [(p[0], p[2]), (p[1], p[3])],
            dilation: c.dilation,
            ceil_mode: c.ceil_mode,
        },
        same,
    ))
}

fn avg_pool(c: &AvgPool2dConfig, name: &str) -> std::result::Result<Window, String> {
    let same = same(&c.auto_pad, c.kernel_size, c.strides, c.dilation);
    let p = if same.is_some() {
        [0; 4]
    } else {
        pads(&c.padding, &c.auto_pad)?
    };
    if c.dilation != [1, 1] {
        return Err(format!(
            "node '{name}': AveragePool with dilation is not supported yet"
        ));
    }
    Ok(Window::AvgPool(
        AvgPoolOptions {
            kernel_size: c.kernel_size,
            stride: c.strides,
            padding: [(p[0], p[2]), (p[1], p[3])],
            count_include_pad: c.count_include_pad,
            ceil_mode: c.ceil_mode,
        },
        same,
    ))
}

/// The run-time padding of `auto_pad` SAME_UPPER / SAME_LOWER, else `None`.
fn same(
    auto: &AutoPad,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Option<Same> {
    matches!(auto, AutoPad::SameUpper | AutoPad::SameLower).then_some(Same {
        kernel,
        stride,
        dilation,
        lower: *auto == AutoPad::SameLower,
    })
}

/// `[top, left, bottom, right]` padding of a 2-D window.
fn pads(padding: &PaddingConfig2d, auto: &AutoPad) -> std::result::Result<[usize; 4], String> {
    match (auto, padding) {
        (AutoPad::NotSet | AutoPad::Valid, PaddingConfig2d::Valid) => Ok([0; 4]),
        (AutoPad::NotSet, PaddingConfig2d::Explicit(t, l, b, r)) => Ok([*t, *l, *b, *r]),
        (auto, _) => Err(format!(
            "auto_pad {auto:?} is not supported yet: export with explicit padding"
        )),
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
