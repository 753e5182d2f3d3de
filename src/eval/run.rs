//! An evaluation run: every image through the pipeline, one row appended as soon as it is done.

use super::columns::{Column, Target};
use super::dataset::Item;
use super::rows::{Row, header, read_rows};
use crate::cam::Monitor;
use crate::error::{Access, Error, Result};
use crate::faithfulness::curves::Curves;
use crate::faithfulness::metrics::MapScores;
use crate::input::preprocess::load_image;
use crate::models::Model;
use crate::pipeline::{ClassChoice, Event, Pipeline, Request, Step, scored};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// What an evaluation computes for each image.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub columns: Vec<Column>,
    pub target: Target,
    /// The target layer by name (`None`: the model's usual one).
    pub layer: Option<String>,
    /// RefineCAM's layers by name (empty: its default).
    pub refine_layers: Vec<String>,
    /// Also the deletion and insertion curves of every map (`crate::faithfulness::curves`), their AUCs.
    pub curves: bool,
}

impl Plan {
    /// The pipeline request: one step per column, scored.
    pub fn request(&self) -> Request {
        Request {
            steps: self
                .columns
                .iter()
                .map(|c| Step {
                    method: c.method,
                    options: c.options,
                })
                .collect(),
            class: ClassChoice::Predicted,
            layer: self.layer.clone(),
            refine_layers: self.refine_layers.clone(),
            thresholds: None,
        }
    }
}

/// What a run did: rows computed now, and the images it could not read (each with the reason),
/// which are left out rather than ending a run of hours.
#[derive(Debug, Default)]
pub struct Outcome {
    pub computed: usize,
    pub unreadable: Vec<String>,
}

/// Evaluates `items` into `csv`, appending one row per image as soon as it is done; rows
/// already in `csv` are kept and their images skipped (resume). `progress(done, total,
/// computed_now)` after each image.
pub fn run(
    model: &Model,
    plan: &Plan,
    items: &[Item],
    csv: &Path,
    monitor: &Monitor,
    mut progress: impl FnMut(usize, usize, usize),
) -> Result<Outcome> {
    // Before anything is written: a wrong layer name leaves no half-started run behind.
    let pipeline = Pipeline::new(model, plan.request())?;
    let columns = &plan.columns;
    if pipeline.request.steps.len() != columns.len() {
        // The pipeline left some out: results would land in other methods' columns.
        return Err(Error::Invalid(format!(
            "{} of the {} methods cannot explain {}: leave them out of the plan",
            columns.len() - pipeline.request.steps.len(),
            columns.len(),
            model.name
        )));
    }
    let io = |source| Error::io(Access::Write, csv)(source);
    let done: HashSet<String> = if csv.exists() {
        read_rows(&[csv.to_path_buf()], columns)?
            .into_iter()
            .map(|r| r.image)
            .collect()
    } else {
        std::fs::write(csv, format!("{}\n", header(columns, plan.curves))).map_err(io)?;
        HashSet::new()
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(csv)
        .map_err(io)?;
    let mut outcome = Outcome::default();
    for (n, item) in items.iter().enumerate() {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if done.contains(&item.id.replace(',', "_")) {
            progress(n + 1, items.len(), outcome.computed);
            continue;
        }
        let image = match load_image(&item.file) {
            Ok(image) => image,
            Err(e) => {
                outcome.unreadable.push(e.to_string());
                progress(n + 1, items.len(), outcome.computed);
                continue;
            }
        };
        let row = evaluate(model, &pipeline, plan, item, &image, monitor)?;
        writeln!(file, "{}", row.to_csv()).map_err(io)?;
        file.flush().map_err(io)?;
        outcome.computed += 1;
        progress(n + 1, items.len(), outcome.computed);
    }
    Ok(outcome)
}

/// One image's row: every column's map, scores, time and (where asked) curve areas.
fn evaluate(
    model: &Model,
    pipeline: &Pipeline,
    plan: &Plan,
    item: &Item,
    image: &image::RgbImage,
    monitor: &Monitor,
) -> Result<Row> {
    let columns = &plan.columns;
    let class = match plan.target {
        Target::Predicted => ClassChoice::Predicted,
        Target::Label => ClassChoice::MostProbableOf(item.label.clone()),
    };
    let mut row = Row {
        image: item.id.replace(',', "_"),
        class: 0,
        scores: vec![MapScores::default(); columns.len()],
        flat: vec![false; columns.len()],
        millis: vec![0.0; columns.len()],
        aucs: plan.curves.then(|| vec![(0.0, 0.0); columns.len()]),
    };
    let size = model.preprocess.size as usize;
    // Prepared once: the pipeline and the curves start from the same input.
    let (input, crop) = model.preprocess.prepare(image);
    let substrates = plan
        .curves
        .then(|| crate::faithfulness::curves::Substrates::new(input.clone(), size));
    pipeline
        .run_input(input, crop, &class, monitor, scored, |event| {
            match event {
                Event::Prepared(p) => row.class = p.class,
                Event::Result {
                    index,
                    result,
                    scores,
                } => {
                    row.scores[index] = scores;
                    row.flat[index] = result.flat;
                    row.millis[index] = result.elapsed.as_secs_f64() * 1e3;
                    if let (Some(aucs), Some(input)) = (&mut row.aucs, &substrates) {
                        let map = &result.map.data;
                        aucs[index] =
                            Curves::of(model, input, map, row.class, &Monitor::new())?.aucs();
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| match e {
            Error::Invalid(m) if plan.target == Target::Label => {
                Error::Invalid(format!("{}: {m}", item.id))
            }
            e => e,
        })?;
    Ok(row)
}
