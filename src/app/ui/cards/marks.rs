//! What a detector or a segmenter answered, over the cards: the boxes (every card, the one
//! explained thicker, captioned on the original) and the predicted classes' mask (the
//! original); a click on the original picks the box or the region under the pointer.

use crate::app::command::Command;
use crate::app::state::CamlensApp;
use crate::app::view::{UNIT, card_to_uv, draw_region};
use crate::draw::boxes::class_color;
use crate::focus::{Chosen, ClassChoice, Detected};
use crate::input::preprocess::CropBox;
use crate::models::Segmentation;
use eframe::egui;
use egui::emath::RectTransform;

/// How opaque the mask is over the photo.
const MASK_ALPHA: u8 = 110;

/// The crop the model saw, in the photo's uv square.
pub fn crop_uv(app: &CamlensApp, crop: CropBox) -> egui::Rect {
    let pic = &app.pictures[app.current].original;
    let (pw, ph) = (pic.width() as f32, pic.height() as f32);
    egui::Rect::from_min_size(
        egui::pos2(crop.x / pw, crop.y / ph),
        egui::vec2(crop.width / pw, crop.height / ph),
    )
}

pub fn color(class: usize) -> egui::Color32 {
    let [r, g, b] = class_color(class);
    egui::Color32::from_rgb(r, g, b)
}

/// Draws a detector's boxes on a card at `rect`, the one explained thicker and on top, with
/// their captions where asked (the original's card).
pub fn draw_boxes(app: &CamlensApp, ui: &egui::Ui, rect: egui::Rect, captions: bool) {
    let Some(e) = app.shown() else { return };
    let (Some(crop), Some(Chosen::Box(d))) = (e.crop, e.chosen.as_ref()) else {
        return;
    };
    let painter = ui.painter_at(rect);
    let to_screen = card_to_uv(rect, app.view_rect).inverse();
    let from_input = RectTransform::from_to(UNIT, crop_uv(app, crop));
    let size = app.model.as_ref().map_or(1, |m| m.input_size) as f32;
    let names = app.model.as_ref().map(|m| &m.classes);
    let mut order: Vec<usize> = (0..d.boxes.len()).filter(|&i| i != d.chosen).collect();
    order.push(d.chosen);
    for i in order {
        let b = &d.boxes[i];
        let corners = egui::Rect::from_min_max(
            egui::pos2(b.x1 / size, b.y1 / size),
            egui::pos2(b.x2 / size, b.y2 / size),
        );
        let on_screen = to_screen.transform_rect(from_input.transform_rect(corners));
        let width = if i == d.chosen { 3.0 } else { 1.5 };
        let stroke = egui::Stroke::new(width, color(b.class));
        painter.rect_stroke(on_screen, 0.0, stroke, egui::StrokeKind::Middle);
        if captions {
            let name = names.and_then(|n| n.get(b.class).cloned());
            let name = name.unwrap_or_else(|| b.class.to_string());
            painter.text(
                on_screen.left_top(),
                egui::Align2::LEFT_BOTTOM,
                format!("{i}: {name} {:.0}%", 100.0 * b.score),
                egui::FontId::proportional(11.0),
                color(b.class),
            );
        }
    }
}

/// Draws a segmenter's predicted classes over the original's card at `rect`.
pub fn draw_mask(app: &mut CamlensApp, ui: &egui::Ui, rect: egui::Rect) {
    let Some(e) = app.shown() else { return };
    let (Some(crop), Some(Chosen::Pixels(seg))) = (e.crop, e.chosen.as_ref()) else {
        return;
    };
    let region = crop_uv(app, crop);
    let key = app.key();
    let tex = match &app.textures.mask {
        Some((k, tex)) if *k == key => tex.clone(),
        _ => {
            let tex = mask_texture(ui.ctx(), seg);
            app.textures.mask = Some((key, tex.clone()));
            tex
        }
    };
    let painter = ui.painter_at(rect);
    draw_region(
        &painter,
        tex.id(),
        region,
        app.view_rect,
        rect,
        egui::Color32::WHITE,
    );
}

/// The mask's texture: each pixel its class's colour, translucent.
fn mask_texture(ctx: &egui::Context, seg: &Segmentation) -> egui::TextureHandle {
    let pixels: Vec<egui::Color32> = seg
        .labels
        .iter()
        .map(|&l| {
            let [r, g, b] = class_color(l as usize);
            egui::Color32::from_rgba_unmultiplied(r, g, b, MASK_ALPHA)
        })
        .collect();
    let image = egui::ColorImage {
        size: [seg.width, seg.height],
        source_size: egui::vec2(seg.width as f32, seg.height as f32),
        pixels,
    };
    ctx.load_texture("mask", image, egui::TextureOptions::NEAREST)
}

/// A click on the original card at `pos`: the box under it (the smallest, where boxes
/// overlap) or the class of the pixel under it, asked for.
pub fn pick(app: &mut CamlensApp, rect: egui::Rect, pos: egui::Pos2) {
    let Some(e) = app.shown() else { return };
    let (Some(crop), Some(chosen)) = (e.crop, e.chosen.as_ref()) else {
        return;
    };
    let uv = card_to_uv(rect, app.view_rect).transform_pos(pos);
    let at = RectTransform::from_to(crop_uv(app, crop), UNIT).transform_pos(uv);
    if !UNIT.contains(at) {
        return;
    }
    let size = app.model.as_ref().map_or(1, |m| m.input_size) as f32;
    // What is explained already is not asked for again.
    let choice = match chosen {
        Chosen::Box(d) => box_at(d, at.x * size, at.y * size)
            .filter(|&i| i != d.chosen)
            .map(ClassChoice::Box),
        Chosen::Pixels(seg) => {
            let x = ((at.x * seg.width as f32) as usize).min(seg.width - 1);
            let y = ((at.y * seg.height as f32) as usize).min(seg.height - 1);
            let class = seg.labels[y * seg.width + x] as usize;
            (Some(class) != e.class).then_some(ClassChoice::Index(class))
        }
    };
    if let Some(choice) = choice {
        app.commands.push(Command::Choose(choice));
    }
}

/// The smallest of the boxes that hold the point (model input pixels).
pub fn box_at(d: &Detected, x: f32, y: f32) -> Option<usize> {
    d.boxes
        .iter()
        .enumerate()
        .filter(|(_, b)| b.x1 <= x && x <= b.x2 && b.y1 <= y && y <= b.y2)
        .min_by(|(_, a), (_, b)| {
            let area = |d: &crate::models::detection::Detection| (d.x2 - d.x1) * (d.y2 - d.y1);
            area(a).total_cmp(&area(b))
        })
        .map(|(i, _)| i)
}
