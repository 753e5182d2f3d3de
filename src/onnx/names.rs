//! The exporter's names for the parser's nodes. `onnx-ir` renames every node after its type and a
//! counter (`relu17`), but a person looks for `/layer4/layer4.1/relu_1/Relu` (what PyTorch wrote
//! and Netron shows) or the module path the dynamo exporter records. The file's own node list is
//! read beside the parser and each parsed node is matched to the original node of the same
//! operator type that reads the same producers; where the parser fused or rewrote nodes and no
//! original fits, its own name stays.

use onnx_ir::{GraphProto, NodeProto};
use std::collections::{HashMap, HashSet};

/// Where a node's non-constant input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Producer {
    Input,
    Node(usize),
}

/// A node of either graph: its operator type (the parser's spelling, lower case) and producers.
#[derive(Debug, Clone)]
pub struct Shape {
    pub kind: String,
    pub producers: Vec<Producer>,
}

/// The parsed nodes' original names (`None` where no original node fits).
pub fn original_names(graph: &GraphProto, parsed: &[Shape]) -> Vec<Option<String>> {
    let originals = original_shapes(graph);
    let mut by_kind: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, (shape, _)) in originals.iter().enumerate() {
        by_kind.entry(shape.kind.as_str()).or_default().push(k);
    }
    let mut used = vec![false; originals.len()];
    let mut start: HashMap<&str, usize> = HashMap::new();
    // The original node a parsed node is named after, and the one whose output it computes:
    // the bias Add of a MatMul the parser fused into one Linear node.
    let mut named: Vec<Option<usize>> = vec![None; parsed.len()];
    let mut mapped: Vec<Option<usize>> = vec![None; parsed.len()];
    for (i, node) in parsed.iter().enumerate() {
        let attention = node.kind == "attention";
        let kinds: &[&str] = match node.kind.as_str() {
            // Gemm (and MatMul + Add) become one Linear node.
            "linear" => &["gemm", "matmul"],
            // A fused attention block computes what its last MatMul (softmax · V) did.
            "attention" => &["matmul"],
            k => &[k][..],
        };
        // Where none of a node's producers is known, a match would be a guess: it keeps the
        // parser's name.
        let known = node.producers.iter().any(|p| match p {
            Producer::Input => true,
            Producer::Node(j) => mapped[*j].is_some(),
        });
        if !known && !node.producers.is_empty() {
            continue;
        }
        let fits = |k: usize| {
            let theirs: HashSet<Producer> = originals[k].0.producers.iter().copied().collect();
            if attention {
                // Q and K reach it through the scores: only V is among its producers.
                let softmax = theirs
                    .iter()
                    .any(|p| matches!(p, Producer::Node(s) if originals[*s].0.kind == "softmax"));
                let v = node.producers.last().and_then(|p| match p {
                    Producer::Node(j) => mapped[*j],
                    Producer::Input => None,
                });
                return softmax && v.is_none_or(|v| theirs.contains(&Producer::Node(v)));
            }
            node.producers.iter().all(|p| match p {
                Producer::Input => theirs.contains(&Producer::Input),
                Producer::Node(j) => mapped[*j].is_none_or(|m| theirs.contains(&Producer::Node(m))),
            })
        };
        'kinds: for kind in kinds {
            let Some(list) = by_kind.get(kind) else {
                continue;
            };
            let from = start.entry(kind).or_insert(0);
            while *from < list.len() && used[list[*from]] {
                *from += 1;
            }
            for &k in &list[*from..] {
                if !used[k] && fits(k) {
                    used[k] = true;
                    mapped[i] = Some(k);
                    named[i] = Some(k);
                    break 'kinds;
                }
            }
        }
        if let (Some(k), "linear") = (mapped[i], node.kind.as_str()) {
            let bias = originals.iter().enumerate().position(|(a, (o, _))| {
                !used[a] && o.kind == "add" && o.producers == [Producer::Node(k)]
            });
            if let Some(a) = bias {
                used[a] = true;
                mapped[i] = Some(a);
            }
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    named
        .into_iter()
        .map(|m| {
            let name = originals[m?].1.clone()?;
            // Names must tell layers apart; a repeated one gets its occurrence.
            let n = seen.entry(name.clone()).or_insert(0);
            *n += 1;
            Some(if *n == 1 { name } else { format!("{name}#{n}") })
        })
        .collect()
}

