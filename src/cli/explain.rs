//! `camlens explain` (overlays, sheets and raw maps for the user's photos) and `camlens demo`
//! (the bundled samples as comparison sheets).

use super::args::{BoxArgs, CamArgs, OnnxArgs};
use super::progress::watched;
use super::setup::{ModelArgs, create_dir, open_model};
use camlens::cam::Method;
use camlens::compute::device::Compute;
use camlens::draw::overlay::{Colormap, View, check_writable, save_png};
use camlens::faithfulness::metrics::Score;
use camlens::input::preprocess::load_image;
use camlens::models::{Scores, Task};
use camlens::outputs::{self, Look, NpyFiles, OutputSpec, Written, explained_sheet, render_all};
use camlens::pipeline::{Chosen, ClassChoice, Explained, Pipeline, Request};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Image files.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    cam: CamArgs,
    /// Class index to explain (default: the predicted class; for a segmenter, the class with
    /// the most pixels, explained over its pixels).
    #[arg(long, conflicts_with = "target")]
    class: Option<usize>,
    /// What to explain in a segmenter's or detector's answer: segment:CLASS, the pixels
    /// predicted as CLASS (pytorch-grad-cam's SemanticSegmentationTarget); box:I, box I as
    /// `camlens detect` lists it (default: the best box).
    #[arg(long, value_parser = parse_target)]
    target: Option<Target>,
    #[command(flatten)]
    boxes: BoxArgs,
    /// A detector's maps normalised inside each box and zero outside (pytorch-grad-cam's YOLO
    /// EigenCAM tutorial view).
    #[arg(long)]
    in_boxes: bool,
    /// jet, turbo, viridis, inferno, magma or plasma.
    #[arg(long, default_value = "jet")]
    colormap: Colormap,
    /// Heatmap opacity over the photo.
    #[arg(long, default_value_t = 0.5)]
    alpha: f32,
    /// overlay, heatmap or explanation (photo × map).
    #[arg(long, value_enum, default_value_t = View::Overlay)]
    view: View,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Also write a side-by-side comparison sheet per image (with the colour scale under it).
    #[arg(long)]
    grid: bool,
    /// Draw the colour scale (low to high) under each overlay PNG.
    #[arg(long)]
    legend: bool,
    /// Also write each method's deletion and insertion curves (RISE, 224 pixels per step) as
    /// CSV and as a PNG plot with their areas.
    #[arg(long)]
    curves: bool,
    /// Also write each map as .npy: normalised at input size (.npy), after ReLU at the layer's
    /// resolution as pytorch-grad-cam computes it before resizing (.layer.npy; at input size for
    /// ScoreCAM++ and Augmented GradCAM++, which build their maps there), and before ReLU
    /// (.raw.npy, can be negative).
    #[arg(long)]
    raw: bool,
    /// Replace existing files.
    #[arg(long)]
    overwrite: bool,
}

impl ExplainArgs {
    /// What to write of each image.
    fn spec(&self) -> OutputSpec {
        OutputSpec {
            dir: self.out.clone(),
            look: Look {
                view: self.view,
                colormap: self.colormap,
                alpha: self.alpha,
                legend: self.legend,
                in_boxes: self.in_boxes,
            },
            raw: self.raw,
            curves: self.curves,
            grid: self.grid,
            overwrite: self.overwrite,
        }
    }
}

/// `--target`'s values.
#[derive(Debug, Clone, Copy)]
enum Target {
    Segment(usize),
    Box(usize),
}

fn parse_target(s: &str) -> Result<Target, String> {
    let index = |v: &str, form: &str| {
        v.parse::<usize>()
            .map_err(|_| format!("'{v}' is not an index ({form})"))
    };
    match s.split_once(':') {
        Some(("segment", k)) => index(k, "segment:CLASS").map(Target::Segment),
        Some(("box", i)) => index(i, "box:I").map(Target::Box),
        _ => Err(format!(
            "'{s}': a target is segment:CLASS (the pixels a segmenter predicts as CLASS) or \
             box:I (a detector's box I, as `camlens detect` lists them)"
        )),
    }
}

