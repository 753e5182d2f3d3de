//! The status bar (device, model, activity, first-heatmap time, last notice) and the window of
//! problems, each dismissable.

use super::super::state::CamlensApp;
use eframe::egui;

pub fn bar(app: &mut CamlensApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.label(&app.backend_label);
        ui.separator();
        if let Some(m) = &app.model {
            ui.label(&m.name);
        }
        // Words, not a spinner: an animation would repaint the window all the time.
        if app.is_busy() {
            ui.separator();
            ui.label("working…");
        }
        if let Some(t) = app.timings.first_heatmap {
            ui.separator();
            ui.label(format!("first heatmap in {:.0} ms", t.as_secs_f64() * 1e3));
        }
        if let Some(n) = app.notices.last() {
            ui.separator();
            ui.label(n);
        }
    });
}

pub fn problems(app: &mut CamlensApp, ctx: &egui::Context) {
    if app.errors.is_empty() {
        return;
    }
    let mut dismiss = None;
    egui::Window::new("Problems")
        .collapsible(false)
        .show(ctx, |ui| {
            for (i, e) in app.errors.iter().enumerate() {
                ui.horizontal(|ui| {
                    ui.label(e);
                    if ui.button("Dismiss").clicked() {
                        dismiss = Some(i);
                    }
                });
            }
        });
    if let Some(i) = dismiss {
        app.errors.remove(i);
    }
}
