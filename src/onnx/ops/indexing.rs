//! Indexing: what transformers and detectors export to pick parts of tensors (class tokens
//! gathered, heads sliced and split, windows padded and joined, masks scattered), on values
//! whose rank is known only at run time.

use super::context::{Args, Cx, Src};
use super::context::{axis, device_of, ints, invalid, lifted};
use crate::error::Result;
use crate::map_value;
use crate::models::value::Value;
use burn::tensor::{Int, Tensor, TensorData};
use onnx_ir::Node;

#[derive(Debug)]
pub(super) enum Indexing {
    /// Along an axis; a scalar index removes the axis.
    Gather {
        axis: usize,
        scalar: bool,
    },
    Slice {
        starts: Src,
        ends: Src,
        axes: Option<Src>,
        steps: Option<Src>,
    },
    Split {
        axis: usize,
        sizes: Option<Src>,
    },
    Pad {
        pads: PadSrc,
        value: f32,
    },
    Concat(usize),
    /// ONNX ScatterND without reduction (inputs: data, indices, updates).
    ScatterNd,
}

#[derive(Debug, Clone)]
pub(super) enum PadSrc {
    /// `(before, after)` per axis.
    Pairs(Vec<(usize, usize)>),
    /// ONNX's `[begins…, ends…]`, the value of input `i`.
    Input(usize),
}

operators! {
    Indexing, |node, cx| {
        ["Gather"] Node::Gather(n) => Indexing::Gather {
            axis: n.config.axis,
            // ONNX's rank-0 index, which the parser types as a scalar.
            scalar: node.inputs().get(1).is_some_and(|a| {
                matches!(
                    a.ty,
                    onnx_ir::ArgType::ScalarTensor(_) | onnx_ir::ArgType::ScalarNative(_)
                )
            }),
        },
        ["Slice"] Node::Slice(n) => {
            use onnx_ir::node::slice::SliceInput;
            let src = |s: &SliceInput| match s {
                SliceInput::Static(v) => Src::Static(v.clone()),
                SliceInput::Runtime(r) => Src::Input(r.input_index),
            };
            Indexing::Slice {
                starts: src(&n.config.starts),
                ends: src(&n.config.ends),
                axes: n.config.axes.as_ref().map(src),
                steps: n.config.steps.as_ref().map(src),
            }
        },
        ["Split"] Node::Split(n) => split_sizes(node, &n.config),
        ["Pad"] Node::Pad(n) => pad_config(cx, &n.config)?,
        ["Concat"] Node::Concat(n) => Indexing::Concat(n.config.axis),
        ["ScatterND"] Node::ScatterND(n) => {
            use onnx_ir::node::scatter_nd::ScatterNDReduction;
            if !matches!(n.config.reduction, ScatterNDReduction::None) {
                return Err(cx.error("ScatterND with a reduction is not supported yet"));
            }
            Indexing::ScatterNd
        },
    }
}

