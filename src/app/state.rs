//! The app's state as plain data, and the commands that change it. Panels (in `ui/`) only read
//! the state and queue commands; the commands run after drawing, in `run_commands`.

use super::background::dialogs::Dialogs;
use super::background::loader::{Loaded, Loading, Next};
use super::background::tasks::Exports;
use super::background::worker::{BatchJob, ExplainJob, Job, Jobs, ModelInfo, Reply, Switch};
use super::command::Command;
use super::picture::Picture;
use super::settings::Settings;
use super::view::UNIT;
use crate::cam::{CamResult, Method, Monitor, Options};
use crate::classify::Prediction;
use crate::draw::overlay::{Colormap, View};
use crate::faithfulness::curves::Curves;
use crate::faithfulness::metrics::MapScores;
use crate::focus::{Chosen, ClassChoice};
use crate::input::preprocess::CropBox;
use crate::pipeline::Request;
use eframe::egui;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Results for one (image, class, layer, options): what the cache holds and the cards show.
#[derive(Default)]
pub(crate) struct Explanation {
    pub top: Vec<Prediction>,
    pub class: Option<usize>,
    pub crop: Option<CropBox>,
    /// A detector's boxes or a segmenter's classes, and which is explained.
    pub chosen: Option<Chosen>,
    pub results: HashMap<Method, (CamResult, MapScores)>,
    /// Deletion and insertion curves, for the cards that asked.
    pub curves: HashMap<Method, CardCurves>,
}

/// Where a card's curves stand.
pub(crate) enum CardCurves {
    /// On the worker; the monitor counts masked inputs and cancels.
    Computing { ticket: u64, monitor: Monitor },
    /// Done; `shown` is the card's fold.
    Ready { curves: Curves, shown: bool },
}

/// What a preview texture was made from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreviewKey {
    pub method: Method,
    pub done: usize,
    pub colormap: Colormap,
    pub view: View,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub image: usize,
    pub choice: ClassChoice,
    pub layer: usize,
    pub options: Options,
}

/// The request the worker is computing (or last computed) for the cards on screen.
pub(crate) struct Running {
    /// Numbers requests: replies to an older one are stale.
    pub id: u64,
    pub monitor: Monitor,
    /// What it explains; `None` when nothing runs.
    pub key: Option<Key>,
    pub methods: Vec<Method>,
    /// Its slow methods, in the order they run.
    pub slow: Vec<Method>,
    /// When it was sent, until its first heatmap arrives.
    pub requested_at: Option<Instant>,
    /// When it was sent, until its first ScoreCAM++ preview is on screen.
    pub preview_wait: Option<Instant>,
}

/// How fast the app answered, the last times measured.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// From a request to its first heatmap on screen.
    pub first_heatmap: Option<Duration>,
    /// From a request to its first ScoreCAM++ preview.
    pub first_preview: Option<Duration>,
    /// The longest time one frame spent in this UI code (layout and painting commands) while
    /// a request was running: what decides whether the window stays fluid.
    pub longest_busy_frame: Duration,
}

/// The textures the cards draw, made once per what they show.
#[derive(Default)]
pub(crate) struct Textures {
    /// The preview's: (method, channels done, colormap, view) it was made for.
    pub preview: Option<(PreviewKey, egui::TextureHandle)>,
    /// By explanation, method, colormap, view and whether renormalised in a detector's boxes.
    pub heat: HashMap<(Key, Method, Colormap, View, bool), egui::TextureHandle>,
    /// DFF's concepts', by their place in its result.
    pub concepts: HashMap<(Key, usize, Colormap, View), egui::TextureHandle>,
    /// A segmenter's predicted classes over the photo, for the explanation it came with.
    pub mask: Option<(Key, egui::TextureHandle)>,
}

