//! Opening image files off the UI thread: decoding and downsizing a large photo takes a good
//! part of a second, and the window must not stop for it.

use super::super::picture::Picture;
use crate::input::preprocess::{image_files, load_image};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

pub enum Loaded {
    Picture(Picture),
    /// A file that could not be opened, in one sentence.
    Error(String),
}

/// One open request (files and folders) being read by its own thread, in the given order.
pub struct Loading {
    rx: Receiver<Loaded>,
    /// Whether a picture of this request has arrived yet (the first one gets selected).
    pub opened_any: bool,
}

pub enum Next {
    Item(Loaded),
    Pending,
    Finished,
}

impl Loading {
    pub fn start(paths: Vec<PathBuf>) -> Self {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("camlens-open".into())
            .spawn(move || {
                let files = image_files(&paths);
                if files.is_empty() && !paths.is_empty() {
                    let names: Vec<String> =
                        paths.iter().map(|p| p.display().to_string()).collect();
                    let _ = tx.send(Loaded::Error(format!(
                        "no images found in {}",
                        names.join(", ")
                    )));
                }
                for f in files {
                    let loaded = match load_image(&f) {
                        Ok(img) => {
                            let name = f
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            Loaded::Picture(Picture::new(name, img))
                        }
                        Err(e) => Loaded::Error(e.to_string()),
                    };
                    if tx.send(loaded).is_err() {
                        return; // the app has gone
                    }
                }
            })
            .expect("spawning a thread");
        Self {
            rx,
            opened_any: false,
        }
    }

    pub fn next(&self) -> Next {
        match self.rx.try_recv() {
            Ok(l) => Next::Item(l),
            Err(TryRecvError::Empty) => Next::Pending,
            Err(TryRecvError::Disconnected) => Next::Finished,
        }
    }
}