fn split_sizes(node: &Node, c: &onnx_ir::node::split::SplitConfig) -> Indexing {
    use onnx_ir::node::split::SplitSizesInput;
    let sizes = match (&c.split_sizes, c.split_size) {
        (Some(SplitSizesInput::Static(v)), _) => {
            Some(Src::Static(v.iter().map(|&s| s as i64).collect()))
        }
        (Some(SplitSizesInput::Runtime(r)), _) => Some(Src::Input(r.input_index)),
        (None, Some(each)) => {
            let total = node
                .inputs()
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
    };
    Indexing::Split {
        axis: c.axis,
        sizes,
    }
}

fn pad_config(cx: &Cx, c: &onnx_ir::node::pad::PadConfig) -> std::result::Result<Indexing, String> {
    use onnx_ir::node::pad::{ConstantValueInput, PadInput, PadMode};
    let value = match &c.constant_value {
        ConstantValueInput::Static(v) => Some(*v),
        ConstantValueInput::Runtime(r) => cx.floats(r.input_index).and_then(|v| v.first().copied()),
    };
    let pads = match &c.pads {
        PadInput::Static(p) => Some(PadSrc::Pairs(p.clone())),
        // ONNX's [begins…, ends…] over every axis, computed in the graph (Swin pads its maps
        // to whole windows).
        PadInput::Runtime { input, axes: None } => Some(PadSrc::Input(input.input_index)),
        PadInput::Runtime { .. } => None,
    };
    let (Some(pads), Some(value), PadMode::Constant) = (pads, value, &c.mode) else {
        return Err(cx.error("only constant-mode Pad over every axis is supported yet"));
    };
    Ok(Indexing::Pad { pads, value })
}

impl Indexing {
    /// One value per output (several for Split).
    pub(super) fn run(&self, a: &Args) -> Result<Vec<Value>> {
        let x = a.x()?;
        Ok(vec![match self {
            Self::Gather { axis, scalar } => {
                gather(x, ints(a.get(1)?, a.name())?, *axis, *scalar, a.name())?
            }
            Self::Slice {
                starts,
                ends,
                axes,
                steps,
            } => {
                let opt = |s: &Option<Src>| s.as_ref().map(|s| a.src(s)).transpose();
                let (axes, steps) = (opt(axes)?, opt(steps)?);
                let (starts, ends) = (a.src(starts)?, a.src(ends)?);
                let (axes, steps) = (axes.as_deref(), steps.as_deref());
                slice(x, &starts, &ends, axes, steps, a.name())?
            }
            Self::Split { axis, sizes } => return self.split(a, *axis, sizes.as_ref()),
            Self::Pad { pads, value } => pad(x, &pad_pairs(a, pads)?, *value, a.name())?,
            Self::Concat(axis) => concat(a, *axis)?,
            Self::ScatterNd => scatter_nd(x, a.get(1)?, a.get(2)?, a.name())?,
        }])
    }

    fn split(&self, a: &Args, axis: usize, sizes: Option<&Src>) -> Result<Vec<Value>> {
        let x = a.x()?;
        let n = x.dims()[axis];
        let sizes: Vec<usize> = match sizes {
            Some(s) => a.src(s)?.iter().map(|&v| v as usize).collect(),
            None => {
                let parts = a.outputs;
                let each = n.div_ceil(parts);
                (0..parts)
                    .map(|i| each.min(n - (each * i).min(n)))
                    .collect()
            }
        };
        split(x, axis, &sizes, a.name())
    }
}

impl Indexing {
    /// A Pad's zeros around the rows and columns of a `[N, C, H, W]` map alone, as (before,
    /// after) rows and columns: what a convolution after it can take in; `None` for any other
    /// node or padding.
    pub(super) fn spatial_zeros(&self, a: &Args) -> Option<[(usize, usize); 2]> {
        let Self::Pad { pads, value } = self else {
            return None;
        };
        match pad_pairs(a, pads).ok()?[..] {
            [(0, 0), (0, 0), h, w] if *value == 0.0 => Some([h, w]),
            _ => None,
        }
    }
}

fn pad_pairs(a: &Args, pads: &PadSrc) -> Result<Vec<(usize, usize)>> {
    match pads {
        PadSrc::Pairs(p) => Ok(p.clone()),
        PadSrc::Input(i) => {
            let v = a.src(&Src::Input(*i))?;
            let (begins, ends) = v.split_at(v.len() / 2);
            if begins.iter().chain(ends).any(|&p| p < 0) {
                return Err(a.invalid("negative pads (cropping) are not supported yet"));
            }
            Ok(begins
                .iter()
                .zip(ends)
                .map(|(&b, &e)| (b as usize, e as usize))
                .collect())
        }
    }
}

/// Concat: shape lists joined stay integers; integers beside tensors (index grids built from
/// shapes) become floats.
fn concat(a: &Args, axis: usize) -> Result<Value> {
    let parts = a.all()?;
    match parts.iter().find_map(device_of) {
        None => Ok(Value::Ints(
            parts
                .iter()
                .map(|p| ints(p, a.name()).map(<[i64]>::to_vec))
                .collect::<Result<Vec<_>>>()?
                .concat(),
        )),
        Some(device) => {
            let parts: Vec<Value> = parts.iter().map(|p| lifted(p, &device)).collect();
            cat(&parts, axis, a.name())
        }
    }
}

/// ONNX Slice: `starts`/`ends` clamped to each axis as NumPy does, any non-zero step (a
/// reversal as PyTorch computes Pad amounts, every other row as YOLO's Focus layer takes).
fn slice(
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
pub(crate) fn slice_indices(n: i64, start: i64, end: i64, step: i64) -> Vec<usize> {
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
fn gather(x: &Value, indices: &[i64], axis_: usize, scalar: bool, node: &str) -> Result<Value> {
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

/// ONNX Split along `axis` into `sizes`.
fn split(x: &Value, axis_: usize, sizes: &[usize], node: &str) -> Result<Vec<Value>> {
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
fn pad(x: &Value, pads: &[(usize, usize)], value: f32, node: &str) -> Result<Value> {
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
fn cat(parts: &[Value], axis_: usize, node: &str) -> Result<Value> {
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

/// ONNX ScatterND without reduction: `data` with the slices that `indices` (`[…, k]`, on the
/// host) name replaced by `updates`. torchvision's Swin builds its shifted-window mask so, from
/// shapes (folded at load time); as a select and a blend it keeps gradients where a graph
/// scatters activations.
fn scatter_nd(data: &Value, indices: &Value, updates: &Value, node: &str) -> Result<Value> {
    let dims = data.dims();
    let (index, index_dims): (Vec<i64>, Vec<usize>) = match indices {
        Value::Ints(v) => (v.clone(), vec![1, v.len()]),
        t => {
            let flat = t.reshape(&[t.dims().iter().product()])?.to_rank::<1>()?;
            let v = crate::compute::tensor_io::to_vec(flat)?;
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
    let (data, updates) = (lifted(data, &device), lifted(updates, &device));
    let flat = |v: &Value| -> Result<Tensor<1>> {
        v.reshape(&[v.dims().iter().product()])?.to_rank::<1>()
    };
    let source = Tensor::<1, Int>::from_data(TensorData::new(source, [total]), &device);
    let written = Tensor::<1>::from_data(TensorData::new(written, [total]), &device);
    let keep = written.clone().neg() + 1.0;
    let out = flat(&data)? * keep + flat(&updates)?.select(0, source) * written;
    Value::R1(out).reshape(&dims)
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
        let v = crate::compute::tensor_io::to_vec(out.to_rank::<2>().unwrap()).unwrap();
        assert_eq!(
            v,
            [0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0]
        );
    }
}
