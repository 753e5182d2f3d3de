//! The indexing and shape-building operations transformers export to (class tokens gathered,
//! heads sliced and split, masks built with Equal/Where, expands), on values whose rank is known
//! only at run time. Integer values (shapes and what is computed from them) stay on the host;
//! float values are burn tensors.

use crate::error::{Error, Result};
use crate::map_value;
use crate::models::value::Value;
use burn::tensor::{Int, Tensor, TensorData};

fn invalid(node: &str, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("node '{node}': {what}"))
}

/// An axis of a rank-`rank` value, negative ones counted from the end.
pub fn axis(a: i64, rank: usize) -> usize {
    if a < 0 {
        (a + rank as i64).max(0) as usize
    } else {
        a as usize
    }
}

/// ONNX Slice: `starts`/`ends` clamped to each axis as NumPy does, any non-zero step (a
/// reversal as PyTorch computes Pad amounts, every other row as YOLO's Focus layer takes).
pub fn slice(
    x: &Value,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
    node: &str,
) -> Result<Value> {
    let dims = x.dims();
    let default: Vec<i64> = (0..starts.len() as i64).collect();
    let axes = axes.unwrap_or(&default);
    let mut out = x.clone();
    for (i, ((&a, &s), &e)) in axes.iter().zip(starts).zip(ends).enumerate() {
        let step = steps.and_then(|st| st.get(i)).copied().unwrap_or(1);
        let a = axis(a, dims.len());
        let n = *dims
            .get(a)
            .ok_or_else(|| invalid(node, "Slice axis out of range"))? as i64;
        if step == 0 {
            return Err(invalid(node, "Slice step 0"));
        }
        let index = slice_indices(n, s, e, step);
        out = match out {
            Value::Ints(v) => Value::Ints(index.iter().map(|&j| v[j]).collect()),
            t => pick(t, a, &index)?,
        };
    }
    Ok(out)
}

/// The positions ONNX Slice keeps along an axis of length `n`, in order.
pub(super) fn slice_indices(n: i64, start: i64, end: i64, step: i64) -> Vec<usize> {
    let wrap = |v: i64| if v < 0 { v + n } else { v };
    let (mut j, end) = if step > 0 {
        (wrap(start).clamp(0, n), wrap(end).clamp(0, n))
    } else {
        (wrap(start).clamp(-1, n - 1), wrap(end).clamp(-1, n - 1))
    };
    let mut out = vec![];
    while (step > 0 && j < end) || (step < 0 && j > end) {
        out.push(j as usize);
        j += step;
    }
    out
}

/// `index` along axis `a` of a tensor value: a narrow where the positions are a run (forwards
/// or backwards), else a gather.
fn pick(t: Value, a: usize, index: &[usize]) -> Result<Value> {
    let run = |d: i64| index.windows(2).all(|w| w[1] as i64 - w[0] as i64 == d);
    Ok(match index {
        [] => map_value!(t, |t| t.narrow(a, 0, 0)),
        [first, ..] if run(1) => map_value!(t, |t| t.narrow(a, *first, index.len())),
        [.., last] if run(-1) => map_value!(t, |t| t.narrow(a, *last, index.len()).flip([a])),
        _ => {
            let device = device_of(&t).expect("a tensor value");
            let idx: Vec<i64> = index.iter().map(|&j| j as i64).collect();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [index.len()]), &device);
            map_value!(t, |t| t.select(a, idx.clone()))
        }
    })
}

/// ONNX Gather: `indices` along `axis`; a scalar index removes the axis.
pub fn gather(x: &Value, indices: &[i64], axis_: usize, scalar: bool, node: &str) -> Result<Value> {
    let dims = x.dims();
    let n = *dims
        .get(axis_)
        .ok_or_else(|| invalid(node, "Gather axis out of range"))? as i64;
    let idx: Vec<i64> = indices
        .iter()
        .map(|&i| if i < 0 { i + n } else { i })
        .collect();
    if idx.iter().any(|&i| i < 0 || i >= n) {
        return Err(invalid(node, "Gather index out of range"));
    }
    if let Value::Ints(v) = x {
        return Ok(Value::Ints(idx.iter().map(|&i| v[i as usize]).collect()));
    }
    let picked = if let ([i], true) = (idx.as_slice(), scalar) {
        map_value!(x.clone(), |t| t.narrow(axis_, *i as usize, 1))
    } else {
        let device = device_of(x).expect("a tensor: integers are handled above");
        let index = Tensor::<1, Int>::from_data(TensorData::new(idx.clone(), [idx.len()]), &device);
        map_value!(x.clone(), |t| t.select(axis_, index.clone()))
    };
    if scalar {
        let mut d = picked.dims();
        d.remove(axis_);
        if d.is_empty() {
            d.push(1);
        }
        picked.reshape(&d)
    } else {
        Ok(picked)
    }
}

