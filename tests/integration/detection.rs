//! Detectors (issue 29): YOLOv8n exported by Ultralytics' own exporter, its weights written by
//! the fixture formula and stripped (tools/make_det_fixtures.py), refilled here: its output
//! against onnxruntime's, camlens' decoding and suppression against a NumPy decode and NMS of
//! onnxruntime's output, and a box's maps against pytorch-grad-cam on Ultralytics' PyTorch
//! model with the same weights.

use crate::common::*;
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::compute::tensor_io::to_vec;
use camlens::models::detection::DetectFormat;
use camlens::models::{Focus, Model, Task};

#[derive(serde::Deserialize)]
struct Reference {
    size: usize,
    shape: Vec<usize>,
    candidates: usize,
    boxes: Vec<RefBox>,
    layer: String,
    /// The boxes explained, by index in `boxes`.
    #[serde(rename = "boxes_explained")]
    explained: Vec<Explained>,
    eigencam: Eigen,
}

#[derive(serde::Deserialize)]
struct Explained {
    index: usize,
    gradcam: Vec<f32>,
    scorecampp_scores: Vec<f32>,
    map_shape: Vec<usize>,
}

#[derive(serde::Deserialize)]
struct Eigen {
    raw: Vec<f32>,
    boxes: Vec<[f32; 4]>,
}

