//! Developer check of the ONNX interpreter on a real export: runs `MODEL.onnx` on the fixture
//! formula input (x_j = 1.5 sin(0.0131 j + 0.5) over [1, 3, S, S]) and compares its logits with
//! those onnxruntime wrote for the same input (`tools/onnx_reference.py MODEL.onnx` writes
//! `MODEL.onnx.json`); also times one forward pass and one GradCAM.
//!
//!     cargo run --release --example onnx_check -- MODEL.onnx [...]
//!
//! With `RAW_MAPS=1` it also writes GradCAM's raw map (before ReLU, at the layer's resolution,
//! for the top class) as a JSON list to `MODEL.onnx.gradcam.json`, to compare with a reference.

use burn::tensor::{Device, Tensor, TensorData};
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::models::Model;
use std::time::Instant;

fn main() -> camlens::Result<()> {
    let device = Device::flex();
    for path in std::env::args().skip(1) {
        let t = Instant::now();
        let model = Model::from_file(std::path::Path::new(&path), &device)?;
        let load = t.elapsed();
        let s = model.preprocess.size as usize;
        let x: Vec<f32> = (0..3 * s * s)
            .map(|j| (1.5 * (0.0131 * j as f64 + 0.5).sin()) as f32)
            .collect();
        let t = Instant::now();
        let logits = camlens::compute::tensor_io::to_vec(model.forward(Tensor::from_data(
            TensorData::new(x.clone(), [1, 3, s, s]),
            &device,
        )))?;
        let forward = t.elapsed();
        let reference: Vec<f32> = std::fs::read_to_string(format!("{path}.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let agreement = if reference.len() == logits.len() {
            let (lo, hi) = reference
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            let diff = logits
                .iter()
                .zip(&reference)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            format!("{:.2e} of the logit range", diff / (hi - lo))
        } else {
            "no reference".into()
        };
        let layer = model.layer_index(None)?;
        let t = Instant::now();
        let mut session = Session::new(&model, x, layer)?;
        let class = session.top_class();
        let map = run_method(
            &mut session,
            Method::GradCam,
            class,
            &Options::default(),
            &Monitor::new(),
        )?;
        let gradcam = t.elapsed();
        if std::env::var_os("RAW_MAPS").is_some() {
            let json = serde_json::to_string(&map.raw.data).expect("a list of floats");
            std::fs::write(format!("{path}.gradcam.json"), json).expect("the map written");
            println!("{path}: class {class}, GradCAM's raw map written");
        }
        println!(
            "{path}: {} layers, default {}; onnxruntime agreement {agreement}; load {:.0} ms, \
             forward {:.0} ms, GradCAM {:.0} ms",
            model.layers().len(),
            model.layers()[layer],
            load.as_secs_f64() * 1e3,
            forward.as_secs_f64() * 1e3,
            gradcam.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
