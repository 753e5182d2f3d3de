//! The CAM engine against the reference implementations (tools/make_cam_fixtures.py) and at its
//! edges, on ResNet-18 with formula weights.

use crate::common::*;
use camlens::Error;
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::models::Model;

#[derive(serde::Deserialize)]
struct Entry {
    weights: Option<Vec<f32>>,
    raw: Option<Vec<f32>>,
}

#[derive(serde::Deserialize)]
struct CamFixture {
    class: usize,
    #[serde(rename = "gradcam")]
    gradcam: Entry,
    #[serde(rename = "gradcam++")]
    gradcam_pp: Entry,
    xgradcam: Entry,
    layercam: Entry,
    #[serde(rename = "scorecam-pgc")]
    scorecam_pgc: Entry,
    scorecam: Entry,
    #[serde(rename = "scorecam++")]
    scorecam_pp: Entry,
}

pub fn resnet18() -> (tempfile::TempDir, Model) {
    let keys = model_fixture("resnet18").keys;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet18.safetensors");
    write_safetensors(&path, &keys);
    let model = Model::from_file(&path, &cpu()).unwrap();
    (dir, model)
}

/// max |ours − theirs| / max |theirs|.
fn rel_err(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale.max(f32::MIN_POSITIVE)
}

#[test]
fn every_method_matches_its_reference_implementation() {
    let fx: CamFixture =
        serde_json::from_str(&std::fs::read_to_string(fixture("cam/resnet18.json")).unwrap())
            .unwrap();
    let (_dir, model) = resnet18();
    let layer = model.layer_index(Some("layer4")).unwrap();
    let mut s = Session::new(&model, input(&[3, 224, 224]), layer).unwrap();
    assert_eq!(s.top_class(), fx.class);
    let options = Options {
        batch_size: Some(32),
        ..Options::default()
    };
    let monitor = Monitor::new();
    for (method, entry) in [
        (Method::GradCam, &fx.gradcam),
        (Method::GradCamPlusPlus, &fx.gradcam_pp),
        (Method::XGradCam, &fx.xgradcam),
        (Method::LayerCam, &fx.layercam),
        (Method::ScoreCamPgc, &fx.scorecam_pgc),
        (Method::ScoreCam, &fx.scorecam),
        (Method::ScoreCamPlusPlus, &fx.scorecam_pp),
    ] {
        let r = run_method(&mut s, method, fx.class, &options, &monitor).unwrap();
        if let Some(w) = &entry.weights {
            let e = rel_err(r.weights.as_ref().unwrap(), w);
            assert!(e <= 1e-4, "{method}: weights relative error {e}");
        }
        if let Some(raw) = &entry.raw {
            assert_eq!((r.raw.width, r.raw.height), (7, 7), "{method}");
            let e = rel_err(&r.raw.data, raw);
            assert!(e <= 1e-4, "{method}: raw map relative error {e}");
        }
        assert!(
            r.map.data.iter().all(|v| (0.0..=1.0).contains(v)),
            "{method}"
        );
        assert!(!r.flat, "{method}");
    }
    // ScoreCAM++'s map lives at input resolution.
    let bytes = std::fs::read(fixture("cam/resnet18.scorecampp.raw.f32")).unwrap();
    let expected: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let r = run_method(
        &mut s,
        Method::ScoreCamPlusPlus,
        fx.class,
        &options,
        &monitor,
    )
    .unwrap();
    assert_eq!((r.raw.width, r.raw.height), (224, 224));
    let e = rel_err(&r.raw.data, &expected);
    assert!(e <= 1e-4, "ScoreCAM++ raw map relative error {e}");
}