/// Each original node's shape and display name.
fn original_shapes(graph: &GraphProto) -> Vec<(Shape, Option<String>)> {
    let inputs: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    let constants: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    // A tensor's producer, looked through nodes that pass their input on unchanged (the parser
    // removes them).
    let mut source: HashMap<&str, Option<Producer>> = HashMap::new();
    // The parser merges nodes that compute the same thing from the same inputs (PyTorch writes
    // a Shape per use): a repeat stands for the first.
    type Key<'a> = (&'a str, Vec<Option<Producer>>);
    let mut seen: HashMap<Key, Vec<(&NodeProto, Producer)>> = HashMap::new();
    let mut out = vec![];
    for node in &graph.node {
        let resolved: Vec<Option<Producer>> = node
            .input
            .iter()
            .map(|t| match source.get(t.as_str()) {
                Some(p) => *p,
                None if inputs.contains(t.as_str()) => Some(Producer::Input),
                None => None,
            })
            .collect();
        let key = (node.op_type.as_str(), resolved.clone());
        let repeat = seen.get(&key).and_then(|nodes| {
            nodes.iter().find(|(n, _)| {
                n.attribute == node.attribute
                    && resolved.iter().any(Option::is_some)
                    && (n.input.iter().zip(&node.input).zip(&resolved))
                        .all(|((a, b), p)| p.is_some() || a == b)
            })
        });
        if let Some(&(_, first)) = repeat {
            for t in &node.output {
                source.insert(t.as_str(), Some(first));
            }
            out.push((
                Shape {
                    kind: format!("repeat of {}", node.op_type),
                    producers: vec![],
                },
                None,
            ));
            continue;
        }
        let producers: Vec<Producer> = node
            .input
            .iter()
            .filter(|t| !t.is_empty() && !constants.contains(t.as_str()))
            .filter_map(|t| match source.get(t.as_str()) {
                Some(p) => *p,
                None if inputs.contains(t.as_str()) => Some(Producer::Input),
                None => None,
            })
            .collect();
        let passes_on = match node.op_type.as_str() {
            "Identity" | "Dropout" => true,
            "Concat" => node.input.len() == 1,
            _ => false,
        };
        // A node of constants only (Constant, or an Identity of a weight, which the exporter
        // writes for shared weights) gives a constant.
        let own = if producers.is_empty() {
            None
        } else if passes_on && producers.len() == 1 {
            Some(producers[0])
        } else {
            Some(Producer::Node(out.len()))
        };
        for t in &node.output {
            source.insert(t.as_str(), own);
        }
        if let Some(own) = own
            && node.output.len() == 1
        {
            seen.entry(key).or_default().push((node, own));
        }
        out.push((
            Shape {
                kind: kind(&node.op_type),
                producers,
            },
            display_name(node),
        ));
    }
    out
}

/// The parser's spelling of an operator type: lower case, 2-D windows suffixed.
fn kind(op_type: &str) -> String {
    let k = op_type.to_lowercase();
    match k.as_str() {
        "conv" | "maxpool" | "averagepool" | "convtranspose" => format!("{k}2d"),
        _ => k,
    }
}

/// What a person recognises: the node's name from the TorchScript exporter (a module path
/// ending in the operator), the module path the dynamo exporter records in its metadata
/// (its node names are `node_relu_15`), else the node or its output's name.
fn display_name(node: &NodeProto) -> Option<String> {
    let scopes = node
        .metadata_props
        .iter()
        .find(|p| p.key == "pkg.torch.onnx.name_scopes")
        .map(|p| scope_path(&p.value));
    if let Some(Some(path)) = scopes {
        return Some(path);
    }
    [&node.name, node.output.first().unwrap_or(&String::new())]
        .into_iter()
        .find(|n| !n.is_empty())
        .cloned()
}

