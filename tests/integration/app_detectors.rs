//! A detector and a segmenter in the app, with the real worker on the CPU (issue 29): the
//! boxes listed and drawn, a click on one in the list or on the photo explains it; a
//! segmenter's classes present listed with their share, a click on one explains its region.

use crate::app::{harness, step_until};
use crate::common::*;
use camlens::app::background::worker::Worker;
use camlens::app::{CamlensApp, Settings};
use camlens::cam::Method;
use camlens::compute::device::Compute;
use camlens::focus::{Chosen, Detected};
use eframe::egui;
use egui_kittest::kittest::Queryable;

fn app_with(model: &std::path::Path, photo: &str) -> CamlensApp {
    let mut app = CamlensApp::new(
        Box::new(Worker::start(Compute::cpu("test"), || {})),
        "CPU".into(),
        Settings {
            methods: vec![Method::GradCam],
            weights: Some(model.to_path_buf()),
            ..Settings::default()
        },
    );
    app.open_paths(vec![asset(photo)]);
    app
}

fn detected(app: &CamlensApp) -> Option<Detected> {
    match app.shown_chosen() {
        Some(Chosen::Box(d)) if !app.shown_methods().is_empty() => Some(d.clone()),
        _ => None,
    }
}

/// The smallest box holding a point, as a click picks it.
fn smallest_at(d: &Detected, x: f32, y: f32) -> Option<usize> {
    let inside = |b: &&camlens::models::detection::Detection| {
        b.x1 <= x && x <= b.x2 && b.y1 <= y && y <= b.y2
    };
    let area = |b: &camlens::models::detection::Detection| (b.x2 - b.x1) * (b.y2 - b.y1);
    let best = d
        .boxes
        .iter()
        .filter(inside)
        .min_by(|a, b| area(a).total_cmp(&area(b)))?;
    d.boxes.iter().position(|b| std::ptr::eq(b, best))
}

#[test]
fn a_detectors_boxes_are_listed_and_a_click_explains_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = refilled("onnx/det/yolov8n.onnx", dir.path());
    let mut h = harness(app_with(&path, "samples/astronaut.png"));
    step_until(&mut h, 120, "no boxes", |a| detected(a).is_some());
    let d = detected(h.state()).unwrap();
    assert_eq!(d.chosen, 0, "the best box first");
    assert!(d.boxes.len() >= 3, "{} boxes", d.boxes.len());
    h.run_steps(2);
    h.get_by_label("Boxes");
    // A click on box 1 in the list explains it.
    let b = d.boxes[1];
    h.get_by_label(&format!("1: {} {:.0}%", b.class, 100.0 * b.score))
        .click();
    step_until(&mut h, 120, "box 1 not explained", |a| {
        detected(a).is_some_and(|d| d.chosen == 1)
    });
    assert_eq!(h.state().shown_class(), Some(b.class));
    // A click on the photo, at a box's centre, explains the smallest box there. The photo is
    // square: the letterbox is the whole photo, the input 160 pixels wide.
    let (target, pos) = (2..d.boxes.len())
        .find_map(|i| {
            let b = d.boxes[i];
            let (x, y) = ((b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
            let t = smallest_at(&d, x, y).filter(|&t| t != 1)?;
            Some((t, egui::vec2(x / 160.0, y / 160.0)))
        })
        .expect("a box to click");
    h.run_steps(2);
    let card = h.get_by_label("photo astronaut.png").rect();
    let at = card.min + pos * card.size();
    h.event(egui::Event::PointerMoved(at));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    step_until(&mut h, 120, "the clicked box not explained", |a| {
        detected(a).is_some_and(|d| d.chosen == target)
    });
    // The card's export draws the boxes: the chosen one's left edge in its class's colour.
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("card.png");
    h.state_mut().export_card(Method::GradCam, &png).unwrap();
    step_until(&mut h, 60, "no export", |a| {
        a.notices.iter().any(|n| n.starts_with("wrote"))
    });
    let img = image::open(&png).unwrap().to_rgb8();
    let b = d.boxes[target];
    let k = img.width() as f32 / 160.0;
    let (x, y) = ((b.x1 * k) as u32, ((b.y1 + b.y2) / 2.0 * k) as u32);
    let color = image::Rgb(camlens::draw::boxes::class_color(b.class));
    let edge = (x..x + 4).any(|x| *img.get_pixel(x.min(img.width() - 1), y) == color);
    assert!(edge, "no box edge at ({x}, {y}) in the exported card");
}

#[test]
fn a_segmenters_regions_are_listed_with_their_share_and_a_click_explains_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = refilled("onnx/seg/deeplabv3_mobilenet_v3_large.onnx", dir.path());
    let mut h = harness(app_with(&path, "samples/chelsea.png"));
    let regions = |a: &CamlensApp| match a.shown_chosen() {
        Some(Chosen::Pixels(s)) if !a.shown_methods().is_empty() => Some(s.clone()),
        _ => None,
    };
    step_until(&mut h, 120, "no regions", |a| regions(a).is_some());
    let seg = regions(h.state()).unwrap();
    let shares = seg.shares();
    let mut present: Vec<usize> = (0..seg.classes).filter(|&c| shares[c] > 0.0).collect();
    present.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]));
    assert!(present.len() >= 2, "one class everywhere");
    assert_eq!(
        h.state().shown_class(),
        Some(present[0]),
        "the largest first"
    );
    h.run_steps(2);
    h.get_by_label("Regions");
    let names = h.state().model.as_ref().unwrap().classes.clone();
    let second = present[1];
    h.get_by_label(&format!(
        "{:>5.1}%  {}",
        100.0 * shares[second],
        names[second]
    ))
    .click();
    step_until(&mut h, 120, "the region not explained", |a| {
        a.shown_class() == Some(second) && !a.shown_methods().is_empty()
    });
}
