//! What an operator family sees of its node: `Cx` while compiling (the node, its constant
//! inputs, the device), `Args` while running (its inputs among the graph's values), and `Src`,
//! integers fixed in the file or computed in the graph.

use super::integers;
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
        integers::invalid(self.name(), what)
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
