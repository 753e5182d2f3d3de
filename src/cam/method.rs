//! The methods and their options, as plain data the CLI, the app and the evaluation share.

use super::gradient;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    GradCam,
    GradCamPlusPlus,
    XGradCam,
    LayerCam,
    /// ScoreCAM as its authors define it (softmax probability, min-max masks, flat channels skipped).
    ScoreCam,
    /// ScoreCAM as pytorch-grad-cam computes it (logits, align_corners masks, softmax over channels).
    ScoreCamPgc,
    ScoreCamPlusPlus,
    AugGradCamPlusPlus,
}

/// What a method is. Everything the rest of camlens asks of a method (its names, whether it
/// needs gradients, whether it is slow, whether top-N channels approximate it, how its masks
/// are built) is read from this, so adding a method is one variant and one arm of
/// [`Method::spec`].
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The command-line name (also the CSV column and, via [`Method::file_id`], file names).
    pub id: &'static str,
    /// The name people read.
    pub label: &'static str,
    pub family: Family,
}

#[derive(Debug, Clone, Copy)]
pub enum Family {
    /// A function of the target layer's activations and gradients `[K, h, w]`, from the one
    /// backward pass a session shares between all of them.
    Gradient(gradient::GradientFn),
    /// Masked forward passes, one per distinct channel mask: slow, with progress and cancel.
    Score(ScoreRecipe),
    /// GradCAM++ over seeded augmented copies of the input, warped back and aggregated.
    Augmented,
}

/// How a score method turns channels into masks and forward passes into weights, decided once
/// per method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRecipe {
    pub target: ScoreTarget,
    pub mask: MaskKind,
    pub flat_channels: FlatChannels,
    /// Softmax over the channel weights (pytorch-grad-cam's ScoreCAM).
    pub channel_softmax: bool,
}

/// What a masked input is scored by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreTarget {
    /// The class's softmax probability.
    Probability,
    /// The class's logit.
    Logit,
    /// As [`ScoreCamPlusPlusOptions::mode`] says: the probability, or its increase over the
    /// unmasked input.
    ScoreCamPlusPlusMode,
}

/// How a channel's activation becomes a mask at input size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaskKind {
    /// Bilinear upsampling then min-max normalisation, `epsilon` added to the range.
    MinMax { align_corners: bool, epsilon: f32 },
    /// Bilinear upsampling then ScoreCAM++'s gate ([`ScoreCamPlusPlusOptions::gate`]); the map
    /// is the weighted sum of the gated masks unless the options ask for the ablation.
    Gated,
}

/// What a channel whose activation is constant takes part as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlatChannels {
    /// Left out: weight 0 (the authors' ScoreCAM).
    Skip,
    /// An all-zero mask (min-max with an epsilon, as pytorch-grad-cam).
    ZeroMask,
    /// The constant mask `gate(v)` (ScoreCAM++).
    Gated,
}

impl Method {
    /// Every method, in the order the app lists them and `all` runs them.
    pub const ALL: [Method; 8] = [
        Method::GradCam,
        Method::GradCamPlusPlus,
        Method::XGradCam,
        Method::LayerCam,
        Method::ScoreCam,
        Method::ScoreCamPgc,
        Method::AugGradCamPlusPlus,
        Method::ScoreCamPlusPlus,
    ];

    /// What `explain`, `bench` and the demo run unless told otherwise: the gradient family and
    /// ScoreCAM++.
    pub const DEFAULT: [Method; 5] = [
        Method::GradCam,
        Method::GradCamPlusPlus,
        Method::XGradCam,
        Method::LayerCam,
        Method::ScoreCamPlusPlus,
    ];

    /// The paper's seven, in its tables' order: what `eval` runs unless told otherwise.
    pub const PAPER: [Method; 7] = [
        Method::GradCam,
        Method::GradCamPlusPlus,
        Method::XGradCam,
        Method::LayerCam,
        Method::ScoreCam,
        Method::AugGradCamPlusPlus,
        Method::ScoreCamPlusPlus,
    ];

