//! `camlens explain` (overlays, sheets and raw maps for the user's photos) and `camlens demo`
//! (the bundled samples as comparison sheets).

use super::args::{CamArgs, OnnxArgs};
use super::progress::watched;
use super::setup::{ModelArgs, create_dir, open_model};
use camlens::cam::{Method, Monitor};
use camlens::curves::{Curves, Substrates};
use camlens::device::Compute;
use camlens::error::Access;
use camlens::explain::{Outputs, explained_sheet, render_all};
use camlens::legend::with_legend;
use camlens::metrics::Score;
use camlens::models::Scores;
use camlens::overlay::{Colormap, View, check_writable, save_npy, save_png};
use camlens::pipeline::{Explained, Pipeline, Request};
use camlens::preprocess::load_image;
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
    /// Also write the float maps as .npy (normalised at input size, and raw).
    #[arg(long)]
    raw: bool,
    /// Replace existing files.
    #[arg(long)]
    overwrite: bool,
}

pub fn explain(compute: &Compute, args: ExplainArgs) -> camlens::Result<()> {
    let mut request = args.cam.request(&Method::DEFAULT)?.with_class(args.class);
    // Files are written (and listed) in the order the methods appear: fast ones first.
    request.steps = request
        .run_order()
        .into_iter()
        .map(|i| request.steps[i])
        .collect();
    let methods = request.methods();
    let model = args.model.open(compute)?;
    let pipeline = Pipeline::new(&model, request)?;
    create_dir(&args.out)?;
    let outputs = |image: &PathBuf| {
        Outputs::for_image(&args.out, image, &methods, args.raw, args.grid, args.curves)
    };
    // Every output path is checked before any work, so a refusal leaves nothing half-written.
    if !args.overwrite {
        for image in &args.images {
            for p in outputs(image).all() {
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
        let paths = outputs(image);
        let p = &explained.prepared;
        let class_name = &model.classes[p.class];
        println!(
            "{}: class {} '{}' ({:.1}%)",
            image.display(),
            p.class,
            class_name,
            100.0 * p.probability
        );
        let rendered = render_all(&explained, args.view, args.colormap, args.alpha);
        // The curves of every method start from the same input and blur: made once per image.
        let size = model.preprocess.size as usize;
        let substrates = args
            .curves
            .then(|| Substrates::new(explained.input.clone(), size));
        for (((img, r), f), out) in rendered
            .iter()
            .zip(&explained.results)
            .zip(&explained.scores)
            .zip(&paths.methods)
        {
            if args.legend {
                save_png(
                    &with_legend(img, args.view, args.colormap),
                    &out.png,
                    args.overwrite,
                )?;
            } else {
                save_png(img, &out.png, args.overwrite)?;
            }
            let f = f.expect("explain scores its maps");
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
            if let Some((npy, raw)) = &out.npy {
                for (map, p) in [(&r.map, npy), (&r.raw, raw)] {
                    save_npy(map, p, args.overwrite)?;
                    println!("  {:<28} → {}", "", p.display());
                }
            }
            if let Some(paths) = &out.curves {
                let (deletion, insertion) = write_curves(
                    &model,
                    substrates
                        .as_ref()
                        .expect("made where curves are asked for"),
                    r,
                    explained.prepared.class,
                    paths,
                    args.overwrite,
                )?;
                println!(
                    "  {:<28} deletion AUC {deletion:.4} (lower is better), insertion AUC \
                     {insertion:.4} (higher is better) → {}, {}",
                    "",
                    paths.0.display(),
                    paths.1.display()
                );
            }
        }
        if let Some(p) = &paths.grid {
            let title = format!(
                "{} — {} — layer {}",
                image
                    .file_name()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default(),
                model.name,
                layer.name
            );
            let scale = (args.view, args.colormap);
            let sheet = explained_sheet(&explained, &rendered, class_name, &title, scale);
            save_png(&sheet, p, args.overwrite)?;
            println!("  {:<28} → {}", "comparison sheet", p.display());
        }
    }
    Ok(())
}

/// The bundled samples, explained by the default methods, as comparison sheets in a new folder
/// `camlens-demo[-N]` of the current directory (never an existing one).
pub fn demo(compute: &Compute) -> camlens::Result<()> {
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
    create_dir(&out)?;
    let model = open_model("lite0", &OnnxArgs::default(), compute)?;
    let pipeline = Pipeline::new(&model, Request::new(&Method::DEFAULT, Default::default()))?;
    for (name, bytes) in SAMPLES {
        let explained: Explained =
            watched(name, |monitor| pipeline.explain(decode(bytes), monitor))?;
        let class_name = &model.classes[explained.prepared.class];
        let rendered = render_all(&explained, View::Overlay, Colormap::Jet, 0.5);
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

/// The deletion and insertion curves of one map (RISE's settings) as CSV and a plot; their AUCs.
fn write_curves(
    model: &camlens::models::Model,
    image: &Substrates,
    r: &camlens::cam::CamResult,
    class: usize,
    (csv, png): &(PathBuf, PathBuf),
    overwrite: bool,
) -> camlens::Result<(f32, f32)> {
    let curves = Curves::of(model, image, &r.map.data, class, &Monitor::new())?;
    let (d, i) = curves.aucs();
    let (deletion, insertion) = (&curves.deletion, &curves.insertion);
    check_writable(csv, overwrite)?;
    let n = (deletion.len() - 1).max(1) as f32;
    let mut text = String::from("fraction,deletion,insertion\n");
    for (k, (a, b)) in deletion.iter().zip(insertion).enumerate() {
        text.push_str(&format!("{:.6},{a:.6},{b:.6}\n", k as f32 / n));
    }
    std::fs::write(csv, text).map_err(camlens::Error::io(Access::Write, csv))?;
    let plot = camlens::chart::line_chart(
        &format!("{}: class {class}, 224 pixels per step", r.method.label()),
        &[
            (
                format!("deletion AUC {d:.3} (lower is better)"),
                deletion,
                [200, 40, 40],
            ),
            (
                format!("insertion AUC {i:.3} (higher is better)"),
                insertion,
                [40, 90, 200],
            ),
        ],
        640,
        420,
    );
    save_png(&plot, png, overwrite)?;
    Ok((d, i))
}
