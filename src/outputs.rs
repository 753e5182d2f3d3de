//! What is written of an explained image: overlays at the photo's own resolution (with the
//! colour scale under them, if asked), the maps as `.npy`, each map's deletion and insertion
//! curves (CSV and plot), and the captioned comparison sheet; and the names of those files.
//! `camlens explain`, the demo, the app's card, sheet and batch exports all write through here.

use crate::cam::{CamResult, Map, Method, Monitor};
use crate::draw::boxes::{DrawnBox, draw_boxes};
use crate::draw::overlay::{
    Colormap, Panel, View, check_writable, render, save_npy, save_png, sheet,
};
use crate::error::{Access, Error, Result};
use crate::faithfulness::curves::{Curves, Substrates};
use crate::faithfulness::metrics::{MapScores, Score};
use crate::input::preprocess::CropBox;
use crate::models::Model;
use crate::pipeline::{Chosen, Detected, Explained};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// How maps are drawn over their photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub view: View,
    pub colormap: Colormap,
    /// The heatmap's opacity over the photo.
    pub alpha: f32,
    /// The colour scale (low to high) under each overlay written.
    pub legend: bool,
    /// A detector's maps normalised inside each box and zero outside (pytorch-grad-cam's YOLO
    /// tutorial view, `Map::renormalised_in`).
    pub in_boxes: bool,
}

impl Look {
    /// `map` drawn over `image` (where `crop` says the model's input lies).
    pub fn render(&self, image: &RgbImage, map: &Map, crop: &CropBox) -> RgbImage {
        render(image, map, crop, self.view, self.colormap, self.alpha)
    }

    /// The overlay as a PNG at `path`, the colour scale under it if asked.
    pub fn write_overlay(
        &self,
        image: &RgbImage,
        map: &Map,
        crop: &CropBox,
        path: &Path,
        overwrite: bool,
    ) -> Result<()> {
        self.write(&self.render(image, map, crop), path, overwrite)
    }

    /// An overlay already drawn, as a PNG, the colour scale under it if asked.
    pub fn write(&self, overlay: &RgbImage, path: &Path, overwrite: bool) -> Result<()> {
        if self.legend {
            let with = crate::draw::legend::with_legend(overlay, self.view, self.colormap);
            save_png(&with, path, overwrite)
        } else {
            save_png(overlay, path, overwrite)
        }
    }
}

/// What to write of each explained image, where, and how it looks.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    pub dir: PathBuf,
    pub look: Look,
    /// The maps as `.npy`: normalised at input size (`.npy`), after ReLU at the layer's
    /// resolution (`.layer.npy`), and before ReLU (`.raw.npy`).
    pub raw: bool,
    /// Each map's deletion and insertion curves (RISE's settings) as CSV and a plot.
    pub curves: bool,
    /// A side-by-side comparison sheet per image.
    pub grid: bool,
    /// Replace existing files.
    pub overwrite: bool,
}

impl OutputSpec {
    /// Only the overlays, in `dir`, never replacing a file.
    pub fn overlays(dir: &Path, look: Look) -> Self {
        Self {
            dir: dir.to_owned(),
            look,
            raw: false,
            curves: false,
            grid: false,
            overwrite: false,
        }
    }

    /// The files written for `image` explained by `methods`: `DIR/<image stem>.<method>.png`
    /// (`.npy`, `.layer.npy`, `.raw.npy`, `.curves.csv`, `.curves.png`) and `DIR/<stem>.grid.png`.
    pub fn files(&self, image: &Path, methods: &[Method]) -> Outputs {
        let stem = image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let file = |suffix: String| self.dir.join(format!("{stem}.{suffix}"));
        let pair =
            |a: &str, b: &str, id: &str| (file(format!("{id}.{a}")), file(format!("{id}.{b}")));
        Outputs {
            methods: methods
                .iter()
                .map(|m| MethodOutputs {
                    png: file(format!("{}.png", m.file_id())),
                    npy: self.raw.then(|| NpyFiles {
                        normalised: file(format!("{}.npy", m.file_id())),
                        layer: file(format!("{}.layer.npy", m.file_id())),
                        raw: file(format!("{}.raw.npy", m.file_id())),
                    }),
                    curves: self
                        .curves
                        .then(|| pair("curves.csv", "curves.png", &m.file_id())),
                })
                .collect(),
            grid: self.grid.then(|| file("grid.png".into())),
        }
    }
}