    /// The one place a method is described.
    pub fn spec(self) -> Spec {
        let spec = |id, label, family| Spec { id, label, family };
        let min_max = |align_corners, epsilon| MaskKind::MinMax {
            align_corners,
            epsilon,
        };
        match self {
            Method::GradCam => spec("gradcam", "GradCAM", Family::Gradient(gradient::gradcam)),
            Method::GradCamPlusPlus => spec(
                "gradcam++",
                "GradCAM++",
                Family::Gradient(gradient::gradcam_pp),
            ),
            Method::XGradCam => spec("xgradcam", "XGradCAM", Family::Gradient(gradient::xgradcam)),
            Method::LayerCam => spec("layercam", "LayerCAM", Family::Gradient(gradient::layercam)),
            Method::ScoreCam => spec(
                "scorecam",
                "ScoreCAM",
                Family::Score(ScoreRecipe {
                    target: ScoreTarget::Probability,
                    mask: min_max(false, 0.0),
                    flat_channels: FlatChannels::Skip,
                    channel_softmax: false,
                }),
            ),
            // pytorch-grad-cam 1.5.7: logits, align_corners=True upsampling, a 1e-8 in the
            // min-max range (so a flat channel is an all-zero mask), softmax over channels.
            Method::ScoreCamPgc => spec(
                "scorecam-pgc",
                "ScoreCAM (pytorch-grad-cam)",
                Family::Score(ScoreRecipe {
                    target: ScoreTarget::Logit,
                    mask: min_max(true, 1e-8),
                    flat_channels: FlatChannels::ZeroMask,
                    channel_softmax: true,
                }),
            ),
            Method::ScoreCamPlusPlus => spec(
                "scorecam++",
                "ScoreCAM++",
                Family::Score(ScoreRecipe {
                    target: ScoreTarget::ScoreCamPlusPlusMode,
                    mask: MaskKind::Gated,
                    flat_channels: FlatChannels::Gated,
                    channel_softmax: false,
                }),
            ),
            Method::AugGradCamPlusPlus => {
                spec("auggradcam++", "Augmented GradCAM++", Family::Augmented)
            }
        }
    }

    /// The command-line name.
    pub fn id(self) -> &'static str {
        self.spec().id
    }

    /// The name as it appears in file names (`gradcampp`: no `+` in a path).
    pub fn file_id(self) -> String {
        self.id().replace("++", "pp")
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    pub fn uses_gradients(self) -> bool {
        matches!(self.spec().family, Family::Gradient(_))
    }

    /// More than one forward pass: slow, shown with progress and cancellable.
    pub fn is_slow(self) -> bool {
        !self.uses_gradients()
    }

    /// Whether Faster-ScoreCAM's top-N channels (an approximation) change this method.
    pub fn uses_top_channels(self) -> bool {
        matches!(self.spec().family, Family::Score(_))
    }

    /// Parses `gradcam,scorecam++,…` or `all` (the paper's seven plus the pytorch-grad-cam
    /// ScoreCAM variant).
    pub fn parse_list(s: &str) -> Result<Vec<Method>> {
        if s.trim() == "all" {
            return Ok(Method::ALL.to_vec());
        }
        s.split(',')
            .map(|m| m.trim().parse())
            .collect::<Result<Vec<_>>>()
    }

    /// `gradcam,gradcam++,…`: the form [`Method::parse_list`] reads.
    pub fn list_ids(methods: &[Method]) -> String {
        methods.iter().map(|m| m.id()).collect::<Vec<_>>().join(",")
    }
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let key = s.to_ascii_lowercase().replace(['_', ' '], "-");
        let key = key.replace("plusplus", "++").replace("pp", "++");
        Method::ALL
            .into_iter()
            .find(|m| m.id() == key || m.id().replace('-', "") == key.replace('-', ""))
            .or(match key.as_str() {
                "augmented-gradcam++" | "aug-gradcam++" => Some(Method::AugGradCamPlusPlus),
                "scorecam-pytorch-grad-cam" => Some(Method::ScoreCamPgc),
                _ => None,
            })
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown method '{s}': expected one of {} or all",
                    Method::ALL.map(|m| m.id()).join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

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

    pub fn apply(self, x: f32) -> f32 {
        match self {
            Gate::Tanh => x.tanh(),
            Gate::Relu => x.max(0.0),
            Gate::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Gate::Mish => x * (x.exp().ln_1p()).tanh(),
            Gate::Swish => x / (1.0 + (-x).exp()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_a_distinct_id_that_parses_back() {
        let ids: std::collections::HashSet<&str> = Method::ALL.iter().map(|m| m.id()).collect();
        assert_eq!(ids.len(), Method::ALL.len());
        for m in Method::ALL {
            assert_eq!(m.id().parse::<Method>().unwrap(), m);
            assert!(!m.file_id().contains('+'), "{m}");
        }
        assert_eq!(
            Method::parse_list(&Method::list_ids(&Method::PAPER)).unwrap(),
            Method::PAPER
        );
    }

    #[test]
    fn families_decide_speed_gradients_and_approximation() {
        let grads: Vec<Method> = Method::ALL
            .into_iter()
            .filter(|m| m.uses_gradients())
            .collect();
        assert_eq!(
            grads,
            [
                Method::GradCam,
                Method::GradCamPlusPlus,
                Method::XGradCam,
                Method::LayerCam
            ]
        );
        assert!(
            Method::ALL
                .iter()
                .all(|m| m.is_slow() != m.uses_gradients())
        );
        assert!(!Method::AugGradCamPlusPlus.uses_top_channels());
        assert!(Method::ScoreCamPgc.uses_top_channels());
    }
}
