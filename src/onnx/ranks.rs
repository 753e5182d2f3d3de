//! The TorchScript exporter builds transformers' reshape targets in the graph (`x.reshape(n,
//! hidden, -1)` becomes Shape → Gather → Unsqueeze → Concat → Reshape; nn.MultiheadAttention's
//! `unflatten(-1, (3, E))` slices `x.shape[:-1]` with bounds computed from constants) and
//! declares no type for the result; the parser then cannot tell the Reshape's output rank and
//! refuses the file. That rank is the length of the shape list, which a walk over the graph in
//! order finds: the ranks of values, the lengths of shape lists, and integers computed from
//! constants only. This declares it (as ONNX shape inference would) on a copy of the file's graph, with
//! any external weights read in, for the parser to read from memory.

use onnx_ir::{Message, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use std::collections::HashMap;
use std::path::Path;

/// The model with the ranks of undeclared Reshape outputs declared, as bytes; `None` where
/// nothing could be added.
pub fn declare_reshape_ranks(model: &ModelProto, dir: &Path) -> Option<Vec<u8>> {
    let graph = &model.graph;
    let mut walk = Walk::default();
    for t in &graph.initializer {
        let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        walk.ranks.insert(&t.name, dims.len());
        if let Some(v) = int_values(t) {
            walk.values.insert(&t.name, v);
        }
        walk.shapes.insert(&t.name, dims);
    }
    for v in &graph.input {
        if v.type_.has_tensor_type() {
            walk.ranks
                .insert(&v.name, v.type_.tensor_type().shape.dim.len());
        }
    }
    let declared: std::collections::HashSet<&str> = graph
        .value_info
        .iter()
        .chain(&graph.output)
        .map(|v| v.name.as_str())
        .collect();
    let mut added = vec![];
    for node in &graph.node {
        walk.step(node);

        if node.op_type == "Reshape"
            && let (Some(out), Some(target)) = (node.output.first(), node.input.get(1))
            && !declared.contains(out.as_str())
            && let Some([rank]) = walk.shapes.get(target.as_str()).map(Vec::as_slice)
        {
            added.push(value_info(out, *rank));
        }
    }
    if added.is_empty() {
        return None;
    }
    let mut model = model.clone();
    let graph = model.graph.mut_or_insert_default();
    graph.value_info.extend(added);
    for t in &mut graph.initializer {
        inline_external(t, dir)?;
    }
    model.write_to_bytes().ok()
}

/// What a walk over the graph in order knows of each value by name.
#[derive(Default)]
struct Walk<'a> {
    /// Shapes of integer values (the shape lists that Reshapes read).
    shapes: HashMap<&'a str, Vec<usize>>,
    /// Ranks of any value, where its inputs' ranks tell it.
    ranks: HashMap<&'a str, usize>,
    /// Integer values computed from constants only (Slice bounds, `x.shape[:-1]`'s end).
    values: HashMap<&'a str, Vec<i64>>,
}

impl<'a> Walk<'a> {
    fn step(&mut self, node: &'a NodeProto) {
        let Some(out) = node.output.first() else {
            return;
        };
        if let Some(v) = self.value(node) {
            self.values.insert(out, v);
        }
        if let Some(shape) = self.int_shape(node) {
            self.shapes.insert(out, shape);
        }
        let rank = if node.op_type == "Reshape" {
            node.input
                .get(1)
                .and_then(|t| self.shapes.get(t.as_str()))
                .and_then(|s| s.first().copied())
        } else {
            self.rank(node)
        };
        if let Some(r) = rank {
            for o in &node.output {
                self.ranks.insert(o, r);
            }
        }
    }

    fn input_rank(&self, node: &NodeProto, i: usize) -> Option<usize> {
        self.ranks.get(node.input.get(i)?.as_str()).copied()
    }

    fn input_values(&self, node: &NodeProto, i: usize) -> Option<&Vec<i64>> {
        self.values.get(node.input.get(i)?.as_str())
    }

