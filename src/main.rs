//! The `camlens` command line. Everything it does lives in the library; this file parses
//! arguments, calls it and prints.

use camlens::cam::{Method, Monitor, Options, ScoreMode};
use camlens::classify::predict_files;
use camlens::device::{DevicePref, select};
use camlens::models::Model;
use camlens::overlay::Colormap;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const DEFAULT_METHODS: &str = "gradcam,gradcam++,xgradcam,layercam,scorecam++";
const PAPER_METHODS: &str = "gradcam,gradcam++,xgradcam,layercam,scorecam,auggradcam++,scorecam++";

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
        /// `lite0` for the built-in EfficientNet-Lite0, or a torchvision weights file.
        #[arg(long, default_value = "lite0")]
        model: String,
        /// How many classes to print per image.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a model's explainable layers with their shapes.
    Layers {
        #[arg(long, default_value = "lite0")]
        model: String,
    },
    /// Explain images with CAM methods and write overlay PNGs at each image's own resolution.
    Explain(ExplainArgs),
    /// Open the desktop app (what `camlens` alone does), with these images or the samples.
    App {
        /// Images to open ("Open with camlens" passes them here).
        images: Vec<PathBuf>,
    },
    /// Explain the bundled sample photos with the built-in model, writing comparison sheets
    /// (what `camlens` alone does where no window can open).
    Demo,
    /// Measure faithfulness (Average Drop, Increase in Confidence, Win %, drop in logit) over
    /// a dataset; `camlens eval merge` combines shards.
    Eval(Box<EvalArgs>),
    /// Time each method per image (median of several runs; warm-up reported separately).
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct CamArgs {
    /// Methods, comma-separated: gradcam, gradcam++, xgradcam, layercam, scorecam,
    /// scorecam-pgc (pytorch-grad-cam's variant), scorecam++, auggradcam++; or all. Default:
    /// the gradient family and ScoreCAM++; for eval, the paper's seven.
    #[arg(long)]
    methods: Option<String>,
    /// Target layer (see `camlens layers`); default: the model's usual one.
    #[arg(long)]
    layer: Option<String>,
    /// ScoreCAM++ weight: prob (the authors' code) or cic (the paper's increase in confidence).
    #[arg(long, default_value = "prob")]
    mode: String,
    /// ScoreCAM++ gate: tanh, relu, sigmoid, mish or swish.
    #[arg(long, default_value = "tanh")]
    gate: camlens::cam::Gate,
    /// ScoreCAM++ ablation: gate the masks only and sum the raw upsampled activations.
    #[arg(long)]
    gate_in_norm_only: bool,
    /// Faster-ScoreCAM approximation: only the N channels of highest variance.
    #[arg(long)]
    top_channels: Option<usize>,
    /// Masked inputs per forward pass (default: sized to the device).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Augmented GradCAM++: number of augmented copies.
    #[arg(long, default_value_t = 100)]
    aug_copies: usize,
    /// Random seed: Augmented GradCAM++'s copies, and for eval the --limit subset.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl CamArgs {
    fn options(&self) -> camlens::Result<(Vec<Method>, Options)> {
        let methods = Method::parse_list(self.methods.as_deref().unwrap_or(DEFAULT_METHODS))?;
        let mut o = Options::default();
        o.scorecam_pp.mode = match self.mode.as_str() {
            "prob" | "probability" => ScoreMode::Probability,
            "cic" | "paper" => ScoreMode::IncreaseInConfidence,
            m => {
                return Err(camlens::Error::Invalid(format!(
                    "unknown mode '{m}': expected prob or cic"
                )));
            }
        };
        o.scorecam_pp.gate = self.gate;
        o.scorecam_pp.gate_in_normalization_only = self.gate_in_norm_only;
        o.top_channels = self.top_channels;
        o.batch_size = self.batch_size;
        o.augment.copies = self.aug_copies;
        o.augment.seed = self.seed;
        Ok((methods, o))
    }
}

