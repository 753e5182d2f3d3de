//! Bar charts of evaluation summaries, drawn directly (no plotting dependency): one bar per
//! method, its value printed above it, the metric as the title.

use crate::overlay::{Colormap, draw_text};
use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};

/// A `width × height` chart of `values` (one per label); bars start at zero.
pub fn bar_chart(
    title: &str,
    labels: &[String],
    values: &[f32],
    width: u32,
    height: u32,
) -> RgbImage {
    let font = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font");
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let (title_s, label_s) = (PxScale::from(20.0), PxScale::from(14.0));
    draw_text(&mut img, &font, title_s, 12, 8, title);
    let (top, bottom, left) = (60u32, 56u32, 16u32);
    let plot_h = height.saturating_sub(top + bottom).max(1);
    let n = labels.len().max(1) as u32;
    let slot = (width - 2 * left) / n;
    let max = values
        .iter()
        .copied()
        .fold(0.0f32, f32::max)
        .max(f32::MIN_POSITIVE);
    let min = values.iter().copied().fold(0.0f32, f32::min);
    let span = max - min;
    let zero_y = top + ((max / span) * plot_h as f32) as u32;
    for (i, (label, &v)) in labels.iter().zip(values).enumerate() {
        let x0 = left + i as u32 * slot + slot / 6;
        let x1 = left + (i as u32 + 1) * slot - slot / 6;
        let h = ((v.abs() / span) * plot_h as f32) as u32;
        let (y0, y1) = if v >= 0.0 {
            (zero_y - h, zero_y)
        } else {
            (zero_y, zero_y + h)
        };
        let c = Colormap::Viridis.color(i as f32 / (n.max(2) - 1) as f32);
        for y in y0..y1.max(y0 + 1) {
            for x in x0..x1 {
                img.put_pixel(x, y.min(height - 1), Rgb(c));
            }
        }
        draw_text(
            &mut img,
            &font,
            label_s,
            x0 as i32,
            y0 as i32 - 20,
            &format!("{v:.2}"),
        );
        let short: String = label.chars().take(((slot / 7) as usize).max(4)).collect();
        draw_text(
            &mut img,
            &font,
            label_s,
            x0 as i32 - slot as i32 / 8,
            (height - bottom + 8) as i32,
            &short,
        );
    }
    for x in left..width - left {
        img.put_pixel(x, zero_y.min(height - 1), Rgb([40, 40, 40]));
    }
    img
}

#[cfg(test)]
mod tests {
    #[test]
    fn taller_values_get_taller_bars() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let img = super::bar_chart("t", &labels, &[1.0, 2.0], 400, 300);
        let count = |x: u32| {
            (0..300)
                .filter(|&y| img.get_pixel(x, y).0 != [255, 255, 255])
                .count()
        };
        // Centres of the two bars.
        assert!(count(300) > count(110), "{} vs {}", count(300), count(110));
    }
}
