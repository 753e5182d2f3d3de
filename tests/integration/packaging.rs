//! The packages' config (Cargo.toml's [package.metadata.packager]) against the files it names:
//! what the .deb, the .app and the Windows installer would carry. tools/check_deb.sh checks the
//! built .deb itself (installed, started, removed).

use crate::common::succeeded;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn packager() -> Value {
    let out = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .unwrap();
    succeeded(&out);
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"][0]["metadata"]["packager"].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Width and height of a PNG file (failing on any other format).
fn png_size(path: &Path) -> (u32, u32) {
    let reader = image::ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap();
    assert_eq!(
        reader.format(),
        Some(image::ImageFormat::Png),
        "{} is not a PNG",
        path.display()
    );
    reader.into_dimensions().unwrap()
}

#[test]
fn desktop_entry_offers_exactly_the_associated_types() {
    let config = packager();
    let associated: BTreeSet<String> = config["file-associations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["mime-type"].as_str().unwrap().to_string())
        .collect();
    let entry = std::fs::read_to_string(root().join("assets/linux/camlens.desktop")).unwrap();
    let offered: BTreeSet<String> = entry
        .lines()
        .find_map(|l| l.strip_prefix("MimeType="))
        .unwrap()
        .split(';')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    assert_eq!(offered, associated);
    assert!(offered.contains("application/x-onnx") && offered.contains("image/jpeg"));
    assert!(entry.contains("\nExec=camlens %F\n") && entry.contains("\nIcon=camlens\n"));
    let mime = std::fs::read_to_string(root().join("assets/linux/camlens-onnx.xml")).unwrap();
    assert!(mime.contains(r#"type="application/x-onnx""#) && mime.contains(r#"pattern="*.onnx""#));
}

#[test]
fn icons_come_in_every_hicolor_size_and_both_platform_formats() {
    let icons = strings(&packager()["icons"]);
    for n in [16, 22, 24, 32, 48, 64, 128, 256, 512] {
        let want = format!("assets/icons/hicolor/{n}x{n}/apps/camlens.png");
        assert!(icons.contains(&want), "{want} not among the packaged icons");
        assert_eq!(png_size(&root().join(&want)), (n, n), "{want}");
    }
    let ico = std::fs::read(root().join("assets/icons/camlens.ico")).unwrap();
    assert_eq!(&ico[..4], &[0, 0, 1, 0], "camlens.ico is not an icon file");
    assert!(
        u16::from_le_bytes([ico[4], ico[5]]) >= 6,
        "camlens.ico lacks sizes"
    );
    let icns = std::fs::read(root().join("assets/icons/camlens.icns")).unwrap();
    assert_eq!(&icns[..4], b"icns");
    assert!(
        icons.iter().any(|i| i.ends_with(".ico")) && icons.iter().any(|i| i.ends_with(".icns"))
    );
    // The window's icon (included in the binary) is the packages' 256-pixel one.
    let window = std::fs::read(root().join("assets/camlens.png")).unwrap();
    let packaged = std::fs::read(root().join("assets/icons/hicolor/256x256/apps/camlens.png"));
    assert_eq!(window, packaged.unwrap());
    let svg =
        std::fs::read_to_string(root().join("assets/icons/hicolor/scalable/apps/camlens.svg"));
    assert!(svg.unwrap().starts_with("<svg"));
}

#[test]
fn every_packaged_file_exists_and_licences_travel_with_each_package() {
    let config = packager();
    let mut sources = vec![config["license-file"].as_str().unwrap().to_string()];
    for r in config["resources"].as_array().unwrap() {
        let src = r.as_str().or_else(|| r["src"].as_str()).unwrap();
        sources.push(src.to_string());
    }
    let deb_files = config["deb"]["files"].as_object().unwrap();
    sources.extend(deb_files.keys().cloned());
    for s in &sources {
        assert!(
            root().join(s).is_file(),
            "{s}, named by the packager config, is missing"
        );
    }
    for licence in [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "licenses/THIRD-PARTY.txt",
        "models/LICENSE-efficientnet-lite0",
        "assets/NOTICE",
    ] {
        assert!(
            sources.iter().any(|s| s == licence),
            "{licence} not packaged"
        );
        let doc = deb_files.get(licence).and_then(Value::as_str).unwrap_or("");
        assert!(
            doc.starts_with("usr/share/doc/camlens/"),
            "{licence} not in the .deb's docs"
        );
    }
}

#[test]
fn third_party_licences_list_every_crate_of_the_linux_build() {
    // The crates the binary links on Linux, as cargo resolves them from Cargo.lock.
    let out = cargo()
        .args(["tree", "--locked", "-e", "normal,no-proc-macro"])
        .args(["--target", "x86_64-unknown-linux-gnu", "--prefix", "none"])
        .args(["--format", "{p}"])
        .output()
        .unwrap();
    succeeded(&out);
    let listing = std::fs::read_to_string(root().join("licenses/THIRD-PARTY.txt")).unwrap();
    let listed: BTreeSet<&str> = listing
        .lines()
        .filter_map(|l| l.split_once("  (").map(|(who, _)| who))
        .collect();
    let mut missing = BTreeSet::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let who = format!("{name} {}", version.trim_start_matches('v'));
        if name != "camlens" && !listed.contains(who.as_str()) {
            missing.insert(who);
        }
    }
    assert!(
        missing.is_empty(),
        "licenses/THIRD-PARTY.txt lacks {missing:?}: run python3 tools/third_party_licenses.py"
    );
    assert!(listed.len() > 400, "only {} crates listed", listed.len());
}
