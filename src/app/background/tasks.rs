//! Work the UI thread hands off and hears back from: each task runs on a thread of its own and
//! reports the file it wrote or, in one sentence, why not.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};

type Outcome = Result<PathBuf, String>;

/// Exports in flight: each reports the file written or why not.
pub(crate) struct Exports {
    tx: Sender<Outcome>,
    rx: Receiver<Outcome>,
    pending: usize,
}

impl Default for Exports {
    fn default() -> Self {
        let (tx, rx) = channel();
        Self { tx, rx, pending: 0 }
    }
}

impl Exports {
    pub fn spawn(&mut self, work: impl FnOnce() -> crate::Result<PathBuf> + Send + 'static) {
        let tx = self.tx.clone();
        self.pending += 1;
        std::thread::Builder::new()
            .name("camlens-export".into())
            .spawn(move || {
                let _ = tx.send(work().map_err(|e| e.to_string()));
            })
            .expect("spawning a thread");
    }

    /// The exports finished since the last call.
    pub fn poll(&mut self) -> Vec<Outcome> {
        let done: Vec<Outcome> = self.rx.try_iter().collect();
        self.pending -= done.len();
        done
    }

    pub fn is_busy(&self) -> bool {
        self.pending > 0
    }
}
