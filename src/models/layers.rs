//! The few building blocks the zoo needs, as plain tensors: models here are for inference and
//! explanation only, so BatchNorm is folded into the convolution before it when weights are loaded
//! (one kernel instead of two, and no train/eval mode to get wrong).

use crate::compute::tensor_io::{host_tensor, on_host};
use crate::error::{Error, Result};
use crate::input::weights::{RawTensor, WeightMap};
use crate::models::kernels::activation::Smooth;
use crate::models::kernels::im2col;
use crate::models::kernels::plane_conv;
use crate::models::kernels::pointwise;
use crate::models::kernels::winograd;
use crate::models::kernels::{Channels, ConvArgs, ConvKernel, Fused, Geometry};
use crate::models::network::Trace;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, Tensor, TensorData};
use std::sync::Arc;

/// Looks tensors up by name and checks their shapes, producing the "expected … found …" errors.
pub struct Loader<'a> {
    pub map: &'a WeightMap,
    pub model: &'a str,
    pub device: &'a Device,
}

impl Loader<'_> {
    pub fn raw(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self.map.get(name).ok_or_else(|| Error::WeightMismatch {
            model: self.model.to_string(),
            expected: format!("a tensor '{name}' of shape {shape:?}"),
            found: format!("no such tensor in {}", self.map.source.display()),
        })?;
        if t.shape != shape {
            return Err(Error::WeightMismatch {
                model: self.model.to_string(),
                expected: format!("'{name}' of shape {shape:?}"),
                found: format!("shape {:?}", t.shape),
            });
        }
        Ok(t.data.clone())
    }

    pub fn optional(&self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>> {
        if self.map.contains(name) {
            self.raw(name, shape).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn tensor<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        Tensor::from_data(TensorData::new(data, shape), self.device)
    }

    pub fn load<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>> {
        Ok(self.tensor(self.raw(name, &shape)?, shape))
    }

    /// A convolution `prefix.weight` (+ optional bias), with the BatchNorm `bn` folded in.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &self,
        prefix: &str,
        bn: Option<(&str, f32)>,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        groups: usize,
    ) -> Result<Conv> {
        let shape = [c_out, c_in / groups, kernel, kernel];
        let mut w = self.raw(&format!("{prefix}.weight"), &shape)?;
        let own_bias = self.optional(&format!("{prefix}.bias"), &[c_out])?;
        let mut b = own_bias.clone().unwrap_or_else(|| vec![0.0; c_out]);
        let mut bias_terms: Vec<Arc<[f32]>> = vec![];
        if let Some((bn, eps)) = bn {
            let gamma = self.raw(&format!("{bn}.weight"), &[c_out])?;
            let beta = self.raw(&format!("{bn}.bias"), &[c_out])?;
            let mean = self.raw(&format!("{bn}.running_mean"), &[c_out])?;
            let var = self.raw(&format!("{bn}.running_var"), &[c_out])?;
            let per_out = w.len() / c_out;
            for o in 0..c_out {
                let scale = gamma[o] / (var[o] + eps).sqrt();
                w[o * per_out..(o + 1) * per_out]
                    .iter_mut()
                    .for_each(|v| *v *= scale);
                b[o] = (b[o] - mean[o]) * scale + beta[o];
            }
            let scale = |o: usize| gamma[o] / (var[o] + eps).sqrt();
            if let Some(own) = &own_bias {
                bias_terms.push((0..c_out).map(|o| own[o] * scale(o)).collect());
            }
            bias_terms.push((0..c_out).map(|o| beta[o] - mean[o] * scale(o)).collect());
        } else if let Some(own) = own_bias {
            bias_terms.push(own.into());
        }
        // On the CPU, k×k convolutions run through camlens' own kernels, which need the weights as
        // plain slices. Measured per input on one core at batch 12 against flex's kernels:
        // depthwise and stride-1 RGB ones through `plane_conv` (Lite0's depthwise layers 20.5 →
        // 11.2 ms in all; VGG's 3→64 3×3 21.3 → 12.6 ms); other dense ones through `im2col`
        // (ResNet's 3×3 layers 15–35 % faster, its 7×7/2 stem 7.6 → 4.7 ms, Lite0's 3×3/2 stem
        // 1.9 → 0.8 ms), except strided ones on many channels, where flex's is as fast (1.35 ms
        // each for ResNet's 64→128/2) and needs no copy of the weights. 1×1 ones through
        // `pointwise` (no zero-fill, bias and clamp while in cache: Lite0's ScoreCAM++ 6.7 →
        // 5.6 s on the AMD EPYC build machine).
        let cpu = self.device.clone().without_autodiff() == Device::flex();
        let unpadded = matches!(padding, Padding::TfSame | Padding::Symmetric(0));
        let kind = match () {
            _ if !cpu => None,
            _ if kernel == 1 && stride == 1 && groups == 1 && unpadded => {
                Some(HostKernel::Pointwise)
            }
            _ if kernel == 1 => None,
            _ if groups == c_in && c_out == c_in => Some(HostKernel::Planes),
            _ if groups == 1 && c_in <= 4 && stride == 1 => Some(HostKernel::Planes),
            _ if groups == 1 && kernel == 3 && stride == 1 => Some(HostKernel::Winograd),
            _ if groups == 1 && (stride == 1 || c_in <= 4) => Some(HostKernel::Im2col),
            _ => None,
        };
        let host = kind.map(|kind| {
            Arc::new(HostWeights {
                weight: match kind {
                    HostKernel::Winograd => winograd::transform_weights(&w, c_out, c_in),
                    _ => w.clone(),
                },
                channels: Channels {
                    c_in,
                    c_out,
                    groups,
                },
                kind,
            })
        });
        Ok(Conv {
            weight: self.tensor(w, shape),
            bias: self.tensor(b.clone(), [c_out]),
            host_bias: b.into(),
            bias_terms: bias_terms.into(),
            host,
            stride,
            kernel,
            padding,
            groups,
            gemm: groups == 1 && kernel > 1 && self.device.identity().is_some(),
        })
    }

    pub fn linear(&self, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear> {
        // PyTorch stores [out, in]; burn's linear wants [in, out].
        let w = self.load::<2>(&format!("{prefix}.weight"), [d_out, d_in])?;
        let bias = self.load(&format!("{prefix}.bias"), [d_out])?;
        Ok(Linear::new(w.transpose(), bias))
    }

    pub fn layer_norm(&self, prefix: &str, d: usize, eps: f64) -> Result<LayerNorm> {
        let gamma = self.load(&format!("{prefix}.weight"), [d])?;
        Ok(LayerNorm::new(
            gamma,
            self.load(&format!("{prefix}.bias"), [d])?,
            eps,
        ))
    }
}

/// Number of classes from a head weight `[classes, features]`.
pub fn head_classes(map: &WeightMap, name: &str, d_in: usize, model: &str) -> Result<usize> {
    match map.shape(name) {
        Some([c, d]) if *d == d_in && *c > 0 => Ok(*c),
        other => Err(Error::WeightMismatch {
            model: model.to_string(),
            expected: format!("a classifier '{name}' of shape [classes, {d_in}]"),
            found: match other {
                Some(s) => format!("shape {s:?}"),
                None => "no such tensor".into(),
            },
        }),
    }
}

/// How a convolution pads: PyTorch's symmetric padding, or TensorFlow's "SAME", which on stride 2
/// puts the extra row and column at the bottom and right (EfficientNet-Lite was trained with it).
#[derive(Debug, Clone, Copy)]
pub enum Padding {
    Symmetric(usize),
    TfSame,
    /// (before, after) rows and columns, fixed: an ONNX Pad taken into the convolution after it.
    Explicit((usize, usize), (usize, usize)),
}

/// What follows a convolution: a clamp or a smooth activation, so that a convolution computed
/// on the CPU can apply it while writing its result instead of in one more pass over memory.
#[derive(Debug, Clone)]
pub enum Act {
    None,
    Relu,
    Relu6,
    /// Any other constant bounds (an ONNX Clip).
    Clamp(f32, f32),
    /// x · sigmoid(x) (an ONNX graph's Sigmoid and Mul).
    Silu,
    /// x · clamp(x / 6 + ½, 0, 1).
    HardSwish,
}

impl Act {
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Act::None => x,
            Act::Relu => relu(x),
            Act::Relu6 => x.clamp(0.0, 6.0),
            Act::Clamp(lo, hi) => x.clamp(*lo, *hi),
            Act::Silu => x.clone() * burn::tensor::activation::sigmoid(x),
            Act::HardSwish => x.clone() * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        }
    }

    /// `apply`, its ReLU traced.
    pub fn traced(&self, x: Tensor<4>, trace: &mut Trace) -> Tensor<4> {
        match self {
            Act::Relu => trace.relu(x),
            other => other.apply(x),
        }
    }

    pub(super) fn bounds(&self) -> Option<(f32, f32)> {
        match self {
            Act::None | Act::Silu | Act::HardSwish => None,
            Act::Relu => Some((0.0, f32::INFINITY)),
            Act::Relu6 => Some((0.0, 6.0)),
            Act::Clamp(lo, hi) => Some((*lo, *hi)),
        }
    }

    pub(super) fn smooth(&self) -> Option<Smooth> {
        match self {
            Act::Silu => Some(Smooth::Silu),
            Act::HardSwish => Some(Smooth::HardSwish),
            _ => None,
        }
    }

    /// What a kernel applies to the output it writes.
    fn on_output(&self) -> Fused<'static> {
        Fused {
            output: self.bounds(),
            smooth: self.smooth(),
            ..Fused::default()
        }
    }
}