pub struct CamlensApp {
    // The worker and what it runs on.
    pub(crate) worker: Box<dyn Jobs>,
    pub backend_label: String,
    pub settings: Settings,
    pub model: Option<ModelInfo>,
    // What the user chose.
    pub(crate) layer: usize,
    pub pictures: Vec<Picture>,
    pub current: usize,
    /// What is explained: a class, a detector's box, a segmenter's region.
    pub(crate) choice: ClassChoice,
    pub(crate) search: String,
    /// Shared by every card: the part of the image shown, in image uv (0..1) coordinates.
    pub view_rect: egui::Rect,
    // What is computed, and what is being computed.
    pub(crate) run: Running,
    pub(crate) cache: HashMap<Key, Explanation>,
    /// Numbers curve requests.
    pub(crate) curve_tickets: u64,
    /// The batch export in progress, if any (images done / total).
    pub batch: Option<Monitor>,
    /// Card and sheet exports being rendered and written off the UI thread.
    pub(crate) exports: Exports,
    loading: Vec<Loading>,
    // The window.
    pub timings: Timings,
    /// Asks the window to repaint within `repaint_interval`; monitors call it on progress. Made
    /// from the window's context at the first frame.
    pub(crate) waker: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
    /// The shortest time between two repaints that progress asks for (2 s unless the window is
    /// drawn by a GPU): the window's drawing competes with the computation on a CPU.
    pub repaint_interval: Duration,
    pub(crate) textures: Textures,
    pub errors: Vec<String>,
    pub notices: Vec<String>,
    pub(crate) commands: Vec<Command>,
    /// The file dialog open, if any (never on the UI thread).
    pub dialogs: Dialogs,
}

impl CamlensApp {
    pub fn new(backend: Box<dyn Jobs>, backend_label: String, settings: Settings) -> Self {
        let app = Self {
            worker: backend,
            backend_label,
            settings,
            model: None,
            layer: 0,
            pictures: vec![],
            current: 0,
            choice: ClassChoice::Predicted,
            search: String::new(),
            view_rect: UNIT,
            run: Running {
                id: 0,
                monitor: Monitor::new(),
                key: None,
                methods: vec![],
                slow: vec![],
                requested_at: None,
                preview_wait: None,
            },
            cache: HashMap::new(),
            curve_tickets: 0,
            batch: None,
            exports: Exports::default(),
            loading: vec![],
            timings: Timings::default(),
            waker: None,
            repaint_interval: Duration::from_secs(2),
            textures: Textures::default(),
            errors: vec![],
            notices: vec![],
            commands: vec![],
            dialogs: Dialogs::new(),
        };
        if let Some(w) = app.settings.weights.clone() {
            app.worker.send(Job::LoadModel(Some(w)));
        }
        app
    }

    /// The bundled samples, as the app starts with them.
    pub fn add_samples(&mut self) {
        for (name, bytes) in crate::input::samples::SAMPLES {
            self.pictures.push(Picture::new(
                name.to_string(),
                crate::input::samples::decode(bytes),
            ));
        }
    }

    /// Opens image files (a folder: the images in it) on a thread of their own; they join the
    /// list as they are decoded, the first one selected. A bad file is a message, not a stop.
    pub fn open_paths(&mut self, paths: Vec<PathBuf>) {
        self.loading.push(Loading::start(paths));
    }

    /// Whether opened files are still being read.
    pub fn is_loading(&self) -> bool {
        !self.loading.is_empty()
    }

    fn take_loaded(&mut self) {
        let mut loads = std::mem::take(&mut self.loading);
        loads.retain_mut(|load| {
            loop {
                match load.next() {
                    Next::Item(Loaded::Picture(p)) => {
                        self.pictures.push(p);
                        if !load.opened_any {
                            load.opened_any = true;
                            self.select(self.pictures.len() - 1);
                        }
                    }
                    Next::Item(Loaded::Error(e)) => self.errors.push(e),
                    Next::Pending => return true,
                    Next::Finished => return false,
                }
            }
        });
        loads.append(&mut self.loading);
        self.loading = loads;
    }

    pub(crate) fn key(&self) -> Key {
        Key {
            image: self.current,
            choice: self.choice.clone(),
            layer: self.layer,
            options: self.settings.options,
        }
    }

    fn select(&mut self, index: usize) {
        if index < self.pictures.len() {
            self.current = index;
            self.choice = ClassChoice::Predicted;
            self.view_rect = UNIT;
            self.request_explanation();
        }
    }

    /// The chosen methods that can explain the current model, in the chosen order.
    pub(crate) fn methods_shown(&self) -> Vec<Method> {
        let unavailable = |m: &Method| {
            self.model
                .as_ref()
                .is_some_and(|info| info.unavailable.iter().any(|(u, _)| u == m))
        };
        let mut shown = self.settings.methods.clone();
        shown.retain(|m| !unavailable(m));
        shown
    }

    /// The chosen layer by name, as requests carry it (the worker resolves it against its model).
    fn layer_name(&self) -> Option<String> {
        let model = self.model.as_ref()?;
        model.layers.get(self.layer).map(|l| l.name.clone())
    }

