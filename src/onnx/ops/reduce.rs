//! Reductions and normalisation: means over axes (global average pooling among them), batch
//! and layer normalisation, softmax.

use super::context::axis;
use super::context::{Args, Cx};
use crate::error::Result;
use crate::models::value::Value;
use crate::{map_value, zip_values};
use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use burn::tensor::module::layer_norm;
use onnx_ir::Node;

#[derive(Debug)]
pub(super) enum Reduce {
    /// The mean over the spatial axes of `[N, C, H, W]`, kept as `[N, C, 1, 1]`.
    GlobalAvgPool,
    /// Over the given axes.
    Mean {
        axes: Vec<i64>,
        keepdims: bool,
    },
    /// Inference-mode batch norm folded into a scale and a shift per channel (axis 1).
    BatchNorm {
        scale: Tensor<1>,
        shift: Tensor<1>,
    },
    /// Over the last axis, as burn's `layer_norm`.
    LayerNorm {
        gamma: Tensor<1>,
        beta: Option<Tensor<1>>,
        epsilon: f64,
    },
    Softmax(usize),
}

operators! {
    Reduce, |node, cx| {
        ["GlobalAveragePool"] Node::GlobalAveragePool(_) => Reduce::GlobalAvgPool,
        ["ReduceMean"] Node::ReduceMean(n) => {
            use onnx_ir::node::reduce::ReduceAxes;
            match &n.config.axes {
                ReduceAxes::Static(a) if n.config.keepdims && (a == &[2, 3] || a == &[3, 2]) => {
                    Reduce::GlobalAvgPool
                }
                ReduceAxes::Static(a) if !a.is_empty() => Reduce::Mean {
                    axes: a.iter().map(|&v| v as i64).collect(),
                    keepdims: n.config.keepdims,
                },
                _ => {
                    return Err(cx.error(
                        "ReduceMean over axes computed in the graph is not supported yet",
                    ));
                }
            }
        },
        ["BatchNormalization"] Node::BatchNormalization(n) => {
            use onnx_ir::node::batch_norm::BatchNormConfig;
            let eps = match &n.config {
                BatchNormConfig::Static(c) => c.epsilon,
                BatchNormConfig::Runtime(c) => c.epsilon,
            };
            batch_norm(cx, eps as f32)?
        },
        ["LayerNormalization"] Node::LayerNormalization(n) => {
            let rank = node.inputs().first().map(|a| a.ty.rank()).unwrap_or(0) as i64;
            if n.config.axis != -1 && n.config.axis != rank - 1 {
                return Err(cx.error(
                    "LayerNormalization over more than the last axis is not supported yet",
                ));
            }
            Reduce::LayerNorm {
                gamma: cx
                    .tensor(1)
                    .ok_or(cx.error("LayerNormalization needs a constant scale"))?,
                beta: cx.tensor(2),
                epsilon: n.config.epsilon,
            }
        },
        ["Softmax"] Node::Softmax(n) => Reduce::Softmax(n.config.axis),
    }
}

/// `γ (x − μ) / √(σ² + ε) + β` as one scale and one shift per channel.
fn batch_norm(cx: &Cx, eps: f32) -> std::result::Result<Reduce, String> {
    let get = |i| {
        cx.floats(i)
            .ok_or(cx.error("BatchNormalization needs constant statistics"))
    };
    let (gamma, beta, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
    let scale: Vec<f32> = gamma
        .iter()
        .zip(&var)
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let shift: Vec<f32> = beta
        .iter()
        .zip(&mean)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    Ok(Reduce::BatchNorm {
        scale: super::context::vector(scale, cx.device),
        shift: super::context::vector(shift, cx.device),
    })
}

impl Reduce {
    pub(super) fn run(&self, a: &Args) -> Result<Value> {
        let x = a.x()?;
        Ok(match self {
            Self::GlobalAvgPool => Value::R4(x.to_rank::<4>()?.mean_dim(3).mean_dim(2)),
            Self::Mean { axes, keepdims } => reduce_mean(x, axes, *keepdims)?,
            Self::BatchNorm { scale, shift } => {
                // Channels are axis 1: [C] followed by a 1 per spatial axis.
                let mut shape = vec![scale.dims()[0]];
                shape.resize(x.rank().max(2) - 1, 1);
                let per_channel = |t: &Tensor<1>| Value::R1(t.clone()).reshape(&shape);
                let (s, b) = (per_channel(scale)?, per_channel(shift)?);
                let y = zip_values!(x, s, |x, s| x * s);
                zip_values!(y, b, |y, b| y + b)
            }
            Self::LayerNorm {
                gamma,
                beta,
                epsilon,
            } => map_value!(x.clone(), |t| layer_norm(
                t,
                gamma.clone(),
                beta.clone(),
                *epsilon
            )),
            Self::Softmax(axis) => map_value!(x.clone(), |t| softmax(t, *axis)),
        })
    }
}

fn reduce_mean(x: &Value, axes: &[i64], keepdims: bool) -> Result<Value> {
    let dims = x.dims();
    let mut at: Vec<usize> = axes.iter().map(|&a| axis(a, dims.len())).collect();
    at.sort_unstable();
    let mut y = x.clone();
    for &a in &at {
        y = map_value!(y, |t| t.mean_dim(a));
    }
    if keepdims {
        return Ok(y);
    }
    let d: Vec<usize> = y
        .dims()
        .iter()
        .enumerate()
        .filter(|(i, _)| !at.contains(i))
        .map(|(_, &v)| v)
        .collect();
    y.reshape(if d.is_empty() { &[1] } else { &d })
}
