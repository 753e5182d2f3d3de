//! Shapes: reshaping, transposing, adding and removing axes, broadcasting, casts, and the
//! integer lists graphs compute shapes with (Shape, Range, ConstantOfShape), which stay on the
//! host.

use super::context::{Args, Src};
use super::context::{floats, ints, invalid};
use crate::error::{Error, Result};
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::Node;

#[derive(Debug)]
pub(super) enum Shaping {
    Flatten(usize),
    /// The shape is a constant, or else the value of input 1.
    Reshape {
        shape: Option<Vec<i64>>,
        relax_batch: bool,
        device: Device,
    },
    /// Dimensions `start..end` of the input's shape, as integers.
    Shape(usize, usize),
    Squeeze(Option<Src>),
    Unsqueeze(Vec<i64>),
    /// To a shape; integers expanded to more than one axis become floats on the device.
    Expand(Src, Device),
    Transpose(Vec<usize>),
    ConstantOfShape {
        shape: Src,
        value: f32,
        int: bool,
        device: Device,
    },
    Range(Src, Src, Src),
    /// To integers (kept on the host where they are a list) or to floats.
    Cast {
        to_float: bool,
        device: Device,
    },
    /// Also a Constant node, whose value is already in the constant table.
    Identity,
}

operators! {
    Shaping, |node, cx| {
        ["Flatten"] Node::Flatten(n) => Shaping::Flatten(n.config.axis),
        ["Reshape"] Node::Reshape(n) => {
            use onnx_ir::node::reshape::ReshapeInput;
            // Without a constant shape, the shape is the value of input 1 at run time.
            let shape = match &n.config.shape {
                ReshapeInput::Static(s) => Some(s.clone()),
                ReshapeInput::Runtime(r) => cx.ints(r.input_index),
            };
            Shaping::Reshape { shape, relax_batch: cx.relax_batch, device: cx.device.clone() }
        },
        ["Shape"] Node::Shape(n) => Shaping::Shape(n.config.start, n.config.end),
        ["Squeeze"] Node::Squeeze(n) => {
            use onnx_ir::node::squeeze::SqueezeInput;
            Shaping::Squeeze(n.config.axes.as_ref().map(|a| match a {
                SqueezeInput::Static(v) => Src::Static(v.clone()),
                SqueezeInput::Runtime(r) => Src::Input(r.input_index),
            }))
        },
        ["Unsqueeze"] Node::Unsqueeze(n) => {
            use onnx_ir::node::unsqueeze::UnsqueezeConfig;
            Shaping::Unsqueeze(match &n.config {
                UnsqueezeConfig::Static(a) => a.clone(),
                UnsqueezeConfig::Runtime(r) => cx
                    .ints(r.input_index)
                    .ok_or(cx.error("Unsqueeze axes must be constants"))?,
            })
        },
        ["Expand"] Node::Expand(n) => {
            use onnx_ir::node::expand::ExpandConfig;
            let shape = match &n.config {
                ExpandConfig::Static(v) => Src::Static(v.clone()),
                ExpandConfig::Runtime(r) => Src::Input(r.input_index),
            };
            Shaping::Expand(shape, cx.device.clone())
        },
        ["Transpose"] Node::Transpose(n) => {
            Shaping::Transpose(n.config.perm.iter().map(|&p| p as usize).collect())
        },
        ["ConstantOfShape"] Node::ConstantOfShape(n) => {
            use onnx_ir::node::constant_of_shape::ConstantOfShapeShape;
            let value = n.config.value.clone();
            Shaping::ConstantOfShape {
                shape: match &n.config.shape {
                    ConstantOfShapeShape::Static(v) => Src::Static(v.clone()),
                    ConstantOfShapeShape::Runtime(r) => Src::Input(r.input_index),
                },
                int: value.as_ref().is_some_and(|d| !d.dtype().is_float()),
                value: super::context::host(value).and_then(|v| v.first().copied()).unwrap_or(0.0),
                device: cx.device.clone(),
            }
        },
        ["Range"] Node::Range(n) => {
            use onnx_ir::node::range::RangeInput;
            let src = |r: &RangeInput| match r {
                RangeInput::Static(v) => Src::Static(vec![*v]),
                RangeInput::StaticFloat(v) => Src::Static(vec![*v as i64]),
                RangeInput::Runtime(r) => Src::Input(r.input_index),
            };
            Shaping::Range(src(&n.config.start), src(&n.config.limit), src(&n.config.delta))
        },
        ["Cast"] Node::Cast(n) => Shaping::Cast {
            to_float: n.config.to.is_float(),
            device: cx.device.clone(),
        },
        ["CastLike"] Node::CastLike(n) => Shaping::Cast {
            to_float: n.config.to.is_float(),
            device: cx.device.clone(),
        },
        ["Identity", "Dropout"] Node::Identity(_) | Node::Dropout(_) => Shaping::Identity,
        ["Constant"] Node::Constant(_) => Shaping::Identity,
    }
}

