//! The desktop app driven through egui_kittest, without a window: a fast fake worker for the
//! interaction tests, the real worker with the built-in model on the CPU for one.

use crate::common::*;
use camlens::app::background::worker::{
    CurvesJob, ExplainJob, Job, Jobs, ModelInfo, Reply, Switch, Worker,
};
use camlens::app::{CamlensApp, Settings};
use camlens::cam::{CamResult, Map, Method};
use camlens::classify::Prediction;
use camlens::compute::device::Compute;
use camlens::faithfulness::metrics::MapScores;
use camlens::input::preprocess::Preprocess;
use camlens::pipeline::ClassChoice;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Answers at once with synthetic maps, except slow methods, which stay "running" until the
/// request is cancelled; curves likewise when `hold_curves`.
#[derive(Default)]
struct Fake {
    replies: Mutex<VecDeque<Reply>>,
    held: Mutex<Vec<ExplainJob>>,
    hold_curves: bool,
    held_curves: Mutex<Vec<CurvesJob>>,
}

fn info() -> ModelInfo {
    ModelInfo {
        name: "fake model".into(),
        layers: vec![camlens::models::LayerInfo {
            name: "head".into(),
            channels: 8,
            height: 7,
            width: 7,
            note: None,
        }],
        default_layer: 0,
        classes: (0..10).map(|i| format!("class-{i}")).collect(),
        input_size: 224,
        preprocess: "7×7".into(),
        scores: None,
        // As a CNN's: no attention for LeGrad.
        unavailable: vec![(
            camlens::cam::Method::LeGrad,
            camlens::cam::method::NO_ATTENTION,
        )],
    }
}

impl Jobs for Fake {
    fn send(&self, job: Job) {
        let mut q = self.replies.lock().unwrap();
        match job {
            Job::LoadModel(Some(p)) => q.push_back(Reply::Error {
                request: None,
                message: format!("{} is not a weights file — keeping fake model", p.display()),
            }),
            Job::LoadModel(None) => q.push_back(Reply::ModelLoaded(info())),
            Job::SetPrecision(p) => {
                q.push_back(Reply::BackendChanged {
                    label: format!("CPU (fake); {p}"),
                    reason: Switch::Precision,
                });
                q.push_back(Reply::ModelLoaded(info()));
            }
            Job::Curves(job) if self.hold_curves => {
                job.monitor.set(3, 10);
                self.held_curves.lock().unwrap().push(job);
            }
            // Deletion falls and insertion rises linearly: AUCs 0.5 and 0.5.
            Job::Curves(job) => q.push_back(Reply::Curves {
                ticket: job.ticket,
                curves: Some(camlens::faithfulness::curves::Curves {
                    deletion: (0..=10).map(|k| 1.0 - k as f32 / 10.0).collect(),
                    insertion: (0..=10).map(|k| k as f32 / 10.0).collect(),
                }),
            }),
            Job::BatchExport(_) => q.push_back(Reply::BatchDone {
                written: vec![],
                errors: vec![],
            }),
            Job::Explain(job) => {
                let class = match job.request.class {
                    ClassChoice::Index(c) => c,
                    _ => 2,
                };
                let methods = job.request.methods();
                let (w, h) = job.image.dimensions();
                q.push_back(Reply::Prediction {
                    request: job.id,
                    top: (0..5)
                        .map(|i| Prediction {
                            class: 2 + i,
                            name: format!("class-{}", 2 + i),
                            probability: 0.4 - 0.05 * i as f32,
                            logit: 1.0,
                        })
                        .collect(),
                    class,
                    crop: Preprocess::torchvision().crop_box(w, h),
                    chosen: None,
                });
                for &m in methods.iter().filter(|m| !m.is_slow()) {
                    let map = Map::new(224, 224, (0..224 * 224).map(|i| blocks(i, 0)).collect());
                    q.push_back(Reply::Result {
                        request: job.id,
                        result: Box::new(CamResult {
                            method: m,
                            class,
                            raw: map.clone(),
                            map,
                            weights: None,
                            flat: false,
                            approximate: None,
                            elapsed: Duration::from_millis(3),
                            concepts: vec![],
                        }),
                        scores: MapScores {
                            y_prob: 0.4,
                            y_logit: 2.0,
                            o_prob: 0.3,
                            o_logit: 1.5,
                            removed_logit: 0.5,
                        },
                    });
                }
                if methods.iter().any(|m| m.is_slow()) {
                    if job.monitor.wants_preview() {
                        job.monitor.set_preview(camlens::cam::Preview {
                            map: Map::new(224, 224, (0..224 * 224).map(|i| blocks(i, 1)).collect()),
                            done: 128,
                            total: 512,
                        });
                    }
                    job.monitor.set(128, 512);
                    self.held.lock().unwrap().push(job);
                } else {
                    q.push_back(Reply::Done { request: job.id });
                }
            }
        }
    }