    /// Asks for whatever the current choice still lacks; cancels what is no longer wanted.
    pub(crate) fn request_explanation(&mut self) {
        if self.model.is_none() || self.pictures.is_empty() {
            return;
        }
        let key = self.key();
        let wanted = self.methods_shown();
        if self.run.key.as_ref() == Some(&key)
            && wanted.iter().all(|m| self.run.methods.contains(m))
        {
            return;
        }
        self.run.monitor.cancel();
        self.run.key = None;
        self.cancel_other_curves(Some(&key));
        let have = self.cache.get(&key);
        let missing: Vec<Method> = wanted
            .iter()
            .copied()
            .filter(|m| have.is_none_or(|e| !e.results.contains_key(m)))
            .collect();
        if have.is_some() && missing.is_empty() {
            return;
        }
        self.run.id += 1;
        self.run.monitor = self.new_monitor().with_previews();
        self.run.key = Some(key.clone());
        self.run.methods = wanted;
        self.run.requested_at = Some(Instant::now());
        self.run.preview_wait = missing
            .contains(&Method::ScoreCamPlusPlus)
            .then(Instant::now);
        self.cache.entry(key).or_default();
        let mut request =
            Request::new(&missing, self.settings.options).with_class(self.choice.clone());
        request.layer = self.layer_name();
        self.run.slow = request
            .run_order()
            .into_iter()
            .map(|i| request.steps[i].method)
            .filter(|m| m.is_slow())
            .collect();
        self.worker.send(Job::Explain(ExplainJob {
            id: self.run.id,
            image: self.pictures[self.current].original.clone(),
            request,
            monitor: self.run.monitor.clone(),
        }));
    }

    /// Takes the worker's, the loader's, the dialogs' and the exports' news; a reply to an older
    /// request is dropped, never shown.
    pub fn poll(&mut self) {
        self.take_loaded();
        if let Some(command) = self.dialogs.poll() {
            self.commands.push(command);
        }
        for outcome in self.exports.poll() {
            match outcome {
                Ok(path) => self.notices.push(format!("wrote {}", path.display())),
                Err(e) => self.errors.push(e),
            }
        }
        while let Some(reply) = self.worker.try_recv() {
            self.take_reply(reply);
        }
        self.note_preview();
    }

    fn take_reply(&mut self, reply: Reply) {
        match reply {
            Reply::ModelLoaded(info) => {
                self.layer = info.default_layer;
                // RefineCAM's layers were the last model's indices.
                self.settings.options.refine = Default::default();
                self.notices.push(format!("model: {}", info.name));
                self.model = Some(info);
                self.cancel_other_curves(None);
                self.cache.clear();
                self.textures.heat.clear();
                self.textures.concepts.clear();
                self.run.key = None;
                self.choice = ClassChoice::Predicted;
                self.request_explanation();
            }
            Reply::Prediction {
                request,
                top,
                class,
                crop,
                chosen,
            } if request == self.run.id => {
                if let Some(e) = self.run.key.as_ref().and_then(|k| self.cache.get_mut(k)) {
                    e.top = top;
                    e.class = Some(class);
                    e.crop = Some(crop);
                    e.chosen = chosen;
                }
            }
            Reply::Result {
                request,
                result,
                scores,
            } if request == self.run.id => {
                if let Some(e) = self.run.key.as_ref().and_then(|k| self.cache.get_mut(k)) {
                    e.results.insert(result.method, (*result, scores));
                }
                if let Some(t) = self.run.requested_at.take() {
                    self.timings.first_heatmap = Some(t.elapsed());
                    log::info!("first heatmap after {:?}", t.elapsed());
                }
            }
            Reply::BackendChanged { label, reason } => {
                match reason {
                    Switch::GpuWarming => {}
                    Switch::GpuReady(took) => self.notices.push(format!(
                        "GPU ready after {:.1} s: now on {label}",
                        took.as_secs_f32()
                    )),
                    Switch::Precision => self.notices.push(format!("now on {label}")),
                    Switch::GpuFailed => {
                        self.notices.push(format!("now on {label}"));
                        self.errors.push(format!(
                            "The GPU stopped working; camlens continues on {label}."
                        ));
                    }
                }
                self.backend_label = label;
            }
            Reply::Curves { ticket, curves } => self.take_curves(ticket, curves),
            Reply::BatchDone { written, errors } => {
                self.batch = None;
                self.notices
                    .push(format!("batch export: {} files written", written.len()));
                self.errors.extend(errors);
            }
            Reply::Done { request } if request == self.run.id => {
                self.run.key = None;
                log::info!(
                    "request {request} done; longest UI frame while computing: {:?}",
                    self.timings.longest_busy_frame
                );
            }
            Reply::Error { request, message }
                if request.is_none() || request == Some(self.run.id) =>
            {
                self.errors.push(message);
            }
            _ => {} // stale
        }
    }