    /// The rank of a node's outputs from its inputs' ranks.
    fn rank(&self, node: &NodeProto) -> Option<usize> {
        let r = |i| self.input_rank(node, i);
        let axes = || {
            attr_ints(node, "axes")
                .or_else(|| self.input_values(node, 1).cloned())
                .map(|a| a.len())
        };
        match node.op_type.as_str() {
            "Conv" | "MaxPool" | "AveragePool" | "GlobalAveragePool" | "BatchNormalization"
            | "Resize" => Some(4),
            "Flatten" | "Gemm" => Some(2),
            "Shape" | "Range" => Some(1),
            "Constant" => Some(node.attribute.first()?.t.dims.len()),
            "ConstantOfShape" => self
                .shapes
                .get(node.input.first()?.as_str())?
                .first()
                .copied(),
            "MatMul" | "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Equal" | "Mod" => {
                Some(r(0)?.max(r(1)?))
            }
            "Where" => Some(r(0)?.max(r(1)?).max(r(2)?)),
            "Expand" => Some(r(0)?.max(*self.shapes.get(node.input.get(1)?.as_str())?.first()?)),
            "Gather" => Some(r(0)? - 1 + r(1)?),
            "Unsqueeze" => Some(r(0)? + axes()?),
            "Squeeze" => Some(r(0)? - axes()?),
            "ReduceMean" | "ReduceSum" => match attr_int(node, "keepdims").unwrap_or(1) {
                0 => Some(r(0)? - axes()?),
                _ => r(0),
            },
            "Relu" | "Erf" | "Sqrt" | "Softmax" | "LayerNormalization" | "Gelu" | "Cast"
            | "Identity" | "Dropout" | "Tanh" | "Sigmoid" | "Transpose" | "Concat" | "Slice"
            | "Split" | "Neg" | "Clip" | "HardSwish" | "HardSigmoid" | "Not" | "Pad" => r(0),
            _ => None,
        }
    }

    /// A node's integer result, where its inputs are known integers.
    fn value(&self, node: &NodeProto) -> Option<Vec<i64>> {
        let v = |i| self.input_values(node, i);
        let zip = |f: fn(i64, i64) -> i64| {
            let (a, b) = (v(0)?, v(1)?);
            Some(super::ops::int_zip(a, b, f))
        };
        match node.op_type.as_str() {
            "Constant" => {
                let a = node.attribute.first()?;
                match a.name.as_str() {
                    "value" => int_values(&a.t),
                    "value_ints" => Some(a.ints.clone()),
                    "value_int" => Some(vec![a.i]),
                    _ => None,
                }
            }
            "Identity" | "Cast" | "Reshape" | "Unsqueeze" | "Squeeze" | "Flatten" => v(0).cloned(),
            "Neg" => Some(v(0)?.iter().map(|x| -x).collect()),
            // The shape of a shape list (or of a weight) is known.
            "Shape" if node.attribute.is_empty() => Some(
                self.shapes
                    .get(node.input.first()?.as_str())?
                    .iter()
                    .map(|&d| d as i64)
                    .collect(),
            ),
            "Add" => zip(|a, b| a + b),
            "Sub" => zip(|a, b| a - b),
            "Mul" => zip(|a, b| a * b),
            "Div" => zip(|a, b| a.checked_div(b).unwrap_or(0)),
            "Mod" => zip(|a, b| a.checked_rem_euclid(b).unwrap_or(0)),
            "Concat" => Some(
                (0..node.input.len())
                    .map(|i| v(i).cloned())
                    .collect::<Option<Vec<_>>>()?
                    .concat(),
            ),
            "Gather" => {
                let (data, idx) = (v(0)?, v(1)?);
                let n = data.len() as i64;
                idx.iter()
                    .map(|&i| data.get((if i < 0 { i + n } else { i }) as usize).copied())
                    .collect()
            }
            _ => None,
        }
    }

