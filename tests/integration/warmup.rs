//! The app's worker on a GPU: it answers on the CPU while the GPU's model warms up (its kernels
//! compile and tune on first use), then switches to the GPU between requests.

use crate::common::*;
use camlens::app::background::worker::{ExplainJob, Job, Jobs, Reply, Switch, Worker};
use camlens::cam::{Method, Monitor, Options};
use camlens::compute::device::{Backend as Kind, Compute};
use camlens::pipeline::Request;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Replies until `stop` says so, or a failure after `secs` seconds.
fn replies_until(worker: &Worker, secs: u64, mut stop: impl FnMut(&Reply) -> bool) -> Vec<Reply> {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut got = vec![];
    while Instant::now() < end {
        match worker.try_recv() {
            Some(r) => {
                let done = stop(&r);
                got.push(r);
                if done {
                    return got;
                }
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    panic!("no such reply within {secs} s");
}

fn explain(worker: &Worker, id: u64) -> Vec<Reply> {
    let image = camlens::input::preprocess::load_image(&asset("samples/chelsea.png")).unwrap();
    worker.send(Job::Explain(ExplainJob {
        id,
        image: Arc::new(image),
        request: Request::new(&[Method::GradCam], Options::default()),
        monitor: Monitor::new(),
    }));
    replies_until(
        worker,
        120,
        |r| matches!(r, Reply::Done { request } if *request == id),
    )
}

#[test]
fn a_gpu_answers_once_warm_and_the_cpu_until_then() {
    // A stand-in GPU: the CPU backend behind a GPU's description, so the test needs no adapter.
    let gpu = Compute {
        backend: Kind::Gpu {
            adapter: "stand-in adapter".into(),
            software: true,
            compiler: None,
        },
        ..Compute::cpu("unused")
    };
    let worker = Worker::start(gpu, || {});
    let first = replies_until(&worker, 60, |r| matches!(r, Reply::ModelLoaded(_)));
    let Some(Reply::BackendChanged { label, reason }) = first.first() else {
        panic!("the worker first says where it computes");
    };
    assert_eq!(*reason, Switch::GpuWarming);
    assert!(
        label.starts_with("CPU") && label.contains("until the GPU is ready"),
        "{label}"
    );

    // The first request is answered (on the CPU) while the GPU warms with it.
    let answered = explain(&worker, 1);
    assert!(answered.iter().any(|r| matches!(r, Reply::Result { .. })));
    assert!(!answered.iter().any(|r| matches!(r, Reply::Error { .. })));

    // Then the worker moves to the GPU on its own, and answers there.
    let switched = replies_until(&worker, 120, |r| {
        matches!(
            r,
            Reply::BackendChanged {
                reason: Switch::GpuReady(_),
                ..
            }
        )
    });
    let Some(Reply::BackendChanged { label, .. }) = switched.last() else {
        unreachable!()
    };
    assert!(label.contains("stand-in adapter"), "{label}");
    let answered = explain(&worker, 2);
    assert!(answered.iter().any(|r| matches!(r, Reply::Result { .. })));
}