#[derive(clap::Args)]
struct ExplainArgs {
    /// Image files.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[arg(long, default_value = "lite0")]
    model: String,
    #[command(flatten)]
    cam: CamArgs,
    /// Class index to explain (default: the predicted class).
    #[arg(long)]
    class: Option<usize>,
    /// jet, turbo, viridis, inferno, magma or plasma.
    #[arg(long, default_value = "jet")]
    colormap: Colormap,
    /// Heatmap opacity over the photo.
    #[arg(long, default_value_t = 0.5)]
    alpha: f32,
    /// overlay, heatmap or explanation (photo × map).
    #[arg(long, default_value = "overlay")]
    view: String,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Also write a side-by-side comparison sheet per image.
    #[arg(long)]
    grid: bool,
    /// Also write the float maps as .npy (normalised at input size, and raw).
    #[arg(long)]
    raw: bool,
    /// Replace existing files.
    #[arg(long)]
    overwrite: bool,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct EvalArgs {
    #[command(subcommand)]
    merge: Option<EvalCommand>,
    /// `file,class_index` CSV (as ../shared/data/imagenet-val/labels.csv).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Folder the CSV's files are in (default: images/ beside the CSV, else the CSV's folder).
    #[arg(long)]
    images: Option<PathBuf>,
    /// A folder of class folders (as ../shared/data/cats-dogs), with --group per folder.
    #[arg(long)]
    folders: Option<PathBuf>,
    /// Folder name and its classes, e.g. cat=281-285 (repeat per folder).
    #[arg(long)]
    group: Vec<String>,
    #[arg(long, default_value = "lite0")]
    model: String,
    /// Methods and their options as for explain; unless --methods is given, eval runs the
    /// paper's seven.
    #[command(flatten)]
    cam: CamArgs,
    /// Explain the predicted class or the labelled one.
    #[arg(long, default_value = "predicted")]
    target: String,
    /// Evaluate a random subset of N images, drawn with --seed (one seed for everything random
    /// in a run: the subset and Augmented GradCAM++'s copies). The subset of a smaller N is the
    /// start of a larger N's, so a run can be extended with a larger --limit and --resume.
    #[arg(long)]
    limit: Option<usize>,
    /// Draw the subset with this seed instead of --seed.
    #[arg(long = "subset-seed")]
    subset_seed: Option<u64>,
    /// I/N: this job's slice (default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT when set).
    #[arg(long)]
    shard: Option<String>,
    /// prob (softmax, the default) or logit.
    #[arg(long, default_value = "prob")]
    score: String,
    /// A ScoreCAM++ ablation instead of --methods: gates (Table 5) or norm (Table 6).
    #[arg(long)]
    ablation: Option<camlens::eval::Ablation>,
    /// Output folder: rows CSV, summary.md, summary.json, charts.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Carry on an interrupted run in --out.
    #[arg(long)]
    resume: bool,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Combine shards' row CSVs into one summary (identical to a single run's).
    Merge {
        csv: Vec<PathBuf>,
        #[arg(long, default_value = PAPER_METHODS)]
        methods: String,
        #[arg(long, default_value = "prob")]
        score: String,
        /// As given to the runs being merged.
        #[arg(long)]
        ablation: Option<camlens::eval::Ablation>,
        /// As given to the runs being merged (labels approximated columns).
        #[arg(long)]
        top_channels: Option<usize>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Models to time: lite0 and/or weights files.
    #[arg(long, default_values_t = vec!["lite0".to_string()])]
    model: Vec<String>,
    #[command(flatten)]
    cam: CamArgs,
    /// Image to explain (default: the bundled chelsea.png).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Timed runs per method after the warm-up.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    camlens::device::tune_allocator();
    // "Open with camlens" passes image paths alone: they open in the app.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    const COMMANDS: [&str; 8] = [
        "predict", "layers", "explain", "bench", "demo", "app", "eval", "help",
    ];
    if !args.iter().skip(1).any(|a| COMMANDS.iter().any(|c| a == c))
        && let Some(i) = args
            .iter()
            .skip(1)
            .position(|a| std::path::Path::new(a).is_file())
    {
        args.insert(i + 1, "app".into());
    }
    let cli = Cli::parse_from(args);
    let command = cli.command.unwrap_or(Command::App { images: vec![] });
    match run(cli.device, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("camlens: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(pref: DevicePref, command: Command) -> camlens::Result<()> {
    let compute = select(pref)?;
    eprintln!("device: {}", compute.backend);
    match command {
        Command::Predict {
            images,
            model,
            top,
            json,
        } => {
            let t0 = Instant::now();
            let model = open_model(&model, &compute)?;
            let load = t0.elapsed();
            let paths: Vec<&std::path::Path> = images.iter().map(PathBuf::as_path).collect();
            let t1 = Instant::now();
            let results = predict_files(&model, &paths, top)?;
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
        }
        Command::Explain(args) => explain(&compute, args)?,
        Command::Demo => demo(&compute)?,
        Command::App { images } => {
            let has_display = std::env::var_os("DISPLAY").is_some()
                || std::env::var_os("WAYLAND_DISPLAY").is_some()
                || cfg!(not(target_os = "linux"));
            if has_display {
                camlens::app::run_app(compute, images)?;
            } else {
                eprintln!("camlens: no display to open a window on; running the demo instead");
                demo(&compute)?;
            }
        }
        Command::Bench(args) => bench::run(&compute, args)?,
        Command::Eval(args) => eval(&compute, *args)?,
        Command::Layers { model } => {
            let model = open_model(&model, &compute)?;
            let default = model.layer_index(None)?;
            for (i, l) in model.layers().iter().enumerate() {
                println!("{}{l}", if i == default { "* " } else { "  " });
            }
        }
    }
    Ok(())
}

/// Shows `done/total` of a long method on a terminal until `finished`.
fn watch_progress(monitor: &Monitor, what: &str, finished: impl Fn() -> bool) {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let mut last = (0, 0);
    while !finished() {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = monitor.progress();
        if tty && now != last && now.1 > 0 {
            eprint!("\r  {what}: {}/{} masked inputs   ", now.0, now.1);
            last = now;
        }
    }
    if tty && last.1 > 0 {
        eprint!("\r{}\r", " ".repeat(what.len() + 40));
    }
}

/// Runs `work` on a scoped thread while this one shows its progress on the terminal.
fn watched<T: Send>(what: &str, work: impl FnOnce(&Monitor) -> T + Send) -> T {
    let monitor = Monitor::new();
    std::thread::scope(|scope| {
        let job = scope.spawn(|| work(&monitor));
        watch_progress(&monitor, what, || job.is_finished());
        job.join().expect("worker thread")
    })
}

fn open_model(spec: &str, compute: &camlens::device::Compute) -> camlens::Result<Model> {
    let mut model = Model::open(spec, &compute.device)?;
    model.max_buffer_bytes = compute.max_buffer_bytes;
    Ok(model)
}

/// The bundled samples, explained by the gradient family and ScoreCAM++, as comparison sheets in
/// a new folder `camlens-demo[-N]` of the current directory (never an existing one).
fn demo(compute: &camlens::device::Compute) -> camlens::Result<()> {
    use camlens::explain::{explain_rgb, explained_sheet, render_all};
    use camlens::overlay::{View, save_png};
    use camlens::samples::{SAMPLES, decode};
    println!("camlens: explaining the bundled sample photos with the built-in model.");
    println!("(`camlens --help` lists the commands; `camlens explain --help` the options.)");
    let out = (1..)
        .map(|i| match i {
            1 => PathBuf::from("camlens-demo"),
            i => PathBuf::from(format!("camlens-demo-{i}")),
        })
        .find(|p| !p.exists())
        .expect("a free folder name");
    std::fs::create_dir_all(&out).map_err(|source| camlens::Error::Io {
        path: out.clone(),
        source,
    })?;
    let model = open_model("lite0", compute)?;
    let layer = model.layer_index(None)?;
    let methods = [
        Method::GradCam,
        Method::GradCamPlusPlus,
        Method::XGradCam,
        Method::LayerCam,
        Method::ScoreCamPlusPlus,
    ];
    for (name, bytes) in SAMPLES {
        let explained = watched(name, |monitor| {
            let options = Options::default();
            explain_rgb(
                &model,
                decode(bytes),
                &methods,
                None,
                layer,
                &options,
                monitor,
            )
        })?;
        let class_name = &model.classes[explained.class];
        let rendered = render_all(&explained, View::Overlay, Colormap::Jet, 0.5);
        let title = format!(
            "{name} — {} — layer {}",
            model.name,
            model.layers()[layer].name
        );
        let sheet = explained_sheet(&explained, &rendered, class_name, &title);
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
            100.0 * explained.probability,
            times.join(", "),
            path.display()
        );
    }
    Ok(())
}

fn parse_score(s: &str) -> camlens::Result<camlens::metrics::Score> {
    match s {
        "prob" | "probability" => Ok(camlens::metrics::Score::Probability),
        "logit" => Ok(camlens::metrics::Score::Logit),
        s => Err(camlens::Error::Invalid(format!(
            "unknown score '{s}': expected prob or logit"
        ))),
    }
}

fn write_summary(
    rows: &[camlens::eval::Row],
    columns: &[camlens::eval::Column],
    score: camlens::metrics::Score,
    out: &std::path::Path,
) -> camlens::Result<()> {
    let summary = camlens::eval::summarize(rows, columns, score);
    let io = |p: PathBuf| move |source| camlens::Error::Io { path: p, source };
    let md = out.join("summary.md");
    std::fs::write(&md, summary.markdown()).map_err(io(md.clone()))?;
    let js = out.join("summary.json");
    std::fs::write(&js, serde_json::to_string_pretty(&summary).expect("json"))
        .map_err(io(js.clone()))?;
    let charts = summary.write_charts(out)?;
    println!("{}", summary.markdown());
    println!(
        "wrote {}, {} and {} charts ({}, …)",
        md.display(),
        js.display(),
        charts.len(),
        charts[0].display()
    );
    Ok(())
}

fn eval(compute: &camlens::device::Compute, args: EvalArgs) -> camlens::Result<()> {
    use camlens::eval::{
        Subject, Target, items_from_csv, items_from_folders, parse_group, read_rows, run, select,
    };
    let invalid = |m: String| camlens::Error::Invalid(m);
    if let Some(EvalCommand::Merge {
        csv,
        methods,
        score,
        ablation,
        top_channels,
        out,
    }) = args.merge
    {
        let options = Options {
            top_channels,
            ..Options::default()
        };
        let columns = camlens::eval::columns(&Method::parse_list(&methods)?, &options, ablation);
        std::fs::create_dir_all(&out).map_err(|source| camlens::Error::Io {
            path: out.clone(),
            source,
        })?;
        let rows = read_rows(&csv, &columns)?;
        return write_summary(&rows, &columns, parse_score(&score)?, &out);
    }
    let out = args
        .out
        .clone()
        .ok_or_else(|| invalid("--out is required".into()))?;
    let mut cam = args.cam;
    cam.methods.get_or_insert_with(|| PAPER_METHODS.into());
    let (methods, options) = cam.options()?;
    let columns = camlens::eval::columns(&methods, &options, args.ablation);
    let score = parse_score(&args.score)?;
    let target = match args.target.as_str() {
        "predicted" => Target::Predicted,
        "label" | "labelled" => Target::Label,
        t => {
            return Err(invalid(format!(
                "unknown target '{t}': expected predicted or label"
            )));
        }
    };
    let items = match (&args.labels, &args.folders) {
        (Some(csv), None) => items_from_csv(csv, args.images.as_deref())?,
        (None, Some(root)) => {
            let groups = args
                .group
                .iter()
                .map(|g| parse_group(g))
                .collect::<camlens::Result<Vec<_>>>()?;
            if groups.is_empty() {
                return Err(invalid(
                    "--folders needs at least one --group name=classes".into(),
                ));
            }
            items_from_folders(root, &groups)?
        }
        _ => return Err(invalid("give either --labels CSV or --folders DIR".into())),
    };
    let shard = match args.shard.clone().or_else(|| {
        let id = std::env::var("SLURM_ARRAY_TASK_ID").ok()?;
        let n = std::env::var("SLURM_ARRAY_TASK_COUNT").ok()?;
        Some(format!("{id}/{n}"))
    }) {
        Some(s) => {
            let (i, n) = s
                .split_once('/')
                .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
                .filter(|(i, n)| i < n)
                .ok_or_else(|| invalid(format!("--shard wants I/N with I < N, found '{s}'")))?;
            Some((i, n))
        }
        None => None,
    };
    let items = select(
        items,
        args.limit,
        args.subset_seed.unwrap_or(cam.seed),
        shard,
    );
    std::fs::create_dir_all(&out).map_err(|source| camlens::Error::Io {
        path: out.clone(),
        source,
    })?;
    let csv = match shard {
        Some((i, n)) => out.join(format!("rows-shard-{i}-of-{n}.csv")),
        None => out.join("rows.csv"),
    };
    if csv.exists() && !args.resume {
        return Err(invalid(format!(
            "{} exists: add --resume to carry on, or choose another --out",
            csv.display()
        )));
    }
    let model = open_model(&args.model, compute)?;
    eprintln!(
        "{}: {} images, {} methods → {}",
        model.name,
        items.len(),
        methods.len(),
        csv.display()
    );
    let start = Instant::now();
    let monitor = Monitor::new();
    let subject = Subject {
        target,
        layer: cam.layer.as_deref(),
    };
    let outcome = run(
        &model,
        &items,
        &columns,
        subject,
        &csv,
        &monitor,
        |done, total, computed| {
            // Rows kept from an interrupted run are skipped at once: only the images computed
            // now say how long the rest will take.
            let per = start.elapsed().as_secs_f64() / computed.max(1) as f64;
            eprint!(
                "\r  {} {done}/{total} images, {} left   ",
                bar(done, total, 30),
                duration((per * (total - done) as f64) as u64)
            );
        },
    )?;
    eprintln!();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} images computed in {secs:.1} s ({:.3} images/s)",
        outcome.computed,
        outcome.computed as f64 / secs.max(1e-9)
    );
    if !outcome.unreadable.is_empty() {
        eprintln!(
            "{} images could not be read and are left out:",
            outcome.unreadable.len()
        );
        for e in &outcome.unreadable {
            eprintln!("  {e}");
        }
    }
    let rows = read_rows(&[csv], &columns)?;
    // A summary of nothing would be a table of zeros that reads like a result. (An empty shard
    // of a small selection is fine: its rows are merged with the others'.)
    if rows.is_empty() && (shard.is_none() || !outcome.unreadable.is_empty()) {
        return Err(invalid(match outcome.unreadable.len() {
            0 => "no images were selected: nothing to evaluate".to_string(),
            n => {
                format!("no image could be read ({n} tried, listed above): nothing to summarise")
            }
        }));
    }
    if shard.is_none() {
        write_summary(&rows, &columns, score, &out)?;
    } else {
        println!(
            "shard written; combine with `camlens eval merge --out DIR {}/rows-shard-*.csv`",
            out.display()
        );
    }
    Ok(())
}

