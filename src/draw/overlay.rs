//! Turning maps into pictures: colormaps, the map placed back on the original photo (undoing the
//! centre crop and resize), side-by-side comparison sheets with captions, and PNG/NPY files.

use crate::cam::Map;
use crate::error::{Access, Error, Result};
use crate::input::preprocess::CropBox;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Colormap {
    #[default]
    Jet,
    Turbo,
    Viridis,
    Inferno,
    Magma,
    Plasma,
}

impl Colormap {
    pub const ALL: [Colormap; 6] = [
        Colormap::Jet,
        Colormap::Turbo,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Magma,
        Colormap::Plasma,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Colormap::Jet => "jet",
            Colormap::Turbo => "turbo",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Magma => "magma",
            Colormap::Plasma => "plasma",
        }
    }

    /// The colour of `t` in [0, 1].
    pub fn color(self, t: f32) -> [u8; 3] {
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let g = match self {
            // Jet has no table in colorous; it is the classic piecewise-linear formula.
            Colormap::Jet => {
                let c = |x: f32| ((1.5 - x.abs()).clamp(0.0, 1.0) * 255.0).round() as u8;
                return [c(4.0 * t - 3.0), c(4.0 * t - 2.0), c(4.0 * t - 1.0)];
            }
            Colormap::Turbo => colorous::TURBO,
            Colormap::Viridis => colorous::VIRIDIS,
            Colormap::Inferno => colorous::INFERNO,
            Colormap::Magma => colorous::MAGMA,
            Colormap::Plasma => colorous::PLASMA,
        };
        let c = g.eval_continuous(t as f64);
        [c.r, c.g, c.b]
    }
}

impl std::str::FromStr for Colormap {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Colormap::ALL
            .into_iter()
            .find(|c| c.id() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown colormap '{s}': expected {}",
                    Colormap::ALL.map(|c| c.id()).join(", ")
                ))
            })
    }
}

/// What a card shows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
pub enum View {
    /// The heatmap blended over the photo.
    #[default]
    Overlay,
    /// The heatmap alone.
    Heatmap,
    /// The photo multiplied by the map ("what the model looked at").
    Explanation,
}

/// Renders `view` of `map` (normalised, input size) on the original image.
pub fn render(
    img: &RgbImage,
    map: &Map,
    crop: &CropBox,
    view: View,
    cmap: Colormap,
    alpha: f32,
) -> RgbImage {
    // The map covers the crop box, sampled at each photo pixel's centre (the box need not be
    // whole pixels, nor square: torchvision scales the two axes by slightly different factors).
    let alpha = alpha.clamp(0.0, 1.0);
    let mut out = img.clone();
    for (x, y, px) in out.enumerate_pixels_mut() {
        let Some((u, v)) = crop.uv(x, y) else {
            // The model never saw this part of the photo: dim it rather than invent a value.
            px.0 = px.0.map(|v| (v as f32 * 0.45) as u8);
            continue;
        };
        let t = map.sample(u, v);
        let c = cmap.color(t);
        px.0 = match view {
            View::Overlay => {
                let mut o = [0u8; 3];
                for i in 0..3 {
                    o[i] = ((1.0 - alpha) * px.0[i] as f32 + alpha * c[i] as f32).round() as u8;
                }
                o
            }
            View::Heatmap => c,
            View::Explanation => px.0.map(|v| (v as f32 * t).round() as u8),
        };
    }
    out
}

