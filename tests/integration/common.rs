//! The deterministic fixture formula (the twin of tools/fixture_formula.py) and helpers.

use burn::tensor::Device;
use onnx_ir::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `camlens` binary on the CPU.
pub fn camlens() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_camlens"));
    c.arg("--device").arg("cpu");
    c
}

/// Asserts that a command succeeded (showing its stderr if not) and returns its stderr.
pub fn succeeded(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

pub fn seed(name: &str) -> u64 {
    name.bytes()
        .enumerate()
        .map(|(i, b)| (i as u64 + 1) * b as u64)
        .sum::<u64>()
        % 9973
}

pub fn values(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let s = seed(name) as f64;
    (0..n)
        .map(|j| scaled(name, shape, (0.7123 * j as f64 + 0.137 * s).sin()))
        .collect()
}

/// `values` from SplitMix64 noise instead of a sine (the twin of fixture_formula.noise).
pub fn noise(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    (0..n as u64)
        .map(|j| {
            let mut z = (seed(name) << 32 | j).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            scaled(name, shape, u * 1.5f64.sqrt())
        })
        .collect()
}

/// A value in [-1, 1] scaled as the tensor's role needs.
fn scaled(name: &str, shape: &[usize], v: f64) -> f32 {
    let out = if name.ends_with("running_var") {
        1.0 + 0.5 * v * v
    } else if name.ends_with("running_mean") {
        0.1 * v
    } else if name.ends_with("class_token") || name.ends_with("pos_embedding") {
        0.02 * v
    } else if shape.len() <= 1 && name.ends_with("weight") {
        1.0 + 0.2 * v
    } else if shape.len() <= 1 {
        0.05 * v
    } else {
        let fan_in: usize = shape[1..].iter().product();
        v * (2.0 / (fan_in as f64).sqrt())
    };
    out as f32
}

pub fn input(shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|j| (1.5 * (0.0131 * j as f64 + 0.5).sin()) as f32)
        .collect()
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn asset(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(rel)
}

/// `../shared/data/REL`: the evaluation data beside the checkout (real labelled photos whose
/// licences keep them out of the repository). Where it is absent the test says so in one line
/// and returns `None` (the caller skips), except under `CI=true`, where its absence fails.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if root.is_dir() {
        return Some(root.join(rel));
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the evaluation data {} is missing",
        root.display()
    );
    eprintln!(
        "skipped: needs the evaluation data at {} (absent)",
        root.display()
    );
    None
}

pub fn cpu() -> Device {
    Device::flex()
}

#[derive(serde::Deserialize)]
pub struct ModelFixture {
    pub keys: Vec<(String, Vec<usize>)>,
    pub logits: Vec<f64>,
}

pub fn model_fixture(arch: &str) -> ModelFixture {
    let text = std::fs::read_to_string(fixture(&format!("models/{arch}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Writes the fixture formula's noise weights under the given names to a safetensors file, as a
/// user's export would be (noise, not the sine of `values`: a sine's weight matrices are rank 2,
/// so a comparison with torchvision on them checks about two numbers per layer).
pub fn write_safetensors(path: &Path, keys: &[(String, Vec<usize>)]) {
    write_safetensors_with(path, keys, |_, _| {});
}

/// As `write_safetensors`, letting `edit` change a tensor's values.
pub fn write_safetensors_with(
    path: &Path,
    keys: &[(String, Vec<usize>)],
    edit: impl Fn(&str, &mut Vec<f32>),
) {
    let tensors: BTreeMap<String, (Vec<usize>, Vec<u8>)> = keys
        .iter()
        .map(|(k, shape)| {
            let mut v = noise(k, shape);
            edit(k, &mut v);
            let bytes = v.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.clone(), (shape.clone(), bytes))
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(k, (s, b))| {
            (
                k.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::tensor::serialize_to_file(views, None, path).unwrap();
}

/// A torchvision ResNet-18 with the fixture formula's noise weights (tools/fixture_formula.py
/// `noise`), written into `dir` and loaded as users load theirs.
pub fn noise_resnet18(dir: &Path) -> camlens::models::Model {
    let path = dir.join("resnet18.safetensors");
    write_safetensors(&path, &model_fixture("resnet18").keys);
    camlens::models::Model::from_file(&path, &cpu()).unwrap()
}

/// The largest |a − b| over two equally long lists.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// The largest minus the smallest value.
pub fn range(x: &[f32]) -> f32 {
    let (lo, hi) = x
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    hi - lo
}

/// The largest difference between two raw maps as a share of the reference's range.
pub fn relative_error(ours: &[f32], theirs: &[f32]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    let worst = ours
        .iter()
        .zip(theirs)
        .fold(0f64, |m, (a, b)| m.max((*a as f64 - *b as f64).abs()));
    worst / range(theirs) as f64
}

/// How far `method`'s raw map (before ReLU and normalisation) for `class` is from a reference
/// raw map, as a share of the reference's range; a flat reference or a flat result fails.
pub fn raw_map_error(
    s: &mut camlens::cam::Session,
    method: camlens::cam::Method,
    class: usize,
    theirs: &[f32],
) -> f64 {
    use camlens::cam::{Monitor, Options, run_method};
    assert!(range(theirs) > 0.0, "{method:?}: a flat reference map");
    let out = run_method(s, method, class, &Options::default(), &Monitor::new()).unwrap();
    assert!(range(&out.raw.data) > 0.0, "{method:?}: our map is flat");
    relative_error(&out.raw.data, theirs)
}

/// ReLU then min-max, as pytorch-grad-cam ends every map before resizing it
/// (`scale_cam_image`).
pub fn finished(m: &[f32]) -> Vec<f32> {
    let r: Vec<f32> = m.iter().map(|v| v.max(0.0)).collect();
    let lo = r.iter().fold(f32::MAX, |a, &v| a.min(v));
    let hi = r.iter().fold(f32::MIN, |a, &v| a.max(v));
    r.iter().map(|v| (v - lo) / (1e-7 + hi - lo)).collect()
}

/// A fixture of little-endian float32 values (the `.f32` files the fixture scripts write).
pub fn f32_fixture(rel: &str) -> Vec<f32> {
    std::fs::read(fixture(rel))
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The committed graph `graph` (a fixture path) with every weight it lacks filled in by the fixture formula, written to
/// `dir`.
pub fn refilled(graph: &str, dir: &Path) -> PathBuf {
    let bytes = std::fs::read(fixture(graph)).unwrap();
    let name = Path::new(graph).file_stem().unwrap().to_string_lossy();
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
