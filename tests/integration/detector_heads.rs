//! The two other detector layouts (issue 29), on small PyTorch models exported to ONNX with
//! their weights stripped (tools/make_head_fixtures.py), refilled here: YOLOv5's `Detect` head
//! (`[1, A, 5 + K]`, objectness × class) and a DETR-style set predictor (`logits`
//! `[1, Q, K + 1]`, `pred_boxes` `[1, Q, 4]`). For each: the layout recognised from the graph
//! alone, the output against onnxruntime's, the boxes against a NumPy decode (and NMS for
//! YOLOv5), and the best box's GradCAM and ScoreCAM++ against pytorch-grad-cam on the PyTorch
//! model.

use crate::common::*;
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::compute::tensor_io::to_vec;
use camlens::models::detection::{DetectFormat, Thresholds};
use camlens::models::{Focus, Model, Task};

#[derive(serde::Deserialize)]
struct Reference {
    size: usize,
    outputs: Vec<Vec<f32>>,
    shapes: Vec<Vec<usize>>,
    score: f32,
    iou: f32,
    candidates: usize,
    boxes: Vec<RefBox>,
    layer: String,
    explained: usize,
    gradcam: Vec<f32>,
    map_shape: Vec<usize>,
    scorecampp_scores: Vec<f32>,
    scorecampp: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct RefBox {
    class: usize,
    score: f32,
    anchor: usize,
    #[serde(rename = "box")]
    corners: [f32; 4],
}

/// Each layout's reference rows `[A, 4 + K]`, as camlens writes them (see `detection.rs`).
fn reference_rows(format: DetectFormat, r: &Reference) -> Vec<f32> {
    match format {
        DetectFormat::YoloV5 => r.outputs[0]
            .chunks(r.shapes[0][2])
            .flat_map(|row| {
                let objectness = row[4];
                row[..4]
                    .iter()
                    .copied()
                    .chain(row[5..].iter().map(move |c| c * objectness))
                    .collect::<Vec<_>>()
            })
            .collect(),
        _ => {
            let k1 = r.shapes[0][2];
            r.outputs[0]
                .chunks(k1)
                .zip(r.outputs[1].chunks(4))
                .flat_map(|(logits, b)| {
                    let top = logits.iter().fold(f32::MIN, |a, &v| a.max(v));
                    let e: Vec<f32> = logits.iter().map(|v| (v - top).exp()).collect();
                    let sum: f32 = e.iter().sum();
                    b.iter()
                        .map(|v| v * r.size as f32)
                        .chain(e[..k1 - 1].iter().map(move |v| v / sum))
                        .collect::<Vec<_>>()
                })
                .collect()
        }
    }
}

fn check(name: &str, format: DetectFormat) {
    let r: Reference = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("onnx/det/{name}.json"))).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = refilled(&format!("onnx/det/{name}.onnx"), dir.path());
    let model = Model::from_file(&path, &cpu()).unwrap();
    assert_eq!(model.task(), Task::Detect(format), "{name}: recognised");
    assert_eq!(model.num_classes(), 3);
    let x = input(&[3, r.size, r.size]);
    let rows = model
        .net
        .detector_output(
            model
                .preprocess
                .batch(std::slice::from_ref(&x), &model.device),
        )
        .unwrap();
    let theirs = reference_rows(format, &r);
    let ours = to_vec(rows).unwrap();
    let e = max_diff(&ours, &theirs) / range(&theirs);
    eprintln!("{name}: rows {e:.2e} of their range");
    assert!(e <= 1e-5, "{name}: rows off onnxruntime's by {e:.2e}");
    let t = Thresholds {
        score: r.score,
        iou: r.iou,
        max: 300,
    };
    let found = model.detect(&x, Some(t)).unwrap();
    assert!(r.boxes.len() >= 3, "a trivial reference");
    // YOLOv5's suppression drops some boxes; a set prediction has none to drop.
    assert_eq!(
        r.boxes.len() < r.candidates,
        format == DetectFormat::YoloV5,
        "{name}: suppression"
    );
    let anchors: Vec<usize> = found.iter().map(|d| d.anchor).collect();
    let expected: Vec<usize> = r.boxes.iter().map(|b| b.anchor).collect();
    assert_eq!(anchors, expected, "{name}: the boxes kept");
    for (d, b) in found.iter().zip(&r.boxes) {
        assert_eq!(d.class, b.class);
        assert!((d.score - b.score).abs() <= 1e-5);
        assert!(max_diff(&[d.x1, d.y1, d.x2, d.y2], &b.corners) <= 1e-3);
    }
    explained(name, &model, &r, &x, found[r.explained]);
}