    fn try_recv(&self) -> Option<Reply> {
        let mut held = self.held.lock().unwrap();
        let mut q = self.replies.lock().unwrap();
        held.retain(|j| {
            let cancelled = j.monitor.is_cancelled();
            if cancelled {
                q.push_back(Reply::Done { request: j.id });
            }
            !cancelled
        });
        self.held_curves.lock().unwrap().retain(|j| {
            let cancelled = j.monitor.is_cancelled();
            if cancelled {
                q.push_back(Reply::Curves {
                    ticket: j.ticket,
                    curves: None,
                });
            }
            !cancelled
        });
        q.pop_front()
    }
}

/// The fake maps: 28-pixel blocks of four levels, so that a snapshot of a flat map differs
/// from them over whole blocks (a smooth ramp's difference is mostly excused as anti-aliasing).
fn blocks(i: usize, shift: usize) -> f32 {
    let (x, y) = (i % 224 / 28, i / 224 / 28);
    ((x + 2 * y + shift) % 4) as f32 / 3.0
}

fn fake_app(methods: Vec<Method>) -> CamlensApp {
    fake_app_with(Fake::default(), methods)
}

fn fake_app_with(fake: Fake, methods: Vec<Method>) -> CamlensApp {
    fake.send(Job::LoadModel(None));
    let mut app = CamlensApp::new(
        Box::new(fake),
        "CPU (fake)".into(),
        Settings {
            methods,
            ..Settings::default()
        },
    );
    app.open_paths(vec![
        asset("samples/chelsea.png"),
        asset("samples/coffee.png"),
    ]);
    loaded(app)
}

/// Waits for opened files to be read (on the app's loader thread).
fn loaded(mut app: CamlensApp) -> CamlensApp {
    poll_until(&mut app, 30, "opening stuck", |a| !a.is_loading());
    app
}

/// Polls the app (no frames) until `done`, failing with `what` after `secs` seconds.
fn poll_until(app: &mut CamlensApp, secs: u64, what: &str, done: impl Fn(&CamlensApp) -> bool) {
    let start = std::time::Instant::now();
    while !done(app) {
        app.poll();
        std::thread::sleep(Duration::from_millis(10));
        assert!(start.elapsed() < Duration::from_secs(secs), "{what}");
    }
}

/// Runs frames until `done`, failing with `what` after `secs` seconds.
pub fn step_until(
    h: &mut Harness<'static, CamlensApp>,
    secs: u64,
    what: &str,
    done: impl Fn(&CamlensApp) -> bool,
) {
    let start = std::time::Instant::now();
    while !done(h.state()) {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
        assert!(start.elapsed() < Duration::from_secs(secs), "{what}");
    }
}

pub fn harness(app: CamlensApp) -> Harness<'static, CamlensApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CamlensApp| app.frame(ui), app)
}

#[test]
fn cards_appear_and_a_click_on_another_class_explains_it() {
    let mut h = harness(fake_app(vec![Method::GradCam, Method::LayerCam]));
    h.run_steps(4);
    assert_eq!(
        h.state().shown_methods(),
        vec![Method::GradCam, Method::LayerCam]
    );
    assert_eq!(h.state().shown_class(), Some(2));
    h.get_by_label("GradCAM  3 ms").hover();
    // The second of the top-5: " 35.0%  class-3".
    h.get_by_label(" 35.0%  class-3").click();
    h.run_steps(4);
    assert_eq!(h.state().shown_class(), Some(3));
    assert_eq!(h.state().shown_methods().len(), 2);
    // Arrow keys move through the images.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(4);
    assert_eq!(h.state().current, 1);
    assert_eq!(h.state().shown_class(), Some(2));
}

#[test]
fn a_running_scorecam_can_be_cancelled() {
    let mut h = harness(fake_app(vec![Method::GradCam, Method::ScoreCamPlusPlus]));
    h.run_steps(4);
    assert!(h.state().is_busy());
    h.get_by_label("128/512 masked inputs");
    // The map so far, said to be a preview.
    h.get_by_label("ScoreCAM++ (preview: 25% of channels)");
    h.get_by_label("Cancel").click();
    h.run_steps(4);
    assert!(!h.state().is_busy());
    assert_eq!(h.state().shown_methods(), vec![Method::GradCam]);
}

