//! Reduced precision (`--precision`): f16 on the CPU backend against f32 on real photos, and f32
//! kept exactly wherever `auto` chooses it (the CPU here, WGSL adapters in `gpu_path`).

use crate::common::*;
use burn::tensor::DType;
use camlens::cam::{Method, Options};
use camlens::classify::predict_files;
use camlens::compute::device::Compute;
use camlens::compute::precision::Precision;
use camlens::eval::check_image;
use camlens::input::preprocess::load_image;
use camlens::models::Model;
use camlens::pipeline::{Pipeline, Request};

/// The goals of reduced precision, stated here rather than read from the library, so that
/// loosening the library's constants cannot loosen the test: the same class, maps correlated
/// at r >= 0.999, and each method's Average Drop (the mean over the photos) within 0.3 points
/// of f32's.
const MIN_R: f32 = 0.999;
const MAX_DROP_POINTS: f32 = 0.3;

fn gradient_request() -> Request {
    Request::new(&[Method::GradCam, Method::LayerCam], Options::default())
}

#[test]
fn f16_keeps_lite0s_class_maps_and_average_drop_on_real_photos() {
    let full = Model::builtin(&cpu()).unwrap();
    let mut half = Model::builtin(&cpu()).unwrap();
    half.set_dtype(DType::F16).unwrap();
    // Rounded weights cannot be taken back to f32.
    let e = Model::builtin(&cpu())
        .and_then(|mut m| {
            m.set_dtype(DType::BF16)
                .and_then(|_| m.set_dtype(DType::F32))
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("already bf16: open it again for f32"), "{e}");
    let photos = ["chelsea.png", "coffee.png", "rocket.jpg"];
    let (mut drop_f32, mut drop_f16) = ([0f32; 2], [0f32; 2]);
    for name in photos {
        let file = asset(&format!("samples/{name}"));
        let image = load_image(&file).unwrap();
        let c = check_image(&full, &half, name, &image, &gradient_request()).unwrap();
        assert_eq!(c.class_f32, c.class_reduced, "{name}");
        for (r, m) in c.correlation.iter().zip(["GradCAM", "LayerCAM"]) {
            assert!(*r >= MIN_R, "{name} {m}: r = {r}");
        }
        for m in 0..2 {
            drop_f32[m] += c.drop_f32[m] / photos.len() as f32;
            drop_f16[m] += c.drop_reduced[m] / photos.len() as f32;
        }
        // The f16 layers really ran: the probabilities moved, a little.
        let p = |m: &Model| predict_files(m, &[file.as_path()], 1).unwrap()[0][0].probability;
        let (a, b) = (p(&full), p(&half));
        assert!(a != b && (a - b).abs() <= 0.02, "{name}: top-1 {a} vs {b}");
    }
    for ((a, b), m) in drop_f32.iter().zip(&drop_f16).zip(["GradCAM", "LayerCAM"]) {
        eprintln!("{m}: Average Drop {a:.3} (f32) vs {b:.3} (f16)");
        assert!(
            (a - b).abs() <= MAX_DROP_POINTS,
            "{m}: Average Drop {a} vs {b}"
        );
    }
}

#[test]
fn auto_is_f32_on_the_cpu_and_changes_no_number() {
    let compute = Compute::cpu("test")
        .with_precision(Precision::Auto)
        .unwrap();
    assert_eq!(compute.precision.dtype, DType::F32);
    assert!(
        compute.label().ends_with("f32, no tensor cores"),
        "{}",
        compute.label()
    );
    let plain = Model::builtin(&cpu()).unwrap();
    let mut fitted = Model::builtin(&cpu()).unwrap();
    fitted.fit_to(&compute).unwrap();
    let image = load_image(&asset("samples/chelsea.png")).unwrap();
    let run = |m: &Model| {
        Pipeline::new(m, gradient_request())
            .unwrap()
            .explain(image.clone(), &camlens::cam::Monitor::new())
            .unwrap()
    };
    let (a, b) = (run(&plain), run(&fitted));
    assert_eq!(a.prepared.probability, b.prepared.probability);
    for (x, y) in a.results.iter().zip(&b.results) {
        assert_eq!(x.map.data, y.map.data, "{}", x.method);
    }
}

#[test]
fn the_command_line_names_the_precision_and_refuses_unknown_ones() {
    let out = camlens()
        .args(["--precision", "bf16", "predict"])
        .arg(asset("samples/chelsea.png"))
        .output()
        .unwrap();
    let err = succeeded(&out);
    assert!(
        err.contains("bf16 with f32 accumulation, no tensor cores"),
        "{err}"
    );
    let out = camlens()
        .args(["--precision", "fp8", "predict"])
        .arg(asset("samples/chelsea.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected auto, f32, f16 or bf16"), "{err}");
    // Comparing f32 with itself is refused rather than reported as a pass.
    let out = camlens()
        .args(["precision-check", "--methods", "gradcam"])
        .arg(asset("samples/chelsea.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing to compare"), "{err}");
}

#[test]
fn precision_check_reports_bf16_against_f32_per_method() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("check.json");
    let out = camlens()
        .args([
            "--precision",
            "bf16",
            "precision-check",
            "--methods",
            "gradcam,layercam",
        ])
        .arg(asset("samples/chelsea.png"))
        .arg(asset("samples/coffee.png"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("| GradCAM |") && table.contains("| LayerCAM |"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["images"], 2);
    assert_eq!(report["precision"], "bf16");
    // The exit status is the goals' verdict.
    assert_eq!(out.status.success(), report["passes"].as_bool().unwrap());
    for m in report["methods"].as_array().unwrap() {
        let r = m["min_correlation"].as_f64().unwrap();
        assert!(r > 0.99 && r < 1.0, "{m}");
    }
}
