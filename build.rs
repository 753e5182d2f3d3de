//! Checks the shipped EfficientNet-Lite0 weights against their published sha256 and converts them
//! once, at build time, into safetensors embedded in the binary: the binary alone then runs
//! anywhere, and a damaged weights file fails the build instead of giving wrong predictions. On
//! Windows it also embeds the icon into camlens.exe (Explorer, the taskbar, the installer).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

const LITE0: &str = "models/efficientnet-lite0-57934424.pth";
const LITE0_SHA256: &str = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db";

fn main() {
    windows_icon();
    println!("cargo:rerun-if-changed={LITE0}");
    println!("cargo:rerun-if-changed=build.rs");
    let bytes = std::fs::read(LITE0).unwrap_or_else(|e| panic!("cannot read {LITE0}: {e}"));
    let digest = format!("{:x}", Sha256::digest(&bytes));
    assert_eq!(
        digest, LITE0_SHA256,
        "{LITE0} does not match the sha256 recorded in models/NOTICE"
    );

    let reader = pytorch_reader::PytorchReader::new(LITE0).expect("parse the Lite0 checkpoint");
    let mut raw: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for (name, tensor) in reader.tensors() {
        if tensor.dtype() != pytorch_reader::DType::F32 {
            continue; // num_batches_tracked and other integer bookkeeping
        }
        let data = tensor.read().expect("read a Lite0 tensor");
        raw.insert(name.clone(), (tensor.shape().to_vec(), data));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = raw
        .iter()
        .map(|(name, (shape, data))| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .expect("tensor view");
            (name.clone(), view)
        })
        .collect();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("lite0.safetensors");
    safetensors::tensor::serialize_to_file(views, None, &out).expect("write lite0.safetensors");
}

/// The .exe's icon, where Windows builds it (winresource runs the Windows SDK's rc.exe or MinGW's
/// windres; it is a build dependency on Windows hosts only).
#[cfg(windows)]
fn windows_icon() {
    const ICON: &str = "assets/icons/camlens.ico";
    println!("cargo:rerun-if-changed={ICON}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        let mut res = winresource::WindowsResource::new();
        res.set_icon(ICON);
        res.compile()
            .expect("embed assets/icons/camlens.ico into camlens.exe");
    }
}

#[cfg(not(windows))]
fn windows_icon() {}
