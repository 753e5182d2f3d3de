//! Each ONNX node compiled into an operation on burn tensors. Weights are read once, at compile
//! time; convolutions go through `layers::Conv`, so on the CPU they use camlens' own im2col and
//! depthwise kernels as the hand-written models do. What is not here is refused at load time
//! with the operator's and the node's names.

use super::super::layers::{Conv, Loader, Padding};
use super::super::value::Value;
use crate::error::{Error, Result};
use crate::weights::{RawTensor, WeightMap};
use crate::{map_value, zip_values};
use burn::tensor::activation::{gelu, relu, sigmoid, softmax, tanh};
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::Node;
use onnx_ir::node::padding::{AutoPad, PaddingConfig2d};

/// The operators camlens runs, as ONNX names them (the README lists them too).
pub const SUPPORTED: &str = "Conv, BatchNormalization, Relu, Clip, Sigmoid, HardSigmoid, \
    HardSwish, Tanh, Gelu, Erf, Add, Sub, Mul, Div, MaxPool, AveragePool, GlobalAveragePool, \
    ReduceMean over H and W, Flatten, Reshape (constant shape), Gemm, MatMul, Concat, Softmax, \
    Identity, Dropout, Constant";

#[derive(Debug)]
pub struct Op {
    pub name: String,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Symmetric padding, square kernel, no dilation: camlens' own convolution.
    Conv(Box<Conv>),
    /// Anything else a Conv node can be: burn's convolution with explicit options.
    ConvGeneral {
        weight: Tensor<4>,
        bias: Option<Tensor<1>>,
        options: ConvOptions<2>,
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
    MaxPool(MaxPoolOptions<2>),
    AvgPool(AvgPoolOptions<2>),
    GlobalAvgPool,
    Flatten(usize),
    Reshape {
        shape: Vec<i64>,
        relax_batch: bool,
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
    Identity,
}

#[derive(Debug, Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// A constant of the graph (an initializer or a Constant node's value) as a float tensor.
pub fn constant(data: TensorData, device: &Device) -> std::result::Result<Value, String> {
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
                let c = &n.config;
                let (w, shape) = weight(1)?;
                let bias = host(value(2));
                let [c_out, c_in_g, kh, kw] = shape[..] else {
                    return Err(format!("node '{name}': a Conv weight of shape {shape:?}"));
                };
                let pads = pads(&c.padding, &c.auto_pad)?;
                let square = kh == kw && c.stride[0] == c.stride[1] && c.dilation == [1, 1];
                let symmetric = pads.iter().all(|p| *p == pads[0]);
                if square && symmetric {
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
                            Padding::Symmetric(pads[0]),
                            c.groups,
                        )
                        .map_err(|e| e.to_string())?;
                    Kind::Conv(Box::new(conv))
                } else {
                    Kind::ConvGeneral {
                        weight: Tensor::from_data(
                            TensorData::new(w, [c_out, c_in_g, kh, kw]),
                            device,
                        ),
                        bias: bias.map(|b| Tensor::from_data(TensorData::new(b, [c_out]), device)),
                        options: ConvOptions {
                            stride: c.stride,
                            padding: [(pads[0], pads[2]), (pads[1], pads[3])],
                            dilation: c.dilation,
                            groups: c.groups,
                        },
                    }
                }
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
            Node::MaxPool2d(n) => {
                let c = &n.config;
                let p = pads(&c.padding, &c.auto_pad)?;
                Kind::MaxPool(MaxPoolOptions {
                    kernel_size: c.kernel_size,
                    stride: c.strides,
                    padding: [(p[0], p[2]), (p[1], p[3])],
                    dilation: c.dilation,
                    ceil_mode: c.ceil_mode,
                })
            }
            Node::AveragePool2d(n) => {
                let c = &n.config;
                let p = pads(&c.padding, &c.auto_pad)?;
                if c.dilation != [1, 1] {
                    return Err(format!(
                        "node '{name}': AveragePool with dilation is not supported yet"
                    ));
                }
                Kind::AvgPool(AvgPoolOptions {
                    kernel_size: c.kernel_size,
                    stride: c.strides,
                    padding: [(p[0], p[2]), (p[1], p[3])],
                    count_include_pad: c.count_include_pad,
                    ceil_mode: c.ceil_mode,
                })
            }
            Node::GlobalAveragePool(_) => Kind::GlobalAvgPool,
            Node::ReduceMean(n) => {
                use onnx_ir::node::reduce::ReduceAxes;
                match &n.config.axes {
                    ReduceAxes::Static(a)
                        if n.config.keepdims && (a == &[2, 3] || a == &[3, 2]) =>
                    {
                        Kind::GlobalAvgPool
                    }
                    _ => {
                        return Err(format!(
                            "node '{name}': ReduceMean other than over H and W (keepdims) is not supported yet"
                        ));
                    }
                }
            }
            Node::Flatten(n) => Kind::Flatten(n.config.axis),
            Node::Reshape(n) => {
                use onnx_ir::node::reshape::ReshapeInput;
                let shape = match &n.config.shape {
                    ReshapeInput::Static(s) => s.clone(),
                    ReshapeInput::Runtime(r) => value(r.input_index)
                        .and_then(|d| d.try_into_vec_as::<i64>().ok())
                        .ok_or(format!("node '{name}': a Reshape whose shape is computed at run time is not supported yet"))?,
                };
                Kind::Reshape { shape, relax_batch }
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
            Node::Softmax(n) => Kind::Softmax(n.config.axis),
            Node::Identity(_) | Node::Dropout(_) => Kind::Identity,
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

    /// Reads the inputs' slots, computes, fills the outputs' slots.
    pub fn run(&self, slots: &mut [Option<Value>]) -> Result<()> {
        if matches!(self.kind, Kind::Identity) && self.inputs.is_empty() {
            return Ok(()); // a Constant node: its output is in the constant table
        }
        let get = |i: usize| -> Result<&Value> {
            self.inputs
                .get(i)
                .copied()
                .flatten()
                .and_then(|s| slots[s].as_ref())
                .ok_or_else(|| Error::Invalid(format!("node '{}' lacks its input {i}", self.name)))
        };
        let x = get(0)?;
        let out = match &self.kind {
            Kind::Conv(conv) => Value::R4(conv.forward(x.to_rank::<4>()?)),
            Kind::ConvGeneral {
                weight,
                bias,
                options,
            } => Value::R4(conv2d(
                x.to_rank::<4>()?,
                weight.clone(),
                bias.clone(),
                options.clone(),
            )),
            Kind::BatchNorm { scale, shift } => {
                // Channels are axis 1: [C] followed by a 1 per spatial axis.
                let mut shape = vec![scale.dims()[0]];
                shape.resize(x.rank().max(2) - 1, 1);
                let per_channel = |t: &Tensor<1>| Value::R1(t.clone()).reshape(&shape);
                let (s, b) = (per_channel(scale)?, per_channel(shift)?);
                let y = zip_values!(x, s, |x, s| x * s);
                zip_values!(y, b, |y, b| y + b)
            }
            Kind::Relu => map_value!(x.clone(), |t| relu(t)),
            Kind::Clip(lo, hi) => {
                let (lo, hi) = (lo.unwrap_or(f32::MIN), hi.unwrap_or(f32::MAX));
                map_value!(x.clone(), |t| t.clamp(lo, hi))
            }
            Kind::Sigmoid => map_value!(x.clone(), |t| sigmoid(t)),
            Kind::HardSigmoid(alpha, beta) => {
                map_value!(x.clone(), |t| (t * *alpha + *beta).clamp(0.0, 1.0))
            }
            Kind::HardSwish => {
                map_value!(x.clone(), |t| t.clone() * (t / 6.0 + 0.5).clamp(0.0, 1.0))
            }
            Kind::Tanh => map_value!(x.clone(), |t| tanh(t)),
            Kind::Gelu => map_value!(x.clone(), |t| gelu(t)),
            Kind::Erf => map_value!(x.clone(), |t| t.erf()),
            Kind::Binary(op) => {
                let y = get(1)?;
                match op {
                    Arith::Add => zip_values!(x, y, |a, b| a + b),
                    Arith::Sub => zip_values!(x, y, |a, b| a - b),
                    Arith::Mul => zip_values!(x, y, |a, b| a * b),
                    Arith::Div => zip_values!(x, y, |a, b| a / b),
                }
            }
            Kind::MaxPool(o) => Value::R4(max_pool2d(x.to_rank::<4>()?, o.clone())),
            Kind::AvgPool(o) => Value::R4(avg_pool2d(x.to_rank::<4>()?, o.clone())),
            Kind::GlobalAvgPool => {
                let t = x.to_rank::<4>()?;
                Value::R4(t.mean_dim(3).mean_dim(2))
            }
            Kind::Flatten(axis) => {
                let d = x.dims();
                let a: usize = d[..*axis].iter().product();
                let b: usize = d[*axis..].iter().product();
                x.reshape(&[a, b])?
            }
            Kind::Reshape { shape, relax_batch } => {
                x.reshape(&reshaped(&x.dims(), shape, *relax_batch)?)?
            }
            Kind::Linear { weight, bias } => {
                let d = x.dims();
                let (rows, k) = (d[..d.len() - 1].iter().product::<usize>(), d[d.len() - 1]);
                let y = x
                    .reshape(&[rows, k])?
                    .to_rank::<2>()?
                    .matmul(weight.clone());
                let y = match bias {
                    Some(b) => y + b.clone().unsqueeze::<2>(),
                    None => y,
                };
                let mut out = d.clone();
                *out.last_mut().expect("rank ≥ 1") = weight.dims()[1];
                Value::R2(y).reshape(&out)?
            }
            Kind::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => {
                let a = x.to_rank::<2>()?;
                let b = get(1)?.to_rank::<2>()?;
                let a = if *trans_a { a.transpose() } else { a };
                let b = if *trans_b { b.transpose() } else { b };
                let y = a.matmul(b) * *alpha;
                match self
                    .inputs
                    .get(2)
                    .copied()
                    .flatten()
                    .and_then(|s| slots[s].as_ref())
                {
                    Some(c) => {
                        let c = map_value!(c.clone(), |t| t * *beta);
                        let y = Value::R2(y);
                        zip_values!(y, c, |y, c| y + c)
                    }
                    None => Value::R2(y),
                }
            }
            Kind::MatMul => {
                let y = get(1)?;
                zip_values!(x, y, |a, b| a.matmul(b))
            }
            Kind::Concat(axis) => {
                let parts: Vec<&Value> = self
                    .inputs
                    .iter()
                    .flatten()
                    .map(|s| slots[*s].as_ref())
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        Error::Invalid(format!("node '{}' lacks an input", self.name))
                    })?;
                let axis = *axis;
                match x.rank() {
                    2 => Value::R2(Tensor::cat(
                        parts
                            .iter()
                            .map(|p| p.to_rank::<2>())
                            .collect::<Result<_>>()?,
                        axis,
                    )),
                    3 => Value::R3(Tensor::cat(
                        parts
                            .iter()
                            .map(|p| p.to_rank::<3>())
                            .collect::<Result<_>>()?,
                        axis,
                    )),
                    4 => Value::R4(Tensor::cat(
                        parts
                            .iter()
                            .map(|p| p.to_rank::<4>())
                            .collect::<Result<_>>()?,
                        axis,
                    )),
                    r => {
                        return Err(Error::Invalid(format!(
                            "node '{}': Concat of rank {r}",
                            self.name
                        )));
                    }
                }
            }
            Kind::Softmax(axis) => map_value!(x.clone(), |t| softmax(t, *axis)),
            Kind::Identity => x.clone(),
        };
        slots[self.outputs[0]] = Some(out);
        Ok(())
    }
}

