//! The score methods' channel order and previews: the order changes the previews, never the maps
//! (beyond float rounding); previews arrive batch by batch, finished like the final map.

use crate::common::*;
use camlens::cam::{ChannelOrder, Method, Monitor, Options, Preview, Session, run_method};
use camlens::models::Model;
use std::sync::{Arc, Mutex};

fn tiny() -> Model {
    Model::from_file(&fixture("onnx/tiny_cnn.onnx"), &cpu()).unwrap()
}

fn options(order: ChannelOrder) -> Options {
    Options {
        channel_order: order,
        batch_size: Some(3),
        ..Options::default()
    }
}

#[test]
fn the_channel_order_does_not_change_the_maps() {
    let model = tiny();
    for layer in 0..model.layers().len() {
        let mut s = Session::new(&model, input(&[3, 32, 32]), layer).unwrap();
        let class = s.top_class();
        for method in [
            Method::ScoreCamPlusPlus,
            Method::ScoreCam,
            Method::ScoreCamPgc,
        ] {
            let run = |s: &mut Session, order| {
                run_method(s, method, class, &options(order), &Monitor::new()).unwrap()
            };
            let by_index = run(&mut s, ChannelOrder::Index);
            for order in [ChannelOrder::Mass, ChannelOrder::Gradient] {
                let r = run(&mut s, order);
                let d = max_diff(&r.map.data, &by_index.map.data);
                assert!(d <= 1e-5, "{method} at layer {layer}, {order:?}: {d}");
                assert_eq!(r.weights.as_ref().unwrap().len(), s.shape[0]);
                let w = max_diff(
                    r.weights.as_ref().unwrap(),
                    by_index.weights.as_ref().unwrap(),
                );
                assert!(w <= 1e-6, "{method} weights, {order:?}: {w}");
            }
        }
    }
}

#[test]
fn previews_arrive_batch_by_batch_and_only_when_asked() {
    let model = tiny();
    let layer = model.layers().len() - 1;
    let mut s = Session::new(&model, input(&[3, 32, 32]), layer).unwrap();
    let class = s.top_class();
    let seen: Arc<Mutex<Vec<Preview>>> = Arc::default();
    let log = seen.clone();
    let monitor = Monitor::observed(move |m| {
        if let Some(p) = m.preview() {
            let mut log = log.lock().unwrap();
            if log.last().is_none_or(|l| l.done != p.done) {
                log.push((*p).clone());
            }
        }
    })
    .with_previews();
    let opts = options(ChannelOrder::Gradient);
    let final_map = run_method(&mut s, Method::ScoreCamPlusPlus, class, &opts, &monitor).unwrap();
    let seen = seen.lock().unwrap();
    let (_, total) = monitor.progress();
    assert!(total > 3, "too few channels to batch: {total}");
    // One per batch but the last (the final map is the last word).
    assert_eq!(seen.len(), total.div_ceil(3) - 1);
    for (i, p) in seen.iter().enumerate() {
        assert_eq!((p.done, p.total), (3 * (i + 1), total));
        assert_eq!((p.map.width, p.map.height), (32, 32));
        assert!(p.map.data.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    assert!(
        monitor.preview().is_none(),
        "a finished method leaves no preview"
    );
    // Not asked for, none is made.
    let quiet = Monitor::new();
    let again = run_method(&mut s, Method::ScoreCamPlusPlus, class, &opts, &quiet).unwrap();
    assert!(quiet.preview().is_none());
    assert_eq!(again.map, final_map.map);
}
