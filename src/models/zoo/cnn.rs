//! A convolutional network as a chain of blocks with named taps between them: `features` runs the
//! chain up to a tap and `head` runs the rest, so any tap can be the CAM target layer without the
//! model knowing anything about CAMs.

pub use crate::models::layers::Act;
use crate::models::layers::Linear;
use crate::models::network::{Context, Features, LayerInfo, Network, Trace};
use crate::models::region;
pub use crate::models::zoo::block::Block;
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{DType, Tensor};

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Classifier {
    /// Global average pool then one linear layer (ResNet, EfficientNet).
    AvgFc(Linear),
    /// VGG: adaptive average pool to 7×7, flatten, Linear–ReLU–Linear–ReLU–Linear.
    Vgg([Linear; 3]),
}

impl Classifier {
    pub fn num_classes(&self) -> usize {
        match self {
            Classifier::AvgFc(fc) => fc.d_out(),
            Classifier::Vgg([_, _, c]) => c.d_out(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_traced(x, &mut Trace::default())
    }

    fn forward_traced(&self, x: Tensor<4>, trace: &mut Trace) -> Tensor<2> {
        match self {
            Classifier::AvgFc(fc) => fc.forward(adaptive_avg_pool2d(x, [1, 1]).flatten(1, 3)),
            Classifier::Vgg([a, b, c]) => {
                let x = adaptive_avg_pool2d(x, [7, 7]).flatten(1, 3);
                let x = trace.relu(a.forward(x));
                let x = trace.relu(b.forward(x));
                c.forward(x)
            }
        }
    }
}

/// Blocks, the explainable layers as (info, index of the block whose output they are), and the
/// classifier.
#[derive(Debug, Clone)]
pub struct Cnn {
    pub blocks: Vec<Block>,
    pub taps: Vec<(LayerInfo, usize)>,
    pub default_tap: usize,
    pub classifier: Classifier,
    /// Largest intermediate tensor per input, in floats.
    pub peak: usize,
    /// Whether the layers from 14×14 down run as one batch on the CPU: yes for dense 3×3
    /// layers (ResNet, VGG), whose Winograd products are bound by reading the weights one
    /// input at a time; no for Lite0, whose late blocks are 1×1 and depthwise and lose cache
    /// locality in a batch (ScoreCAM++ 7.4 vs 7.9 s, three rounds each, AMD EPYC).
    pub batch_late_layers: bool,
    /// The all-zero input's values for passes on inputs that are mostly zero (see `region`).
    pub regions: region::Traces,
}

impl Network for Cnn {
    fn layers(&self) -> Vec<LayerInfo> {
        self.taps.iter().map(|(info, _)| info.clone()).collect()
    }

    fn default_layer(&self) -> usize {
        self.default_tap
    }

    fn peak_activation(&self) -> usize {
        self.peak
    }

    fn set_dtype(&mut self, dtype: DType) {
        self.blocks.iter_mut().for_each(|b| b.set_dtype(dtype));
        // The all-zero traces hold the f32 layers' values.
        self.regions = region::Traces::default();
    }

    /// After the last layer whose planes are 28×28 or larger. From 14×14 down, one input's
    /// products are too thin to keep gemm busy (a Winograd layer at 7×7 has 16 tiles per
    /// input, so each of its products is `[512, 512] · [512, 16]`, bound by reading the
    /// weights), while a whole batch's activations there still fit in L3.
    fn cpu_batch_from(&self) -> Option<usize> {
        if !self.batch_late_layers {
            return None;
        }
        self.taps
            .iter()
            .rposition(|(info, _)| info.height >= 28)
            .filter(|&tap| tap < self.default_tap)
    }

    fn features(&self, x: Tensor<4>, layer: usize) -> Features {
        let end = self.taps[layer].1;
        let (x, start) = region::run(&self.blocks[..=end], x, &self.regions);
        let a = self.blocks[start..=end].iter().fold(x, |x, b| b.forward(x));
        Features {
            activation: a,
            context: Context::None,
        }
    }

    fn forward_traced(&self, x: Tensor<4>, trace: &mut Trace) -> Option<Tensor<2>> {
        let a = self.blocks.iter().fold(x, |x, b| {
            let y = b.forward_traced(x, trace);
            trace.fork(y)
        });
        Some(self.classifier.forward_traced(a, trace))
    }

    fn head(&self, activation: Tensor<4>, _context: &Context, layer: usize) -> Tensor<2> {
        let start = self.taps[layer].1 + 1;
        let a = self.blocks[start..]
            .iter()
            .fold(activation, |x, b| b.forward(x));
        self.classifier.forward(a)
    }
}
