//! Deletion and insertion against an independent implementation of the RISE authors' definition
//! (tools/make_curve_fixtures.py, PyTorch), on a formula ResNet-18, input and map.

use crate::common::*;
use camlens::faithfulness::curves::{Curve, Curves, STEP, Substrates, auc, scores};

#[derive(serde::Deserialize)]
struct Reference {
    class: usize,
    deletion: Side,
    insertion: Side,
}

#[derive(serde::Deserialize)]
struct Side {
    scores: Vec<f32>,
    auc: f32,
}

/// As the fixture script's `the_map`: integers, many ties.
fn map() -> Vec<f32> {
    (0..224u64)
        .flat_map(|y| (0..224u64).map(move |x| ((x * 7919 + y * 104729) % 5003) as f32))
        .collect()
}

#[test]
fn deletion_and_insertion_equal_the_authors_definition() {
    let r: Reference =
        serde_json::from_str(&std::fs::read_to_string(fixture("curves/resnet18.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = noise_resnet18(dir.path());
    let x = Substrates::new(input(&[3, 224, 224]), 224);
    let map = map();
    let monitor = camlens::cam::Monitor::new();
    let curves = Curves::of(&model, &x, &map, r.class, &monitor).unwrap();
    let points = r.deletion.scores.len();
    assert_eq!(monitor.progress(), (2 * points, 2 * points));
    for (curve, got, want) in [
        (Curve::Deletion, &curves.deletion, &r.deletion),
        (Curve::Insertion, &curves.insertion, &r.insertion),
    ] {
        assert_eq!(got.len(), want.scores.len(), "{curve:?}");
        let worst = max_diff(got, &want.scores);
        let (a, b) = (auc(got), want.auc);
        eprintln!("{curve:?}: AUC {a:.6} vs {b:.6}; scores off by at most {worst:.1e}");
        assert!((a - b).abs() <= 1e-4, "{curve:?}: AUC {a} vs {b}");
        // Each point is a probability: a point off by more than rounding is a wrong step (a
        // pixel removed out of order), which the AUC alone would average away.
        assert!(worst <= 1e-4, "{curve:?}: a point off by {worst}");
    }
    // One curve alone is the same curve.
    let deletion = scores(
        &model,
        &x,
        &map,
        r.class,
        Curve::Deletion,
        STEP,
        &|_| Ok(()),
    )
    .unwrap();
    assert_eq!(deletion, curves.deletion);
    // A cancel stops it before any forward pass.
    monitor.cancel();
    assert!(matches!(
        Curves::of(&model, &x, &map, r.class, &monitor),
        Err(camlens::Error::Cancelled)
    ));
}
