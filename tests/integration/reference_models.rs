//! torchvision models on formula weights give torchvision's logits (tools/make_model_fixtures.py).

use crate::common::*;
use burn::tensor::{Tensor, TensorData};
use camlens::compute::tensor_io::to_vec;
use camlens::models::{Arch, Model};

fn check(arch: &str, expected_arch: Arch) {
    let fx = model_fixture(arch);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{arch}.safetensors"));
    write_safetensors(&path, &fx.keys);
    let device = cpu();
    let model = Model::from_file(&path, &device).unwrap();
    assert_eq!(model.arch, expected_arch);
    assert_eq!(model.num_classes(), fx.logits.len());
    let x = Tensor::<4>::from_data(
        TensorData::new(input(&[1, 3, 224, 224]), [1, 3, 224, 224]),
        &device,
    );
    let ours = to_vec(model.forward(x)).unwrap();
    let range = fx.logits.iter().cloned().fold(f64::MIN, f64::max)
        - fx.logits.iter().cloned().fold(f64::MAX, f64::min);
    let worst = ours
        .iter()
        .zip(&fx.logits)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= 1e-3 * range,
        "{arch}: max |Δlogit| {worst} exceeds 1e-3 of the range {range}"
    );
}

#[test]
fn resnet18_matches_torchvision() {
    check("resnet18", Arch::ResNet(18));
}

#[test]
fn resnet50_matches_torchvision() {
    check("resnet50", Arch::ResNet(50));
}

#[test]
fn vgg19_matches_torchvision() {
    check("vgg19", Arch::Vgg(19, false));
}

#[test]
fn vit_b16_matches_torchvision() {
    check("vit_b_16", Arch::VitB16);
}

#[test]
fn a_two_class_resnet18_loads_with_its_labels_file() {
    let mut keys = model_fixture("resnet18").keys;
    for (k, shape) in keys.iter_mut() {
        if k == "fc.weight" {
            *shape = vec![2, 512];
        } else if k == "fc.bias" {
            *shape = vec![2];
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cats_dogs.safetensors");
    write_safetensors(&path, &keys);
    std::fs::write(dir.path().join("cats_dogs.labels.txt"), "cat\ndog\n").unwrap();
    let model = Model::from_file(&path, &cpu()).unwrap();
    assert_eq!(model.arch, Arch::ResNet(18));
    assert_eq!(model.classes, vec!["cat", "dog"]);
    assert_eq!(
        model.layers()[model.layer_index(None).unwrap()].name,
        "layer4"
    );
}

#[test]
fn a_wrongly_shaped_tensor_is_named_with_expected_and_found() {
    let mut keys = model_fixture("resnet18").keys;
    for (k, shape) in keys.iter_mut() {
        if k == "layer3.0.conv1.weight" {
            *shape = vec![256, 64, 3, 3];
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    write_safetensors(&path, &keys);
    let err = Model::from_file(&path, &cpu()).unwrap_err().to_string();
    assert!(err.contains("layer3.0.conv1.weight"), "{err}");
    assert!(
        err.contains("[256, 128, 3, 3]") && err.contains("[256, 64, 3, 3]"),
        "{err}"
    );
}
