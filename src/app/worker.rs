//! The background worker: one thread owns the compute device and the models; the UI sends it
//! jobs and draws what comes back. Results are plain data (maps, predictions), never tensors.

use crate::cam::{CamResult, Method, Monitor, Options, Session};
use crate::classify::{Prediction, top_k};
use crate::device::Compute;
use crate::error::{Error, Result};
use crate::metrics::{MapScores, score_maps};
use crate::models::{LayerInfo, Model};
use crate::overlay::{Colormap, View, render, save_png};
use crate::preprocess::CropBox;
use image::RgbImage;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// What the UI asks for.
pub enum Job {
    /// Replace the model with a weights file (`None`: the built-in one). On failure the current
    /// model stays.
    LoadModel(Option<PathBuf>),
    /// Explain one image: the prediction first, then each method as it finishes (fast first).
    Explain(ExplainJob),
    /// Explain every image with the chosen methods and write the overlays into a folder.
    BatchExport(BatchJob),
}

pub struct BatchJob {
    pub images: Vec<(String, Arc<RgbImage>)>,
    pub methods: Vec<Method>,
    pub layer: usize,
    pub options: Options,
    pub view: View,
    pub colormap: Colormap,
    pub alpha: f32,
    pub dir: PathBuf,
    /// Images done / total; cancelling stops after the method in progress.
    pub monitor: Monitor,
}

pub struct ExplainJob {
    pub request: u64,
    pub image: Arc<RgbImage>,
    pub class: Option<usize>,
    pub layer: usize,
    pub methods: Vec<Method>,
    pub options: Options,
    pub monitor: Monitor,
}

/// What comes back.
pub enum Reply {
    ModelLoaded(ModelInfo),
    Prediction {
        request: u64,
        top: Vec<Prediction>,
        class: usize,
        crop: CropBox,
    },
    Result {
        request: u64,
        result: Box<CamResult>,
        scores: MapScores,
    },
    /// The request ended: every method done, or stopped by a cancel or an error.
    Done {
        request: u64,
    },
    /// A batch export ended: the files written, and what went wrong (one line each).
    BatchDone {
        written: Vec<PathBuf>,
        errors: Vec<String>,
    },
    Error {
        request: Option<u64>,
        message: String,
    },
    /// The GPU failed; the worker now computes on the CPU. The new backend, described.
    BackendChanged(String),
}

/// What the UI needs to know of a model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub name: String,
    pub layers: Vec<LayerInfo>,
    pub default_layer: usize,
    pub classes: Vec<String>,
}

impl ModelInfo {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            layers: model.layers(),
            default_layer: model.net.default_layer(),
            classes: model.classes.clone(),
        }
    }
}

/// Anything that takes jobs and answers: the real worker, or a fast fake in UI tests.
pub trait Backend: Send {
    fn send(&self, job: Job);
    fn try_recv(&self) -> Option<Reply>;
}

/// The real worker thread.
pub struct Worker {
    jobs: Sender<Job>,
    replies: Receiver<Reply>,
}

impl Worker {
    /// Starts the thread with the built-in model on `compute`; `wake` is called after each reply
    /// so the UI repaints.
    pub fn start(compute: Compute, wake: impl Fn() + Send + 'static) -> Self {
        let (jobs, job_rx) = channel::<Job>();
        let (reply_tx, replies) = channel::<Reply>();
        std::thread::Builder::new()
            .name("camlens-worker".into())
            .spawn(move || run(compute, job_rx, reply_tx, wake))
            .expect("spawn the worker thread");
        Self { jobs, replies }
    }
}

