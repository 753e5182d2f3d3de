//! Every container the loader accepts, and the clear errors for what it refuses.

use crate::common::*;
use camlens::Error;
use camlens::input::weights::WeightMap;
use camlens::models::{Arch, Model};

fn check_formula_tensors(map: &WeightMap) {
    for (name, shape) in [
        ("conv.weight", vec![4, 3, 3, 3]),
        ("bn.running_var", vec![4]),
        ("fc.bias", vec![5]),
        ("double.weight", vec![2, 3]),
    ] {
        let t = map.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(t.shape, shape);
        assert_eq!(t.data, values(name, &shape), "{name}");
    }
    // f16 is converted, to f16 precision.
    let half = map.get("half.weight").unwrap();
    for (a, b) in half.data.iter().zip(values("half.weight", &[6])) {
        assert!((a - b).abs() < 1e-3);
    }
    // Integer bookkeeping is not a weight.
    assert!(map.get("bn.num_batches_tracked").is_none());
}

#[test]
fn zip_checkpoint() {
    check_formula_tensors(&WeightMap::load(&fixture("formats/zip.pth")).unwrap());
}

#[test]
fn legacy_checkpoint() {
    check_formula_tensors(&WeightMap::load(&fixture("formats/legacy.pth")).unwrap());
}

#[test]
fn checkpoint_nesting_weights_under_state_dict_and_module() {
    let map = WeightMap::load(&fixture("formats/nested.pth")).unwrap();
    check_formula_tensors(&map);
    assert!(map.tensors.keys().all(|k| !k.contains("optimizer")));
}

#[test]
fn safetensors_file() {
    check_formula_tensors(&WeightMap::load(&fixture("formats/plain.safetensors")).unwrap());
}

#[test]
fn the_shipped_legacy_lite0_checkpoint_loads_through_the_normal_path() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/efficientnet-lite0-57934424.pth");
    let model = Model::from_file(&path, &cpu()).unwrap();
    assert_eq!(model.arch, Arch::EfficientNetLite0);
    assert_eq!(model.num_classes(), 1000);
}

#[test]
fn a_truncated_checkpoint_is_a_clear_error() {
    let src = std::fs::read(fixture("formats/zip.pth")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("cut.pth", &src[..src.len() / 2]),
        (
            "cut_legacy.pth",
            &std::fs::read(fixture("formats/legacy.pth")).unwrap()[..700],
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = WeightMap::load(&path).unwrap_err();
        assert!(matches!(err, Error::CorruptWeights { .. }), "{name}: {err}");
        assert!(err.to_string().contains("truncated or corrupt"), "{err}");
    }
}

#[test]
fn a_non_weights_file_is_a_clear_error() {
    let err = Model::from_file(&asset("samples/chelsea.png"), &cpu()).unwrap_err();
    assert!(matches!(err, Error::NotWeights { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("PNG image") && msg.contains("expected a PyTorch checkpoint"),
        "{msg}"
    );
}

#[test]
fn weights_of_an_unknown_architecture_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.safetensors");
    write_safetensors(
        &path,
        &[
            ("encoder.weight".to_string(), vec![8, 4]),
            ("decoder.weight".to_string(), vec![4, 8]),
        ],
    );
    let err = Model::from_file(&path, &cpu()).unwrap_err();
    assert!(matches!(err, Error::UnknownArchitecture { .. }), "{err}");
    assert!(err.to_string().contains("expected ResNet-18"), "{err}");
}
