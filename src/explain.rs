//! One image through the engine: open, prepare, explain with several methods (fast ones first),
//! keeping what rendering needs (the original, the crop, the prediction).

use crate::cam::{CamResult, Method, Monitor, Options, Session};
use crate::classify::{Prediction, top_k};
use crate::error::Result;
use crate::metrics::{MapScores, Score, score_maps};
use crate::models::Model;
use crate::overlay::{Colormap, Panel, View, render, sheet};
use crate::preprocess::{CropBox, load_image};
use image::RgbImage;
use std::path::Path;

pub struct Explained {
    pub image: RgbImage,
    pub crop: CropBox,
    pub top: Vec<Prediction>,
    pub class: usize,
    /// Softmax probability of `class` on the unmasked input.
    pub probability: f32,
    pub results: Vec<CamResult>,
    /// Each result's faithfulness scores (Average Drop, Increase in Confidence, logit drop).
    pub faithfulness: Vec<MapScores>,
}

/// Fast (gradient) methods first: they share one backward and appear at once.
pub fn ordered(methods: &[Method]) -> Vec<Method> {
    let mut m = methods.to_vec();
    m.sort_by_key(|m| m.is_slow());
    m.dedup();
    m
}

pub fn explain_image(
    model: &Model,
    path: &Path,
    methods: &[Method],
    class: Option<usize>,
    layer: usize,
    options: &Options,
    monitor: &Monitor,
) -> Result<Explained> {
    let image = load_image(path)?;
    explain_rgb(model, image, methods, class, layer, options, monitor)
}

/// As [`explain_image`], for an image already in memory.
pub fn explain_rgb(
    model: &Model,
    image: RgbImage,
    methods: &[Method],
    class: Option<usize>,
    layer: usize,
    options: &Options,
    monitor: &Monitor,
) -> Result<Explained> {
    let (input, crop) = model.preprocess.prepare(&image);
    let mut session = Session::new(model, input, layer)?;
    let class = session.class_or_top(class)?;
    let top = top_k(model, &session.logits, &session.probs, 5);
    let probability = session.probs[class];
    let mut results = vec![];
    for m in ordered(methods) {
        results.push(session.explain(m, class, options, monitor)?);
    }
    let maps: Vec<&crate::cam::Map> = results.iter().map(|r| &r.map).collect();
    let faithfulness = score_maps(&session, &maps, class)?;
    Ok(Explained {
        image,
        crop,
        top,
        class,
        probability,
        results,
        faithfulness,
    })
}

/// Each result rendered on the original image.
pub fn render_all(ex: &Explained, view: View, cmap: Colormap, alpha: f32) -> Vec<RgbImage> {
    ex.results
        .iter()
        .map(|r| render(&ex.image, &r.map, &ex.crop, view, cmap, alpha))
        .collect()
}

/// The explained image's comparison sheet: see [`comparison_sheet`].
pub fn explained_sheet(
    ex: &Explained,
    rendered: &[RgbImage],
    class_name: &str,
    title: &str,
) -> RgbImage {
    let cards: Vec<(&RgbImage, &CamResult, &MapScores)> = rendered
        .iter()
        .zip(&ex.results)
        .zip(&ex.faithfulness)
        .map(|((img, r), f)| (img, r, f))
        .collect();
    comparison_sheet(&ex.image, &cards, class_name, ex.probability, title)
}

/// The original and one captioned panel per method (method, time, drop, class, probability,
/// approximation, flatness), titled. The CLI and the app's export both draw theirs with it.
pub fn comparison_sheet(
    original: &RgbImage,
    cards: &[(&RgbImage, &CamResult, &MapScores)],
    class_name: &str,
    probability: f32,
    title: &str,
) -> RgbImage {
    let mut panels = vec![Panel {
        image: original,
        caption: vec![
            "original".into(),
            format!("{} ({:.1}%)", class_name, 100.0 * probability),
        ],
    }];
    for &(img, r, f) in cards {
        let mut caption = vec![
            format!(
                "{} ({:.0} ms)",
                r.method.label(),
                r.elapsed.as_secs_f64() * 1e3
            ),
            f.caption(Score::Probability),
            format!(
                "class {} '{}' {:.1}%",
                r.class,
                class_name,
                100.0 * probability
            ),
        ];
        if let Some(a) = &r.approximate {
            caption.push(a.clone());
        }
        if r.flat {
            caption.push("flat map".into());
        }
        panels.push(Panel {
            image: img,
            caption,
        });
    }
    sheet(&panels, 320, 4, title)
}
