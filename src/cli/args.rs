//! The arguments the commands share: which methods, with which options, at which layer.

use camlens::cam::{Gate, Method, Options, ScoreMode};
use camlens::pipeline::Request;

#[derive(clap::Args)]
pub struct CamArgs {
    /// Methods, comma-separated: gradcam, gradcam++, xgradcam, layercam, scorecam,
    /// scorecam-pgc (pytorch-grad-cam's variant), scorecam++, auggradcam++; or all. Default:
    /// the gradient family and ScoreCAM++; for eval, the paper's seven.
    #[arg(long)]
    pub methods: Option<String>,
    /// Target layer (see `camlens layers`); default: the model's usual one.
    #[arg(long)]
    pub layer: Option<String>,
    /// ScoreCAM++ weight: prob (the authors' code) or cic (the paper's increase in confidence).
    #[arg(long, value_enum, default_value_t = ScoreMode::Probability)]
    pub mode: ScoreMode,
    /// ScoreCAM++ gate: tanh, relu, sigmoid, mish or swish.
    #[arg(long, default_value = "tanh")]
    pub gate: Gate,
    /// ScoreCAM++ ablation: gate the masks only and sum the raw upsampled activations.
    #[arg(long)]
    pub gate_in_norm_only: bool,
    /// Faster-ScoreCAM approximation: only the N channels of highest variance.
    #[arg(long)]
    pub top_channels: Option<usize>,
    /// Masked inputs per forward pass (default: sized to the device).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Augmented GradCAM++: number of augmented copies.
    #[arg(long, default_value_t = 100)]
    pub aug_copies: usize,
    /// Random seed: Augmented GradCAM++'s copies, and for eval the --limit subset.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl CamArgs {
    /// The methods asked for (else `default`) and their options.
    pub fn options(&self, default: &[Method]) -> camlens::Result<(Vec<Method>, Options)> {
        let methods = match &self.methods {
            Some(list) => Method::parse_list(list)?,
            None => default.to_vec(),
        };
        let mut o = Options::default();
        o.scorecam_pp.mode = self.mode;
        o.scorecam_pp.gate = self.gate;
        o.scorecam_pp.gate_in_normalization_only = self.gate_in_norm_only;
        o.top_channels = self.top_channels;
        o.batch_size = self.batch_size;
        o.augment.copies = self.aug_copies;
        o.augment.seed = self.seed;
        Ok((methods, o))
    }

    /// The pipeline request: the methods (else `default`) at the asked layer.
    pub fn request(&self, default: &[Method]) -> camlens::Result<Request> {
        let (methods, options) = self.options(default)?;
        Ok(Request::new(&methods, options).with_layer(self.layer.as_deref()))
    }
}