impl Backend for Worker {
    fn send(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    fn try_recv(&self) -> Option<Reply> {
        self.replies.try_recv().ok()
    }
}

fn run(mut compute: Compute, jobs: Receiver<Job>, replies: Sender<Reply>, wake: impl Fn()) {
    let send = |r: Reply| {
        let _ = replies.send(r);
        wake();
    };
    let open = |compute: &Compute, path: Option<&PathBuf>| -> Result<Model> {
        let mut m = match path {
            None => Model::builtin(&compute.device)?,
            Some(p) => Model::from_file(p, &compute.device)?,
        };
        m.max_buffer_bytes = compute.max_buffer_bytes;
        Ok(m)
    };
    let mut weights: Option<PathBuf> = None;
    let mut model = match open(&compute, None) {
        Ok(m) => m,
        Err(e) => {
            send(Reply::Error {
                request: None,
                message: e.to_string(),
            });
            return;
        }
    };
    send(Reply::ModelLoaded(ModelInfo::of(&model)));
    while let Ok(job) = jobs.recv() {
        match job {
            Job::LoadModel(path) => match open(&compute, path.as_ref()) {
                Ok(m) => {
                    model = m;
                    weights = path;
                    send(Reply::ModelLoaded(ModelInfo::of(&model)));
                }
                Err(e) => send(Reply::Error {
                    request: None,
                    message: format!("{e} — keeping {}", model.name),
                }),
            },
            Job::BatchExport(job) => {
                let (written, errors) = batch_export(&model, job);
                send(Reply::BatchDone { written, errors });
            }
            Job::Explain(job) => {
                // A newer request makes this one stale: skip straight to it.
                if job.monitor.is_cancelled() {
                    send(Reply::Done {
                        request: job.request,
                    });
                    continue;
                }
                let request = job.request;
                match explain(&model, job, &send) {
                    Ok(()) | Err(Error::Cancelled) => {}
                    // A lost or failing GPU: carry on on the CPU with the same model.
                    Err(Error::Device(e)) if compute.backend.is_gpu() => {
                        let cpu = Compute::cpu(format!("the GPU failed ({e})"));
                        match open(&cpu, weights.as_ref()) {
                            Ok(m) => {
                                model = m;
                                compute = cpu;
                                send(Reply::BackendChanged(compute.backend.to_string()));
                                send(Reply::ModelLoaded(ModelInfo::of(&model)));
                            }
                            Err(e) => send(Reply::Error {
                                request: Some(request),
                                message: e.to_string(),
                            }),
                        }
                    }
                    Err(e) => send(Reply::Error {
                        request: Some(request),
                        message: e.to_string(),
                    }),
                }
                send(Reply::Done { request });
            }
        }
    }
}

fn explain(model: &Model, job: ExplainJob, send: &impl Fn(Reply)) -> Result<()> {
    let (input, crop) = model.preprocess.prepare(&job.image);
    let layer = job.layer.min(model.layers().len().saturating_sub(1));
    let mut session = Session::new(model, input, layer)?;
    let class = session.class_or_top(job.class)?;
    send(Reply::Prediction {
        request: job.request,
        top: top_k(model, &session.logits, &session.probs, 5),
        class,
        crop,
    });
    for method in crate::explain::ordered(&job.methods) {
        if job.monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let result = session.explain(method, class, &job.options, &job.monitor)?;
        let scores = score_maps(&session, &[&result.map], class)?[0];
        send(Reply::Result {
            request: job.request,
            result: Box::new(result),
            scores,
        });
    }
    Ok(())
}

/// Writes `<image stem>.<method>.png` for every image and method, never replacing a file.
fn batch_export(model: &Model, job: BatchJob) -> (Vec<PathBuf>, Vec<String>) {
    let mut written = vec![];
    let mut errors = vec![];
    let total = job.images.len();
    job.monitor.set(0, total);
    if let Err(e) = std::fs::create_dir_all(&job.dir) {
        errors.push(format!("cannot create {}: {e}", job.dir.display()));
        return (written, errors);
    }
    for (i, (name, image)) in job.images.iter().enumerate() {
        if job.monitor.is_cancelled() {
            errors.push(format!("cancelled after {i} of {total} images"));
            break;
        }
        let stem = std::path::Path::new(name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("image{i}"));
        let (input, crop) = model.preprocess.prepare(image);
        let layer = job.layer.min(model.layers().len().saturating_sub(1));
        let outcome = Session::new(model, input, layer).and_then(|mut session| {
            let class = session.top_class();
            for m in crate::explain::ordered(&job.methods) {
                let path = job
                    .dir
                    .join(format!("{stem}.{}.png", m.id().replace("++", "pp")));
                if path.exists() {
                    errors.push(format!("{} exists; not overwriting it", path.display()));
                    continue;
                }
                let r = session.explain(m, class, &job.options, &Monitor::new())?;
                let img = render(image, &r.map, &crop, job.view, job.colormap, job.alpha);
                save_png(&img, &path, false)?;
                written.push(path);
            }
            Ok(())
        });
        if let Err(e) = outcome {
            errors.push(format!("{name}: {e}"));
        }
        job.monitor.set(i + 1, total);
    }
    (written, errors)
}
