//! The arguments the commands share: which methods, with which options, at which layer.

use camlens::cam::{Gate, Method, Options, ScoreMode};
use camlens::onnx::{Config, FitName, FormatName, HeadName, ResampleName, TaskName};
use camlens::pipeline::Request;

#[derive(clap::Args)]
pub struct CamArgs {
    /// Methods, comma-separated ids (`camlens methods` lists them), or all. Default: GradCAM,
    /// GradCAM++, XGradCAM, LayerCAM and ScoreCAM++; for eval, the paper's seven.
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
    /// Random seed: Augmented GradCAM++'s copies, RandomCAM's weights, the noise of
    /// SmoothGradCAM++ and SS-CAM, and for eval the
    /// --limit subset.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// FinerCAM: how many classes with the nearest logits the class is compared with.
    #[arg(long, default_value_t = 3)]
    pub finer_comparisons: usize,
    /// FinerCAM: how strongly the compared classes are subtracted (α).
    #[arg(long, default_value_t = 1.0)]
    pub finer_alpha: f32,
    /// pytorch-grad-cam's eigen_smooth: each map is the first principal component of what it
    /// sums over channels (weighted activations, or per-position terms) instead of the sum.
    #[arg(long)]
    pub eigen_smooth: bool,
    /// pytorch-grad-cam's aug_smooth: each map is the mean over six copies of the photo
    /// (mirrored or not, times 0.9, 1 and 1.1): six times the work.
    #[arg(long)]
    pub aug_smooth: bool,
    /// SS-CAM and IS-CAM: samples per channel, each a forward pass (default: torch-cam's 35
    /// and 10).
    #[arg(long)]
    pub score_samples: Option<usize>,
    /// RefineCAM: its layers, comma-separated (default: the target layer and the ends of the
    /// two stages before it).
    #[arg(long, value_delimiter = ',')]
    pub refine_layers: Vec<String>,
    /// DFF: the number of concepts the activations are factorised into.
    #[arg(long, default_value_t = 5)]
    pub concepts: usize,
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
        o.finer.comparisons = self.finer_comparisons;
        o.finer.alpha_milli = (self.finer_alpha * 1000.0).round() as i32;
        o.eigen_smooth = self.eigen_smooth;
        o.aug_smooth = self.aug_smooth;
        o.score_samples = self.score_samples;
        o.concepts = (self.concepts != 5).then_some(self.concepts);
        Ok((methods, o))
    }

    /// The pipeline request: the methods (else `default`) at the asked layer.
    pub fn request(&self, default: &[Method]) -> camlens::Result<Request> {
        let (methods, options) = self.options(default)?;
        Ok(Request::new(&methods, options)
            .with_layer(self.layer.as_deref())
            .with_refine_layers(&self.refine_layers))
    }
}

/// What an ONNX file does not say about its model, given on the command line: the fields of a
/// `model.json`, which they override (see docs/models.md).
#[derive(clap::Args, Default, Clone)]
#[command(next_help_heading = "ONNX model (override its model.json)")]
pub struct OnnxArgs {
    /// Side of the square input (required where the graph's spatial size is dynamic).
    #[arg(long)]
    pub input_size: Option<usize>,
    /// Fraction of the shorter side the centre crop keeps (torchvision: 0.875; 1: no crop).
    #[arg(long)]
    pub crop_fraction: Option<f32>,
    /// Per-channel mean R,G,B on the scale of --pixel-scale, e.g. 0.485,0.456,0.406.
    #[arg(long, value_delimiter = ',')]
    pub mean: Option<Vec<f32>>,
    /// Per-channel standard deviation R,G,B on the scale of --pixel-scale.
    #[arg(long, value_delimiter = ',')]
    pub std: Option<Vec<f32>>,
    /// The pixel value --mean and --std take as full scale: 1 (torchvision, timm) or 255 (Keras).
    #[arg(long)]
    pub pixel_scale: Option<f32>,
    /// Resampling of the photo: bilinear or bicubic.
    #[arg(long, value_enum)]
    pub resample: Option<ResampleName>,
    /// The graph output that holds the class scores, where there are several.
    #[arg(long)]
    pub output: Option<String>,
    /// What the scores are: softmax (one class per image) or sigmoid (independent labels).
    #[arg(long, value_enum)]
    pub head: Option<HeadName>,
    /// A file of class names, one a line.
    #[arg(long)]
    pub labels: Option<std::path::PathBuf>,
    /// How the photo fits the square input: crop (its centre), crop-first (its centre cropped
    /// before the resize, TensorFlow's recipe), letterbox (YOLO's: all of it on grey) or stretch
    /// (all of it, resized).
    #[arg(long, value_enum)]
    pub fit: Option<FitName>,
    /// What the output answers, where its shape does not say: classify, segment or detect.
    #[arg(long, value_enum)]
    pub task: Option<TaskName>,
    /// A detector's output layout, where its shape does not say: yolov8, yolov5 or detr.
    #[arg(long, value_enum)]
    pub detect_format: Option<FormatName>,
    /// A DETR graph's boxes output, by name (--output names its class logits).
    #[arg(long)]
    pub boxes_output: Option<String>,
}

impl OnnxArgs {
    pub fn config(&self) -> camlens::Result<Config> {
        let rgb = |v: &Option<Vec<f32>>, flag: &str| -> camlens::Result<Option<[f32; 3]>> {
            v.as_deref()
                .map(|v| {
                    <[f32; 3]>::try_from(v).map_err(|_| {
                        camlens::Error::Invalid(format!(
                            "--{flag} takes three values R,G,B; got {}",
                            v.len()
                        ))
                    })
                })
                .transpose()
        };
        Ok(Config {
            size: self.input_size,
            crop_fraction: self.crop_fraction,
            resample: self.resample,
            mean: rgb(&self.mean, "mean")?,
            std: rgb(&self.std, "std")?,
            scale: self.pixel_scale,
            output: self.output.clone(),
            head: self.head,
            labels: self.labels.clone(),
            fit: self.fit,
            task: self.task,
            format: self.detect_format,
            boxes: self.boxes_output.clone(),
            // `--score` and `--iou` belong to the commands that list boxes (`BoxArgs`).
            score: None,
            iou: None,
            path: None,
        })
    }
}

/// A detector's thresholds, for listing its boxes and choosing one to explain.
#[derive(clap::Args, Default, Clone, Copy)]
pub struct BoxArgs {
    /// The lowest score a detector's box is kept with (default: 0.25 for YOLO, 0.5 for DETR).
    #[arg(long)]
    pub score: Option<f32>,
    /// Overlap above which a lower-scored box of the same class is suppressed (default: 0.7
    /// for YOLOv8, 0.45 for YOLOv5; DETR's queries are not suppressed).
    #[arg(long)]
    pub iou: Option<f32>,
}

impl BoxArgs {
    /// The thresholds for `model` (`None` for a model that detects nothing).
    pub fn thresholds(
        &self,
        model: &camlens::models::Model,
    ) -> camlens::Result<Option<camlens::models::detection::Thresholds>> {
        match model.task() {
            camlens::models::Task::Detect(format) => {
                model.thresholds(format, self.score, self.iou).map(Some)
            }
            _ if self.score.is_some() || self.iou.is_some() => {
                Err(camlens::Error::Invalid(format!(
                    "--score and --iou are a detector's; {} detects no boxes",
                    model.name
                )))
            }
            _ => Ok(None),
        }
    }
}
