//! What an operator family sees of its node: `Cx` while compiling (the node, its constant
//! inputs, the device), `Args` while running (its inputs among the graph's values), and `Src`,
//! integers fixed in the file or computed in the graph.

use crate::error::{Error, Result};
use crate::models::value::Value;
use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::Node;

/// Integers an operation takes: fixed in the file, or computed in the graph (input `i`).
#[derive(Debug, Clone)]
pub(super) enum Src {
    Static(Vec<i64>),
    Input(usize),
}

/// What a family's `compile` reads of a node.
pub(super) struct Cx<'a> {
    pub node: &'a Node,
    pub name: &'a str,
    /// A graph exported with a fixed batch of 1, run batched (see `shape::Shaping::Reshape`).
    pub relax_batch: bool,
    pub device: &'a Device,
}

impl Cx<'_> {
    /// Input `i`'s value, where it is a constant.
    pub fn value(&self, i: usize) -> Option<TensorData> {
        self.node.inputs().get(i).and_then(|a| a.value())
    }

    /// Input `i` as floats, where it is a constant.
    pub fn floats(&self, i: usize) -> Option<Vec<f32>> {
        host(self.value(i))
    }

    /// Input `i` as a constant float tensor on the device.
    pub fn tensor(&self, i: usize) -> Option<Tensor<1>> {
        self.floats(i).map(|v| vector(v, self.device))
    }

    /// Input `i`'s weights and their shape; an error where they are computed in the graph.
    pub fn weight(&self, i: usize) -> std::result::Result<(Vec<f32>, Vec<usize>), String> {
        let data = self.value(i).ok_or_else(|| {
            self.error(format!(
                "{:?} needs constant weights",
                self.node.node_type()
            ))
        })?;
        let shape = data.shape().to_vec();
        Ok((host(Some(data)).ok_or("unreadable weights")?, shape))
    }

    /// Input `i`'s integers, where they are a constant.
    pub fn ints(&self, i: usize) -> Option<Vec<i64>> {
        self.value(i).and_then(|d| d.try_into_vec_as::<i64>().ok())
    }

    /// A sentence about this node, with its name (as the file names it, see `load`).
    pub fn error(&self, what: impl std::fmt::Display) -> String {
        format!("node '{}': {what}", self.name)
    }
}

/// What a family's `run` reads: the node's inputs among the graph's values.
pub(super) struct Args<'a> {
    pub name: &'a str,
    /// The node's inputs' slots (`None`: an optional input left out).
    pub inputs: &'a [Option<usize>],
    /// How many outputs the node has.
    pub outputs: usize,
    pub slots: &'a [Option<Value>],
    /// The number of images being run (what a fixed batch of 1 is relaxed to).
    pub batch: usize,
    /// The first input, where the run handed it over (no later node reads it): the node may
    /// consume it, and on the CPU its kernels then read the buffer without copying it.
    pub first: std::cell::Cell<Option<Value>>,
}

impl Args<'_> {
    pub fn name(&self) -> &str {
        self.name
    }

    /// Input `i`, if the node has it.
    pub fn optional(&self, i: usize) -> Option<&Value> {
        self.inputs
            .get(i)
            .copied()
            .flatten()
            .and_then(|s| self.slots[s].as_ref())
    }

    pub fn get(&self, i: usize) -> Result<&Value> {
        self.optional(i)
            .ok_or_else(|| self.invalid(format!("lacks its input {i}")))
    }

    /// The first input.
    pub fn x(&self) -> Result<&Value> {
        self.get(0)
    }

    /// The first input, owned: the one handed over, else a copy of the slot's (whose buffer
    /// it shares).
    pub fn take_x(&self) -> Result<Value> {
        match self.first.take() {
            Some(v) => Ok(v),
            None => self.x().cloned(),
        }
    }

    /// Every input given, in order.
    pub fn all(&self) -> Result<Vec<Value>> {
        self.inputs
            .iter()
            .flatten()
            .map(|s| self.slots[*s].clone())
            .collect::<Option<_>>()
            .ok_or_else(|| self.invalid("lacks an input"))
    }

    /// The integers of a `Src`: fixed, or the value of the node's input.
    pub fn src(&self, src: &Src) -> Result<Vec<i64>> {
        match src {
            Src::Static(v) => Ok(v.clone()),
            Src::Input(i) => match self.get(*i)? {
                Value::Ints(v) => Ok(v.clone()),
                v => Ok(crate::compute::tensor_io::to_vec(v.to_rank::<1>()?)?
                    .iter()
                    .map(|&f| f as i64)
                    .collect()),
            },
        }
    }

    pub fn invalid(&self, what: impl std::fmt::Display) -> Error {
        invalid(self.name(), what)
    }
}

/// A constant's values as floats, whatever its numeric type.
pub(super) fn host(data: Option<TensorData>) -> Option<Vec<f32>> {
    data?.try_into_vec_as::<f32>().ok()
}

pub(super) fn vector(v: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

// Shapes and what graphs compute from them stay integers on the host (`Value::Ints`): the
// helpers every family uses to read them, and to lift them to floats where they meet a tensor.
pub fn invalid(node: &str, what: impl std::fmt::Display) -> Error {
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

/// The integers of a shape-like value.
pub fn ints<'a>(v: &'a Value, node: &str) -> Result<&'a [i64]> {
    match v {
        Value::Ints(v) => Ok(v),
        _ => Err(invalid(
            node,
            "expected integers (a shape), found a float tensor",
        )),
    }
}

/// Elementwise on host integers, a single value broadcast over the other.
pub(crate) fn int_zip(a: &[i64], b: &[i64], f: impl Fn(i64, i64) -> i64) -> Vec<i64> {
    let n = a.len().max(b.len());
    let at = |v: &[i64], i: usize| v[if v.len() == 1 { 0 } else { i }];
    (0..n).map(|i| f(at(a, i), at(b, i))).collect()
}

/// Integers as a float tensor on `device` (a shape used in arithmetic, after a Cast).
pub fn floats(v: &[i64], device: &Device) -> Value {
    Value::R1(Tensor::from_data(
        TensorData::new(v.iter().map(|&i| i as f32).collect::<Vec<_>>(), [v.len()]),
        device,
    ))
}

/// `v`, integers made floats on `device` (where they meet a tensor).
pub fn lifted(v: &Value, device: &Device) -> Value {
    match v {
        Value::Ints(i) => floats(i, device),
        v => v.clone(),
    }
}

/// The device of a tensor value; `None` for host integers.
pub fn device_of(v: &Value) -> Option<Device> {
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
