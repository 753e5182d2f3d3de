//! The operations an ONNX graph compiles to, one family of operators per file; each file holds
//! how its operators compile (from the parser's typed nodes: weights read once, attributes
//! checked) and how they run (on burn tensors, or on host integers for shapes).
//!
//! Each family declares its operators with `operators!`: one arm per parser node, with the ONNX
//! names it stands for. The same arms make the family's `compile` and its `NAMES`, so the list
//! of supported operators (`FAMILIES`: the error message for an unknown operator, `camlens ops`,
//! docs/models.md) cannot drift from what compiles, and a new variant of a family's enum does
//! not build until its `run` has an arm for it.

/// A family's compile table: `[ONNX names] parser node pattern => the family's operation`.
/// Makes `NAMES` (the ONNX names, for users) and `compile` (`None` where the node is another
/// family's).
macro_rules! operators {
    ($family:ty, |$node:ident, $cx:ident| {
        $([$($onnx:literal),*] $pat:pat => $body:expr),+ $(,)?
    }) => {
        /// The ONNX operators of this family.
        pub(super) const NAMES: &[&str] = &[$($($onnx,)*)+];

        /// `node` compiled, or `None` where it is not one of this family's. (Each arm's body
        /// runs in a closure so that it can use `?`.)
        #[allow(unused_variables, clippy::redundant_closure_call)]
        pub(super) fn compile(
            $node: &onnx_ir::Node,
            $cx: &$crate::onnx::ops::context::Cx,
        ) -> Option<std::result::Result<$family, String>> {
            match $node {
                $($pat => Some((|| -> std::result::Result<$family, String> { Ok($body) })()),)+
                _ => None,
            }
        }
    };
}

mod context;
mod elementwise;
mod indexing;
mod matrix;
mod reduce;
mod resize;
mod shape;
mod windows;

pub(super) use context::int_zip;
pub(super) use indexing::slice_indices;

use crate::compute::tensor_io::to_vec;
use crate::error::Result;
use crate::models::layers::Act;
use crate::models::layers::reduced::cast;
use crate::models::value::Value;
use burn::tensor::{DType, Device, TensorData};
use context::{Args, Cx, host, vector};
use elementwise::Elementwise;
use indexing::Indexing;
use matrix::Matrix;
use onnx_ir::Node;
use reduce::Reduce;
use resize::Resize;
use shape::Shaping;
use std::sync::Arc;
use windows::Window;

/// Every operator camlens runs, by family, as ONNX names them.
pub const FAMILIES: &[(&str, &[&str])] = &[
    ("elementwise", elementwise::NAMES),
    ("convolution and pooling", windows::NAMES),
    ("reductions and normalisation", reduce::NAMES),
    ("matrix products and attention", matrix::NAMES),
    ("shapes", shape::NAMES),
    ("indexing", indexing::NAMES),
    ("resizing", resize::NAMES),
];

/// The operators by family as a Markdown list (`camlens ops`, docs/models.md).
pub fn listing() -> String {
    FAMILIES
        .iter()
        .map(|(family, names)| format!("* **{family}:** {}\n", names.join(", ")))
        .collect()
}

/// Every operator camlens runs, in `FAMILIES`' order.
pub fn supported() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|(_, names)| names.iter().copied())
        .collect()
}

/// What a fused convolution does after its product (see `onnx::fuse`): the activation it
/// applies as it writes, the slot it writes (the last fused node's), and the convolution with
/// a batch norm folded in, run instead of its own.
#[derive(Debug, Clone, Copy)]
pub struct Then<'a> {
    pub act: &'a Act,
    pub out: usize,
    pub conv: Option<&'a crate::models::layers::Conv>,
}

/// What a fused convolution reads in place of its input (see `onnx::fuse`).
#[derive(Debug, Clone, Copy)]
pub enum Instead {
    /// A Pad's input slot, with these rows and columns of zeros around it (the Pad taken in).
    Padded(usize, [(usize, usize); 2]),
    /// A Mul's map slot and its gate's slot (`[N, C, 1, 1]`: a squeeze-excitation taken in).
    Gated(usize, usize),
}

impl Instead {
    /// The slot read as the convolution's input.
    pub fn source(&self) -> usize {
        match *self {
            Instead::Padded(s, _) | Instead::Gated(s, _) => s,
        }
    }
}

