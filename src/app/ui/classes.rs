//! The class being explained: the top five, and a search of all class names ("why not that?").

use super::super::command::Command;
use super::super::state::CamlensApp;
use eframe::egui;

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    ui.heading("Class");
    let Some(e) = app.shown() else {
        ui.label("—");
        return;
    };
    let shown = e.class;
    let top = e.top.clone();
    for p in &top {
        let text = format!("{:>5.1}%  {}", 100.0 * p.probability, p.name);
        if ui.selectable_label(shown == Some(p.class), text).clicked() {
            app.commands.push(Command::SetClass(Some(p.class)));
        }
    }
    ui.add(egui::TextEdit::singleline(&mut app.search).hint_text("search all classes"));
    if app.search.len() >= 2
        && let Some(m) = &app.model
    {
        let q = app.search.to_lowercase();
        let hits: Vec<(usize, String)> = m
            .classes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.to_lowercase().contains(&q))
            .take(8)
            .map(|(i, n)| (i, n.clone()))
            .collect();
        for (i, n) in hits {
            if ui.small_button(format!("{i} {n}")).clicked() {
                app.commands.push(Command::SetClass(Some(i)));
            }
        }
    }
}