/// A copy of a convolution's weights in host memory, for camlens' CPU kernels.
#[derive(Debug)]
struct HostWeights {
    weight: Vec<f32>,
    channels: Channels,
    kind: HostKernel,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum HostKernel {
    /// `plane_conv`: depthwise, or few input channels; fuses the neighbours' bias and clamps.
    Planes,
    /// `im2col`: dense; fuses the output clamp.
    Im2col,
    /// `winograd`: dense 3×3 stride 1, weights held transformed; fuses the output clamp.
    Winograd,
    /// `pointwise`: 1×1 stride 1; fuses the output clamp.
    Pointwise,
}

#[derive(Debug, Clone)]
pub struct Conv {
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: usize,
    kernel: usize,
    padding: Padding,
    groups: usize,
    /// Run as im2col + matmul. On wgpu, dense k×k convolutions otherwise fall back to a direct
    /// kernel (the implicit-GEMM kernels need tensor cores, which wgpu's f32 path lacks) that
    /// measured 10× slower per input than the matmul kernels on an H100. flex already does
    /// im2col + gemm internally, so this is only set for cubecl devices.
    gemm: bool,
    /// Set for k×k convolutions on the CPU backend: they run through camlens' own kernels.
    host: Option<Arc<HostWeights>>,
    /// The bias in host memory: `plane_conv` adds it, or the previous convolution's (`forward_after`).
    host_bias: Arc<[f32]>,
    /// The biases behind the output, unfolded (see `network::BiasProbe`): FullGrad's terms.
    bias_terms: Arc<[Arc<[f32]>]>,
}

/// Largest im2col buffer per input (floats) for the matmul path; above it, the native kernel.
const GEMM_MAX_COLUMNS: usize = 4 << 20;

impl Conv {
    /// (before, after) padding of rows and of columns for an `h × w` input.
    fn padding(&self, h: usize, w: usize) -> ((usize, usize), (usize, usize)) {
        if let Padding::Explicit(h, w) = self.padding {
            return (h, w);
        }
        let pad = |size: usize| match self.padding {
            Padding::Explicit(..) => unreachable!("returned above"),
            Padding::Symmetric(p) => (p, p),
            Padding::TfSame => {
                let out = size.div_ceil(self.stride);
                let total = ((out - 1) * self.stride + self.kernel).saturating_sub(size);
                (total / 2, total - total / 2)
            }
        };
        (pad(h), pad(w))
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_between(x, &Act::None, &Act::None)
    }