/// What [`write`] wrote for one image, and the curves' areas it measured.
pub struct Written {
    pub files: Outputs,
    /// Per method, with `curves`: (deletion AUC, insertion AUC).
    pub aucs: Vec<Option<(f32, f32)>>,
}

/// Everything `spec` asks for of `ex` (explained from `image`); the sheet titled `title`.
pub fn write(
    model: &Model,
    ex: &Explained,
    image: &Path,
    title: &str,
    spec: &OutputSpec,
) -> Result<Written> {
    let methods: Vec<Method> = ex.results.iter().map(|r| r.method).collect();
    let files = spec.files(image, &methods);
    let rendered = render_all(ex, &spec.look, &model.classes);
    // The curves of every method start from the same input and blur: made once per image.
    let size = model.preprocess.size as usize;
    let substrates = spec.curves.then(|| Substrates::new(ex.input.clone(), size));
    let mut aucs = vec![];
    for ((img, r), out) in rendered.iter().zip(&ex.results).zip(&files.methods) {
        spec.look.write(img, &out.png, spec.overwrite)?;
        if let Some(npy) = &out.npy {
            save_npy(&r.map, &npy.normalised, spec.overwrite)?;
            save_npy(&r.rectified(), &npy.layer, spec.overwrite)?;
            save_npy(&r.raw, &npy.raw, spec.overwrite)?;
        }
        aucs.push(match (&out.curves, &substrates) {
            (Some(paths), Some(input)) => {
                let curves = Curves::of(model, input, &r.map.data, r.class, &Monitor::new())?;
                write_curves(&curves, r.method, r.class, paths, spec.overwrite)?;
                Some(curves.aucs())
            }
            _ => None,
        });
    }
    if let Some(p) = &files.grid {
        let class_name = &model.classes[ex.prepared.class];
        let scale = (spec.look.view, spec.look.colormap);
        let sheet = explained_sheet(ex, &rendered, class_name, title, scale);
        save_png(&sheet, p, spec.overwrite)?;
    }
    Ok(Written { files, aucs })
}

/// One map's curves as CSV and as a plot.
fn write_curves(
    curves: &Curves,
    method: Method,
    class: usize,
    (csv, png): &(PathBuf, PathBuf),
    overwrite: bool,
) -> Result<()> {
    check_writable(csv, overwrite)?;
    std::fs::write(csv, curves.to_csv()).map_err(Error::io(Access::Write, csv))?;
    let plot = curves.plot(&format!("{}: class {class}", method.label()));
    save_png(&plot, png, overwrite)
}

/// Each result rendered on the original image, with a segmenter's region outlined or a
/// detector's boxes drawn.
pub fn render_all(ex: &Explained, look: &Look, classes: &[String]) -> Vec<RgbImage> {
    let p = &ex.prepared;
    let marks = (&p.crop, p.chosen.as_ref(), p.class);
    ex.results
        .iter()
        .map(|r| render_marked(&ex.image, &r.map, marks, look, classes))
        .collect()
}