/// `[=======>      ]`: `done` of `total` in `width` characters.
fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    let head = if filled < width { ">" } else { "" };
    format!(
        "[{}{head}{}]",
        "=".repeat(filled),
        " ".repeat(width - filled - head.len())
    )
}

/// "42 s", "12 min 5 s", "3 h 20 min".
fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn file_id(m: Method) -> String {
    m.id().replace("++", "pp")
}

fn explain(compute: &camlens::device::Compute, args: ExplainArgs) -> camlens::Result<()> {
    use camlens::explain::{explain_image, explained_sheet, ordered, render_all};
    use camlens::overlay::{View, save_npy, save_png};
    let (methods, options) = args.cam.options()?;
    let methods = ordered(&methods);
    let view = match args.view.as_str() {
        "overlay" => View::Overlay,
        "heatmap" => View::Heatmap,
        "explanation" => View::Explanation,
        v => {
            return Err(camlens::Error::Invalid(format!(
                "unknown view '{v}': expected overlay, heatmap or explanation"
            )));
        }
    };
    let model = open_model(&args.model, compute)?;
    let layer = model.layer_index(args.cam.layer.as_deref())?;
    std::fs::create_dir_all(&args.out).map_err(|source| camlens::Error::Io {
        path: args.out.clone(),
        source,
    })?;
    // Every output path is checked before any work, so a refusal leaves nothing half-written.
    let outputs = |image: &PathBuf| {
        let stem = image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let mut paths = vec![];
        for m in &methods {
            paths.push(args.out.join(format!("{stem}.{}.png", file_id(*m))));
            if args.raw {
                paths.push(args.out.join(format!("{stem}.{}.npy", file_id(*m))));
                paths.push(args.out.join(format!("{stem}.{}.raw.npy", file_id(*m))));
            }
        }
        if args.grid {
            paths.push(args.out.join(format!("{stem}.grid.png")));
        }
        paths
    };
    if !args.overwrite {
        for image in &args.images {
            if let Some(p) = outputs(image).into_iter().find(|p| p.exists()) {
                return Err(camlens::Error::Invalid(format!(
                    "{} exists; not overwriting it (use --overwrite)",
                    p.display()
                )));
            }
        }
    }
    let layer_info = &model.layers()[layer];
    eprintln!("model: {}, layer {layer_info}", model.name);
    for image in &args.images {
        let explained = watched(&image.display().to_string(), |monitor| {
            explain_image(
                &model, image, &methods, args.class, layer, &options, monitor,
            )
        })?;
        let paths = outputs(image);
        let mut paths = paths.iter();
        let class_name = &model.classes[explained.class];
        println!(
            "{}: class {} '{}' ({:.1}%)",
            image.display(),
            explained.class,
            class_name,
            100.0 * explained.probability
        );
        let rendered = render_all(&explained, view, args.colormap, args.alpha);
        for ((img, r), f) in rendered
            .iter()
            .zip(&explained.results)
            .zip(&explained.faithfulness)
        {
            let p = paths.next().unwrap();
            save_png(img, p, args.overwrite)?;
            println!(
                "  {:<28} {:>8.0} ms  drop {:>5.1}%{}{}{}  → {}",
                r.method.label(),
                r.elapsed.as_secs_f64() * 1e3,
                f.drop_percent(camlens::metrics::Score::Probability),
                if f.increased(camlens::metrics::Score::Probability) {
                    " (confidence up)"
                } else {
                    ""
                },
                if r.flat { "  (flat map)" } else { "" },
                r.approximate
                    .as_deref()
                    .map(|a| format!("  ({a})"))
                    .unwrap_or_default(),
                p.display()
            );
            if args.raw {
                for (map, p) in [
                    (&r.map, paths.next().unwrap()),
                    (&r.raw, paths.next().unwrap()),
                ] {
                    save_npy(map, p, args.overwrite)?;
                    println!("  {:<28} → {}", "", p.display());
                }
            }
        }
        if args.grid {
            let title = format!(
                "{} — {} — layer {}",
                image
                    .file_name()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default(),
                model.name,
                layer_info.name
            );
            let sheet = explained_sheet(&explained, &rendered, class_name, &title);
            let p = paths.next().unwrap();
            save_png(&sheet, p, args.overwrite)?;
            println!("  {:<28} → {}", "comparison sheet", p.display());
        }
    }
    Ok(())
}

