//! The part of the image every card shows (zoom and pan shared by all cards), as transforms
//! between a card on screen and the image's uv square.

use eframe::egui;
use egui::emath::RectTransform;

/// The whole image, in uv coordinates.
pub const UNIT: egui::Rect = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));

/// Screen positions on `card` → image uv, when `view` is what the card shows.
pub fn card_to_uv(card: egui::Rect, view: egui::Rect) -> RectTransform {
    RectTransform::from_to(card, view)
}

/// Draws the part of `tex` (which covers `region` of the image, in uv) that falls inside the
/// shown `view` onto `card`.
pub fn draw_region(
    painter: &egui::Painter,
    tex: egui::TextureId,
    region: egui::Rect,
    view: egui::Rect,
    card: egui::Rect,
    tint: egui::Color32,
) {
    let visible = region.intersect(view);
    if visible.width() <= 0.0 || visible.height() <= 0.0 {
        return;
    }
    let to_screen = card_to_uv(card, view).inverse();
    let to_tex = RectTransform::from_to(region, UNIT);
    painter.image(
        tex,
        to_screen.transform_rect(visible),
        to_tex.transform_rect(visible),
        tint,
    );
}

/// Scroll to zoom (about the pointer), drag to pan, double-click to reset: the new view.
pub fn zoom_and_pan(
    view: egui::Rect,
    ui: &egui::Ui,
    resp: &egui::Response,
    card: egui::Rect,
) -> egui::Rect {
    if resp.double_clicked() {
        return UNIT;
    }
    let to_uv = card_to_uv(card, view);
    let mut v = view;
    if resp.dragged() {
        v = v.translate(-resp.drag_delta() * to_uv.scale());
    }
    if let Some(pos) = resp.hover_pos() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            let factor = (-scroll * 0.002).exp();
            let anchor = to_uv.transform_pos(pos);
            let size = (v.size() * factor)
                .min(UNIT.size())
                .max(egui::vec2(1.0 / 16.0, 1.0 / 16.0));
            let rel = (anchor - v.min) / v.size();
            v = egui::Rect::from_min_size(anchor - rel * size, size);
        }
    }
    // Keep the view inside the image.
    let shift = egui::vec2(
        (-v.min.x).max(0.0) - (v.max.x - 1.0).max(0.0),
        (-v.min.y).max(0.0) - (v.max.y - 1.0).max(0.0),
    );
    v.translate(shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_maps_onto_the_shown_part_of_the_image() {
        let card = egui::Rect::from_min_size(egui::pos2(100.0, 50.0), egui::vec2(200.0, 100.0));
        let view = egui::Rect::from_min_max(egui::pos2(0.5, 0.0), egui::pos2(1.0, 0.5));
        let t = card_to_uv(card, view);
        let near = |a: egui::Pos2, b: egui::Pos2| assert!((a - b).length() < 1e-4, "{a:?} {b:?}");
        near(
            t.transform_pos(egui::pos2(100.0, 50.0)),
            egui::pos2(0.5, 0.0),
        );
        near(
            t.transform_pos(egui::pos2(300.0, 150.0)),
            egui::pos2(1.0, 0.5),
        );
        near(
            t.inverse().transform_pos(egui::pos2(0.75, 0.25)),
            egui::pos2(200.0, 100.0),
        );
    }
}