/// GradCAM of the box's class score at its row, and ScoreCAM++ with the box's score read on
/// each masked input at its best-matching row, within 1e-3 of the reference's range.
fn explained(
    name: &str,
    model: &Model,
    r: &Reference,
    x: &[f32],
    target: camlens::models::detection::Detection,
) {
    let layer = model.layer_index(Some(&r.layer)).unwrap();
    // The map the head reads (YOLO), the backbone's last map (DETR, before the transformer).
    assert_eq!(
        model.layers()[model.layer_index(None).unwrap()].name,
        r.layer,
        "{name}: the default layer"
    );
    model.set_focus(Focus::Box(target)).unwrap();
    let mut s = Session::new(model, x.to_vec(), layer).unwrap();
    assert!((s.probs[target.class] - target.score).abs() <= 1e-5);
    let mut run = |method| {
        run_method(
            &mut s,
            method,
            target.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap()
    };
    let grad = run(Method::GradCam);
    assert_eq!([grad.raw.height, grad.raw.width], r.map_shape[..]);
    let err = relative_error(&grad.raw.data, &r.gradcam);
    eprintln!("{name}: gradcam {err:.2e} of the range");
    assert!(err <= 1e-3, "{name}: gradcam off by {err:.2e}");
    let spread = range(&r.scorecampp_scores);
    assert!(spread > 0.05, "masked inputs that do not move the box");
    let plus = run(Method::ScoreCamPlusPlus);
    let err = relative_error(&plus.raw.data, &r.scorecampp);
    eprintln!("{name}: scorecam++ {err:.2e} of the range");
    assert!(err <= 1e-3, "{name}: scorecam++ off by {err:.2e}");
    model.set_focus(Focus::Whole).unwrap();
}

#[test]
fn a_yolov5_head_is_decoded_suppressed_and_explained_as_in_pytorch() {
    check("yolov5_head", DetectFormat::YoloV5);
}

#[test]
fn a_detr_set_predictor_is_read_and_explained_as_in_pytorch() {
    check("detr_head", DetectFormat::Detr);
}

/// A detector whose output cannot be read as the layout declared, a boxes output that is not
/// there, or a task the output does not have: each refused with one sentence that says what
/// was found and what to declare, and the CLI says it too.
#[test]
fn unreadable_detectors_are_refused_with_a_sentence() {
    let refused = |name: &str, json: &str, expected: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = refilled(&format!("onnx/det/{name}.onnx"), dir.path());
        std::fs::write(dir.path().join("model.json"), json).unwrap();
        let e = Model::from_file(&path, &cpu()).err().unwrap().to_string();
        assert!(e.contains(expected), "{name} with {json}: {e}");
        assert_eq!(e.lines().count(), 1, "one sentence: {e}");
        (dir, path)
    };
    refused(
        "detr_head",
        r#"{"output": "logits", "format": "yolov5"}"#,
        "cannot read as YOLOv5 boxes",
    );
    refused(
        "detr_head",
        r#"{"format": "detr", "boxes": "boxes"}"#,
        "names the boxes output 'boxes', but the graph's outputs are logits, pred_boxes",
    );
    let (_dir, path) = refused("yolov5_head", r#"{"task": "segment"}"#, "declares the task");
    let (succeeded, e) = detect_astronaut(&path);
    assert!(!succeeded && e.contains("declares the task"), "{e}");
}

/// `camlens detect` on the astronaut sample with `model`: whether it succeeded, and its stderr.
fn detect_astronaut(model: &std::path::Path) -> (bool, String) {
    let photo =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/astronaut.png");
    let out = camlens()
        .args(["detect", "--model"])
        .arg(model)
        .arg(&photo)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A model.json's `score` and `iou` are the detector's thresholds wherever none are asked for
/// (the app's only way to set them): the boxes kept are exactly those of the defaults scoring
/// at least that much; the CLI's `--score` still wins; thresholds on a segmenter or outside
/// 0–1 are refused when the file is opened.
#[test]
fn a_model_json_sets_a_detectors_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let path = refilled("onnx/det/yolov5_head.onnx", dir.path());
    let x = input(&[3, 64, 64]);
    let all = Model::from_file(&path, &cpu())
        .unwrap()
        .detect(&x, None)
        .unwrap();
    let cut = all[all.len() / 2].score;
    let json = format!(r#"{{"score": {cut}, "iou": 0.45}}"#);
    std::fs::write(dir.path().join("model.json"), json).unwrap();
    let model = Model::from_file(&path, &cpu()).unwrap();
    let kept = model.detect(&x, None).unwrap();
    let expected: Vec<usize> = all
        .iter()
        .filter(|d| d.score >= cut)
        .map(|d| d.anchor)
        .collect();
    assert!(expected.len() > 1 && expected.len() < all.len());
    assert_eq!(kept.iter().map(|d| d.anchor).collect::<Vec<_>>(), expected);
    let (_, said) = detect_astronaut(&path);
    assert!(said.contains(&format!("score ≥ {cut}, IoU 0.45")), "{said}");
    let low = model
        .thresholds(DetectFormat::YoloV5, Some(0.0), None)
        .unwrap();
    assert_eq!((low.score, low.iou), (0.0, 0.45));
    std::fs::write(dir.path().join("model.json"), r#"{"score": 1.5}"#).unwrap();
    let e = Model::from_file(&path, &cpu()).err().unwrap().to_string();
    assert!(e.contains("between 0 and 1"), "{e}");
    let seg = tempfile::tempdir().unwrap();
    let path = refilled("onnx/seg/segformer_head.onnx", seg.path());
    std::fs::write(seg.path().join("model.json"), r#"{"iou": 0.5}"#).unwrap();
    let e = Model::from_file(&path, &cpu()).err().unwrap().to_string();
    assert!(e.contains("only a detector has"), "{e}");
}
