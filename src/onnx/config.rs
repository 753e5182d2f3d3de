//! What an ONNX file does not say about its model, from a `model.json` (or `<stem>.model.json`)
//! beside it: how to prepare the input, which output holds the class scores, where the class
//! names are. Every field is optional; unknown fields are refused so that a typo is not silently
//! ignored.
//!
//! ```json
//! { "size": 384, "crop_fraction": 1.0, "resample": "bicubic",
//!   "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": 1.0,
//!   "output": "logits", "head": "sigmoid", "labels": "classes.txt" }
//! ```
//!
//! A detector or segmenter is told from its outputs; `"task"` ("classify", "segment" or
//! "detect") and `"format"` ("yolov8", "yolov5" or "detr") say so where the shapes do not, and
//! `"boxes"` names a DETR graph's boxes output (with `"output"` its class logits) where the
//! names do not say which is which. `"score"` and `"iou"` set a detector's thresholds.

use crate::error::{Access, Error, Result};
use crate::input::preprocess::{Order, Preprocess, Resample};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Side of the square input: required where the graph's spatial size is dynamic.
    pub size: Option<usize>,
    /// Fraction of the shorter side the centre crop keeps (torchvision: 0.875, timm: its
    /// `crop_pct`).
    pub crop_fraction: Option<f32>,
    pub resample: Option<ResampleName>,
    /// Per channel, on the scale of `scale` (torchvision and timm: 0–1).
    pub mean: Option<[f32; 3]>,
    pub std: Option<[f32; 3]>,
    /// Pixel value that `mean` and `std` take as full scale: 1 (torchvision, timm) or 255 (Keras).
    pub scale: Option<f32>,
    /// The graph output that holds the class scores, where there are several.
    pub output: Option<String>,
    /// What the scores are: "softmax" (one class per image, the default) or "sigmoid"
    /// (independent labels). A graph that ends in a Sigmoid is read as "sigmoid" already.
    pub head: Option<HeadName>,
    /// A file of class names, one a line, relative to the model's folder.
    pub labels: Option<PathBuf>,
    /// How the photo is fitted to the square input: "crop" (the centre, the default),
    /// "crop-first" (the centre cropped before the resize: TensorFlow's recipe), "letterbox"
    /// (YOLO's: all of it, padded with grey) or "stretch" (all of it, resized).
    pub fit: Option<FitName>,
    /// What the output answers, where its shape does not say: "classify", "segment" or
    /// "detect".
    pub task: Option<TaskName>,
    /// A detector's output layout: "yolov8" (`[N, 4 + K, A]`), "yolov5" (`[N, A, 5 + K]`) or
    /// "detr" (class logits and boxes, two outputs).
    pub format: Option<FormatName>,
    /// A DETR graph's boxes output `[N, queries, 4]`, by name.
    pub boxes: Option<String>,
    /// A detector's lowest box score kept (the CLI's `--score` overrides it; the app has only
    /// this): Ultralytics' 0.25 and DETR's 0.5 where not given.
    pub score: Option<f32>,
    /// A detector's IoU above which a box is suppressed (`--iou` overrides it).
    pub iou: Option<f32>,
    /// Where it was read from (not a field of the file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ResampleName {
    Bilinear,
    Bicubic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FitName {
    Crop,
    // TensorFlow's recipe: the centre crop first, then resized to the input (EfficientNet-Lite
    // and other TF-ported models; `crop` resizes first, as torchvision does). Not a doc comment:
    // clap would show every --help in its long form to list it.
    #[serde(rename = "crop-first")]
    #[value(name = "crop-first")]
    CropFirst,
    Letterbox,
    Stretch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TaskName {
    Classify,
    Segment,
    Detect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    Yolov8,
    Yolov5,
    Detr,
}

impl FormatName {
    pub fn format(self) -> crate::models::detection::DetectFormat {
        use crate::models::detection::DetectFormat;
        match self {
            FormatName::Yolov8 => DetectFormat::YoloV8,
            FormatName::Yolov5 => DetectFormat::YoloV5,
            FormatName::Detr => DetectFormat::Detr,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HeadName {
    Softmax,
    Sigmoid,
}

impl Config {
    /// The configuration beside `model`, or the defaults where there is none.
    pub fn beside(model: &Path) -> Result<Config> {
        let dir = model.parent().unwrap_or(Path::new("."));
        let stem = model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(path) = [
            dir.join(format!("{stem}.model.json")),
            dir.join("model.json"),
        ]
        .into_iter()
        .find(|p| p.is_file()) else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path).map_err(Error::io(Access::Read, path.clone()))?;
        let mut config: Config = serde_json::from_str(&text)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        config
            .check()
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        config.labels = config.labels.map(|l| dir.join(l));
        config.path = Some(path);
        Ok(config)
    }

    /// The file's fields with `over`'s (the command line's) in their place where it sets them.
    pub fn overridden_by(self, over: &Config) -> Result<Config> {
        let merged = Config {
            size: over.size.or(self.size),
            crop_fraction: over.crop_fraction.or(self.crop_fraction),
            resample: over.resample.or(self.resample),
            mean: over.mean.or(self.mean),
            std: over.std.or(self.std),
            scale: over.scale.or(self.scale),
            output: over.output.clone().or(self.output),
            head: over.head.or(self.head),
            labels: over.labels.clone().or(self.labels),
            fit: over.fit.or(self.fit),
            task: over.task.or(self.task),
            format: over.format.or(self.format),
            boxes: over.boxes.clone().or(self.boxes),
            score: over.score.or(self.score),
            iou: over.iou.or(self.iou),
            path: self.path,
        };
        merged.check().map_err(Error::Invalid)?;
        Ok(merged)
    }

    /// Whether it sets nothing.
    pub fn is_empty(&self) -> bool {
        *self == Config::default()
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.size.is_some_and(|s| !(8..=4096).contains(&s)) {
            return Err("\"size\" must be between 8 and 4096 pixels".into());
        }
        if self.crop_fraction.is_some_and(|f| !(f > 0.0 && f <= 1.0)) {
            return Err("\"crop_fraction\" must be in (0, 1]".into());
        }
        if self.std.is_some_and(|s| s.iter().any(|v| *v <= 0.0)) {
            return Err("\"std\" must be positive".into());
        }
        if self.scale.is_some_and(|s| s <= 0.0) {
            return Err("\"scale\" must be positive".into());
        }
        if self.format.is_some() && self.task.is_some_and(|t| t != TaskName::Detect) {
            return Err(
                "\"format\" is a detector's output layout: it goes with \"task\": \"detect\""
                    .into(),
            );
        }
        Ok(())
    }

    /// torchvision's recipe at `size`, with what the file changes.
    pub fn preprocess(&self, size: usize) -> Preprocess {
        let base = Preprocess::torchvision();
        // `Preprocess` keeps mean and std on the 0–255 scale.
        let to_255 = 255.0 / self.scale.unwrap_or(1.0);
        let on_255 =
            |v: Option<[f32; 3]>, default: [f32; 3]| v.map_or(default, |v| v.map(|x| x * to_255));
        Preprocess {
            size: size as u32,
            crop_fraction: self.crop_fraction.unwrap_or(base.crop_fraction),
            filter: match self.resample {
                None => base.filter,
                Some(ResampleName::Bilinear) => Resample::Bilinear,
                Some(ResampleName::Bicubic) => Resample::Bicubic,
            },
            mean: on_255(self.mean, base.mean),
            std: on_255(self.std, base.std),
            order: match self.fit {
                None | Some(FitName::Crop) => base.order,
                Some(FitName::CropFirst) => Order::CropThenResize,
                Some(FitName::Letterbox) => Order::Letterbox,
                Some(FitName::Stretch) => Order::Stretch,
            },
        }
    }
}

/// Class names an exporter stored in the graph's metadata (`labels`, `classes`, `class_names`
/// or `names`): a JSON list, a JSON or Python dict from index to name (Ultralytics writes
/// `{0: 'person', …}`), or one name a line.
pub fn metadata_labels<'a>(
    props: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<Vec<String>> {
    let (_, value) = props
        .into_iter()
        .find(|(k, _)| matches!(*k, "labels" | "classes" | "class_names" | "names"))?;
    let value = value.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
        return Some(list);
    }
    if let Ok(map) = serde_json::from_str(&python_dict_to_json(value)) {
        return indexed_names(map);
    }
    let lines: Vec<String> = value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    (lines.len() > 1).then_some(lines)
}

/// A dict from index to name as a list, where its keys are the indices 0..n, each once.
fn indexed_names(map: std::collections::BTreeMap<String, String>) -> Option<Vec<String>> {
    let mut items: Vec<(usize, String)> = map
        .into_iter()
        .map(|(k, v)| Some((k.trim().parse().ok()?, v)))
        .collect::<Option<_>>()?;
    items.sort();
    items
        .iter()
        .enumerate()
        .all(|(i, (k, _))| *k == i)
        .then(|| items.into_iter().map(|(_, v)| v).collect())
}

/// `{0: 'cat', 1: "dog's"}` → `{"0": "cat", "1": "dog's"}`: integer keys quoted, single-quoted
/// strings double-quoted.
fn python_dict_to_json(text: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut digits = String::new();
    for c in text.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push('"');
            }
            Some(_) if c == '"' => out.push_str("\\\""),
            Some(_) => out.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push('"');
            }
            None if c.is_ascii_digit() => digits.push(c),
            None => {
                if !digits.is_empty() {
                    out.push_str(&format!("\"{digits}\""));
                    digits.clear();
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_read_from_the_metadata_exporters_write() {
        let read = |v: &str| metadata_labels([("producer", "x"), ("names", v)]);
        let want = Some(vec!["cat".to_string(), "dog's toy".into()]);
        assert_eq!(read(r#"["cat", "dog's toy"]"#), want);
        assert_eq!(read(r#"{"1": "dog's toy", "0": "cat"}"#), want);
        assert_eq!(read(r#"{0: 'cat', 1: "dog's toy"}"#), want);
        assert_eq!(read("cat\ndog's toy\n"), want);
        assert_eq!(read("{0: 'cat', 2: 'dog'}"), None, "a gap in the indices");
        assert_eq!(metadata_labels([("author", "me")]), None);
    }

    #[test]
    fn a_model_json_changes_what_it_names_and_refuses_typos() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("net.onnx");
        assert!(Config::beside(&model).unwrap().path.is_none());
        std::fs::write(
            dir.path().join("model.json"),
            r#"{"size": 384, "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5],
                "scale": 255, "resample": "bicubic", "labels": "names.txt"}"#,
        )
        .unwrap();
        let c = Config::beside(&model).unwrap();
        let p = c.preprocess(c.size.unwrap());
        assert_eq!(p.size, 384);
        assert_eq!(p.mean, [127.5; 3]);
        assert_eq!(p.filter, Resample::Bicubic);
        assert_eq!(p.crop_fraction, 0.875);
        assert_eq!(c.labels.unwrap(), dir.path().join("names.txt"));
        // <stem>.model.json comes first; a misspelt field is an error that names the file.
        std::fs::write(dir.path().join("net.model.json"), r#"{"sise": 384}"#).unwrap();
        let e = Config::beside(&model).unwrap_err().to_string();
        assert!(e.contains("net.model.json") && e.contains("sise"), "{e}");
        std::fs::write(
            dir.path().join("net.model.json"),
            r#"{"crop_fraction": 1.5}"#,
        )
        .unwrap();
        let e = Config::beside(&model).unwrap_err().to_string();
        assert!(e.contains("crop_fraction"), "{e}");
    }

    /// The built-in Lite0's recipe (TensorFlow's: crop, then resize) is what a TF-ported export
    /// gets from its model.json, so the export sees the built-in's very input.
    #[test]
    fn crop_first_is_tensorflows_recipe_as_the_built_in_lite0_uses_it() {
        let c: Config = serde_json::from_str(
            r#"{"size": 224, "resample": "bicubic", "mean": [127, 127, 127],
                "std": [128, 128, 128], "scale": 255, "fit": "crop-first"}"#,
        )
        .unwrap();
        assert_eq!(c.preprocess(224), Preprocess::efficientnet_lite());
        let c: Config = serde_json::from_str(r#"{"fit": "crop"}"#).unwrap();
        assert_eq!(c.preprocess(224).order, Order::ResizeThenCrop);
    }
}