/// Outlines a region given on a grid over the crop box (a segmenter's pixels of the explained
/// class, `width × height`, row-major): each photo pixel whose cell differs from the cell one
/// photo pixel to its right or below is drawn white, a one-pixel line along the region's border
/// at the photo's own resolution.
pub fn outline(img: &mut RgbImage, inside: &[bool], width: usize, height: usize, crop: &CropBox) {
    const COLOR: [u8; 3] = [255, 255, 255];
    let cell = |x: u32, y: u32| -> Option<bool> {
        let (u, v) = crop.uv(x, y)?;
        let (i, j) = ((v * height as f32) as usize, (u * width as f32) as usize);
        inside
            .get(i.min(height - 1) * width + j.min(width - 1))
            .copied()
    };
    let (w, h) = img.dimensions();
    let mut border = vec![];
    for y in 0..h {
        for x in 0..w {
            let Some(here) = cell(x, y) else { continue };
            let right = (x + 1 < w).then(|| cell(x + 1, y)).flatten();
            let below = (y + 1 < h).then(|| cell(x, y + 1)).flatten();
            if here && (right == Some(false) || below == Some(false))
                || !here && (right == Some(true) || below == Some(true))
            {
                border.push((x, y));
            }
        }
    }
    for (x, y) in border {
        img.put_pixel(x, y, image::Rgb(COLOR));
    }
}

/// One panel of a comparison sheet.
pub struct Panel<'a> {
    pub image: &'a RgbImage,
    pub caption: Vec<String>,
}

/// Panels side by side (wrapping after `columns`), each scaled to `height` px, captions below.
pub fn sheet(panels: &[Panel], height: u32, columns: usize, title: &str) -> RgbImage {
    let font = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font");
    let scale = PxScale::from((height as f32 / 16.0).clamp(13.0, 22.0));
    let line = (scale.y * 1.3).ceil() as u32;
    let lines = panels.iter().map(|p| p.caption.len()).max().unwrap_or(0) as u32;
    let scaled: Vec<RgbImage> = panels
        .iter()
        .map(|p| {
            let w =
                (p.image.width() as f64 * height as f64 / p.image.height() as f64).round() as u32;
            image::imageops::resize(
                p.image,
                w.max(1),
                height,
                image::imageops::FilterType::Triangle,
            )
        })
        .collect();
    let cell_w = scaled.iter().map(|i| i.width()).max().unwrap_or(1);
    let columns = columns.max(1).min(panels.len().max(1));
    let rows = panels.len().div_ceil(columns) as u32;
    let pad = 8;
    let title_h = if title.is_empty() { 0 } else { line + pad };
    let cell_h = height + lines * line + pad;
    let mut out = RgbImage::from_pixel(
        columns as u32 * (cell_w + pad) + pad,
        title_h + rows * (cell_h + pad) + pad,
        Rgb([255, 255, 255]),
    );
    draw_text(&mut out, &font, scale, pad as i32, pad as i32, title);
    for (i, (img, panel)) in scaled.iter().zip(panels).enumerate() {
        let cx = pad + (i % columns) as u32 * (cell_w + pad);
        let cy = title_h + pad + (i / columns) as u32 * (cell_h + pad);
        image::imageops::overlay(&mut out, img, cx as i64, cy as i64);
        for (j, text) in panel.caption.iter().enumerate() {
            draw_text(
                &mut out,
                &font,
                scale,
                cx as i32,
                (cy + height + 4 + j as u32 * line) as i32,
                text,
            );
        }
    }
    out
}

pub(crate) fn draw_text(
    img: &mut RgbImage,
    font: &FontRef,
    scale: PxScale,
    x: i32,
    y: i32,
    text: &str,
) {
    let sf = font.as_scaled(scale);
    let mut caret = x as f32;
    let baseline = y as f32 + sf.ascent();
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, baseline));
        caret += sf.h_advance(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px, py) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                    let p = img.get_pixel_mut(px as u32, py as u32);
                    p.0 = p.0.map(|v| (v as f32 * (1.0 - cov)).round() as u8);
                }
            });
        }
    }
}

/// Writes a PNG, refusing to replace an existing file unless `overwrite`.
pub fn save_png(img: &RgbImage, path: &Path, overwrite: bool) -> Result<()> {
    check_writable(path, overwrite)?;
    img.save(path).map_err(|e| match e {
        image::ImageError::IoError(source) => Error::io(Access::Write, path)(source),
        e => Error::Invalid(format!("cannot write {}: {e}", path.display())),
    })
}

