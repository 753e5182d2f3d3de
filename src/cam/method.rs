//! The methods and their options, as plain data the CLI, the app and the evaluation share.

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

impl Method {
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

    /// The command-line name.
    pub fn id(self) -> &'static str {
        match self {
            Method::GradCam => "gradcam",
            Method::GradCamPlusPlus => "gradcam++",
            Method::XGradCam => "xgradcam",
            Method::LayerCam => "layercam",
            Method::ScoreCam => "scorecam",
            Method::ScoreCamPgc => "scorecam-pgc",
            Method::ScoreCamPlusPlus => "scorecam++",
            Method::AugGradCamPlusPlus => "auggradcam++",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Method::GradCam => "GradCAM",
            Method::GradCamPlusPlus => "GradCAM++",
            Method::XGradCam => "XGradCAM",
            Method::LayerCam => "LayerCAM",
            Method::ScoreCam => "ScoreCAM",
            Method::ScoreCamPgc => "ScoreCAM (pytorch-grad-cam)",
            Method::ScoreCamPlusPlus => "ScoreCAM++",
            Method::AugGradCamPlusPlus => "Augmented GradCAM++",
        }
    }

    pub fn uses_gradients(self) -> bool {
        matches!(
            self,
            Method::GradCam | Method::GradCamPlusPlus | Method::XGradCam | Method::LayerCam
        )
    }

    /// One masked forward per channel: slow, shown with progress and cancellable.
    pub fn is_slow(self) -> bool {
        !self.uses_gradients()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ScoreMode {
    /// The authors' code: the softmax probability of the masked input.
    #[default]
    Probability,
    /// The paper's text: the increase in confidence over the unmasked input.
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
}
