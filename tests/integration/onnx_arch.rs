//! Real architectures exported by PyTorch (tools/make_arch_fixtures.py): the graphs are committed
//! without their weights and refilled here by the fixture formula's noise, then run by camlens'
//! interpreter against onnxruntime's logits and pytorch-grad-cam's maps on the PyTorch original.

use crate::common::*;
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::models::Model;
use std::collections::HashMap;

#[derive(serde::Deserialize)]
struct Reference {
    size: usize,
    layer: String,
    default_layer: String,
    class: usize,
    logits: Vec<f32>,
    map_shape: Vec<usize>,
    /// pytorch-grad-cam's raw maps (before ReLU and normalisation) on the PyTorch original.
    maps: HashMap<String, Vec<f32>>,
    /// XGradCAM's raw map from the same model run in float64.
    xgradcam_f64: Vec<f32>,
    /// The methods beyond the paper's, on some architectures: pytorch-grad-cam's raw maps.
    #[serde(default)]
    more_maps: HashMap<String, Vec<f32>>,
}

/// How far two float32 runs of one network may disagree, as a share of the layer's largest
/// activation: measured 5.5e-7 between PyTorch's float32 and float64 runs of timm's Swin-T at
/// its last block (6.5e-7 on torchvision's), the difference between CPUs' kernels (AVX2,
/// AVX-512) being of the same order.
const F32_ACTIVATION_ERROR: f64 = 1e-6;

/// A map's error is measured against the reference's range: this much of it is allowed where
/// the method's arithmetic does not amplify rounding (no division by a sum that can cancel);
/// measured: at most 4.7e-6 over the architectures here (AVX-512), so 20 times that.
const MAP_TOLERANCE: f64 = 1e-4;

/// XGradCAM's worst-case error, as a share of its map's range, when each activation is off by
/// up to `F32_ACTIVATION_ERROR` of the largest one: its weight `w_k = Σ g·A / Σ A` moves by
/// `ε Σ|g − w_k| / |Σ A_k|`, which is large where a channel's activations sum to nearly zero
/// (LayerNorm outputs: on timm's Swin-T one channel has Σ|A| / |Σ A| ≈ 4600). Both float32
/// sides (ours and pytorch-grad-cam's) are that far from the float64 map at most.
fn xgradcam_error_bound(a: &[f32], g: &[f32], k: usize) -> f64 {
    let n = a.len() / k;
    let eps = F32_ACTIVATION_ERROR * a.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    let (mut spread, mut map, mut sum_w) = (vec![0f64; n], vec![0f64; n], 0f64);
    for (ak, gk) in a.chunks_exact(n).zip(g.chunks_exact(n)) {
        let d: f64 = ak.iter().map(|&v| v as f64).sum();
        let w = ak
            .iter()
            .zip(gk)
            .map(|(&a, &g)| a as f64 * g as f64)
            .sum::<f64>()
            / (d + 1e-7);
        let dw = gk.iter().map(|&g| (g as f64 - w).abs()).sum::<f64>() / d.abs().max(1e-30);
        for ((s, m), &v) in spread.iter_mut().zip(&mut map).zip(ak) {
            *s += dw * (v as f64).abs();
            *m += w * v as f64;
        }
        sum_w += w.abs();
    }
    let max = |x: &[f64]| x.iter().cloned().fold(f64::MIN, f64::max);
    let min = map.iter().cloned().fold(f64::MAX, f64::min);
    (max(&spread) + sum_w) * eps / (max(&map) - min)
}

