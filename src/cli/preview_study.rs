//! `camlens preview-study`: for each channel order, how close a score method's previews come to
//! its final map after 10 %, 25 % and 50 % of the channels, and how soon the first one comes,
//! over a seeded subset of a labelled dataset. It chose the order the app's previews use.

use super::args::CamArgs;
use super::setup::ModelArgs;
use camlens::cam::{ChannelOrder, Method};
use camlens::compute::device::Compute;
use camlens::eval::{SHARES, convergence, items_from_csv, select};
use camlens::input::preprocess::load_image;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PreviewStudyArgs {
    /// `file,class_index` CSV (as ../shared/data/imagenet-val/labels.csv).
    #[arg(long)]
    labels: PathBuf,
    /// Images in a seeded random subset (--seed).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    model: ModelArgs,
    /// The score methods to study (default: ScoreCAM++), options and layer as for explain.
    #[command(flatten)]
    cam: CamArgs,
}

const ORDERS: [ChannelOrder; 3] = [
    ChannelOrder::Index,
    ChannelOrder::Mass,
    ChannelOrder::Gradient,
];

pub fn run(compute: &Compute, args: PreviewStudyArgs) -> camlens::Result<()> {
    let (methods, options) = args.cam.options(&[Method::ScoreCamPlusPlus])?;
    let model = args.model.open(compute)?;
    let layer = model.layer_index(args.cam.layer.as_deref())?;
    let items = select(
        items_from_csv(&args.labels, None)?,
        Some(args.limit),
        args.cam.seed,
        None,
    );
    println!(
        "{}, {} images (seed {}), batches of {} masked inputs",
        model.name,
        items.len(),
        args.cam.seed,
        options
            .batch_size
            .unwrap_or_else(|| model.auto_batch_size())
    );
    println!(
        "| method | channel order | r at 10 % | r at 25 % | r at 50 % | first preview ms | total ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for method in methods.into_iter().filter(|m| m.is_slow()) {
        // [order][share] sums, first-preview and total times.
        let mut r = [[0.0f64; SHARES.len()]; ORDERS.len()];
        let mut first = [0.0f64; ORDERS.len()];
        let mut total = [0.0f64; ORDERS.len()];
        for (n, item) in items.iter().enumerate() {
            let image = load_image(&item.file)?;
            for (o, &order) in ORDERS.iter().enumerate() {
                let c = convergence(&model, &image, layer, method, order, &options)?;
                for (s, v) in c.correlation.iter().enumerate() {
                    r[o][s] += *v as f64;
                }
                first[o] += c.first_preview.as_secs_f64() * 1e3;
                total[o] += c.total.as_secs_f64() * 1e3;
            }
            eprint!("\r  {}/{} images   ", n + 1, items.len());
        }
        eprintln!();
        let n = items.len().max(1) as f64;
        for (o, order) in ORDERS.iter().enumerate() {
            println!(
                "| {} | {order:?} | {:.4} | {:.4} | {:.4} | {:.0} | {:.0} |",
                method.label(),
                r[o][0] / n,
                r[o][1] / n,
                r[o][2] / n,
                first[o] / n,
                total[o] / n
            );
        }
    }
    Ok(())
}
