//! Reduced precision verified against f32, image by image, on one device: the same model opened
//! twice (f32, and f16 or bf16), every method run on both for the f32 prediction's class, and
//! what could change compared: the predicted class, each map (Pearson's r) and each map's
//! Average Drop. The goals (issue 15): the same class, r ≥ 0.999 and Average Drop within 0.3
//! points, for every method.

use super::convergence::pearson;
use crate::cam::{Method, Monitor};
use crate::error::Result;
use crate::faithfulness::metrics::{MapScores, Score};
use crate::models::Model;
use crate::pipeline::{ClassChoice, Pipeline, Request};
use image::RgbImage;
use serde::Serialize;

/// Smallest map correlation with f32's that counts as the same map.
pub const MIN_CORRELATION: f32 = 0.999;
/// Largest difference in Average Drop (points) that counts as the same faithfulness.
pub const MAX_AD_DIFFERENCE: f32 = 0.3;

/// One image compared.
#[derive(Debug, Clone, Serialize)]
pub struct ImageCheck {
    pub id: String,
    /// Top-1 class in f32 and in the reduced type.
    pub class_f32: usize,
    pub class_reduced: usize,
    /// Per method, in the request's order: r of the two maps, and each map's drop in
    /// confidence (%; Average Drop's term for this image) as f32 and as the reduced type.
    pub correlation: Vec<f32>,
    pub drop_f32: Vec<f32>,
    pub drop_reduced: Vec<f32>,
}

/// Runs `request` on `image` with both models, both explaining the f32 model's top class.
pub fn check_image(
    f32_model: &Model,
    reduced: &Model,
    id: &str,
    image: &RgbImage,
    request: &Request,
) -> Result<ImageCheck> {
    let monitor = Monitor::new();
    let full = Pipeline::new(f32_model, request.clone())?.explain(image.clone(), &monitor)?;
    let class = full.prepared.class;
    let pinned = request.clone().with_class(ClassChoice::Index(class));
    let low = Pipeline::new(reduced, pinned)?.explain(image.clone(), &monitor)?;
    let drops = |scores: &[MapScores]| {
        scores
            .iter()
            .map(|s| s.drop_percent(Score::Probability))
            .collect()
    };
    Ok(ImageCheck {
        id: id.to_string(),
        class_f32: class,
        class_reduced: low.prepared.top.first().map_or(usize::MAX, |p| p.class),
        correlation: full
            .results
            .iter()
            .zip(&low.results)
            .map(|(a, b)| pearson(&a.map, &b.map))
            .collect(),
        drop_f32: drops(&full.scores),
        drop_reduced: drops(&low.scores),
    })
}

/// One method over every image checked.
#[derive(Debug, Clone, Serialize)]
pub struct MethodCheck {
    pub method: String,
    pub min_correlation: f32,
    pub mean_correlation: f32,
    pub average_drop_f32: f32,
    pub average_drop_reduced: f32,
    pub passes: bool,
}

/// Everything a run found, and whether the goals hold.
#[derive(Debug, Clone, Serialize)]
pub struct PrecisionReport {
    /// The reduced type ("f16", "bf16") and the device line.
    pub precision: String,
    pub device: String,
    pub images: usize,
    pub same_class: usize,
    pub methods: Vec<MethodCheck>,
    pub passes: bool,
    pub per_image: Vec<ImageCheck>,
}

impl PrecisionReport {
    pub fn new(precision: &str, device: &str, methods: &[Method], checks: Vec<ImageCheck>) -> Self {
        let summaries: Vec<MethodCheck> = methods
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let r: Vec<f32> = checks.iter().map(|c| c.correlation[k]).collect();
                // Average Drop is the mean of the images' drops.
                let mean_of = |drop: &dyn Fn(&ImageCheck) -> f32| {
                    checks.iter().map(drop).sum::<f32>() / checks.len().max(1) as f32
                };
                let ad_f32 = mean_of(&|c| c.drop_f32[k]);
                let ad_low = mean_of(&|c| c.drop_reduced[k]);
                let min = r.iter().copied().fold(f32::INFINITY, f32::min);
                let mean = r.iter().sum::<f32>() / r.len().max(1) as f32;
                MethodCheck {
                    method: m.label().to_string(),
                    min_correlation: min,
                    mean_correlation: mean,
                    average_drop_f32: ad_f32,
                    average_drop_reduced: ad_low,
                    passes: min >= MIN_CORRELATION && (ad_f32 - ad_low).abs() <= MAX_AD_DIFFERENCE,
                }
            })
            .collect();
        let same_class = checks
            .iter()
            .filter(|c| c.class_f32 == c.class_reduced)
            .count();
        Self {
            precision: precision.to_string(),
            device: device.to_string(),
            images: checks.len(),
            same_class,
            // Nothing checked proves nothing.
            passes: !checks.is_empty()
                && same_class == checks.len()
                && summaries.iter().all(|m| m.passes),
            methods: summaries,
            per_image: checks,
        }
    }

    pub fn markdown(&self) -> String {
        let mut s = format!(
            "{} against f32 on {}: {} images, the same top-1 class on {}\n\n\
             | method | min r | mean r | AD f32 | AD {} | goals |\n|---|---|---|---|---|---|\n",
            self.precision, self.device, self.images, self.same_class, self.precision
        );
        for m in &self.methods {
            s.push_str(&format!(
                "| {} | {:.5} | {:.5} | {:.2} | {:.2} | {} |\n",
                m.method,
                m.min_correlation,
                m.mean_correlation,
                m.average_drop_f32,
                m.average_drop_reduced,
                if m.passes { "met" } else { "missed" }
            ));
        }
        s.push_str(&format!(
            "\nGoals (same class, r ≥ {MIN_CORRELATION}, AD within {MAX_AD_DIFFERENCE} points): {}\n",
            if self.passes { "met" } else { "missed" }
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(class: (usize, usize), r: f32, drops: (f32, f32)) -> ImageCheck {
        ImageCheck {
            id: "x".into(),
            class_f32: class.0,
            class_reduced: class.1,
            correlation: vec![r],
            drop_f32: vec![drops.0],
            drop_reduced: vec![drops.1],
        }
    }

    #[test]
    fn the_goals_need_every_class_every_map_and_the_mean_drop() {
        let report = |checks| PrecisionReport::new("f16", "test", &[Method::GradCam], checks);
        let good = || check((1, 1), 0.9995, (20.0, 20.2));
        assert!(report(vec![good(), good()]).passes);
        // Drops that differ by image but not on average are within the goal.
        let r = report(vec![
            check((1, 1), 1.0, (10.0, 10.5)),
            check((1, 1), 1.0, (30.0, 29.6)),
        ]);
        assert!(r.passes, "{}", r.markdown());
        assert!((r.methods[0].average_drop_reduced - 20.05).abs() < 1e-4);
        assert!(!report(vec![good(), check((1, 2), 1.0, (20.0, 20.0))]).passes);
        assert!(!report(vec![good(), check((1, 1), 0.998, (20.0, 20.0))]).passes);
        assert!(!report(vec![good(), check((1, 1), 1.0, (20.0, 20.7))]).passes);
        let none = report(vec![]);
        assert!(!none.passes, "nothing checked passed");
        assert!(none.markdown().contains("| GradCAM |"));
    }
}