#[test]
fn a_card_shows_its_curves_on_demand_and_folds_them() {
    let mut h = harness(fake_app(vec![Method::GradCam]));
    h.run_steps(4);
    assert!(h.state().shown_curves(Method::GradCam).is_none());
    h.get_by_label("Curves").click();
    h.run_steps(4);
    assert_eq!(
        h.state().shown_curves(Method::GradCam).unwrap().aucs(),
        (0.5, 0.5)
    );
    h.get_by_label("deletion AUC 0.500 (lower is better)");
    h.get_by_label("insertion AUC 0.500 (higher is better)");
    h.get_by_label("Hide curves").click();
    h.run_steps(4);
    assert!(
        h.query_by_label("deletion AUC 0.500 (lower is better)")
            .is_none()
    );
    // Folded, not forgotten: showing them again computes nothing.
    h.get_by_label("Curves").click();
    h.run_steps(4);
    h.get_by_label("deletion AUC 0.500 (lower is better)");
}

#[test]
fn curves_being_computed_can_be_cancelled_and_stop_when_the_image_changes() {
    let fake = Fake {
        hold_curves: true,
        ..Fake::default()
    };
    let mut h = harness(fake_app_with(fake, vec![Method::GradCam]));
    h.run_steps(4);
    h.get_by_label("Curves").click();
    h.run_steps(4);
    assert!(h.state().is_busy());
    h.get_by_label("curves: 3/10 inputs");
    h.get_by_label("Cancel").click();
    h.run_steps(4);
    assert!(!h.state().is_busy());
    h.get_by_label("Curves").click();
    h.run_steps(4);
    assert!(h.state().is_busy());
    // Another image: its request must not wait behind the first image's curves.
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(4);
    assert!(!h.state().is_busy());
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(4);
    h.get_by_label("Curves");
    assert!(h.state().shown_curves(Method::GradCam).is_none());
}

#[test]
fn a_card_and_a_sheet_export_at_full_resolution() {
    let mut h = harness(fake_app(vec![Method::GradCam, Method::XGradCam]));
    h.run_steps(4);
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.png");
    let sheet = dir.path().join("sheet.png");
    h.state_mut().export_card(Method::GradCam, &card).unwrap();
    h.state_mut().export_sheet(&sheet).unwrap();
    // Exports render and write off the UI thread.
    step_until(&mut h, 30, "export stuck", |a| !a.is_busy());
    let c = image::open(&card).unwrap();
    assert_eq!((c.width(), c.height()), (451, 300));
    let s = image::open(&sheet).unwrap();
    assert!(
        s.width() > 3 * 300 && s.height() > 320,
        "{}×{}",
        s.width(),
        s.height()
    );
    // Nothing is overwritten without asking.
    let err = h
        .state_mut()
        .export_card(Method::GradCam, &card)
        .unwrap_err();
    assert!(err.to_string().contains("not overwriting"));
}

/// A PNG header claiming 20000×20000 pixels (nothing behind it needs decoding to refuse it).
fn huge_png_header() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
        out
    };
    let mut ihdr = 20000u32.to_be_bytes().to_vec();
    ihdr.extend(20000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn bad_images_are_messages_and_the_app_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("corrupt.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    std::fs::write(p("empty.jpg"), b"").unwrap();
    std::fs::write(p("huge.png"), huge_png_header()).unwrap();
    image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(40, 30, image::Rgb([60000, 0, 30000]))
        .save(p("deep.png"))
        .unwrap();
    image::GrayImage::from_pixel(40, 30, image::Luma([90]))
        .save(p("grey.png"))
        .unwrap();
    image::RgbaImage::from_pixel(40, 30, image::Rgba([10, 200, 30, 0]))
        .save(p("alpha.png"))
        .unwrap();
    let mut h = harness(fake_app(vec![Method::GradCam]));
    h.run_steps(2);
    let before = h.state().pictures.len();
    h.state_mut().open_paths(
        [
            "corrupt.png",
            "empty.jpg",
            "huge.png",
            "deep.png",
            "grey.png",
            "alpha.png",
        ]
        .map(p)
        .to_vec(),
    );
    // Files are read off the UI thread: nothing joins the list inside open_paths.
    assert_eq!(h.state().pictures.len(), before);
    assert!(h.state().is_loading());
    step_until(&mut h, 30, "opening stuck", |a| !a.is_loading());
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.errors.len(), 3, "{:?}", app.errors);
    assert!(
        app.errors.iter().any(|e| e.contains("20000×20000")),
        "{:?}",
        app.errors
    );
    assert_eq!(app.pictures.len(), before + 3);
    // The first good new image is selected and explained.
    assert_eq!(app.shown_methods(), vec![Method::GradCam]);
    h.get_by_label_contains("20000×20000");
    h.get_all_by_label("Dismiss").next().unwrap().click();
    h.run_steps(2);
    assert_eq!(h.state().errors.len(), 2);

    // A folder with no images in it says so.
    let none = dir.path().join("none");
    std::fs::create_dir(&none).unwrap();
    std::fs::write(none.join("notes.txt"), b"no pictures here").unwrap();
    h.state_mut().open_paths(vec![none]);
    step_until(&mut h, 30, "opening stuck", |a| !a.is_loading());
    assert!(
        h.state()
            .errors
            .last()
            .unwrap()
            .starts_with("no images found in"),
        "{:?}",
        h.state().errors
    );
    assert_eq!(h.state().pictures.len(), before + 3);
}

