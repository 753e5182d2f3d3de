//! ONNX models run by camlens' interpreter against onnxruntime (tools/make_onnx_fixtures.py),
//! split at their layers, explained, and refused with one sentence where they cannot run.

use crate::common::*;
use burn::tensor::{Tensor, TensorData};
use camlens::cam::{Method, Monitor, Options, Session, run_method};
use camlens::classify::logits_and_probs;
use camlens::compute::tensor_io::to_vec;
use camlens::models::{Arch, Model, Scores};

#[derive(serde::Deserialize)]
struct Intermediate {
    shape: Vec<usize>,
    first: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct Reference {
    logits: Vec<Vec<f32>>,
    intermediates: std::collections::HashMap<String, Intermediate>,
    fc_w: Vec<Vec<f32>>,
}

fn reference(name: &str) -> Reference {
    let path = fixture(&format!("onnx/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn open(name: &str) -> Model {
    Model::from_file(&fixture(&format!("onnx/{name}.onnx")), &cpu()).unwrap()
}

/// The fixture script's batch: the formula input and its mirror image.
fn batch() -> Vec<f32> {
    let x = input(&[3, 32, 32]);
    let mut mirrored = x.clone();
    for row in mirrored.chunks_mut(32) {
        row.reverse();
    }
    [x, mirrored].concat()
}

fn x(model: &Model) -> Tensor<4> {
    Tensor::from_data(TensorData::new(batch(), [2, 3, 32, 32]), &model.device)
}

/// max |ours − theirs| over the range of theirs.
fn rel(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let (lo, hi) = theirs
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / (hi - lo).max(f32::MIN_POSITIVE)
}

#[test]
fn logits_and_layers_equal_onnxruntime() {
    for name in [
        "tiny_cnn",
        "fixed_batch",
        "channels_last",
        "computed_shape",
        "same_padding",
        "computed_pads",
        "resize",
        "auto_pad",
        "batch_bound",
    ] {
        let model = open(name);
        let r = reference(name);
        assert_eq!(model.arch, Arch::Onnx);
        assert_eq!(model.preprocess.size, 32);
        assert_eq!(model.num_classes(), r.logits[0].len());
        let logits = to_vec(model.forward(x(&model))).unwrap();
        let e = rel(&logits, &r.logits.concat());
        assert!(e <= 1e-4, "{name}: logits off by {e} of their range");
        // Layers keep the names the file gives its nodes (the parser renames them).
        for (tensor, node) in [
            ("r1", "relu1"),
            ("s1", "residual"),
            ("r2", "relu2"),
            ("sw", "swish"),
            ("s", "residual"),
            ("up", "up"),
            ("near", "nearest"),
            ("tf_near", "tf_nearest"),
            ("wide", "wide"),
            ("pool", "pool"),
        ] {
            let Some(want) = r.intermediates.get(tensor) else {
                continue;
            };
            let layer = model.layer_index(Some(node)).unwrap();
            let info = &model.layers()[layer];
            assert_eq!(
                [info.channels, info.height, info.width].to_vec(),
                want.shape,
                "{name}/{node}"
            );
            let f = model.net.features(x(&model), layer);
            let got = to_vec(f.activation.narrow(0, 0, 1)).unwrap();
            let e = rel(&got, &want.first);
            assert!(e <= 1e-4, "{name}/{node}: off by {e}");
        }
    }
}

#[test]
fn f16_runs_the_weighted_nodes_and_stays_close_to_f32() {
    let full = open("tiny_cnn");
    let mut half = open("tiny_cnn");
    half.set_dtype(burn::tensor::DType::F16).unwrap();
    let a = to_vec(full.forward(x(&full))).unwrap();
    let b = to_vec(half.forward(x(&half))).unwrap();
    let e = rel(&b, &a);
    assert!(e > 0.0 && e <= 1e-2, "f16 logits off by {e} of f32's range");
}

#[test]
fn channels_last_stretches_are_not_offered_as_maps() {
    // conv → NHWC → LayerNorm → MatMul → NCHW → + conv: every layer offered is an 8×32×32 map;
    // the channels-last values in between ([1, 32, 32, 8]) would read as 32 channels of 32×8.
    let model = open("channels_last");
    let layers = model.layers();
    assert!(layers.len() >= 2, "{layers:?}");
    for l in &layers {
        assert_eq!((l.channels, l.height, l.width), (8, 32, 32), "{l}");
    }
}

#[test]
fn the_default_layer_is_the_last_spatial_one_and_every_split_gives_the_same_logits() {
    let model = open("tiny_cnn");
    let layers = model.layers();
    assert_eq!(layers[model.layer_index(None).unwrap()].name, "relu2");
    let whole = to_vec(model.forward(x(&model))).unwrap();
    // relu1's output also feeds the residual Add further on: it crosses the split as context.
    for (layer, info) in layers.iter().enumerate() {
        let f = model.net.features(x(&model), layer);
        let logits = to_vec(model.net.head(f.activation, &f.context, layer)).unwrap();
        let e = rel(&logits, &whole);
        assert!(e <= 1e-5, "split at {}: off by {e}", info.name);
    }
}

#[test]
fn gradient_methods_follow_the_graph_and_score_methods_run_batched() {
    let model = open("tiny_cnn");
    let r = reference("tiny_cnn");
    let layer = model.layer_index(None).unwrap();
    let mut s = Session::new(&model, input(&[3, 32, 32]), layer).unwrap();
    let class = s.top_class();
    // Behind relu2: global average pooling over 16×16, then the classifier, so
    // ∂logit_c/∂A_k is fc.w[c][k] / 256 everywhere, and GradCAM's weights are exactly that.
    let r_gc = run_method(
        &mut s,
        Method::GradCam,
        class,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    let want: Vec<f32> = r.fc_w[class].iter().map(|w| w / 256.0).collect();
    let e = rel(r_gc.weights.as_ref().unwrap(), &want);
    assert!(e <= 1e-5, "GradCAM weights off by {e}");
    // With that constant gradient g_k the other methods' raw maps follow by hand (in f64):
    // XGradCAM's weight Σ g A / Σ A is g_k itself, LayerCAM sums relu(g_k) A_k, and GradCAM++'s
    // weight is n · relu(g_k) · g_k² / (2 g_k² + Σ A_k · g_k³).
    let [k, h, w] = s.shape;
    let n = h * w;
    let a: Vec<f64> = s.activations.iter().map(|&v| v as f64).collect();
    let g: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    let map_of = |weight: &dyn Fn(usize) -> f64| -> Vec<f32> {
        (0..n)
            .map(|i| (0..k).map(|c| weight(c) * a[c * n + i]).sum::<f64>() as f32)
            .collect()
    };
    let sum_a = |c: usize| a[c * n..(c + 1) * n].iter().sum::<f64>();
    let by_hand = [
        (Method::XGradCam, map_of(&|c| g[c])),
        (Method::LayerCam, map_of(&|c| g[c].max(0.0))),
        (
            Method::GradCamPlusPlus,
            map_of(&|c| {
                let g2 = g[c] * g[c];
                n as f64 * g[c].max(0.0) * g2 / (2.0 * g2 + sum_a(c) * g2 * g[c] + 1e-6)
            }),
        ),
    ];
    for (m, want) in by_hand {
        let out = run_method(&mut s, m, class, &Options::default(), &Monitor::new()).unwrap();
        assert!(!out.flat, "{m}");
        let e = rel(&out.raw.data, &want);
        assert!(e <= 1e-5, "{m}: raw map off by {e} of its range");
    }
    let mut run = |batch| {
        let o = Options {
            batch_size: Some(batch),
            ..Options::default()
        };
        run_method(&mut s, Method::ScoreCamPlusPlus, class, &o, &Monitor::new()).unwrap()
    };
    let (a, b) = (run(3), run(16));
    assert!(rel(&a.raw.data, &b.raw.data) < 1e-5);
    assert!(!a.flat);
}

#[test]
fn what_cannot_run_is_one_sentence() {
    let err = |path: &std::path::Path| Model::from_file(path, &cpu()).unwrap_err().to_string();
    let e = err(&fixture("onnx/unsupported.onnx"));
    assert!(e.contains("operator Cos (node 'odd_cosine')"), "{e}");
    assert!(e.contains("camlens runs:"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.onnx");
    let bytes = std::fs::read(fixture("onnx/tiny_cnn.onnx")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(&truncated);
    assert!(
        e.contains("truncated.onnx") && e.contains("not a readable ONNX model"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let e = err(&fixture("onnx/not_an_image.onnx"));
    assert!(e.contains("is not an image batch [N, 3, H, W]"), "{e}");
    let e = err(&fixture("onnx/two_outputs.onnx"));
    assert!(
        e.contains("has 2 outputs (logits, features)") && e.contains("\"output\" in a model.json"),
        "{e}"
    );
}

#[test]
fn the_cli_predicts_and_lists_layers_of_an_onnx_file() {
    let model = fixture("onnx/tiny_cnn.onnx");
    let out = camlens()
        .args(["layers", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    succeeded(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("* relu2 (16×16×16)"), "{text}");
    assert!(text.contains("relu1 (8×32×32)"), "{text}");
    let out = camlens()
        .args(["predict", "--json", "--top", "3", "--model"])
        .arg(&model)
        .arg(asset("samples/coffee.png"))
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["top"].as_array().unwrap().len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let out = camlens()
        .args([
            "explain",
            "--methods",
            "gradcam,scorecam++",
            "--layer",
            "residual",
            "--model",
        ])
        .arg(&model)
        .arg("--out")
        .arg(dir.path())
        .arg(asset("samples/coffee.png"))
        .output()
        .unwrap();
    succeeded(&out);
    for m in ["gradcam", "scorecampp"] {
        let img = image::open(dir.path().join(format!("coffee.{m}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (600, 400), "{m}");
    }
    // What a model.json says, on the command line: a dynamic graph gets its size, a crop and
    // mean/std; the head is declared multi-label; layers and the recipe are printed.
    let out = camlens()
        .args(["layers", "--model"])
        .arg(fixture("onnx/dynamic_size.onnx"))
        .args([
            "--input-size",
            "48",
            "--crop-fraction",
            "1",
            "--mean",
            "127.5,127.5,127.5",
            "--std",
            "127.5,127.5,127.5",
            "--pixel-scale",
            "255",
            "--head",
            "sigmoid",
        ])
        .output()
        .unwrap();
    succeeded(&out);
    let (text, said) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(text.contains("relu (4×48×48)"), "{text}");
    assert!(
        said.contains("48×48") && said.contains("multi-label"),
        "{said}"
    );
    let out = camlens()
        .args(["layers", "--mean", "0.5,0.5", "--model"])
        .arg(fixture("onnx/dynamic_size.onnx"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--mean takes three values"), "{said}");
}

/// A fixture copied into a folder of its own, with `model.json` holding `config` if given.
fn with_config(name: &str, config: Option<&str>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.onnx"));
    std::fs::copy(fixture(&format!("onnx/{name}.onnx")), &path).unwrap();
    if let Some(c) = config {
        std::fs::write(dir.path().join("model.json"), c).unwrap();
    }
    (dir, path)
}

#[test]
fn a_single_logit_is_read_as_two_classes_named_from_the_metadata() {
    let model = open("binary_head");
    let r = reference("binary_head");
    assert_eq!(model.classes, ["not dog", "dog"]);
    assert!(model.name.contains("one logit"), "{}", model.name);
    let scores = to_vec(model.forward(x(&model))).unwrap();
    for (i, z) in r.logits.iter().map(|l| l[0]).enumerate() {
        let (lo, hi) = (scores[2 * i], scores[2 * i + 1]);
        let p = 1.0 / (1.0 + (lo - hi).exp());
        let want = 1.0 / (1.0 + (-z).exp());
        assert!((p - want).abs() < 1e-5, "P(dog) {p} vs σ(z) {want}");
    }
    let mut s = Session::new(&model, input(&[3, 32, 32]), 0).unwrap();
    for class in [0, 1] {
        let out = run_method(
            &mut s,
            Method::GradCam,
            class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!(out.class, class);
    }
}

#[test]
fn model_json_gives_a_dynamic_graph_its_size_and_picks_an_output() {
    let (_dir, path) = with_config("dynamic_size", None);
    let e = Model::from_file(&path, &cpu()).unwrap_err().to_string();
    assert!(e.contains("\"size\"") && e.contains("model.json"), "{e}");
    let (_dir, path) = with_config(
        "dynamic_size",
        Some(r#"{"size": 32, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}"#),
    );
    let model = Model::from_file(&path, &cpu()).unwrap();
    assert_eq!(model.preprocess.size, 32);
    assert_eq!(model.preprocess.mean, [127.5; 3]);
    assert_eq!(
        model.classes,
        ["cat", "dog", "fox"],
        "names from the metadata"
    );
    let logits = to_vec(model.forward(x(&model))).unwrap();
    let e = rel(&logits, &reference("dynamic_size").logits.concat());
    assert!(e <= 1e-4, "off by {e}");

    let (_dir, path) = with_config("two_outputs", Some(r#"{"output": "logits"}"#));
    let model = Model::from_file(&path, &cpu()).unwrap();
    assert_eq!(model.num_classes(), 3);
    let (_dir, path) = with_config("two_outputs", Some(r#"{"output": "scores"}"#));
    let e = Model::from_file(&path, &cpu()).unwrap_err().to_string();
    assert!(
        e.contains("'scores'") && e.contains("logits, features"),
        "{e}"
    );
}

#[test]
fn weights_in_an_external_data_file_are_read() {
    let model = open("external_data");
    let logits = to_vec(model.forward(x(&model))).unwrap();
    let e = rel(&logits, &reference("tiny_cnn").logits.concat());
    assert!(e <= 1e-4, "off by {e}");
}

/// GradCAM's weights are the mean gradient of the class's logit over each channel: moving
/// channel c of the layer by ±δ everywhere and running the rest of the graph (the head, with
/// whatever crosses the split as context) moves the logit by about ±δ · h·w · w_c.
fn assert_weights_are_the_heads_slopes(model: &Model, layer: usize, class: usize, weights: &[f32]) {
    let x = Tensor::<4>::from_data(
        TensorData::new(input(&[3, 32, 32]), [1, 3, 32, 32]),
        &model.device,
    );
    let f = model.net.features(x, layer);
    let [_, k, h, w] = f.activation.dims();
    let logit_moved = |c: usize, delta: f32| -> f32 {
        let mut d = vec![0f32; k * h * w];
        d[c * h * w..(c + 1) * h * w].fill(delta);
        let d = Tensor::<4>::from_data(TensorData::new(d, [1, k, h, w]), &model.device);
        let logits = model.net.head(f.activation.clone() + d, &f.context, layer);
        to_vec(logits).unwrap()[class]
    };
    let delta = 1e-2;
    let scale = weights.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "class {class}: all-zero weights");
    assert_eq!(weights.len(), k, "one weight per channel");
    for (c, weight) in weights.iter().enumerate() {
        let slope = (logit_moved(c, delta) - logit_moved(c, -delta)) / (2.0 * delta);
        let want = slope / (h * w) as f32;
        assert!(
            (weight - want).abs() <= 1e-2 * scale,
            "class {class}, channel {c}: GradCAM weight {weight} vs finite difference {want}"
        );
    }
}

#[test]
fn a_sigmoid_head_is_multi_label_and_a_final_softmax_is_left_out() {
    // multi_label ends in a Sigmoid: its "logits" in the fixture are σ(z).
    let model = open("multi_label");
    let r = reference("multi_label");
    assert_eq!(model.scores, Scores::Sigmoid);
    assert!(model.name.contains("multi-label"), "{}", model.name);
    let inputs: Vec<Vec<f32>> = batch().chunks(3 * 32 * 32).map(<[f32]>::to_vec).collect();
    let (logits, probs) = logits_and_probs(&model, &inputs).unwrap();
    let sigma: Vec<f32> = logits
        .concat()
        .iter()
        .map(|z| 1.0 / (1.0 + (-z).exp()))
        .collect();
    let want = r.logits.concat();
    assert!(
        rel(&sigma, &want) < 1e-5,
        "the maps explain the logits before the Sigmoid"
    );
    assert!(
        rel(&probs.concat(), &want) < 1e-5,
        "probabilities are σ(z) per label"
    );
    assert!(
        (probs[0].iter().sum::<f32>() - 1.0).abs() > 0.1,
        "{:?}",
        probs[0]
    );
    let mut s = Session::new(&model, input(&[3, 32, 32]), 0).unwrap();
    // Each label's GradCAM explains that label's logit z (not σ(z)).
    for class in 0..4 {
        let o = run_method(
            &mut s,
            Method::GradCam,
            class,
            &Options::default(),
            &Monitor::new(),
        )
        .unwrap();
        assert_eq!(o.class, class);
        assert_weights_are_the_heads_slopes(&model, 0, class, o.weights.as_ref().unwrap());
    }
    // ScoreCAM's scores are σ(z) too (1 would be softmax's flat answer of one class): each
    // channel's weight is σ(z_0) of the input masked by that channel, min-max normalised (the
    // layer is at input size, so the mask needs no upsampling), computed here by hand.
    let o = run_method(
        &mut s,
        Method::ScoreCam,
        0,
        &Options::default(),
        &Monitor::new(),
    )
    .unwrap();
    let info = &model.layers()[0];
    assert_eq!((info.height, info.width), (32, 32), "{}", info.name);
    let plane = 32 * 32;
    let mut masked = vec![];
    let mut channels = vec![];
    for (c, ch) in s.activations.chunks(plane).enumerate() {
        let (lo, hi) = ch
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        if hi > lo {
            let x: Vec<f32> = (0..3 * plane)
                .map(|i| s.input[i] * (ch[i % plane] - lo) / (hi - lo))
                .collect();
            masked.push(x);
            channels.push(c);
        }
    }
    assert!(channels.len() >= 2, "{channels:?}");
    let (_, scores) = logits_and_probs(&model, &masked).unwrap();
    let weights = o.weights.unwrap();
    for (c, p) in channels.iter().zip(&scores) {
        let (ours, want) = (weights[*c], p[0]);
        assert!(
            (ours - want).abs() <= 1e-5,
            "channel {c}: {ours} vs σ(z) {want}"
        );
        assert!(want > 0.0 && want < 1.0);
    }

    // softmax_head's graph ends in Softmax: its output is probabilities; camlens explains the
    // logits before it, and its own softmax gives the same probabilities.
    let model = open("softmax_head");
    let r = reference("softmax_head");
    assert_eq!(model.scores, Scores::Softmax);
    let (logits, probs) = logits_and_probs(&model, &inputs).unwrap();
    assert!(rel(&probs.concat(), &r.logits.concat()) < 1e-5);
    assert!(
        logits[0].iter().sum::<f32>().abs() > 1e-3 || logits[0].iter().any(|v| *v < 0.0),
        "logits, not probabilities: {:?}",
        logits[0]
    );

    // A model.json can declare a head of independent labels that exports raw logits.
    let (_dir, path) = with_config("tiny_cnn", Some(r#"{"head": "sigmoid"}"#));
    let model = Model::from_file(&path, &cpu()).unwrap();
    assert_eq!(model.scores, Scores::Sigmoid);
}

#[test]
fn a_batch_the_graph_hard_codes_runs_one_input_at_a_time_and_says_so() {
    let relaxed = open("fixed_batch");
    assert!(
        relaxed.batching.as_deref().unwrap().contains("relaxed"),
        "{:?}",
        relaxed.batching
    );
    let model = open("batch_bound");
    let said = model.batching.clone().unwrap();
    assert!(
        said.contains("one input at a time") && said.contains("'fold'"),
        "{said}"
    );
    // The logits of the batch of 2 are checked against onnxruntime's in
    // `logits_and_layers_equal_onnxruntime`; here the score methods, batched, equal one at a time,
    // and the gradient methods run through the split context.
    // At the first convolution: its output also crosses the split (the swish reads it).
    let layer = model.layer_index(Some("conv")).unwrap();
    let mut s = Session::new(&model, input(&[3, 32, 32]), layer).unwrap();
    let class = s.top_class();
    let mut run = |m, batch| {
        let o = Options {
            batch_size: Some(batch),
            ..Options::default()
        };
        run_method(&mut s, m, class, &o, &Monitor::new()).unwrap()
    };
    let (a, b) = (
        run(Method::ScoreCamPlusPlus, 1),
        run(Method::ScoreCamPlusPlus, 5),
    );
    assert!(rel(&a.raw.data, &b.raw.data) < 1e-5);
    // Augmented GradCAM++'s copies go through the graph one at a time whatever the batch: the
    // same map either way, and not a flat one.
    let (one, four) = (
        run(Method::AugGradCamPlusPlus, 1),
        run(Method::AugGradCamPlusPlus, 4),
    );
    assert!(!one.flat);
    assert!(rel(&four.raw.data, &one.raw.data) < 1e-5);
    // GradCAM's gradients through the split context equal the unsplit head's response.
    let weights = run(Method::GradCam, 4).weights.unwrap();
    assert_weights_are_the_heads_slopes(&model, layer, class, &weights);
}

/// A zero Pad whose only reader is an unpadded convolution is taken into the convolution's
/// padding (`onnx::fuse`), as TensorFlow's "SAME" is by the native models: computed_pads' two
/// Pads and two ReLUs are fused (its logits are onnxruntime's, above), and a split at a Pad's
/// own output still reads the padded map: zeros around the ReLU's map before it.
#[test]
fn zero_pads_are_taken_into_the_convolution_after_them() {
    let model = open("computed_pads");
    assert_eq!((model.fused_pads, model.fused_activations), (2, 2));
    let at = |node: &str| {
        let layer = model.layer_index(Some(node)).unwrap();
        model.net.features(x(&model), layer).activation
    };
    let padded = at("pad_b");
    assert_eq!(padded.dims(), [2, 4, 18, 18]);
    let inside = padded.clone().narrow(2, 1, 16).narrow(3, 1, 16);
    assert_eq!(to_vec(inside).unwrap(), to_vec(at("relu1")).unwrap());
    let total: f32 = to_vec(padded.abs()).unwrap().iter().sum();
    let core: f32 = to_vec(at("relu1").abs()).unwrap().iter().sum();
    assert!(core > 0.0 && total == core, "the border is not zeros");
}