    /// Computing, exporting, reading files or waiting for a dialog: the window keeps
    /// repainting to show it.
    pub fn is_busy(&self) -> bool {
        self.run.key.is_some()
            || self.computing_curves()
            || self.batch.is_some()
            || self.is_loading()
            || self.dialogs.is_open()
            || self.exports.is_busy()
    }

    /// Results on screen for the current choice.
    pub(crate) fn shown(&self) -> Option<&Explanation> {
        self.cache.get(&self.key())
    }

    pub fn shown_methods(&self) -> Vec<Method> {
        self.shown()
            .map(|e| {
                let mut m: Vec<Method> = e.results.keys().copied().collect();
                m.sort_by_key(|m| Method::ALL.iter().position(|x| x == m));
                m
            })
            .unwrap_or_default()
    }

    /// For tests and scripts: the result a card shows for `method`, with its faithfulness scores.
    pub fn shown_result(&self, method: Method) -> Option<&(CamResult, MapScores)> {
        self.shown().and_then(|e| e.results.get(&method))
    }

    pub fn shown_class(&self) -> Option<usize> {
        self.shown().and_then(|e| e.class)
    }

    pub(crate) fn run_commands(&mut self) {
        for c in std::mem::take(&mut self.commands) {
            match c {
                Command::Ask(purpose) => self.dialogs.ask(purpose, &mut self.errors),
                Command::Open(paths) => self.open_paths(paths),
                Command::Select(i) => self.select(i),
                Command::Choose(c) => {
                    self.choice = c;
                    self.request_explanation();
                }
                Command::SetLayer(l) => {
                    self.layer = l;
                    self.request_explanation();
                }
                Command::Explain => self.request_explanation(),
                Command::ToggleCurves(m) => self.toggle_curves(m),
                Command::CancelCurves(m) => self.cancel_curves(m),
                Command::Cancel => {
                    self.run.monitor.cancel();
                    self.notices.push("cancelled".into());
                }
                Command::LoadWeights(p) => {
                    self.settings.weights = p.clone();
                    self.worker.send(Job::LoadModel(p));
                }
                Command::SetPrecision(p) => {
                    self.settings.precision = p;
                    self.worker.send(Job::SetPrecision(p));
                }
                Command::ExportCard(m, path, overwrite) => {
                    if let Err(e) = self.export_card_to(m, &path, overwrite) {
                        self.errors.push(e.to_string());
                    }
                }
                Command::BatchExport(dir) => self.batch_export(dir),
                Command::ExportSheet(path, overwrite) => {
                    if let Err(e) = self.export_sheet_to(&path, overwrite) {
                        self.errors.push(e.to_string());
                    }
                }
            }
        }
    }

    /// For tests and scripts: what a click on a class would do.
    pub fn set_class(&mut self, class: Option<usize>) {
        self.choose(class.into());
    }

    /// For tests and scripts: what a click on a box or a region would do.
    pub fn choose(&mut self, choice: ClassChoice) {
        self.commands.push(Command::Choose(choice));
        self.run_commands();
    }

    /// For tests and scripts: a detector's boxes or a segmenter's classes on screen.
    pub fn shown_chosen(&self) -> Option<&Chosen> {
        self.shown().and_then(|e| e.chosen.as_ref())
    }

    /// Every loaded image × the chosen methods into `dir`, on the worker, with progress.
    pub fn batch_export(&mut self, dir: PathBuf) {
        let monitor = self.new_monitor();
        self.batch = Some(monitor.clone());
        let mut request = Request::new(&self.methods_shown(), self.settings.options);
        request.layer = self.layer_name();
        self.worker.send(Job::BatchExport(BatchJob {
            images: self
                .pictures
                .iter()
                .map(|p| (p.name.clone(), p.original.clone()))
                .collect(),
            request,
            look: self.settings.look(),
            dir,
            monitor,
        }));
    }

    pub fn load_weights(&mut self, path: Option<PathBuf>) {
        self.commands.push(Command::LoadWeights(path));
        self.run_commands();
    }

    pub fn set_precision(&mut self, precision: crate::compute::precision::Precision) {
        self.commands.push(Command::SetPrecision(precision));
        self.run_commands();
    }

    pub fn cancel(&mut self) {
        self.commands.push(Command::Cancel);
        self.run_commands();
    }
}
