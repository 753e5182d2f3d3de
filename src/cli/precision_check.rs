//! `camlens precision-check`: the precision chosen with `--precision` (f16 or bf16) against f32
//! on the same device, over a folder of photos, per method (see `camlens::eval::PrecisionReport`).

use super::args::CamArgs;
use super::setup::ModelArgs;
use camlens::cam::Method;
use camlens::compute::device::Compute;
use camlens::compute::precision::Resolved;
use camlens::eval::{PrecisionReport, check_image};
use camlens::input::preprocess::{image_files, load_image};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct PrecisionCheckArgs {
    /// Images, or folders of images (taken in name order).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    cam: CamArgs,
    /// At most this many images.
    #[arg(long)]
    limit: Option<usize>,
    /// Start no new image after this many seconds (a lent GPU's time is counted).
    #[arg(long)]
    seconds: Option<f64>,
    /// Also write the report, every image included, as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(compute: &Compute, args: PrecisionCheckArgs) -> camlens::Result<()> {
    if compute.precision.dtype == burn::tensor::DType::F32 {
        return Err(camlens::Error::Invalid(format!(
            "nothing to compare: the precision here is {} (ask for --precision f16 or bf16)",
            compute.precision
        )));
    }
    let reduced = args.model.open(compute)?;
    let full = Compute {
        precision: Resolved::f32(),
        ..compute.clone()
    };
    let f32_model = args.model.open(&full)?;
    let request = args.cam.request(&Method::PAPER)?;
    let mut files = image_files(&args.inputs);
    files.truncate(args.limit.unwrap_or(usize::MAX));
    if files.is_empty() {
        return Err(camlens::Error::Invalid(format!(
            "no images in {}",
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let start = Instant::now();
    let mut checks = vec![];
    for file in &files {
        if args
            .seconds
            .is_some_and(|s| start.elapsed().as_secs_f64() > s)
        {
            eprintln!("time is up after {} images", checks.len());
            break;
        }
        let image = load_image(file)?;
        let id = file
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into());
        let c = check_image(&f32_model, &reduced, &id, &image, &request)?;
        let worst = c.correlation.iter().copied().fold(f32::INFINITY, f32::min);
        eprintln!(
            "{id}: class {} / {}, lowest r {worst:.5} ({:.1} s)",
            c.class_f32,
            c.class_reduced,
            start.elapsed().as_secs_f64()
        );
        checks.push(c);
    }
    let report = PrecisionReport::new(
        compute.precision.name(),
        &compute.label(),
        &request.methods(),
        checks,
    );
    println!("{}", report.markdown());
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&report).expect("json"))
            .map_err(camlens::Error::io(camlens::error::Access::Write, p))?;
    }
    if report.passes {
        Ok(())
    } else {
        Err(camlens::Error::Invalid(format!(
            "{} missed its goals against f32 (table above)",
            compute.precision.name()
        )))
    }
}