/// The dynamo exporter's scopes hold each enclosing module's full path, then the operation:
/// `['', 'layer4', 'layer4.1', 'layer4.1.relu', 'relu_15']` → `layer4.1.relu/relu_15`.
fn scope_path(list: &str) -> Option<String> {
    let parts: Vec<&str> = list
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"'))
        .filter(|s| !s.is_empty())
        .collect();
    match parts.as_slice() {
        [] => None,
        [op] => Some(op.to_string()),
        [.., module, op] => Some(format!("{module}/{op}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        let mut n = NodeProto::new();
        n.op_type = op.into();
        n.name = name.into();
        n.input = inputs.iter().map(|s| s.to_string()).collect();
        n.output = outputs.iter().map(|s| s.to_string()).collect();
        n
    }

    #[test]
    fn parsed_nodes_get_the_names_of_the_originals_that_read_the_same_producers() {
        let mut g = GraphProto::new();
        let mut x = onnx_ir::ValueInfoProto::new();
        x.name = "x".into();
        g.input.push(x);
        let mut w = onnx_ir::TensorProto::new();
        w.name = "w".into();
        g.initializer.push(w);
        g.node = vec![
            node("Conv", "/stem/Conv", &["x", "w"], &["a"]),
            node("Relu", "/stem/relu/Relu", &["a"], &["b"]),
            node("Conv", "/mid/Conv", &["b", "w"], &["e"]),
            node("Relu", "/branch/Relu", &["x"], &["c"]),
            node("Relu", "/mid/relu/Relu", &["e"], &["f"]),
            node("Identity", "/drop", &["f"], &["f2"]),
            node("Add", "", &["f2", "c"], &["d"]),
        ];
        // The parser dropped the Identity and computes the branch's Relu last.
        let parsed = [
            ("conv2d", vec![Producer::Input]),
            ("relu", vec![Producer::Node(0)]),
            ("conv2d", vec![Producer::Node(1)]),
            ("relu", vec![Producer::Node(2)]),
            ("relu", vec![Producer::Input]),
            ("add", vec![Producer::Node(3), Producer::Node(4)]),
        ]
        .map(|(k, p)| Shape {
            kind: k.into(),
            producers: p,
        });
        let names = original_names(&g, &parsed);
        let names: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            [
                "/stem/Conv",
                "/stem/relu/Relu",
                "/mid/Conv",
                // Not the next Relu in the file: that one reads the input.
                "/mid/relu/Relu",
                "/branch/Relu",
                "d", // unnamed: its output's name
            ]
        );
    }

    #[test]
    fn repeated_nodes_stand_for_the_first_as_the_parser_merges_them() {
        let mut g = GraphProto::new();
        let mut x = onnx_ir::ValueInfoProto::new();
        x.name = "x".into();
        g.input.push(x);
        g.node = vec![
            node("Shape", "/Shape", &["x"], &["s1"]),
            node("Shape", "/Shape_1", &["x"], &["s2"]),
            node("Relu", "/relu", &["s2"], &["r"]),
        ];
        let parsed = [
            ("shape", vec![Producer::Input]),
            ("relu", vec![Producer::Node(0)]),
        ]
        .map(|(k, p)| Shape {
            kind: k.into(),
            producers: p,
        });
        let names = original_names(&g, &parsed);
        assert_eq!(names[1].as_deref(), Some("/relu"), "{names:?}");
    }

    #[test]
    fn dynamo_scopes_read_as_module_paths() {
        assert_eq!(
            scope_path("['', 'layer4', 'layer4.1', 'layer4.1.relu', 'relu_15']").as_deref(),
            Some("layer4.1.relu/relu_15")
        );
        assert_eq!(scope_path("['', 'relu']").as_deref(), Some("relu"));
        assert_eq!(scope_path("['']"), None);
    }
}
