//! What `camlens explain` and the demo make of an explained image: overlays at the photo's own
//! resolution, the captioned comparison sheet (which the app's export draws too), and the names
//! of the files they are written to.

use crate::cam::{CamResult, Method};
use crate::metrics::{MapScores, Score};
use crate::overlay::{Colormap, Panel, View, render, sheet};
use crate::pipeline::Explained;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// Each result rendered on the original image.
pub fn render_all(ex: &Explained, view: View, cmap: Colormap, alpha: f32) -> Vec<RgbImage> {
    ex.results
        .iter()
        .map(|r| render(&ex.image, &r.map, &ex.prepared.crop, view, cmap, alpha))
        .collect()
}

/// The explained image's comparison sheet: see [`comparison_sheet`].
pub fn explained_sheet(
    ex: &Explained,
    rendered: &[RgbImage],
    class_name: &str,
    title: &str,
    scale: (View, Colormap),
) -> RgbImage {
    let cards: Vec<(&RgbImage, &CamResult, Option<&MapScores>)> = rendered
        .iter()
        .zip(&ex.results)
        .zip(&ex.scores)
        .map(|((img, r), f)| (img, r, f.as_ref()))
        .collect();
    comparison_sheet(
        &ex.image,
        &cards,
        class_name,
        ex.prepared.probability,
        title,
        scale,
    )
}

/// The original and one captioned panel per method (method, time, drop, class, probability,
/// approximation, flatness), titled, with the colour scale of `scale` (the view and colormap
/// the panels were drawn with) under it. The CLI and the app's export both draw theirs with it.
pub fn comparison_sheet(
    original: &RgbImage,
    cards: &[(&RgbImage, &CamResult, Option<&MapScores>)],
    class_name: &str,
    probability: f32,
    title: &str,
    scale: (View, Colormap),
) -> RgbImage {
    let mut panels = vec![Panel {
        image: original,
        caption: vec![
            "original".into(),
            format!("{} ({:.1}%)", class_name, 100.0 * probability),
        ],
    }];
    for &(img, r, f) in cards {
        let mut caption = vec![format!(
            "{} ({:.0} ms)",
            r.method.label(),
            r.elapsed.as_secs_f64() * 1e3
        )];
        caption.extend(f.map(|f| f.caption(Score::Probability)));
        caption.push(format!(
            "class {} '{}' {:.1}%",
            r.class,
            class_name,
            100.0 * probability
        ));
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
    crate::legend::with_legend(&sheet(&panels, 320, 4, title), scale.0, scale.1)
}

/// The files `explain` writes for one image, in the order it writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// Per method: the overlay PNG, and with `raw` the normalised and raw maps as `.npy`.
    pub methods: Vec<MethodOutputs>,
    /// The comparison sheet, when asked for.
    pub grid: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MethodOutputs {
    pub png: PathBuf,
    pub npy: Option<(PathBuf, PathBuf)>,
    /// With `curves`: the deletion and insertion curves as CSV and as a PNG plot.
    pub curves: Option<(PathBuf, PathBuf)>,
}

impl Outputs {
    /// `DIR/<image stem>.<method>.png` (`.npy`, `.raw.npy`, `.curves.csv`, `.curves.png`) and
    /// `DIR/<stem>.grid.png`.
    pub fn for_image(
        dir: &Path,
        image: &Path,
        methods: &[Method],
        raw: bool,
        grid: bool,
        curves: bool,
    ) -> Self {
        let stem = image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let file = |suffix: String| dir.join(format!("{stem}.{suffix}"));
        Self {
            methods: methods
                .iter()
                .map(|m| MethodOutputs {
                    png: file(format!("{}.png", m.file_id())),
                    npy: raw.then(|| {
                        (
                            file(format!("{}.npy", m.file_id())),
                            file(format!("{}.raw.npy", m.file_id())),
                        )
                    }),
                    curves: curves.then(|| {
                        (
                            file(format!("{}.curves.csv", m.file_id())),
                            file(format!("{}.curves.png", m.file_id())),
                        )
                    }),
                })
                .collect(),
            grid: grid.then(|| file("grid.png".into())),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.methods
            .iter()
            .flat_map(|m| {
                std::iter::once(&m.png)
                    .chain(m.npy.iter().flat_map(|(a, b)| [a, b]))
                    .chain(m.curves.iter().flat_map(|(a, b)| [a, b]))
            })
            .chain(&self.grid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_named_after_the_image_and_method() {
        let o = Outputs::for_image(
            Path::new("out"),
            Path::new("photos/cat.jpg"),
            &[Method::GradCamPlusPlus],
            true,
            true,
            true,
        );
        let names: Vec<String> = o.all().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "out/cat.gradcampp.png",
                "out/cat.gradcampp.npy",
                "out/cat.gradcampp.raw.npy",
                "out/cat.gradcampp.curves.csv",
                "out/cat.gradcampp.curves.png",
                "out/cat.grid.png"
            ]
        );
    }
}
