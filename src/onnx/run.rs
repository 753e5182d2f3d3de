//! How each operation runs: reads its inputs' slots, computes on burn tensors (or on host
//! integers for shapes), fills its outputs' slots.

use super::indexing::{self, axis, device_of, floats, int_zip};
use super::ops::{Arith, Kind, Op, PadSrc, ResizeTo, Same, Src};
use super::resize;
use super::shapes::{int_arith, ints, reshaped};
use crate::error::{Error, Result};
use crate::models::layers::reduced;
use crate::models::value::Value;
use crate::{map_value, zip_values};
use burn::tensor::activation::{gelu, relu, sigmoid, softmax, tanh};
use burn::tensor::module::{avg_pool2d, conv2d, layer_norm, max_pool2d};
use burn::tensor::{Tensor, TensorData};

impl Op {
    /// Reads the inputs' slots, computes, fills the outputs' slots; `batch` is the number of
    /// images being run (what a fixed batch of 1 is relaxed to).
    pub fn run(&self, slots: &mut [Option<Value>], batch: usize) -> Result<()> {
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
                same,
            } => {
                let x = x.to_rank::<4>()?;
                let mut options = options.clone();
                options.padding = Same::padding(same, options.padding, x.dims());
                Value::R4(reduced::run(weight.dtype(), x, |x| {
                    conv2d(x, weight.clone(), bias.clone(), options)
                }))
            }
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
                if let (Value::Ints(a), Value::Ints(b)) = (x, y) {
                    return self.set(slots, Value::Ints(int_arith(*op, a, b)));
                }
                // A shape computed in the graph met a float: it is a float too.
                let lift = |v: &Value, other: &Value| match (v, device_of(other)) {
                    (Value::Ints(i), Some(d)) => floats(i, &d),
                    _ => v.clone(),
                };
                let (x, y) = (&lift(x, y), &lift(y, x));
                match op {
                    Arith::Add => zip_values!(x, y, |a, b| a + b),
                    Arith::Sub => zip_values!(x, y, |a, b| a - b),
                    Arith::Mul => zip_values!(x, y, |a, b| a * b),
                    Arith::Div => zip_values!(x, y, |a, b| a / b),
                }
            }
            Kind::MaxPool(o, same) => {
                let x = x.to_rank::<4>()?;
                let mut o = o.clone();
                o.padding = Same::padding(same, o.padding, x.dims());
                Value::R4(max_pool2d(x, o))
            }
            Kind::AvgPool(o, same) => {
                let x = x.to_rank::<4>()?;
                let mut o = o.clone();
                o.padding = Same::padding(same, o.padding, x.dims());
                Value::R4(avg_pool2d(x, o))
            }
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
            Kind::Reshape {
                shape,
                relax_batch,
                device,
            } => {
                let shape = match shape {
                    Some(s) => s.clone(),
                    None => ints(get(1)?, &self.name)?.to_vec(),
                };
                match x {
                    // A list of integers reshaped to a list (or a scalar): the same integers.
                    Value::Ints(_) if shape.len() <= 1 => x.clone(),
                    // Integers arranged in a table (Pad's amounts, as PyTorch computes them):
                    // small integers, exact as floats; a Cast brings them back.
                    Value::Ints(v) => {
                        let f = floats(v, device);
                        f.reshape(&reshaped(&f.dims(), &shape, None)?)?
                    }
                    x => x.reshape(&reshaped(&x.dims(), &shape, relax_batch.then_some(batch))?)?,
                }
            }
            Kind::Linear { weight, bias } => {
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
            Kind::Shape(start, end) => {
                let d = x.dims();
                let (start, end) = ((*start).min(d.len()), (*end).min(d.len()));
                Value::Ints(d[start..end].iter().map(|&v| v as i64).collect())
            }
            Kind::Gather { axis, scalar } => {
                let idx = ints(get(1)?, &self.name)?;
                indexing::gather(x, idx, *axis, *scalar, &self.name)?
            }
            Kind::Squeeze(axes) => {
                let axes = axes.as_ref().map(|a| self.src(a, slots)).transpose()?;
                indexing::squeeze(x, axes.as_deref())?
            }
            Kind::Slice {
                starts,
                ends,
                axes,
                steps,
            } => {
                let opt = |s: &Option<Src>| s.as_ref().map(|s| self.src(s, slots)).transpose();
                let (axes, steps) = (opt(axes)?, opt(steps)?);
                indexing::slice(
                    x,
                    &self.src(starts, slots)?,
                    &self.src(ends, slots)?,
                    axes.as_deref(),
                    steps.as_deref(),
                    &self.name,
                )?
            }
            Kind::Expand(shape, device) => {
                indexing::expand(x, &self.src(shape, slots)?, device, &self.name)?
            }
            Kind::Split { axis, sizes } => {
                let n = x.dims()[*axis];
                let sizes: Vec<usize> = match sizes {
                    Some(s) => self.src(s, slots)?.iter().map(|&v| v as usize).collect(),
                    None => {
                        let parts = self.outputs.len();
                        let each = n.div_ceil(parts);
                        (0..parts)
                            .map(|i| each.min(n - (each * i).min(n)))
                            .collect()
                    }
                };
                let parts = indexing::split(x, *axis, &sizes, &self.name)?;
                for (&slot, part) in self.outputs.iter().zip(parts) {
                    slots[slot] = Some(part);
                }
                return Ok(());
            }
            Kind::Pad { pads, value } => {
                let pairs = match pads {
                    PadSrc::Pairs(p) => p.clone(),
                    PadSrc::Input(i) => {
                        let v = self.src(&Src::Input(*i), slots)?;
                        let (begins, ends) = v.split_at(v.len() / 2);
                        if begins.iter().chain(ends).any(|&p| p < 0) {
                            return Err(Error::Invalid(format!(
                                "node '{}': negative pads (cropping) are not supported yet",
                                self.name
                            )));
                        }
                        begins
                            .iter()
                            .zip(ends)
                            .map(|(&b, &e)| (b as usize, e as usize))
                            .collect()
                    }
                };
                indexing::pad(x, &pairs, *value, &self.name)?
            }
            Kind::ConstantOfShape {
                shape,
                value,
                int,
                device,
            } => {
                let shape: Vec<usize> = self
                    .src(shape, slots)?
                    .iter()
                    .map(|&v| v as usize)
                    .collect();
                let n: usize = shape.iter().product();
                if *int && shape.len() <= 1 {
                    Value::Ints(vec![*value as i64; n])
                } else {
                    let flat =
                        Tensor::<1>::from_data(TensorData::new(vec![*value; n], [n]), device);
                    Value::R1(flat).reshape(if shape.is_empty() { &[1] } else { &shape })?
                }
            }
            Kind::Cast { to_float, device } => match (x, to_float) {
                (Value::Ints(v), true) => floats(v, device),
                (Value::R1(t), false) if t.dims()[0] <= 16 => Value::Ints(
                    crate::tensor_io::to_vec(t.clone())?
                        .iter()
                        .map(|&f| f as i64)
                        .collect(),
                ),
                (x, _) => x.clone(),
            },
            Kind::Attention { scale } => {
                let (q, k, v) = (
                    x.to_rank::<4>()?,
                    get(1)?.to_rank::<4>()?,
                    get(2)?.to_rank::<4>()?,
                );
                let d = q.dims()[3];
                let scale = scale.map_or(1.0 / (d as f32).sqrt(), |s| s as f32);
                let scores = Value::R4(q.matmul(k.swap_dims(2, 3)) * scale);
                let scores = match self.inputs.get(3).copied().flatten() {
                    Some(m) => {
                        let mask = slots[m].as_ref().ok_or_else(|| {
                            Error::Invalid(format!("node '{}' lacks its mask", self.name))
                        })?;
                        zip_values!(scores, mask, |a, b| a + b)
                    }
                    None => scores,
                };
                Value::R4(softmax(scores.to_rank::<4>()?, 3).matmul(v))
            }
            Kind::Resize { how, size } => {
                let size = match size {
                    ResizeTo::Sizes(s) => ResizeTo::Sizes(Src::Static(self.src(s, slots)?)),
                    s => s.clone(),
                };
                resize::run(x, how, &size)?
            }
            Kind::ScatterNd => indexing::scatter_nd(x, get(1)?, get(2)?, &self.name)?,
            Kind::Equal => indexing::equal(x, get(1)?, &self.name)?,
            Kind::Where => indexing::select_where(x, get(1)?, get(2)?, &self.name)?,
            Kind::Not => match x {
                Value::Ints(v) => Value::Ints(v.iter().map(|&b| (b == 0) as i64).collect()),
                x => map_value!(x.clone(), |t| t.neg() + 1.0),
            },
            Kind::Mod => {
                let (a, b) = (ints(x, &self.name)?, ints(get(1)?, &self.name)?);
                // ONNX's integer Mod takes the divisor's sign, as Python's %.
                Value::Ints(int_zip(
                    a,
                    b,
                    |p, q| if q == 0 { 0 } else { (p % q + q) % q },
                ))
            }
            Kind::Sqrt => map_value!(x.clone(), |t| t.sqrt()),
            Kind::Neg => match x {
                Value::Ints(v) => Value::Ints(v.iter().map(|&i| -i).collect()),
                x => map_value!(x.clone(), |t| t.neg()),
            },
            Kind::Pow => {
                let y = get(1)?;
                match (x, y) {
                    (Value::Ints(a), Value::Ints(b)) => {
                        Value::Ints(int_zip(a, b, |p, q| p.pow(q.max(0) as u32)))
                    }
                    (x, Value::Ints(e)) if e.len() == 1 => {
                        map_value!(x.clone(), |t| t.powf_scalar(e[0] as f32))
                    }
                    (x, y) if y.dims().iter().product::<usize>() == 1 => {
                        let e = crate::tensor_io::to_vec(y.to_rank::<1>()?)?[0];
                        map_value!(x.clone(), |t| t.powf_scalar(e))
                    }
                    (x, y) => zip_values!(x, y, |a, b| a.powf(b)),
                }
            }
            Kind::Range(start, limit, delta) => {
                let one = |s: &Src| -> Result<i64> {
                    self.src(s, slots)?.first().copied().ok_or_else(|| {
                        Error::Invalid(format!("node '{}': empty Range bound", self.name))
                    })
                };
                let (a, b, d) = (one(start)?, one(limit)?, one(delta)?);
                if d == 0 {
                    return Err(Error::Invalid(format!(
                        "node '{}': Range step 0",
                        self.name
                    )));
                }
                let n = ((b - a) as f64 / d as f64).ceil().max(0.0) as i64;
                Value::Ints((0..n).map(|i| a + i * d).collect())
            }
            Kind::ReduceMean { axes, keepdims } => {
                let dims = x.dims();
                let mut at: Vec<usize> = axes.iter().map(|&a| axis(a, dims.len())).collect();
                at.sort_unstable();
                let mut y = x.clone();
                for &a in &at {
                    y = map_value!(y, |t| t.mean_dim(a));
                }
                if *keepdims {
                    y
                } else {
                    let d: Vec<usize> = y
                        .dims()
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !at.contains(i))
                        .map(|(_, &v)| v)
                        .collect();
                    y.reshape(if d.is_empty() { &[1] } else { &d })?
                }
            }
            Kind::Unsqueeze(axes) => match x {
                // A scalar becomes a 1-element list: the same integers here.
                Value::Ints(v) => Value::Ints(v.clone()),
                x => {
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
                    x.reshape(&d)?
                }
            },
            Kind::Concat(axis) => {
                let parts: Vec<Value> = self
                    .inputs
                    .iter()
                    .flatten()
                    .map(|s| slots[*s].clone())
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        Error::Invalid(format!("node '{}' lacks an input", self.name))
                    })?;
                match parts.iter().find_map(device_of) {
                    // Shape lists joined: integers still.
                    None => Value::Ints(
                        parts
                            .iter()
                            .map(|p| ints(p, &self.name).map(<[i64]>::to_vec))
                            .collect::<Result<Vec<_>>>()?
                            .concat(),
                    ),
                    // Integers beside tensors (index grids built from shapes): floats too.
                    Some(device) => {
                        let parts: Vec<Value> = parts
                            .iter()
                            .map(|p| match p {
                                Value::Ints(i) => floats(i, &device),
                                p => p.clone(),
                            })
                            .collect();
                        indexing::cat(&parts, *axis, &self.name)?
                    }
                }
            }
            Kind::Softmax(axis) => map_value!(x.clone(), |t| softmax(t, *axis)),
            Kind::Transpose(p) => match (x, p.as_slice()) {
                (Value::R2(t), [a, b]) => Value::R2(t.clone().permute([*a, *b])),
                (Value::R3(t), [a, b, c]) => Value::R3(t.clone().permute([*a, *b, *c])),
                (Value::R4(t), [a, b, c, d]) => Value::R4(t.clone().permute([*a, *b, *c, *d])),
                (Value::R6(t), [a, b, c, d, e, f]) => {
                    Value::R6(t.clone().permute([*a, *b, *c, *d, *e, *f]))
                }
                (Value::R5(t), [a, b, c, d, e]) => {
                    Value::R5(t.clone().permute([*a, *b, *c, *d, *e]))
                }
                (x, p) => {
                    return Err(Error::Invalid(format!(
                        "node '{}': Transpose {p:?} of a rank {} tensor",
                        self.name,
                        x.rank()
                    )));
                }
            },
            Kind::LayerNorm {
                gamma,
                beta,
                epsilon,
            } => map_value!(x.clone(), |t| layer_norm(
                t,
                gamma.clone(),
                beta.clone(),
                *epsilon
            )),
            Kind::Identity => x.clone(),
        };
        self.set(slots, out)
    }

    /// The integers of a `Src`: fixed, or the value of the node's input.
    fn src(&self, src: &Src, slots: &[Option<Value>]) -> Result<Vec<i64>> {
        match src {
            Src::Static(v) => Ok(v.clone()),
            Src::Input(i) => {
                let v = self
                    .inputs
                    .get(*i)
                    .copied()
                    .flatten()
                    .and_then(|s| slots[s].as_ref())
                    .ok_or_else(|| {
                        Error::Invalid(format!("node '{}' lacks its input {i}", self.name))
                    })?;
                match v {
                    Value::Ints(v) => Ok(v.clone()),
                    v => Ok(crate::tensor_io::to_vec(v.to_rank::<1>()?)?
                        .iter()
                        .map(|&f| f as i64)
                        .collect()),
                }
            }
        }
    }

    fn set(&self, slots: &mut [Option<Value>], out: Value) -> Result<()> {
        slots[self.outputs[0]] = Some(out);
        Ok(())
    }
}
