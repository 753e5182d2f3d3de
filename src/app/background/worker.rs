//! The background worker: one thread owns the compute device and the models; the UI sends it
//! jobs and draws what comes back. Results are plain data (maps, predictions), never tensors.

use super::warmup::{Outcome, Running, Warmup, open_model};
use crate::cam::{CamResult, Method, Monitor};
use crate::classify::Prediction;
use crate::compute::device::Compute;
use crate::compute::precision::Precision;
use crate::draw::overlay::check_writable;
use crate::error::{Error, Result, guarded};
use crate::faithfulness::curves::{Curves, Substrates};
use crate::faithfulness::metrics::MapScores;
use crate::focus::{Chosen, ClassChoice};
use crate::input::preprocess::CropBox;
use crate::models::{LayerInfo, Model, Scores};
use crate::outputs::{Look, OutputSpec, render_marked};
use crate::pipeline::{Event, Pipeline, Request, unscored};
use image::RgbImage;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};

/// How a computation that panicked is reported; the worker lives on.
const FAILED: &str = "the computation failed";

/// What the UI asks for.
pub enum Job {
    /// Replace the model with a weights file (`None`: the built-in one). On failure the current
    /// model stays.
    LoadModel(Option<PathBuf>),
    /// Explain one image: the prediction first, then each method as it finishes (fast first).
    Explain(ExplainJob),
    /// Explain every image with the chosen methods and write the overlays into a folder.
    BatchExport(BatchJob),
    /// One map's deletion and insertion curves (RISE's settings), asked for by a card.
    Curves(CurvesJob),
    /// Compute the convolutions and matrix products in another float type from now on: the
    /// model is opened again (a GPU still warming is warmed again in it). On failure the
    /// current precision stays.
    SetPrecision(Precision),
}

pub struct CurvesJob {
    /// Numbers the UI's curve requests; the reply carries it back.
    pub ticket: u64,
    pub image: Arc<RgbImage>,
    /// The map at the model's input size, row-major, and the class it explains.
    pub map: Vec<f32>,
    pub class: usize,
    /// A detector's box or a segmenter's region the map explains (chosen again on the image).
    pub choice: ClassChoice,
    /// Masked inputs run / total; cancelling stops it between batches.
    pub monitor: Monitor,
}

pub struct BatchJob {
    pub images: Vec<(String, Arc<RgbImage>)>,
    /// The methods, options and layer; every image is explained for its predicted class.
    pub request: Request,
    /// How the overlays look (the colour scale under each, if asked).
    pub look: Look,
    pub dir: PathBuf,
    /// Images done / total; cancelling stops after the method in progress.
    pub monitor: Monitor,
}

pub struct ExplainJob {
    /// Numbers the UI's requests: replies to an older one are stale.
    pub id: u64,
    pub image: Arc<RgbImage>,
    pub request: Request,
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
        /// A detector's boxes or a segmenter's classes, and which is explained.
        chosen: Option<Chosen>,
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
    /// The worker now computes elsewhere: the new backend, described, and why.
    BackendChanged {
        label: String,
        reason: Switch,
    },
    /// A curves job ended: its curves, or `None` when it was cancelled or failed (the failure
    /// comes as an `Error` just before).
    Curves {
        ticket: u64,
        curves: Option<Curves>,
    },
}

/// Why the worker changed device.
#[derive(Debug, Clone, PartialEq)]
pub enum Switch {
    /// A GPU is there but its kernels are not compiled yet: the CPU answers meanwhile.
    GpuWarming,
    /// The GPU is ready (after this long warming up) and answers from now on.
    GpuReady(std::time::Duration),
    /// The GPU failed; the CPU carries on.
    GpuFailed,
    /// The same device, another precision.
    Precision,
}

/// What the UI needs to know of a model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub name: String,
    pub layers: Vec<LayerInfo>,
    pub default_layer: usize,
    pub classes: Vec<String>,
    /// The side of the model's square input, in which a detector's boxes are given.
    pub input_size: usize,
    /// How inputs are prepared, in words.
    pub preprocess: String,
    /// What the scores are, in words, where they are not plain softmax logits.
    pub scores: Option<String>,
    /// The methods that cannot explain this model, and why (`Method::not_for`).
    pub unavailable: Vec<(Method, &'static str)>,
}

impl ModelInfo {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            layers: model.layers(),
            default_layer: model.net.default_layer(),
            classes: model.classes.clone(),
            input_size: model.preprocess.size as usize,
            preprocess: model.preprocess.to_string(),
            scores: (model.scores != Scores::Softmax).then(|| model.scores.to_string()),
            unavailable: Method::ALL
                .into_iter()
                .filter_map(|m| Some((m, m.not_for(model)?)))
                .collect(),
        }
    }
}

