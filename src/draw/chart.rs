//! Charts drawn directly (no plotting dependency): bar charts of evaluation summaries (one bar
//! per method, its value above it, the metric as the title) and the line charts of deletion and
//! insertion curves.

use crate::draw::overlay::{Colormap, draw_text};
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

/// A `width × height` chart of curves over x from 0 to 1 and y from 0 to 1 (probabilities):
/// each series as a line in its colour, named in a key under the title.
pub fn line_chart(
    title: &str,
    series: &[(String, &[f32], [u8; 3])],
    width: u32,
    height: u32,
) -> RgbImage {
    let font = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font");
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let (title_s, label_s) = (PxScale::from(18.0), PxScale::from(14.0));
    draw_text(&mut img, &font, title_s, 12, 8, title);
    let top = 36 + 20 * series.len() as u32;
    for (i, (name, _, color)) in series.iter().enumerate() {
        let y = 36 + 20 * i as u32;
        for x in 16..40 {
            for t in 0..3 {
                img.put_pixel(x, y + 8 + t, Rgb(*color));
            }
        }
        draw_text(&mut img, &font, label_s, 46, y as i32, name);
    }
    let (left, right, bottom) = (44u32, 16u32, 36u32);
    let (w, h) = (
        width.saturating_sub(left + right).max(2),
        height.saturating_sub(top + bottom).max(2),
    );
    let at = |fx: f32, fy: f32| {
        (
            left as f32 + fx * (w - 1) as f32,
            (top + h - 1) as f32 - fy.clamp(0.0, 1.0) * (h - 1) as f32,
        )
    };
    let axis = Rgb([40, 40, 40]);
    for x in left..left + w {
        img.put_pixel(x, top + h - 1, axis);
    }
    for y in top..top + h {
        img.put_pixel(left, y, axis);
    }
    let small = |img: &mut RgbImage, x: f32, y: f32, text: &str| {
        draw_text(img, &font, label_s, x as i32, y as i32, text)
    };
    small(&mut img, 20.0, top as f32 - 8.0, "1");
    small(&mut img, 20.0, (top + h) as f32 - 16.0, "0");
    small(&mut img, left as f32 + 4.0, (top + h + 6) as f32, "0");
    small(
        &mut img,
        (left + w) as f32 - 60.0,
        (top + h + 6) as f32,
        "fraction 1",
    );
    for (_, values, color) in series {
        let n = values.len().saturating_sub(1).max(1) as f32;
        for (i, pair) in values.windows(2).enumerate() {
            let (x0, y0) = at(i as f32 / n, pair[0]);
            let (x1, y1) = at((i + 1) as f32 / n, pair[1]);
            // Enough points along the segment for a line without gaps, two pixels thick.
            let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
            for k in 0..=steps {
                let t = k as f32 / steps as f32;
                let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                for (dx, dy) in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)] {
                    let (px, py) = ((x + dx) as u32, (y + dy) as u32);
                    if px < width && py < height {
                        img.put_pixel(px, py, Rgb(*color));
                    }
                }
            }
        }
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

    #[test]
    fn a_falling_curve_is_drawn_from_top_left_to_bottom_right() {
        let red = [200, 0, 0];
        let img = super::line_chart("t", &[("d".into(), &[1.0, 0.0], red)], 300, 200);
        let reds = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1)
                .flat_map(|x| (y0..y1).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0 == red)
                .count()
        };
        // The key's swatch is red too: look below it.
        assert!(reds(44, 80, 56, 80) > 0, "top left");
        assert!(reds(250, 290, 140, 170) > 0, "bottom right");
        assert_eq!(reds(250, 290, 56, 80), 0, "not top right");
    }
}
