//! `camlens eval` end to end on a few real images: reproducible, resumable, mergeable.

use crate::common::*;
use std::path::Path;

fn eval(labels: &Path, out: &Path, extra: &[&str]) {
    let status = camlens()
        .args(["eval", "--labels"])
        .arg(labels)
        .args(["--methods", "gradcam,gradcam++,layercam", "--limit", "6"])
        .args(["--subset-seed", "3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    succeeded(&status);
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The rows without their time columns (the only thing that differs between two runs).
fn rows_without_times(p: &Path) -> Vec<String> {
    read(p)
        .lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i < 4 || (i - 4) % 5 != 4)
                .map(|(_, f)| f)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn eval_is_reproducible_resumable_and_mergeable() {
    let Some(labels) = shared_data("imagenet-val/labels.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c, s) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
        dir.path().join("shards"),
    );
    eval(&labels, &a, &[]);
    eval(&labels, &b, &[]);
    for f in ["summary.md", "summary.json"] {
        assert_eq!(
            read(&a.join(f)),
            read(&b.join(f)),
            "{f} differs between runs"
        );
    }
    for f in [
        "chart-average-drop.png",
        "chart-increase-in-confidence.png",
        "chart-win.png",
        "chart-logit-drop.png",
    ] {
        let bytes = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            bytes(&a.join(f)) == bytes(&b.join(f)),
            "{f} differs between runs"
        );
    }
    assert_eq!(
        rows_without_times(&a.join("rows.csv")),
        rows_without_times(&b.join("rows.csv"))
    );
    for chart in [
        "average-drop",
        "increase-in-confidence",
        "win",
        "logit-drop",
    ] {
        let img = image::open(a.join(format!("chart-{chart}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (900, 420));
    }
    let summary = read(&a.join("summary.md"));
    assert!(summary.starts_with("6 images"), "{summary}");

    // Interrupted after two images, then resumed.
    std::fs::create_dir_all(&c).unwrap();
    let partial: Vec<String> = read(&a.join("rows.csv"))
        .lines()
        .take(3)
        .map(String::from)
        .collect();
    std::fs::write(c.join("rows.csv"), partial.join("\n") + "\n").unwrap();
    eval(&labels, &c, &["--resume"]);
    assert_eq!(read(&c.join("summary.md")), summary);
    assert_eq!(read(&c.join("rows.csv")).lines().count(), 7);

    // Three shards, merged.
    for i in 0..3 {
        eval(&labels, &s, &["--shard", &format!("{i}/3")]);
    }
    let merged = dir.path().join("merged");
    let mut cmd = camlens();
    cmd.args([
        "eval",
        "merge",
        "--methods",
        "gradcam,gradcam++,layercam",
        "--out",
    ])
    .arg(&merged);
    for i in 0..3 {
        cmd.arg(s.join(format!("rows-shard-{i}-of-3.csv")));
    }
    succeeded(&cmd.output().unwrap());
    assert_eq!(read(&merged.join("summary.md")), summary);
    assert_eq!(
        read(&merged.join("summary.json")),
        read(&a.join("summary.json"))
    );
}

#[test]
fn ablations_are_columns_of_scorecam_pp_variants() {
    let Some(labels_csv) = shared_data("imagenet-val/labels.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (ablation, labels) in [
        (
            "gates",
            vec![
                "ScoreCAM++ (tanh)",
                "ScoreCAM++ (relu)",
                "ScoreCAM++ (sigmoid)",
                "ScoreCAM++ (mish)",
                "ScoreCAM++ (swish)",
            ],
        ),
        (
            "norm",
            vec![
                "ScoreCAM++ (normalisation + upsampled)",
                "ScoreCAM++ (tanh in normalisation only)",
            ],
        ),
    ] {
        let out = dir.path().join(ablation);
        let run = camlens()
            .args(["eval", "--labels"])
            .arg(&labels_csv)
            .args([
                "--ablation",
                ablation,
                "--top-channels",
                "8",
                "--limit",
                "2",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        succeeded(&run);
        let summary = read(&out.join("summary.md"));
        for l in &labels {
            assert!(summary.contains(l), "{l} missing from {summary}");
        }
        assert!(summary.contains("[approx.: top 8 channels]"), "{summary}");
        let merged = dir.path().join(format!("{ablation}-merged"));
        let m = camlens()
            .args([
                "eval",
                "merge",
                "--ablation",
                ablation,
                "--top-channels",
                "8",
                "--out",
            ])
            .arg(&merged)
            .arg(out.join("rows.csv"))
            .output()
            .unwrap();
        succeeded(&m);
        assert_eq!(read(&merged.join("summary.md")), summary);
    }
}

/// Class folders with an unreadable file among them; a non-default layer; a subset drawn with
/// `--seed` and extended to a larger `--limit` with `--resume`.
#[test]
fn eval_leaves_out_unreadable_images_and_extends_a_subset() {
    let Some(cat_photos) = shared_data("cats-dogs/cat") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cats = dir.path().join("data/cat");
    std::fs::create_dir_all(&cats).unwrap();
    for n in 2000..2003 {
        let name = format!("cat.{n}.jpg");
        std::fs::copy(cat_photos.join(&name), cats.join(name)).unwrap();
    }
    std::fs::write(cats.join("broken.jpg"), b"not a jpeg").unwrap();
    let out = dir.path().join("out");
    let eval = |extra: &[&str]| {
        camlens()
            .args(["eval", "--folders"])
            .arg(dir.path().join("data"))
            .args([
                "--group",
                "cat=281-285",
                "--methods",
                "gradcam",
                "--seed",
                "7",
            ])
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let wrong = eval(&["--layer", "no_such_layer"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("no_such_layer"));

    let err = succeeded(&eval(&["--layer", "blocks.15", "--limit", "4"]));
    assert!(err.contains("1 images could not be read"), "{err}");
    assert!(err.contains("broken.jpg"), "{err}");
    let sorted = |p: &Path| {
        let mut r = rows_without_times(p);
        r.sort();
        r
    };
    let single = (sorted(&out.join("rows.csv")), read(&out.join("summary.md")));
    assert_eq!(single.0.len(), 1 + 3, "{:?}", single.0);

    // The first 2 of seed 7's order, then extended to 4: only the rest is computed, and the
    // result is the single run's.
    std::fs::remove_dir_all(&out).unwrap();
    assert!(
        eval(&["--layer", "blocks.15", "--limit", "2"])
            .status
            .success()
    );
    let kept = read(&out.join("rows.csv")).lines().count() - 1;
    let four = eval(&["--layer", "blocks.15", "--limit", "4", "--resume"]);
    let err = String::from_utf8_lossy(&four.stderr);
    assert!(
        err.contains(&format!("{} images computed", 3 - kept)),
        "{err}"
    );
    assert_eq!(
        (sorted(&out.join("rows.csv")), read(&out.join("summary.md"))),
        single
    );
}

/// Nothing readable: a clear error, not a summary of zeros.
#[test]
fn eval_without_a_readable_image_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cats = dir.path().join("data/cat");
    std::fs::create_dir_all(&cats).unwrap();
    std::fs::write(cats.join("broken.jpg"), b"not a jpeg").unwrap();
    let out = dir.path().join("out");
    let run = camlens()
        .args(["eval", "--folders"])
        .arg(dir.path().join("data"))
        .args(["--group", "cat=281-285", "--methods", "gradcam", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{err}");
    assert!(err.contains("broken.jpg"), "{err}");
    assert!(err.contains("no image could be read (1 tried"), "{err}");
    assert!(!out.join("summary.md").exists());
}

#[test]
fn deletion_and_insertion_are_rows_of_the_summary_and_survive_sharding() {
    let Some(labels) = shared_data("imagenet-val/labels.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &Path, extra: &[&str]| {
        let status = camlens()
            .args(["eval", "--labels"])
            .arg(&labels)
            .args(["--methods", "gradcam", "--limit", "2", "--subset-seed", "3"])
            .args(["--metrics", "paper,deletion,insertion", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap();
        succeeded(&status);
    };
    let (whole, shards) = (dir.path().join("whole"), dir.path().join("shards"));
    run(&whole, &[]);
    let md = read(&whole.join("summary.md"));
    assert!(
        md.contains("Deletion AUC, RISE (lower is better)")
            && md.contains("Insertion AUC, RISE (higher is better)"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&read(&whole.join("summary.json"))).unwrap();
    let d = json["methods"][0]["deletion_auc"].as_f64().unwrap();
    let i = json["methods"][0]["insertion_auc"].as_f64().unwrap();
    assert!(
        (0.0..=1.0).contains(&d) && (0.0..=1.0).contains(&i),
        "{d} {i}"
    );
    assert!(whole.join("chart-deletion.png").is_file());
    // Two shards merged give the same summary.
    run(&shards, &["--shard", "0/2"]);
    run(&shards, &["--shard", "1/2"]);
    let merged = dir.path().join("merged");
    let status = camlens()
        .args(["eval", "merge", "--methods", "gradcam", "--out"])
        .arg(&merged)
        .arg(shards.join("rows-shard-0-of-2.csv"))
        .arg(shards.join("rows-shard-1-of-2.csv"))
        .output()
        .unwrap();
    succeeded(&status);
    assert_eq!(read(&merged.join("summary.md")), md);
    // Without --metrics, no curve columns and no such rows.
    let paper = dir.path().join("paper");
    let status = camlens()
        .args(["eval", "--labels"])
        .arg(&labels)
        .args([
            "--methods",
            "gradcam",
            "--limit",
            "2",
            "--subset-seed",
            "3",
            "--out",
        ])
        .arg(&paper)
        .output()
        .unwrap();
    succeeded(&status);
    assert!(!read(&paper.join("summary.md")).contains("Deletion"));
    assert!(!read(&paper.join("rows.csv")).contains("deletion_auc"));
}

/// A method that cannot explain the model (`all` on a CNN: LeGrad) gets no column, and the
/// methods after it keep their own values (a row per image, every column filled).
#[test]
fn eval_leaves_out_the_methods_a_model_cannot_run() {
    let Some(labels) = shared_data("imagenet-val/labels.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = camlens()
        .args(["eval", "--labels"])
        .arg(&labels)
        .args(["--methods", "gradcam,legrad,cam", "--limit", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("LeGrad left out"));
    let rows = read(&dir.path().join("rows.csv"));
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    assert!(
        !header.iter().any(|h| h.starts_with("legrad")),
        "{header:?}"
    );
    assert!(header.contains(&"cam:o_prob"), "{header:?}");
    let row: Vec<&str> = rows.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row.len(), header.len());
    // GradCAM and CAM are the same map on Lite0 (pooling, then one linear layer).
    let col = |name: &str| -> f32 {
        row[header.iter().position(|h| *h == name).unwrap()]
            .parse()
            .unwrap()
    };
    let (g, c) = (col("gradcam:o_prob"), col("cam:o_prob"));
    assert!((g - c).abs() <= 1e-5, "GradCAM {g}, CAM {c}");
}