/// Anything that takes jobs and answers: the real worker, or a fast fake in UI tests.
pub trait Jobs: Send {
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

impl Jobs for Worker {
    fn send(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    fn try_recv(&self) -> Option<Reply> {
        self.replies.try_recv().ok()
    }
}

fn run(compute: Compute, jobs: Receiver<Job>, replies: Sender<Reply>, wake: impl Fn()) {
    let send = |r: Reply| {
        let _ = replies.send(r);
        wake();
    };
    let Some(mut state) = State::start(compute, &send) else {
        return;
    };
    while let Some(job) = state.next_job(&jobs) {
        state.poll_warmup();
        match job {
            None => {}
            Some(Job::LoadModel(path)) => state.load_model(path),
            Some(Job::SetPrecision(pref)) => state.set_precision(pref),
            Some(Job::Curves(job)) => state.curves(&job),
            Some(Job::BatchExport(job)) => {
                let (written, errors) = guarded(FAILED, || Ok(batch_export(&state.model, job)))
                    .unwrap_or_else(|e| (vec![], vec![e.to_string()]));
                (state.send)(Reply::BatchDone { written, errors });
            }
            Some(Job::Explain(job)) => state.explain(job),
        }
    }
}

/// What the worker thread holds between jobs: the device, the model, and a GPU warming up.
struct State<'s, S: Fn(Reply)> {
    compute: Compute,
    /// A GPU answers only once its kernels are compiled; the CPU answers until then.
    warmup: Option<Warmup>,
    /// The weights file the model came from (`None`: the built-in one).
    weights: Option<PathBuf>,
    model: Model,
    send: &'s S,
}

impl<'s, S: Fn(Reply)> State<'s, S> {
    /// The built-in model opened, on the CPU while a GPU warms up; `None` (said) where it
    /// cannot be opened.
    fn start(compute: Compute, send: &'s S) -> Option<Self> {
        let (compute, warmup) = if compute.backend.is_gpu() {
            let cpu = Compute::cpu(format!("until the GPU is ready ({})", compute.backend));
            send(Reply::BackendChanged {
                label: cpu.label(),
                reason: Switch::GpuWarming,
            });
            (cpu, Some(Warmup::Waiting(compute)))
        } else {
            (compute, None)
        };
        let model = open_model(&compute, None)
            .map_err(|e| error(send, None, e.to_string()))
            .ok()?;
        send(Reply::ModelLoaded(ModelInfo::of(&model)));
        Some(Self {
            compute,
            warmup,
            weights: None,
            model,
            send,
        })
    }

    /// The next job; `Some(None)` every 100 ms while a warm-up runs (to look in on it);
    /// `None` once the UI is gone.
    fn next_job(&self, jobs: &Receiver<Job>) -> Option<Option<Job>> {
        if matches!(self.warmup, Some(Warmup::Running(_))) {
            match jobs.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(job) => Some(Some(job)),
                Err(RecvTimeoutError::Timeout) => Some(None),
                Err(RecvTimeoutError::Disconnected) => None,
            }
        } else {
            jobs.recv().ok().map(Some)
        }
    }

    /// Onto the GPU as soon as its model is warm, between jobs.
    fn poll_warmup(&mut self) {
        let Some(Warmup::Running(running)) = &self.warmup else {
            return;
        };
        match running.poll() {
            Outcome::Pending => {}
            Outcome::Ready(warm, took) if running.weights == self.weights => {
                log::info!("GPU ready after {took:?} (kernels compiled and tuned)");
                self.model = *warm;
                self.compute = running.gpu.clone();
                self.warmup = None;
                (self.send)(Reply::BackendChanged {
                    label: self.compute.label(),
                    reason: Switch::GpuReady(took),
                });
            }
            // Another model was opened meanwhile: warm again with the next request.
            Outcome::Ready(..) => self.warmup = Some(Warmup::Waiting(running.gpu.clone())),
            Outcome::Failed(e) => {
                self.warmup = None;
                let message = format!("the GPU could not be used ({e}); camlens stays on the CPU");
                error(self.send, None, message);
            }
        }
    }

    fn load_model(&mut self, path: Option<PathBuf>) {
        match open_model(&self.compute, path.as_ref()) {
            Ok(m) => {
                self.model = m;
                self.weights = path;
                (self.send)(Reply::ModelLoaded(ModelInfo::of(&self.model)));
            }
            Err(e) => error(
                self.send,
                None,
                format!("{e} — keeping {}", self.model.name),
            ),
        }
    }

    fn set_precision(&mut self, pref: Precision) {
        // The CPU standing in for a warming GPU stays f32, its fastest; a model is reopened
        // only where its type changes.
        let here = if self.warmup.is_some() {
            Precision::F32
        } else {
            pref
        };
        let reopened = self.compute.clone().with_precision(here).and_then(|c| {
            if c.precision == self.compute.precision {
                return Ok(None);
            }
            Ok(Some((open_model(&c, self.weights.as_ref())?, c)))
        });
        match reopened {
            Ok(None) => {}
            Ok(Some((m, c))) => self.switch(m, c, Switch::Precision),
            Err(e) => {
                let message = format!("{e} — keeping {}", self.compute.precision);
                error(self.send, None, message);
            }
        }
        if let Some(w) = self.warmup.take() {
            let (w, refused) = w.in_precision(pref);
            if let Some(e) = refused {
                error(
                    self.send,
                    None,
                    format!("{e} — the GPU keeps its precision"),
                );
            }
            self.warmup = Some(w);
        }
    }

