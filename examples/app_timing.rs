//! Developer measurement: does the app compute ScoreCAM++ as fast as the command line on a
//! machine without a GPU? The real app (its worker on the CPU, the built-in model) is drawn by a
//! software renderer (lavapipe through wgpu, as a window is drawn where there is no GPU), a frame
//! drawn and rendered whenever egui asks for one, as eframe's event loop does. It prints the
//! time from the request to the ScoreCAM++ map in the app, the same computation without a window
//! (the pipeline `camlens explain` runs), their ratio, the time to the first preview and the
//! frames drawn meanwhile.
//!
//!     cargo run --release --example app_timing -- [IMAGE] [RUNS]
//!
//! With `SCREENSHOT=file.png` it instead saves the window with the default methods at the
//! first ScoreCAM++ preview (the README's screenshots/app-progress.png).

use camlens::app::background::worker::Worker;
use camlens::app::{CamlensApp, Settings};
use camlens::cam::{Method, Monitor, Options};
use camlens::compute::device::Compute;
use camlens::models::Model;
use camlens::pipeline::{Pipeline, Request};
use eframe::egui;
use egui_kittest::Harness;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() -> camlens::Result<()> {
    camlens::compute::device::tune_allocator();
    let mut args = std::env::args().skip(1);
    let image = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/chelsea.png")
        });
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    if let Some(path) = std::env::var_os("SCREENSHOT") {
        let mut h = harness(&image, Method::DEFAULT.to_vec(), Arc::default());
        let start = Instant::now();
        while h.state().timings.first_preview.is_none() {
            h.step();
            std::thread::sleep(Duration::from_millis(20));
            assert!(start.elapsed() < Duration::from_secs(120), "no preview");
        }
        h.run_steps(2);
        let shot = h.render().map_err(camlens::Error::Invalid)?;
        shot.save(&path)
            .map_err(|e| camlens::Error::Invalid(e.to_string()))?;
        return Ok(());
    }
    let photo = camlens::input::preprocess::load_image(&image)?;

    // Without a window: what `camlens explain --methods scorecam++` runs.
    let compute = Compute::cpu("measured");
    let mut model = Model::builtin(&compute.device)?;
    model.max_buffer_bytes = compute.max_buffer_bytes;
    let pipeline = Pipeline::new(
        &model,
        Request::new(&[Method::ScoreCamPlusPlus], Options::default()),
    )?;
    let mut cli = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        pipeline.explain(photo.clone(), &Monitor::new())?;
        cli.push(t.elapsed());
    }
    drop(pipeline);

    let mut app_times = vec![];
    for _ in 0..runs {
        let (elapsed, preview, frames) = in_the_app(&image)?;
        app_times.push(elapsed);
        println!(
            "app: ScoreCAM++ after {:.0} ms, first preview after {:.0} ms, {frames} frames",
            ms(elapsed),
            preview.map_or(f64::NAN, ms)
        );
    }
    let (c, a) = (median(cli), median(app_times));
    println!(
        "median of {runs}: without a window {:.0} ms, in the app {:.0} ms: app / CLI = {:.3}",
        ms(c),
        ms(a),
        a.as_secs_f64() / c.as_secs_f64()
    );
    Ok(())
}

/// One request in a fresh app: (time to the ScoreCAM++ map, to its first preview, frames).
fn in_the_app(image: &std::path::Path) -> camlens::Result<(Duration, Option<Duration>, usize)> {
    // When egui wants the next frame: the earliest deadline asked for since the last one.
    let next: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut h = harness(image, vec![Method::ScoreCamPlusPlus], next.clone());
    let mut frames = 0;
    let mut drawing = Duration::ZERO;
    let start = Instant::now();
    loop {
        h.step();
        if std::env::var_os("NO_RENDER").is_none() {
            let t = Instant::now();
            let _ = h.render();
            drawing += t.elapsed();
        }
        frames += 1;
        if h.state().timings.first_heatmap.is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no map in 5 minutes"
        );
        // Sleep until a frame is asked for, as an event loop does.
        loop {
            let due = *next.lock().unwrap();
            match due {
                Some(t) if t <= Instant::now() => {
                    *next.lock().unwrap() = None;
                    break;
                }
                Some(t) => std::thread::sleep((t - Instant::now()).min(Duration::from_millis(5))),
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    eprintln!("  rendering took {:.0} ms in all", ms(drawing));
    let app = h.state();
    Ok((
        app.timings.first_heatmap.expect("the loop ends on it"),
        app.timings.first_preview,
        frames,
    ))
}

/// The real app (worker on the CPU) in a lavapipe-drawn harness, `next` told when egui asks for
/// a frame.
fn harness(
    image: &std::path::Path,
    methods: Vec<Method>,
    next: Arc<Mutex<Option<Instant>>>,
) -> Harness<'static, CamlensApp> {
    let ctx_slot: Arc<Mutex<Option<egui::Context>>> = Arc::default();
    let slot = ctx_slot.clone();
    let worker = Worker::start(Compute::cpu("measured"), move || {
        if let Some(ctx) = slot.lock().unwrap().as_ref() {
            ctx.request_repaint_after(Duration::from_millis(1));
        }
    });
    let mut app = CamlensApp::new(
        Box::new(worker),
        "CPU (flex)".into(),
        Settings {
            methods,
            ..Settings::default()
        },
    );
    app.open_paths(vec![image.to_path_buf()]);
    let h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut CamlensApp| app.frame(ui), app);
    let ctx = h.ctx.clone();
    ctx.set_request_repaint_callback(move |info| {
        let at = Instant::now() + info.delay;
        let mut d = next.lock().unwrap();
        *d = Some(d.map_or(at, |t: Instant| t.min(at)));
    });
    *ctx_slot.lock().unwrap() = Some(ctx);
    h
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
