//! The wgpu path gives the CPU path's numbers, on a tiny network (lavapipe is ~100× slower than
//! flex, so this stays small). Where no Vulkan adapter exists the test says so and passes, except
//! under CI, where .ci/run installs lavapipe and a missing adapter is a failure.

use crate::common::*;
use burn::tensor::{Device, Tensor, TensorData};
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::compute::device::{DevicePref, select};
use camlens::compute::tensor_io::to_vec;
use camlens::input::preprocess::Preprocess;
use camlens::input::weights::{RawTensor, WeightMap};
use camlens::models::layers::{Loader, Padding};
use camlens::models::zoo::cnn::{Act, Block, Classifier, Cnn};
use camlens::models::{Arch, LayerInfo, Model, Scores};

fn tiny(device: &Device) -> Model {
    let mut map = WeightMap::default();
    for (name, shape) in [
        ("conv1.weight", vec![8, 3, 3, 3]),
        ("conv1.bias", vec![8]),
        ("conv2.weight", vec![16, 8, 3, 3]),
        ("conv2.bias", vec![16]),
        ("fc.weight", vec![10, 16]),
        ("fc.bias", vec![10]),
    ] {
        let data = values(name, &shape);
        map.tensors.insert(name.into(), RawTensor { shape, data });
    }
    let l = Loader {
        map: &map,
        model: "tiny",
        device,
    };
    let conv = |name, c_in, c_out| {
        l.conv(name, None, c_in, c_out, 3, 2, Padding::Symmetric(1), 1)
            .unwrap()
    };
    let net = Cnn {
        blocks: vec![
            Block::Conv(conv("conv1", 3, 8), Act::Relu),
            Block::Conv(conv("conv2", 8, 16), Act::Relu),
        ],
        taps: vec![(
            LayerInfo {
                name: "conv2".into(),
                channels: 16,
                height: 8,
                width: 8,
                note: None,
            },
            1,
        )],
        default_tap: 0,
        classifier: Classifier::AvgFc(l.linear("fc", 16, 10).unwrap()),
        peak: 8 * 16 * 16,
        batch_late_layers: false,
        regions: Default::default(),
    };
    Model {
        arch: Arch::Custom,
        name: "tiny".into(),
        net: Box::new(net),
        preprocess: Preprocess {
            size: 32,
            ..Preprocess::torchvision()
        },
        classes: (0..10).map(|i| i.to_string()).collect(),
        scores: Scores::Softmax,
        batching: None,
        fused_activations: 0,
        fused_pads: 0,
        fused_gates: 0,
        fused_batch_norms: 0,
        device: device.clone(),
        max_buffer_bytes: 64 << 20,
        dtype: burn::tensor::DType::F32,
    }
}

#[test]
fn wgpu_gives_the_cpu_numbers() {
    let gpu = match select(DevicePref::Gpu) {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("no wgpu adapter here, GPU-path test not run: {e}");
            return;
        }
        Err(e) => panic!("CI must provide lavapipe: {e}"),
    };
    eprintln!("GPU path on {}", gpu.backend);
    // WGSL has no tensor cores: `auto` keeps f32 here, so the numbers below are f32's.
    let auto = gpu
        .clone()
        .with_precision(camlens::compute::precision::Precision::Auto)
        .unwrap();
    assert_eq!(
        auto.precision.dtype,
        burn::tensor::DType::F32,
        "{}",
        auto.label()
    );
    assert!(auto.precision.tensor_cores.is_empty(), "{}", auto.label());
    let x = input(&[3, 32, 32]);
    let mut results = vec![];
    for device in [cpu(), gpu.device.clone()] {
        let model = tiny(&device);
        let t = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 3, 32, 32]), &device);
        let logits = to_vec(model.forward(t)).unwrap();
        let mut s = Session::new(&model, x.clone(), 0).unwrap();
        let class = s.top_class();
        let options = Options {
            batch_size: Some(6),
            ..Options::default()
        };
        let mut maps = vec![];
        // FinerCAM and ShapleyCAM: backward passes of weighted logits and of scaled activations;
        // AblationCAM: head-only batches with the features' context.
        let methods = [
            Method::GradCam,
            Method::LayerCam,
            Method::ScoreCamPlusPlus,
            Method::FinerCam,
            Method::ShapleyCam,
            Method::AblationCam,
        ];
        for m in methods {
            maps.push(
                run_method(&mut s, m, class, &options, &Monitor::new())
                    .unwrap()
                    .raw
                    .data,
            );
        }
        results.push((logits, class, maps));
    }
    let (cpu_res, gpu_res) = (&results[0], &results[1]);
    assert_eq!(cpu_res.1, gpu_res.1);
    let close = |a: &[f32], b: &[f32]| {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-3 * scale)
    };
    assert!(close(&gpu_res.0, &cpu_res.0), "logits differ");
    for (i, (g, c)) in gpu_res.2.iter().zip(&cpu_res.2).enumerate() {
        let scale = c.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = g.iter().zip(c).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale;
        assert!(
            close(g, c),
            "map {i} differs between wgpu and flex by {worst:.2e} of its peak"
        );
    }
    onnx_graphs_run_on_wgpu_as_on_the_cpu(&gpu.device);
    detectors_run_on_wgpu_as_on_the_cpu(&gpu.device);
}