/// The built-in model's GradCAM of coffee.png by the real worker on the CPU, shown.
fn coffee_with_the_real_worker() -> Harness<'static, CamlensApp> {
    let mut app = CamlensApp::new(
        Box::new(Worker::start(Compute::cpu("test"), || {})),
        "CPU".into(),
        Settings {
            methods: vec![Method::GradCam],
            ..Settings::default()
        },
    );
    app.open_paths(vec![asset("samples/coffee.png")]);
    let mut h = harness(app);
    step_until(&mut h, 60, "stuck", |a| !a.shown_methods().is_empty());
    h
}

#[test]
fn a_wrong_weights_file_is_a_message_and_the_model_stays() {
    let mut h = coffee_with_the_real_worker();
    h.state_mut()
        .load_weights(Some(asset("samples/chelsea.png")));
    step_until(&mut h, 60, "stuck", |a| !a.errors.is_empty());
    let app = h.state();
    assert!(
        app.errors[0].contains("is not a weights file"),
        "{:?}",
        app.errors
    );
    assert!(
        app.errors[0].contains("keeping EfficientNet-Lite0"),
        "{:?}",
        app.errors
    );
    assert_eq!(
        app.model.as_ref().unwrap().name,
        "EfficientNet-Lite0 (built-in)"
    );
    // Still working: another class is explained by the built-in model.
    h.state_mut().set_class(Some(968));
    step_until(&mut h, 60, "stuck", |a| {
        a.shown_class() == Some(968) && !a.shown_methods().is_empty()
    });
    h.get_by_label_contains("is not a weights file");
}

#[test]
fn the_precision_setting_reopens_the_model_in_it_and_the_status_bar_says_so() {
    let mut h = coffee_with_the_real_worker();
    // Chosen in the Model panel: the combo box shows the setting, its list the four choices.
    h.get_by_label("precision").click();
    h.run_steps(2);
    h.get_by_label("bf16").click();
    h.run_steps(2);
    assert_eq!(
        h.state().settings.precision,
        camlens::compute::precision::Precision::Bf16
    );
    step_until(&mut h, 60, "no switch", |a| {
        a.backend_label.contains("bf16")
    });
    assert!(
        h.state()
            .backend_label
            .contains("bf16 with f32 accumulation"),
        "{}",
        h.state().backend_label
    );
    // The model opened again in bf16 explains the image again.
    step_until(&mut h, 60, "no map in bf16", |a| {
        !a.shown_methods().is_empty() && !a.is_busy()
    });
    assert!(h.state().errors.is_empty(), "{:?}", h.state().errors);
    assert!(
        h.state()
            .notices
            .iter()
            .any(|n| n.starts_with("now on CPU")),
        "{:?}",
        h.state().notices
    );
    h.run_steps(2);
    h.get_by_label_contains("bf16 with f32 accumulation");
}

#[test]
fn without_a_dialog_service_a_click_says_so_and_points_to_drag_and_drop() {
    let mut app = fake_app(vec![Method::GradCam]);
    app.dialogs.available = false;
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("Open files…").click();
    h.run_steps(2);
    let app = h.state();
    assert!(!app.dialogs.is_open());
    let last = app.errors.last().expect("a message");
    assert!(last.contains("No file dialog"), "{last}");
    assert!(last.contains("Drag and drop"), "{last}");
}