/// ONNX Squeeze: the given axes (or every axis of size 1) removed.
pub fn squeeze(x: &Value, axes: Option<&[i64]>) -> Result<Value> {
    if let Value::Ints(_) = x {
        return Ok(x.clone()); // a 1-element list and a scalar are the same integers here
    }
    let dims = x.dims();
    let drop: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&a| axis(a, dims.len())).collect(),
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

/// ONNX Expand: NumPy broadcasting of `x` against `shape`.
pub fn expand(
    x: &Value,
    shape: &[i64],
    device: &burn::tensor::Device,
    node: &str,
) -> Result<Value> {
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

/// ONNX Split along `axis` into `sizes`.
pub fn split(x: &Value, axis_: usize, sizes: &[usize], node: &str) -> Result<Vec<Value>> {
    let n = *x
        .dims()
        .get(axis_)
        .ok_or_else(|| invalid(node, "Split axis out of range"))?;
    if sizes.iter().sum::<usize>() != n {
        return Err(invalid(
            node,
            format!("Split sizes {sizes:?} do not add up to {n}"),
        ));
    }
    let mut at = 0;
    sizes
        .iter()
        .map(|&len| {
            let part = match x {
                Value::Ints(v) => Value::Ints(v[at..at + len].to_vec()),
                t => map_value!(t.clone(), |t| t.narrow(axis_, at, len)),
            };
            at += len;
            Ok(part)
        })
        .collect()
}

/// ONNX Pad (constant mode) with `(before, after)` pads per axis.
pub fn pad(x: &Value, pads: &[(usize, usize)], value: f32, node: &str) -> Result<Value> {
    if pads.iter().all(|&(a, b)| a == 0 && b == 0) {
        return Ok(x.clone());
    }
    let dims = x.dims();
    if pads.len() != dims.len() {
        return Err(invalid(node, "Pad needs one pair of pads per axis"));
    }
    // Concatenate blocks of the fill value before and after, axis by axis.
    let mut out = x.clone();
    for (a, &(before, after)) in pads.iter().enumerate() {
        for (len, first) in [(before, true), (after, false)] {
            if len == 0 {
                continue;
            }
            let mut d = out.dims();
            d[a] = len;
            let fill = map_value!(out.clone(), |t| t
                .clone()
                .narrow(a, 0, 1)
                .zeros_like()
                .expand_to(&d)
                + value);
            let parts = if first { [fill, out] } else { [out, fill] };
            out = cat(&parts, a, node)?;
        }
    }
    Ok(out)
}

/// Concatenation of float values of one rank along `axis`.
pub fn cat(parts: &[Value], axis_: usize, node: &str) -> Result<Value> {
    let first = parts
        .first()
        .ok_or_else(|| invalid(node, "nothing to join"))?;
    macro_rules! join {
        ($r:literal, $v:ident) => {
            Value::$v(Tensor::cat(
                parts
                    .iter()
                    .map(|p| p.to_rank::<$r>())
                    .collect::<Result<_>>()?,
                axis_,
            ))
        };
    }
    Ok(match first.rank() {
        1 => join!(1, R1),
        2 => join!(2, R2),
        3 => join!(3, R3),
        4 => join!(4, R4),
        5 => join!(5, R5),
        6 => join!(6, R6),
        r => return Err(invalid(node, format!("Concat of rank {r}"))),
    })
}

trait ExpandTo {
    fn expand_to(self, dims: &[usize]) -> Self;
}

impl<const D: usize> ExpandTo for Tensor<D> {
    fn expand_to(self, dims: &[usize]) -> Self {
        let shape: [usize; D] = dims.try_into().expect("same rank");
        self.expand(shape)
    }
}

/// Integers as a float tensor on `device` (a shape used in arithmetic, after a Cast).
pub fn floats(v: &[i64], device: &burn::tensor::Device) -> Value {
    Value::R1(Tensor::from_data(
        TensorData::new(v.iter().map(|&i| i as f32).collect::<Vec<_>>(), [v.len()]),
        device,
    ))
}

/// Elementwise on host integers, a single value broadcast over the other.
pub fn int_zip(a: &[i64], b: &[i64], f: impl Fn(i64, i64) -> i64) -> Vec<i64> {
    let n = a.len().max(b.len());
    let at = |v: &[i64], i: usize| v[if v.len() == 1 { 0 } else { i }];
    (0..n).map(|i| f(at(a, i), at(b, i))).collect()
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
pub fn select_where(cond: &Value, a: &Value, b: &Value, node: &str) -> Result<Value> {
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
    let float = |v: &Value| match v {
        Value::Ints(i) => floats(i, &device),
        v => v.clone(),
    };
    let (c, a, b) = (float(cond), float(a), float(b));
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
pub fn equal(a: &Value, b: &Value, node: &str) -> Result<Value> {
    if let (Value::Ints(x), Value::Ints(y)) = (a, b) {
        return Ok(Value::Ints(int_zip(x, y, |p, q| (p == q) as i64)));
    }
    let [a, b]: [Value; 2] = broadcast(&[a, b], node)?.try_into().expect("two values");
    Ok(crate::zip_values!(a, b, |x, y| x.equal(y).float()))
}

/// ONNX ScatterND without reduction: `data` with the slices that `indices` (`[…, k]`, on the
/// host) name replaced by `updates`. torchvision's Swin builds its shifted-window mask so, from
/// shapes (folded at load time); as a select and a blend it keeps gradients where a graph
/// scatters activations.
pub fn scatter_nd(data: &Value, indices: &Value, updates: &Value, node: &str) -> Result<Value> {
    let dims = data.dims();
    let (index, index_dims): (Vec<i64>, Vec<usize>) = match indices {
        Value::Ints(v) => (v.clone(), vec![1, v.len()]),
        t => {
            let flat = t.reshape(&[t.dims().iter().product()])?.to_rank::<1>()?;
            let v = crate::tensor_io::to_vec(flat)?;
            (v.iter().map(|x| x.round() as i64).collect(), t.dims())
        }
    };
    let k = *index_dims.last().unwrap_or(&1);
    if k == 0 || k > dims.len() {
        return Err(invalid(node, "ScatterND indices of the wrong depth"));
    }
    // Each index addresses a slice of `slice` values; row-major strides of data's first k axes.
    let slice: usize = dims[k..].iter().product();
    let total: usize = dims.iter().product();
    let mut written = vec![0f32; total];
    let mut source = vec![0i64; total];
    for (u, idx) in index.chunks(k).enumerate() {
        let mut at = 0usize;
        for (a, &i) in idx.iter().enumerate() {
            let n = dims[a] as i64;
            let i = if i < 0 { i + n } else { i };
            if !(0..n).contains(&i) {
                return Err(invalid(node, "ScatterND index out of range"));
            }
            at = at * dims[a] + i as usize;
        }
        for j in 0..slice {
            written[at * slice + j] = 1.0;
            source[at * slice + j] = (u * slice + j) as i64;
        }
    }
    let device = device_of(data)
        .or_else(|| device_of(updates))
        .ok_or_else(|| invalid(node, "ScatterND of integers is not supported"))?;
    let lift = |v: &Value| match v {
        Value::Ints(i) => floats(i, &device),
        v => v.clone(),
    };
    let (data, updates) = (lift(data), lift(updates));
    let flat = |v: &Value| -> Result<Tensor<1>> {
        v.reshape(&[v.dims().iter().product()])?.to_rank::<1>()
    };
    let source = Tensor::<1, Int>::from_data(TensorData::new(source, [total]), &device);
    let written = Tensor::<1>::from_data(TensorData::new(written, [total]), &device);
    let keep = written.clone().neg() + 1.0;
    let out = flat(&data)? * keep + flat(&updates)?.select(0, source) * written;
    Value::R1(out).reshape(&dims)
}

pub fn device_of(v: &Value) -> Option<burn::tensor::Device> {
    Some(match v {
        Value::R1(t) => t.device(),
        Value::R2(t) => t.device(),
        Value::R3(t) => t.device(),
        Value::R4(t) => t.device(),
        Value::R5(t) => t.device(),
        Value::R6(t) => t.device(),
        Value::Ints(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_keeps_what_numpy_keeps() {
        assert_eq!(slice_indices(6, 0, i64::MAX, 2), [0, 2, 4]);
        assert_eq!(slice_indices(6, 1, 6, 2), [1, 3, 5]);
        assert_eq!(slice_indices(5, -1, i64::MIN, -1), [4, 3, 2, 1, 0]);
        assert_eq!(slice_indices(7, -1, -8, -3), [6, 3, 0]);
        assert_eq!(slice_indices(4, 2, 1, 1), Vec::<usize>::new());
        assert_eq!(slice_indices(4, -10, 10, 3), [0, 3]);
    }

    #[test]
    fn scatter_nd_writes_slices_as_onnx_says() {
        let device = burn::tensor::Device::default();
        let data = Value::R2(Tensor::<2>::zeros([3, 4], &device));
        // Row 2 and then element (0, 1): ONNX's two kinds of index depth.
        let rows = Value::R2(Tensor::from_data(
            TensorData::new(vec![2.0f32], [1, 1]),
            &device,
        ));
        let updates = Value::R2(Tensor::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 4]),
            &device,
        ));
        let out = scatter_nd(&data, &rows, &updates, "t").unwrap();
        let one = Value::R2(Tensor::from_data(
            TensorData::new(vec![0.0f32, 1.0], [1, 2]),
            &device,
        ));
        let nine = Value::R1(Tensor::from_data(
            TensorData::new(vec![9.0f32], [1]),
            &device,
        ));
        let out = scatter_nd(&out, &one, &nine, "t").unwrap();
        assert_eq!(out.dims(), [3, 4]);
        let v = crate::tensor_io::to_vec(out.to_rank::<2>().unwrap()).unwrap();
        assert_eq!(
            v,
            [0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0]
        );
    }
}
