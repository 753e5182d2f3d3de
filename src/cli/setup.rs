//! What every command starts with: the model, opened on the chosen device, and output folders.

use super::args::OnnxArgs;
use camlens::compute::device::Compute;
use camlens::error::Access;
use camlens::models::Model;

/// Which model a command explains: the built-in one or a file, with what an ONNX file does not
/// say about itself.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// `lite0` for the built-in EfficientNet-Lite0, a weights file (.pth, .pt, .safetensors) or
    /// an ONNX model (.onnx).
    #[arg(long, default_value = "lite0")]
    pub model: String,
    #[command(flatten)]
    pub onnx: OnnxArgs,
}

impl ModelArgs {
    pub fn open(&self, compute: &Compute) -> camlens::Result<Model> {
        open_model(&self.model, &self.onnx, compute)
    }
}

pub fn open_model(spec: &str, onnx: &OnnxArgs, compute: &Compute) -> camlens::Result<Model> {
    let mut model = Model::open_with(spec, &onnx.config()?, &compute.device)?;
    model.fit_to(compute)?;
    Ok(model)
}

/// Creates an output folder, saying which one could not be made.
pub fn create_dir(dir: &std::path::Path) -> camlens::Result<()> {
    std::fs::create_dir_all(dir).map_err(camlens::Error::io(Access::Create, dir))
}