/// How a node's outputs depend on where its inputs are (see `Op::in_space`).
pub enum InSpace<'a> {
    /// camlens' own convolution, on its CPU kernels.
    Conv(&'a crate::models::layers::Conv),
    /// A max pool: kernel, stride, (before, after) rows and columns of padding.
    MaxPool(usize, usize, [(usize, usize); 2]),
    /// Each output position reads the same position of its inputs alone (elementwise
    /// operations), where the inputs that are not maps are constant over the plane.
    Pointwise,
    /// A map scaled and shifted per channel by what the node holds (batch norm).
    PerChannel,
    Other,
}

#[derive(Debug)]
pub struct Op {
    pub name: String,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    kind: Kind,
}

/// An operation, by family.
#[derive(Debug)]
enum Kind {
    Elementwise(Elementwise),
    Window(Window),
    Reduce(Reduce),
    Matrix(Matrix),
    Shape(Shaping),
    Index(Indexing),
    Resize(Resize),
}

impl Op {
    /// `node` compiled by the family that has it; an unknown operator is refused with the
    /// list of those camlens runs.
    pub fn compile(
        node: &Node,
        inputs: Vec<Option<usize>>,
        outputs: Vec<usize>,
        relax_batch: bool,
        device: &Device,
    ) -> std::result::Result<Op, String> {
        let name = node.name().to_string();
        let cx = Cx {
            node,
            name: &name,
            relax_batch,
            device,
        };
        let kind = None
            .or_else(|| elementwise::compile(node, &cx).map(|r| r.map(Kind::Elementwise)))
            .or_else(|| windows::compile(node, &cx).map(|r| r.map(Kind::Window)))
            .or_else(|| reduce::compile(node, &cx).map(|r| r.map(Kind::Reduce)))
            .or_else(|| matrix::compile(node, &cx).map(|r| r.map(Kind::Matrix)))
            .or_else(|| shape::compile(node, &cx).map(|r| r.map(Kind::Shape)))
            .or_else(|| indexing::compile(node, &cx).map(|r| r.map(Kind::Index)))
            .or_else(|| resize::compile(node, &cx).map(|r| r.map(Kind::Resize)))
            .unwrap_or_else(|| {
                Err(format!(
                    "operator {:?} (node '{name}') is not supported yet; camlens runs: {} \
                     (`camlens ops` lists them by family)",
                    node.node_type(),
                    supported().join(", ")
                ))
            })?;
        Ok(Op {
            name,
            inputs,
            outputs,
            kind,
        })
    }

    /// The inputs a run reads among the graph's values: a window's weights and bias were
    /// compiled into it when the file was opened, so it reads its map alone.
    pub fn reads(&self) -> &[Option<usize>] {
        match self.kind {
            Kind::Window(_) => &self.inputs[..self.inputs.len().min(1)],
            _ => &self.inputs,
        }
    }

    /// What a family's `run` reads of this node among the graph's values.
    fn args<'a>(&'a self, slots: &'a [Option<Value>], batch: usize) -> Args<'a> {
        Args {
            name: &self.name,
            inputs: &self.inputs,
            outputs: self.outputs.len(),
            slots,
            batch,
            first: Default::default(),
        }
    }

    /// Whether a run that hands over the first input (`run`'s `hand_over`) lets this node
    /// consume it: a window or an activation camlens' CPU kernels compute, which read its
    /// buffer in place where no one else holds it (a shared one is copied, twice, on the way
    /// to the host).
    fn consumes_first(&self) -> bool {
        matches!(
            self.kind,
            Kind::Window(_) | Kind::Elementwise(Elementwise::Sigmoid | Elementwise::HardSwish)
        )
    }

    /// The first input `input` taken out of `slots` where `hand_over` and the node consumes it.
    fn handed(
        &self,
        slots: &mut [Option<Value>],
        input: Option<usize>,
        hand_over: bool,
    ) -> Option<Value> {
        let s = input.filter(|_| hand_over && self.consumes_first())?;
        slots[s].take()
    }

