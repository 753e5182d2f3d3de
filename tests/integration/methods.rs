//! The methods beyond the paper's against pytorch-grad-cam 1.5.7 (tools/make_method_fixtures.py),
//! on ResNet-18 with formula weights at layer4: each map at feature resolution, after ReLU and
//! min-max normalisation as pytorch-grad-cam ends, within 1e-3; RandomCAM by its statistics over
//! seeds.

use crate::cam::resnet18;
use crate::common::*;
use camlens::cam::family::activation::randomcam;
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::models::Model;
use camlens::pipeline::{Pipeline, Request};
use std::collections::HashMap;

#[derive(serde::Deserialize)]
struct RandomStats {
    seeds: usize,
    mean: Vec<f64>,
    var: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct CamReference {
    weights: Vec<f32>,
    map: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct SeededMap {
    seed: u64,
    map: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    class: usize,
    /// pytorch-grad-cam's `get_cam_image`: the map before its ReLU.
    maps: HashMap<String, Vec<f32>>,
    /// The same with `eigen_smooth=True`.
    eigen_smooth: HashMap<String, Vec<f32>>,
    /// torch-cam's CAM: the fc layer's weights of the class, and its map.
    cam: CamReference,
    /// torch-cam's SmoothGradCAM++ run on camlens' noise for `seed`.
    #[serde(rename = "smoothgradcam++")]
    smoothgradcam_pp: SeededMap,
    randomcam: RandomStats,
}

fn fixture_maps() -> Fixture {
    let text = std::fs::read_to_string(fixture("cam/resnet18_methods.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A session of ResNet-18 (formula weights) on the formula input at `layer`.
fn session<'m>(model: &'m Model, layer: &str) -> Session<'m> {
    let layer = model.layer_index(Some(layer)).unwrap();
    Session::new(model, input(&[3, 224, 224]), layer).unwrap()
}

#[test]
fn each_method_equals_pytorch_grad_cam_at_feature_resolution() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    assert_eq!(s.top_class(), fx.class);
    // The principal components' sign is arbitrary in pytorch-grad-cam (LAPACK's); camlens makes
    // the peak positive, as scikit-learn does for KPCA-CAM, whose sign must then agree.
    let methods = [
        ("hirescam", Method::HiResCam, false),
        ("gradcam-elementwise", Method::GradCamElementWise, false),
        ("eigengradcam", Method::EigenGradCam, true),
        ("eigencam", Method::EigenCam, true),
        ("kpcacam", Method::KpcaCam, false),
        ("fem", Method::Fem, false),
        ("finercam", Method::FinerCam, false),
        // The layer feeds pooling and a linear layer: no Hessian term, ShapleyCAM = GradCAM.
        ("shapleycam", Method::ShapleyCam, false),
        ("ablationcam", Method::AblationCam, false),
    ];
    let mut keys: Vec<&String> = fx.maps.keys().collect();
    keys.sort();
    assert_eq!(keys.len(), methods.len(), "the fixture's maps: {keys:?}");
    let mut failed = vec![];
    for (key, method, either_sign) in methods {
        let theirs = &fx.maps[key];
        let r = run_method(
            &mut s,
            method,
            fx.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!((r.raw.width, r.raw.height), (7, 7), "{key}");
        let expected = finished(theirs);
        assert!(range(&expected) > 0.5, "{key}: a flat reference map");
        let mut e = max_diff(&finished(&r.raw.data), &expected);
        if either_sign {
            let flipped: Vec<f32> = theirs.iter().map(|v| -v).collect();
            e = e.min(max_diff(&finished(&r.raw.data), &finished(&flipped)));
        }
        eprintln!("{key}: {e:.2e} of the range");
        if e > 1e-3 {
            failed.push(format!("{key}: {e:.2e}"));
        }
    }
    assert!(failed.is_empty(), "maps off: {failed:?}");
}

/// CAM's weights are ResNet-18's fc weights of the class (read through the gradient of its
/// pooled linear head) and its map torch-cam's; at layer3, where a block of convolutions and
/// ReLUs follows, the result says the premise does not hold.
#[test]
fn cam_reads_the_classifiers_weights_and_says_where_there_are_none() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    let r = run_method(
        &mut s,
        Method::Cam,
        fx.class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!(r.approximate, None);
    let weights = r.weights.unwrap();
    let e = max_diff(&weights, &fx.cam.weights) / range(&fx.cam.weights);
    assert!(
        e <= 1e-5,
        "CAM's weights off the fc layer's by {e:.2e} of their range"
    );
    let e = max_diff(&finished(&r.raw.data), &finished(&fx.cam.map));
    assert!(e <= 1e-3, "CAM's map off torch-cam's by {e:.2e}");
    let mut s = session(&model, "layer3");
    let r = run_method(
        &mut s,
        Method::Cam,
        fx.class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    let note = r
        .approximate
        .expect("CAM at layer3 must say its premise fails");
    assert!(note.contains("not pooling then one linear layer"), "{note}");
}

/// SmoothGradCAM++ against torch-cam's on the same noisy copies (tools/smoothgrad_noise.py
/// draws camlens' seeded noise in Python), and unlike GradCAM++ (else the noise did nothing).
#[test]
fn smoothgradcam_pp_equals_torch_cams_on_the_same_noise() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    let mut options = Options::default();
    options.augment.seed = fx.smoothgradcam_pp.seed;
    let m = Method::SmoothGradCamPlusPlus;
    let ours = run_method(&mut s, m, fx.class, &options, &Monitor::new()).unwrap();
    let plain = run_method(
        &mut s,
        Method::GradCamPlusPlus,
        fx.class,
        &options,
        &Monitor::new(),
    )
    .unwrap();
    let ours = finished(&ours.raw.data);
    let e = max_diff(&ours, &finished(&fx.smoothgradcam_pp.map));
    let apart = max_diff(&ours, &finished(&plain.raw.data));
    eprintln!("SmoothGradCAM++: {e:.2e} of the range; {apart:.2} from GradCAM++");
    assert!(e <= 1e-3, "SmoothGradCAM++ off torch-cam's by {e:.2e}");
    assert!(apart > 0.02, "the noise changed nothing ({apart})");
}

/// `--aug-smooth`: pytorch-grad-cam's whole call with `aug_smooth=True` (six flipped and
/// scaled copies, each finished at input size, mirrored back, averaged), at input size after
/// min-max; and it changes the map (else this tests nothing).
#[test]
fn aug_smooth_equals_pytorch_grad_cams() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    let smooth = Options {
        aug_smooth: true,
        ..Options::default()
    };
    for (key, method) in [("gradcam", Method::GradCam), ("layercam", Method::LayerCam)] {
        let bytes = std::fs::read(fixture(&format!("cam/resnet18.augsmooth.{key}.f32"))).unwrap();
        let theirs: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let ours = run_method(&mut s, method, fx.class, &smooth, &Monitor::new()).unwrap();
        let plain = run_method(
            &mut s,
            method,
            fx.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!((ours.map.width, ours.map.height), (224, 224));
        let e = max_diff(&ours.map.data, &finished(&theirs));
        let changed = max_diff(&ours.map.data, &plain.map.data);
        eprintln!("{key}: {e:.2e} of the range; {changed:.2} from the plain map");
        assert!(e <= 1e-3, "{key}: aug-smoothed map off by {e:.2e}");
        assert!(
            changed > 0.02,
            "{key}: aug-smooth changed nothing ({changed})"
        );
    }
}

/// `--eigen-smooth`: the first principal component of what each map sums over channels, up
/// to its sign (pytorch-grad-cam's is LAPACK's); and it changes the maps (else this tests
/// nothing).
#[test]
fn eigen_smooth_equals_pytorch_grad_cams() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    let smooth = Options {
        eigen_smooth: true,
        ..Options::default()
    };
    let methods = [
        ("gradcam", Method::GradCam),
        ("gradcam++", Method::GradCamPlusPlus),
        ("xgradcam", Method::XGradCam),
        ("layercam", Method::LayerCam),
        ("hirescam", Method::HiResCam),
        ("gradcam-elementwise", Method::GradCamElementWise),
    ];
    assert_eq!(fx.eigen_smooth.len(), methods.len());
    let mut failed = vec![];
    for (key, method) in methods {
        let theirs = &fx.eigen_smooth[key];
        let ours = run_method(&mut s, method, fx.class, &smooth, &Monitor::new()).unwrap();
        let plain = run_method(
            &mut s,
            method,
            fx.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        let flipped: Vec<f32> = theirs.iter().map(|v| -v).collect();
        let ours = finished(&ours.raw.data);
        let e = max_diff(&ours, &finished(theirs)).min(max_diff(&ours, &finished(&flipped)));
        let changed = max_diff(&ours, &finished(&plain.raw.data));
        eprintln!("{key}: {e:.2e} of the range; {changed:.2} from the plain map");
        if e > 1e-3 || changed < 0.05 {
            failed.push(format!("{key}: {e:.2e}, changed {changed:.2}"));
        }
    }
    assert!(failed.is_empty(), "eigen-smoothed maps off: {failed:?}");
}

/// Each position's mean and variance over seeds, ours against pytorch-grad-cam's (NumPy's
/// generator, so only the distribution can agree): weights uniform in [−1, 1) make the mean
/// map 0 and the variance `Σ_k A_k² / 3` at each position. The bounds are five standard errors
/// of the difference of two estimates from `n` seeds each.
#[test]
fn randomcam_is_reproducible_and_distributed_as_pytorch_grad_cams() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let s = session(&model, "layer4");
    let k = s.shape[0];
    assert_eq!(
        randomcam(&s.activations, k, 7).raw,
        randomcam(&s.activations, k, 7).raw
    );
    let n = fx.randomcam.seeds;
    let maps: Vec<Vec<f32>> = (0..n as u64)
        .map(|seed| randomcam(&s.activations, k, seed).raw)
        .collect();
    let positions = maps[0].len();
    assert_eq!(positions, fx.randomcam.mean.len());
    for i in 0..positions {
        let mean = maps.iter().map(|m| m[i] as f64).sum::<f64>() / n as f64;
        let var = maps
            .iter()
            .map(|m| (m[i] as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let (their_mean, their_var) = (fx.randomcam.mean[i], fx.randomcam.var[i]);
        let se_mean = (2.0 * their_var / n as f64).sqrt();
        assert!(
            (mean - their_mean).abs() <= 5.0 * se_mean,
            "position {i}: mean {mean} vs {their_mean} (standard error {se_mean})"
        );
        // A variance estimate of a near-Gaussian variable has relative error √(2/n).
        let se_var = their_var * (4.0 / n as f64).sqrt();
        assert!(
            (var - their_var).abs() <= 5.0 * se_var,
            "position {i}: variance {var} vs {their_var}"
        );
    }
}

#[derive(serde::Deserialize)]
struct ScoreFixture {
    class: usize,
    samples: usize,
    seed: u64,
    sscam: Vec<f32>,
    iscam: Vec<f32>,
}

/// SS-CAM and IS-CAM against torch-cam's (tools/make_score_fixtures.py) at two samples per
/// channel, SS-CAM on the same noise (camlens' seeded draws, replayed in Python); another seed
/// gives another SS-CAM map (else the noise did nothing). IS-CAM's steps move its map by 0.007
/// of the range from one step's here, seven times the tolerance, so a wrong step fails.
#[test]
fn sscam_and_iscam_equal_torch_cams() {
    let text = std::fs::read_to_string(fixture("cam/resnet18_score.json")).unwrap();
    let fx: ScoreFixture = serde_json::from_str(&text).unwrap();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    let mut options = Options::default();
    options.augment.seed = fx.seed;
    options.score_samples = Some(fx.samples);
    let mut run = |m: Method, o: &Options| {
        let r = run_method(&mut s, m, fx.class, o, &Monitor::new()).unwrap();
        assert_eq!((r.raw.width, r.raw.height), (7, 7));
        finished(&r.raw.data)
    };
    let sscam = run(Method::SsCam, &options);
    let iscam = run(Method::IsCam, &options);
    let mut other = options;
    other.augment.seed = fx.seed + 1;
    other.score_samples = Some(1);
    let other_seed = run(Method::SsCam, &other);
    for (key, ours, theirs) in [("sscam", &sscam, &fx.sscam), ("iscam", &iscam, &fx.iscam)] {
        let expected = finished(theirs);
        assert!(range(&expected) > 0.5, "{key}: a flat reference map");
        let e = max_diff(ours, &expected);
        eprintln!("{key}: {e:.2e} of the range");
        assert!(e <= 1e-3, "{key} off torch-cam's by {e:.2e}");
    }
    let apart = max_diff(&sscam, &other_seed);
    eprintln!("SS-CAM, another seed: {apart:.3} of the range apart");
    assert!(apart > 1e-2, "SS-CAM's noise changed nothing ({apart})");
}

/// RefineCAM against pytorch-grad-cam's whole call (tools/make_refine_fixtures.py: GradCAM++ at
/// layer2, layer3 and layer4, multiplied), at input size after min-max: the layers camlens
/// picks by default for layer4, and the same when named. Unlike GradCAM++ alone at layer4,
/// else the earlier layers did nothing.
#[test]
fn refinecam_equals_pytorch_grad_cams_with_its_default_layers() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let layers = model.layers();
    let target = model.layer_index(Some("layer4")).unwrap();
    let names: Vec<&str> = camlens::cam::wrapper::default_refine_layers(&layers, target)
        .into_iter()
        .map(|i| layers[i].name.as_str())
        .collect();
    assert_eq!(names, ["layer2", "layer3", "layer4"]);
    let bytes = std::fs::read(fixture("cam/resnet18.refinecam.f32")).unwrap();
    let theirs: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut s = session(&model, "layer4");
    let named = ["layer2", "layer3", "layer4"].map(|n| model.layer_index(Some(n)).unwrap());
    let chosen = Options {
        refine: camlens::cam::RefineLayers::new(&named).unwrap(),
        ..Options::default()
    };
    let plain = run_method(
        &mut s,
        Method::GradCamPlusPlus,
        fx.class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    for options in [Options::default(), chosen] {
        let ours = run_method(
            &mut s,
            Method::RefineCam,
            fx.class,
            &options,
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!((ours.map.width, ours.map.height), (224, 224));
        let e = max_diff(&ours.map.data, &finished(&theirs));
        let apart = max_diff(&ours.map.data, &plain.map.data);
        eprintln!("RefineCAM: {e:.2e} of the range; {apart:.2} from GradCAM++ at layer4");
        assert!(e <= 1e-3, "RefineCAM off pytorch-grad-cam's by {e:.2e}");
        assert!(apart > 0.05, "the earlier layers changed nothing ({apart})");
    }
}

/// SESS against pytorch-grad-cam's whole call (tools/make_sess_fixtures.py: GradCAM on 122
/// windows of the input at twelve scales, fused, blurred) at input size after min-max; and
/// unlike GradCAM's own map, else the patches did nothing.
#[test]
fn sess_equals_pytorch_grad_cams() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let bytes = std::fs::read(fixture("cam/resnet18.sess.f32")).unwrap();
    let theirs: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut s = session(&model, "layer4");
    let o = Options::default();
    let monitor = Monitor::new();
    let ours = run_method(&mut s, Method::Sess, fx.class, &o, &monitor).unwrap();
    assert_eq!(monitor.progress(), (122, 122), "one step per window");
    let plain = run_method(&mut s, Method::GradCam, fx.class, &o, &Monitor::new()).unwrap();
    let e = max_diff(&ours.map.data, &finished(&theirs));
    let apart = max_diff(&ours.map.data, &plain.map.data);
    eprintln!("SESS: {e:.2e} of the range; {apart:.2} from GradCAM");
    assert!(range(&theirs) > 0.5, "a flat reference map");
    assert!(e <= 1e-3, "SESS off pytorch-grad-cam's by {e:.2e}");
    assert!(apart > 0.05, "the windows changed nothing ({apart})");
}

#[derive(serde::Deserialize)]
struct DffFixture {
    class: usize,
    concepts: Vec<Vec<f32>>,
    maps: Vec<Vec<f32>>,
    /// The fc layer's softmax of each concept.
    probabilities: Vec<Vec<f32>>,
}

/// DFF's factorisation against pytorch-grad-cam's `dff` (scikit-learn's NMF from the same
/// NumPy seed, tools/make_dff_fixtures.py): each concept's map after min-max within 1e-3, its
/// vector within 1e-3 of its range; the method's concepts classified as the fc layer does, and
/// its map the concept most probably the class.
#[test]
fn dff_factorises_as_pytorch_grad_cam_and_scikit_learn() {
    let text = std::fs::read_to_string(fixture("cam/resnet18_dff.json")).unwrap();
    let fx: DffFixture = serde_json::from_str(&text).unwrap();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    let r = run_method(
        &mut s,
        Method::Dff,
        fx.class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!(r.concepts.len(), 5);
    assert_eq!(r.approximate, None, "ResNet-18's head is pooling then fc");
    for (c, concept) in r.concepts.iter().enumerate() {
        let p = &fx.probabilities[c];
        let top = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        let (ours, prob) = concept.classes[0];
        assert_eq!(ours, top, "concept {c}: top class");
        assert!(
            (prob - p[top]).abs() <= 1e-4,
            "concept {c}: {prob} vs {}",
            p[top]
        );
    }
    let best = (0..5)
        .max_by(|&a, &b| fx.probabilities[a][fx.class].total_cmp(&fx.probabilities[b][fx.class]))
        .unwrap();
    let e = max_diff(&finished(&r.raw.data), &finished(&fx.maps[best]));
    assert!(
        e <= 1e-3,
        "DFF's map is not the class's likeliest concept's ({e:.2e})"
    );
    let ours = camlens::cam::family::factorisation::dff(&s.activations, s.shape[0], 5);
    assert_eq!(ours.maps.len(), fx.maps.len());
    for (c, (map, theirs)) in ours.maps.iter().zip(&fx.maps).enumerate() {
        let expected = finished(theirs);
        assert!(range(&expected) > 0.5, "concept {c}: a flat reference map");
        let e = max_diff(&finished(map), &expected);
        let v = max_diff(&ours.concepts[c], &fx.concepts[c]) / range(&fx.concepts[c]);
        eprintln!("concept {c}: map {e:.2e}, vector {v:.2e} of the range");
        assert!(
            e <= 1e-3 && v <= 1e-3,
            "concept {c}: map {e:.2e}, vector {v:.2e}"
        );
    }
}

/// FullGrad against pytorch-grad-cam's whole call (tools/make_fullgrad_fixtures.py: the input
/// gradient and the bias gradients of ResNet-18's twenty batch norms, each channel min-max
/// normalised, resized, summed) at input size, within 1e-2 as the issue asks (measured: see
/// the printed figure); the same whatever the session's layer, since it uses none.
#[test]
fn fullgrad_equals_pytorch_grad_cams_and_ignores_the_layer() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let theirs = f32_fixture("cam/resnet18.fullgrad.f32");
    assert!(range(&theirs) > 0.5, "a flat reference map");
    let mut maps = vec![];
    for layer in ["layer4", "layer2"] {
        let mut s = session(&model, layer);
        let r = run_method(
            &mut s,
            Method::FullGrad,
            fx.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!((r.map.width, r.map.height), (224, 224));
        assert!(r.approximate.as_deref().unwrap().contains("layer-free"));
        let e = max_diff(&r.map.data, &finished(&theirs));
        eprintln!("FullGrad at {layer}: {e:.2e} of the range");
        assert!(e <= 1e-2, "FullGrad off pytorch-grad-cam's by {e:.2e}");
        maps.push(r.map.data);
    }
    assert!(
        max_diff(&maps[0], &maps[1]) < 1e-6,
        "the layer changed FullGrad's map"
    );
}

/// Guided backpropagation and guided GradCAM against pytorch-grad-cam's
/// `GuidedBackpropReLUModel` and its recipe (GradCAM's finished map times it), each shown as
/// the largest magnitude over the channels (tools/make_input_gradient_fixtures.py), at input
/// size after min-max. The guided rule is discontinuous (a ReLU passes a gradient or not), and
/// camlens folds each batch norm into its convolution, which changes the forward pass's
/// rounding: where a pre-activation or a gradient is within rounding of zero, the two sides
/// decide differently, and a few pixels move (measured: 0.24 % of them by more than 1e-3, at
/// most 8e-2, mean 5e-5, correlation 0.99994). So: at most 0.5 % of the pixels off by more than
/// 1e-3 and a mean difference under 1e-4, where the plain input gradient is 0.84 off at worst;
/// on an ONNX graph with its batch norms as nodes every pixel is within 1e-3
/// (`guided_backprop_on_onnx_graphs_equals_pytorch_grad_cam`).
#[test]
fn guided_backprop_and_guided_gradcam_equal_pytorch_grad_cams() {
    let fx = fixture_maps();
    let (_dir, model) = resnet18();
    let mut s = session(&model, "layer4");
    for (key, method) in [
        ("guided", Method::GuidedBackprop),
        ("guided-gradcam", Method::GuidedGradCam),
    ] {
        let theirs = finished(&f32_fixture(&format!("cam/resnet18.{key}.f32")));
        assert!(range(&theirs) > 0.5, "{key}: a flat reference map");
        let r = run_method(
            &mut s,
            method,
            fx.class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!((r.map.width, r.map.height), (224, 224));
        let diffs: Vec<f32> = r
            .map
            .data
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .collect();
        let off = diffs.iter().filter(|d| **d > 1e-3).count() as f32 / diffs.len() as f32;
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        eprintln!(
            "{key}: {:.1e} of the pixels off by more than 1e-3, mean {mean:.1e}",
            off
        );
        assert!(
            off <= 5e-3 && mean <= 1e-4,
            "{key} off pytorch-grad-cam's: {off} of the pixels, mean {mean}"
        );
    }
}

#[derive(serde::Deserialize)]
struct LeGradFixture {
    class: usize,
    blocks: Vec<usize>,
    /// torch-cam's map before normalisation, 14×14.
    map: Vec<f32>,
}

/// LeGrad against torch-cam's on torchvision's ViT-B/16 with formula weights
/// (tools/make_legrad_fixtures.py: the last four blocks, camlens' default at the last layer),
/// at the 14×14 grid after min-max within 1e-3; left out, with its reason, for a CNN.
#[test]
fn legrad_equals_torch_cams_on_vit_and_is_left_out_for_cnns() {
    let text = std::fs::read_to_string(fixture("cam/vit_b_16.legrad.json")).unwrap();
    let fx: LeGradFixture = serde_json::from_str(&text).unwrap();
    assert_eq!(fx.blocks, [8, 9, 10, 11]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vit_b_16.safetensors");
    write_safetensors(&path, &model_fixture("vit_b_16").keys);
    let vit = Model::from_file(&path, &cpu()).unwrap();
    assert!(Method::LeGrad.not_for(&vit).is_none());
    let layer = vit.layer_index(None).unwrap();
    let mut s = Session::new(&vit, input(&[3, 224, 224]), layer).unwrap();
    assert_eq!(s.top_class(), fx.class);
    let r = run_method(
        &mut s,
        Method::LeGrad,
        fx.class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!((r.raw.width, r.raw.height), (14, 14));
    let theirs = finished(&fx.map);
    assert!(range(&theirs) > 0.5, "a flat reference map");
    let e = max_diff(&finished(&r.raw.data), &theirs);
    eprintln!("LeGrad: {e:.2e} of the range");
    assert!(e <= 1e-3, "LeGrad off torch-cam's by {e:.2e}");

    let (_dir, cnn) = resnet18();
    let why = Method::LeGrad.not_for(&cnn).unwrap();
    let alone = Request::new(&[Method::LeGrad], Options::default());
    let refused = Pipeline::new(&cnn, alone).err().unwrap().to_string();
    assert!(
        refused.contains(why) && why.contains("transformer"),
        "{refused}"
    );
    let both = Request::new(&[Method::GradCam, Method::LeGrad], Options::default());
    let p = Pipeline::new(&cnn, both).unwrap();
    let kept: Vec<Method> = p.request.steps.iter().map(|s| s.method).collect();
    assert_eq!(kept, [Method::GradCam]);
}
