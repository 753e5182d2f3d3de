//! The image list: open buttons and one row per loaded picture.

use super::super::command::Command;
use super::super::command::Purpose;
use super::super::state::CamlensApp;
use eframe::egui;

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    ui.heading("Images");
    ui.horizontal(|ui| {
        if ui.button("Open files…").clicked() {
            app.commands.push(Command::Ask(Purpose::OpenFiles));
        }
        if ui.button("Open folder…").clicked() {
            app.commands.push(Command::Ask(Purpose::OpenFolder));
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("pictures")
        .max_height(220.0)
        .show(ui, |ui| {
            let ctx = ui.ctx().clone();
            for i in 0..app.pictures.len() {
                let tex = app.pictures[i].texture(&ctx);
                let selected = i == app.current;
                ui.horizontal(|ui| {
                    ui.add(egui::Image::new(&tex).max_size(egui::vec2(48.0, 48.0)));
                    if ui
                        .selectable_label(selected, &app.pictures[i].name)
                        .clicked()
                    {
                        app.commands.push(Command::Select(i));
                    }
                });
            }
        });
}
