//! `camlens eval` (faithfulness over a dataset, resumable and shardable) and `camlens eval merge`.

use super::args::CamArgs;
use super::progress::{bar, duration};
use super::setup::{ModelArgs, create_dir};
use camlens::cam::{Method, Monitor, Options};
use camlens::compute::device::Compute;
use camlens::error::Access;
use camlens::eval::{
    Ablation, Column, Item, Plan, Row, Shard, Target, columns, items_from_csv, items_from_folders,
    parse_group, read_rows, select,
};
use camlens::faithfulness::metrics::Score;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalArgs {
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
    #[command(flatten)]
    model: ModelArgs,
    /// Methods and their options as for explain; unless --methods is given, eval runs the
    /// paper's seven.
    #[command(flatten)]
    cam: CamArgs,
    /// Explain the predicted class or the labelled one.
    #[arg(long, value_enum, default_value_t = Target::Predicted)]
    target: Target,
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
    #[arg(long, value_enum, default_value_t = Score::Probability)]
    score: Score,
    /// Metrics, comma-separated: paper (Average Drop, Increase in Confidence, Win %, drop in
    /// logit: always computed), deletion, insertion (RISE's curves: 2 × 225 forward passes per
    /// map; asking for either computes both).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "paper")]
    metrics: Vec<MetricSet>,
    /// A ScoreCAM++ ablation instead of --methods: gates (Table 5) or norm (Table 6).
    #[arg(long, value_enum)]
    ablation: Option<Ablation>,
    /// Output folder: rows CSV, summary.md, summary.json, charts.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Carry on an interrupted run in --out.
    #[arg(long)]
    resume: bool,
}

/// What `--metrics` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MetricSet {
    Paper,
    Deletion,
    Insertion,
}

#[derive(clap::Subcommand)]
enum EvalCommand {
    /// Combine shards' row CSVs into one summary (identical to a single run's).
    Merge {
        csv: Vec<PathBuf>,
        /// As given to the runs being merged (default: the paper's seven).
        #[arg(long)]
        methods: Option<String>,
        #[arg(long, value_enum, default_value_t = Score::Probability)]
        score: Score,
        /// As given to the runs being merged.
        #[arg(long, value_enum)]
        ablation: Option<Ablation>,
        /// As given to the runs being merged (labels approximated columns).
        #[arg(long)]
        top_channels: Option<usize>,
        #[arg(long)]
        out: PathBuf,
    },
}

/// How many images were computed, how fast, and which could not be read.
fn report(outcome: &camlens::eval::Outcome, secs: f64) {
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
}

fn invalid(m: String) -> camlens::Error {
    camlens::Error::Invalid(m)
}

/// `camlens eval merge`: shards' rows combined into one summary.
fn merge(merge: EvalCommand) -> camlens::Result<()> {
    let EvalCommand::Merge {
        csv,
        methods,
        score,
        ablation,
        top_channels,
        out,
    } = merge;
    let methods = match methods {
        Some(list) => Method::parse_list(&list)?,
        None => Method::PAPER.to_vec(),
    };
    let options = Options {
        top_channels,
        ..Options::default()
    };
    let columns = columns(&methods, &options, ablation);
    create_dir(&out)?;
    let rows = read_rows(&csv, &columns)?;
    write_summary(&rows, &columns, score, &out)
}

/// The images `--labels` or `--folders` name (all of them: `select` takes the subset).
fn items(args: &EvalArgs) -> camlens::Result<Vec<Item>> {
    match (&args.labels, &args.folders) {
        (Some(csv), None) => items_from_csv(csv, args.images.as_deref()),
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
            items_from_folders(root, &groups)
        }
        _ => Err(invalid("give either --labels CSV or --folders DIR".into())),
    }
}

pub fn run(compute: &Compute, args: EvalArgs) -> camlens::Result<()> {
    if let Some(m) = args.merge {
        return merge(m);
    }
    let out = args
        .out
        .clone()
        .ok_or_else(|| invalid("--out is required".into()))?;
    let (methods, options) = args.cam.options(&Method::PAPER)?;
    let plan = Plan {
        columns: columns(&methods, &options, args.ablation),
        target: args.target,
        layer: args.cam.layer.clone(),
        refine_layers: args.cam.refine_layers.clone(),
        curves: args
            .metrics
            .iter()
            .any(|m| matches!(m, MetricSet::Deletion | MetricSet::Insertion)),
    };
    let items = items(&args)?;
    let shard = Shard::resolve(args.shard.as_deref())?;
    let items = select(
        items,
        args.limit,
        args.subset_seed.unwrap_or(args.cam.seed),
        shard,
    );
    create_dir(&out)?;
    let csv = Shard::rows_file(shard, &out);
    if csv.exists() && !args.resume {
        return Err(invalid(format!(
            "{} exists: add --resume to carry on, or choose another --out",
            csv.display()
        )));
    }
    let model = args.model.open(compute)?;
    // Methods that cannot explain this model (`Method::not_for`) get no column: the rows hold
    // the methods that ran (`all` on a CNN leaves LeGrad out).
    let mut plan = plan;
    plan.columns.retain(|c| match c.method.not_for(&model) {
        Some(why) => {
            eprintln!("{} left out: {why}", c.method.label());
            false
        }
        None => true,
    });
    eprintln!(
        "{}: {} images, {} methods → {}",
        model.name,
        items.len(),
        plan.columns.len(),
        csv.display()
    );
    let start = Instant::now();
    let outcome = camlens::eval::run(
        &model,
        &plan,
        &items,
        &csv,
        &Monitor::new(),
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
    report(&outcome, start.elapsed().as_secs_f64());
    let rows = read_rows(&[csv], &plan.columns)?;
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
        write_summary(&rows, &plan.columns, args.score, &out)?;
    } else {
        println!(
            "shard written; combine with `camlens eval merge --out DIR {}/rows-shard-*.csv`",
            out.display()
        );
    }
    Ok(())
}

fn write_summary(
    rows: &[Row],
    columns: &[Column],
    score: Score,
    out: &Path,
) -> camlens::Result<()> {
    let summary = camlens::eval::summarize(rows, columns, score);
    let write = |p: &PathBuf, text: String| {
        std::fs::write(p, text).map_err(camlens::Error::io(Access::Write, p))
    };
    let md = out.join("summary.md");
    write(&md, summary.markdown())?;
    let js = out.join("summary.json");
    write(&js, serde_json::to_string_pretty(&summary).expect("json"))?;
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
