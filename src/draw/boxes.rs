//! A detector's boxes drawn on the photo: each in its class's colour with its label and score
//! above it, the explained box thicker, drawn last so that it is on top.

use crate::draw::overlay::draw_text;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// A box in the photo's own pixels (corners), with its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnBox {
    pub corners: [f32; 4],
    pub class: usize,
    pub caption: String,
    /// The box being explained.
    pub chosen: bool,
}

/// Ultralytics' palette, so that a class has the colour its users know.
const PALETTE: [[u8; 3]; 20] = [
    [255, 56, 56],
    [255, 157, 151],
    [255, 112, 31],
    [255, 178, 29],
    [207, 210, 49],
    [72, 249, 10],
    [146, 204, 23],
    [61, 219, 134],
    [26, 147, 52],
    [0, 212, 187],
    [44, 153, 168],
    [0, 194, 255],
    [52, 69, 147],
    [100, 115, 255],
    [0, 24, 236],
    [132, 56, 255],
    [82, 0, 133],
    [203, 56, 255],
    [255, 149, 200],
    [255, 55, 199],
];

pub fn class_color(class: usize) -> [u8; 3] {
    PALETTE[class % PALETTE.len()]
}

/// Draws `boxes` on `img`: the others first, the chosen one last.
pub fn draw_boxes(img: &mut RgbImage, boxes: &[DrawnBox]) {
    let font = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font");
    let short = img.width().min(img.height()) as f32;
    let scale = PxScale::from((short / 40.0).clamp(11.0, 28.0));
    let thin = ((short / 400.0).round() as u32).max(1);
    let (others, chosen): (Vec<&DrawnBox>, Vec<&DrawnBox>) = boxes.iter().partition(|b| !b.chosen);
    for b in others.into_iter().chain(chosen) {
        let width = if b.chosen { 3 * thin } else { thin };
        let color = class_color(b.class);
        rectangle(img, b.corners, width, color);
        caption(img, &font, scale, b, color);
    }
}

/// The outline of `corners`, `width` pixels inside them.
fn rectangle(img: &mut RgbImage, corners: [f32; 4], width: u32, color: [u8; 3]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let [x1, y1, x2, y2] = corners.map(|v| v.round() as i64);
    let (x1, y1) = (x1.clamp(0, w - 1), y1.clamp(0, h - 1));
    let (x2, y2) = ((x2 - 1).clamp(0, w - 1), (y2 - 1).clamp(0, h - 1));
    let t = width as i64;
    for y in y1..=y2 {
        for x in x1..=x2 {
            let edge = x < x1 + t || x > x2 - t || y < y1 + t || y > y2 - t;
            if edge {
                img.put_pixel(x as u32, y as u32, Rgb(color));
            }
        }
    }
}

/// The caption on a filled band in the box's colour, above the box (inside it at the top edge
/// of the photo).
fn caption(img: &mut RgbImage, font: &FontRef, scale: PxScale, b: &DrawnBox, color: [u8; 3]) {
    let sf = font.as_scaled(scale);
    let text_width: f32 = b
        .caption
        .chars()
        .map(|c| sf.h_advance(sf.glyph_id(c)))
        .sum();
    let band = (sf.height() + 2.0).ceil() as i64;
    let x = (b.corners[0].round() as i64).clamp(0, img.width() as i64 - 1);
    let top = b.corners[1].round() as i64;
    let y = if top - band >= 0 {
        top - band
    } else {
        top.max(0)
    };
    let right = (x + text_width.ceil() as i64 + 4).min(img.width() as i64);
    let bottom = (y + band).min(img.height() as i64);
    for py in y..bottom {
        for px in x..right {
            img.put_pixel(px as u32, py as u32, Rgb(color));
        }
    }
    draw_text(img, font, scale, x as i32 + 2, y as i32 + 1, &b.caption);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chosen box is drawn on top of an overlapping one, thicker; nothing outside the
    /// boxes and their captions changes.
    #[test]
    fn the_chosen_box_is_thicker_and_on_top() {
        let mut img = RgbImage::from_pixel(400, 400, Rgb([128, 128, 128]));
        let boxes = [
            DrawnBox {
                corners: [100.0, 100.0, 300.0, 300.0],
                class: 0,
                caption: "a 50%".into(),
                chosen: true,
            },
            DrawnBox {
                corners: [100.0, 150.0, 250.0, 250.0],
                class: 5,
                caption: "b 40%".into(),
                chosen: false,
            },
        ];
        draw_boxes(&mut img, &boxes);
        // The chosen box's left edge is 3 pixels wide where the other's lies under it.
        for x in 100..103 {
            assert_eq!(img.get_pixel(x, 200).0, class_color(0), "x {x}");
        }
        assert_eq!(img.get_pixel(103, 120).0, [128, 128, 128]);
        // The other box's right edge, 1 pixel.
        assert_eq!(img.get_pixel(249, 200).0, class_color(5));
        assert_eq!(img.get_pixel(247, 200).0, [128, 128, 128]);
        // Far from both, nothing.
        assert_eq!(img.get_pixel(350, 350).0, [128, 128, 128]);
        // The caption's band above the chosen box.
        assert_ne!(img.get_pixel(110, 95).0, [128, 128, 128]);
    }
}
