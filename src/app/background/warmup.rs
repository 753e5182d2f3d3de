//! Getting the GPU ready without making anyone wait. A GPU compiles and autotunes each kernel the
//! first time it meets it (seconds on a real GPU, minutes on a software one, nothing on a second
//! launch whose kernel cache is on disk), so the worker answers on the CPU at first while this
//! thread opens the same model on the GPU and runs the first request there, on the same image:
//! exactly the kernels and shapes the next requests need. The worker then switches to the
//! warmed model.

use crate::cam::Monitor;
use crate::compute::device::Compute;
use crate::compute::precision::Precision;
use crate::error::{Result, guarded};
use crate::models::Model;
use crate::pipeline::{Pipeline, Request};
use image::RgbImage;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

/// A GPU model being warmed, or waiting for the request to warm it with.
pub enum Warmup {
    /// Not started yet: the GPU, kept until the first request says what to compile.
    Waiting(Compute),
    Running(Running),
}

impl Warmup {
    /// The same GPU with its weighted layers in `pref`, to be warmed again (kernels differ by
    /// type); if the GPU cannot take `pref`, as it was, and why.
    pub fn in_precision(self, pref: Precision) -> (Self, Option<crate::Error>) {
        let gpu = match self {
            Warmup::Waiting(gpu) => gpu,
            Warmup::Running(r) => r.gpu,
        };
        match gpu.clone().with_precision(pref) {
            Ok(gpu) => (Warmup::Waiting(gpu), None),
            Err(e) => (Warmup::Waiting(gpu), Some(e)),
        }
    }
}

pub struct Running {
    rx: Receiver<Result<Model>>,
    started: Instant,
    /// The weights the warmed model was opened from (`None`: the built-in model).
    pub weights: Option<PathBuf>,
    pub gpu: Compute,
}

/// What [`Running::poll`] found.
pub enum Outcome {
    Pending,
    /// The model on the GPU, its kernels compiled, and how long that took.
    Ready(Box<Model>, Duration),
    Failed(String),
}

impl Running {
    /// Opens `weights` on `gpu` and explains `image` there with `request`, on its own thread.
    pub fn start(
        gpu: Compute,
        weights: Option<PathBuf>,
        request: Request,
        image: std::sync::Arc<RgbImage>,
    ) -> Self {
        let (tx, rx) = channel();
        let (device, path) = (gpu.clone(), weights.clone());
        std::thread::Builder::new()
            .name("camlens-gpu-warmup".into())
            .spawn(move || {
                let warmed = guarded("warming the GPU failed", || {
                    let model = open_model(&device, path.as_ref())?;
                    // Scores too: the metrics' forward passes are kernels of their own.
                    let pipeline = Pipeline::new(&model, request)?;
                    pipeline.run(&image, &Monitor::new(), |_| Ok(()))?;
                    Ok(model)
                });
                let _ = tx.send(warmed);
            })
            .expect("spawning a thread");
        Self {
            rx,
            started: Instant::now(),
            weights,
            gpu,
        }
    }

    pub fn poll(&self) -> Outcome {
        match self.rx.try_recv() {
            Ok(Ok(model)) => Outcome::Ready(Box::new(model), self.started.elapsed()),
            Ok(Err(e)) => Outcome::Failed(e.to_string()),
            Err(TryRecvError::Empty) => Outcome::Pending,
            Err(TryRecvError::Disconnected) => Outcome::Failed("the warm-up thread ended".into()),
        }
    }
}

/// `path`'s model (`None`: the built-in one) on `compute`, its batches sized to the device.
pub fn open_model(compute: &Compute, path: Option<&PathBuf>) -> Result<Model> {
    let mut m = match path {
        None => Model::builtin(&compute.device)?,
        Some(p) => Model::from_file(p, &compute.device)?,
    };
    m.fit_to(compute)?;
    Ok(m)
}
