//! Elementwise operators: activations, arithmetic (on tensors, or on shape integers on the
//! host), comparisons and selection (the masks transformers build with Equal and Where).

use super::context::Args;
use super::context::{device_of, int_zip, ints, invalid, lifted};
use super::shape::expand;
use crate::compute::tensor_io::{host_tensor, to_vec};
use crate::error::Result;
use crate::models::kernels::activation;
use crate::models::value::Value;
use crate::{map_value, zip_values};
use burn::tensor::activation::{gelu, relu, sigmoid, tanh};
use burn::tensor::{Tensor, TensorData};
use onnx_ir::Node;

#[derive(Debug)]
pub(super) enum Elementwise {
    Relu,
    Clip(Option<f32>, Option<f32>),
    Sigmoid,
    HardSigmoid(f32, f32),
    HardSwish,
    Tanh,
    Gelu,
    Erf,
    Sqrt,
    Neg,
    Pow,
    Binary(Arith),
    Mod,
    Equal,
    Where,
    Not,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

operators! {
    Elementwise, |node, cx| {
        ["Relu"] Node::Relu(_) => Elementwise::Relu,
        ["Clip"] Node::Clip(n) => {
            use onnx_ir::node::clip::ClipInput;
            let bound = |b: &Option<ClipInput>| -> std::result::Result<Option<f32>, String> {
                match b {
                    None => Ok(None),
                    Some(ClipInput::Static(v)) => Ok(Some(*v as f32)),
                    Some(ClipInput::Runtime(r)) => cx
                        .floats(r.input_index)
                        .and_then(|v| v.first().copied())
                        .map(Some)
                        .ok_or(cx.error("Clip bounds must be constants")),
                }
            };
            Elementwise::Clip(bound(&n.config.min)?, bound(&n.config.max)?)
        },
        ["Sigmoid"] Node::Sigmoid(_) => Elementwise::Sigmoid,
        ["HardSigmoid"] Node::HardSigmoid(n) => {
            Elementwise::HardSigmoid(n.config.alpha as f32, n.config.beta as f32)
        },
        ["HardSwish"] Node::HardSwish(_) => Elementwise::HardSwish,
        ["Tanh"] Node::Tanh(_) => Elementwise::Tanh,
        ["Gelu"] Node::Gelu(_) => Elementwise::Gelu,
        ["Erf"] Node::Erf(_) => Elementwise::Erf,
        ["Sqrt"] Node::Sqrt(_) => Elementwise::Sqrt,
        ["Neg"] Node::Neg(_) => Elementwise::Neg,
        ["Pow"] Node::Pow(_) => Elementwise::Pow,
        ["Add"] Node::Add(_) => Elementwise::Binary(Arith::Add),
        ["Sub"] Node::Sub(_) => Elementwise::Binary(Arith::Sub),
        ["Mul"] Node::Mul(_) => Elementwise::Binary(Arith::Mul),
        ["Div"] Node::Div(_) => Elementwise::Binary(Arith::Div),
        ["Mod"] Node::Mod(_) => Elementwise::Mod,
        ["Equal"] Node::Equal(_) => Elementwise::Equal,
        ["Where"] Node::Where(_) => Elementwise::Where,
        ["Not"] Node::Not(_) => Elementwise::Not,
    }
}

impl Elementwise {
    pub(super) fn run(&self, a: &Args) -> Result<Value> {
        // On the CPU, camlens' own kernels, on the input itself where it is handed over.
        let own = match self {
            Self::Sigmoid => Some(activation::sigmoid as fn(&mut [f32])),
            Self::HardSwish => Some(activation::hard_swish as fn(&mut [f32])),
            _ => None,
        };
        if let Some(f) = own {
            let x = a.take_x()?;
            if let Some(y) = in_place(&x, f)? {
                return Ok(y);
            }
            return Ok(match self {
                Self::Sigmoid => map_value!(x, |t| sigmoid(t)),
                _ => map_value!(x, |t| t.clone() * (t / 6.0 + 0.5).clamp(0.0, 1.0)),
            });
        }
        let x = a.x()?;
        Ok(match self {
            Self::Relu => map_value!(x.clone(), |t| relu(t)),
            Self::Clip(lo, hi) => {
                let (lo, hi) = (lo.unwrap_or(f32::MIN), hi.unwrap_or(f32::MAX));
                map_value!(x.clone(), |t| t.clamp(lo, hi))
            }
            Self::HardSigmoid(alpha, beta) => {
                map_value!(x.clone(), |t| (t * *alpha + *beta).clamp(0.0, 1.0))
            }
            Self::Sigmoid | Self::HardSwish => unreachable!("run by camlens' kernels above"),
            Self::Tanh => map_value!(x.clone(), |t| tanh(t)),
            Self::Gelu => map_value!(x.clone(), |t| gelu(t)),
            Self::Erf => map_value!(x.clone(), |t| t.erf()),
            Self::Sqrt => map_value!(x.clone(), |t| t.sqrt()),
            Self::Neg => match x {
                Value::Ints(v) => Value::Ints(v.iter().map(|&i| -i).collect()),
                x => map_value!(x.clone(), |t| t.neg()),
            },
            Self::Pow => pow(x, a.get(1)?)?,
            Self::Binary(op) => binary(*op, x, a.get(1)?)?,
            Self::Mod => {
                let (p, q) = (ints(x, a.name())?, ints(a.get(1)?, a.name())?);
                // ONNX's integer Mod takes the divisor's sign, as Python's %.
                Value::Ints(int_zip(
                    p,
                    q,
                    |p, q| if q == 0 { 0 } else { (p % q + q) % q },
                ))
            }
            Self::Equal => equal(x, a.get(1)?, a.name())?,
            Self::Where => select_where(x, a.get(1)?, a.get(2)?, a.name())?,
            Self::Not => match x {
                Value::Ints(v) => Value::Ints(v.iter().map(|&b| (b == 0) as i64).collect()),
                x => map_value!(x.clone(), |t| t.neg() + 1.0),
            },
        })
    }
}

/// `f` on the floats of `x` where they are on the host (f32, flex, not tracked), in place when
/// `x` holds its buffer alone; `None` elsewhere (the backend's operators run there).
fn in_place(x: &Value, f: fn(&mut [f32])) -> Result<Option<Value>> {
    if matches!(x, Value::Ints(_)) {
        return Ok(None);
    }
    let dims = x.dims();
    let n = dims.iter().product();
    let Value::R1(flat) = x.reshape(&[n])? else {
        return Ok(None);
    };
    if !host_tensor(&flat) {
        return Ok(None);
    }
    let device = flat.device();
    let mut v = to_vec(flat)?;
    f(&mut v);
    Value::R1(Tensor::from_data(TensorData::new(v, [n]), &device))
        .reshape(&dims)
        .map(Some)
}

/// Add, Sub, Mul, Div: on host integers where both are shapes, else on tensors.
fn binary(op: Arith, x: &Value, y: &Value) -> Result<Value> {
    if let (Value::Ints(a), Value::Ints(b)) = (x, y) {
        return Ok(Value::Ints(int_arith(op, a, b)));
    }
    // A shape computed in the graph met a float: it is a float too.
    let lift = |v: &Value, other: &Value| match device_of(other) {
        Some(d) => lifted(v, &d),
        None => v.clone(),
    };
    let (x, y) = (&lift(x, y), &lift(y, x));
    Ok(match op {
        Arith::Add => zip_values!(x, y, |a, b| a + b),
        Arith::Sub => zip_values!(x, y, |a, b| a - b),
        Arith::Mul => zip_values!(x, y, |a, b| a * b),
        Arith::Div => zip_values!(x, y, |a, b| a / b),
    })
}

/// Arithmetic on shape integers, a single value broadcast over the other.
fn int_arith(op: Arith, a: &[i64], b: &[i64]) -> Vec<i64> {
    int_zip(a, b, |x, y| match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div => x.checked_div(y).unwrap_or(0),
    })
}

