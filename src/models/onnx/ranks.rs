//! The TorchScript exporter builds transformers' reshape targets in the graph (`x.reshape(n,
//! hidden, -1)` becomes Shape → Gather → Unsqueeze → Concat → Reshape) and declares no type for
//! the result; the parser then cannot tell the Reshape's output rank and refuses the file. That
//! rank is the length of the shape list, which a short walk over the integer nodes that build it
//! finds. This declares it (as ONNX shape inference would) on a copy of the file's graph, with
//! any external weights read in, for the parser to read from memory.

use onnx_ir::{Message, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use std::collections::HashMap;
use std::path::Path;

/// The model with the ranks of undeclared Reshape outputs declared, as bytes; `None` where
/// nothing could be added.
pub fn declare_reshape_ranks(model: &ModelProto, dir: &Path) -> Option<Vec<u8>> {
    let graph = &model.graph;
    let mut shapes: HashMap<&str, Vec<usize>> = HashMap::new();
    for t in &graph.initializer {
        shapes.insert(&t.name, t.dims.iter().map(|&d| d as usize).collect());
    }
    let declared: std::collections::HashSet<&str> = graph
        .value_info
        .iter()
        .chain(&graph.output)
        .map(|v| v.name.as_str())
        .collect();
    let mut added = vec![];
    for node in &graph.node {
        if let (Some(shape), Some(out)) = (int_shape(node, &shapes), node.output.first()) {
            shapes.insert(out, shape);
        }
        if node.op_type == "Reshape"
            && let (Some(out), Some(target)) = (node.output.first(), node.input.get(1))
            && !declared.contains(out.as_str())
            && let Some([rank]) = shapes.get(target.as_str()).map(Vec::as_slice)
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

/// The shape of a node's (integer, shape-building) output where its inputs' shapes tell it.
fn int_shape(node: &NodeProto, shapes: &HashMap<&str, Vec<usize>>) -> Option<Vec<usize>> {
    let input = |i: usize| shapes.get(node.input.get(i)?.as_str()).cloned();
    let ints = |name: &str| {
        node.attribute
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.ints.clone())
    };
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
        "Identity" | "Cast" | "Neg" | "Abs" => input(0),
        // Gather from a list: the indices' shape.
        "Gather" => input(1),
        "Unsqueeze" => {
            let mut s = input(0)?;
            let axes = ints("axes").or_else(|| {
                // Opset 13+: the axes are a constant input.
                let n = input(1)?.first().copied().unwrap_or(1);
                Some(vec![0; n])
            })?;
            for _ in axes {
                s.insert(0, 1);
            }
            Some(s)
        }
        "Concat" => {
            let mut total = 0;
            for i in 0..node.input.len() {
                total += *input(i)?.first().unwrap_or(&1);
            }
            Some(vec![total])
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            let (a, b) = (input(0)?, input(1)?);
            Some(if a.len() >= b.len() { a } else { b })
        }
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
