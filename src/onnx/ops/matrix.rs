//! Matrix products and attention: Gemm and MatMul as written, the parser's `Linear` (a Gemm or
//! MatMul with constant weights, fused with its bias), and the Attention operator the parser
//! fuses attention blocks into.

use super::context::Args;
use crate::error::Result;
use crate::models::layers::reduced;
use crate::models::value::Value;
use crate::{map_value, zip_values};
use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};
use onnx_ir::Node;

// One per node of a graph: the size of the tensors held inline does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Matrix {
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
    /// softmax(Q·Kᵀ·scale + mask)·V over `[B, heads, tokens, d]`.
    Attention {
        scale: Option<f64>,
    },
}

operators! {
    Matrix, |node, cx| {
        // The parser's own: a Gemm or MatMul whose weights are constants (listed under them).
        [] Node::Linear(n) => {
            let (w, shape) = cx.weight(1)?;
            let [a, b] = shape[..] else {
                return Err(cx.error(format!("a Linear weight of shape {shape:?}")));
            };
            let w = Tensor::<2>::from_data(TensorData::new(w, [a, b]), cx.device);
            Matrix::Linear {
                weight: if n.config.transpose_weight { w.transpose() } else { w },
                bias: cx.tensor(2),
            }
        },
        ["Gemm"] Node::Gemm(n) => Matrix::Gemm {
            alpha: n.config.alpha,
            beta: n.config.beta,
            trans_a: n.config.trans_a != 0,
            trans_b: n.config.trans_b != 0,
        },
        ["MatMul"] Node::MatMul(_) => Matrix::MatMul,
        ["Attention"] Node::Attention(n) => {
            let c = &n.config;
            if c.is_causal || c.softcap != 0.0 || c.q_num_heads.is_some() {
                return Err(cx.error(
                    "only non-causal 4-D Attention without softcap is supported yet",
                ));
            }
            Matrix::Attention { scale: c.scale }
        },
    }
}

impl Matrix {
    pub(super) fn run(&self, a: &Args) -> Result<Value> {
        let x = a.x()?;
        Ok(match self {
            Self::Linear { weight, bias } => linear(x, weight, bias.as_ref())?,
            Self::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => {
                let p = x.to_rank::<2>()?;
                let q = a.get(1)?.to_rank::<2>()?;
                let p = if *trans_a { p.transpose() } else { p };
                let q = if *trans_b { q.transpose() } else { q };
                let y = Value::R2(p.matmul(q) * *alpha);
                match a.optional(2) {
                    Some(c) => {
                        let c = map_value!(c.clone(), |t| t * *beta);
                        zip_values!(y, c, |y, c| y + c)
                    }
                    None => y,
                }
            }
            Self::MatMul => {
                let y = a.get(1)?;
                zip_values!(x, y, |p, q| p.matmul(q))
            }
            Self::Attention { scale } => attention(a, *scale)?,
        })
    }
}

fn linear(x: &Value, weight: &Tensor<2>, bias: Option<&Tensor<1>>) -> Result<Value> {
    let d = x.dims();
    let (rows, k) = (d[..d.len() - 1].iter().product::<usize>(), d[d.len() - 1]);
    let x = x.reshape(&[rows, k])?.to_rank::<2>()?;
    let y = reduced::run(weight.dtype(), x, |x| x.matmul(weight.clone()));
    let y = match bias {
        Some(b) => y + b.clone().unsqueeze::<2>(),
        None => y,
    };
    let mut out = d.clone();
    *out.last_mut().expect("rank ≥ 1") = weight.dims()[1];
    Value::R2(y).reshape(&out)
}

fn attention(a: &Args, scale: Option<f64>) -> Result<Value> {
    let (q, k, v) = (
        a.x()?.to_rank::<4>()?,
        a.get(1)?.to_rank::<4>()?,
        a.get(2)?.to_rank::<4>()?,
    );
    let d = q.dims()[3];
    let scale = scale.map_or(1.0 / (d as f32).sqrt(), |s| s as f32);
    let scores = Value::R4(q.matmul(k.swap_dims(2, 3)) * scale);
    let scores = match a.optional(3) {
        Some(mask) => zip_values!(scores, mask, |p, q| p + q),
        None => scores,
    };
    Ok(Value::R4(softmax(scores.to_rank::<4>()?, 3).matmul(v)))
}
