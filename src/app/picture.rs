//! One loaded picture: the original (for computing and exports) and a display copy (for
//! textures), which is all the UI ever uploads.

use eframe::egui;
use image::RgbImage;
use std::sync::Arc;

/// The display copy's longest side: sharp on a card, light to upload.
const DISPLAY_SIDE: u32 = 768;

pub struct Picture {
    pub name: String,
    pub original: Arc<RgbImage>,
    pub(crate) display: RgbImage,
    texture: Option<egui::TextureHandle>,
}

impl Picture {
    pub fn new(name: String, original: RgbImage) -> Self {
        let (w, h) = original.dimensions();
        let scale = (DISPLAY_SIDE as f32 / w.max(h) as f32).min(1.0);
        let display = image::imageops::resize(
            &original,
            ((w as f32 * scale) as u32).max(1),
            ((h as f32 * scale) as u32).max(1),
            image::imageops::FilterType::Triangle,
        );
        Self {
            name,
            original: Arc::new(original),
            display,
            texture: None,
        }
    }

    pub(crate) fn texture(&mut self, ctx: &egui::Context) -> egui::TextureHandle {
        self.texture
            .get_or_insert_with(|| {
                ctx.load_texture(
                    format!("picture:{}", self.name),
                    color_image(&self.display),
                    egui::TextureOptions::LINEAR,
                )
            })
            .clone()
    }
}

pub(crate) fn color_image(img: &RgbImage) -> egui::ColorImage {
    egui::ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw())
}
