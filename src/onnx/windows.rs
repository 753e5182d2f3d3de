//! Convolutions and pooling windows: their weights, strides and paddings (explicit, or
//! ONNX's `auto_pad` computed from each input's size) compiled into operations.

use super::ops::{Kind, Same};
use crate::models::layers::{Loader, Padding};
use crate::weights::{RawTensor, WeightMap};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::node::avg_pool2d::AvgPool2dConfig;
use onnx_ir::node::conv2d::Conv2dConfig;
use onnx_ir::node::max_pool2d::MaxPool2dConfig;
use onnx_ir::node::padding::{AutoPad, PaddingConfig2d};

/// A Conv node: camlens' own convolution (im2col and depthwise kernels on the CPU) where the
/// padding is symmetric and the kernel square, else burn's with explicit options.
pub fn conv(
    c: &Conv2dConfig,
    w: Vec<f32>,
    shape: Vec<usize>,
    bias: Option<Vec<f32>>,
    name: &str,
    device: &Device,
) -> Result<Kind, String> {
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
        Kind::Conv(Box::new(conv))
    } else {
        Kind::ConvGeneral {
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

pub fn max_pool(c: &MaxPool2dConfig) -> Result<Kind, String> {
    let same = same(&c.auto_pad, c.kernel_size, c.strides, c.dilation);
    let p = if same.is_some() {
        [0; 4]
    } else {
        pads(&c.padding, &c.auto_pad)?
    };
    Ok(Kind::MaxPool(
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

pub fn avg_pool(c: &AvgPool2dConfig, name: &str) -> Result<Kind, String> {
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
    Ok(Kind::AvgPool(
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
fn pads(padding: &PaddingConfig2d, auto: &AutoPad) -> Result<[usize; 4], String> {
    match (auto, padding) {
        (AutoPad::NotSet | AutoPad::Valid, PaddingConfig2d::Valid) => Ok([0; 4]),
        (AutoPad::NotSet, PaddingConfig2d::Explicit(t, l, b, r)) => Ok([*t, *l, *b, *r]),
        (auto, _) => Err(format!(
            "auto_pad {auto:?} is not supported yet: export with explicit padding"
        )),
    }
}