    /// Kernel, stride and padding for an `h × w` input.
    pub(crate) fn geometry(&self, h: usize, w: usize) -> Geometry {
        let (pad_h, pad_w) = self.padding(h, w);
        Geometry {
            kernel: self.kernel,
            stride: self.stride,
            pad_h,
            pad_w,
        }
    }

    fn forward_biased(&self, x: Tensor<4>, bias: bool) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let g = self.geometry(h, w);
        let (ph, pw, k) = (g.pad_h, g.pad_w, g.kernel);
        let (ho, wo) = g.output(h, w);
        let c_in = self.weight.dims()[1];
        if self.gemm && bias && c_in * k * k * ho * wo <= GEMM_MAX_COLUMNS {
            return reduced::run(self.weight.dtype(), x, |x| {
                self.forward_gemm(x, ph, pw, ho, wo)
            });
        }
        let options =
            ConvOptions::new_with_padding([self.stride; 2], [ph, pw], [1, 1], self.groups);
        let bias = bias.then(|| self.bias.clone());
        reduced::run(self.weight.dtype(), x, |x| {
            conv2d(x, self.weight.clone(), bias, options)
        })
    }

    /// The convolution followed by `act`.
    pub fn forward_act(&self, x: Tensor<4>, act: &Act) -> Tensor<4> {
        self.forward_between(x, &Act::None, act)
    }

