//! The `camlens` command line: argument types and one module per command. Everything it computes
//! comes from the library (the pipeline, evaluation, rendering); these modules parse, call and
//! print.

mod args;
mod bench;
mod eval;
mod explain;
mod precision_check;
mod preview_study;
mod progress;
mod setup;

use args::{BoxArgs, OnnxArgs};
use camlens::compute::device::{Compute, DevicePref, select};
use camlens::compute::precision::Precision;
use camlens::input::weights::is_model_file;
use clap::{Parser, Subcommand};
use setup::open_model;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "camlens",
    version,
    about = "Explain image classifiers with class activation maps"
)]
struct Cli {
    /// Compute device: auto (GPU if there is a hardware one, else CPU), gpu or cpu.
    #[arg(long, global = true, default_value = "auto")]
    device: DevicePref,
    /// Float type of the convolutions and matrix products: auto (f16, else bf16, where the GPU
    /// has tensor cores for it; f32 elsewhere), f32, f16 or bf16 (f32 accumulation). Default:
    /// auto; for the app, its saved setting.
    #[arg(long, global = true)]
    precision: Option<Precision>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the most probable classes of each image.
    Predict {
        /// Image files (PNG, JPEG, BMP, WebP, GIF, TIFF).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// `lite0` for the built-in EfficientNet-Lite0, a weights file (.pth, .pt,
        /// .safetensors) or an ONNX model (.onnx).
        #[arg(long, default_value = "lite0")]
        model: String,
        #[command(flatten)]
        onnx: OnnxArgs,
        /// How many classes to print per image.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a detector's boxes (YOLOv8/YOLO11 or YOLOv5 ONNX exports), in the photo's pixels.
    Detect {
        /// Image files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The detector (.onnx).
        #[arg(long)]
        model: String,
        #[command(flatten)]
        onnx: OnnxArgs,
        #[command(flatten)]
        boxes: BoxArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a model's explainable layers with their shapes.
    Layers {
        #[arg(long, default_value = "lite0")]
        model: String,
        #[command(flatten)]
        onnx: OnnxArgs,
    },
    /// List the ONNX operators camlens runs, by family.
    Ops,
    /// List the CAM methods by family, with what each does and costs (ids for --methods).
    Methods,
    /// Explain images with CAM methods and write overlay PNGs at each image's own resolution.
    Explain(explain::ExplainArgs),
    /// Open the desktop app (what `camlens` alone does), with these images or the samples.
    App {
        /// Images to open ("Open with camlens" passes them here); an .onnx file (or weights)
        /// among them is the model to start with.
        images: Vec<PathBuf>,
        /// The model to start with (an .onnx file or weights); default: the last one used.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Explain the bundled sample photos with the built-in model, writing comparison sheets
    /// (what `camlens` alone does where no window can open).
    Demo,
    /// Measure faithfulness (Average Drop, Increase in Confidence, Win %, drop in logit) over
    /// a dataset; `camlens eval merge` combines shards.
    Eval(Box<eval::EvalArgs>),
    /// Time each method per image (median of several runs; warm-up reported separately).
    Bench(bench::BenchArgs),
    /// How fast the score methods' previews approach their final maps, per channel order.
    PreviewStudy(preview_study::PreviewStudyArgs),
    /// Compare --precision f16 or bf16 with f32 on the same device, per method, over photos:
    /// the same class, map correlation, Average Drop.
    PrecisionCheck(precision_check::PrecisionCheckArgs),
}

/// Parses the command line, runs it and says what went wrong in one line.
pub fn main() -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,onnx_ir=error"),
    )
    .init();
    camlens::compute::device::tune_allocator();
    if let Some(dir) = camlens::compute::kernel_cache::enable() {
        log::info!("kernel cache: {}", dir.display());
    }
    let cli = Cli::parse_from(with_app_for_bare_files(std::env::args_os().collect()));
    let command = cli.command.unwrap_or(Command::App {
        images: vec![],
        model: None,
    });
    match run(cli.device, cli.precision, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("camlens: {e}");
            ExitCode::FAILURE
        }
    }
}

/// "Open with camlens" passes image paths alone: they open in the app.
fn with_app_for_bare_files(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const COMMANDS: [&str; 13] = [
        "predict",
        "detect",
        "layers",
        "ops",
        "methods",
        "explain",
        "bench",
        "demo",
        "app",
        "eval",
        "preview-study",
        "precision-check",
        "help",
    ];
    if !args.iter().skip(1).any(|a| COMMANDS.iter().any(|c| a == c))
        && let Some(i) = args
            .iter()
            .skip(1)
            .position(|a| std::path::Path::new(a).is_file())
    {
        args.insert(i + 1, "app".into());
    }
    args
}

