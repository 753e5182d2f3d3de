//! What changes a method's result besides image, model, layer and class, as plain data the CLI,
//! the app and the evaluation share.

use crate::error::{Error, Result};
use crate::models::kernels::activation;
use serde::{Deserialize, Serialize};

/// The gate ScoreCAM++ applies to each upsampled activation (the paper's Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Gate {
    #[default]
    Tanh,
    Relu,
    Sigmoid,
    Mish,
    Swish,
}

impl Gate {
    pub const ALL: [Gate; 5] = [
        Gate::Tanh,
        Gate::Relu,
        Gate::Sigmoid,
        Gate::Mish,
        Gate::Swish,
    ];

    /// The gate of one value: [`Gate::apply_all`]'s float for it.
    pub fn apply(self, x: f32) -> f32 {
        let mut one = [x];
        self.apply_all(&mut one);
        one[0]
    }

    /// The gate of every value of `x`, in place, in the widest vectors the CPU has.
    pub fn apply_all(self, x: &mut [f32]) {
        match self {
            Gate::Tanh => activation::tanh(x),
            Gate::Sigmoid => activation::sigmoid(x),
            Gate::Swish => activation::silu(x),
            Gate::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Gate::Mish => x.iter_mut().for_each(|v| *v *= (v.exp().ln_1p()).tanh()),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Gate::Tanh => "tanh",
            Gate::Relu => "relu",
            Gate::Sigmoid => "sigmoid",
            Gate::Mish => "mish",
            Gate::Swish => "swish",
        }
    }
}

impl std::str::FromStr for Gate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Gate::ALL
            .into_iter()
            .find(|g| g.id() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown gate '{s}': expected tanh, relu, sigmoid, mish or swish"
                ))
            })
    }
}

/// What ScoreCAM++ weighs each channel by.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
pub enum ScoreMode {
    /// The authors' code: the softmax probability of the masked input.
    #[default]
    #[value(name = "prob", alias = "probability")]
    Probability,
    /// The paper's text: the increase in confidence over the unmasked input.
    #[value(name = "cic", alias = "paper")]
    IncreaseInConfidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScoreCamPlusPlusOptions {
    pub mode: ScoreMode,
    pub gate: Gate,
    /// Table 6's ablation: gate only the masks, and sum the raw upsampled activations.
    pub gate_in_normalization_only: bool,
}

impl Default for ScoreCamPlusPlusOptions {
    fn default() -> Self {
        Self {
            mode: ScoreMode::Probability,
            gate: Gate::Tanh,
            gate_in_normalization_only: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Aggregate {
    #[default]
    Mean,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AugmentOptions {
    /// Number of augmented copies, the first the identity.
    pub copies: usize,
    pub seed: u64,
    /// Largest rotation, radians.
    pub max_angle: u32,
    pub aggregate: Aggregate,
}

impl Default for AugmentOptions {
    fn default() -> Self {
        Self {
            copies: 100,
            seed: 0,
            max_angle: 500,
            aggregate: Aggregate::Mean,
        }
    }
}

impl AugmentOptions {
    pub fn max_angle_rad(&self) -> f32 {
        self.max_angle as f32 / 1000.0
    }
}

/// Everything that changes a method's result besides image, model, layer and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Options {
    pub scorecam_pp: ScoreCamPlusPlusOptions,
    pub augment: AugmentOptions,
    /// Faster-ScoreCAM: keep only the N channels of highest spatial variance (an approximation).
    pub top_channels: Option<usize>,
    /// Masked inputs per forward pass; `None` sizes batches from the device's limits.
    pub batch_size: Option<usize>,
    /// The order the score methods run their channels in: it changes their previews, not
    /// their maps (beyond float rounding).
    #[serde(default)]
    pub channel_order: ChannelOrder,
    #[serde(default)]
    pub finer: FinerOptions,
    /// pytorch-grad-cam's `eigen_smooth`: each map the first principal component of what it
    /// sums over channels, where it is such a sum.
    #[serde(default)]
    pub eigen_smooth: bool,
    /// pytorch-grad-cam's `aug_smooth`: the mean of the finished maps of six copies of the
    /// input (mirrored or not, times 0.9, 1 and 1.1), each mirrored back.
    #[serde(default)]
    pub aug_smooth: bool,
    /// SS-CAM's and IS-CAM's samples per channel; `None` is torch-cam's (35 and 10).
    #[serde(default)]
    pub score_samples: Option<usize>,
    /// RefineCAM's layers.
    #[serde(default)]
    pub refine: RefineLayers,
    /// DFF's number of concepts; `None`: 5 (pytorch-grad-cam's `run_dff_on_image`).
    #[serde(default)]
    pub concepts: Option<usize>,
}

impl Options {
    /// DFF's number of concepts, at least 1.
    pub fn dff_concepts(&self) -> usize {
        self.concepts.unwrap_or(5).max(1)
    }
}

/// RefineCAM's layers as indices into the model's layer list, in the order given; none: the
/// target layer and the ends of the two stages before it (`wrapper::default_refine_layers`).
/// A fixed array, so that options stay plain `Copy` data the app can hash and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct RefineLayers {
    layers: [u32; RefineLayers::MAX],
    count: u8,
}

impl RefineLayers {
    pub const MAX: usize = 6;

    pub fn new(layers: &[usize]) -> Result<Self> {
        if layers.is_empty() || layers.len() > Self::MAX {
            return Err(Error::Invalid(format!(
                "RefineCAM takes 1 to {} layers, not {}",
                Self::MAX,
                layers.len()
            )));
        }
        let mut out = Self {
            count: layers.len() as u8,
            ..Self::default()
        };
        for (slot, &l) in out.layers.iter_mut().zip(layers) {
            *slot = l as u32;
        }
        Ok(out)
    }

    /// The chosen layers; `None`: the default.
    pub fn chosen(&self) -> Option<Vec<usize>> {
        (self.count > 0).then(|| {
            self.layers[..self.count as usize]
                .iter()
                .map(|&l| l as usize)
                .collect()
        })
    }
}

/// FinerCAM's comparison: the class against its `comparisons` nearest classes by logit, each
/// subtracted `alpha` times (pytorch-grad-cam's defaults: 3 classes, α = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FinerOptions {
    pub comparisons: usize,
    /// α in thousandths (options are hashed and compared exactly).
    pub alpha_milli: i32,
}

impl Default for FinerOptions {
    fn default() -> Self {
        Self {
            comparisons: 3,
            alpha_milli: 1000,
        }
    }
}

impl FinerOptions {
    pub fn alpha(&self) -> f64 {
        self.alpha_milli as f64 / 1000.0
    }
}

/// Which channels the score methods run first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ChannelOrder {
    /// As the layer numbers them (what the peers do).
    Index,
    /// Largest activation sum first: the default, chosen by `camlens preview-study` (Lite0,
    /// 20 ImageNet images: the preview correlates 0.975 / 0.996 / 0.9998 with the final map
    /// after 10 / 25 / 50 % of the channels, against 0.946 / 0.984 / 0.996 in index order and
    /// 0.981 / 0.995 / 0.998 by GradCAM term, which also costs a backward pass).
    #[default]
    Mass,
    /// Largest GradCAM term first (gradient weight × activation sum; one backward pass).
    Gradient,
}