fn reference() -> Reference {
    serde_json::from_str(&std::fs::read_to_string(fixture("onnx/det/yolov8n.json")).unwrap())
        .unwrap()
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
    let r = reference();
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
    // camlens' rows [1, A, 4 + K] are the YOLOv8 output [1, 4 + K, A] transposed.
    let (rows, anchors) = (r.shape[1], r.shape[2]);
    assert_eq!(out.dims(), [1, anchors, rows]);
    let ours = to_vec(out).unwrap();
    let raw = f32_fixture("onnx/det/yolov8n.out.f32");
    let theirs: Vec<f32> = (0..anchors)
        .flat_map(|a| (0..rows).map(move |j| (a, j)))
        .map(|(a, j)| raw[j * anchors + a])
        .collect();
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

/// A box's maps at the finest scale's output (camlens' default layer for YOLO), for the best
/// box and one found on a coarser scale, against Ultralytics' PyTorch model with the same
/// weights: GradCAM of the box's class score at its anchor (pytorch-grad-cam), ScoreCAM++ with
/// the box's score read on each masked input as `FasterRCNNBoxScoreTarget` reads it (so on
/// each masked input the best-matching row, or zero), raw, within 1e-3 of the reference's
/// range; the box's probability is its score.
#[test]
fn a_boxs_maps_equal_pytorch_grad_cams_on_ultralytics_model() {
    let r = reference();
    let (_dir, model) = load();
    let layer = model.layer_index(None).unwrap();
    assert_eq!(model.layers()[layer].name, r.layer, "the default layer");
    let x = input(&[3, r.size, r.size]);
    let found = model.detect(&x, None).unwrap();
    let maps = f32_fixture("onnx/det/yolov8n.maps.f32");
    let half = (r.size / 2) * (r.size / 2);
    for (i, e) in r.explained.iter().enumerate() {
        let target = found[e.index];
        model.set_focus(Focus::Box(target)).unwrap();
        let mut s = Session::new(&model, x.clone(), layer).unwrap();
        assert!(
            (s.probs[target.class] - target.score).abs() <= 1e-5,
            "box {}: probability {} is not its score {}",
            e.index,
            s.probs[target.class],
            target.score
        );
        let grad = run_method(
            &mut s,
            Method::GradCam,
            target.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!([grad.raw.height, grad.raw.width], e.map_shape[..]);
        let err = relative_error(&grad.raw.data, &e.gradcam);
        eprintln!("box {}: gradcam {err:.2e} of the range", e.index);
        assert!(
            range(&e.gradcam) > 0.0 && err <= 1e-3,
            "box {}: gradcam off by {err:.2e}",
            e.index
        );
        let zeros = e.scorecampp_scores.iter().filter(|&&v| v == 0.0).count();
        assert!(
            zeros > 0 && zeros < e.scorecampp_scores.len(),
            "box {}: the masked inputs should both keep and lose the box ({zeros} zeros)",
            e.index
        );
        let plus = run_method(
            &mut s,
            Method::ScoreCamPlusPlus,
            target.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        let ours = every_other(&plus.raw.data, r.size);
        let theirs = &maps[i * half..(i + 1) * half];
        let err = relative_error(&ours, theirs);
        eprintln!("box {}: scorecam++ {err:.2e} of the range", e.index);
        assert!(err <= 1e-3, "box {}: scorecam++ off by {err:.2e}", e.index);
    }
    model.set_focus(Focus::Whole).unwrap();
}

/// EigenCAM on a detector as pytorch-grad-cam's YOLO tutorial computes it: the first principal
/// component at the layer (either sign: LAPACK's is arbitrary, camlens makes the peak
/// positive), the map at input size, and the tutorial's view renormalised inside the ten best
/// boxes, within 1e-3 of their range.
#[test]
fn eigencam_and_its_view_in_the_boxes_equal_the_tutorials() {
    let r = reference();
    let (_dir, model) = load();
    let layer = model.layer_index(None).unwrap();
    let x = input(&[3, r.size, r.size]);
    let mut s = Session::new(&model, x, layer).unwrap();
    let eigen = run_method(
        &mut s,
        Method::EigenCam,
        0,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    let flipped: Vec<f32> = r.eigencam.raw.iter().map(|v| -v).collect();
    let err = relative_error(&eigen.raw.data, &r.eigencam.raw)
        .min(relative_error(&eigen.raw.data, &flipped));
    assert!(err <= 1e-3, "eigencam's component off by {err:.2e}");
    let maps = f32_fixture("onnx/det/yolov8n.maps.f32");
    let half = (r.size / 2) * (r.size / 2);
    let n = r.explained.len();
    let (final_map, in_boxes) = (&maps[n * half..(n + 1) * half], &maps[(n + 1) * half..]);
    let err = max_diff(&every_other(&eigen.map.data, r.size), final_map);
    eprintln!("eigencam: map {err:.2e}");
    assert!(err <= 1e-3, "eigencam's map off by {err:.2e}");
    let view = eigen.map.renormalised_in(&r.eigencam.boxes);
    let err = max_diff(&every_other(&view.data, r.size), in_boxes);
    eprintln!("eigencam: in the boxes {err:.2e}");
    assert!(
        range(in_boxes) > 0.5 && err <= 1e-3,
        "the view in the boxes off by {err:.2e}"
    );
}

/// Every other pixel of every other row of a `size`×`size` map.
fn every_other(map: &[f32], size: usize) -> Vec<f32> {
    (0..size)
        .step_by(2)
        .flat_map(|y| (0..size).step_by(2).map(move |x| map[y * size + x]))
        .collect()
}

/// `camlens detect` lists a detector's boxes on a photo, in its pixels, as JSON too;
/// `camlens explain --target box:I` explains one of them, and an index past the list, a box
/// asked of a classifier or a detector asked to predict are refused with a sentence.
#[test]
fn the_cli_lists_a_detectors_boxes_and_explains_one() {
    let (dir, _model) = load();
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
    let out = tempfile::tempdir().unwrap();
    let explain = |target: &str, model: &std::path::Path| {
        camlens()
            .args([
                "explain",
                "--overwrite",
                "--methods",
                "gradcam",
                "--target",
                target,
            ])
            .arg("--model")
            .arg(model)
            .arg(&photo)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap()
    };
    let done = explain("box:1", &path);
    succeeded(&done);
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(said.contains("box 1 of"), "{said}");
    let png = image::open(out.path().join("astronaut.gradcam.png")).unwrap();
    assert_eq!((png.width(), png.height()), (512, 512));
    let past = explain(&format!("box:{}", boxes.len()), &path);
    let e = String::from_utf8_lossy(&past.stderr);
    assert!(
        !past.status.success() && e.contains("this photo has"),
        "{e}"
    );
    let lite0 = explain("box:0", std::path::Path::new("lite0"));
    let e = String::from_utf8_lossy(&lite0.stderr);
    assert!(
        !lite0.status.success() && e.contains("not a detector"),
        "{e}"
    );
}
