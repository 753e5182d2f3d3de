//! The method registry: every method described once ([`SPECS`]), as plain data the CLI, the app
//! and the evaluation share. Adding a method is one variant of [`Method`] and one entry of
//! [`SPECS`], at the variant's place (a test checks both).

use super::family::{activation, gradient};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    GradCam,
    GradCamPlusPlus,
    XGradCam,
    LayerCam,
    HiResCam,
    GradCamElementWise,
    EigenGradCam,
    FinerCam,
    ShapleyCam,
    Cam,
    /// Gradients at the input and at every bias of the network (layer-free).
    FullGrad,
    /// The input gradient with every ReLU passing back positive gradients only.
    GuidedBackprop,
    /// GradCAM's map times guided backpropagation's.
    GuidedGradCam,
    /// torch-cam's LeGrad: a transformer's attention gradients, block by block.
    LeGrad,
    EigenCam,
    KpcaCam,
    Fem,
    RandomCam,
    /// Deep Feature Factorization: the activations as concepts (NMF), each a map and classes.
    Dff,
    AblationCam,
    /// ScoreCAM as its authors define it (softmax probability, min-max masks, flat channels skipped).
    ScoreCam,
    /// ScoreCAM as pytorch-grad-cam computes it (logits, align_corners masks, softmax over channels).
    ScoreCamPgc,
    /// torch-cam's Smoothed Score-CAM: noisy masks, each channel's score averaged over samples.
    SsCam,
    /// torch-cam's Integrated Score-CAM: masks scaled up step by step, scores averaged.
    IsCam,
    AugGradCamPlusPlus,
    SmoothGradCamPlusPlus,
    /// pytorch-grad-cam's RefineCAM: GradCAM++ at several layers, multiplied.
    RefineCam,
    /// pytorch-grad-cam's SESS: GradCAM over patches of the image at twelve scales, fused.
    Sess,
    ScoreCamPlusPlus,
}

/// What a method is. Everything the rest of camlens asks of a method (its names, whether it
/// needs gradients, whether it is slow, whether top-N channels approximate it, how its masks
/// are built) is read from this, so adding a method is one variant and one entry of the
/// registry ([`SPECS`]).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub method: Method,
    /// The command-line name (also the CSV column and, via [`Method::file_id`], file names).
    pub id: &'static str,
    /// The name people read.
    pub label: &'static str,
    /// What it does, in one line (the app's tooltip, `camlens methods`).
    pub about: &'static str,
    pub family: Family,
}

#[derive(Debug, Clone, Copy)]
pub enum Family {
    /// A function of the target layer's activations and gradients `[K, h, w]`, from the one
    /// backward pass a session shares between all of them.
    Gradient(gradient::GradientFn, GradientOf),
    /// A function of the target layer's activations alone, from the session's forward pass:
    /// no gradient, the same map for every class.
    Activation(activation::ActivationFn),
    /// Masked forward passes, one per distinct channel mask: slow, with progress and cancel.
    Score(ScoreRecipe),
    /// GradCAM++ over seeded augmented copies of the input, warped back and aggregated.
    Augmented,
    /// GradCAM++ from the gradients of seeded noisy copies of the input (torch-cam's
    /// SmoothGradCAM++): a forward and backward pass per copy.
    SmoothGrad,
    /// The rest of the network run with each channel ablated in turn: slow, with progress,
    /// previews and cancel.
    Ablation,
    /// The base method's finished maps at several layers (`Options::refine`), multiplied: a
    /// session and the base method's passes per layer.
    Refine(Method),
    /// The base method on patches of the input at several scales, fused (SESS).
    Sess(Method),
    /// The activations factorised into concepts (DFF): a forward pass, the head once per concept.
    Factorisation,
    /// The gradients at the input and at the output of every biased layer (FullGrad): the
    /// target layer plays no part.
    FullGrad,
    /// Guided backpropagation's input gradient as a map, times the base method's finished
    /// map where there is one (guided GradCAM).
    Guided(Option<Method>),
    /// A transformer's attention probabilities differentiated by the class's score at each of
    /// the last blocks (LeGrad): transformers only.
    Attention,
}

