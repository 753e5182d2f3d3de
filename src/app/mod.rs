//! The desktop app, laid out as well-kept egui apps are: state as plain data (`state.rs`, with
//! `settings.rs` and `picture.rs`), panels as functions (`ui/`, one file per panel), commands run
//! after drawing, and everything slow off the UI thread: the worker that owns the device and the
//! models (`worker.rs`), file reading (`loader.rs`), exports (`export.rs`) and file dialogs
//! (`dialogs.rs`). It knows nothing of tensors: the worker sends back maps and predictions.

pub mod background;
mod command;
mod curves;
mod export;
mod picture;
mod preview;
mod settings;
mod state;
mod ui;
mod view;

pub use background::dialogs::Dialogs;
pub use command::Purpose;
pub use picture::Picture;
pub use settings::Settings;
pub use state::CamlensApp;

use eframe::egui;
use std::path::PathBuf;

impl eframe::App for CamlensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, "settings", &self.settings);
        log::info!(
            "longest UI frame while computing: {:?}; first heatmap: {:?}",
            self.timings.longest_busy_frame,
            self.timings.first_heatmap
        );
    }
}

/// Opens the window: the built-in model and the bundled samples (plus `paths`), the first image
/// already being explained.
pub fn run_app(
    compute: crate::compute::device::Compute,
    precision: Option<crate::compute::precision::Precision>,
    paths: Vec<PathBuf>,
    model: Option<PathBuf>,
) -> crate::Result<()> {
    let gpu = compute.backend.is_gpu();
    let mut options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("camlens")
            // The desktop entry's name (X11 WM_CLASS, Wayland app id): docks group the window
            // under the installed icon.
            .with_app_id("camlens")
            .with_inner_size([1400.0, 900.0])
            .with_drag_and_drop(true)
            .with_icon(
                eframe::icon_data::from_png_bytes(include_bytes!("../../assets/camlens.png"))
                    .unwrap_or_default(),
            ),
        persist_window: true,
        ..Default::default()
    };
    // One GPU device for both: burn's, handed to the renderer (burn requested the adapter's
    // features and limits, which eframe's own device would not).
    if let Some(setup) = &compute.wgpu {
        options.wgpu_options.wgpu_setup =
            eframe::egui_wgpu::WgpuSetup::Existing(eframe::egui_wgpu::WgpuSetupExisting {
                instance: setup.instance.clone(),
                adapter: setup.adapter.clone(),
                device: setup.device.clone(),
                queue: setup.queue.clone(),
            });
    }
    eframe::run_native(
        "camlens",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let mut settings = cc
                .storage
                .and_then(|s| eframe::get_value::<Settings>(s, "settings"))
                .unwrap_or_default();
            if model.is_some() {
                settings.weights = model;
            }
            if let Some(p) = precision {
                settings.precision = p;
            }
            let compute = match compute.clone().with_precision(settings.precision) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!("{e}; computing in f32");
                    compute
                }
            };
            let label = compute.label();
            // A reply is drawn in one frame: a zero delay makes egui draw two.
            let worker = background::worker::Worker::start(compute, move || {
                ctx.request_repaint_after(std::time::Duration::from_millis(1))
            });
            let mut app = CamlensApp::new(Box::new(worker), label, settings);
            // Drawn by a GPU, the window can follow progress four times a second. Drawn by the
            // CPU (llvmpipe, lavapipe), each 1400×900 frame costs ~200 ms of the cores the
            // computation needs: ScoreCAM++ took 1.22× the command line's time with a frame a
            // second, 1.09× with one every two (`examples/app_timing.rs`, 2-core build machine).
            if gpu {
                app.repaint_interval = std::time::Duration::from_millis(250);
            }
            if paths.is_empty() {
                app.add_samples();
            } else {
                app.open_paths(paths);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| crate::Error::Invalid(format!("cannot open the window: {e}")))
}