/// One map rendered on the original image as `look` says, with what was chosen of a
/// segmenter's or detector's answer marked (`(crop, chosen, class)`): the class's region
/// outlined, or the boxes drawn (the map renormalised inside them, where the look asks).
pub fn render_marked(
    image: &RgbImage,
    map: &Map,
    (crop, chosen, class): (&CropBox, Option<&Chosen>, usize),
    look: &Look,
    classes: &[String],
) -> RgbImage {
    let detected = match chosen {
        Some(Chosen::Box(d)) => Some(d),
        _ => None,
    };
    let in_boxes = detected.filter(|_| look.in_boxes).map(|d| {
        let corners: Vec<[f32; 4]> = d.boxes.iter().map(|b| [b.x1, b.y1, b.x2, b.y2]).collect();
        map.renormalised_in(&corners)
    });
    let mut img = look.render(image, in_boxes.as_ref().unwrap_or(map), crop);
    if let Some(Chosen::Pixels(s)) = chosen {
        let inside: Vec<bool> = s.labels.iter().map(|&l| l == class as u32).collect();
        crate::draw::overlay::outline(&mut img, &inside, s.width, s.height, crop);
    }
    if let Some(d) = detected {
        draw_boxes(&mut img, &drawn_boxes(d, crop, map.width, classes));
    }
    img
}

/// A detector's boxes in the photo's pixels, captioned with class name and score.
pub fn drawn_boxes(d: &Detected, crop: &CropBox, size: usize, classes: &[String]) -> Vec<DrawnBox> {
    d.boxes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let [x1, y1] = crop.to_photo(b.x1, b.y1, size);
            let [x2, y2] = crop.to_photo(b.x2, b.y2, size);
            let name = classes
                .get(b.class)
                .cloned()
                .unwrap_or_else(|| b.class.to_string());
            DrawnBox {
                corners: [x1, y1, x2, y2],
                class: b.class,
                caption: format!("{i}: {name} {:.0}%", 100.0 * b.score),
                chosen: i == d.chosen,
            }
        })
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
        .map(|((img, r), f)| (img, r, Some(f)))
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
    crate::draw::legend::with_legend(&sheet(&panels, 320, 4, title), scale.0, scale.1)
}

/// The files `explain` writes for one image, in the order it writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// Per method: the overlay PNG, and with `raw` its maps as `.npy`.
    pub methods: Vec<MethodOutputs>,
    /// The comparison sheet, when asked for.
    pub grid: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MethodOutputs {
    pub png: PathBuf,
    pub npy: Option<NpyFiles>,
    /// With `curves`: the deletion and insertion curves as CSV and as a PNG plot.
    pub curves: Option<(PathBuf, PathBuf)>,
}

/// One map as three `.npy` files, each `(height, width)` float32.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyFiles {
    /// ReLU, upsampled to the input size, min-max normalised: what the overlay shows.
    pub normalised: PathBuf,
    /// After the method's ReLU at the layer's resolution, neither resized nor normalised: the
    /// map to compare with pytorch-grad-cam's or torch-cam's before their resizing.
    pub layer: PathBuf,
    /// Before ReLU (can be negative): the method's weighted sum itself.
    pub raw: PathBuf,
}

impl NpyFiles {
    pub fn all(&self) -> [&PathBuf; 3] {
        [&self.normalised, &self.layer, &self.raw]
    }
}

impl Outputs {
    pub fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.methods
            .iter()
            .flat_map(|m| {
                std::iter::once(&m.png)
                    .chain(m.npy.iter().flat_map(NpyFiles::all))
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
        let look = Look {
            view: View::Overlay,
            colormap: Colormap::Jet,
            alpha: 0.5,
            legend: false,
            in_boxes: false,
        };
        let spec = OutputSpec {
            raw: true,
            curves: true,
            grid: true,
            ..OutputSpec::overlays(Path::new("out"), look)
        };
        let o = spec.files(Path::new("photos/cat.jpg"), &[Method::GradCamPlusPlus]);
        let names: Vec<String> = o.all().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "out/cat.gradcampp.png",
                "out/cat.gradcampp.npy",
                "out/cat.gradcampp.layer.npy",
                "out/cat.gradcampp.raw.npy",
                "out/cat.gradcampp.curves.csv",
                "out/cat.gradcampp.curves.png",
                "out/cat.grid.png"
            ]
        );
    }
}