fn pow(x: &Value, y: &Value) -> Result<Value> {
    Ok(match (x, y) {
        (Value::Ints(a), Value::Ints(b)) => {
            Value::Ints(int_zip(a, b, |p, q| p.pow(q.max(0) as u32)))
        }
        (x, Value::Ints(e)) if e.len() == 1 => {
            map_value!(x.clone(), |t| t.powf_scalar(e[0] as f32))
        }
        (x, y) if y.dims().iter().product::<usize>() == 1 => {
            let e = crate::compute::tensor_io::to_vec(y.to_rank::<1>()?)?[0];
            map_value!(x.clone(), |t| t.powf_scalar(e))
        }
        (x, y) => zip_values!(x, y, |a, b| a.powf(b)),
    })
}

/// The common shape of broadcast operands, each expanded to it.
fn broadcast(values: &[&Value], node: &str) -> Result<Vec<Value>> {
    let rank = values.iter().map(|v| v.rank()).max().unwrap_or(1);
    let mut shape = vec![1i64; rank];
    for v in values {
        let d = v.dims();
        for (i, &n) in d.iter().enumerate() {
            let s = &mut shape[rank - d.len() + i];
            *s = (*s).max(n as i64);
        }
    }
    // Integers only stay integers (rank 1); beside a tensor they join it on its device.
    let device = values.iter().find_map(|v| device_of(v)).unwrap_or_default();
    values
        .iter()
        .map(|v| expand(v, &shape, &device, node))
        .collect()
}

