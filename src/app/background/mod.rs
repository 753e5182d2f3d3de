//! What runs off the UI thread, so that the window never waits: the worker that owns the
//! device and the models (`worker`, with the GPU's warm-up in `warmup`), image loading
//! (`loader`), card and sheet exports (`tasks`), and the file dialogs (`dialogs`).

pub(crate) mod dialogs;
pub(crate) mod loader;
pub(crate) mod tasks;
pub(crate) mod warmup;
pub mod worker;
