//! The blocks a convolutional network chains: each one's forward pass.

use crate::compute::tensor_io::{host_tensor, on_host};
use crate::models::kernels::pool;
use crate::models::layers::{Act, Conv};
use crate::models::network::Trace;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{DType, Tensor};

// Blocks are built once per model and never moved in hot loops: size differences are harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Block {
    /// Convolution (BatchNorm folded in) followed by an activation.
    Conv(Conv, Act),
    /// ReLU alone (VGG lists it as its own module, and its output is a target layer).
    Relu,
    /// Max pooling (kernel, stride, padding).
    MaxPool(usize, usize, usize),
    /// ResNet basic or bottleneck block: `convs` in sequence, ReLU between, shortcut added before
    /// the final ReLU.
    Residual {
        convs: Vec<Conv>,
        downsample: Option<Conv>,
    },
    /// EfficientNet-Lite's inverted residual (no squeeze-excite): expand, depthwise, project.
    MbConv {
        expand: Option<Conv>,
        depthwise: Conv,
        project: Conv,
        skip: bool,
    },
    /// Several blocks under one name (a ResNet `layerN`).
    Seq(Vec<Block>),
}

impl Block {
    /// What follows convolution `i` of a residual block's `n`: ReLU between them, nothing
    /// after the last (the shortcut is added first).
    pub(crate) fn residual_act(i: usize, n: usize) -> Act {
        if i + 1 < n { Act::Relu } else { Act::None }
    }

    /// Its convolutions in `dtype` (see `crate::compute::precision`).
    pub fn set_dtype(&mut self, dtype: DType) {
        match self {
            Block::Conv(conv, _) => conv.set_dtype(dtype),
            Block::Relu | Block::MaxPool(..) => {}
            Block::Residual { convs, downsample } => convs
                .iter_mut()
                .chain(downsample)
                .for_each(|c| c.set_dtype(dtype)),
            Block::MbConv {
                expand,
                depthwise,
                project,
                ..
            } => [Some(depthwise), Some(project), expand.as_mut()]
                .into_iter()
                .flatten()
                .for_each(|c| c.set_dtype(dtype)),
            Block::Seq(blocks) => blocks.iter_mut().for_each(|b| b.set_dtype(dtype)),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Block::Conv(conv, act) => conv.forward_act(x, act),
            Block::Relu => relu(x),
            Block::MaxPool(k, s, p) if host_tensor(&x) => {
                on_host(x, |input, dims| pool::max_pool(input, dims, *k, *s, *p))
            }
            Block::MaxPool(k, s, p) => {
                let mut o = MaxPoolOptions::new([*k, *k]);
                o.stride = [*s, *s];
                o.padding = [(*p, *p); 2];
                max_pool2d(x, o)
            }
            Block::Residual { convs, downsample } => {
                let shortcut = match downsample {
                    Some(d) => d.forward(x.clone()),
                    None => x.clone(),
                };
                let mut y = x;
                for (i, c) in convs.iter().enumerate() {
                    y = c.forward_act(y, &Self::residual_act(i, convs.len()));
                }
                relu(y + shortcut)
            }
            Block::MbConv {
                expand,
                depthwise,
                project,
                skip,
            } => {
                // The expansion's bias and ReLU6 are applied by the depthwise convolution as it
                // reads (on the CPU: two passes over the block's largest activation saved).
                let mut y = match expand {
                    Some(e) => depthwise.forward_after(e, x.clone(), &Act::Relu6, &Act::Relu6),
                    None => depthwise.forward_act(x.clone(), &Act::Relu6),
                };
                y = project.forward(y);
                if *skip { y + x } else { y }
            }
            Block::Seq(blocks) => blocks.iter().fold(x, |x, b| b.forward(x)),
        }
    }

    /// The forward pass of a tracked input, traced (see `network::Trace`).
    pub fn forward_traced(&self, x: Tensor<4>, trace: &mut Trace) -> Tensor<4> {
        match self {
            Block::Conv(conv, act) => conv.forward_traced(x, act, trace),
            Block::Relu => trace.relu(x),
            Block::MaxPool(..) => self.forward(x),
            Block::Residual { convs, downsample } => {
                let mut y = x.clone();
                for (i, c) in convs.iter().enumerate() {
                    y = c.forward_traced(y, &Self::residual_act(i, convs.len()), trace);
                }
                let shortcut = match downsample {
                    Some(d) => d.forward_traced(x, &Act::None, trace),
                    None => x,
                };
                trace.relu(y + shortcut)
            }
            Block::MbConv {
                expand,
                depthwise,
                project,
                skip,
            } => {
                let mut y = match expand {
                    Some(e) => e.forward_traced(x.clone(), &Act::Relu6, trace),
                    None => x.clone(),
                };
                y = depthwise.forward_traced(y, &Act::Relu6, trace);
                y = project.forward_traced(y, &Act::None, trace);
                if *skip { y + x } else { y }
            }
            Block::Seq(blocks) => blocks.iter().fold(x, |x, b| {
                let y = b.forward_traced(x, trace);
                trace.fork(y)
            }),
        }
    }
}
