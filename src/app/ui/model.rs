//! The model: its name, the target layer, and where its weights come from.

use super::super::command::Command;
use super::super::command::Purpose;
use super::super::state::CamlensApp;
use crate::compute::precision::Precision;
use eframe::egui;

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    ui.heading("Model");
    if let Some(m) = &app.model {
        ui.label(&m.name);
        ui.label(egui::RichText::new(format!("input: {}", m.preprocess)).small())
            .on_hover_text("set by a model.json beside an ONNX model");
        if let Some(scores) = &m.scores {
            ui.label(egui::RichText::new(format!("scores: {scores}")).small());
        }
        let mut layer = app.layer;
        ui.label(egui::RichText::new("target layer").small());
        // Exported graphs name layers by module path: the box takes the panel's width and
        // truncates; the full name is in the list and on hover.
        egui::ComboBox::from_id_salt("layer")
            .width(ui.available_width())
            .truncate()
            .selected_text(
                m.layers
                    .get(layer)
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
            )
            .show_ui(ui, |ui| {
                for (i, l) in m.layers.iter().enumerate() {
                    ui.selectable_value(&mut layer, i, l.to_string());
                }
            })
            .response
            .on_hover_text(
                m.layers
                    .get(app.layer)
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
            );
        if layer != app.layer {
            app.commands.push(Command::SetLayer(layer));
        }
    } else {
        ui.label("loading…");
    }
    ui.horizontal(|ui| {
        if ui.button("Open model…").clicked() {
            app.commands.push(Command::Ask(Purpose::LoadWeights));
        }
        if ui.button("Built-in model").clicked() {
            app.commands.push(Command::LoadWeights(None));
        }
    });
    let mut precision = app.settings.precision;
    egui::ComboBox::from_label("precision")
        .selected_text(precision.name())
        .show_ui(ui, |ui| {
            for p in Precision::ALL {
                ui.selectable_value(&mut precision, p, p.name());
            }
        })
        .response
        .on_hover_text(
            "float type of the convolutions and matrix products; auto: f16 where the GPU has \
             tensor cores for it, f32 elsewhere (the status bar says which is in use)",
        );
    if precision != app.settings.precision {
        app.commands.push(Command::SetPrecision(precision));
    }
}
