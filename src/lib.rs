//! camlens: explain image classifiers with class activation maps.
//!
//! The layers, from the bottom; each module imports only from those above it in this list:
//!
//! * `error` (one sentence per failure), `rng` (seeded randomness).
//! * `compute`: `device` (wgpu GPU or flex CPU, and why), `kernel_cache` (cubecl's tuned
//!   kernels on disk), `precision` (the weighted layers' float type), `tensor_io` (tensors →
//!   host vectors).
//! * `input`: `weights` (files → named tensors), `labels` (class names), `samples` (the bundled
//!   photos), `preprocess` and `resample` (photos → input tensors, remembering the crop).
//! * `models` (the zoo, split into `features` and `head` at a target layer; its layers and CPU
//!   kernels; knows nothing of CAMs) and `onnx` (the run-time ONNX interpreter, a `Network` like
//!   the zoo's: operators one family per file); `classify` (top-k).
//! * `cam` (each method described once in `Method::spec` and computed as a small function of
//!   activations, gradients or masked-forward scores on a shared `Session`), `faithfulness`
//!   (`metrics`: Average Drop, Increase in Confidence, Win %, drop in logit; `curves`: deletion
//!   and insertion).
//! * `focus`: what of a segmenter's or detector's answer an image is explained for (a class's
//!   pixels, a box), chosen per image and set on the model.
//! * `pipeline`: one `Request` run on one image (prepare → session → class → each method → map →
//!   scores), handing each result over as it is ready. The CLI, the app's worker, batch export,
//!   `eval` and `bench` all go through it.
//! * `draw` (colormaps, overlays, sheets, PNG/NPY, the legend, charts), `outputs` (what is written
//!   of an explained image and how its files are named: the CLI, the app's exports), `eval`
//!   (datasets, shards, rows, summaries).
//! * `app` (the desktop app: state as plain data, panels as functions queueing commands, a
//!   worker thread that owns the models, in `background`; no tensors).
//!
//! The binary's `src/main.rs` and `src/cli/` only parse arguments, call the library and print.

pub mod app;
pub mod cam;
pub mod classify;
pub mod compute;
pub mod draw;
pub mod error;
pub mod eval;
pub mod faithfulness;
pub mod focus;
pub mod input;
pub mod models;
pub mod onnx;
pub mod outputs;
pub mod pipeline;
pub mod rng;

pub use error::{Error, Result};
