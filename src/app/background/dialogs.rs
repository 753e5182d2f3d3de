//! File dialogs that never stop the window: rfd's async dialogs run on a thread of their own
//! behind a `poll_promise::Promise`, polled once a frame, so a running ScoreCAM++ keeps showing
//! its progress while a dialog is open. Where no dialog service exists (Linux without an
//! xdg-desktop-portal and without zenity, where rfd silently returns nothing) the click says so
//! and points to drag and drop.

use super::super::command::{Command, Purpose};
use crate::input::preprocess::IMAGE_EXTENSIONS;
use crate::input::weights::MODEL_EXTENSIONS;
use poll_promise::Promise;
use std::path::PathBuf;

impl Purpose {
    fn dialog(self) -> rfd::AsyncFileDialog {
        let d = rfd::AsyncFileDialog::new();
        match self {
            Purpose::OpenFiles => d.add_filter("images", &IMAGE_EXTENSIONS),
            Purpose::LoadWeights => d.add_filter("models", &MODEL_EXTENSIONS),
            Purpose::ExportCard(m) => d.set_file_name(format!("{}.png", m.file_id())),
            Purpose::ExportSheet => d.set_file_name("comparison.png"),
            Purpose::OpenFolder | Purpose::BatchExport => d,
        }
    }

    /// The dialog, shown and answered (on the dialog's thread).
    async fn ask(self) -> Vec<PathBuf> {
        let d = self.dialog();
        let paths = match self {
            Purpose::OpenFiles => d.pick_files().await.unwrap_or_default(),
            Purpose::OpenFolder | Purpose::BatchExport => {
                d.pick_folder().await.into_iter().collect()
            }
            Purpose::LoadWeights => d.pick_file().await.into_iter().collect(),
            Purpose::ExportCard(_) | Purpose::ExportSheet => {
                d.save_file().await.into_iter().collect()
            }
        };
        paths.iter().map(|h| h.path().to_path_buf()).collect()
    }

    /// What the answer asks the app to do; `None` when the dialog was cancelled.
    fn command(self, mut paths: Vec<PathBuf>) -> Option<Command> {
        if paths.is_empty() {
            return None;
        }
        Some(match self {
            Purpose::OpenFiles | Purpose::OpenFolder => Command::Open(paths),
            Purpose::LoadWeights => Command::LoadWeights(Some(paths.remove(0))),
            // The save dialog has already asked before replacing a file.
            Purpose::ExportCard(m) => Command::ExportCard(m, paths.remove(0), true),
            Purpose::ExportSheet => Command::ExportSheet(paths.remove(0), true),
            Purpose::BatchExport => Command::BatchExport(paths.remove(0)),
        })
    }
}

/// At most one dialog at a time, as desktop dialogs are modal to their window.
pub struct Dialogs {
    open: Option<(Purpose, Promise<Vec<PathBuf>>)>,
    /// Whether this desktop has a dialog service (see the module's note).
    pub available: bool,
}

impl Dialogs {
    pub fn new() -> Self {
        Self {
            open: None,
            available: service_available(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Opens the dialog for `purpose`, or says in `errors` why none can open.
    pub fn ask(&mut self, purpose: Purpose, errors: &mut Vec<String>) {
        if !self.available {
            errors.push(unavailable_message(purpose));
            return;
        }
        if self.open.is_some() {
            return;
        }
        let promise =
            Promise::spawn_thread("camlens-dialog", move || pollster::block_on(purpose.ask()));
        self.open = Some((purpose, promise));
    }

    /// The command the answered dialog asks for, once it is answered.
    pub(crate) fn poll(&mut self) -> Option<Command> {
        let (purpose, promise) = self.open.take()?;
        match promise.try_take() {
            Ok(paths) => purpose.command(paths),
            Err(promise) => {
                self.open = Some((purpose, promise));
                None
            }
        }
    }
}

impl Default for Dialogs {
    fn default() -> Self {
        Self::new()
    }
}

fn unavailable_message(purpose: Purpose) -> String {
    let what = match purpose {
        Purpose::OpenFiles | Purpose::OpenFolder => {
            "Drag and drop images or folders onto the window instead, or name them on the \
             command line (camlens photo.jpg)."
        }
        Purpose::LoadWeights => {
            "Name the model on the command line instead (camlens app --model FILE …); the \
             app keeps its current model."
        }
        Purpose::ExportCard(_) | Purpose::ExportSheet | Purpose::BatchExport => {
            "Export from the command line instead: camlens explain IMAGES --out DIR [--grid]."
        }
    };
    format!(
        "No file dialog is available on this desktop (no xdg-desktop-portal and no zenity). {what}"
    )
}

/// Whether a file dialog can appear: always outside Linux; on Linux, when rfd's portal has a
/// session bus and a portal service to talk to, or its zenity fallback is installed.
fn service_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let on_path = |exe: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(exe).is_file()))
    };
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|d| PathBuf::from(d).join("bus").exists());
    let data_dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    let portal = std::env::split_paths(&data_dirs).any(|d| {
        d.join("dbus-1/services/org.freedesktop.portal.Desktop.service")
            .is_file()
    });
    (bus && portal) || on_path("zenity")
}
