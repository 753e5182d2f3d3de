//! A loaded classifier (`Model`): its architecture, weights, preprocessing and class names, and
//! the built-in EfficientNet-Lite0 it falls back to.

use super::detection::{self, Detection, Thresholds};
use super::network::{Context, Focus, LayerInfo, Network, Scores, Task};
use super::segmentation::Segmentation;
use super::zoo::{lite0, resnet, vgg, vit};
use crate::compute::tensor_io::to_vec;
use crate::input::preprocess::Order;
use crate::onnx;

use crate::compute::device::Compute;
use crate::error::{Error, Result};
use crate::input::labels;
use crate::input::preprocess::Preprocess;
use crate::input::weights::WeightMap;
use burn::tensor::{DType, Device, Tensor};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    EfficientNetLite0,
    ResNet(usize),
    Vgg(usize, bool),
    VitB16,
    /// A graph read from an ONNX file and run by camlens' interpreter.
    Onnx,
    /// A network assembled in code rather than loaded from a file (tests, experiments).
    Custom,
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arch::EfficientNetLite0 => write!(f, "EfficientNet-Lite0"),
            Arch::ResNet(d) => write!(f, "ResNet-{d}"),
            Arch::Vgg(d, bn) => write!(f, "VGG-{d}{}", if *bn { "_bn" } else { "" }),
            Arch::VitB16 => write!(f, "ViT-B/16"),
            Arch::Onnx => write!(f, "ONNX model"),
            Arch::Custom => write!(f, "custom network"),
        }
    }
}

/// A loaded classifier, ready to explain.
#[derive(Debug)]
pub struct Model {
    pub arch: Arch,
    /// What the user sees: "EfficientNet-Lite0 (built-in)" or the file name.
    pub name: String,
    pub net: Box<dyn Network>,
    pub preprocess: Preprocess,
    pub classes: Vec<String>,
    /// How scores become probabilities (softmax for every model but some ONNX heads).
    pub scores: Scores,
    /// How an ONNX graph runs batches, in words (relaxed, dynamic, or one input at a time).
    pub batching: Option<String>,
    /// An ONNX graph's activations (ReLU, Clip, HardSwish, SiLU) applied by the convolution
    /// before them as it writes
    /// (see `onnx::fuse`), as the native models' are.
    pub fused_activations: usize,
    /// An ONNX graph's zero Pads taken into the convolution after them (see `onnx::fuse`).
    pub fused_pads: usize,
    /// An ONNX graph's squeeze-excitation gates taken into the 1×1 convolution after them (see
    /// `onnx::fuse`).
    pub fused_gates: usize,
    /// An ONNX graph's batch norms folded into the convolution before them (see `onnx::fuse`).
    pub fused_batch_norms: usize,
    pub device: Device,
    /// The largest single buffer the device takes (see `device::Compute::max_buffer_bytes`).
    pub max_buffer_bytes: u64,
    /// The float type of the convolutions and matrix products (see `crate::compute::precision`).
    pub dtype: DType,
}

/// A safe default until the caller says what the device takes: under lavapipe's 128 MiB.
pub const DEFAULT_MAX_BUFFER: u64 = 96 << 20;

/// The embedded weights: converted from `models/efficientnet-lite0-57934424.pth` by build.rs.
pub(super) static LITE0_SAFETENSORS: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/lite0.safetensors"));

impl Model {
    /// The built-in EfficientNet-Lite0 with its ImageNet weights.
    pub fn builtin(device: &Device) -> Result<Self> {
        let map = WeightMap::from_safetensors(LITE0_SAFETENSORS, Path::new("<built-in Lite0>"))?;
        let net = lite0::build(&map, device)?;
        Ok(Self {
            arch: Arch::EfficientNetLite0,
            name: "EfficientNet-Lite0 (built-in)".into(),
            net: Box::new(net),
            preprocess: Preprocess::efficientnet_lite(),
            classes: labels::imagenet(),
            scores: Scores::Softmax,
            batching: None,
            fused_activations: 0,
            fused_pads: 0,
            fused_gates: 0,
            fused_batch_norms: 0,
            device: device.clone(),
            max_buffer_bytes: DEFAULT_MAX_BUFFER,
            dtype: DType::F32,
        })
    }

    /// `lite0` / `builtin` for the shipped model, else a weights file.
    pub fn open(spec: &str, device: &Device) -> Result<Self> {
        Self::open_with(spec, &onnx::Config::default(), device)
    }

