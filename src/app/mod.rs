//! The desktop app: state as plain data, panels as functions, commands run after drawing.
//! It knows nothing of tensors: the worker (see `worker.rs`) sends back maps and predictions.

mod loader;
pub mod worker;

use crate::cam::{CamResult, Method, Monitor, Options};
use crate::classify::Prediction;
use crate::explain::comparison_sheet;
use crate::metrics::{MapScores, Score};
use crate::overlay::{Colormap, View, render, save_png};
use crate::preprocess::CropBox;
use eframe::egui;
use image::RgbImage;
use loader::{Loaded, Loading, Next};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use worker::{Backend, BatchJob, ExplainJob, Job, ModelInfo, Reply};

/// What persists between runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub methods: Vec<Method>,
    pub colormap: Colormap,
    pub alpha: f32,
    pub view: View,
    pub options: Options,
    /// Weights file of the last model, `None` for the built-in one.
    pub weights: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            methods: vec![
                Method::GradCam,
                Method::GradCamPlusPlus,
                Method::LayerCam,
                Method::ScoreCamPlusPlus,
            ],
            colormap: Colormap::Jet,
            alpha: 0.5,
            view: View::Overlay,
            options: Options::default(),
            weights: None,
        }
    }
}

/// One loaded picture: the original (for exports) and a display copy (for textures).
pub struct Picture {
    pub name: String,
    pub path: Option<PathBuf>,
    pub original: Arc<RgbImage>,
    display: RgbImage,
    texture: Option<egui::TextureHandle>,
}

const DISPLAY_SIDE: u32 = 768;
const UNIT: egui::Rect = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));

/// Draws the part of `tex` (which covers `region` of the image, in image uv) that falls inside
/// the shown `view` (image uv) onto `card` (screen).
fn draw_region(
    painter: &egui::Painter,
    tex: egui::TextureId,
    region: egui::Rect,
    view: egui::Rect,
    card: egui::Rect,
    tint: egui::Color32,
) {
    let visible = region.intersect(view);
    if visible.width() <= 0.0 || visible.height() <= 0.0 {
        return;
    }
    let to_screen = |p: egui::Pos2| card.min + (p - view.min) / view.size() * card.size();
    let to_tex = |p: egui::Pos2| {
        egui::pos2(
            (p.x - region.min.x) / region.width(),
            (p.y - region.min.y) / region.height(),
        )
    };
    painter.image(
        tex,
        egui::Rect::from_min_max(to_screen(visible.min), to_screen(visible.max)),
        egui::Rect::from_min_max(to_tex(visible.min), to_tex(visible.max)),
        tint,
    );
}

impl Picture {
    pub fn new(name: String, path: Option<PathBuf>, original: RgbImage) -> Self {
        let (w, h) = original.dimensions();
        let scale = (DISPLAY_SIDE as f32 / w.max(h) as f32).min(1.0);
        let display = image::imageops::resize(
            &original,
            ((w as f32 * scale) as u32).max(1),
            ((h as f32 * scale) as u32).max(1),
            image::imageops::FilterType::Triangle,
        );
        Self {
            name,
            path,
            original: Arc::new(original),
            display,
            texture: None,
        }
    }

    fn texture(&mut self, ctx: &egui::Context) -> egui::TextureHandle {
        self.texture
            .get_or_insert_with(|| {
                ctx.load_texture(
                    format!("picture:{}", self.name),
                    rgb_to_color_image(&self.display),
                    egui::TextureOptions::LINEAR,
                )
            })
            .clone()
    }
}

fn rgb_to_color_image(img: &RgbImage) -> egui::ColorImage {
    egui::ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw())
}

/// Results for one (image, class, layer, options): what the cache holds and the cards show.
#[derive(Default)]
struct Explanation {
    top: Vec<Prediction>,
    class: Option<usize>,
    crop: Option<CropBox>,
    results: HashMap<Method, (CamResult, MapScores)>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    image: usize,
    class: Option<usize>,
    layer: usize,
    options: Options,
}

enum Command {
    Open(Vec<PathBuf>),
    Select(usize),
    SetClass(Option<usize>),
    Explain,
    Cancel,
    LoadWeights(Option<PathBuf>),
    /// The flag: overwrite allowed (the native save dialog already asked).
    ExportCard(Method, PathBuf, bool),
    ExportSheet(PathBuf, bool),
    BatchExport(PathBuf),
}

