//! What panels ask of the app. They queue commands while drawing; the app runs them after the
//! frame (`CamlensApp::run_commands`), so no panel changes state another panel is reading.

use crate::cam::Method;
use crate::compute::precision::Precision;
use crate::focus::ClassChoice;
use std::path::PathBuf;

/// What a click asks for; run after the frame is drawn.
pub(crate) enum Command {
    /// Open a file dialog; its answer comes back as another command.
    Ask(Purpose),
    Open(Vec<PathBuf>),
    Select(usize),
    /// Explain another class, box or region.
    Choose(ClassChoice),
    /// Explain at another of the model's layers.
    SetLayer(usize),
    Explain,
    /// A card's deletion and insertion curves: compute, or fold and unfold.
    ToggleCurves(Method),
    CancelCurves(Method),
    Cancel,
    LoadWeights(Option<PathBuf>),
    SetPrecision(Precision),
    /// The flag: overwrite allowed (the save dialog already asked).
    ExportCard(Method, PathBuf, bool),
    ExportSheet(PathBuf, bool),
    BatchExport(PathBuf),
}

/// What a dialog was opened for, and so what its answer becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    OpenFiles,
    OpenFolder,
    LoadWeights,
    ExportCard(Method),
    ExportSheet,
    BatchExport,
}
