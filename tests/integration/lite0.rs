//! The built-in EfficientNet-Lite0 on real images.

use crate::common::*;
use camlens::classify::{logits_and_probs, predict_files};
use camlens::models::Model;
use camlens::preprocess::load_image;

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
    let labels = std::fs::read_to_string(shared_data("imagenet-val/labels.csv")).unwrap();
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
                let img = load_image(&shared_data(&format!("imagenet-val/images/{f}"))).unwrap();
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
    use camlens::cam::{Map, Method, Monitor, Options, Session, explain};
    use camlens::metrics::{Score, score_maps};
    let model = Model::builtin(&cpu()).unwrap();
    let img = load_image(&asset("samples/chelsea.png")).unwrap();
    let (input, _) = model.preprocess.prepare(&img);
    let mut s = Session::new(&model, input, model.layer_index(None).unwrap()).unwrap();
    let class = s.top_class();
    let cam = explain(
        &mut s,
        Method::GradCam,
        class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    // An all-ones map keeps the input as it is: O = Y exactly, so no drop and no increase.
    let ones = Map::new(224, 224, vec![1.0; 224 * 224]);
    let scores = score_maps(&s, &[&ones, &cam.map], class).unwrap();
    let same = scores[0];
    assert!((same.o_prob - same.y_prob).abs() < 1e-5, "{same:?}");
    assert!(same.drop_percent(Score::Probability) < 1e-3);
    assert!((same.y_prob - s.probs[class]).abs() < 1e-7);
    // GradCAM's map keeps some of the evidence: a real, finite drop below 100 %.
    let g = scores[1];
    assert!(g.o_prob > 0.0 && g.o_prob <= 1.0);
    let d = g.drop_percent(Score::Probability);
    assert!((0.0..100.0).contains(&d), "{g:?}");
    assert!(g.logit_drop().is_finite());
}