    /// `after(conv(before(x)))`. Untracked f32 inputs of a convolution with host weights take
    /// camlens' CPU kernels, with the activations fused into their reads and writes; everything
    /// else (gradients included) takes the backend's kernels.
    pub fn forward_between(&self, x: Tensor<4>, before: &Act, after: &Act) -> Tensor<4> {
        match &self.host {
            Some(host) if Self::untracked_f32(&x) => {
                // `im2col` reads its input as it is; only `plane_conv` fuses a clamp `before`.
                let (x, input) = match host.kind {
                    HostKernel::Planes if before.smooth().is_none() => (x, before.bounds()),
                    _ => (before.apply(x), None),
                };
                let fused = Fused {
                    input,
                    ..after.on_output()
                };
                self.forward_host(host, x, fused)
            }
            _ => after.apply(self.forward_biased(before.apply(x), true)),
        }
    }

    /// `after(self(mid(prev(x))))`, where nothing else reads `prev`'s output (an inverted
    /// residual's expansion before its depthwise convolution). On the plane path `prev` runs
    /// without its bias, which is added together with `mid` as this convolution reads its input:
    /// two passes over the block's largest activation saved.
    pub fn forward_after(&self, prev: &Conv, x: Tensor<4>, mid: &Act, after: &Act) -> Tensor<4> {
        // A pointwise `prev` on the host applies its bias and `mid` itself, while its output
        // is in cache.
        let prev_on_host = |x: &Tensor<4>| {
            prev.host.as_ref().map(|h| h.kind) == Some(HostKernel::Pointwise)
                && Self::untracked_f32(x)
        };
        match &self.host {
            Some(_) if prev_on_host(&x) => {
                let y = prev.forward_between(x, &Act::None, mid);
                self.forward_between(y, &Act::None, after)
            }
            Some(host)
                if host.kind == HostKernel::Planes
                    && mid.smooth().is_none()
                    && Self::untracked_f32(&x) =>
            {
                let fused = Fused {
                    input_bias: Some(&prev.host_bias),
                    input: mid.bounds(),
                    ..after.on_output()
                };
                self.forward_host(host, prev.forward_biased(x, false), fused)
            }
            _ => self.forward_between(prev.forward(x), mid, after),
        }
    }

