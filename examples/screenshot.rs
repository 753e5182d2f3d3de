//! Developer tool: the app's window with a model and a photo, after its maps are computed,
//! saved as a PNG (drawn by wgpu: lavapipe where there is no GPU). With a choice, that box
//! (`box:I`) or class's region (`class:C`) is explained, as a click in the app would ask. The
//! README's detector and segmenter screenshots:
//!
//!     cargo run --release --example screenshot -- MODEL PHOTO OUT.png [box:I | class:C]
//!
//! MODEL is a weights or ONNX file (`lite0`: the built-in model).

use camlens::app::background::worker::Worker;
use camlens::app::{CamlensApp, Settings};
use camlens::cam::Method;
use camlens::compute::device::Compute;
use camlens::focus::ClassChoice;
use eframe::egui;
use egui_kittest::Harness;
use std::time::{Duration, Instant};

fn main() -> camlens::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, photo, out, rest @ ..] = args.as_slice() else {
        return Err(camlens::Error::Invalid(
            "usage: screenshot MODEL PHOTO OUT.png [box:I | class:C]".into(),
        ));
    };
    let choice = match rest.first().map(|c| c.split_once(':')) {
        Some(Some(("box", i))) => Some(ClassChoice::Box(number(i)?)),
        Some(Some(("class", c))) => Some(ClassChoice::Index(number(c)?)),
        Some(_) => return Err(camlens::Error::Invalid("box:I or class:C".into())),
        None => None,
    };
    let mut app = CamlensApp::new(
        Box::new(Worker::start(Compute::cpu("screenshot"), || {})),
        "CPU (flex)".into(),
        Settings {
            methods: vec![Method::GradCam, Method::ScoreCamPlusPlus, Method::EigenCam],
            weights: (model != "lite0").then(|| model.into()),
            ..Settings::default()
        },
    );
    app.open_paths(vec![photo.into()]);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 760.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut CamlensApp| app.frame(ui), app);
    let done = |a: &CamlensApp| a.shown_methods().len() == 3;
    wait(&mut h, done)?;
    if let Some(c) = choice {
        h.state_mut().choose(c);
        wait(&mut h, done)?;
    }
    h.run_steps(3);
    let shot = h.render().map_err(camlens::Error::Invalid)?;
    shot.save(out)
        .map_err(|e| camlens::Error::Invalid(e.to_string()))?;
    Ok(())
}

fn number(s: &str) -> camlens::Result<usize> {
    s.parse()
        .map_err(|_| camlens::Error::Invalid(format!("{s}: not a number")))
}

fn wait(
    h: &mut Harness<'static, CamlensApp>,
    done: impl Fn(&CamlensApp) -> bool,
) -> camlens::Result<()> {
    let start = Instant::now();
    while !done(h.state()) {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
        if let Some(e) = h.state().errors.first() {
            return Err(camlens::Error::Invalid(e.clone()));
        }
        if start.elapsed() > Duration::from_secs(300) {
            return Err(camlens::Error::Invalid("no maps after 5 minutes".into()));
        }
    }
    Ok(())
}
