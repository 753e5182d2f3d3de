//! Real architectures exported by PyTorch (tools/make_arch_fixtures.py): the graphs are committed
//! without their weights and refilled here by the fixture formula's noise, then run by camlens'
//! interpreter against onnxruntime's logits and pytorch-grad-cam's maps on the PyTorch original.

use crate::common::*;
use camlens::cam::{Method, Session};
use camlens::models::Model;
use onnx_ir::Message;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
struct Reference {
    size: usize,
    layer: String,
    default_layer: String,
    class: usize,
    logits: Vec<f32>,
    map_shape: Vec<usize>,
    maps: HashMap<String, Vec<f32>>,
}

/// The committed graph with every weight it lacks filled in by the fixture formula, written to
/// `dir`.
fn refilled(name: &str, dir: &Path) -> PathBuf {
    let bytes = std::fs::read(fixture(&format!("onnx/arch/{name}.onnx"))).unwrap();
    let mut model = onnx_ir::ModelProto::parse_from_bytes(&bytes).unwrap();
    let mut filled = 0;
    for init in &mut model.graph.mut_or_insert_default().initializer {
        const FLOAT: i32 = 1;
        if init.data_type == FLOAT && init.raw_data.is_empty() && init.float_data.is_empty() {
            let dims: Vec<usize> = init.dims.iter().map(|&d| d as usize).collect();
            let v = noise(&init.name, &dims);
            init.raw_data = v
                .iter()
                .flat_map(|f| f.to_le_bytes())
                .collect::<Vec<u8>>()
                .into();
            filled += 1;
        }
    }
    assert!(filled >= 4, "{name}: only {filled} weights to fill");
    let path = dir.join(format!("{name}.onnx"));
    std::fs::write(&path, model.write_to_bytes().unwrap()).unwrap();
    path
}

fn check(name: &str) {
    let r: Reference = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("onnx/arch/{name}.json"))).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = Model::from_file(&refilled(name, dir.path()), &cpu()).unwrap();
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
    let range = r.logits.iter().cloned().fold(f32::MIN, f32::max)
        - r.logits.iter().cloned().fold(f32::MAX, f32::min);
    let logits_e = logits
        .iter()
        .zip(&r.logits)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / range;
    assert!(
        logits_e <= 1e-4,
        "{name}: logits off by {logits_e} of their range"
    );
    assert_eq!(s.top_class(), r.class, "{name}: top class");
    let (mut errors, mut worst) = (vec![], 0f32);
    for (key, method) in [
        ("gradcam", Method::GradCam),
        ("gradcam++", Method::GradCamPlusPlus),
        ("xgradcam", Method::XGradCam),
        ("layercam", Method::LayerCam),
        // pytorch-grad-cam's own ScoreCAM recipe (logits, align_corners, softmax over channels).
        ("scorecam", Method::ScoreCamPgc),
    ] {
        let Some(theirs) = r.maps.get(key) else {
            continue; // ScoreCAM is run on small models only
        };
        let e = map_error(&mut s, method, r.class, theirs);
        errors.push(format!("{key} {e:.2e}"));
        worst = worst.max(e);
    }
    // The figures of the README's table of tested architectures.
    eprintln!("{name}: logits {logits_e:.1e} of their range; maps {errors:?}");
    assert!(
        worst <= 1e-3,
        "{name}: maps off after normalisation: {errors:?}"
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