/// ONNX Reshape's shape: 0 copies the input's dimension, -1 takes what is left. A graph exported
/// with a fixed batch of 1 keeps the batch: a leading 1 follows the input's batch.
fn reshaped(input: &[usize], shape: &[i64], relax_batch: bool) -> Result<Vec<usize>> {
    let total: usize = input.iter().product();
    let mut out: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(i, &s)| match s {
            0 => input.get(i).copied().unwrap_or(1),
            -1 => 1,
            s => s as usize,
        })
        .collect();
    if relax_batch && shape.first() == Some(&1) && input.first().is_some_and(|&b| b > 1) {
        out[0] = input[0];
    }
    if let Some(i) = shape.iter().position(|&s| s == -1) {
        let known: usize = out
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, d)| d)
            .product();
        out[i] = total / known.max(1);
    }
    if out.iter().product::<usize>() != total {
        return Err(Error::Invalid(format!(
            "cannot reshape {input:?} to {shape:?}"
        )));
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_follows_onnx_and_relaxes_a_fixed_batch() {
        assert_eq!(reshaped(&[2, 8, 1, 1], &[0, -1], false).unwrap(), [2, 8]);
        assert_eq!(reshaped(&[2, 8, 1, 1], &[1, -1], true).unwrap(), [2, 8]);
        assert!(reshaped(&[2, 8, 1, 1], &[1, -1], false).is_ok_and(|s| s == [1, 16]));
        assert!(reshaped(&[2, 8], &[3, -1], false).is_err());
    }
}
