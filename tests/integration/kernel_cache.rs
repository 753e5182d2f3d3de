//! The kernel cache on disk: a first GPU launch tunes its kernels and keeps the results in the
//! platform's cache folder (setting aside the damaged cache file it finds there); a second launch
//! tunes nothing and draws the same map. Run through the binary, as a person launches it (the
//! cache is set up once per process, before any device). Where no Vulkan adapter exists the test
//! says so and passes, except under CI (lavapipe).

use crate::common::*;
use std::path::Path;
use std::process::Output;

/// One `camlens explain` on the GPU with its own cache folder, cubecl's autotune log in `log`.
fn launch(cache: &Path, out: &Path, log: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_camlens"))
        .args([
            "--device",
            "gpu",
            "explain",
            "--overwrite",
            "--methods",
            "gradcam",
        ])
        .arg("--model")
        .arg(fixture("onnx/tiny_cnn.onnx"))
        .arg("--out")
        .arg(out)
        .arg(fixture("photos/tiny.png"))
        .env("XDG_CACHE_HOME", cache)
        .env("CUBECL_DEBUG_LOG", log)
        .env("RUST_LOG", "camlens=info,warn")
        .output()
        .unwrap()
}

/// Kernels tuned in that launch: cubecl logs one "Fastest result" line per tuned operation.
fn tuned(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("Fastest result")
        .count()
}

#[test]
fn a_second_gpu_launch_tunes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, out) = (dir.path().join("cache"), dir.path().join("maps"));
    let logs = [dir.path().join("first.log"), dir.path().join("second.log")];
    let folder = cache.join("camlens").join("kernels");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("default.db"),
        b"\0\x17 half a file from a full disk",
    )
    .unwrap();
    let first = launch(&cache, &out, &logs[0]);
    let err = String::from_utf8_lossy(&first.stderr);
    if !first.status.success() && err.contains("no usable GPU") && std::env::var_os("CI").is_none()
    {
        eprintln!("no wgpu adapter here, kernel-cache test not run: {err}");
        return;
    }
    assert!(first.status.success(), "{err}");
    assert!(err.contains("was damaged"), "{err}");
    assert!(folder.join("default.db.damaged").exists());
    assert!(
        err.contains(&format!("kernel cache: {}", folder.display())),
        "{err}"
    );
    assert!(
        tuned(&logs[0]) > 0,
        "the first launch tuned nothing: nothing to keep"
    );
    let kept: u64 = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().contains("damaged"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(kept > 0, "nothing written to {}", folder.display());
    let pixels = || image::open(out.join("tiny.gradcam.png")).unwrap().to_rgb8();
    let map = pixels();

    let second = launch(&cache, &out, &logs[1]);
    let err = succeeded(&second);
    assert!(
        !err.contains("damaged") && !err.contains("Unable to open"),
        "{err}"
    );
    assert_eq!(
        tuned(&logs[1]),
        0,
        "the second launch tuned again ({} operations in the first)",
        tuned(&logs[0])
    );
    // The same tuned kernels, so the same map (up to the first launch's tuning runs, which may
    // have computed it with another candidate: one 8-bit step).
    let again = pixels();
    assert_eq!(again.dimensions(), map.dimensions());
    let worst = map
        .as_raw()
        .iter()
        .zip(again.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "the maps differ by {worst} levels");
}