/// Which derivative a gradient method weighs the activations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GradientOf {
    /// `∂z_c/∂A`, the class's logit: the one backward pass all of them share.
    Class,
    /// FinerCAM's target (pytorch-grad-cam's `FinerWeightedTarget`): the class's logit against
    /// the classes whose logits are closest to it, `Σ_j p_j (z_c − α z_j) / Σ_j p_j` with `p`
    /// the softmax, differentiated through `p` too. One backward pass of its own.
    Finer,
    /// `∂z_c/∂A` for CAM, whose weights are the classifier's where the head pools then applies
    /// one linear layer; the session checks that premise (`Session::pooled_linear_head`).
    Classifier,
    /// ShapleyCAM's `∂z_c/∂A − ½ H A`, `H` the Hessian of the logit at the layer. burn has no
    /// second-order autodiff: `H A` is the central difference `(g(A(1+h)) − g(A(1−h))) / 2h`,
    /// two more backward passes.
    Shapley,
}

impl Family {
    /// The family's name as the app and `camlens methods` group by it.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Gradient(..) => "Gradient",
            Family::Activation(_) => "Activation",
            Family::Score(_) => "Score",
            Family::Augmented => "Augmented",
            Family::Ablation => "Ablation",
            Family::SmoothGrad => "Noise",
            Family::Refine(_) => "Multi-layer",
            Family::Sess(_) => "Multi-scale",
            Family::Factorisation => "Concepts",
            Family::FullGrad => "Whole network",
            Family::Guided(_) => "Pixel-level",
            Family::Attention => "Attention",
        }
    }

    /// What its methods cost, in words.
    pub fn cost(&self) -> &'static str {
        match self {
            Family::Gradient(..) => {
                "one backward pass, shared by all of them (FinerCAM and ShapleyCAM: one or two more)"
            }
            Family::Activation(_) => "the forward pass alone: no gradient, no class",
            Family::Score(_) => "a forward pass per channel, batched: slow",
            Family::Augmented => "a forward and backward pass per augmented copy: slow",
            Family::Ablation => "the layers after the target layer once per channel, batched",
            Family::SmoothGrad => "a forward and backward pass per noisy copy (4, batched)",
            Family::Refine(_) => "the base method once per layer (three by default)",
            Family::Sess(_) => "a forward and backward pass per patch (122 at 224×224): slow",
            Family::Factorisation => "the forward pass, a factorisation, the head once per concept",
            Family::FullGrad => {
                "one backward pass through the whole network to the input; no target layer"
            }
            Family::Guided(_) => {
                "a backward pass through the whole network, one step per ReLU (and GradCAM's)"
            }
            Family::Attention => "a backward pass per block (four), transformers only",
        }
    }
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
    /// How many forward passes each channel's weight averages, and how they differ.
    pub passes: Passes,
}

/// The forward passes behind one channel's weight: one, or the mean of several whose masks
/// differ (torch-cam's SS-CAM and IS-CAM). `samples` is the method's default; `--score-samples`
/// overrides it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Passes {
    One,
    /// Gaussian noise of standard deviation `sigma` added to the mask at input size, fresh for
    /// each sample and channel (drawn from `--seed`).
    Noisy {
        samples: usize,
        sigma: f32,
    },
    /// Sample `i` (from 0) of `n` scales the mask by `Σ_{j=1}^{i+1} j / n`, as torch-cam's
    /// ISCAM accumulates its coefficient (its paper's `j/N` steps, summed).
    Integrated {
        samples: usize,
    },
}

impl Passes {
    /// How many passes each channel takes, `requested` overriding the default.
    pub fn samples(self, requested: Option<usize>) -> usize {
        match self {
            Passes::One => 1,
            Passes::Noisy { samples, .. } | Passes::Integrated { samples } => {
                requested.unwrap_or(samples).max(1)
            }
        }
    }
}

/// What a masked input is scored by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreTarget {
    /// The class's softmax probability.
    Probability,
    /// The class's logit.
    Logit,
    /// The class's logit minus the unmasked input's (torch-cam).
    LogitIncrease,
    /// As ScoreCAM++'s options say ([`ScoreMode`](super::options::ScoreMode)): the probability,
    /// or its increase over the unmasked input.
    ScoreCamPlusPlusMode,
}

/// How a channel's activation becomes a mask at input size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaskKind {
    /// Bilinear upsampling then min-max normalisation, `epsilon` added to the range.
    MinMax { align_corners: bool, epsilon: f32 },
    /// torch-cam's: min-max normalisation of each channel at feature size (`1e-8` added to the
    /// range, so a flat channel is an all-zero mask), then bilinear upsampling.
    NormalisedThenUpsampled,
    /// Bilinear upsampling then ScoreCAM++'s gate ([`Gate`](super::options::Gate)); the map is
    /// the weighted sum of the gated masks unless the options ask for the ablation.
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

/// Why LeGrad does not apply to a network without attention camlens can read.
pub const NO_ATTENTION: &str = "LeGrad reads a transformer's attention, which camlens reads in \
    torchvision's ViT-B/16 (its .pth weights) and in ONNX exports of pre-norm vision transformers \
    (a Softmax over [N, heads, T, T] per block, layer norms before the blocks and the head); \
    this model has none it can read";

