//! The scale under every picture of a map, so that a reader of a slide knows what red (or, for
//! the photo × map view, bright) means: the colours from the map's lowest to its highest value.
//! Maps are min-max normalised per map, so the ends are "low" and "high", not numbers.

use crate::draw::overlay::{Colormap, View, draw_text};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// The colour at `t` in 0–1 as `view` shows a map: the colormap, or the photo's brightness.
pub fn color_at(t: f32, view: View, cmap: Colormap) -> [u8; 3] {
    match view {
        View::Explanation => [(t.clamp(0.0, 1.0) * 255.0).round() as u8; 3],
        View::Overlay | View::Heatmap => cmap.color(t),
    }
}

/// What the two ends of the scale are called.
pub const ENDS: [&str; 2] = ["low", "high"];

/// A strip `width` pixels wide: the scale as a bar, "low" under its left end, "high" under its
/// right, and what it measures between them where there is room.
pub fn strip(width: u32, view: View, cmap: Colormap) -> RgbImage {
    let font = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font");
    let scale = PxScale::from(14.0);
    let (pad, bar) = (6u32, 10u32);
    let line = (scale.y * 1.3).ceil() as u32;
    let mut out = RgbImage::from_pixel(width, pad + bar + 2 + line, Rgb([255, 255, 255]));
    let (x0, x1) = (pad.min(width / 4), width.saturating_sub(pad.min(width / 4)));
    let span = (x1 - x0).max(2) - 1;
    for x in x0..x1 {
        let c = color_at((x - x0) as f32 / span as f32, view, cmap);
        for y in pad..pad + bar {
            out.put_pixel(x, y, Rgb(c));
        }
    }
    let y = (pad + bar + 2) as i32;
    let [low, high] = ENDS;
    draw_text(&mut out, &font, scale, x0 as i32, y, low);
    let high_w = text_width(&font, scale, high);
    draw_text(&mut out, &font, scale, x1 as i32 - high_w as i32, y, high);
    let middle = match view {
        View::Explanation => "map value (brightness), normalised per map",
        _ => "map value, normalised per map",
    };
    let mid_w = text_width(&font, scale, middle);
    let room = x1.saturating_sub(x0) as f32 - text_width(&font, scale, low) - high_w;
    if mid_w + 24.0 < room {
        let x = (x0 + x1) as f32 / 2.0 - mid_w / 2.0;
        draw_text(&mut out, &font, scale, x as i32, y, middle);
    }
    out
}

/// `img` with the scale under it.
pub fn with_legend(img: &RgbImage, view: View, cmap: Colormap) -> RgbImage {
    let s = strip(img.width(), view, cmap);
    let mut out = RgbImage::from_pixel(img.width(), img.height() + s.height(), Rgb([255; 3]));
    image::imageops::overlay(&mut out, img, 0, 0);
    image::imageops::overlay(&mut out, &s, 0, img.height() as i64);
    out
}

fn text_width(font: &FontRef, scale: PxScale, text: &str) -> f32 {
    let sf = font.as_scaled(scale);
    text.chars().map(|c| sf.h_advance(sf.glyph_id(c))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_runs_from_the_lowest_colour_to_the_highest() {
        let s = strip(300, View::Overlay, Colormap::Jet);
        assert_eq!(s.width(), 300);
        assert_eq!(s.get_pixel(6, 8).0, Colormap::Jet.color(0.0));
        assert_eq!(s.get_pixel(293, 8).0, Colormap::Jet.color(1.0));
        let e = strip(300, View::Explanation, Colormap::Jet);
        assert_eq!(e.get_pixel(6, 8).0, [0, 0, 0]);
        assert_eq!(e.get_pixel(293, 8).0, [255, 255, 255]);
        // Labels are drawn: some dark pixels under the bar.
        let below = |img: &RgbImage| {
            (0..img.width())
                .flat_map(|x| (20..img.height()).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128)
                .count()
        };
        assert!(below(&s) > 20);
        let framed = with_legend(&RgbImage::new(300, 100), View::Heatmap, Colormap::Viridis);
        assert_eq!(framed.height(), 100 + s.height());
    }
}
