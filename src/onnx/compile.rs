//! Each ONNX node compiled into an operation on burn tensors. Weights are read once, here;
//! convolutions go through `layers::Conv`, so on the CPU they use camlens' own im2col and
//! depthwise kernels as the hand-written models do. What is not here is refused at load time
//! with the operator's and the node's names.

use super::ops::{Arith, Kind, Op, PadSrc, Src};
use super::{resize, windows};
use crate::models::value::Value;
use burn::tensor::{DType, Device, Tensor, TensorData};
use onnx_ir::Node;

/// The operators camlens runs, as ONNX names them (docs/models.md lists them too).
pub const SUPPORTED: &str = "Conv, BatchNormalization, Relu, Clip, Sigmoid, HardSigmoid, \
    HardSwish, Tanh, Gelu, Erf, Sqrt, Pow, Neg, Add, Sub, Mul, Div, Mod, MaxPool, AveragePool, \
    GlobalAveragePool, ReduceMean, Flatten, Reshape, Squeeze, Unsqueeze, Expand, Transpose, \
    Concat, Split, Slice, Gather, ScatterND, Pad, Resize, Gemm, MatMul, Softmax, LayerNormalization, \
    Attention, Shape, ConstantOfShape, Range, Equal, Where, Not, Cast, CastLike, Identity, \
    Dropout, Constant (docs/models.md)";

/// A constant of the graph (an initializer or a Constant node's value) as a float tensor.
pub fn constant(data: TensorData, device: &Device) -> std::result::Result<Value, String> {
    // Integer constants take part in shape arithmetic: they stay on the host.
    if matches!(data.dtype(), DType::I64 | DType::I32) {
        return data
            .try_into_vec_as::<i64>()
            .map(Value::Ints)
            .map_err(|e| format!("{e:?}"));
    }
    let shape = data.shape().to_vec();
    let floats = host(Some(data)).ok_or("a constant camlens cannot read as numbers")?;
    let shape = if shape.is_empty() { vec![1] } else { shape };
    let t = Tensor::<1>::from_data(
        TensorData::new(floats, [shape.iter().product::<usize>()]),
        device,
    );
    Value::R1(t).reshape(&shape).map_err(|e| e.to_string())
}

/// A constant's values as floats, whatever its numeric type.
fn host(data: Option<TensorData>) -> Option<Vec<f32>> {
    data?.try_into_vec_as::<f32>().ok()
}