impl Method {
    /// Every method, in the order the app lists them and `all` runs them: the registry's.
    pub const ALL: [Method; SPECS.len()] = {
        let mut all = [Method::GradCam; SPECS.len()];
        let mut i = 0;
        while i < SPECS.len() {
            all[i] = SPECS[i].method;
            i += 1;
        }
        all
    };

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

    /// The one place a method is described: its entry in the registry.
    pub fn spec(self) -> Spec {
        SPECS[self as usize]
    }

    /// Every method grouped by family, in the registry's order.
    pub fn by_family() -> Vec<(Family, Vec<Method>)> {
        let mut groups: Vec<(Family, Vec<Method>)> = vec![];
        for m in Method::ALL {
            let family = m.spec().family;
            match groups.iter_mut().find(|(f, _)| f.name() == family.name()) {
                Some((_, ms)) => ms.push(m),
                None => groups.push((family, vec![m])),
            }
        }
        groups
    }

    /// Every method by family, one line each: id, name, what it does (`camlens methods`).
    pub fn listing() -> String {
        let mut out = String::new();
        for (family, methods) in Method::by_family() {
            out += &format!("{}: {}\n", family.name(), family.cost());
            for m in methods {
                let s = m.spec();
                out += &format!("  {:<22} {}: {}\n", s.id, s.label, s.about);
            }
        }
        out
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
        matches!(self.spec().family, Family::Gradient(..))
    }

    /// More than one forward pass: slow, shown with progress and cancellable.
    pub fn is_slow(self) -> bool {
        matches!(
            self.spec().family,
            Family::Score(_)
                | Family::Augmented
                | Family::Ablation
                | Family::SmoothGrad
                | Family::Refine(_)
                | Family::Sess(_)
        )
    }