impl Shaping {
    pub(super) fn run(&self, a: &Args) -> Result<Value> {
        let x = a.x()?;
        Ok(match self {
            Self::Flatten(axis) => {
                let d = x.dims();
                let p: usize = d[..*axis].iter().product();
                let q: usize = d[*axis..].iter().product();
                x.reshape(&[p, q])?
            }
            Self::Reshape {
                shape,
                relax_batch,
                device,
            } => {
                let shape = match shape {
                    Some(s) => s.clone(),
                    None => ints(a.get(1)?, a.name())?.to_vec(),
                };
                reshape(x, &shape, relax_batch.then_some(a.batch), device)?
            }
            Self::Shape(start, end) => {
                let d = x.dims();
                let (start, end) = ((*start).min(d.len()), (*end).min(d.len()));
                Value::Ints(d[start..end].iter().map(|&v| v as i64).collect())
            }
            Self::Squeeze(axes) => {
                let axes = axes.as_ref().map(|s| a.src(s)).transpose()?;
                squeeze(x, axes.as_deref())?
            }
            Self::Unsqueeze(axes) => unsqueeze(x, axes)?,
            Self::Expand(shape, device) => expand(x, &a.src(shape)?, device, a.name())?,
            Self::Transpose(p) => transpose(x, p).ok_or_else(|| {
                a.invalid(format!("Transpose {p:?} of a rank {} tensor", x.rank()))
            })?,
            Self::ConstantOfShape {
                shape,
                value,
                int,
                device,
            } => {
                let shape: Vec<usize> = a.src(shape)?.iter().map(|&v| v as usize).collect();
                let n: usize = shape.iter().product();
                if *int && shape.len() <= 1 {
                    Value::Ints(vec![*value as i64; n])
                } else {
                    let flat =
                        Tensor::<1>::from_data(TensorData::new(vec![*value; n], [n]), device);
                    Value::R1(flat).reshape(if shape.is_empty() { &[1] } else { &shape })?
                }
            }
            Self::Range(start, limit, delta) => range(a, start, limit, delta)?,
            Self::Cast { to_float, device } => match (x, to_float) {
                (Value::Ints(v), true) => floats(v, device),
                (Value::R1(t), false) if t.dims()[0] <= 16 => Value::Ints(
                    crate::compute::tensor_io::to_vec(t.clone())?
                        .iter()
                        .map(|&f| f as i64)
                        .collect(),
                ),
                (x, _) => x.clone(),
            },
            Self::Identity => x.clone(),
        })
    }
}

fn reshape(x: &Value, shape: &[i64], batch: Option<usize>, device: &Device) -> Result<Value> {
    match x {
        // A list of integers reshaped to a list (or a scalar): the same integers.
        Value::Ints(_) if shape.len() <= 1 => Ok(x.clone()),
        // Integers arranged in a table (Pad's amounts, as PyTorch computes them): small
        // integers, exact as floats; a Cast brings them back.
        Value::Ints(v) => {
            let f = floats(v, device);
            f.reshape(&reshaped(&f.dims(), shape, None)?)
        }
        x => x.reshape(&reshaped(&x.dims(), shape, batch)?),
    }
}

/// ONNX Reshape's shape: 0 copies the input's dimension, -1 takes what is left. A graph exported
/// with a fixed batch of 1 is run with its batch relaxed: `batch` is then the batch being run,
/// which a leading 1 stands for.
fn reshaped(input: &[usize], shape: &[i64], batch: Option<usize>) -> Result<Vec<usize>> {
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
    if let (Some(b), Some(&1)) = (batch, shape.first()) {
        out[0] = b;
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

/// ONNX Squeeze: the given axes (or every axis of size 1) removed.
fn squeeze(x: &Value, axes: Option<&[i64]>) -> Result<Value> {
    if let Value::Ints(_) = x {
        return Ok(x.clone()); // a 1-element list and a scalar are the same integers here
    }
    let dims = x.dims();
    let drop: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&a| super::context::axis(a, dims.len()))
            .collect(),
        None => (0..dims.len()).filter(|&i| dims[i] == 1).collect(),
    };
    let mut d: Vec<usize> = dims
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, &v)| v)
        .collect();
    if d.is_empty() {
        d.push(1);
    }
    x.reshape(&d)
}