    /// As `open`, an ONNX model's `model.json` overridden by `overrides` (the command line's).
    pub fn open_with(spec: &str, overrides: &onnx::Config, device: &Device) -> Result<Self> {
        let is_onnx = Path::new(spec)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
        if is_onnx {
            return Self::from_onnx(Path::new(spec), overrides, device);
        }
        if !overrides.is_empty() {
            log::warn!("{spec}: the input and output options apply to ONNX models only");
        }
        match spec {
            "lite0" | "builtin" | "efficientnet-lite0" => Self::builtin(device),
            path => Self::from_file(Path::new(path), device),
        }
    }

    /// Loads a torchvision (or Lite0) weights file, detecting the architecture from its keys and
    /// the number of classes from its head. Class names come from a labels file beside the
    /// weights (`<stem>.labels.txt`, `<stem>.txt`, `labels.txt` or `classes.txt`: one name a line),
    /// else ImageNet's for 1000 classes, else the indices.
    pub fn from_file(path: &Path, device: &Device) -> Result<Self> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        {
            return Self::from_onnx(path, &onnx::Config::default(), device);
        }
        let map = WeightMap::load(path)?;
        let arch = detect(&map).ok_or_else(|| Error::UnknownArchitecture {
            path: path.to_owned(),
            found: map.summary(),
        })?;
        let (net, classes, preprocess): (Box<dyn Network>, usize, Preprocess) = match arch {
            Arch::EfficientNetLite0 => {
                let n = lite0::build(&map, device)?;
                let c = n.num_classes();
                (Box::new(n), c, Preprocess::efficientnet_lite())
            }
            Arch::ResNet(depth) => {
                let n = resnet::build(&map, depth, device)?;
                let c = n.num_classes();
                (Box::new(n), c, Preprocess::torchvision())
            }
            Arch::Vgg(depth, bn) => {
                let n = vgg::build(&map, depth, bn, device)?;
                let c = n.num_classes();
                (Box::new(n), c, Preprocess::torchvision())
            }
            Arch::VitB16 => {
                let n = vit::Vit::build(&map, device)?;
                let c = n.num_classes;
                (Box::new(n), c, Preprocess::torchvision())
            }
            Arch::Custom | Arch::Onnx => unreachable!("detect() answers neither"),
        };
        let classes = labels::for_weights(path, classes)?;
        Ok(Self {
            arch,
            name: format!("{arch} ({})", file_name(path)),
            net,
            preprocess,
            classes,
            scores: Scores::Softmax,
            batching: None,
            fused_activations: 0,
            fused_pads: 0,
            fused_gates: 0,
            fused_batch_norms: 0,
            device: device.clone(),
            max_buffer_bytes: DEFAULT_MAX_BUFFER,
            dtype: DType::F32,
        })
    }

    /// A classifier exported to ONNX, run by camlens' own interpreter; torchvision's
    /// preprocessing at the graph's input size unless its `model.json` or `overrides` say
    /// otherwise; class names as for weights files.
    pub fn from_onnx(path: &Path, overrides: &onnx::Config, device: &Device) -> Result<Self> {
        let config = onnx::Config::beside(path)?.overridden_by(overrides)?;
        let net = onnx::OnnxNet::load(path, &config, device)?;
        let name_note = match net.task {
            Task::Segment => ", segmentation",
            Task::Detect(_) => ", detection",
            Task::Classify => "",
        };
        log::info!("{}: {}", path.display(), net.batching);
        let classes = labels::for_onnx(
            path,
            net.num_classes,
            config.labels.as_deref(),
            net.labels.clone(),
        )?;
        let mut preprocess = config.preprocess(net.input_size);
        if net.task == Task::Segment && config.crop_fraction.is_none() {
            // torchvision's segmentation recipe resizes the shorter side and crops nothing;
            // camlens' inputs are square, so the centre square of that resize is explained.
            preprocess.crop_fraction = 1.0;
        }
        if let Task::Detect(_) = net.task {
            // Ultralytics' recipe: letterboxed, pixels / 255 (what its exports expect).
            if config.fit.is_none() {
                preprocess.order = Order::Letterbox;
            }
            if config.mean.is_none() && config.std.is_none() {
                preprocess.mean = [0.0; 3];
                preprocess.std = [255.0; 3];
            }
        }
        if let Some(file) = &config.path {
            log::info!("{}: preprocessing from {}", path.display(), file.display());
        }
        let mut name = format!("{} ({}{name_note})", Arch::Onnx, file_name(path));
        match net.scores {
            Scores::Softmax => {}
            Scores::Binary => name.push_str(", one logit read as two classes"),
            Scores::Sigmoid => name.push_str(", multi-label"),
        }
        if let Some(op) = net.ends_in {
            log::info!(
                "{}: the graph ends in a {op}; the maps explain the logits before it",
                path.display()
            );
        }
        let scores = net.scores;
        let batching = Some(net.batching.clone());
        let (fused_activations, fused_pads) = (net.fused_activations(), net.fused_pads());
        let fused_gates = net.fused_gates();
        let fused_batch_norms = net.fused_batch_norms();
        Ok(Self {
            arch: Arch::Onnx,
            name,
            net: Box::new(net),
            preprocess,
            classes,
            scores,
            batching,
            fused_activations,
            fused_pads,
            fused_gates,
            fused_batch_norms,
            device: device.clone(),
            max_buffer_bytes: DEFAULT_MAX_BUFFER,
            dtype: DType::F32,
        })
    }

    /// Batches sized to `compute`'s buffers, the weighted layers in its precision.
    pub fn fit_to(&mut self, compute: &Compute) -> Result<()> {
        self.max_buffer_bytes = compute.max_buffer_bytes;
        self.set_dtype(compute.precision.dtype)
    }

    /// The convolutions and matrix products before the classifier in `dtype`. Only from f32:
    /// weights already rounded to f16 or bf16 would not come back, so another type means
    /// opening the model again (as the app does).
    pub fn set_dtype(&mut self, dtype: DType) -> Result<()> {
        if dtype == self.dtype {
            return Ok(());
        }
        if self.dtype != DType::F32 {
            return Err(Error::Invalid(format!(
                "{}'s weights are already {}: open it again for {}",
                self.name,
                crate::compute::precision::dtype_name(self.dtype),
                crate::compute::precision::dtype_name(dtype)
            )));
        }
        self.net.set_dtype(dtype);
        self.dtype = dtype;
        Ok(())
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Inputs per forward pass such that the largest intermediate tensor fits one device buffer
    /// (with headroom), capped where larger batches stop paying off.
    pub fn auto_batch_size(&self) -> usize {
        let per_input = (self.net.peak_activation() * 4) as u64;
        let fit = ((self.max_buffer_bytes * 9 / 10) / per_input.max(1)).clamp(1, 64) as usize;
        // On the CPU a batch runs one input per core (`forward`): a batch that is not a multiple
        // of the cores leaves one idle at its end (a batch of 11 on 2 cores: 173 % CPU, against
        // 183 % at 12).
        let cores = rayon::current_num_threads();
        if self.on_cpu() && fit > cores {
            return fit - fit % cores;
        }
        fit
    }

    /// Whether the model computes on burn's CPU backend.
    fn on_cpu(&self) -> bool {
        self.device.clone().without_autodiff() == Device::flex()
    }

    pub fn layers(&self) -> Vec<LayerInfo> {
        self.net.layers()
    }

    /// The layer index for a name, or the model's default for `None`.
    pub fn layer_index(&self, name: Option<&str>) -> Result<usize> {
        let Some(name) = name else {
            return Ok(self.net.default_layer());
        };
        let layers = self.layers();
        layers
            .iter()
            .position(|l| l.name == name)
            .ok_or_else(|| Error::UnknownLayer {
                name: name.to_string(),
                available: layers
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn task(&self) -> Task {
        self.net.task()
    }

    /// A segmenter's answer for one prepared input.
    pub fn segment(&self, input: &[f32]) -> Result<Segmentation> {
        let x = self.preprocess.batch(&[input.to_vec()], &self.device);
        let scores = self.net.dense_scores(x).ok_or_else(|| {
            Error::Invalid(format!(
                "{} classifies whole images: it segments nothing",
                self.name
            ))
        })?;
        Segmentation::from_scores(scores)
    }

    /// A detector's boxes for one prepared input, in the input's pixels.
    pub fn detect(&self, input: &[f32], thresholds: Option<Thresholds>) -> Result<Vec<Detection>> {
        let Task::Detect(format) = self.task() else {
            return Err(Error::Invalid(format!("{} detects no boxes", self.name)));
        };
        let x = self.preprocess.batch(&[input.to_vec()], &self.device);
        let out = self
            .net
            .detector_output(x)
            .ok_or_else(|| Error::Invalid(format!("{} detects no boxes", self.name)))?;
        let dims = out.dims();
        let t = match thresholds {
            Some(t) => t,
            None => self.thresholds(format, None, None)?,
        };
        Ok(detection::decode(&to_vec(out)?, dims, t))
    }

    /// A detector's thresholds: `score` and `iou` where given, else its model.json's, else
    /// the format's defaults.
    pub fn thresholds(
        &self,
        format: detection::DetectFormat,
        score: Option<f32>,
        iou: Option<f32>,
    ) -> Result<Thresholds> {
        let (own_score, own_iou) = self.net.box_thresholds();
        format.thresholds(score.or(own_score), iou.or(own_iou))
    }

    /// What a segmenter's or detector's scores are read for from now on.
    pub fn set_focus(&self, focus: Focus) -> Result<()> {
        self.net.set_focus(focus)
    }

    /// Probabilities from logits `[N, classes]`, as the model's scores mean them.
    pub fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        match self.scores {
            Scores::Softmax | Scores::Binary => burn::tensor::activation::softmax(logits, 1),
            Scores::Sigmoid => burn::tensor::activation::sigmoid(logits),
        }
    }

    /// Logits for a batch of prepared inputs.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = x.dims();
        let threads = rayon::current_num_threads();
        // On the CPU a batch runs as single inputs side by side, one per core at a time: many
        // steps of a forward pass (elementwise operations, pooling, small layers) use one core
        // each, and inputs running at once keep every core busy through them (Lite0's
        // ScoreCAM++ at batches of 12 on the 2-core build machine: 162 % → 192 % CPU). One
        // input at a time rather than one part per core keeps each layer's working set in
        // cache (Lite0's expansions write 4.8 MB per input): Lite0's ScoreCAM++ 8.7 → 6.7 s
        // against parts of 6 on the AMD EPYC build machine, ResNet-18's within noise.
        if threads > 1 && batch > 1 && !x.is_autodiff() && self.on_cpu() {
            use rayon::prelude::*;
            let chunks: Vec<Tensor<4>> = (0..batch).map(|i| x.clone().narrow(0, i, 1)).collect();
            return match self.net.cpu_batch_from() {
                // Late layers as one batch: see `Network::cpu_batch_from`.
                Some(layer) => {
                    let parts: Vec<Tensor<4>> = chunks
                        .into_par_iter()
                        .map(|part| self.net.features(part, layer).activation)
                        .collect();
                    self.net.head(Tensor::cat(parts, 0), &Context::None, layer)
                }
                None => {
                    let logits: Vec<Tensor<2>> = chunks
                        .into_par_iter()
                        .map(|part| self.forward_whole(part))
                        .collect();
                    Tensor::cat(logits, 0)
                }
            };
        }
        self.forward_whole(x)
    }

    /// [`Model::forward`] as one batch.
    fn forward_whole(&self, x: Tensor<4>) -> Tensor<2> {
        let layer = self.net.default_layer();
        let f = self.net.features(x, layer);
        self.net.head(f.activation, &f.context, layer)
    }

    pub fn check_class(&self, class: usize) -> Result<()> {
        if class >= self.num_classes() {
            return Err(Error::ClassOutOfRange {
                index: class,
                classes: self.num_classes(),
            });
        }
        Ok(())
    }
}

/// Recognises an architecture from the names and shapes of its tensors.
pub fn detect(map: &WeightMap) -> Option<Arch> {
    if map.contains("_conv_stem.weight") && map.contains("_blocks.15._project_conv.weight") {
        return Some(Arch::EfficientNetLite0);
    }
    if map.contains("conv_proj.weight") && map.contains("encoder.pos_embedding") {
        return (map.shape("conv_proj.weight") == Some(&[768, 3, 16, 16][..]))
            .then_some(Arch::VitB16);
    }
    if map.contains("conv1.weight") && map.contains("layer4.0.conv1.weight") {
        let blocks = |layer: usize| {
            (0..)
                .take_while(|i| map.contains(&format!("layer{layer}.{i}.conv1.weight")))
                .count()
        };
        let bottleneck = map.contains("layer1.0.conv3.weight");
        return match (bottleneck, blocks(1), blocks(2), blocks(3), blocks(4)) {
            (false, 2, 2, 2, 2) => Some(Arch::ResNet(18)),
            (false, 3, 4, 6, 3) => Some(Arch::ResNet(34)),
            (true, 3, 4, 6, 3) => Some(Arch::ResNet(50)),
            _ => None,
        };
    }
    if map.contains("features.0.weight") && map.contains("classifier.6.weight") {
        let bn = map.contains("features.1.running_mean");
        let convs = map
            .tensors
            .iter()
            .filter(|(k, t)| k.starts_with("features.") && t.shape.len() == 4)
            .count();
        return match convs {
            13 => Some(Arch::Vgg(16, bn)),
            16 => Some(Arch::Vgg(19, bn)),
            _ => None,
        };
    }
    None
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}
