//! Detectors (issue 29): YOLOv8n exported by Ultralytics' own exporter, its weights written by
//! the fixture formula and stripped (tools/make_det_fixtures.py), refilled here: its output
//! against onnxruntime's, and camlens' decoding and suppression against a NumPy decode and NMS
//! of onnxruntime's output.

use crate::common::*;
use camlens::compute::tensor_io::to_vec;
use camlens::models::detection::DetectFormat;
use camlens::models::{Model, Task};
use camlens::pipeline::{Pipeline, Request};

#[derive(serde::Deserialize)]
struct Reference {
    size: usize,
    shape: Vec<usize>,
    candidates: usize,
    boxes: Vec<RefBox>,
}

#[derive(serde::Deserialize)]
struct RefBox {
    class: usize,
    score: f32,
    anchor: usize,
    #[serde(rename = "box")]
    corners: [f32; 4],
}

fn load() -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().unwrap();
    let path = refilled("onnx/det/yolov8n.onnx", dir.path());
    let model = Model::from_file(&path, &cpu()).unwrap();
    (dir, model)
}

/// Ultralytics' metadata read (task, class names, size, letterbox / 255); the output within
/// 1e-4 of its range of onnxruntime's; the same boxes, in the same order, as the reference's
/// decode and NMS, their scores within 1e-5 and corners within 1e-3 of a pixel.
#[test]
fn yolov8_boxes_equal_a_numpy_decode_of_onnxruntimes_output() {
    let r: Reference =
        serde_json::from_str(&std::fs::read_to_string(fixture("onnx/det/yolov8n.json")).unwrap())
            .unwrap();
    let (_dir, model) = load();
    assert_eq!(model.task(), Task::Detect(DetectFormat::YoloV8));
    assert_eq!(model.num_classes(), 80);
    assert_eq!(
        model.classes[7], "7",
        "Ultralytics' names, from the metadata"
    );
    assert_eq!(model.preprocess.size as usize, r.size);
    assert_eq!(
        model.preprocess.order,
        camlens::input::preprocess::Order::Letterbox
    );
    assert_eq!(
        (model.preprocess.mean, model.preprocess.std),
        ([0.0; 3], [255.0; 3])
    );
    let x = input(&[3, r.size, r.size]);
    let out = model
        .net
        .detector_output(
            model
                .preprocess
                .batch(std::slice::from_ref(&x), &model.device),
        )
        .unwrap();
    assert_eq!(out.dims().to_vec(), r.shape);
    let ours = to_vec(out).unwrap();
    let theirs = f32_fixture("onnx/det/yolov8n.out.f32");
    let e = max_diff(&ours, &theirs) / range(&theirs);
    eprintln!("yolov8n: output {e:.2e} of its range");
    assert!(e <= 1e-4, "output off onnxruntime's by {e:.2e}");
    let found = model.detect(&x, None).unwrap();
    assert!(
        r.boxes.len() > 10 && r.boxes.len() < r.candidates,
        "a trivial reference"
    );
    let anchors: Vec<usize> = found.iter().map(|d| d.anchor).collect();
    let expected: Vec<usize> = r.boxes.iter().map(|b| b.anchor).collect();
    assert_eq!(anchors, expected);
    for (d, b) in found.iter().zip(&r.boxes) {
        assert_eq!(d.class, b.class);
        assert!(
            (d.score - b.score).abs() <= 1e-5,
            "{} vs {}",
            d.score,
            b.score
        );
        let corners = [d.x1, d.y1, d.x2, d.y2];
        let off = max_diff(&corners, &b.corners);
        assert!(off <= 1e-3, "anchor {}: corners off by {off}", d.anchor);
    }
}

/// A detector is refused where a class map is asked for, with the command that lists its
/// boxes; `camlens detect` lists them on a photo, in its pixels, as JSON too.
#[test]
fn the_cli_lists_a_detectors_boxes() {
    let (dir, model) = load();
    let refused = Pipeline::new(
        &model,
        Request::new(&camlens::cam::Method::DEFAULT, Default::default()),
    );
    let e = refused.err().unwrap().to_string();
    assert!(e.contains("camlens detect"), "{e}");
    let path = dir.path().join("yolov8n.onnx");
    let photo =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/astronaut.png");
    let out = camlens()
        .args(["detect", "--json", "--model"])
        .arg(&path)
        .arg(&photo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let boxes = json[0]["boxes"].as_array().unwrap();
    assert!(!boxes.is_empty());
    for b in boxes {
        let (x1, x2) = (b["x1"].as_f64().unwrap(), b["x2"].as_f64().unwrap());
        let (y1, y2) = (b["y1"].as_f64().unwrap(), b["y2"].as_f64().unwrap());
        assert!(0.0 <= x1 && x1 <= x2 && x2 <= 512.0 && 0.0 <= y1 && y1 <= y2 && y2 <= 512.0);
    }
    let lite0 = camlens()
        .args(["detect", "--model", "lite0"])
        .arg(&photo)
        .output()
        .unwrap();
    assert!(!lite0.status.success());
    assert!(String::from_utf8_lossy(&lite0.stderr).contains("not a detector"));
}
