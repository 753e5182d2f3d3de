//! Faithfulness evaluation over a dataset: which images (a labels CSV or class folders, a seeded
//! subset, a shard of it: `dataset.rs`), what is computed for each (`columns.rs`), one CSV row per
//! image written as soon as it is computed, so an interrupted run keeps its work and resumes
//! (`rows.rs`, `run.rs`), and summaries computed from those rows alone, so merging shards' CSVs
//! gives exactly a single run's summary (`summary.rs`).

mod columns;
mod convergence;
mod dataset;
mod precision;
mod rows;
mod run;
mod summary;

pub use columns::{Ablation, Column, Target, columns};
pub use convergence::{Convergence, SHARES, convergence, pearson};
pub use dataset::{Item, Shard, items_from_csv, items_from_folders, parse_group, select};
pub use precision::{
    ImageCheck, MAX_AD_DIFFERENCE, MIN_CORRELATION, MethodCheck, PrecisionReport, check_image,
};
pub use rows::{Row, header, read_rows};
pub use run::{Outcome, Plan, run};
pub use summary::{MethodSummary, Summary, summarize};