/// Writes a map as a little-endian float32 `.npy` (NumPy format 1.0), shape `(height, width)`.
pub fn save_npy(map: &Map, path: &Path, overwrite: bool) -> Result<()> {
    check_writable(path, overwrite)?;
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        map.height, map.width
    );
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(map.data.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).map_err(Error::io(Access::Write, path.to_owned()))
}

/// Refuses an existing file unless `overwrite`, in the words every export uses.
pub fn check_writable(path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(Error::Invalid(format!(
            "{} exists; not overwriting it (use --overwrite)",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell of a 2×2 grid over an 8×8 photo: its border, the last column and row of its
    /// 4×4 pixels, is drawn, nothing else.
    #[test]
    fn a_region_is_outlined_along_its_border() {
        let mut img = RgbImage::new(8, 8);
        let crop = CropBox::square(0, 0, 8, 8, 8);
        outline(&mut img, &[true, false, false, false], 2, 2, &crop);
        let white: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [255, 255, 255])
            .map(|(x, y, _)| (x, y))
            .collect();
        let mut expected: Vec<(u32, u32)> = (0..4).flat_map(|i| [(3, i), (i, 3)]).collect();
        expected.sort_by_key(|&(x, y)| (y, x));
        expected.dedup();
        assert_eq!(white, expected);
    }

    #[test]
    fn jet_runs_blue_to_red() {
        assert_eq!(Colormap::Jet.color(0.0), [0, 0, 128]);
        assert_eq!(Colormap::Jet.color(1.0), [128, 0, 0]);
        assert_eq!(Colormap::Jet.color(0.5), [128, 255, 128]);
    }

    #[test]
    fn overlay_keeps_the_original_size_and_dims_outside_the_crop() {
        let img = RgbImage::from_pixel(300, 200, Rgb([200, 200, 200]));
        let crop = crate::input::preprocess::Preprocess::torchvision().crop_box(300, 200);
        let map = Map::new(2, 2, vec![1.0; 4]);
        let out = render(&img, &map, &crop, View::Heatmap, Colormap::Jet, 0.5);
        assert_eq!(out.dimensions(), (300, 200));
        assert_eq!(out.get_pixel(0, 100).0, [90, 90, 90]);
        assert_eq!(out.get_pixel(150, 100).0, Colormap::Jet.color(1.0));
    }

    #[test]
    fn the_map_lies_on_torchvisions_crop_of_the_photo() {
        // 451×300 → resized 384×256, crop (80, 16) of 224: in the photo, x from 93.96 to
        // 357.08, y from 18.75 to 281.25.
        let img = RgbImage::from_pixel(451, 300, Rgb([200, 200, 200]));
        let crop = crate::input::preprocess::Preprocess::torchvision().crop_box(451, 300);
        // Left half 0, right half 1.
        let map = Map::new(2, 1, vec![0.0, 1.0]);
        let out = render(&img, &map, &crop, View::Heatmap, Colormap::Jet, 1.0);
        assert_eq!(
            out.get_pixel(93, 150).0,
            [90, 90, 90],
            "the column before the box"
        );
        assert_eq!(out.get_pixel(94, 150).0, Colormap::Jet.color(0.0));
        assert_eq!(out.get_pixel(356, 150).0, Colormap::Jet.color(1.0));
        assert_eq!(
            out.get_pixel(357, 150).0,
            [90, 90, 90],
            "the column after it"
        );
        assert_eq!(out.get_pixel(95, 18).0, [90, 90, 90]);
        assert_eq!(out.get_pixel(95, 19).0, Colormap::Jet.color(0.0));
        assert_eq!(out.get_pixel(95, 280).0, Colormap::Jet.color(0.0));
        assert_eq!(out.get_pixel(95, 281).0, [90, 90, 90]);
    }

    #[test]
    fn npy_header_is_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        save_npy(&Map::new(3, 2, vec![0.5; 6]), &p, false).unwrap();
        let b = std::fs::read(&p).unwrap();
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(b.len(), 10 + hlen + 24);
        assert!(save_npy(&Map::new(3, 2, vec![0.5; 6]), &p, false).is_err());
    }
}