#[test]
fn ticking_a_method_computes_it() {
    let mut h = harness(fake_app(vec![Method::GradCam]));
    h.run_steps(4);
    assert_eq!(h.state().shown_methods(), vec![Method::GradCam]);
    h.get_by_label("XGradCAM").click();
    h.run_steps(4);
    assert_eq!(
        h.state().shown_methods(),
        vec![Method::GradCam, Method::XGradCam]
    );
}

#[test]
fn the_real_model_explains_on_the_cpu() {
    let worker = Worker::start(Compute::cpu("test"), || {});
    let mut app = CamlensApp::new(
        Box::new(worker),
        "CPU".into(),
        Settings {
            methods: vec![Method::GradCam, Method::GradCamPlusPlus],
            ..Settings::default()
        },
    );
    app.open_paths(vec![asset("samples/chelsea.png")]);
    let mut h = harness(app);
    step_until(&mut h, 60, "no heatmaps after 60 s", |a| {
        a.shown_methods().len() >= 2
    });
    assert_eq!(h.state().shown_class(), Some(282)); // tiger cat
    h.run_steps(2);
    h.get_by_label(" 41.3%  tiger cat");
    // The cards hold the library's maps and scores for the same photo and class.
    let model = camlens::models::Model::builtin(&cpu()).unwrap();
    let img = camlens::input::preprocess::load_image(&asset("samples/chelsea.png")).unwrap();
    let (input, _) = model.preprocess.prepare(&img);
    let mut s =
        camlens::cam::Session::new(&model, input, model.layer_index(None).unwrap()).unwrap();
    for m in [Method::GradCam, Method::GradCamPlusPlus] {
        let (shown, scores) = h.state().shown_result(m).cloned().unwrap();
        let want = camlens::cam::run_method(
            &mut s,
            m,
            282,
            &camlens::cam::Options::default(),
            &camlens::cam::Monitor::new(),
        )
        .unwrap();
        assert!(
            !shown.flat && range(&shown.map.data) > 0.5,
            "{m}: a flat map"
        );
        let e = max_diff(&shown.map.data, &want.map.data);
        assert!(e <= 1e-4, "{m}: the card's map is off the library's by {e}");
        let lib = camlens::faithfulness::metrics::score_maps(&s, &[&want.map], 282).unwrap()[0];
        assert!(
            (scores.o_prob - lib.o_prob).abs() <= 1e-5,
            "{m}: {scores:?} vs {lib:?}"
        );
    }
}

/// DFF's card shows its concepts as small cards, each with the classes the classifier reads in
/// it (the library's: Lite0's first concept of the cat is 'Egyptian cat' at 95 %), and the
/// card's map is the concept most probably the class.
#[test]
fn dff_shows_its_concepts_as_cards() {
    let worker = Worker::start(Compute::cpu("test"), || {});
    let app = CamlensApp::new(
        Box::new(worker),
        "CPU".into(),
        Settings {
            methods: vec![Method::Dff],
            ..Settings::default()
        },
    );
    let mut app = app;
    app.open_paths(vec![asset("samples/chelsea.png")]);
    let mut h = harness(app);
    step_until(&mut h, 60, "no DFF map after 60 s", |a| {
        !a.shown_methods().is_empty()
    });
    h.run_steps(2);
    let (r, _) = h.state().shown_result(Method::Dff).cloned().unwrap();
    assert_eq!(r.concepts.len(), 5);
    let (first, p) = r.concepts[0].classes[0];
    assert_eq!((first, (100.0 * p).round()), (285, 95.0));
    h.get_by_label("concepts");
    h.get_by_label("Egyptian cat 95%");
    assert!(
        r.concepts.iter().all(|c| range(&c.map.data) > 0.5),
        "a flat concept"
    );
}