    /// `after(self(x))` traced (see `network::Trace`): the backend's kernels, as for any
    /// tracked input.
    pub fn forward_traced(&self, x: Tensor<4>, after: &Act, trace: &mut Trace) -> Tensor<4> {
        after.traced(
            trace.biased(self.forward_biased(x, true), &self.bias_terms),
            trace,
        )
    }

    /// The biases behind the output (see `network::BiasProbe`).
    pub fn bias_terms(&self) -> &Arc<[Arc<[f32]>]> {
        &self.bias_terms
    }

    fn untracked_f32(x: &Tensor<4>) -> bool {
        !x.is_autodiff() && x.dtype() == DType::F32
    }

    fn forward_host(&self, host: &HostWeights, x: Tensor<4>, fused: Fused) -> Tensor<4> {
        let [.., h, w] = x.dims();
        let g = self.geometry(h, w);
        on_host(x, |input, dims| {
            Self::host_kernel(host, &self.host_bias, input, dims, g, fused)
        })
    }

    fn host_kernel(
        host: &HostWeights,
        bias: &[f32],
        x: &[f32],
        dims: [usize; 4],
        g: Geometry,
        fused: Fused,
    ) -> (Vec<f32>, [usize; 4]) {
        let kernel: ConvKernel = match host.kind {
            HostKernel::Planes => plane_conv::conv,
            HostKernel::Im2col => im2col::conv,
            HostKernel::Winograd => winograd::conv,
            HostKernel::Pointwise => pointwise::conv,
        };
        kernel(ConvArgs {
            x,
            dims,
            weight: &host.weight,
            bias,
            ch: host.channels,
            g,
            fused,
        })
    }

    /// Whether `forward_gated` takes this convolution on `x`: a 1×1 on camlens' CPU kernels, an
    /// untracked f32 input.
    pub fn takes_gate(&self, x: &Tensor<4>) -> bool {
        self.host.as_ref().is_some_and(|h| {
            h.kind == HostKernel::Pointwise && h.channels.c_in == x.dims()[1] && host_tensor(x)
        })
    }

    /// `after(self(x · gate))`, `gate` a factor per input channel of each input (`[batch, c_in]`,
    /// a squeeze-excitation's), which the kernel multiplies in as it reads `x`; only where
    /// `takes_gate`.
    pub fn forward_gated(&self, x: Tensor<4>, gate: &[f32], after: &Act) -> Tensor<4> {
        let host = self.host.as_ref().expect("a convolution that takes_gate");
        let fused = Fused {
            input_scale: Some(gate),
            ..after.on_output()
        };
        self.forward_host(host, x, fused)
    }

    /// Whether `on_host_part` takes this convolution.
    pub(crate) fn takes_part(&self) -> bool {
        self.host.is_some()
    }

    /// camlens' CPU kernel on host floats `[batch, c, h, w]` padded as `g` says (for part of a
    /// plane, where the caller decides the padding: see `models::region`), `after` applied as it writes;
    /// `None` for a convolution the CPU kernels do not take.
    pub(crate) fn on_host_part(
        &self,
        x: &[f32],
        dims: [usize; 4],
        g: Geometry,
        after: &Act,
    ) -> Option<(Vec<f32>, [usize; 4])> {
        let host = self.host.as_ref()?;
        let fused = after.on_output();
        Some(Self::host_kernel(host, &self.host_bias, x, dims, g, fused))
    }

    /// Without camlens' CPU kernels (tests compare them with the backend's).
    pub fn native_only(mut self) -> Self {
        self.host = None;
        self
    }

    /// This unpadded convolution with `(before, after)` rows `h` and columns `w` of zeros around
    /// its input (a zero Pad before it, taken in); `None` where it pads already, or where its
    /// CPU kernel reads no padding (the pointwise one) and some is asked.
    pub fn padded(&self, h: (usize, usize), w: (usize, usize)) -> Option<Conv> {
        self.takes_padding(h, w).then(|| Conv {
            padding: Padding::Explicit(h, w),
            ..self.clone()
        })
    }