pub fn run(compute: &Compute, args: ExplainArgs) -> camlens::Result<()> {
    let class = match args.target {
        Some(Target::Segment(k)) => ClassChoice::Index(k),
        Some(Target::Box(i)) => ClassChoice::Box(i),
        None => args.class.into(),
    };
    let mut request = args.cam.request(&Method::DEFAULT)?.with_class(class);
    // Files are written (and listed) in the order the methods appear: fast ones first.
    request.steps = request
        .run_order()
        .into_iter()
        .map(|i| request.steps[i])
        .collect();
    let methods = request.methods();
    let model = args.model.open(compute)?;
    match (args.target, model.task()) {
        (Some(Target::Segment(_)), Task::Segment) | (Some(Target::Box(_)), Task::Detect(_)) => {}
        (None, _) => {}
        (Some(Target::Segment(_)), _) => {
            return Err(camlens::Error::Invalid(format!(
                "--target segment:CLASS explains a segmenter's pixels; {} is not a segmenter",
                model.name
            )));
        }
        (Some(Target::Box(_)), _) => {
            return Err(camlens::Error::Invalid(format!(
                "--target box:I explains a detector's box; {} is not a detector",
                model.name
            )));
        }
    }
    let request = request.with_thresholds(args.boxes.thresholds(&model)?);
    let pipeline = Pipeline::new(&model, request)?;
    create_dir(&args.out)?;
    let spec = args.spec();
    // Every output path is checked before any work, so a refusal leaves nothing half-written.
    if !args.overwrite {
        for image in &args.images {
            for p in spec.files(image, &methods).all() {
                check_writable(p, false)?;
            }
        }
    }
    let layer = pipeline.layer();
    eprintln!("model: {}, layer {layer}", model.name);
    if model.scores != Scores::Softmax {
        eprintln!("scores: {}", model.scores);
    }
    for image in &args.images {
        let explained = watched(&image.display().to_string(), |monitor| {
            pipeline.explain(load_image(image)?, monitor)
        })?;
        let p = &explained.prepared;
        let name = image.file_name().map(|f| f.to_string_lossy());
        let title = format!(
            "{} — {} — layer {}",
            name.unwrap_or_default(),
            model.name,
            layer.name
        );
        let written = outputs::write(&model, &explained, image, &title, &spec)?;
        let region = match &p.chosen {
            Some(Chosen::Pixels(s)) => {
                let pixels = s.labels.iter().filter(|&&l| l as usize == p.class).count();
                format!(
                    ", over its {pixels} pixels of {}×{} (mean probability)",
                    s.width, s.height
                )
            }
            Some(Chosen::Box(d)) => {
                let b = d.chosen();
                format!(
                    ", box {} of {} at ({:.0}, {:.0}) – ({:.0}, {:.0}) in the input's pixels (its score)",
                    d.chosen,
                    d.boxes.len(),
                    b.x1,
                    b.y1,
                    b.x2,
                    b.y2
                )
            }
            None => String::new(),
        };
        println!(
            "{}: class {} '{}' ({:.1}%{region})",
            image.display(),
            p.class,
            model.classes[p.class],
            100.0 * p.probability
        );
        report(&explained, &written, &model.classes);
    }
    Ok(())
}

/// A line per method (time, drop, what it wrote), and the sheet.
fn report(explained: &Explained, written: &Written, classes: &[String]) {
    for (((r, f), out), aucs) in explained
        .results
        .iter()
        .zip(&explained.scores)
        .zip(&written.files.methods)
        .zip(&written.aucs)
    {
        println!(
            "  {:<28} {:>8.0} ms  drop {:>5.1}%{}{}{}  → {}",
            r.method.label(),
            r.elapsed.as_secs_f64() * 1e3,
            f.drop_percent(Score::Probability),
            if f.increased(Score::Probability) {
                " (confidence up)"
            } else {
                ""
            },
            if r.flat { "  (flat map)" } else { "" },
            r.approximate
                .as_deref()
                .map(|a| format!("  ({a})"))
                .unwrap_or_default(),
            out.png.display()
        );
        for (i, c) in r.concepts.iter().enumerate() {
            let names: Vec<String> = c
                .classes
                .iter()
                .map(|&(k, p)| format!("'{}' {:.1}%", classes[k], 100.0 * p))
                .collect();
            println!("  {:<28} concept {}: {}", "", i + 1, names.join(", "));
        }
        for p in out.npy.iter().flat_map(NpyFiles::all) {
            println!("  {:<28} → {}", "", p.display());
        }
        if let (Some((csv, png)), Some((deletion, insertion))) = (&out.curves, aucs) {
            println!(
                "  {:<28} deletion AUC {deletion:.4} (lower is better), insertion AUC \
                 {insertion:.4} (higher is better) → {}, {}",
                "",
                csv.display(),
                png.display()
            );
        }
    }
    if let Some(p) = &written.files.grid {
        println!("  {:<28} → {}", "comparison sheet", p.display());
    }
}

/// The bundled samples, explained by the default methods, as comparison sheets in a new folder
/// `camlens-demo[-N]` of the current directory (never an existing one).
pub fn demo(compute: &Compute) -> camlens::Result<()> {
    use camlens::input::samples::{SAMPLES, decode};
    println!("camlens: explaining the bundled sample photos with the built-in model.");
    println!("(`camlens --help` lists the commands; `camlens explain --help` the options.)");
    let out = (1..)
        .map(|i| match i {
            1 => PathBuf::from("camlens-demo"),
            i => PathBuf::from(format!("camlens-demo-{i}")),
        })
        .find(|p| !p.exists())
        .expect("a free folder name");
    create_dir(&out)?;
    let model = open_model("lite0", &OnnxArgs::default(), compute)?;
    let pipeline = Pipeline::new(&model, Request::new(&Method::DEFAULT, Default::default()))?;
    for (name, bytes) in SAMPLES {
        let explained: Explained =
            watched(name, |monitor| pipeline.explain(decode(bytes), monitor))?;
        let class_name = &model.classes[explained.prepared.class];
        let look = Look {
            view: View::Overlay,
            colormap: Colormap::Jet,
            alpha: 0.5,
            legend: false,
            in_boxes: false,
        };
        let rendered = render_all(&explained, &look, &model.classes);
        let title = format!("{name} — {} — layer {}", model.name, pipeline.layer().name);
        let scale = (View::Overlay, Colormap::Jet);
        let sheet = explained_sheet(&explained, &rendered, class_name, &title, scale);
        let path = out.join(format!("{name}.grid.png"));
        save_png(&sheet, &path, false)?;
        let times: Vec<String> = explained
            .results
            .iter()
            .map(|r| {
                format!(
                    "{} {:.0} ms",
                    r.method.label(),
                    r.elapsed.as_secs_f64() * 1e3
                )
            })
            .collect();
        println!(
            "{name}: {} ({:.1}%) — {} → {}",
            class_name,
            100.0 * explained.prepared.probability,
            times.join(", "),
            path.display()
        );
    }
    Ok(())
}
