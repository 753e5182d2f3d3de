//! Which methods to compute, and their options under "Advanced".

use super::super::command::Command;
use super::super::state::CamlensApp;
use crate::cam::wrapper::default_refine_layers;
use crate::cam::{Gate, Method, RefineLayers, ScoreMode};
use eframe::egui;

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    ui.heading("Methods");
    let mut changed = false;
    let mut all = Method::ALL.iter().all(|m| app.settings.methods.contains(m));
    if ui.checkbox(&mut all, "all").changed() {
        changed = true;
        app.settings.methods = if all { Method::ALL.to_vec() } else { vec![] };
    }
    for (family, methods) in Method::by_family() {
        let on = |app: &CamlensApp| methods.iter().all(|m| app.settings.methods.contains(m));
        let mut whole = on(app);
        ui.separator();
        let header = ui
            .checkbox(&mut whole, egui::RichText::new(family.name()).strong())
            .on_hover_text(family.cost());
        if header.changed() {
            changed = true;
            app.settings.methods.retain(|m| !methods.contains(m));
            if whole {
                app.settings.methods.extend(&methods);
            }
        }
        ui.label(egui::RichText::new(family.cost()).small().weak());
        for m in methods {
            let mut on = app.settings.methods.contains(&m);
            let why_not = app
                .model
                .as_ref()
                .and_then(|info| info.unavailable.iter().find(|(u, _)| *u == m))
                .map(|(_, why)| *why);
            let b = ui
                .add_enabled(why_not.is_none(), egui::Checkbox::new(&mut on, m.label()))
                .on_hover_text(m.spec().about)
                .on_disabled_hover_text(why_not.unwrap_or_default());
            if b.changed() {
                changed = true;
                if on {
                    app.settings.methods.push(m);
                } else {
                    app.settings.methods.retain(|x| *x != m);
                }
            }
        }
    }
    if changed {
        app.commands.push(Command::Explain);
    }
    advanced(app, ui);
    if app.settings.methods.contains(&Method::RefineCam) {
        refine_layers(app, ui);
    }
}

/// RefineCAM's layers: the default for the target layer until one is ticked.
fn refine_layers(app: &mut CamlensApp, ui: &mut egui::Ui) {
    let Some(model) = &app.model else {
        return;
    };
    let o = &mut app.settings.options;
    let chosen = o
        .refine
        .chosen()
        .unwrap_or_else(|| default_refine_layers(&model.layers, app.layer));
    let mut next = chosen.clone();
    let mut reset = false;
    egui::CollapsingHeader::new("RefineCAM layers").show(ui, |ui| {
        for (i, l) in model.layers.iter().enumerate() {
            let mut on = chosen.contains(&i);
            if ui.checkbox(&mut on, l.to_string()).changed() {
                next.retain(|&x| x != i);
                if on {
                    next.push(i);
                }
            }
        }
        reset = o.refine.chosen().is_some() && ui.button("default layers").clicked();
    });
    if reset {
        o.refine = RefineLayers::default();
        app.commands.push(Command::Explain);
    } else if next != chosen {
        next.sort_unstable();
        // At least one layer and at most RefineLayers::MAX: a refused tick changes nothing.
        if let Ok(r) = RefineLayers::new(&next) {
            o.refine = r;
            app.commands.push(Command::Explain);
        }
    }
}

/// The options under "Advanced": ScoreCAM++'s variants, approximations, pytorch-grad-cam's
/// smoothing, the sampled methods' counts.
fn advanced(app: &mut CamlensApp, ui: &mut egui::Ui) {
    let mut changed = false;
    egui::CollapsingHeader::new("Advanced").show(ui, |ui| {
        let o = &mut app.settings.options;
        let before = *o;
        egui::ComboBox::from_label("ScoreCAM++ gate")
            .selected_text(o.scorecam_pp.gate.id())
            .show_ui(ui, |ui| {
                for g in Gate::ALL {
                    ui.selectable_value(&mut o.scorecam_pp.gate, g, g.id());
                }
            });
        ui.radio_value(
            &mut o.scorecam_pp.mode,
            ScoreMode::Probability,
            "weights: probability (authors' code)",
        );
        ui.radio_value(
            &mut o.scorecam_pp.mode,
            ScoreMode::IncreaseInConfidence,
            "weights: increase in confidence (paper)",
        );
        ui.checkbox(
            &mut o.scorecam_pp.gate_in_normalization_only,
            "gate in the normalisation only",
        );
        let mut top = o.top_channels.is_some();
        ui.checkbox(&mut top, "top-N channels (approximation)");
        if top {
            let mut n = o.top_channels.unwrap_or(64);
            ui.add(egui::Slider::new(&mut n, 8..=512).text("channels"));
            o.top_channels = Some(n);
        } else {
            o.top_channels = None;
        }
        ui.checkbox(
            &mut o.eigen_smooth,
            "eigen-smooth (principal component of the terms)",
        )
        .on_hover_text(
            "pytorch-grad-cam's eigen_smooth, for the methods whose map is a sum over channels",
        );
        ui.checkbox(
            &mut o.aug_smooth,
            "aug-smooth (six flipped and scaled copies)",
        )
        .on_hover_text("pytorch-grad-cam's aug_smooth: six times the work of every method");
        let mut custom = o.score_samples.is_some();
        ui.checkbox(&mut custom, "SS-CAM / IS-CAM samples")
            .on_hover_text("default: torch-cam's 35 (SS-CAM) and 10 (IS-CAM) per channel");
        o.score_samples = match custom {
            true => {
                let mut n = o.score_samples.unwrap_or(10);
                ui.add(egui::Slider::new(&mut n, 1..=50).text("samples"));
                Some(n)
            }
            false => None,
        };
        let mut copies = o.augment.copies;
        ui.add(egui::Slider::new(&mut copies, 1..=200).text("augmented copies"));
        o.augment.copies = copies;
        changed |= *o != before;
    });
    if changed {
        app.commands.push(Command::Explain);
    }
}