    /// This convolution with a batch norm after it (`y · scale + shift` per output channel)
    /// folded into its weights and bias, as the native models load theirs; on camlens' CPU
    /// kernels only (`None` elsewhere, or for a norm of another size).
    pub fn with_batch_norm(&self, scale: &[f32], shift: &[f32]) -> Option<Conv> {
        let host = self.host.as_ref()?;
        let Channels {
            c_in,
            c_out,
            groups,
        } = host.channels;
        if scale.len() != c_out || shift.len() != c_out {
            return None;
        }
        let raw = |data: Vec<f32>, shape: Vec<usize>| RawTensor { shape, data };
        let weight = crate::compute::tensor_io::to_vec(self.weight.clone()).ok()?;
        let mut map = WeightMap::default();
        let shape = self.weight.dims().to_vec();
        map.tensors.insert("c.weight".into(), raw(weight, shape));
        map.tensors
            .insert("c.bias".into(), raw(self.host_bias.to_vec(), vec![c_out]));
        // A norm of mean 0 and variance 1 at ε = 0 scales by γ and shifts by β exactly.
        for (name, v) in [
            ("weight", scale.to_vec()),
            ("bias", shift.to_vec()),
            ("running_mean", vec![0.0; c_out]),
            ("running_var", vec![1.0; c_out]),
        ] {
            map.tensors
                .insert(format!("bn.{name}"), raw(v, vec![c_out]));
        }
        let device = self.weight.device();
        let loader = Loader {
            map: &map,
            model: "ONNX model",
            device: &device,
        };
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let conv = loader.conv("c", Some(("bn", 0.0)), c_in, c_out, k, s, p, groups);
        conv.ok().map(|c| c.with_gemm(self.gemm))
    }

    /// Whether `padded` gives a convolution for this padding.
    pub fn takes_padding(&self, h: (usize, usize), w: (usize, usize)) -> bool {
        let pointwise = self.host.as_ref().map(|h| h.kind) == Some(HostKernel::Pointwise);
        let unpadded = matches!(self.padding, Padding::Symmetric(0));
        let none = [h.0, h.1, w.0, w.1].iter().all(|&p| p == 0);
        unpadded && (none || !pointwise)
    }

    /// Chooses the im2col + matmul path (`true`) or the backend's own kernel.
    pub fn with_gemm(mut self, gemm: bool) -> Self {
        self.gemm = gemm;
        self
    }

    /// The same convolution as one batched matmul over the k² shifted (and strided) views of
    /// the padded input, stacked in the weight's (channel, row, column) order.
    fn forward_gemm(
        &self,
        x: Tensor<4>,
        ph: (usize, usize),
        pw: (usize, usize),
        ho: usize,
        wo: usize,
    ) -> Tensor<4> {
        use burn::tensor::Slice;
        let [b, c, _, _] = x.dims();
        let [o, _, k, _] = self.weight.dims();
        let s = self.stride;
        let xp = x.pad(
            [(0, 0), (0, 0), ph, pw],
            burn::tensor::ops::PadMode::Constant(0.0),
        );
        let mut views = Vec::with_capacity(k * k);
        for i in 0..k {
            for j in 0..k {
                views.push(xp.clone().slice([
                    Slice::from(0..b),
                    Slice::from(0..c),
                    Slice::new(
                        i as isize,
                        Some((i + s * (ho - 1) + 1) as isize),
                        s as isize,
                    ),
                    Slice::new(
                        j as isize,
                        Some((j + s * (wo - 1) + 1) as isize),
                        s as isize,
                    ),
                ]));
            }
        }
        let cols = Tensor::stack::<5>(views, 2).reshape([b, c * k * k, ho * wo]);
        let w = self.weight.clone().reshape([1, o, c * k * k]);
        let y = w.matmul(cols) + self.bias.clone().reshape([1, o, 1]);
        y.reshape([b, o, ho, wo])
    }
}

mod conv_dtype;
mod dense;
pub mod reduced;
pub use dense::{LayerNorm, Linear};

#[cfg(test)]
mod tests;