    /// Why the method cannot explain `model`, where it cannot: LeGrad needs a transformer's
    /// attention. `all` leaves such methods out; naming one is refused with this sentence.
    pub fn not_for(self, model: &crate::models::Model) -> Option<&'static str> {
        match self.spec().family {
            Family::Attention if !model.net.has_attention() => Some(NO_ATTENTION),
            _ => None,
        }
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

const fn gradient(
    method: Method,
    id: &'static str,
    label: &'static str,
    about: &'static str,
    f: gradient::GradientFn,
) -> Spec {
    Spec {
        method,
        id,
        label,
        about,
        family: Family::Gradient(f, GradientOf::Class),
    }
}

const fn activation(
    method: Method,
    id: &'static str,
    label: &'static str,
    about: &'static str,
    f: activation::ActivationFn,
) -> Spec {
    Spec {
        method,
        id,
        label,
        about,
        family: Family::Activation(f),
    }
}

const fn score(
    method: Method,
    id: &'static str,
    label: &'static str,
    about: &'static str,
    recipe: ScoreRecipe,
) -> Spec {
    Spec {
        method,
        id,
        label,
        about,
        family: Family::Score(recipe),
    }
}

/// Every method, indexed by its variant's position in [`Method`].
pub const SPECS: [Spec; 29] = [
    gradient(
        Method::GradCam,
        "gradcam",
        "GradCAM",
        "channels weighted by their mean gradient",
        gradient::gradcam,
    ),
    gradient(
        Method::GradCamPlusPlus,
        "gradcam++",
        "GradCAM++",
        "channels weighted by their positive gradients, with higher-order terms",
        gradient::gradcam_pp,
    ),
    gradient(
        Method::XGradCam,
        "xgradcam",
        "XGradCAM",
        "channels weighted by gradient × activation over activation",
        gradient::xgradcam,
    ),
    gradient(
        Method::LayerCam,
        "layercam",
        "LayerCAM",
        "positive gradient × activation at each position",
        gradient::layercam,
    ),
    gradient(
        Method::HiResCam,
        "hirescam",
        "HiResCAM",
        "gradient × activation at each position, summed over channels",
        gradient::hirescam,
    ),
    gradient(
        Method::GradCamElementWise,
        "gradcam-elementwise",
        "GradCAM element-wise",
        "positive part of gradient × activation at each position",
        gradient::gradcam_elementwise,
    ),
    gradient(
        Method::EigenGradCam,
        "eigengradcam",
        "EigenGradCAM",
        "first principal component of gradient × activation",
        gradient::eigengradcam,
    ),
    Spec {
        method: Method::FinerCam,
        id: "finercam",
        label: "FinerCAM",
        about: "GradCAM of the class against the classes closest to it: what sets it apart",
        family: Family::Gradient(gradient::gradcam, GradientOf::Finer),
    },
    Spec {
        method: Method::ShapleyCam,
        id: "shapleycam",
        label: "ShapleyCAM",
        about: "GradCAM with the gradient corrected by the Hessian term, −½ H·A",
        family: Family::Gradient(gradient::gradcam, GradientOf::Shapley),
    },
    Spec {
        method: Method::Cam,
        id: "cam",
        label: "CAM",
        about: "the classifier's weights of the class, for heads that pool then apply one linear layer",
        family: Family::Gradient(gradient::cam, GradientOf::Classifier),
    },
    Spec {
        method: Method::FullGrad,
        id: "fullgrad",
        label: "FullGrad",
        about: "input gradient × input plus every convolution's and batch norm's bias × its \
            gradient; uses no target layer",
        family: Family::FullGrad,
    },
    Spec {
        method: Method::GuidedBackprop,
        id: "guided-backprop",
        label: "Guided backprop",
        about: "input gradient through ReLUs that pass positive gradients only: edges, not \
            regions, and nearly the same for every class",
        family: Family::Guided(None),
    },
    Spec {
        method: Method::GuidedGradCam,
        id: "guided-gradcam",
        label: "Guided GradCAM",
        about: "guided backpropagation times GradCAM's map: the class's region at pixel detail",
        family: Family::Guided(Some(Method::GradCam)),
    },
    Spec {
        method: Method::LeGrad,
        id: "legrad",
        label: "LeGrad",
        about: "a transformer's attention weighed by its gradient at the last four blocks: \
            ViT only",
        family: Family::Attention,
    },
    activation(
        Method::EigenCam,
        "eigencam",
        "EigenCAM",
        "first principal component of the activations; the same for every class",
        activation::eigencam,
    ),
    activation(
        Method::KpcaCam,
        "kpcacam",
        "KPCA-CAM",
        "kernel PCA's first component of the activations; the same for every class",
        activation::kpcacam,
    ),
    activation(
        Method::Fem,
        "fem",
        "FEM",
        "channels weighted by their share of outlying activations; the same for every class",
        activation::fem,
    ),
    activation(
        Method::RandomCam,
        "randomcam",
        "RandomCAM",
        "random channel weights drawn from --seed: the baseline any method should beat",
        activation::randomcam,
    ),
    Spec {
        method: Method::Dff,
        id: "dff",
        label: "DFF",
        about: "the activations factorised into concepts (--concepts), each a map with its \
            classes; the map shown is the class's likeliest concept",
        family: Family::Factorisation,
    },
    Spec {
        method: Method::AblationCam,
        id: "ablationcam",
        label: "AblationCAM",
        about: "channels weighted by how much the class's logit drops without them",
        family: Family::Ablation,
    },
    score(
        Method::ScoreCam,
        "scorecam",
        "ScoreCAM",
        "channels weighted by the probability of the input each one masks",
        ScoreRecipe {
            target: ScoreTarget::Probability,
            mask: MaskKind::MinMax {
                align_corners: false,
                epsilon: 0.0,
            },
            flat_channels: FlatChannels::Skip,
            channel_softmax: false,
            passes: Passes::One,
        },
    ),
    // pytorch-grad-cam 1.5.7: logits, align_corners=True upsampling, a 1e-8 in the min-max
    // range (so a flat channel is an all-zero mask), softmax over channels.
    score(
        Method::ScoreCamPgc,
        "scorecam-pgc",
        "ScoreCAM (pytorch-grad-cam)",
        "ScoreCAM as pytorch-grad-cam computes it: logits, softmax over channels",
        ScoreRecipe {
            target: ScoreTarget::Logit,
            mask: MaskKind::MinMax {
                align_corners: true,
                epsilon: 1e-8,
            },
            flat_channels: FlatChannels::ZeroMask,
            channel_softmax: true,
            passes: Passes::One,
        },
    ),
    // torch-cam 0.5's SSCAM: 35 samples, σ = 2 (the noise is ours, from --seed, not torch's).
    score(
        Method::SsCam,
        "sscam",
        "SS-CAM",
        "ScoreCAM with noise added to each mask, scores averaged over 35 samples (--seed)",
        ScoreRecipe {
            target: ScoreTarget::LogitIncrease,
            mask: MaskKind::NormalisedThenUpsampled,
            flat_channels: FlatChannels::ZeroMask,
            channel_softmax: true,
            passes: Passes::Noisy {
                samples: 35,
                sigma: 2.0,
            },
        },
    ),
    // torch-cam 0.5's ISCAM: 10 samples.
    score(
        Method::IsCam,
        "iscam",
        "IS-CAM",
        "ScoreCAM with each mask scaled up in 10 steps, scores averaged",
        ScoreRecipe {
            target: ScoreTarget::LogitIncrease,
            mask: MaskKind::NormalisedThenUpsampled,
            flat_channels: FlatChannels::ZeroMask,
            channel_softmax: true,
            passes: Passes::Integrated { samples: 10 },
        },
    ),
    Spec {
        method: Method::AugGradCamPlusPlus,
        id: "auggradcam++",
        label: "Augmented GradCAM++",
        about: "GradCAM++ over augmented copies of the image, warped back and merged",
        family: Family::Augmented,
    },
    Spec {
        method: Method::SmoothGradCamPlusPlus,
        id: "smoothgradcam++",
        label: "SmoothGradCAM++",
        about: "GradCAM++ from the gradients of four noisy copies of the image (--seed)",
        family: Family::SmoothGrad,
    },
    Spec {
        method: Method::RefineCam,
        id: "refinecam",
        label: "RefineCAM",
        about: "GradCAM++ at the target layer and two earlier stages, multiplied \
            (--refine-layers)",
        family: Family::Refine(Method::GradCamPlusPlus),
    },
    Spec {
        method: Method::Sess,
        id: "sess",
        label: "SESS",
        about: "GradCAM over windows of the image at twelve scales, weighted, fused and blurred",
        family: Family::Sess(Method::GradCam),
    },
    score(
        Method::ScoreCamPlusPlus,
        "scorecam++",
        "ScoreCAM++",
        "ScoreCAM with tanh-gated activations as masks: this app's headline",
        ScoreRecipe {
            target: ScoreTarget::ScoreCamPlusPlusMode,
            mask: MaskKind::Gated,
            flat_channels: FlatChannels::Gated,
            channel_softmax: false,
            passes: Passes::One,
        },
    ),
];

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
                Method::LayerCam,
                Method::HiResCam,
                Method::GradCamElementWise,
                Method::EigenGradCam,
                Method::FinerCam,
                Method::ShapleyCam,
                Method::Cam,
            ]
        );
        let slow: Vec<Method> = Method::ALL.into_iter().filter(|m| m.is_slow()).collect();
        assert_eq!(
            slow,
            [
                Method::AblationCam,
                Method::ScoreCam,
                Method::ScoreCamPgc,
                Method::SsCam,
                Method::IsCam,
                Method::AugGradCamPlusPlus,
                Method::SmoothGradCamPlusPlus,
                Method::RefineCam,
                Method::Sess,
                Method::ScoreCamPlusPlus
            ]
        );
        assert!(!Method::EigenCam.uses_gradients() && !Method::EigenCam.is_slow());
        assert!(!Method::AugGradCamPlusPlus.uses_top_channels());
        assert!(Method::ScoreCamPgc.uses_top_channels());
    }

    /// Where each variant's entry must be: the match is exhaustive, so a new variant does not
    /// compile until it is given a place, and the test then fails until its entry is there.
    fn place(m: Method) -> usize {
        match m {
            Method::GradCam => 0,
            Method::GradCamPlusPlus => 1,
            Method::XGradCam => 2,
            Method::LayerCam => 3,
            Method::HiResCam => 4,
            Method::GradCamElementWise => 5,
            Method::EigenGradCam => 6,
            Method::FinerCam => 7,
            Method::ShapleyCam => 8,
            Method::Cam => 9,
            Method::FullGrad => 10,
            Method::GuidedBackprop => 11,
            Method::GuidedGradCam => 12,
            Method::LeGrad => 13,
            Method::EigenCam => 14,
            Method::KpcaCam => 15,
            Method::Fem => 16,
            Method::RandomCam => 17,
            Method::Dff => 18,
            Method::AblationCam => 19,
            Method::ScoreCam => 20,
            Method::ScoreCamPgc => 21,
            Method::SsCam => 22,
            Method::IsCam => 23,
            Method::AugGradCamPlusPlus => 24,
            Method::SmoothGradCamPlusPlus => 25,
            Method::RefineCam => 26,
            Method::Sess => 27,
            Method::ScoreCamPlusPlus => 28,
        }
    }

    #[test]
    fn each_method_has_its_entry_at_its_place() {
        for (i, s) in SPECS.iter().enumerate() {
            assert_eq!(s.method as usize, i, "{}", s.id);
            assert_eq!(place(s.method), i, "{}", s.id);
        }
        assert_eq!(place(Method::ScoreCamPlusPlus) + 1, SPECS.len());
    }
}
