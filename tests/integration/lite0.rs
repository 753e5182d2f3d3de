//! The built-in EfficientNet-Lite0 on real images.

use crate::common::*;
use camlens::classify::{logits_and_probs, predict_files};
use camlens::input::preprocess::load_image;
use camlens::models::Model;

#[test]
fn sample_images_give_the_published_predictions() {
    let model = Model::builtin(&cpu()).unwrap();
    let chelsea = asset("samples/chelsea.png");
    let coffee = asset("samples/coffee.png");
    let preds = predict_files(&model, &[chelsea.as_path(), coffee.as_path()], 3).unwrap();
    let expect = |p: &camlens::classify::Prediction, class: usize, prob: f32| {
        assert_eq!(p.class, class, "{p:?}");
        assert!((p.probability - prob).abs() <= 0.02, "{p:?} vs {prob}");
    };
    expect(&preds[0][0], 282, 0.41); // tiger cat
    expect(&preds[0][1], 285, 0.34); // Egyptian cat
    expect(&preds[0][2], 281, 0.17); // tabby
    expect(&preds[1][0], 967, 0.95); // espresso
}

#[test]
fn top1_accuracy_on_the_first_200_imagenet_validation_images_is_at_least_80_percent() {
    let Some(data) = shared_data("imagenet-val") else {
        return;
    };
    let labels = std::fs::read_to_string(data.join("labels.csv")).unwrap();
    let rows: Vec<(String, usize)> = labels
        .lines()
        .skip(1)
        .take(200)
        .map(|l| {
            let (f, c) = l.split_once(',').unwrap();
            (f.to_string(), c.trim().parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 200);
    let model = Model::builtin(&cpu()).unwrap();
    let mut correct = 0;
    for chunk in rows.chunks(25) {
        let inputs: Vec<Vec<f32>> = chunk
            .iter()
            .map(|(f, _)| {
                let img = load_image(&data.join("images").join(f)).unwrap();
                model.preprocess.prepare(&img).0
            })
            .collect();
        let (_, probs) = logits_and_probs(&model, &inputs).unwrap();
        for ((_, label), p) in chunk.iter().zip(&probs) {
            let top = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            correct += (top == *label) as usize;
        }
    }
    let acc = correct as f64 / 200.0;
    eprintln!(
        "Lite0 top-1 on the first 200 imagenet-val images: {:.1}%",
        acc * 100.0
    );
    assert!(acc >= 0.80, "top-1 {acc}");
}

#[test]
fn faithfulness_scores_come_from_the_masked_forward_passes() {
    use camlens::cam::{Map, Method, Monitor, Options, Session, run_method};
    use camlens::faithfulness::metrics::{Score, score_maps};
    let model = Model::builtin(&cpu()).unwrap();
    let img = load_image(&asset("samples/chelsea.png")).unwrap();
    let (input, _) = model.preprocess.prepare(&img);
    let mut s = Session::new(&model, input, model.layer_index(None).unwrap()).unwrap();
    let class = s.top_class();
    let cam = run_method(
        &mut s,
        Method::GradCam,
        class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    // An all-ones map keeps the input as it is: O = Y exactly, so no drop and no increase.
    let ones = Map::new(224, 224, vec![1.0; 224 * 224]);
    let flat = Map::new(224, 224, vec![0.0; 224 * 224]);
    let scores = score_maps(&s, &[&ones, &cam.map, &flat], class).unwrap();
    let same = scores[0];
    assert!((same.o_prob - same.y_prob).abs() < 1e-5, "{same:?}");
    assert!(same.drop_percent(Score::Probability) < 1e-3);
    assert!((same.y_prob - s.probs[class]).abs() < 1e-7);
    // GradCAM's map: O and the removed logit are the model's outputs for X ⊙ L and
    // X ⊙ (1 − L), computed here by hand, one input at a time.
    let g = scores[1];
    let n = 224 * 224;
    let masked = |keep: bool| -> Vec<f32> {
        s.input
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let l = cam.map.data[i % n];
                x * if keep { l } else { 1.0 - l }
            })
            .collect()
    };
    let (logits, probs) = logits_and_probs(&model, &[masked(true), masked(false)]).unwrap();
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * b.abs().max(1.0);
    assert!(
        close(g.o_prob, probs[0][class]),
        "{g:?} vs {}",
        probs[0][class]
    );
    assert!(
        close(g.o_logit, logits[0][class]),
        "{g:?} vs {}",
        logits[0][class]
    );
    assert!(
        close(g.removed_logit, logits[1][class]),
        "{g:?} vs {}",
        logits[1][class]
    );
    let d = g.drop_percent(Score::Probability);
    let want = 100.0 * (g.y_prob - probs[0][class]).max(0.0) / g.y_prob;
    assert!((d - want).abs() <= 1e-2, "drop {d} vs {want}");
    // A flat (all-zero) map scores the blank input: O is the model's output for zeros, and
    // removing nothing leaves the logit where it was.
    let (blank_logits, blank_probs) = logits_and_probs(&model, &[vec![0.0; 3 * n]]).unwrap();
    let f = scores[2];
    assert!(close(f.o_prob, blank_probs[0][class]), "{f:?}");
    assert!(close(f.o_logit, blank_logits[0][class]), "{f:?}");
    assert!(close(f.removed_logit, s.logits[class]), "{f:?}");
    assert!(f.logit_drop().abs() <= 1e-4, "{f:?}");
    let blank_drop = 100.0 * (f.y_prob - blank_probs[0][class]).max(0.0) / f.y_prob;
    assert!((f.drop_percent(Score::Probability) - blank_drop).abs() <= 1e-2);
}
