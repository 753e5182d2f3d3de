//! How the cards look (colormap, opacity, view) and the exports of everything shown.

use super::super::command::Command;
use super::super::command::Purpose;
use super::super::state::CamlensApp;
use crate::draw::overlay::{Colormap, View};
use crate::focus::Chosen;
use eframe::egui;

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    ui.heading("Display");
    egui::ComboBox::from_label("colormap")
        .selected_text(app.settings.colormap.id())
        .show_ui(ui, |ui| {
            for c in Colormap::ALL {
                ui.selectable_value(&mut app.settings.colormap, c, c.id());
            }
        });
    ui.add(egui::Slider::new(&mut app.settings.alpha, 0.0..=1.0).text("opacity"));
    ui.horizontal(|ui| {
        ui.radio_value(&mut app.settings.view, View::Overlay, "overlay");
        ui.radio_value(&mut app.settings.view, View::Heatmap, "heatmap");
        ui.radio_value(&mut app.settings.view, View::Explanation, "image × map");
    });
    let detector = app
        .shown()
        .is_some_and(|e| matches!(e.chosen, Some(Chosen::Box(_))));
    if detector {
        ui.checkbox(&mut app.settings.in_boxes, "renormalised in the boxes")
            .on_hover_text("each box's map scaled to 0–1 (pytorch-grad-cam's YOLO tutorial)");
    }
    ui.checkbox(&mut app.settings.legend, "colour scale under exported PNGs")
        .on_hover_text("sheets always have it");
    if let Some(b) = &app.batch {
        let (done, total) = b.progress();
        ui.add(
            egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                .text(format!("exporting {done}/{total} images")),
        );
        if ui.button("Cancel export").clicked() {
            b.cancel();
        }
    } else if ui.button("Export all images…").clicked() {
        app.commands.push(Command::Ask(Purpose::BatchExport));
    }
    if ui.button("Export sheet…").clicked() {
        app.commands.push(Command::Ask(Purpose::ExportSheet));
    }
}
