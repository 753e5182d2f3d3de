//! Progress, cancellation and previews for long methods, shared between the worker computing and
//! whoever watches (the CLI's progress line, the app's card, the preview study).

use super::map::Map;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A score method's map so far: the weighted sum of the channels scored, finished as the final
/// map is (ReLU, input size, normalised). `done` of `total` channel jobs are in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub map: Map,
    pub done: usize,
    pub total: usize,
}

impl Preview {
    pub fn share(&self) -> f32 {
        self.done as f32 / self.total.max(1) as f32
    }
}

type Observer = Arc<dyn Fn(&Monitor) + Send + Sync>;

/// Cloneable handle: the computing side reports `done/total` (and, where asked, previews) and
/// polls `is_cancelled` between batches; the watching side reads them and may cancel.
#[derive(Clone, Default)]
pub struct Monitor {
    cancelled: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    /// Set once, before the monitor is handed out (`with_previews`).
    wants_preview: bool,
    preview: Arc<Mutex<Option<Arc<Preview>>>>,
    /// Called after every report, on the computing thread: a window's repaint request, so
    /// that it draws on progress instead of polling.
    observer: Option<Observer>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("progress", &self.progress())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Monitor {
    pub fn new() -> Self {
        Self::default()
    }

    /// A monitor that calls `observer` after each report (progress or preview).
    pub fn observed(observer: impl Fn(&Monitor) + Send + Sync + 'static) -> Self {
        Self {
            observer: Some(Arc::new(observer)),
            ..Self::default()
        }
    }

    /// Asks the score methods for a preview after each batch (they skip the work otherwise).
    pub fn with_previews(self) -> Self {
        Self {
            wants_preview: true,
            ..self
        }
    }

    pub fn wants_preview(&self) -> bool {
        self.wants_preview
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn set(&self, done: usize, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        self.notify();
    }

    /// (done, total); total is 0 before the first report.
    pub fn progress(&self) -> (usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    pub fn set_preview(&self, preview: Preview) {
        *self.preview.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(preview));
        self.notify();
    }

    /// The latest preview, until the method that made it starts another.
    pub fn preview(&self) -> Option<Arc<Preview>> {
        self.preview
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the preview (a new method starts).
    pub fn clear_preview(&self) {
        *self.preview.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn notify(&self) {
        if let Some(observer) = &self.observer {
            observer(self);
        }
    }
}
