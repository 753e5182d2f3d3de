//! What is explained: a classifier's five most probable classes, a detector's boxes or a
//! segmenter's classes present (their colours the mask's legend), and a search of all class
//! names ("why not that?").

use super::super::command::Command;
use super::super::state::CamlensApp;
use super::cards::marks::color;
use crate::focus::{Chosen, ClassChoice};
use eframe::egui;

/// One line of the list: what a click asks for, its text, its colour (boxes and regions), and
/// whether it is what the cards show.
struct Entry {
    choice: ClassChoice,
    text: String,
    color: Option<egui::Color32>,
    shown: bool,
}

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    let Some(e) = app.shown() else {
        ui.heading("Class");
        ui.label("—");
        return;
    };
    let name = |c: usize| {
        let names = app.model.as_ref().map(|m| &m.classes);
        names
            .and_then(|n| n.get(c).cloned())
            .unwrap_or_else(|| c.to_string())
    };
    let (heading, entries): (&str, Vec<Entry>) = match &e.chosen {
        Some(Chosen::Box(d)) => (
            "Boxes",
            d.boxes
                .iter()
                .enumerate()
                .map(|(i, b)| Entry {
                    choice: ClassChoice::Box(i),
                    text: format!("{i}: {} {:.0}%", name(b.class), 100.0 * b.score),
                    color: Some(color(b.class)),
                    shown: i == d.chosen,
                })
                .collect(),
        ),
        Some(Chosen::Pixels(seg)) => {
            let shares = seg.shares();
            let mut present: Vec<usize> = (0..seg.classes).filter(|&c| shares[c] > 0.0).collect();
            present.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]));
            let entries = present
                .into_iter()
                .map(|c| Entry {
                    choice: ClassChoice::Index(c),
                    text: format!("{:>5.1}%  {}", 100.0 * shares[c], name(c)),
                    color: Some(color(c)),
                    shown: e.class == Some(c),
                })
                .collect();
            ("Regions", entries)
        }
        None => {
            let entries = e
                .top
                .iter()
                .map(|p| Entry {
                    choice: ClassChoice::Index(p.class),
                    text: format!("{:>5.1}%  {}", 100.0 * p.probability, p.name),
                    color: None,
                    shown: e.class == Some(p.class),
                })
                .collect();
            ("Class", entries)
        }
    };
    ui.heading(heading);
    egui::ScrollArea::vertical()
        .id_salt("choices")
        .max_height(220.0)
        .show(ui, |ui| {
            for entry in entries {
                let clicked = match entry.color {
                    Some(c) => {
                        ui.horizontal(|ui| {
                            let (r, _) = ui
                                .allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                            ui.painter().rect_filled(r, 2.0, c);
                            ui.selectable_label(entry.shown, entry.text).clicked()
                        })
                        .inner
                    }
                    None => ui.selectable_label(entry.shown, entry.text).clicked(),
                };
                if clicked {
                    app.commands.push(Command::Choose(entry.choice));
                }
            }
        });
    search(app, ui);
}

/// Any class by name: a classifier's or segmenter's class, a detector's best box of it.
fn search(app: &mut CamlensApp, ui: &mut egui::Ui) {
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
                app.commands.push(Command::Choose(ClassChoice::Index(i)));
            }
        }
    }
}
