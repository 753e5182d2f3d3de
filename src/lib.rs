//! camlens: explain image classifiers with class activation maps.
//!
//! The layers, from the bottom; each module imports only from those above it in this list:
//!
//! * `error` (one sentence per failure), `rng` (seeded randomness), `tensor_io` (tensors → host
//!   vectors), `precision` (the weighted layers' float type), `device` (wgpu GPU or flex CPU, and
//!   why).
//! * `weights` (files → named tensors), `labels` (class names), `samples` (the bundled photos).
//! * `preprocess` (files → input tensors, remembering the crop), `models` (the zoo, split into
//!   `features` and `head` at a target layer; knows nothing of CAMs), `classify` (top-k).
//! * `cam` (each method described once in `Method::spec` and computed as a small function of
//!   activations, gradients or masked-forward scores on a shared `Session`), `metrics`
//!   (faithfulness: Average Drop, Increase in Confidence, Win %, drop in logit).
//! * `pipeline`: one `Request` run on one image (prepare → session → class → each method → map →
//!   score), handing each result over as it is ready. The CLI, the app's worker, batch export,
//!   `eval` and `bench` all go through it.
//! * `overlay` (colormaps, overlays, sheets, PNG/NPY), `chart` (bar charts), `explain` (what the
//!   `explain` command writes and how its files are named), `eval` (datasets, shards, rows,
//!   summaries).
//! * `app` (the desktop app: state as plain data, panels as functions, a worker thread that owns
//!   the models; no tensors).
//!
//! The binary's `src/main.rs` and `src/cli/` only parse arguments, call the library and print.

pub mod app;
pub mod cam;
pub mod chart;
pub mod classify;
pub mod curves;
pub mod device;
pub mod error;
pub mod eval;
pub mod kernel_cache;
pub mod labels;
pub mod legend;
pub mod metrics;
pub mod models;
pub mod onnx;
pub mod outputs;
pub mod overlay;
pub mod pipeline;
pub mod precision;
pub mod preprocess;
pub mod resample;
pub mod rng;
pub mod samples;
pub mod tensor_io;
pub mod weights;

pub use error::{Error, Result};