    /// Reads the inputs' slots, computes, fills the outputs' slots; `batch` is the number of
    /// images being run; `hand_over`: no later node reads the first input, which the node
    /// may then take out of its slot.
    pub fn run(&self, slots: &mut [Option<Value>], batch: usize, hand_over: bool) -> Result<()> {
        if matches!(self.kind, Kind::Shape(Shaping::Identity)) && self.inputs.is_empty() {
            return Ok(()); // a Constant node: its output is in the constant table
        }
        let first = self.handed(slots, self.inputs.first().copied().flatten(), hand_over);
        let a = self.args(slots, batch);
        a.first.set(first);
        let out = match &self.kind {
            Kind::Elementwise(k) => vec![k.run(&a)?],
            Kind::Window(k) => vec![k.run(&a)?],
            Kind::Reduce(k) => vec![k.run(&a)?],
            Kind::Matrix(k) => vec![k.run(&a)?],
            Kind::Shape(k) => vec![k.run(&a)?],
            Kind::Index(k) => k.run(&a)?,
            Kind::Resize(k) => vec![k.run(&a)?],
        };
        for (&slot, value) in self.outputs.iter().zip(out) {
            slots[slot] = Some(value);
        }
        Ok(())
    }

    /// The biases behind the node's output, where it is a convolution or batch norm that has
    /// one (see `models::BiasProbe`): FullGrad's terms, as pytorch-grad-cam finds them in
    /// `Conv2d` and `BatchNorm2d` modules.
    pub fn bias_terms(&self) -> Option<Arc<[Arc<[f32]>]>> {
        let host = |t: &burn::tensor::Tensor<1>| -> Option<Arc<[Arc<[f32]>]>> {
            let v = crate::compute::tensor_io::to_vec(t.clone()).ok()?;
            Some(Arc::from(vec![Arc::<[f32]>::from(v)]))
        };
        match &self.kind {
            Kind::Window(Window::Conv(conv)) if !conv.bias_terms().is_empty() => {
                Some(conv.bias_terms().clone())
            }
            Kind::Window(Window::ConvGeneral { bias: Some(b), .. }) => host(b),
            Kind::Reduce(Reduce::BatchNorm { shift, .. }) => host(shift),
            _ => None,
        }
    }

    /// Whether the node holds weights `set_dtype` casts.
    pub(super) fn has_weights(&self) -> bool {
        matches!(
            self.kind,
            Kind::Window(Window::Conv(_) | Window::ConvGeneral { .. })
                | Kind::Matrix(Matrix::Linear { .. })
        )
    }

    /// A weighted node's products in `dtype` (see `crate::compute::precision`). A Linear node's bias is
    /// added after its product is cast back, so it stays f32.
    pub(super) fn set_dtype(&mut self, dtype: DType) {
        match &mut self.kind {
            Kind::Window(w) => w.set_dtype(dtype),
            Kind::Matrix(Matrix::Linear { weight, .. }) => cast(weight, dtype),
            _ => {}
        }
    }

