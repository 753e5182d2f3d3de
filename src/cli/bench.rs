//! `camlens bench`: each method's time per image, through the same pipeline as everything else,
//! with faithfulness scoring off so that the figures are the methods' alone, as the peers' are.

use super::args::{CamArgs, OnnxArgs};
use super::setup::open_model;
use camlens::cam::{Method, Monitor};
use camlens::compute::device::Compute;
use camlens::pipeline::{Pipeline, Request, unscored};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Models to time: lite0 and/or weights files.
    #[arg(long, default_values_t = vec!["lite0".to_string()])]
    model: Vec<String>,
    #[command(flatten)]
    onnx: OnnxArgs,
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times every method per image: a fresh session each run (features, prediction and, for
/// gradient methods, the backward included), so each figure is what one explanation costs.
pub fn run(compute: &Compute, args: BenchArgs) -> camlens::Result<()> {
    let request = args.cam.request(&Method::DEFAULT)?;
    let image = args.image.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/samples/chelsea.png")
    });
    let img = camlens::input::preprocess::load_image(&image)?;
    let mut rows = vec![];
    let runs = args.runs.max(1);
    // One case per method, and the gradient methods together (they share one backward).
    let mut cases: Vec<(String, Request)> = request
        .steps
        .iter()
        .map(|s| {
            let r = Request {
                steps: vec![*s],
                ..request.clone()
            };
            (s.method.id().to_string(), r)
        })
        .collect();
    let grads: Vec<_> = request
        .steps
        .iter()
        .copied()
        .filter(|s| s.method.uses_gradients())
        .collect();
    if grads.len() > 1 {
        cases.push((
            "gradient methods together".into(),
            Request {
                steps: grads,
                ..request.clone()
            },
        ));
    }
    for spec in &args.model {
        let model = open_model(spec, &args.onnx, compute)?;
        let (input, crop) = model.preprocess.prepare(&img);
        let monitor = Monitor::new();
        let mut row = |name: &str, warm: Duration, med: Duration, batch: Option<usize>| {
            eprintln!(
                "{:<28} {:<26} first {:>9.1} ms   median of {runs} {:>9.1} ms",
                model.name,
                name,
                warm.as_secs_f64() * 1e3,
                med.as_secs_f64() * 1e3
            );
            let mut r = serde_json::json!({
                "model": model.name, "method": name, "runs": runs,
                "first_ms": warm.as_secs_f64() * 1e3, "median_ms": med.as_secs_f64() * 1e3,
            });
            if let Some(b) = batch {
                r["batch_size"] = b.into();
            }
            rows.push(r);
        };
        // Plain classification of one image, for reference.
        let predict = || -> camlens::Result<Duration> {
            let t = Instant::now();
            camlens::classify::logits_and_probs(&model, std::slice::from_ref(&input))?;
            Ok(t.elapsed())
        };
        let warm = predict()?;
        let timed = (0..runs)
            .map(|_| predict())
            .collect::<camlens::Result<_>>()?;
        row("predict", warm, median(timed), None);
        for (name, request) in &cases {
            let pipeline = Pipeline::new(&model, request.clone())?;
            let time = || -> camlens::Result<Duration> {
                let t = Instant::now();
                let class = &request.class;
                pipeline.run_input(input.clone(), crop, class, &monitor, unscored, |_| Ok(()))?;
                Ok(t.elapsed())
            };
            let warm = time()?;
            let timed = (0..runs).map(|_| time()).collect::<camlens::Result<_>>()?;
            let batch = request.steps[0]
                .options
                .batch_size
                .unwrap_or_else(|| model.auto_batch_size());
            row(name, warm, median(timed), Some(batch));
        }
    }
    let report = serde_json::json!({
        "device": compute.backend.to_string(),
        "precision": compute.precision.to_string(),
        "image": image,
        "rows": rows,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    if let Some(p) = args.json {
        std::fs::write(&p, serde_json::to_string_pretty(&report).expect("json"))
            .map_err(camlens::Error::io(camlens::error::Access::Write, &p))?;
    }
    Ok(())
}