/// The ONNX interpreter's tensor operations on wgpu: the same numbers as on flex. (Called from
/// the test above: a process registers the wgpu runtime once.)
fn onnx_graphs_run_on_wgpu_as_on_the_cpu(gpu: &Device) {
    let x = input(&[3, 32, 32]);
    let mut results = vec![];
    for device in [cpu(), gpu.clone()] {
        let model = Model::from_file(&fixture("onnx/tiny_cnn.onnx"), &device).unwrap();
        let mut s = Session::new(&model, x.clone(), model.layer_index(None).unwrap()).unwrap();
        let class = s.top_class();
        let options = Options {
            batch_size: Some(5),
            ..Options::default()
        };
        let mut maps = vec![s.logits.clone()];
        for m in [Method::GradCam, Method::ScoreCamPlusPlus] {
            maps.push(
                run_method(&mut s, m, class, &options, &Monitor::new())
                    .unwrap()
                    .raw
                    .data,
            );
        }
        results.push((class, maps));
    }
    assert_eq!(results[0].0, results[1].0);
    for (g, c) in results[1].1.iter().zip(&results[0].1) {
        let scale = c.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        let worst = g.iter().zip(c).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 1e-3 * scale, "wgpu and flex differ by {worst}");
    }
}

/// A YOLOv5 head and a DETR-style set predictor (64×64) on wgpu: the same boxes as on flex, and
/// the best box's GradCAM and ScoreCAM++ within 1e-3 of their peak.
fn detectors_run_on_wgpu_as_on_the_cpu(gpu: &Device) {
    use camlens::models::Focus;
    let dir = tempfile::tempdir().unwrap();
    let x = input(&[3, 64, 64]);
    for name in ["yolov5_head", "detr_head"] {
        let path = refilled(&format!("onnx/det/{name}.onnx"), dir.path());
        let mut results = vec![];
        for device in [cpu(), gpu.clone()] {
            let model = Model::from_file(&path, &device).unwrap();
            let boxes = model.detect(&x, None).unwrap();
            assert!(!boxes.is_empty(), "{name}: no box");
            model.set_focus(Focus::Box(boxes[0])).unwrap();
            let mut s = Session::new(&model, x.clone(), model.layer_index(None).unwrap()).unwrap();
            let options = Options {
                batch_size: Some(8),
                ..Options::default()
            };
            let mut maps = vec![];
            for m in [Method::GradCam, Method::ScoreCamPlusPlus] {
                let r = run_method(&mut s, m, boxes[0].class, &options, &Monitor::new());
                maps.push(r.unwrap().raw.data);
            }
            let anchors: Vec<(usize, usize)> = boxes.iter().map(|b| (b.anchor, b.class)).collect();
            results.push((anchors, maps));
        }
        assert_eq!(results[0].0, results[1].0, "{name}: other boxes on wgpu");
        for (g, c) in results[1].1.iter().zip(&results[0].1) {
            let scale = c.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            let worst = g.iter().zip(c).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= 1e-3 * scale,
                "{name}: wgpu and flex differ by {worst}"
            );
        }
    }
}