fn run(pref: DevicePref, precision: Option<Precision>, command: Command) -> camlens::Result<()> {
    let compute = select(pref)?.with_precision(precision.unwrap_or_default())?;
    eprintln!("device: {}", compute.label());
    match command {
        Command::Predict {
            images,
            model,
            onnx,
            top,
            json,
        } => predict(&compute, &images, &model, &onnx, top, json),
        Command::Detect {
            images,
            model,
            onnx,
            boxes,
            json,
        } => detect(&compute, &images, &model, &onnx, boxes, json),
        Command::Explain(args) => explain::run(&compute, args),
        Command::Demo => explain::demo(&compute),
        Command::App { images, model } => {
            // "Open with camlens" on an .onnx file (or weights) passes it with the images.
            let (models, images): (Vec<PathBuf>, Vec<PathBuf>) =
                images.into_iter().partition(|p| is_model_file(p));
            let model = model.or(models.into_iter().last());
            let has_display = std::env::var_os("DISPLAY").is_some()
                || std::env::var_os("WAYLAND_DISPLAY").is_some()
                || cfg!(not(target_os = "linux"));
            if has_display {
                camlens::app::run_app(compute, precision, images, model)
            } else {
                eprintln!("camlens: no display to open a window on; running the demo instead");
                explain::demo(&compute)
            }
        }
        Command::Bench(args) => bench::run(&compute, args),
        Command::PreviewStudy(args) => preview_study::run(&compute, args),
        Command::PrecisionCheck(args) => precision_check::run(&compute, args),
        Command::Eval(args) => eval::run(&compute, *args),
        Command::Ops => {
            print!("{}", camlens::onnx::ops::listing());
            Ok(())
        }
        Command::Methods => {
            print!("{}", camlens::cam::Method::listing());
            Ok(())
        }
        Command::Layers { model, onnx } => {
            let model = open_model(&model, &onnx, &compute)?;
            let default = model.layer_index(None)?;
            eprintln!(
                "{}\ninput: {}\nscores: {}",
                model.name, model.preprocess, model.scores
            );
            if let Some(batching) = &model.batching {
                eprintln!("batches: {batching}");
                eprintln!(
                    "fused: {} batch norms folded into and {} activations (ReLU, Clip, HardSwish, \
                     SiLU) applied by the convolution before them, {} zero Pads and {} \
                     squeeze-excitation gates taken in by the convolution after them",
                    model.fused_batch_norms,
                    model.fused_activations,
                    model.fused_pads,
                    model.fused_gates
                );
            }
            for (i, l) in model.layers().iter().enumerate() {
                println!("{}{l}", if i == default { "* " } else { "  " });
            }
            Ok(())
        }
    }
}

fn predict(
    compute: &Compute,
    images: &[PathBuf],
    model: &str,
    onnx: &OnnxArgs,
    top: usize,
    json: bool,
) -> camlens::Result<()> {
    let t0 = Instant::now();
    let model = open_model(model, onnx, compute)?;
    let load = t0.elapsed();
    let paths: Vec<&std::path::Path> = images.iter().map(PathBuf::as_path).collect();
    let t1 = Instant::now();
    if let camlens::models::Task::Detect(_) = model.task() {
        return Err(camlens::Error::Invalid(format!(
            "{} is a detector: `camlens detect` lists its boxes",
            model.name
        )));
    }
    if model.task() == camlens::models::Task::Segment {
        let shares = camlens::classify::segment_files(&model, &paths)?;
        print_shares(images, &shares, &model.name, json);
        return Ok(());
    }
    let results = camlens::classify::predict_files(&model, &paths, top)?;
    let infer = t1.elapsed();
    if json {
        let out: Vec<_> = images
            .iter()
            .zip(&results)
            .map(|(p, r)| serde_json::json!({"image": p, "model": model.name, "top": r}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        for (path, preds) in images.iter().zip(&results) {
            println!("{}", path.display());
            for p in preds {
                println!(
                    "  {:>5.1}%  {:>4}  {}",
                    100.0 * p.probability,
                    p.class,
                    p.name
                );
            }
        }
    }
    eprintln!(
        "{}: loaded in {:.0} ms, {} image(s) in {:.0} ms",
        model.name,
        load.as_secs_f64() * 1e3,
        images.len(),
        infer.as_secs_f64() * 1e3
    );
    Ok(())
}

/// A segmenter's answer: each class present, by its share of the pixels.
fn print_shares(
    images: &[PathBuf],
    shares: &[Vec<camlens::classify::Share>],
    model: &str,
    json: bool,
) {
    if json {
        let out: Vec<_> = images
            .iter()
            .zip(shares)
            .map(|(p, s)| serde_json::json!({"image": p, "model": model, "pixels": s}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        return;
    }
    for (path, classes) in images.iter().zip(shares) {
        println!("{} (share of the pixels)", path.display());
        for s in classes {
            println!("  {:>5.1}%  {:>4}  {}", 100.0 * s.share, s.class, s.name);
        }
    }
}

/// `camlens detect`: each image's boxes, best first.
fn detect(
    compute: &Compute,
    images: &[PathBuf],
    model: &str,
    onnx: &OnnxArgs,
    boxes: BoxArgs,
    json: bool,
) -> camlens::Result<()> {
    let model = open_model(model, onnx, compute)?;
    let camlens::models::Task::Detect(format) = model.task() else {
        return Err(camlens::Error::Invalid(format!(
            "{} is not a detector: its output is not YOLO boxes ([N, 4 + classes, anchors] or \
             [N, anchors, 5 + classes]) or DETR's class logits and boxes (--task detect and \
             --detect-format say so where the shapes do not)",
            model.name
        )));
    };
    let t = model.thresholds(format, boxes.score, boxes.iou)?;
    let paths: Vec<&std::path::Path> = images.iter().map(PathBuf::as_path).collect();
    let boxes = camlens::classify::detect_files(&model, &paths, Some(t))?;
    if json {
        let out: Vec<_> = images
            .iter()
            .zip(&boxes)
            .map(|(p, b)| serde_json::json!({"image": p, "model": model.name, "boxes": b}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        return Ok(());
    }
    eprintln!(
        "{}: {format}, score ≥ {}, IoU {}",
        model.name, t.score, t.iou
    );
    for (path, found) in images.iter().zip(&boxes) {
        println!("{}: {} boxes", path.display(), found.len());
        for b in found {
            println!(
                "  {:>3}  {:>5.1}%  {:>4} {:<16} ({:.0}, {:.0}) – ({:.0}, {:.0})",
                b.index,
                100.0 * b.score,
                b.class,
                b.name,
                b.x1,
                b.y1,
                b.x2,
                b.y2
            );
        }
    }
    Ok(())
}