pub struct CamlensApp {
    backend: Box<dyn Backend>,
    pub backend_label: String,
    pub settings: Settings,
    pub model: Option<ModelInfo>,
    layer: usize,
    pub pictures: Vec<Picture>,
    pub current: usize,
    class: Option<usize>,
    request: u64,
    monitor: Monitor,
    running: Option<Key>,
    running_methods: Vec<Method>,
    /// When the running request was sent, until its first heatmap arrives.
    requested_at: Option<std::time::Instant>,
    /// Time from a request to its first heatmap on screen, the last one measured.
    pub first_heatmap: Option<std::time::Duration>,
    /// The longest time one frame spent in this UI code (layout and painting commands) while
    /// a request was running: what decides whether the window stays fluid.
    pub longest_busy_frame: std::time::Duration,
    cache: HashMap<Key, Explanation>,
    pub errors: Vec<String>,
    pub notices: Vec<String>,
    search: String,
    /// The batch export in progress, if any (images done / total).
    pub batch: Option<Monitor>,
    /// Shared by every card: the part of the image shown, in image uv (0..1) coordinates.
    pub view_rect: egui::Rect,
    heat: HashMap<(Key, Method, Colormap, View), egui::TextureHandle>,
    commands: Vec<Command>,
    loading: Vec<Loading>,
}

impl CamlensApp {
    pub fn new(backend: Box<dyn Backend>, backend_label: String, settings: Settings) -> Self {
        let app = Self {
            backend,
            backend_label,
            settings,
            model: None,
            layer: 0,
            pictures: vec![],
            current: 0,
            class: None,
            request: 0,
            monitor: Monitor::new(),
            running: None,
            running_methods: vec![],
            requested_at: None,
            first_heatmap: None,
            longest_busy_frame: std::time::Duration::ZERO,
            cache: HashMap::new(),
            errors: vec![],
            notices: vec![],
            search: String::new(),
            batch: None,
            view_rect: UNIT,
            heat: HashMap::new(),
            commands: vec![],
            loading: vec![],
        };
        if let Some(w) = app.settings.weights.clone() {
            app.backend.send(Job::LoadModel(Some(w)));
        }
        app
    }