    /// The probabilities a graph may end in (`"Sigmoid"`, or `"Softmax"` over classes), which
    /// camlens leaves out to explain the logits before them.
    pub(super) fn probabilities(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Elementwise(Elementwise::Sigmoid) => Some("Sigmoid"),
            Kind::Reduce(Reduce::Softmax(1)) => Some("Softmax"),
            _ => None,
        }
    }

    /// A Transpose's permutation of a rank-4 tensor.
    pub fn permutation(&self) -> Option<[usize; 4]> {
        match &self.kind {
            Kind::Shape(Shaping::Transpose(p)) => p.as_slice().try_into().ok(),
            _ => None,
        }
    }

    pub fn is_conv(&self) -> bool {
        matches!(
            self.kind,
            Kind::Window(Window::Conv(_) | Window::ConvGeneral { .. })
        )
    }

    /// The activation this node is alone (ReLU, HardSwish, a Clip with constant bounds), which
    /// a convolution before it can apply as it writes (`run_fused`).
    pub fn as_activation(&self) -> Option<Act> {
        match self.kind {
            Kind::Elementwise(Elementwise::Relu) => Some(Act::Relu),
            Kind::Elementwise(Elementwise::HardSwish) => Some(Act::HardSwish),
            Kind::Elementwise(Elementwise::Clip(Some(lo), Some(hi))) if (lo, hi) == (0.0, 6.0) => {
                Some(Act::Relu6)
            }
            Kind::Elementwise(Elementwise::Clip(Some(lo), Some(hi))) => Some(Act::Clamp(lo, hi)),
            _ => None,
        }
    }

    pub fn is_sigmoid(&self) -> bool {
        matches!(self.kind, Kind::Elementwise(Elementwise::Sigmoid))
    }

    pub fn is_mul(&self) -> bool {
        matches!(
            self.kind,
            Kind::Elementwise(Elementwise::Binary(elementwise::Arith::Mul))
        )
    }

    /// Whether `run_fused` takes this node with an activation: camlens' own convolution.
    pub fn takes_activation(&self) -> bool {
        matches!(self.kind, Kind::Window(Window::Conv(_)))
    }

    pub fn is_pad(&self) -> bool {
        matches!(self.kind, Kind::Index(Indexing::Pad { .. }))
    }

    /// This batch norm folded into convolution `conv`'s weights (`Conv::with_batch_norm`).
    pub fn folded_into(&self, conv: &Op) -> Option<crate::models::layers::Conv> {
        let (Kind::Reduce(Reduce::BatchNorm { scale, shift }), Kind::Window(Window::Conv(c))) =
            (&self.kind, &conv.kind)
        else {
            return None;
        };
        let (scale, shift) = (to_vec(scale.clone()).ok()?, to_vec(shift.clone()).ok()?);
        c.with_batch_norm(&scale, &shift)
    }

    /// Whether `run_fused` takes this node with a gate (`Instead::Gated`) on map `x`.
    pub fn takes_gate(&self, x: &Value) -> bool {
        matches!((&self.kind, x), (Kind::Window(Window::Conv(c)), Value::R4(x)) if c.takes_gate(x))
    }

    /// Whether `run_fused` takes this node with a Pad's `[rows, columns]` of zeros.
    pub fn takes_padding(&self, pad: [(usize, usize); 2]) -> bool {
        matches!(&self.kind, Kind::Window(w) if w.takes_padding(pad))
    }

    /// A Pad's zeros around the rows and columns alone, for the values in `slots` (see
    /// `Indexing::spatial_zeros`).
    pub fn spatial_zeros(
        &self,
        slots: &[Option<Value>],
        batch: usize,
    ) -> Option<[(usize, usize); 2]> {
        match &self.kind {
            Kind::Index(k) => k.spatial_zeros(&self.args(slots, batch)),
            _ => None,
        }
    }

    /// This convolution (or `then.conv`) with `then.act` applied to its output, written to
    /// `then.out` (the last fused node's slot: the convolution's own is left empty); with `instead`,
    /// it reads that instead of its input (a zero Pad's input, padded, or a squeeze-excitation's
    /// map and gate; the node taken in leaves its output empty; `takes_padding` and `takes_gate`
    /// say what it takes). `hand_over` as in `run`.
    pub fn run_fused(
        &self,
        slots: &mut [Option<Value>],
        batch: usize,
        then: Then,
        instead: Option<Instead>,
        hand_over: bool,
    ) -> Result<()> {
        let mut inputs = self.inputs.clone();
        if let (Some(instead), Some(first)) = (instead, inputs.first_mut()) {
            *first = Some(instead.source());
        }
        let gate = match instead {
            Some(Instead::Gated(_, g)) => {
                let g = slots[g].as_ref().and_then(|v| v.to_rank::<4>().ok());
                Some(to_vec(
                    g.ok_or_else(|| self.invalid("a gate that is not a map"))?,
                )?)
            }
            _ => None,
        };
        let pad = match instead {
            Some(Instead::Padded(_, pad)) => Some(pad),
            _ => None,
        };
        let first = self.handed(slots, inputs.first().copied().flatten(), hand_over);
        let a = Args {
            inputs: &inputs,
            ..self.args(slots, batch)
        };
        a.first.set(first);
        let value = match &self.kind {
            Kind::Window(w) => w.run_fused(&a, (then.act, then.conv), pad, gate.as_deref()),
            _ => None,
        };
        let value = value.ok_or_else(|| {
            crate::error::Error::Invalid(format!("node '{}' cannot take this padding", self.name))
        })?;
        slots[then.out] = Some(value?);
        Ok(())
    }

    fn invalid(&self, what: &str) -> crate::error::Error {
        crate::error::Error::Invalid(format!("node '{}': {what}", self.name))
    }

    /// How a region pass (`onnx::region`) takes this node.
    pub fn in_space(&self) -> InSpace<'_> {
        match &self.kind {
            Kind::Window(Window::Conv(c)) if c.takes_part() => InSpace::Conv(c),
            Kind::Window(Window::MaxPool(o, None))
                if o.kernel_size[0] == o.kernel_size[1]
                    && o.stride[0] == o.stride[1]
                    && o.dilation == [1, 1]
                    && !o.ceil_mode =>
            {
                InSpace::MaxPool(o.kernel_size[0], o.stride[0], o.padding)
            }
            Kind::Elementwise(_) => InSpace::Pointwise,
            Kind::Reduce(Reduce::BatchNorm { .. }) => InSpace::PerChannel,
            Kind::Shape(Shaping::Identity) => InSpace::Pointwise,
            _ => InSpace::Other,
        }
    }

    /// A `Shape` node: its output is its input's size.
    pub fn is_shape_of(&self) -> bool {
        matches!(self.kind, Kind::Shape(Shaping::Shape(..)))
    }

    pub fn is_relu(&self) -> bool {
        matches!(self.kind, Kind::Elementwise(Elementwise::Relu))
    }

    /// An Add of two values (a residual connection, where both are maps).
    pub fn is_add(&self) -> bool {
        matches!(
            self.kind,
            Kind::Elementwise(Elementwise::Binary(elementwise::Arith::Add))
        ) && self.inputs.len() == 2
    }

    /// The axis of a Softmax.
    pub fn softmax_axis(&self) -> Option<usize> {
        match self.kind {
            Kind::Reduce(Reduce::Softmax(axis)) => Some(axis),
            _ => None,
        }
    }

    pub fn is_layer_norm(&self) -> bool {
        matches!(self.kind, Kind::Reduce(Reduce::LayerNorm { .. }))
    }

    /// Operations whose output axes are not the input's (a layout does not survive them).
    pub fn regroups_axes(&self) -> bool {
        matches!(
            self.kind,
            Kind::Shape(
                Shaping::Reshape { .. }
                    | Shaping::Flatten(_)
                    | Shaping::Squeeze(_)
                    | Shaping::Unsqueeze(_)
                    | Shaping::Expand(..)
            ) | Kind::Index(Indexing::Gather { .. })
                | Kind::Matrix(Matrix::MatMul | Matrix::Gemm { .. })
        )
    }

    /// A product with a matrix on the right: a linear map of the last axis at every position
    /// (an exported nn.Linear whose weight the graph transposes), which keeps a channels-last
    /// layout.
    pub fn maps_last_axis(&self, dims: &[Option<Vec<usize>>]) -> bool {
        matches!(self.kind, Kind::Matrix(Matrix::MatMul))
            && self
                .inputs
                .get(1)
                .copied()
                .flatten()
                .and_then(|s| dims[s].as_ref())
                .is_some_and(|d| d.len() == 2)
    }

    /// A product of two computed values (attention's scores and their use), which mixes tokens.
    pub fn mixes(&self, constant: &[bool]) -> bool {
        matches!(self.kind, Kind::Matrix(Matrix::MatMul))
            && self
                .inputs
                .iter()
                .flatten()
                .filter(|&&s| !constant[s])
                .count()
                == 2
    }
}

/// A constant of the graph (an initializer or a Constant node's value) as a float tensor.
pub fn constant(data: TensorData, device: &Device) -> std::result::Result<Value, String> {
    // Integer constants take part in shape arithmetic: they stay on the host.
    if matches!(data.dtype(), DType::I64 | DType::I32) {
        return data
            .try_into_vec_as::<i64>()
            .map(Value::Ints)
            .map_err(|e| format!("{e:?}"));
    }
    let shape = data.shape().to_vec();
    let floats = host(Some(data)).ok_or("a constant camlens cannot read as numbers")?;
    let shape = if shape.is_empty() { vec![1] } else { shape };
    let t = vector(floats, device);
    Value::R1(t).reshape(&shape).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::FAMILIES;

    #[test]
    fn every_operator_is_listed_once() {
        let mut all: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|(_, n)| n.iter().copied())
            .collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "an operator in two families");
        for must in [
            "Conv",
            "LayerNormalization",
            "Attention",
            "Resize",
            "Constant",
        ] {
            assert!(all.contains(&must), "{must} missing");
        }
    }
}
