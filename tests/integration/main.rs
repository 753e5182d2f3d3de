//! One integration-test binary (linking burn once, not once per file), a module per subject.
//! Model-level tests run on burn's flex CPU backend.

mod app;
mod app_detectors;
mod cam;
mod cli;
mod cli_reference;
mod common;
mod curves;
mod detection;
mod detector_heads;
mod eval;
mod formats;
mod gpu_path;
mod kernel_cache;
mod layout;
mod lite0;
mod methods;
mod onnx;
mod onnx_arch;
mod packaging;
mod photos;
mod precision;
mod preview;
mod reference_models;
mod segmentation;
mod warmup;