    /// The bundled samples, as the app starts with them.
    pub fn add_samples(&mut self) {
        for (name, bytes) in crate::samples::SAMPLES {
            self.pictures.push(Picture::new(
                name.to_string(),
                None,
                crate::samples::decode(bytes),
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

    fn key(&self) -> Key {
        Key {
            image: self.current,
            class: self.class,
            layer: self.layer,
            options: self.settings.options,
        }
    }

    fn select(&mut self, index: usize) {
        if index < self.pictures.len() {
            self.current = index;
            self.class = None;
            self.view_rect = UNIT;
            self.explain();
        }
    }

    /// Asks for whatever the current choice still lacks; cancels what is no longer wanted.
    fn explain(&mut self) {
        if self.model.is_none() || self.pictures.is_empty() {
            return;
        }
        let key = self.key();
        if self.running.as_ref() == Some(&key)
            && self
                .settings
                .methods
                .iter()
                .all(|m| self.running_methods.contains(m))
        {
            return;
        }
        self.monitor.cancel();
        self.running = None;
        let have = self.cache.get(&key);
        let missing: Vec<Method> = self
            .settings
            .methods
            .iter()
            .copied()
            .filter(|m| have.is_none_or(|e| !e.results.contains_key(m)))
            .collect();
        if have.is_some() && missing.is_empty() {
            return;
        }
        self.request += 1;
        self.monitor = Monitor::new();
        self.running = Some(key.clone());
        self.running_methods = self.settings.methods.clone();
        self.requested_at = Some(std::time::Instant::now());
        self.cache.entry(key).or_default();
        self.backend.send(Job::Explain(ExplainJob {
            request: self.request,
            image: self.pictures[self.current].original.clone(),
            class: self.class,
            layer: self.layer,
            methods: missing,
            options: self.settings.options,
            monitor: self.monitor.clone(),
        }));
    }

    /// Takes the worker's replies; a reply to an older request is dropped, never shown.
    pub fn poll(&mut self) {
        self.take_loaded();
        while let Some(reply) = self.backend.try_recv() {
            match reply {
                Reply::ModelLoaded(info) => {
                    self.layer = info.default_layer;
                    self.notices.push(format!("model: {}", info.name));
                    self.model = Some(info);
                    self.cache.clear();
                    self.heat.clear();
                    self.running = None;
                    self.class = None;
                    self.explain();
                }
                Reply::Prediction {
                    request,
                    top,
                    class,
                    crop,
                } if request == self.request => {
                    if let Some(e) = self.running.as_ref().and_then(|k| self.cache.get_mut(k)) {
                        e.top = top;
                        e.class = Some(class);
                        e.crop = Some(crop);
                    }
                }
                Reply::Result {
                    request,
                    result,
                    scores,
                } if request == self.request => {
                    if let Some(e) = self.running.as_ref().and_then(|k| self.cache.get_mut(k)) {
                        e.results.insert(result.method, (*result, scores));
                    }
                    if let Some(t) = self.requested_at.take() {
                        self.first_heatmap = Some(t.elapsed());
                        log::info!("first heatmap after {:?}", t.elapsed());
                    }
                }
                Reply::BackendChanged(label) => {
                    self.notices.push(format!("now on {label}"));
                    self.errors.push(format!(
                        "The GPU stopped working; camlens continues on {label}."
                    ));
                    self.backend_label = label;
                }
                Reply::BatchDone { written, errors } => {
                    self.batch = None;
                    self.notices
                        .push(format!("batch export: {} files written", written.len()));
                    self.errors.extend(errors);
                }
                Reply::Done { request } if request == self.request => {
                    self.running = None;
                    log::info!(
                        "request {request} done; longest UI frame while computing: {:?}",
                        self.longest_busy_frame
                    );
                }
                Reply::Error { request, message }
                    if request.is_none() || request == Some(self.request) =>
                {
                    self.errors.push(message);
                }
                _ => {} // stale
            }
        }
    }

    pub fn is_busy(&self) -> bool {
        self.running.is_some() || self.batch.is_some() || self.is_loading()
    }

    /// Results on screen for the current choice.
    fn shown(&self) -> Option<&Explanation> {
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

    pub fn shown_class(&self) -> Option<usize> {
        self.shown().and_then(|e| e.class)
    }

    fn run_commands(&mut self) {
        for c in std::mem::take(&mut self.commands) {
            match c {
                Command::Open(paths) => self.open_paths(paths),
                Command::Select(i) => self.select(i),
                Command::SetClass(c) => {
                    self.class = c;
                    self.explain();
                }
                Command::Explain => self.explain(),
                Command::Cancel => {
                    self.monitor.cancel();
                    self.notices.push("cancelled".into());
                }
                Command::LoadWeights(p) => {
                    self.settings.weights = p.clone();
                    self.backend.send(Job::LoadModel(p));
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

    /// One card as a PNG at the original image's resolution.
    pub fn export_card(&mut self, method: Method, path: &Path) -> crate::Result<()> {
        self.export_card_to(method, path, false)
    }

    fn export_card_to(
        &mut self,
        method: Method,
        path: &Path,
        overwrite: bool,
    ) -> crate::Result<()> {
        let img = self.render_full(method)?;
        save_png(&img, path, overwrite)?;
        self.notices.push(format!("wrote {}", path.display()));
        Ok(())
    }

    fn render_full(&self, method: Method) -> crate::Result<RgbImage> {
        let e = self
            .shown()
            .ok_or_else(|| crate::Error::Invalid("nothing explained yet".into()))?;
        let (r, _) = e
            .results
            .get(&method)
            .ok_or_else(|| crate::Error::Invalid(format!("{method} has no result yet")))?;
        let crop = e.crop.expect("a result comes after its prediction");
        let pic = &self.pictures[self.current];
        Ok(render(
            &pic.original,
            &r.map,
            &crop,
            self.settings.view,
            self.settings.colormap,
            self.settings.alpha,
        ))
    }

    /// The whole comparison as one captioned sheet (image name, model, class, methods).
    pub fn export_sheet(&mut self, path: &Path) -> crate::Result<()> {
        self.export_sheet_to(path, false)
    }

    fn export_sheet_to(&mut self, path: &Path, overwrite: bool) -> crate::Result<()> {
        let methods = self.shown_methods();
        let rendered: Vec<RgbImage> = methods
            .iter()
            .map(|m| self.render_full(*m))
            .collect::<crate::Result<_>>()?;
        let e = self.shown().expect("methods imply an explanation");
        let class = e.class.unwrap_or(0);
        let names = self.model.as_ref().map(|m| &m.classes);
        let class_name = names
            .and_then(|n| n.get(class))
            .cloned()
            .unwrap_or_default();
        let cards: Vec<(&RgbImage, &CamResult, &MapScores)> = rendered
            .iter()
            .zip(&methods)
            .map(|(img, m)| {
                let (r, s) = &e.results[m];
                (img, r, s)
            })
            .collect();
        let probability = cards.first().map_or(0.0, |c| c.2.y_prob);
        let pic = &self.pictures[self.current];
        let title = format!(
            "{} — {} — class {class} '{class_name}'",
            pic.name,
            self.model.as_ref().map(|m| m.name.as_str()).unwrap_or("")
        );
        let sheet = comparison_sheet(&pic.original, &cards, &class_name, probability, &title);
        save_png(&sheet, path, overwrite)?;
        self.notices.push(format!("wrote {}", path.display()));
        Ok(())
    }

    /// For tests and scripts: what a click on a class, an export or "Open" would do.
    pub fn set_class(&mut self, class: Option<usize>) {
        self.commands.push(Command::SetClass(class));
        self.run_commands();
    }

    /// Every loaded image × the chosen methods into `dir`, on the worker, with progress.
    pub fn batch_export(&mut self, dir: PathBuf) {
        let monitor = Monitor::new();
        self.batch = Some(monitor.clone());
        self.backend.send(Job::BatchExport(BatchJob {
            images: self
                .pictures
                .iter()
                .map(|p| (p.name.clone(), p.original.clone()))
                .collect(),
            methods: self.settings.methods.clone(),
            layer: self.layer,
            options: self.settings.options,
            view: self.settings.view,
            colormap: self.settings.colormap,
            alpha: self.settings.alpha,
            dir,
            monitor,
        }));
    }

    pub fn load_weights(&mut self, path: Option<PathBuf>) {
        self.commands.push(Command::LoadWeights(path));
        self.run_commands();
    }

    pub fn cancel(&mut self) {
        self.commands.push(Command::Cancel);
        self.run_commands();
    }

    /// The card's picture for `method`: the colormapped map (drawn over the crop) for the
    /// overlay and heatmap views, or the display copy multiplied by the map (drawn over the whole
    /// card) for the explanation view. Cached per choice, method, colormap and view.
    fn heat_texture(&mut self, ctx: &egui::Context, method: Method) -> Option<egui::TextureHandle> {
        let view = if self.settings.view == View::Explanation {
            View::Explanation
        } else {
            View::Overlay
        };
        let key = (self.key(), method, self.settings.colormap, view);
        if let Some(t) = self.heat.get(&key) {
            return Some(t.clone());
        }
        let e = self.shown()?;
        let (r, _) = e.results.get(&method)?;
        let img = if view == View::Explanation {
            let pic = &self.pictures[self.current];
            let k = pic.display.width() as f32 / pic.original.width() as f32;
            let crop = e.crop?;
            let scaled = CropBox {
                x: (crop.x as f32 * k) as u32,
                y: (crop.y as f32 * k) as u32,
                side: ((crop.side as f32 * k) as u32).max(1),
                image_width: pic.display.width(),
                image_height: pic.display.height(),
            };
            let out = render(
                &pic.display,
                &r.map,
                &scaled,
                View::Explanation,
                self.settings.colormap,
                1.0,
            );
            rgb_to_color_image(&out)
        } else {
            let cmap = self.settings.colormap;
            let pixels: Vec<egui::Color32> = r
                .map
                .data
                .iter()
                .map(|&v| {
                    let [r, g, b] = cmap.color(v);
                    egui::Color32::from_rgb(r, g, b)
                })
                .collect();
            egui::ColorImage::new([r.map.width, r.map.height], pixels)
        };
        let t = ctx.load_texture(
            format!("heat:{}", method.id()),
            img,
            egui::TextureOptions::LINEAR,
        );
        self.heat.insert(key, t.clone());
        Some(t)
    }

    fn ui_side(&mut self, ui: &mut egui::Ui) {
        ui.heading("Images");
        ui.horizontal(|ui| {
            if ui.button("Open files…").clicked()
                && let Some(files) = rfd::FileDialog::new()
                    .add_filter(
                        "images",
                        &["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"],
                    )
                    .pick_files()
            {
                self.commands.push(Command::Open(files));
            }
            if ui.button("Open folder…").clicked()
                && let Some(dir) = rfd::FileDialog::new().pick_folder()
            {
                self.commands.push(Command::Open(vec![dir]));
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("pictures")
            .max_height(220.0)
            .show(ui, |ui| {
                let ctx = ui.ctx().clone();
                for i in 0..self.pictures.len() {
                    let tex = self.pictures[i].texture(&ctx);
                    let selected = i == self.current;
                    ui.horizontal(|ui| {
                        ui.add(egui::Image::new(&tex).max_size(egui::vec2(48.0, 48.0)));
                        if ui
                            .selectable_label(selected, &self.pictures[i].name)
                            .clicked()
                        {
                            self.commands.push(Command::Select(i));
                        }
                    });
                }
            });
        ui.separator();
        ui.heading("Model");
        if let Some(m) = &self.model {
            ui.label(&m.name);
            let mut layer = self.layer;
            egui::ComboBox::from_label("layer")
                .selected_text(
                    m.layers
                        .get(layer)
                        .map(|l| l.to_string())
                        .unwrap_or_default(),
                )
                .show_ui(ui, |ui| {
                    for (i, l) in m.layers.iter().enumerate() {
                        ui.selectable_value(&mut layer, i, l.to_string());
                    }
                });
            if layer != self.layer {
                self.layer = layer;
                self.commands.push(Command::Explain);
            }
        } else {
            ui.label("loading…");
        }
        ui.horizontal(|ui| {
            if ui.button("Load weights…").clicked()
                && let Some(f) = rfd::FileDialog::new()
                    .add_filter("weights", &["pth", "pt", "safetensors", "bin"])
                    .pick_file()
            {
                self.commands.push(Command::LoadWeights(Some(f)));
            }
            if ui.button("Built-in model").clicked() {
                self.commands.push(Command::LoadWeights(None));
            }
        });
        ui.separator();
        self.ui_classes(ui);
        ui.separator();
        ui.heading("Methods");
        let mut changed = false;
        for m in Method::ALL {
            let mut on = self.settings.methods.contains(&m);
            if ui.checkbox(&mut on, m.label()).changed() {
                changed = true;
                if on {
                    self.settings.methods.push(m);
                } else {
                    self.settings.methods.retain(|x| *x != m);
                }
            }
        }
        egui::CollapsingHeader::new("Advanced").show(ui, |ui| {
            let o = &mut self.settings.options;
            let before = *o;
            egui::ComboBox::from_label("ScoreCAM++ gate")
                .selected_text(o.scorecam_pp.gate.id())
                .show_ui(ui, |ui| {
                    for g in crate::cam::Gate::ALL {
                        ui.selectable_value(&mut o.scorecam_pp.gate, g, g.id());
                    }
                });
            ui.radio_value(
                &mut o.scorecam_pp.mode,
                crate::cam::ScoreMode::Probability,
                "weights: probability (authors' code)",
            );
            ui.radio_value(
                &mut o.scorecam_pp.mode,
                crate::cam::ScoreMode::IncreaseInConfidence,
                "weights: increase in confidence (paper)",
            );
            ui.checkbox(
                &mut o.scorecam_pp.gate_in_normalization_only,
                "gate in the normalisation only",
            );
            let mut top = o.top_channels.is_some();
            ui.checkbox(&mut top, "top-N channels (approximation)");
            if top {
                let mut n = o.top_channels.unwrap_or(64);
                ui.add(egui::Slider::new(&mut n, 8..=512).text("channels"));
                o.top_channels = Some(n);
            } else {
                o.top_channels = None;
            }
            let mut copies = o.augment.copies;
            ui.add(egui::Slider::new(&mut copies, 1..=200).text("augmented copies"));
            o.augment.copies = copies;
            changed |= *o != before;
        });
        if changed {
            self.commands.push(Command::Explain);
        }
        ui.separator();
        ui.heading("Display");
        egui::ComboBox::from_label("colormap")
            .selected_text(self.settings.colormap.id())
            .show_ui(ui, |ui| {
                for c in Colormap::ALL {
                    ui.selectable_value(&mut self.settings.colormap, c, c.id());
                }
            });
        ui.add(egui::Slider::new(&mut self.settings.alpha, 0.0..=1.0).text("opacity"));
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.settings.view, View::Overlay, "overlay");
            ui.radio_value(&mut self.settings.view, View::Heatmap, "heatmap");
            ui.radio_value(&mut self.settings.view, View::Explanation, "image × map");
        });
        if let Some(b) = &self.batch {
            let (done, total) = b.progress();
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("exporting {done}/{total} images")),
            );
            if ui.button("Cancel export").clicked() {
                b.cancel();
            }
        } else if ui.button("Export all images…").clicked()
            && let Some(dir) = rfd::FileDialog::new().pick_folder()
        {
            self.commands.push(Command::BatchExport(dir));
        }
        if ui.button("Export sheet…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .set_file_name("comparison.png")
                .save_file()
        {
            self.commands.push(Command::ExportSheet(p, true));
        }
    }

    fn ui_classes(&mut self, ui: &mut egui::Ui) {
        ui.heading("Class");
        let Some(e) = self.shown() else {
            ui.label("—");
            return;
        };
        let shown = e.class;
        let top = e.top.clone();
        for p in &top {
            let text = format!("{:>5.1}%  {}", 100.0 * p.probability, p.name);
            if ui.selectable_label(shown == Some(p.class), text).clicked() {
                self.commands.push(Command::SetClass(Some(p.class)));
            }
        }
        ui.add(egui::TextEdit::singleline(&mut self.search).hint_text("search all classes"));
        if self.search.len() >= 2
            && let Some(m) = &self.model
        {
            let q = self.search.to_lowercase();
            let hits: Vec<(usize, String)> = m
                .classes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.to_lowercase().contains(&q))
                .take(8)
                .map(|(i, n)| (i, n.clone()))
                .collect();
            for (i, n) in hits {
                if ui.small_button(format!("{i} {n}")).clicked() {
                    self.commands.push(Command::SetClass(Some(i)));
                }
            }
        }
    }

    fn ui_cards(&mut self, ui: &mut egui::Ui) {
        if self.pictures.is_empty() {
            ui.label("Open images (Ctrl+O) or drop them here.");
            return;
        }
        let ctx = ui.ctx().clone();
        let tex = self.pictures[self.current].texture(&ctx);
        let [w, h] = tex.size();
        let crop = self.shown().and_then(|e| e.crop);
        let pic_w = self.pictures[self.current].original.width() as f32;
        let methods = self.settings.methods.clone();
        let (done, total) = self.monitor.progress();
        let avail = ui.available_width();
        let gap = ui.spacing().item_spacing.x;
        let cols = (((avail + gap) / (260.0 + gap)).floor() as usize).max(1);
        let card_w = ((avail - gap * (cols as f32 - 1.0)) / cols as f32).min(420.0);
        let size = egui::vec2(card_w, card_w * h as f32 / w as f32);
        let cards: Vec<Option<Method>> = std::iter::once(None)
            .chain(methods.into_iter().map(Some))
            .collect();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for row in cards.chunks(cols) {
                ui.horizontal_top(|ui| {
                    for card in row {
                        ui.vertical(|ui| {
                            ui.set_width(card_w);
                            match card {
                                None => {
                                    let (rect, resp) =
                                        ui.allocate_exact_size(size, egui::Sense::click_and_drag());
                                    self.zoom_and_pan(ui, &resp, rect);
                                    draw_region(
                                        &ui.painter_at(rect),
                                        tex.id(),
                                        UNIT,
                                        self.view_rect,
                                        rect,
                                        egui::Color32::WHITE,
                                    );
                                    ui.label(format!(
                                        "{} (original)",
                                        self.pictures[self.current].name
                                    ));
                                }
                                Some(m) => {
                                    self.ui_card(ui, *m, &tex, size, crop, pic_w, (done, total))
                                }
                            }
                        });
                    }
                });
            }
        });
    }

    /// Scroll to zoom (about the pointer), drag to pan, double-click to reset: on any card, for
    /// all cards at once.
    fn zoom_and_pan(&mut self, ui: &egui::Ui, resp: &egui::Response, rect: egui::Rect) {
        let mut v = self.view_rect;
        if resp.double_clicked() {
            self.view_rect = UNIT;
            return;
        }
        if resp.dragged() {
            let d = resp.drag_delta() / rect.size() * v.size();
            v = v.translate(-d);
        }
        if let Some(pos) = resp.hover_pos() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                let factor = (-scroll * 0.002).exp();
                let anchor = v.min + (pos - rect.min) / rect.size() * v.size();
                let size = (v.size() * factor)
                    .min(UNIT.size())
                    .max(egui::vec2(1.0 / 16.0, 1.0 / 16.0));
                let rel = (anchor - v.min) / v.size();
                v = egui::Rect::from_min_size(anchor - rel * size, size);
            }
        }
        // Keep the view inside the image.
        let shift = egui::vec2(
            (-v.min.x).max(0.0) - (v.max.x - 1.0).max(0.0),
            (-v.min.y).max(0.0) - (v.max.y - 1.0).max(0.0),
        );
        self.view_rect = v.translate(shift);
    }

    #[allow(clippy::too_many_arguments)]
    fn ui_card(
        &mut self,
        ui: &mut egui::Ui,
        m: Method,
        tex: &egui::TextureHandle,
        size: egui::Vec2,
        crop: Option<CropBox>,
        pic_w: f32,
        (done, total): (usize, usize),
    ) {
        let ctx = ui.ctx().clone();
        let card_w = size.x;
        let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
        self.zoom_and_pan(ui, &resp, rect);
        let view = self.view_rect;
        let heat = self.heat_texture(&ctx, m);
        let painter = ui.painter_at(rect);
        let dim = self.settings.view != View::Heatmap;
        draw_region(
            &painter,
            tex.id(),
            UNIT,
            view,
            rect,
            if dim {
                egui::Color32::WHITE
            } else {
                egui::Color32::DARK_GRAY
            },
        );
        let _ = card_w;
        let result = self.shown().and_then(|e| e.results.get(&m));
        if let (Some(heat), Some(crop), Some((r, s))) = (heat, crop, result) {
            let pic_h = pic_w * size.y / size.x;
            let crop_uv = egui::Rect::from_min_size(
                egui::pos2(crop.x as f32 / pic_w, crop.y as f32 / pic_h),
                egui::vec2(crop.side as f32 / pic_w, crop.side as f32 / pic_h),
            );
            let alpha = match self.settings.view {
                View::Overlay => self.settings.alpha,
                _ => 1.0,
            };
            if self.settings.view == View::Explanation {
                draw_region(&painter, heat.id(), UNIT, view, rect, egui::Color32::WHITE);
            } else {
                draw_region(
                    &painter,
                    heat.id(),
                    crop_uv,
                    view,
                    rect,
                    egui::Color32::from_white_alpha((alpha * 255.0) as u8),
                );
            }
            if let Some(pos) = resp.hover_pos() {
                let uv = view.min + (pos - rect.min) / rect.size() * view.size();
                if crop_uv.contains(uv) {
                    let u = (uv - crop_uv.min) / crop_uv.size();
                    let x = ((u.x * r.map.width as f32) as usize).min(r.map.width - 1);
                    let y = ((u.y * r.map.height as f32) as usize).min(r.map.height - 1);
                    resp.on_hover_text(format!("map value {:.3}", r.map.at(x, y)));
                }
            }
            ui.label(format!(
                "{}  {:.0} ms{}",
                m.label(),
                r.elapsed.as_secs_f64() * 1e3,
                r.approximate
                    .as_ref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default()
            ));
            ui.label(format!(
                "Average Drop {:.1}%  ·  confidence {}",
                s.drop_percent(Score::Probability),
                if s.increased(Score::Probability) {
                    "up"
                } else {
                    "not up"
                }
            ));
            if ui.button("Export PNG…").clicked()
                && let Some(p) = rfd::FileDialog::new()
                    .set_file_name(format!("{}.png", m.id().replace("++", "pp")))
                    .save_file()
            {
                self.commands.push(Command::ExportCard(m, p, true));
            }
        } else if self.running.is_some() {
            ui.label(m.label());
            if m.is_slow() && total > 0 {
                ui.add(
                    egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                        .text(format!("{done}/{total} masked inputs")),
                );
            } else {
                ui.spinner();
            }
            if ui.button("Cancel").clicked() {
                self.commands.push(Command::Cancel);
            }
        } else {
            ui.label(format!("{} (not computed)", m.label()));
            if ui.button("Compute").clicked() {
                self.commands.push(Command::Explain);
            }
        }
    }

    fn ui_status(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(&self.backend_label);
            ui.separator();
            if let Some(m) = &self.model {
                ui.label(&m.name);
            }
            if self.is_busy() {
                ui.separator();
                ui.spinner();
            }
            if let Some(t) = self.first_heatmap {
                ui.separator();
                ui.label(format!("first heatmap in {:.0} ms", t.as_secs_f64() * 1e3));
            }
            if let Some(n) = self.notices.last() {
                ui.separator();
                ui.label(n);
            }
        });
    }

    fn ui_errors(&mut self, ctx: &egui::Context) {
        if self.errors.is_empty() {
            return;
        }
        let mut dismiss = None;
        egui::Window::new("Problems")
            .collapsible(false)
            .show(ctx, |ui| {
                for (i, e) in self.errors.iter().enumerate() {
                    ui.horizontal(|ui| {
                        ui.label(e);
                        if ui.button("Dismiss").clicked() {
                            dismiss = Some(i);
                        }
                    });
                }
            });
        if let Some(i) = dismiss {
            self.errors.remove(i);
        }
    }

    fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.commands.push(Command::Open(dropped));
        }
        let (next, prev, open) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowDown) || i.key_pressed(egui::Key::ArrowRight),
                i.key_pressed(egui::Key::ArrowUp) || i.key_pressed(egui::Key::ArrowLeft),
                i.modifiers.command && i.key_pressed(egui::Key::O),
            )
        });
        if !ctx.egui_wants_keyboard_input() {
            if next && self.current + 1 < self.pictures.len() {
                self.commands.push(Command::Select(self.current + 1));
            }
            if prev && self.current > 0 {
                self.commands.push(Command::Select(self.current - 1));
            }
        }
        if open && let Some(files) = rfd::FileDialog::new().pick_files() {
            self.commands.push(Command::Open(files));
        }
    }

    /// One frame: input, panels, then the commands the panels queued.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let started = std::time::Instant::now();
        let busy = self.is_busy();
        let ctx = ui.ctx().clone();
        self.poll();
        self.handle_input(&ctx);
        egui::Panel::bottom("status").show(ui, |ui| self.ui_status(ui));
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(290.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.ui_side(ui))
            });
        egui::CentralPanel::default().show(ui, |ui| self.ui_cards(ui));
        self.ui_errors(&ctx);
        self.run_commands();
        if busy {
            self.longest_busy_frame = self.longest_busy_frame.max(started.elapsed());
        }
        if self.is_busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }
}