fn reference(name: &str) -> Reference {
    let json = std::fs::read_to_string(fixture(&format!("onnx/arch/{name}.json"))).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn load(name: &str) -> Model {
    let dir = tempfile::tempdir().unwrap();
    Model::from_file(
        &refilled(&format!("onnx/arch/{name}.onnx"), dir.path()),
        &cpu(),
    )
    .unwrap()
}

fn check(name: &str) {
    let r = reference(name);
    let model = load(name);
    assert_eq!(model.preprocess.size as usize, r.size, "{name}: input size");
    let layers = model.layers();
    assert_eq!(
        layers[model.layer_index(None).unwrap()].name,
        r.default_layer,
        "{name}: default layer"
    );
    let layer = model.layer_index(Some(&r.layer)).unwrap();
    assert_eq!(
        [layers[layer].height, layers[layer].width].to_vec(),
        r.map_shape,
        "{name}: {}",
        r.layer
    );
    let mut s = Session::new(&model, input(&[3, r.size, r.size]), layer).unwrap();
    let logits = s.logits.clone();
    let range_logits = range(&r.logits);
    let logits_e = max_diff(&logits, &r.logits) / range_logits;
    assert!(
        logits_e <= 1e-4,
        "{name}: logits off by {logits_e} of their range"
    );
    assert_eq!(s.top_class(), r.class, "{name}: top class");
    let mut methods = vec![
        ("gradcam", Method::GradCam),
        ("gradcam++", Method::GradCamPlusPlus),
        ("xgradcam", Method::XGradCam),
        ("layercam", Method::LayerCam),
    ];
    if r.size <= 64 {
        // pytorch-grad-cam's own ScoreCAM recipe (logits, align_corners, softmax over
        // channels), one forward pass per channel: small models only.
        methods.push(("scorecam", Method::ScoreCamPgc));
    }
    let mut expected: Vec<&str> = methods.iter().map(|(k, _)| *k).collect();
    let mut present: Vec<&str> = r.maps.keys().map(String::as_str).collect();
    expected.sort();
    present.sort();
    assert_eq!(present, expected, "{name}: the fixture's maps");
    let (mut errors, mut failed) = (vec![], vec![]);
    for (key, method) in methods {
        let theirs = &r.maps[key];
        assert!(range(theirs) > 0.0, "{name} {key}: a flat reference map");
        let ours = run_method(
            &mut s,
            method,
            r.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert!(range(&ours.raw.data) > 0.0, "{name} {key}: our map is flat");
        let e = relative_error(&ours.raw.data, theirs);
        let mut tolerance = MAP_TOLERANCE;
        if method == Method::XGradCam {
            let g = s.gradients(r.class).unwrap().to_vec();
            let bound = xgradcam_error_bound(&s.activations, &g, s.shape[0]);
            tolerance = tolerance.max(bound);
            let e64 = relative_error(&ours.raw.data, &r.xgradcam_f64);
            errors.push(format!("xgradcam-f64 {e64:.2e} (bound {bound:.1e})"));
            if e64 > tolerance {
                failed.push(format!(
                    "xgradcam against float64: {e64:.2e} > {tolerance:.1e}"
                ));
            }
        }
        errors.push(format!("{key} {e:.2e}"));
        if e > tolerance {
            failed.push(format!("{key}: {e:.2e} > {tolerance:.1e}"));
        }
    }
    // The figures of docs/models.md's table of tested architectures.
    eprintln!("{name}: logits {logits_e:.1e} of their range; raw maps {errors:?}");
    assert!(
        failed.is_empty(),
        "{name}: maps off, as a share of the reference's range: {failed:?}"
    );
}

macro_rules! architectures {
    ($($test:ident: $name:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            check($name);
        }
    )*};
}

architectures! {
    resnet50_equals_onnxruntime_and_pytorch_grad_cam: "resnet50",
    mobilenet_v3_large_equals_onnxruntime_and_pytorch_grad_cam: "mobilenet_v3_large",
    efficientnet_b0_equals_onnxruntime_and_pytorch_grad_cam: "efficientnet_b0",
    densenet121_equals_onnxruntime_and_pytorch_grad_cam: "densenet121",
    convnext_tiny_equals_onnxruntime_and_pytorch_grad_cam: "convnext_tiny",
    regnet_y_400mf_equals_onnxruntime_and_pytorch_grad_cam: "regnet_y_400mf",
    inception_v3_equals_onnxruntime_and_pytorch_grad_cam: "inception_v3",
    resnet18_from_the_dynamo_exporter_equals_onnxruntime_and_pytorch_grad_cam: "resnet18_dynamo",
    vit_b_16_equals_onnxruntime_and_pytorch_grad_cam: "vit_b_16",
    vit_b_16_from_the_torchscript_exporter_equals_onnxruntime_and_pytorch_grad_cam: "vit_b_16_torchscript",
    swin_t_equals_onnxruntime_and_pytorch_grad_cam: "swin_t",
    timm_vit_tiny_equals_onnxruntime_and_pytorch_grad_cam: "timm_vit_tiny_patch16_224",
    timm_swin_t_equals_onnxruntime_and_pytorch_grad_cam: "timm_swin_tiny_patch4_window7_224",
    a_small_cnn_with_scorecam_equals_onnxruntime_and_pytorch_grad_cam: "small_cnn",
}

/// ConvNeXt's head is pooling, LayerNorm, Linear: the class gradient `g` of the pooled features
/// `p` is orthogonal to them (LayerNorm's gradient removes the mean and the direction of its
/// input), so GradCAM's map `Σ_k w_k A_k` with `w_k = g_k / hw` sums to `Σ_k g_k p_k = 0` over
/// positions, and the ReLU that every tool applies before resizing clips about half of it.
/// camlens' raw map is the one before that ReLU (`.raw.npy`); the map to compare with
/// pytorch-grad-cam's is the rectified one (`.layer.npy`). Compared raw against rectified,
/// after min-max normalisation, the two differ by about half the range: what a report took for
/// a gradient error.
#[test]
fn convnext_maps_are_centred_so_the_rectified_map_is_the_one_to_compare() {
    let name = "convnext_tiny";
    let r = reference(name);
    let model = load(name);
    let layer = model.layer_index(Some(&r.layer)).unwrap();
    let mut s = Session::new(&model, input(&[3, r.size, r.size]), layer).unwrap();
    let relu = |m: &[f32]| m.iter().map(|v| v.max(0.0)).collect::<Vec<f32>>();
    let normalised = |m: &[f32]| {
        let lo = m.iter().fold(f32::MAX, |a, &v| a.min(v));
        let hi = m.iter().fold(f32::MIN, |a, &v| a.max(v));
        m.iter().map(|v| (v - lo) / (hi - lo)).collect::<Vec<f32>>()
    };
    for (key, method) in [("gradcam", Method::GradCam), ("layercam", Method::LayerCam)] {
        let ours = run_method(
            &mut s,
            method,
            r.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        let theirs = relu(&r.maps[key]);
        let clipped = theirs.iter().filter(|&&v| v == 0.0).count();
        assert!(
            clipped * 5 >= theirs.len(),
            "{name} {key}: pytorch-grad-cam's ReLU clips only {clipped} of {} positions",
            theirs.len()
        );
        let rectified = ours.rectified().data;
        let e = relative_error(&rectified, &theirs);
        assert!(
            e <= MAP_TOLERANCE,
            "{name} {key}: rectified map off by {e:.2e}"
        );
        let apart = max_diff(&normalised(&ours.raw.data), &normalised(&theirs));
        assert!(
            apart > 0.2,
            "{name} {key}: raw and rectified only {apart} apart"
        );
        if method == Method::GradCam {
            let sum: f64 = ours.raw.data.iter().map(|&v| v as f64).sum();
            let abs: f64 = ours.raw.data.iter().map(|&v| v.abs() as f64).sum();
            assert!(
                sum.abs() <= 1e-3 * abs,
                "{name}: GradCAM's map sums to {sum} of {abs}"
            );
        }
    }
}

/// The methods beyond the paper's on an ONNX CNN, a ViT and ConvNeXt: each map after ReLU and
/// min-max within 1e-3 of pytorch-grad-cam's at the layer's resolution; EigenCAM and
/// EigenGradCAM up to the sign pytorch-grad-cam leaves to LAPACK (camlens makes the peak
/// positive, as scikit-learn does for KPCA-CAM, whose sign must agree).
fn check_more(name: &str, hessian: bool, ablation: bool) {
    let r = reference(name);
    let model = load(name);
    let layer = model.layer_index(Some(&r.layer)).unwrap();
    let mut s = Session::new(&model, input(&[3, r.size, r.size]), layer).unwrap();
    let mut methods = vec![
        ("hirescam", Method::HiResCam, false),
        ("gradcam-elementwise", Method::GradCamElementWise, false),
        ("eigengradcam", Method::EigenGradCam, true),
        ("eigencam", Method::EigenCam, true),
        ("kpcacam", Method::KpcaCam, false),
        ("fem", Method::Fem, false),
        ("finercam", Method::FinerCam, false),
        ("shapleycam", Method::ShapleyCam, false),
    ];
    if ablation {
        // After a ReLU only: elsewhere pytorch-grad-cam's ablation value drifts within a batch.
        methods.push(("ablationcam", Method::AblationCam, false));
    }
    if r.size <= 64 {
        // torch-cam's, two samples a channel (SS-CAM on camlens' noise of seed 5): a forward
        // pass per channel and sample, small models only.
        methods.push(("sscam", Method::SsCam, false));
        methods.push(("iscam", Method::IsCam, false));
    }
    let sampled = Options {
        score_samples: Some(2),
        augment: camlens::cam::AugmentOptions {
            seed: 5,
            ..Default::default()
        },
        ..Options::default()
    };
    assert_eq!(
        r.more_maps.len(),
        methods.len(),
        "{name}: the fixture's maps"
    );
    let (mut errors, mut failed) = (vec![], vec![]);
    for (key, method, either_sign) in methods {
        let theirs = finished(&r.more_maps[key]);
        let ours = run_method(&mut s, method, r.class, &sampled, &Monitor::new()).unwrap();
        let ours = finished(&ours.raw.data);
        assert!(range(&theirs) > 0.5, "{name} {key}: a flat reference map");
        if method == Method::ShapleyCam {
            // Where the head has curvature the Hessian term must show, or the test tests nothing.
            let apart = max_diff(&theirs, &finished(&r.maps["gradcam"]));
            assert_eq!(
                apart > 0.02,
                hessian,
                "{name}: ShapleyCAM {apart} from GradCAM"
            );
        }
        let mut e = max_diff(&ours, &theirs);
        if either_sign {
            let flipped: Vec<f32> = r.more_maps[key].iter().map(|v| -v).collect();
            e = e.min(max_diff(&ours, &finished(&flipped)));
        }
        errors.push(format!("{key} {e:.1e}"));
        // ShapleyCAM's Hessian term is a finite difference here, exact autodiff there.
        let tolerance = if method == Method::ShapleyCam {
            1e-2
        } else {
            1e-3
        };
        if e > tolerance {
            failed.push(format!("{key}: {e:.2e}"));
        }
    }
    eprintln!("{name}: {errors:?}");
    assert!(failed.is_empty(), "{name}: maps off: {failed:?}");
}

#[test]
fn more_methods_on_resnet50_equal_pytorch_grad_cam() {
    check_more("resnet50", false, true);
}

#[test]
fn more_methods_on_a_small_cnn_equal_pytorch_grad_cam() {
    check_more("small_cnn", false, true);
}

#[test]
fn more_methods_on_vit_b_16_equal_pytorch_grad_cam() {
    check_more("vit_b_16", true, false);
}

/// Its head (pooling, LayerNorm, Linear) is not linear, but LayerNorm is blind to scale: the
/// gradient at `αA` is `g/α`, so `H A = −g` and ShapleyCAM's weights are 1.5 × GradCAM's, the
/// same map once normalised, on both sides.
#[test]
fn more_methods_on_convnext_tiny_equal_pytorch_grad_cam() {
    check_more("convnext_tiny", false, false);
}

/// Its classifier has a Hardswish between two linear layers: a Hessian term too.
#[test]
fn more_methods_on_mobilenet_v3_large_equal_pytorch_grad_cam() {
    check_more("mobilenet_v3_large", true, false);
}

/// FullGrad on ONNX graphs against pytorch-grad-cam's whole call on their PyTorch originals
/// (tools/make_fullgrad_fixtures.py), at input size within 1e-2: batch norms as nodes after
/// bias-free convolutions (ResNet-50, 53 of them), convolutions with biases (the small CNN) and
/// a ViT, whose one convolution is its patch embedding.
#[test]
fn fullgrad_on_onnx_graphs_equals_pytorch_grad_cam() {
    for name in ["small_cnn", "resnet50", "vit_b_16"] {
        let r = reference(name);
        let model = load(name);
        let layer = model.layer_index(Some(&r.layer)).unwrap();
        let mut s = Session::new(&model, input(&[3, r.size, r.size]), layer).unwrap();
        let theirs = finished(&f32_fixture(&format!("onnx/arch/{name}.fullgrad.f32")));
        assert!(range(&theirs) > 0.5, "{name}: a flat reference map");
        let ours = run_method(
            &mut s,
            Method::FullGrad,
            r.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        let e = max_diff(&ours.map.data, &theirs);
        eprintln!("{name}: FullGrad {e:.2e} of the range");
        assert!(
            e <= 1e-2,
            "{name}: FullGrad off pytorch-grad-cam's by {e:.2e}"
        );
    }
}

/// Guided backpropagation and guided GradCAM on ONNX graphs (`Relu` nodes guided; values read
/// twice, ResNet-50's shortcuts, cut so that each backward step goes through them once) against
/// pytorch-grad-cam on the PyTorch originals, within 1e-3 after min-max.
#[test]
fn guided_backprop_on_onnx_graphs_equals_pytorch_grad_cam() {
    for name in ["small_cnn", "resnet50"] {
        let r = reference(name);
        let model = load(name);
        let layer = model.layer_index(Some(&r.layer)).unwrap();
        let mut s = Session::new(&model, input(&[3, r.size, r.size]), layer).unwrap();
        for (key, method) in [
            ("guided", Method::GuidedBackprop),
            ("guided-gradcam", Method::GuidedGradCam),
        ] {
            let theirs = finished(&f32_fixture(&format!("onnx/arch/{name}.{key}.f32")));
            assert!(range(&theirs) > 0.5, "{name} {key}: a flat reference map");
            let ours = run_method(
                &mut s,
                method,
                r.class,
                &Options::default(),
                &Monitor::new(),
            )
            .unwrap();
            let e = max_diff(&ours.map.data, &theirs);
            eprintln!("{name}: {key} {e:.2e} of the range");
            assert!(e <= 1e-3, "{name}: {key} off pytorch-grad-cam's by {e:.2e}");
        }
    }
}

/// LeGrad on ONNX exports of torchvision's ViT-B/16 by both exporters (attention Softmax nodes,
/// the next layer norm's input as each block's output, the final norm and head run on the mean
/// token) against torch-cam's on the PyTorch original (tools/make_legrad_fixtures.py, the last
/// four blocks), at the 14×14 grid after min-max within 1e-3. timm's ViT has such blocks too
/// (torch-cam has no projection for it: no reference); Swin's windowed attention and a CNN
/// have none camlens reads.
#[test]
fn legrad_on_onnx_vits_equals_torch_cams() {
    let theirs = finished(&f32_fixture("onnx/arch/vit_b_16.legrad.f32"));
    assert!(range(&theirs) > 0.5, "a flat reference map");
    for name in [
        "vit_b_16",
        "vit_b_16_torchscript",
        "timm_vit_tiny_patch16_224",
    ] {
        let r = reference(name);
        let model = load(name);
        assert!(Method::LeGrad.not_for(&model).is_none(), "{name}");
        let layer = model.layer_index(Some(&r.layer)).unwrap();
        let mut s = Session::new(&model, input(&[3, r.size, r.size]), layer).unwrap();
        let ours = run_method(
            &mut s,
            Method::LeGrad,
            r.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!((ours.raw.width, ours.raw.height), (14, 14), "{name}");
        let ours = finished(&ours.raw.data);
        assert!(range(&ours) > 0.5, "{name}: a flat map");
        if name.starts_with("timm") {
            continue;
        }
        let e = max_diff(&ours, &theirs);
        eprintln!("{name}: LeGrad {e:.2e} of the range");
        assert!(e <= 1e-3, "{name}: LeGrad off torch-cam's by {e:.2e}");
    }
    for name in ["swin_t", "small_cnn"] {
        assert!(Method::LeGrad.not_for(&load(name)).is_some(), "{name}");
    }
}

/// Batch norms, SiLU (a Sigmoid and the Mul of the two), HardSwish and the squeeze-excitation
/// gates are taken into the convolutions (`onnx::fuse`): EfficientNet-B0's and MobileNetV3's
/// fused runs, a batch of two and each input alone, give the node-by-node run's explained map
/// and logits within float rounding.
#[test]
fn batch_norms_activations_and_gates_taken_in_give_the_node_by_node_values() {
    use burn::tensor::{Tensor, TensorData};
    use camlens::models::network::Network;
    use camlens::onnx::{Config, OnnxNet};
    // These exports keep their batch norms between convolution and activation: every one is
    // folded, and the activation after it applied.
    let fusions = [
        ("efficientnet_b0", 49, 49, 16),
        ("mobilenet_v3_large", 46, 39, 8),
    ];
    for (name, norms, activations, gates) in fusions {
        let model = load(name);
        let fused = (
            model.fused_batch_norms,
            model.fused_activations,
            model.fused_gates,
        );
        assert_eq!(fused, (norms, activations, gates), "{name}: what is fused");
        let dir = tempfile::tempdir().unwrap();
        let path = refilled(&format!("onnx/arch/{name}.onnx"), dir.path());
        let net = OnnxNet::load(&path, &Config::default(), &cpu()).unwrap();
        let plain = OnnxNet::load(&path, &Config::default(), &cpu())
            .unwrap()
            .unfused();
        let s = net.input_size;
        // The second input: the first with its left half dark.
        let first = input(&[3, s, s]);
        let dark = first
            .iter()
            .enumerate()
            .map(|(i, v)| if i % s < s / 2 { 0.0 } else { *v });
        let two: Vec<f32> = first.iter().copied().chain(dark).collect();
        let x = Tensor::<4>::from_data(TensorData::new(two, [2, 3, s, s]), &cpu());
        let layer = net.default_layer();
        let values = |net: &OnnxNet, x: Tensor<4>| {
            let f = net.features(x, layer);
            let logits = net.head(f.activation.clone(), &f.context, layer);
            let host = |d: TensorData| d.try_to_vec::<f32>().unwrap();
            (host(f.activation.into_data()), host(logits.into_data()))
        };
        let (map, logits) = values(&plain, x.clone());
        let (a, b) = map.split_at(map.len() / 2);
        let apart = max_diff(a, b) / range(a);
        // B0's map with these noise weights varies little between inputs: the fused run must be
        // a hundred times closer to the node-by-node one than the two inputs' maps are apart.
        assert!(
            apart > 1e-4,
            "{name}: two different inputs ({apart:.1e} apart)"
        );
        let alone = [x.clone().narrow(0, 0, 1), x.clone().narrow(0, 1, 1)];
        let alone = alone.map(|x| values(&net, x));
        let alone = (
            [&alone[0].0[..], &alone[1].0[..]].concat(),
            [&alone[0].1[..], &alone[1].1[..]].concat(),
        );
        for (run, (got_map, got_logits)) in [("batch", values(&net, x)), ("alone", alone)] {
            let e = max_diff(&got_map, &map) / range(&map);
            assert!(
                e <= 1e-5 && e <= 0.01 * apart,
                "{name}, {run}: fused map off by {e:.1e} ({apart:.1e} between the inputs)"
            );
            let e = max_diff(&got_logits, &logits) / range(&logits);
            assert!(e <= 1e-4, "{name}, {run}: fused logits off by {e:.1e}");
        }
    }
}

/// A convolution's clamp is applied as the convolution writes (`onnx::fuse`), as the native
/// models do: the small CNN's two Conv → ReLU pairs and MobileNetV3's 39 (ReLU and HardSwish,
/// most after a batch norm folded into the convolution) are fused, and a split at a fused convolution's own output still reads its map before the clamp
/// (negative values and all), whose clamp at 0 is exactly the ReLU's layer.
#[test]
fn clamps_are_fused_into_their_convolutions_and_a_split_before_them_still_reads() {
    let model = load("small_cnn");
    assert_eq!(model.fused_activations, 2);
    assert_eq!(load("mobilenet_v3_large").fused_activations, 39);
    let r = reference("small_cnn");
    let x = input(&[3, r.size, r.size]);
    let at = |layer: &str| {
        let l = model.layer_index(Some(layer)).unwrap();
        Session::new(&model, x.clone(), l).unwrap()
    };
    let conv = at("/features/features.2/Conv");
    let relu = at("/features/features.3/Relu");
    assert!(
        conv.activations.iter().any(|v| *v < 0.0),
        "the map before the ReLU"
    );
    let clamped: Vec<f32> = conv.activations.iter().map(|v| v.max(0.0)).collect();
    assert_eq!(clamped[..], relu.activations[..]);
    let e = max_diff(&conv.logits, &relu.logits) / range(&r.logits);
    assert!(e <= 1e-5, "the logits of the two splits differ by {e:.1e}");
    let e = max_diff(&relu.logits, &r.logits) / range(&r.logits);
    assert!(e <= 1e-4, "logits off onnxruntime's by {e:.1e}");
}