/// The app's curves for a card are the library's for the same map: the worker runs them on
/// the image, map and class the card shows (a small ONNX model keeps it fast).
#[test]
fn the_worker_computes_a_cards_curves_as_the_library_does() {
    use camlens::faithfulness::curves::{Curves, Substrates};
    use camlens::models::Model;
    use camlens::pipeline::{Pipeline, Request};
    let onnx = fixture("onnx/tiny_cnn.onnx");
    let mut app = CamlensApp::new(
        Box::new(Worker::start(Compute::cpu("test"), || {})),
        "CPU".into(),
        Settings {
            methods: vec![Method::GradCam],
            weights: Some(onnx.clone()),
            ..Settings::default()
        },
    );
    app.open_paths(vec![asset("samples/chelsea.png")]);
    poll_until(&mut app, 60, "no map from the ONNX model", |a| {
        a.model
            .as_ref()
            .is_some_and(|m| m.name.contains("tiny_cnn"))
            && a.shown_methods() == [Method::GradCam]
    });
    app.click_curves(Method::GradCam);
    poll_until(&mut app, 60, "no curves", |a| {
        a.shown_curves(Method::GradCam).is_some()
    });
    let got = app.shown_curves(Method::GradCam).unwrap().clone();

    let compute = Compute::cpu("test");
    let mut model = Model::from_file(&onnx, &compute.device).unwrap();
    model.max_buffer_bytes = compute.max_buffer_bytes;
    let image = image::open(asset("samples/chelsea.png")).unwrap().to_rgb8();
    let explained = Pipeline::new(&model, Request::new(&[Method::GradCam], Default::default()))
        .unwrap()
        .explain(image.clone(), &Default::default())
        .unwrap();
    let size = model.preprocess.size as usize;
    let input = Substrates::new(model.preprocess.prepare(&image).0, size);
    let want = Curves::of(
        &model,
        &input,
        &explained.results[0].map.data,
        explained.prepared.class,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(got.deletion.len(), (size * size).div_ceil(224) + 1);
    assert!(max_diff(&got.deletion, &want.deletion) < 1e-6);
    assert!(max_diff(&got.insertion, &want.insertion) < 1e-6);
}

#[test]
fn batch_export_writes_every_image_and_method_and_never_overwrites() {
    let mut app = CamlensApp::new(
        Box::new(Worker::start(Compute::cpu("test"), || {})),
        "CPU".into(),
        Settings {
            methods: vec![Method::GradCam, Method::LayerCam],
            ..Settings::default()
        },
    );
    app.open_paths(vec![
        asset("samples/chelsea.png"),
        asset("samples/coffee.png"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let wait = |app: &mut CamlensApp| {
        poll_until(app, 90, "batch export stuck", |a| {
            a.batch.is_none() && a.model.is_some() && !a.is_loading()
        })
    };
    wait(&mut app);
    app.batch_export(dir.path().to_path_buf());
    assert!(app.batch.is_some());
    wait(&mut app);
    for (stem, size) in [("chelsea", (451, 300)), ("coffee", (600, 400))] {
        for m in ["gradcam", "layercam"] {
            let img = image::open(dir.path().join(format!("{stem}.{m}.png"))).unwrap();
            assert_eq!((img.width(), img.height()), size, "{stem}.{m}");
        }
    }
    assert!(app.notices.last().unwrap().contains("4 files written"));
    app.batch_export(dir.path().to_path_buf());
    wait(&mut app);
    assert!(app.notices.last().unwrap().contains("0 files written"));
    assert_eq!(
        app.errors
            .iter()
            .filter(|e| e.contains("not overwriting"))
            .count(),
        4
    );
}

/// Snapshots of the main views (overlay, heatmap only, image × map), rendered with wgpu on
/// lavapipe (`UPDATE_SNAPSHOTS=1` rewrites them). Where no Vulkan adapter exists the test says so
/// and passes, except under CI, where .ci/run installs lavapipe.
#[test]
fn snapshots_of_the_main_views() {
    use camlens::draw::overlay::View;
    if std::env::var_os("CI").is_none()
        && camlens::compute::device::select(camlens::compute::device::DevicePref::Gpu).is_err()
    {
        eprintln!("no wgpu adapter here: snapshots not rendered");
        return;
    }
    let mut h = Harness::builder()
        .with_size(egui::vec2(1200.0, 760.0))
        .wgpu()
        .build_ui_state(
            |ui, app: &mut CamlensApp| app.frame(ui),
            fake_app(vec![Method::GradCam, Method::LayerCam]),
        );
    h.run_steps(4);
    // Lavapipe renders the same pixels every time; 150 failed pixels is under what removing the
    // curves (~320) or drawing a flat map (tens of thousands) costs.
    let options = egui_kittest::SnapshotOptions::new()
        .threshold(1.0)
        .max_failed_pixels(150);
    for (view, name) in [
        (View::Overlay, "app_overlay"),
        (View::Heatmap, "app_heatmap"),
        (View::Explanation, "app_explanation"),
    ] {
        h.state_mut().settings.view = view;
        h.run_steps(3);
        h.snapshot_options(name, &options);
    }
    h.state_mut().settings.view = View::Overlay;
    h.state_mut().click_curves(Method::GradCam);
    h.run_steps(4);
    h.snapshot_options("app_curves", &options);
}