impl eframe::App for CamlensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, "settings", &self.settings);
        log::info!(
            "longest UI frame while computing: {:?}; first heatmap: {:?}",
            self.longest_busy_frame,
            self.first_heatmap
        );
    }
}

/// Opens the window: the built-in model and the bundled samples (plus `paths`), the first image
/// already being explained.
pub fn run_app(compute: crate::device::Compute, paths: Vec<PathBuf>) -> crate::Result<()> {
    let label = compute.backend.to_string();
    let mut options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("camlens")
            .with_inner_size([1400.0, 900.0])
            .with_drag_and_drop(true)
            .with_icon(
                eframe::icon_data::from_png_bytes(include_bytes!("../../assets/camlens.png"))
                    .unwrap_or_default(),
            ),
        persist_window: true,
        ..Default::default()
    };
    // One GPU device for both: burn's, handed to the renderer (burn requested the adapter's
    // features and limits, which eframe's own device would not).
    if let Some(setup) = &compute.wgpu {
        options.wgpu_options.wgpu_setup =
            eframe::egui_wgpu::WgpuSetup::Existing(eframe::egui_wgpu::WgpuSetupExisting {
                instance: setup.instance.clone(),
                adapter: setup.adapter.clone(),
                device: setup.device.clone(),
                queue: setup.queue.clone(),
            });
    }
    eframe::run_native(
        "camlens",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let settings = cc
                .storage
                .and_then(|s| eframe::get_value::<Settings>(s, "settings"))
                .unwrap_or_default();
            let worker = worker::Worker::start(compute, move || ctx.request_repaint());
            let mut app = CamlensApp::new(Box::new(worker), label, settings);
            if paths.is_empty() {
                app.add_samples();
            } else {
                app.open_paths(paths);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| crate::Error::Invalid(format!("cannot open the window: {e}")))
}