mod bench {
    use super::*;
    use camlens::cam::Session;
    use std::time::Duration;

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    /// Times every method per image: a fresh session each run (features, prediction and, for
    /// gradient methods, the backward included), so each figure is what one explanation costs.
    pub fn run(compute: &camlens::device::Compute, args: BenchArgs) -> camlens::Result<()> {
        let (methods, options) = args.cam.options()?;
        let image = args.image.clone().unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/samples/chelsea.png")
        });
        let img = camlens::preprocess::load_image(&image)?;
        let mut rows = vec![];
        let runs = args.runs.max(1);
        for spec in &args.model {
            let model = open_model(spec, compute)?;
            let layer = model.layer_index(args.cam.layer.as_deref())?;
            let (input, _) = model.preprocess.prepare(&img);
            let monitor = Monitor::new();
            let time = |ms: &[Method]| -> camlens::Result<Duration> {
                let t = Instant::now();
                let mut s = Session::new(&model, input.clone(), layer)?;
                let class = s.top_class();
                for m in ms {
                    s.explain(*m, class, &options, &monitor)?;
                }
                Ok(t.elapsed())
            };
            let mut cases: Vec<(String, Vec<Method>)> = methods
                .iter()
                .map(|m| (m.id().to_string(), vec![*m]))
                .collect();
            let grads: Vec<Method> = methods
                .iter()
                .copied()
                .filter(|m| m.uses_gradients())
                .collect();
            if grads.len() > 1 {
                cases.push(("gradient methods together".into(), grads));
            }
            // Plain classification of one image, for reference.
            let predict = || -> camlens::Result<Duration> {
                let t = Instant::now();
                camlens::classify::logits_and_probs(&model, std::slice::from_ref(&input))?;
                Ok(t.elapsed())
            };
            let warm = predict()?;
            let med = median(
                (0..runs)
                    .map(|_| predict())
                    .collect::<camlens::Result<_>>()?,
            );
            eprintln!(
                "{:<28} {:<26} first {:>9.1} ms   median of {runs} {:>9.1} ms",
                model.name,
                "predict",
                warm.as_secs_f64() * 1e3,
                med.as_secs_f64() * 1e3
            );
            rows.push(serde_json::json!({
                "model": model.name, "method": "predict", "runs": runs,
                "first_ms": warm.as_secs_f64() * 1e3, "median_ms": med.as_secs_f64() * 1e3,
            }));
            for (name, ms) in cases {
                let warm = time(&ms)?;
                let timed = (0..runs)
                    .map(|_| time(&ms))
                    .collect::<camlens::Result<Vec<_>>>()?;
                let med = median(timed);
                eprintln!(
                    "{:<28} {:<26} first {:>9.1} ms   median of {runs} {:>9.1} ms",
                    model.name,
                    name,
                    warm.as_secs_f64() * 1e3,
                    med.as_secs_f64() * 1e3
                );
                rows.push(serde_json::json!({
                    "model": model.name, "method": name, "runs": runs,
                    "first_ms": warm.as_secs_f64() * 1e3,
                    "median_ms": med.as_secs_f64() * 1e3,
                    "batch_size": options.batch_size.unwrap_or_else(|| model.auto_batch_size()),
                }));
            }
        }
        let report = serde_json::json!({
            "device": compute.backend.to_string(),
            "image": image,
            "rows": rows,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
        if let Some(p) = args.json {
            std::fs::write(&p, serde_json::to_string_pretty(&report).expect("json"))
                .map_err(|source| camlens::Error::Io { path: p, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{bar, duration};

    #[test]
    fn progress_bar_and_time_left() {
        assert_eq!(bar(0, 4, 4), "[>   ]");
        assert_eq!(bar(2, 4, 4), "[==> ]");
        assert_eq!(bar(4, 4, 4), "[====]");
        assert_eq!(bar(0, 0, 4), "[====]");
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(725), "12 min 5 s");
        assert_eq!(duration(12_000), "3 h 20 min");
    }
}