/// ONNX Where: `a` where `cond` is true, else `b`; booleans are 1/0 (floats or integers).
fn select_where(cond: &Value, a: &Value, b: &Value, node: &str) -> Result<Value> {
    if let (Value::Ints(c), Value::Ints(x), Value::Ints(y)) = (cond, a, b) {
        let n = c.len().max(x.len()).max(y.len());
        let at = |v: &[i64], i: usize| v[if v.len() == 1 { 0 } else { i }];
        return Ok(Value::Ints(
            (0..n)
                .map(|i| if at(c, i) != 0 { at(x, i) } else { at(y, i) })
                .collect(),
        ));
    }
    let device = [cond, a, b]
        .into_iter()
        .find_map(device_of)
        .ok_or_else(|| invalid(node, "Where without a tensor"))?;
    let (c, a, b) = (
        lifted(cond, &device),
        lifted(a, &device),
        lifted(b, &device),
    );
    let [c, a, b]: [Value; 3] = broadcast(&[&c, &a, &b], node)?
        .try_into()
        .expect("three values");
    macro_rules! pick {
        ($r:literal, $v:ident) => {
            Value::$v(
                b.to_rank::<$r>()?
                    .mask_where(c.to_rank::<$r>()?.greater_elem(0.5), a.to_rank::<$r>()?),
            )
        };
    }
    Ok(match a.rank() {
        1 => pick!(1, R1),
        2 => pick!(2, R2),
        3 => pick!(3, R3),
        4 => pick!(4, R4),
        5 => pick!(5, R5),
        _ => pick!(6, R6),
    })
}

/// ONNX Equal as 1/0.
fn equal(a: &Value, b: &Value, node: &str) -> Result<Value> {
    if let (Value::Ints(x), Value::Ints(y)) = (a, b) {
        return Ok(Value::Ints(int_zip(x, y, |p, q| (p == q) as i64)));
    }
    let [a, b]: [Value; 2] = broadcast(&[a, b], node)?.try_into().expect("two values");
    Ok(zip_values!(a, b, |x, y| x.equal(y).float()))
}

#[cfg(test)]
mod tests {
    use super::{Arith, int_arith};

    #[test]
    fn shape_arithmetic_broadcasts_a_single_integer() {
        assert_eq!(int_arith(Arith::Mul, &[2, 3], &[4]), [8, 12]);
        assert_eq!(int_arith(Arith::Div, &[7], &[2, 0]), [3, 0]);
    }
}