    /// Computing from now on with `model` on `compute`, for `reason`.
    fn switch(&mut self, model: Model, compute: Compute, reason: Switch) {
        (self.model, self.compute) = (model, compute);
        (self.send)(Reply::BackendChanged {
            label: self.compute.label(),
            reason,
        });
        (self.send)(Reply::ModelLoaded(ModelInfo::of(&self.model)));
    }

    fn curves(&self, job: &CurvesJob) {
        let curves = match guarded(FAILED, || curves(&self.model, job)) {
            Ok(c) => Some(c),
            Err(Error::Cancelled) => None,
            Err(e) => {
                error(
                    self.send,
                    None,
                    format!("deletion and insertion curves: {e}"),
                );
                None
            }
        };
        let ticket = job.ticket;
        (self.send)(Reply::Curves { ticket, curves });
    }

    fn explain(&mut self, job: ExplainJob) {
        let request = job.id;
        if let Some(Warmup::Waiting(gpu)) = &self.warmup {
            let (weights, image) = (self.weights.clone(), job.image.clone());
            let running = Running::start(gpu.clone(), weights, job.request.clone(), image);
            self.warmup = Some(Warmup::Running(running));
        }
        // A newer request makes this one stale: skip straight to it.
        if job.monitor.is_cancelled() {
            (self.send)(Reply::Done { request });
            return;
        }
        match guarded(FAILED, || explain(&self.model, job, self.send)) {
            Ok(()) | Err(Error::Cancelled) => {}
            // A lost or failing GPU: carry on on the CPU with the same model.
            Err(Error::Device(e)) if self.compute.backend.is_gpu() => {
                let cpu = Compute::cpu(format!("the GPU failed ({e})"));
                match open_model(&cpu, self.weights.as_ref()) {
                    Ok(m) => self.switch(m, cpu, Switch::GpuFailed),
                    Err(e) => error(self.send, Some(request), e.to_string()),
                }
            }
            Err(e) => error(self.send, Some(request), e.to_string()),
        }
        (self.send)(Reply::Done { request });
    }
}

fn error(send: &impl Fn(Reply), request: Option<u64>, message: String) {
    send(Reply::Error { request, message });
}

fn explain(model: &Model, job: ExplainJob, send: &impl Fn(Reply)) -> Result<()> {
    let request = job.id;
    Pipeline::new(model, job.request)?.run(&job.image, &job.monitor, |event| {
        send(match event {
            Event::Prepared(p) => Reply::Prediction {
                request,
                top: p.top,
                class: p.class,
                crop: p.crop,
                chosen: p.chosen,
            },
            Event::Result { result, scores, .. } => Reply::Result {
                request,
                result,
                scores,
            },
        });
        Ok(())
    })
}

/// Both curves of the job's map on its image, from the prepared input and its blur.
fn curves(model: &Model, job: &CurvesJob) -> Result<Curves> {
    let size = model.preprocess.size as usize;
    if job.map.len() != size * size {
        return Err(Error::Invalid(format!(
            "the map has {} values, the model's input {size}×{size}: it was made by another model",
            job.map.len()
        )));
    }
    let prepared = model.preprocess.prepare(&job.image).0;
    crate::focus::choose(model, &prepared, &job.choice, None)?;
    let input = Substrates::new(prepared, size);
    Curves::of(model, &input, &job.map, job.class, &job.monitor)
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
        let spec = OutputSpec::overlays(&job.dir, job.look);
        let outputs = spec.files(std::path::Path::new(name), &job.request.methods());
        // Only what is not there yet is computed.
        let mut request = Request {
            steps: vec![],
            ..job.request.clone()
        };
        let mut paths = vec![];
        for (step, out) in job.request.steps.iter().zip(outputs.methods) {
            match check_writable(&out.png, false) {
                Ok(()) => {
                    request.steps.push(*step);
                    paths.push(out.png);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if request.steps.is_empty() {
            job.monitor.set(i + 1, total);
            continue;
        }
        let outcome = Pipeline::new(model, request).and_then(|pipeline| {
            let mut prepared = None;
            // Its own monitor: the job's counts images, a slow method's would count channels.
            pipeline.run_with(image, &Monitor::new(), unscored, |event| match event {
                Event::Prepared(p) => {
                    prepared = Some(p);
                    Ok(())
                }
                Event::Result { index, result, .. } => {
                    let p = prepared
                        .as_ref()
                        .ok_or(Error::Invalid("a map before its image".into()))?;
                    let marks = (&p.crop, p.chosen.as_ref(), p.class);
                    let img = render_marked(image, &result.map, marks, &job.look, &model.classes);
                    job.look.write(&img, &paths[index], false)?;
                    written.push(paths[index].clone());
                    Ok(())
                }
            })
        });
        if let Err(e) = outcome {
            errors.push(format!("{name}: {e}"));
        }
        job.monitor.set(i + 1, total);
    }
    (written, errors)
}