impl Op {
    pub fn compile(
        node: &Node,
        inputs: Vec<Option<usize>>,
        outputs: Vec<usize>,
        relax_batch: bool,
        device: &Device,
    ) -> std::result::Result<Op, String> {
        let name = node.name().to_string();
        let args = node.inputs();
        let value = |i: usize| args.get(i).and_then(|a| a.value());
        let weight = |i: usize| -> std::result::Result<(Vec<f32>, Vec<usize>), String> {
            let data = value(i).ok_or_else(|| {
                format!(
                    "node '{name}' ({node_type:?}) needs constant weights",
                    node_type = node.node_type()
                )
            })?;
            let shape = data.shape().to_vec();
            Ok((host(Some(data)).ok_or("unreadable weights")?, shape))
        };
        let kind = match node {
            Node::Conv2d(n) => {
                let (w, shape) = weight(1)?;
                windows::conv(&n.config, w, shape, host(value(2)), &name, device)?
            }
            Node::BatchNormalization(n) => {
                let eps = match &n.config {
                    onnx_ir::node::batch_norm::BatchNormConfig::Static(c) => c.epsilon,
                    onnx_ir::node::batch_norm::BatchNormConfig::Runtime(c) => c.epsilon,
                };
                let get = |i| {
                    host(value(i)).ok_or(format!(
                        "node '{name}': BatchNormalization needs constant statistics"
                    ))
                };
                let (gamma, beta, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
                let scale: Vec<f32> = gamma
                    .iter()
                    .zip(&var)
                    .map(|(g, v)| g / (v + eps as f32).sqrt())
                    .collect();
                let shift: Vec<f32> = beta
                    .iter()
                    .zip(&mean)
                    .zip(&scale)
                    .map(|((b, m), s)| b - m * s)
                    .collect();
                let c = scale.len();
                Kind::BatchNorm {
                    scale: Tensor::from_data(TensorData::new(scale, [c]), device),
                    shift: Tensor::from_data(TensorData::new(shift, [c]), device),
                }
            }
            Node::Relu(_) => Kind::Relu,
            Node::Clip(n) => {
                use onnx_ir::node::clip::ClipInput;
                let bound = |b: &Option<ClipInput>| -> std::result::Result<Option<f32>, String> {
                    match b {
                        None => Ok(None),
                        Some(ClipInput::Static(v)) => Ok(Some(*v as f32)),
                        Some(ClipInput::Runtime(r)) => host(value(r.input_index))
                            .and_then(|v| v.first().copied())
                            .map(Some)
                            .ok_or(format!("node '{name}': Clip bounds must be constants")),
                    }
                };
                Kind::Clip(bound(&n.config.min)?, bound(&n.config.max)?)
            }
            Node::Sigmoid(_) => Kind::Sigmoid,
            Node::HardSigmoid(n) => Kind::HardSigmoid(n.config.alpha as f32, n.config.beta as f32),
            Node::HardSwish(_) => Kind::HardSwish,
            Node::Tanh(_) => Kind::Tanh,
            Node::Gelu(_) => Kind::Gelu,
            Node::Erf(_) => Kind::Erf,
            Node::Add(_) => Kind::Binary(Arith::Add),
            Node::Sub(_) => Kind::Binary(Arith::Sub),
            Node::Mul(_) => Kind::Binary(Arith::Mul),
            Node::Div(_) => Kind::Binary(Arith::Div),
            Node::MaxPool2d(n) => windows::max_pool(&n.config)?,
            Node::AveragePool2d(n) => windows::avg_pool(&n.config, &name)?,
            Node::GlobalAveragePool(_) => Kind::GlobalAvgPool,
            Node::ReduceMean(n) => {
                use onnx_ir::node::reduce::ReduceAxes;
                match &n.config.axes {
                    ReduceAxes::Static(a)
                        if n.config.keepdims && (a == &[2, 3] || a == &[3, 2]) =>
                    {
                        Kind::GlobalAvgPool
                    }
                    ReduceAxes::Static(a) if !a.is_empty() => Kind::ReduceMean {
                        axes: a.iter().map(|&v| v as i64).collect(),
                        keepdims: n.config.keepdims,
                    },
                    _ => {
                        return Err(format!(
                            "node '{name}': ReduceMean over axes computed in the graph is not supported yet"
                        ));
                    }
                }
            }
            Node::Flatten(n) => Kind::Flatten(n.config.axis),
            Node::Reshape(n) => {
                use onnx_ir::node::reshape::ReshapeInput;
                let shape = match &n.config.shape {
                    ReshapeInput::Static(s) => Some(s.clone()),
                    ReshapeInput::Runtime(r) => {
                        value(r.input_index).and_then(|d| d.try_into_vec_as::<i64>().ok())
                    }
                };
                // Without a constant shape, the shape is the value of input 1 at run time.
                Kind::Reshape {
                    shape,
                    relax_batch,
                    device: device.clone(),
                }
            }
            Node::Linear(n) => {
                let (w, shape) = weight(1)?;
                let [a, b] = shape[..] else {
                    return Err(format!("node '{name}': a Linear weight of shape {shape:?}"));
                };
                let w = Tensor::<2>::from_data(TensorData::new(w, [a, b]), device);
                let weight = if n.config.transpose_weight {
                    w.transpose()
                } else {
                    w
                };
                let bias = host(value(2)).map(|b| {
                    let n = b.len();
                    Tensor::from_data(TensorData::new(b, [n]), device)
                });
                Kind::Linear { weight, bias }
            }
            Node::Gemm(n) => Kind::Gemm {
                alpha: n.config.alpha,
                beta: n.config.beta,
                trans_a: n.config.trans_a != 0,
                trans_b: n.config.trans_b != 0,
            },
            Node::MatMul(_) => Kind::MatMul,
            Node::Concat(n) => Kind::Concat(n.config.axis),
            Node::Transpose(n) => {
                Kind::Transpose(n.config.perm.iter().map(|&p| p as usize).collect())
            }
            Node::LayerNormalization(n) => {
                let rank = args.first().map(|a| a.ty.rank()).unwrap_or(0) as i64;
                if n.config.axis != -1 && n.config.axis != rank - 1 {
                    return Err(format!(
                        "node '{name}': LayerNormalization over more than the last axis is not supported yet"
                    ));
                }
                let tensor = |v: Vec<f32>| {
                    let n = v.len();
                    Tensor::<1>::from_data(TensorData::new(v, [n]), device)
                };
                Kind::LayerNorm {
                    gamma: tensor(host(value(1)).ok_or(format!(
                        "node '{name}': LayerNormalization needs a constant scale"
                    ))?),
                    beta: host(value(2)).map(tensor),
                    epsilon: n.config.epsilon,
                }
            }
            Node::Softmax(n) => Kind::Softmax(n.config.axis),
            Node::Identity(_) | Node::Dropout(_) => Kind::Identity,
            Node::Cast(n) => Kind::Cast {
                to_float: n.config.to.is_float(),
                device: device.clone(),
            },
            Node::CastLike(n) => Kind::Cast {
                to_float: n.config.to.is_float(),
                device: device.clone(),
            },
            Node::Shape(n) => Kind::Shape(n.config.start, n.config.end),
            Node::Gather(n) => Kind::Gather {
                axis: n.config.axis,
                // ONNX's rank-0 index, which the parser types as a scalar.
                scalar: args.get(1).is_some_and(|a| {
                    matches!(
                        a.ty,
                        onnx_ir::ArgType::ScalarTensor(_) | onnx_ir::ArgType::ScalarNative(_)
                    )
                }),
            },
            Node::Squeeze(n) => {
                use onnx_ir::node::squeeze::SqueezeInput;
                Kind::Squeeze(n.config.axes.as_ref().map(|a| match a {
                    SqueezeInput::Static(v) => Src::Static(v.clone()),
                    SqueezeInput::Runtime(r) => Src::Input(r.input_index),
                }))
            }
            Node::Slice(n) => {
                use onnx_ir::node::slice::SliceInput;
                let src = |s: &SliceInput| match s {
                    SliceInput::Static(v) => Src::Static(v.clone()),
                    SliceInput::Runtime(r) => Src::Input(r.input_index),
                };
                Kind::Slice {
                    starts: src(&n.config.starts),
                    ends: src(&n.config.ends),
                    axes: n.config.axes.as_ref().map(src),
                    steps: n.config.steps.as_ref().map(src),
                }
            }
            Node::Expand(n) => {
                use onnx_ir::node::expand::ExpandConfig;
                Kind::Expand(
                    match &n.config {
                        ExpandConfig::Static(v) => Src::Static(v.clone()),
                        ExpandConfig::Runtime(r) => Src::Input(r.input_index),
                    },
                    device.clone(),
                )
            }
            Node::Split(n) => {
                use onnx_ir::node::split::SplitSizesInput;
                let c = &n.config;
                Kind::Split {
                    axis: c.axis,
                    sizes: match (&c.split_sizes, c.split_size) {
                        (Some(SplitSizesInput::Static(v)), _) => {
                            Some(Src::Static(v.iter().map(|&s| s as i64).collect()))
                        }
                        (Some(SplitSizesInput::Runtime(r)), _) => Some(Src::Input(r.input_index)),
                        (None, Some(each)) => {
                            let total = args
                                .first()
                                .and_then(|a| a.ty.static_shape().cloned())
                                .and_then(|d| d.get(c.axis).copied().flatten());
                            total.map(|t| {
                                Src::Static(
                                    (0..t.div_ceil(each))
                                        .map(|i| each.min(t - i * each) as i64)
                                        .collect(),
                                )
                            })
                        }
                        (None, None) => None,
                    },
                }
            }
            Node::Pad(n) => {
                use onnx_ir::node::pad::{ConstantValueInput, PadInput, PadMode};
                let value = match &n.config.constant_value {
                    ConstantValueInput::Static(v) => Some(*v),
                    ConstantValueInput::Runtime(r) => {
                        host(value(r.input_index)).and_then(|v| v.first().copied())
                    }
                };
                let pads = match &n.config.pads {
                    PadInput::Static(p) => Some(PadSrc::Pairs(p.clone())),
                    // ONNX's [begins…, ends…] over every axis, computed in the graph (Swin pads
                    // its maps to whole windows).
                    PadInput::Runtime { input, axes: None } => {
                        Some(PadSrc::Input(input.input_index))
                    }
                    PadInput::Runtime { .. } => None,
                };
                let (Some(pads), Some(value), PadMode::Constant) = (pads, value, &n.config.mode)
                else {
                    return Err(format!(
                        "node '{name}': only constant-mode Pad over every axis is supported yet"
                    ));
                };
                Kind::Pad { pads, value }
            }
            Node::ConstantOfShape(n) => {
                use onnx_ir::node::constant_of_shape::ConstantOfShapeShape;
                let value = n.config.value.clone();
                let int = value.as_ref().is_some_and(|d| !d.dtype().is_float());
                Kind::ConstantOfShape {
                    shape: match &n.config.shape {
                        ConstantOfShapeShape::Static(v) => Src::Static(v.clone()),
                        ConstantOfShapeShape::Runtime(r) => Src::Input(r.input_index),
                    },
                    value: host(value).and_then(|v| v.first().copied()).unwrap_or(0.0),
                    int,
                    device: device.clone(),
                }
            }
            Node::Attention(n) => {
                let c = &n.config;
                if c.is_causal || c.softcap != 0.0 || c.q_num_heads.is_some() {
                    return Err(format!(
                        "node '{name}': only non-causal 4-D Attention without softcap is supported yet"
                    ));
                }
                Kind::Attention { scale: c.scale }
            }
            Node::Resize(n) => resize::compile(&n.config, &name)?,
            Node::ScatterND(n) => {
                use onnx_ir::node::scatter_nd::ScatterNDReduction;
                if !matches!(n.config.reduction, ScatterNDReduction::None) {
                    return Err(format!(
                        "node '{name}': ScatterND with a reduction is not supported yet"
                    ));
                }
                Kind::ScatterNd
            }
            Node::Equal(_) => Kind::Equal,
            Node::Where(_) => Kind::Where,
            Node::Not(_) => Kind::Not,
            Node::Mod(_) => Kind::Mod,
            Node::Sqrt(_) => Kind::Sqrt,
            Node::Neg(_) => Kind::Neg,
            Node::Pow(_) => Kind::Pow,
            Node::Range(n) => {
                use onnx_ir::node::range::RangeInput;
                let src = |r: &RangeInput| match r {
                    RangeInput::Static(v) => Src::Static(vec![*v]),
                    RangeInput::StaticFloat(v) => Src::Static(vec![*v as i64]),
                    RangeInput::Runtime(r) => Src::Input(r.input_index),
                };
                Kind::Range(
                    src(&n.config.start),
                    src(&n.config.limit),
                    src(&n.config.delta),
                )
            }
            Node::Unsqueeze(n) => {
                use onnx_ir::node::unsqueeze::UnsqueezeConfig;
                Kind::Unsqueeze(match &n.config {
                    UnsqueezeConfig::Static(a) => a.clone(),
                    UnsqueezeConfig::Runtime(r) => value(r.input_index)
                        .and_then(|d| d.try_into_vec_as::<i64>().ok())
                        .ok_or(format!("node '{name}': Unsqueeze axes must be constants"))?,
                })
            }
            // Its value is a constant, already in the table.
            Node::Constant(_) => Kind::Identity,
            other => {
                return Err(format!(
                    "operator {:?} (node '{name}') is not supported yet; camlens runs: {SUPPORTED}",
                    other.node_type()
                ));
            }
        };
        Ok(Op {
            name,
            inputs,
            outputs,
            kind,
        })
    }
}