    /// The shape of a node's (integer, shape-building) output where its inputs' shapes tell it.
    fn int_shape(&self, node: &NodeProto) -> Option<Vec<usize>> {
        let input = |i: usize| self.shapes.get(node.input.get(i)?.as_str()).cloned();
        match node.op_type.as_str() {
            "Constant" => {
                let a = node.attribute.first()?;
                match a.name.as_str() {
                    "value" => Some(a.t.dims.iter().map(|&d| d as usize).collect()),
                    "value_ints" | "value_floats" => Some(vec![a.ints.len().max(a.floats.len())]),
                    "value_int" | "value_float" => Some(vec![]),
                    _ => None,
                }
            }
            // A value's shape as a list: as long as its rank (opset 15: start/end attributes).
            "Shape" => {
                let rank = self.input_rank(node, 0)? as i64;
                let start = attr_int(node, "start").unwrap_or(0);
                let end = attr_int(node, "end").unwrap_or(rank);
                let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank);
                Some(vec![(clamp(end) - clamp(start)).max(0) as usize])
            }
            "Slice" => {
                let [n] = input(0)?[..] else { return None };
                let at = |i: usize| self.input_values(node, i).and_then(|v| v.first().copied());
                if at(3).is_some_and(|a| a != 0 && a != -1) {
                    return None;
                }
                let kept = super::ops::slice_indices(n as i64, at(1)?, at(2)?, at(4).unwrap_or(1));
                Some(vec![kept.len()])
            }
            "Identity" | "Cast" | "Neg" | "Abs" => input(0),
            // Gather from a list: the indices' shape.
            "Gather" => input(1),
            "Unsqueeze" => {
                let mut s = input(0)?;
                let n = attr_ints(node, "axes")
                    .or_else(|| self.input_values(node, 1).cloned())
                    .map(|a| a.len())
                    .or_else(|| input(1)?.first().copied())?;
                for _ in 0..n {
                    s.insert(0, 1);
                }
                Some(s)
            }
            "Squeeze" => Some(input(0)?.into_iter().filter(|&d| d != 1).collect()),
            // A list reshaped to a list (Reshape(x, [1]) as the exporter writes Slice bounds).
            "Reshape" => match self.input_values(node, 1)?.as_slice() {
                [1] | [-1] => Some(vec![input(0)?.iter().product()]),
                _ => None,
            },
            "Concat" => {
                let mut total = 0;
                for i in 0..node.input.len() {
                    total += *input(i)?.first().unwrap_or(&1);
                }
                Some(vec![total])
            }
            "Add" | "Sub" | "Mul" | "Div" | "Mod" | "Equal" | "Where" => (0..node.input.len())
                .map(input)
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .max_by_key(Vec::len),
            // `torch.ones(shape)`-like lists (the exporter's Expand targets).
            "ConstantOfShape" => Some(
                self.input_values(node, 0)?
                    .iter()
                    .map(|&d| d.max(0) as usize)
                    .collect(),
            ),
            _ => None,
        }
    }
}

fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

/// A small integer tensor's values (INT64 or INT32, inline).
fn int_values(t: &TensorProto) -> Option<Vec<i64>> {
    const INT32: i32 = 6;
    const INT64: i32 = 7;
    let n: i64 = t.dims.iter().product();
    if n > 64 {
        return None;
    }
    match t.data_type {
        INT64 if !t.int64_data.is_empty() => Some(t.int64_data.clone()),
        INT64 => Some(
            t.raw_data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        INT32 if !t.int32_data.is_empty() => Some(t.int32_data.iter().map(|&v| v as i64).collect()),
        INT32 => Some(
            t.raw_data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as i64)
                .collect(),
        ),
        _ => None,
    }
}

fn value_info(name: &str, rank: usize) -> ValueInfoProto {
    let mut v = ValueInfoProto::new();
    v.name = name.to_string();
    let t = v.type_.mut_or_insert_default().mut_tensor_type();
    t.elem_type = 1; // FLOAT: reshapes of shape lists are declared by the exporter itself
    let shape = t.shape.mut_or_insert_default();
    for i in 0..rank {
        let mut d = onnx_ir::TensorShapeProto::new()
            .dim
            .pop()
            .unwrap_or_default();
        d.set_dim_param(format!("d{i}"));
        shape.dim.push(d);
    }
    v
}

/// Reads a weight stored in a file beside the model into the graph.
fn inline_external(t: &mut TensorProto, dir: &Path) -> Option<()> {
    const EXTERNAL: i32 = 1;
    if t.data_location.value() != EXTERNAL {
        return Some(());
    }
    let get = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.clone())
    };
    let bytes = std::fs::read(dir.join(get("location")?)).ok()?;
    let offset: usize = get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let length: usize = get("length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(bytes.len().saturating_sub(offset));
    t.raw_data = bytes.get(offset..offset + length)?.to_vec().into();
    t.external_data.clear();
    t.data_location = Default::default();
    Some(())
}
