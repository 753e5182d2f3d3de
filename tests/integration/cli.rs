//! The `camlens` binary end to end: predict, explain's files and its refusal to overwrite.

use crate::common::*;

#[test]
fn predict_prints_json_top_k() {
    let out = camlens()
        .args(["predict", "--json", "--top", "2"])
        .arg(asset("samples/coffee.png"))
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = &v[0]["top"];
    assert_eq!(top.as_array().unwrap().len(), 2);
    assert_eq!(top[0]["class"], 967);
    assert_eq!(top[0]["name"], "espresso");
}

#[test]
fn explain_writes_overlays_at_the_original_size_and_never_overwrites_silently() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        camlens()
            .args([
                "explain",
                "--methods",
                "gradcam,layercam",
                "--grid",
                "--raw",
                "--out",
            ])
            .arg(dir.path())
            .args(extra)
            .arg(asset("samples/chelsea.png"))
            .output()
            .unwrap()
    };
    let out = run(&[]);
    succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tiger cat"), "{stdout}");
    for f in [
        "chelsea.gradcam.png",
        "chelsea.layercam.png",
        "chelsea.gradcam.npy",
        "chelsea.gradcam.layer.npy",
        "chelsea.gradcam.raw.npy",
        "chelsea.grid.png",
    ] {
        assert!(stdout.contains(f), "does not say it wrote {f}: {stdout}");
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let overlay = image::open(dir.path().join("chelsea.gradcam.png")).unwrap();
    assert_eq!((overlay.width(), overlay.height()), (451, 300));
    // 224×224 float32 map after a 128-byte header.
    let npy = std::fs::metadata(dir.path().join("chelsea.gradcam.npy")).unwrap();
    assert_eq!(npy.len(), 128 + 224 * 224 * 4);
    // The layer map is the raw one after ReLU, both at the 7×7 layer, neither normalised (the
    // raw map's peak is not 1). Lite0's GradCAM on the cat is positive nearly everywhere; where
    // the two differ is tested on ConvNeXt (onnx_arch.rs).
    let floats = |name: &str| -> Vec<f32> {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(bytes.len(), 128 + 7 * 7 * 4, "{name}");
        let body = bytes[128..].chunks_exact(4);
        body.map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let (raw, layer) = (
        floats("chelsea.gradcam.raw.npy"),
        floats("chelsea.gradcam.layer.npy"),
    );
    let peak = raw.iter().cloned().fold(f32::MIN, f32::max);
    assert!(peak > 0.0 && peak != 1.0, "{raw:?}");
    for (r, l) in raw.iter().zip(&layer) {
        assert_eq!(*l, r.max(0.0));
    }

    let before = std::fs::read(dir.path().join("chelsea.gradcam.png")).unwrap();
    let refused = run(&["--colormap", "viridis"]);
    assert!(!refused.status.success());
    let msg = String::from_utf8_lossy(&refused.stderr);
    assert!(
        msg.contains("not overwriting") && msg.contains("--overwrite"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("chelsea.gradcam.png")).unwrap(),
        before
    );

    let forced = run(&["--colormap", "viridis", "--overwrite"]);
    assert!(forced.status.success());
    assert_ne!(
        std::fs::read(dir.path().join("chelsea.gradcam.png")).unwrap(),
        before
    );

    // --legend: the colour scale under each overlay.
    let with = run(&["--colormap", "viridis", "--overwrite", "--legend"]);
    succeeded(&with);
    let framed = image::open(dir.path().join("chelsea.gradcam.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(framed.width(), 451);
    assert!(framed.height() > 300 + 10, "{}", framed.height());
    // Sheets always carry it: its bar's left end is viridis' lowest colour.
    let sheet = image::open(dir.path().join("chelsea.grid.png"))
        .unwrap()
        .to_rgb8();
    let bar_y = sheet.height() - 1 - (14.0f32 * 1.3).ceil() as u32 - 2 - 5;
    assert_eq!(
        sheet.get_pixel(6, bar_y).0,
        camlens::draw::overlay::Colormap::Viridis.color(0.0)
    );
}

#[test]
fn a_bad_model_file_is_one_clear_sentence() {
    let out = camlens()
        .args(["predict", "--model"])
        .arg(asset("samples/chelsea.png"))
        .arg(asset("samples/coffee.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("is not a weights file"), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
}

#[test]
fn an_output_folder_that_cannot_be_made_says_so() {
    let out = camlens()
        .args([
            "explain",
            "--methods",
            "gradcam",
            "--out",
            "/proc/camlens-no",
        ])
        .arg(asset("samples/coffee.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("cannot create /proc/camlens-no"), "{msg}");
}

#[test]
fn an_unknown_layer_is_one_error_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = camlens()
        .args(["explain", "--layer", "no_such_layer", "--out"])
        .arg(dir.path().join("out"))
        .arg(asset("samples/coffee.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("unknown layer 'no_such_layer'"), "{msg}");
    assert!(msg.contains("conv_head"), "{msg}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn explain_writes_deletion_and_insertion_curves() {
    let dir = tempfile::tempdir().unwrap();
    let out = camlens()
        .args(["explain", "--methods", "gradcam", "--curves", "--out"])
        .arg(dir.path())
        .arg(asset("samples/chelsea.png"))
        .output()
        .unwrap();
    succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("deletion AUC") && stdout.contains("insertion AUC"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("chelsea.gradcam.curves.csv")).unwrap();
    let rows: Vec<Vec<f32>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    // 224 steps of 224 pixels: 225 points from 0 to 1.
    assert_eq!(rows.len(), 225);
    assert_eq!((rows[0][0], rows[224][0]), (0.0, 1.0));
    // Deletion starts where insertion ends: the unmasked input's probability.
    assert!(
        (rows[0][1] - rows[224][2]).abs() < 1e-4,
        "{:?} {:?}",
        rows[0],
        rows[224]
    );
    assert!(
        rows.iter()
            .all(|r| r[1..].iter().all(|p| (0.0..=1.0).contains(p)))
    );
    let plot = image::open(dir.path().join("chelsea.gradcam.curves.png")).unwrap();
    assert_eq!((plot.width(), plot.height()), (640, 420));
}