#[test]
fn all_zero_activations_give_all_zero_maps_and_one_shared_forward() {
    // A huge negative BatchNorm shift in the last block drives every layer4 activation to 0.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.safetensors");
    write_safetensors_with(&path, &model_fixture("resnet18").keys, |k, v| {
        if k == "layer4.1.bn2.bias" {
            v.iter_mut().for_each(|x| *x = -1e4);
        }
    });
    let model = Model::from_file(&path, &cpu()).unwrap();
    let mut s = Session::new(&model, input(&[3, 224, 224]), 3).unwrap();
    assert!(s.activations.iter().all(|v| *v == 0.0));
    let monitor = Monitor::new();
    // LeGrad needs a transformer: `Method::not_for` leaves it out for this CNN.
    for method in Method::ALL
        .into_iter()
        .filter(|m| m.not_for(&model).is_none())
    {
        let options = Options {
            augment: camlens::cam::AugmentOptions {
                copies: 2,
                ..Default::default()
            },
            ..Options::default()
        };
        let r = run_method(&mut s, method, 1, &options, &monitor).unwrap();
        assert!(r.flat, "{method}");
        assert!(
            r.map.data.iter().all(|v| *v == 0.0),
            "{method}: {:?}",
            &r.map.data[..4]
        );
        assert!(r.raw.data.iter().all(|v| v.is_finite()), "{method}");
        if method == Method::ScoreCamPlusPlus {
            // 512 identical all-zero masks: one forward pass.
            assert_eq!(monitor.progress(), (1, 1));
        }
    }
}

#[test]
fn a_class_out_of_range_is_a_clear_error() {
    let (_dir, model) = resnet18();
    let mut s = Session::new(&model, input(&[3, 224, 224]), 3).unwrap();
    let err = run_method(
        &mut s,
        Method::GradCam,
        1000,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ClassOutOfRange { .. }), "{err}");
    assert!(err.to_string().contains("0–999"), "{err}");
}

#[test]
fn scorecam_pp_does_not_depend_on_the_batch_size() {
    let (_dir, model) = resnet18();
    let mut s = Session::new(&model, input(&[3, 224, 224]), 3).unwrap();
    let run = |s: &mut Session, batch| {
        let o = Options {
            batch_size: Some(batch),
            top_channels: Some(24),
            ..Options::default()
        };
        run_method(s, Method::ScoreCamPlusPlus, 7, &o, &Monitor::new()).unwrap()
    };
    // Batch 1 runs every layer one input at a time; larger batches on the CPU run ResNet's
    // layers from 14×14 down as one batch (`Network::cpu_batch_from`).
    let one = run(&mut s, 1);
    let a = run(&mut s, 5);
    let b = run(&mut s, 24);
    assert!(a.approximate.is_some());
    for other in [&one, &b] {
        let w = rel_err(a.weights.as_ref().unwrap(), other.weights.as_ref().unwrap());
        let m = rel_err(&a.raw.data, &other.raw.data);
        eprintln!("batch 5 against 1 or 24: weights {w:.1e}, map {m:.1e}");
        // The weights are class 7's probabilities, far below the top class's (the logits span
        // ±50 with these weights): their relative rounding is the logits' absolute rounding,
        // about 1e-5 between the batched and the one-at-a-time kernels. A mask fed to the wrong
        // input would be off by the weights' own size.
        assert!(w < 1e-4 && m < 1e-4, "weights {w}, map {m}");
    }
}

#[test]
fn cancelling_stops_within_one_batch() {
    let (_dir, model) = resnet18();
    let mut s = Session::new(&model, input(&[3, 224, 224]), 3).unwrap();
    let monitor = Monitor::new();
    let options = Options {
        batch_size: Some(4),
        ..Options::default()
    };
    let seen = std::thread::scope(|scope| {
        let m = monitor.clone();
        let watcher = scope.spawn(move || {
            while m.progress().0 < 4 {
                std::thread::yield_now();
            }
            m.cancel();
            m.progress().0
        });
        let r = run_method(&mut s, Method::ScoreCamPlusPlus, 7, &options, &monitor);
        assert!(
            matches!(r, Err(Error::Cancelled)),
            "{:?}",
            r.map(|r| r.method)
        );
        watcher.join().unwrap()
    });
    let (done, total) = monitor.progress();
    // One forward pass per distinct mask: identical channels share one, and a constant channel's
    // mask is its gated value (ReLU leaves some of layer4's channels all zero).
    let plane = s.activations.len() / 512;
    let mut masks = std::collections::HashSet::new();
    for ch in s.activations.chunks(plane) {
        let key: Vec<u32> = if ch.iter().all(|v| *v == ch[0]) {
            vec![ch[0].tanh().to_bits()]
        } else {
            ch.iter().map(|v| v.to_bits()).collect()
        };
        masks.insert(key);
    }
    assert_eq!(total, masks.len());
    assert!(total > 256, "{total} masks of 512 channels");
    assert!(
        done <= seen + 4,
        "went on for {} channels after the cancel",
        done - seen
    );
}