fn unsqueeze(x: &Value, axes: &[i64]) -> Result<Value> {
    // A scalar becomes a 1-element list: the same integers here.
    if let Value::Ints(v) = x {
        return Ok(Value::Ints(v.clone()));
    }
    let mut d = x.dims();
    let rank = (d.len() + axes.len()) as i64;
    let mut at: Vec<usize> = axes
        .iter()
        .map(|&a| (if a < 0 { a + rank } else { a }) as usize)
        .collect();
    at.sort_unstable();
    for a in at {
        d.insert(a.min(d.len()), 1);
    }
    x.reshape(&d)
}

/// ONNX Expand: NumPy broadcasting of `x` against `shape`.
pub(super) fn expand(x: &Value, shape: &[i64], device: &Device, node: &str) -> Result<Value> {
    let dims = x.dims();
    let rank = dims.len().max(shape.len());
    let pad = |v: Vec<usize>| {
        let mut p = vec![1; rank - v.len()];
        p.extend(v);
        p
    };
    let a = pad(dims.clone());
    let b = pad(shape.iter().map(|&s| s.max(1) as usize).collect());
    let out: Vec<usize> = a
        .iter()
        .zip(&b)
        .map(|(&p, &q)| match (p, q) {
            (p, q) if p == q || q == 1 => Ok(p),
            (1, q) => Ok(q),
            _ => Err(invalid(
                node,
                format!("cannot expand {dims:?} to {shape:?}"),
            )),
        })
        .collect::<Result<_>>()?;
    let x = match x {
        Value::Ints(v) if out.len() == 1 => {
            return Ok(Value::Ints((0..out[0]).map(|i| v[i % v.len()]).collect()));
        }
        // An index grid built from shapes (Swin's mask): small integers, exact as floats.
        Value::Ints(v) => floats(v, device),
        x => x.clone(),
    };
    let x = x.reshape(&a)?;
    Ok(match (x, out.as_slice()) {
        (Value::R1(t), &[p]) => Value::R1(t.expand([p])),
        (Value::R2(t), &[p, q]) => Value::R2(t.expand([p, q])),
        (Value::R3(t), &[p, q, r]) => Value::R3(t.expand([p, q, r])),
        (Value::R4(t), &[p, q, r, s]) => Value::R4(t.expand([p, q, r, s])),
        (Value::R5(t), &[p, q, r, s, u]) => Value::R5(t.expand([p, q, r, s, u])),
        (Value::R6(t), &[p, q, r, s, u, v]) => Value::R6(t.expand([p, q, r, s, u, v])),
        _ => return Err(invalid(node, format!("cannot expand to rank {rank}"))),
    })
}

fn transpose(x: &Value, p: &[usize]) -> Option<Value> {
    Some(match (x, p) {
        (Value::R2(t), &[a, b]) => Value::R2(t.clone().permute([a, b])),
        (Value::R3(t), &[a, b, c]) => Value::R3(t.clone().permute([a, b, c])),
        (Value::R4(t), &[a, b, c, d]) => Value::R4(t.clone().permute([a, b, c, d])),
        (Value::R5(t), &[a, b, c, d, e]) => Value::R5(t.clone().permute([a, b, c, d, e])),
        (Value::R6(t), &[a, b, c, d, e, f]) => Value::R6(t.clone().permute([a, b, c, d, e, f])),
        _ => return None,
    })
}

fn range(a: &Args, start: &Src, limit: &Src, delta: &Src) -> Result<Value> {
    let one = |s: &Src| -> Result<i64> {
        a.src(s)?
            .first()
            .copied()
            .ok_or_else(|| a.invalid("empty Range bound"))
    };
    let (p, q, d) = (one(start)?, one(limit)?, one(delta)?);
    if d == 0 {
        return Err(a.invalid("Range step 0"));
    }
    let n = ((q - p) as f64 / d as f64).ceil().max(0.0) as i64;
    Ok(Value::Ints((0..n).map(|i| p + i * d).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_follows_onnx_and_relaxes_a_fixed_batch() {
        assert_eq!(reshaped(&[2, 8, 1, 1], &[0, -1], None).unwrap(), [2, 8]);
        assert_eq!(reshaped(&[2, 8, 1, 1], &[1, -1], Some(2)).unwrap(), [2, 8]);
        assert!(reshaped(&[2, 8, 1, 1], &[1, -1], None).is_ok_and(|s| s == [1, 16]));
        assert!(reshaped(&[2, 8], &[3, -1], None).is_err());
        // Channels folded into the first axis and back: the leading 1 is the batch, not the
        // first axis of what is reshaped.
        assert_eq!(
            reshaped(&[16, 4, 4], &[1, 8, 4, 4], Some(2)).unwrap(),
            [2, 8, 4, 4]
        );
        assert_eq!(
            reshaped(&[8, 4, 4], &[1, 8, 4, 4], Some(1)).unwrap(),
            [1, 8, 4, 4]
        );
    }
}
