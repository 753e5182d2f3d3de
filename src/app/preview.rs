//! The score methods' previews in the app: which card the running request's preview belongs to,
//! monitors that wake the window on progress, and the time to the first ScoreCAM++ preview.

use super::state::CamlensApp;
use crate::cam::{Family, Method, Monitor, Preview};
use std::sync::Arc;

impl CamlensApp {
    /// How the window is woken on progress (see `waker`).
    pub(crate) fn set_waker(&mut self, wake: impl Fn() + Send + Sync + 'static) {
        self.waker = Some(Arc::new(wake));
    }

    /// A monitor that wakes the window when it reports, where the window gave a waker.
    pub(crate) fn new_monitor(&self) -> Monitor {
        match self.waker.clone() {
            Some(wake) => Monitor::observed(move |_| wake()),
            None => Monitor::new(),
        }
    }

    /// The score method the running request computes now, and its latest preview.
    pub(crate) fn preview(&self) -> Option<(Method, Arc<Preview>)> {
        self.run.key.as_ref()?;
        let done = self.shown().map(|e| &e.results);
        let method = self
            .run
            .slow
            .iter()
            .copied()
            .find(|m| done.is_none_or(|r| !r.contains_key(m)))?;
        if !matches!(method.spec().family, Family::Score(_) | Family::Ablation) {
            return None;
        }
        Some((method, self.run.monitor.preview()?))
    }

    /// Logs the time from the request to its first ScoreCAM++ preview, once per request.
    pub(crate) fn note_preview(&mut self) {
        let Some(sent) = self.run.preview_wait else {
            return;
        };
        if let Some((Method::ScoreCamPlusPlus, p)) = self.preview() {
            self.run.preview_wait = None;
            self.timings.first_preview = Some(sent.elapsed());
            log::info!(
                "first ScoreCAM++ preview after {} ms ({} of {} channels)",
                sent.elapsed().as_millis(),
                p.done,
                p.total
            );
        }
    }
}
