//! A card's deletion and insertion curves, on demand: a button, then a progress bar, then the
//! two curves with their AUCs (and the value under the pointer).

use super::super::command::Command;
use super::super::state::CamlensApp;
use super::super::state::CardCurves;
use crate::cam::Method;
use crate::faithfulness::curves::Curves;
use eframe::egui;

const DELETION: egui::Color32 = egui::Color32::from_rgb(220, 60, 60);
const INSERTION: egui::Color32 = egui::Color32::from_rgb(70, 120, 230);

/// The curves' part of `method`'s card.
pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui, method: Method) {
    let state = app.shown().and_then(|e| e.curves.get(&method));
    match state {
        None => {
            if ui
                .button("Curves")
                .on_hover_text(
                    "Deletion and insertion (RISE): the class's probability as the map's \
                     pixels are removed from the image, or put back into a blurred copy",
                )
                .clicked()
            {
                app.commands.push(Command::ToggleCurves(method));
            }
        }
        Some(CardCurves::Computing { monitor, .. }) => {
            let (done, total) = monitor.progress();
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                        .desired_width(ui.available_width() - 70.0)
                        .text(format!("curves: {done}/{total} inputs")),
                );
                if ui.button("Cancel").clicked() {
                    app.commands.push(Command::CancelCurves(method));
                }
            });
        }
        Some(CardCurves::Ready { curves, shown }) => {
            let label = if *shown { "Hide curves" } else { "Curves" };
            let clicked = ui.button(label).clicked();
            if *shown {
                plot(ui, curves);
            }
            if clicked {
                app.commands.push(Command::ToggleCurves(method));
            }
        }
    }
}

/// Both curves over the fraction of pixels taken (x) and the probability (y, 0 to 1).
fn plot(ui: &mut egui::Ui, curves: &Curves) {
    let (rect, resp) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 90.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 2.0, visuals.extreme_bg_color);
    painter.rect_stroke(
        rect,
        2.0,
        visuals.widgets.noninteractive.bg_stroke,
        egui::StrokeKind::Inside,
    );
    let at = |k: usize, n: usize, p: f32| {
        egui::pos2(
            rect.left() + rect.width() * k as f32 / (n - 1).max(1) as f32,
            rect.bottom() - rect.height() * p.clamp(0.0, 1.0),
        )
    };
    for (values, color) in [(&curves.deletion, DELETION), (&curves.insertion, INSERTION)] {
        let n = values.len();
        let points: Vec<egui::Pos2> = values
            .iter()
            .enumerate()
            .map(|(k, &p)| at(k, n, p))
            .collect();
        painter.add(egui::Shape::line(points, egui::Stroke::new(1.5, color)));
    }
    if let Some(pos) = resp.hover_pos() {
        let n = curves.deletion.len();
        let f = ((pos.x - rect.left()) / rect.width()).clamp(0.0, 1.0);
        let k = ((f * (n - 1) as f32).round() as usize).min(n - 1);
        painter.vline(
            at(k, n, 0.0).x,
            rect.y_range(),
            visuals.widgets.noninteractive.fg_stroke,
        );
        resp.on_hover_text(format!(
            "{:.0}% of the pixels: deletion {:.3}, insertion {:.3}",
            100.0 * k as f32 / (n - 1).max(1) as f32,
            curves.deletion[k],
            curves.insertion.get(k).copied().unwrap_or(f32::NAN)
        ));
    }
    ui.small("probability (0 to 1) against the share of pixels taken, 224 per step");
    let (d, i) = curves.aucs();
    ui.colored_label(DELETION, format!("deletion AUC {d:.3} (lower is better)"));
    ui.colored_label(
        INSERTION,
        format!("insertion AUC {i:.3} (higher is better)"),
    );
}
