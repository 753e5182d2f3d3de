//! The panels, one file each, as functions of the app's state: they draw and queue commands,
//! and the commands run after the frame is drawn.

mod cards;
mod classes;
mod curves;
mod display;
mod images;
mod methods;
mod model;
mod status;

use super::command::Command;
use super::command::Purpose;
use super::state::CamlensApp;
use eframe::egui;
use std::path::PathBuf;
use std::time::{Duration, Instant};

impl CamlensApp {
    /// One frame: news from the worker, input, panels, then the commands the panels queued.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let busy = self.is_busy();
        let ctx = ui.ctx().clone();
        if self.waker.is_none() {
            let (wake, every) = (ctx.clone(), self.repaint_interval);
            self.set_waker(move || wake.request_repaint_after(every));
        }
        self.poll();
        handle_input(self, &ctx);
        egui::Panel::bottom("status").show(ui, |ui| status::bar(self, ui));
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(290.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    images::show(self, ui);
                    ui.separator();
                    model::show(self, ui);
                    ui.separator();
                    classes::show(self, ui);
                    ui.separator();
                    methods::show(self, ui);
                    ui.separator();
                    display::show(self, ui);
                })
            });
        egui::CentralPanel::default().show(ui, |ui| cards::show(self, ui));
        status::problems(self, &ctx);
        self.run_commands();
        if busy {
            self.timings.longest_busy_frame =
                self.timings.longest_busy_frame.max(started.elapsed());
        }
        if self.is_busy() {
            // The worker's replies and its monitors' progress wake the window (at most once
            // per `repaint_interval`); only file reading, dialogs and exports are polled. The
            // slow poll is a safety net, never the clock a computation is shown by.
            let polled = self.is_loading() || self.dialogs.is_open() || self.exports.is_busy();
            let every = match polled {
                true => Duration::from_millis(100),
                false => 2 * self.repaint_interval,
            };
            ctx.request_repaint_after(every);
        }
    }
}

/// Dropped files, arrow keys through the images, Ctrl+O.
fn handle_input(app: &mut CamlensApp, ctx: &egui::Context) {
    let dropped: Vec<PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    if !dropped.is_empty() {
        app.commands.push(Command::Open(dropped));
    }
    let (next, prev, open) = ctx.input(|i| {
        (
            i.key_pressed(egui::Key::ArrowDown) || i.key_pressed(egui::Key::ArrowRight),
            i.key_pressed(egui::Key::ArrowUp) || i.key_pressed(egui::Key::ArrowLeft),
            i.modifiers.command && i.key_pressed(egui::Key::O),
        )
    });
    if !ctx.egui_wants_keyboard_input() {
        if next && app.current + 1 < app.pictures.len() {
            app.commands.push(Command::Select(app.current + 1));
        }
        if prev && app.current > 0 {
            app.commands.push(Command::Select(app.current - 1));
        }
    }
    if open {
        app.commands.push(Command::Ask(Purpose::OpenFiles));
    }
}
