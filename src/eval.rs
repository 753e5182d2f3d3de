//! Faithfulness evaluation over a dataset: which images (a labels CSV or class folders, a seeded
//! subset, a shard of it), one CSV row per image written as soon as it is computed (so an
//! interrupted run keeps its work and resumes), and summaries computed from those rows alone (so
//! merging shards' CSVs gives exactly a single run's summary).

use crate::cam::{Method, Monitor, Options, Session};
use crate::error::{Error, Result};
use crate::metrics::{
    MapScores, Score, average_drop, increase_in_confidence, score_maps, win_percent,
};
use crate::models::Model;
use crate::preprocess::load_image;
use serde::Serialize;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One image to evaluate: its file, the id written in the CSV, and its label as a group of
/// class indices (one class for ImageNet; several for "cat" with an ImageNet model).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub file: PathBuf,
    pub id: String,
    pub label: Vec<usize>,
}

/// `file,class_index` rows (a header line is skipped); files relative to `images` (default: an
/// `images/` folder beside the CSV if there is one, else the CSV's folder).
pub fn items_from_csv(csv: &Path, images: Option<&Path>) -> Result<Vec<Item>> {
    let text = std::fs::read_to_string(csv).map_err(|source| Error::Io {
        path: csv.to_owned(),
        source,
    })?;
    let dir = csv.parent().unwrap_or(Path::new("."));
    let images = images
        .map(Path::to_path_buf)
        .unwrap_or_else(|| match dir.join("images") {
            d if d.is_dir() => d,
            _ => dir.to_path_buf(),
        });
    let mut items = vec![];
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = || {
            Error::Invalid(format!(
                "{} line {}: expected file,class_index, found '{line}'",
                csv.display(),
                n + 1
            ))
        };
        let (file, class) = line.split_once(',').ok_or_else(bad)?;
        match class.trim().parse::<usize>() {
            Ok(c) => items.push(Item {
                file: images.join(file.trim()),
                id: file.trim().to_string(),
                label: vec![c],
            }),
            Err(_) if n == 0 => continue, // header
            Err(_) => return Err(bad()),
        }
    }
    Ok(items)
}

/// Parses `name=281-285` or `name=1,5,9` (a folder name and its classes).
pub fn parse_group(spec: &str) -> Result<(String, Vec<usize>)> {
    let bad = || {
        Error::Invalid(format!(
            "expected folder=classes (e.g. cat=281-285), found '{spec}'"
        ))
    };
    let (name, classes) = spec.split_once('=').ok_or_else(bad)?;
    let mut out = vec![];
    for part in classes.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    Ok((name.trim().to_string(), out))
}

/// Images in class folders `root/<name>/…`, labelled by the groups given for each name.
pub fn items_from_folders(root: &Path, groups: &[(String, Vec<usize>)]) -> Result<Vec<Item>> {
    let mut items = vec![];
    for (name, classes) in groups {
        let dir = root.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let id = format!(
                "{name}/{}",
                f.file_name().unwrap_or_default().to_string_lossy()
            );
            items.push(Item {
                file: f,
                id,
                label: classes.clone(),
            });
        }
    }
    Ok(items)
}

/// A reproducible subset: a seeded shuffle, the first `limit`, then every `n`-th from `i` for
/// shard `i` of `n` (so the shards of one subset partition it).
pub fn select(
    mut items: Vec<Item>,
    limit: Option<usize>,
    seed: u64,
    shard: Option<(usize, usize)>,
) -> Vec<Item> {
    if limit.is_some() {
        let mut rng = crate::rng::SplitMix(seed);
        for i in (1..items.len()).rev() {
            items.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        items.truncate(limit.unwrap_or(usize::MAX));
    }
    match shard {
        Some((i, n)) if n > 1 => items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % n == i)
            .map(|(_, it)| it)
            .collect(),
        _ => items,
    }
}

/// One column of an evaluation: a method with its options, under an id (CSV) and a label
/// (tables). Ablations are several columns of one method with different options.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub id: String,
    pub label: String,
    pub method: Method,
    pub options: Options,
}

/// The paper's ablations of ScoreCAM++.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ablation {
    /// Table 5: the gate function.
    Gates,
    /// Table 6: tanh in the normalisation only versus normalisation and upsampled sum.
    Normalization,
}

impl std::str::FromStr for Ablation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gates" | "gate" => Ok(Ablation::Gates),
            "norm" | "normalization" | "normalisation" => Ok(Ablation::Normalization),
            s => Err(Error::Invalid(format!(
                "unknown ablation '{s}': expected gates or norm"
            ))),
        }
    }
}

/// The columns: one per method with `options`, or the ScoreCAM++ variants of an ablation.
pub fn columns(methods: &[Method], options: &Options, ablation: Option<Ablation>) -> Vec<Column> {
    let plain = |m: Method, o: Options, suffix: &str, label: String| Column {
        id: format!("{}{suffix}", m.id()),
        label,
        method: m,
        options: o,
    };
    let mut columns: Vec<Column> = match ablation {
        None => methods
            .iter()
            .map(|&m| plain(m, *options, "", m.label().to_string()))
            .collect(),
        Some(Ablation::Gates) => crate::cam::Gate::ALL
            .iter()
            .map(|&g| {
                let mut o = *options;
                o.scorecam_pp.gate = g;
                plain(
                    Method::ScoreCamPlusPlus,
                    o,
                    &format!("@{}", g.id()),
                    format!("ScoreCAM++ ({})", g.id()),
                )
            })
            .collect(),
        Some(Ablation::Normalization) => [false, true]
            .iter()
            .map(|&only| {
                let mut o = *options;
                o.scorecam_pp.gate_in_normalization_only = only;
                let (suffix, label) = if only {
                    ("@norm-only", "ScoreCAM++ (tanh in normalisation only)")
                } else {
                    ("", "ScoreCAM++ (normalisation + upsampled)")
                };
                plain(Method::ScoreCamPlusPlus, o, suffix, label.to_string())
            })
            .collect(),
    };
    // Faster-ScoreCAM's top-N is an approximation: say so in every table and chart.
    if let Some(n) = options.top_channels {
        for c in columns
            .iter_mut()
            .filter(|c| c.method.is_slow() && c.method != Method::AugGradCamPlusPlus)
        {
            c.label.push_str(&format!(" [approx.: top {n} channels]"));
        }
    }
    columns
}

/// Which class each image is explained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Predicted,
    /// The labelled class (for a group, its most probable member).
    Label,
}

/// One CSV row: the image, the class explained and, per method, its scores and time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub image: String,
    pub class: usize,
    pub scores: Vec<MapScores>,
    pub flat: Vec<bool>,
    pub millis: Vec<f64>,
}

pub fn header(columns: &[Column]) -> String {
    let mut h = "image,class,y_prob,y_logit".to_string();
    for c in columns {
        let id = &c.id;
        h.push_str(&format!(
            ",{id}:o_prob,{id}:o_logit,{id}:removed_logit,{id}:flat,{id}:ms"
        ));
    }
    h
}

impl Row {
    pub fn to_csv(&self) -> String {
        let y = self.scores.first();
        let mut s = format!(
            "{},{},{},{}",
            self.image.replace(',', "_"),
            self.class,
            y.map_or(0.0, |y| y.y_prob),
            y.map_or(0.0, |y| y.y_logit)
        );
        for ((sc, flat), ms) in self.scores.iter().zip(&self.flat).zip(&self.millis) {
            s.push_str(&format!(
                ",{},{},{},{},{ms:.1}",
                sc.o_prob, sc.o_logit, sc.removed_logit, *flat as u8
            ));
        }
        s
    }

    pub fn parse(line: &str, methods: usize) -> Option<Row> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 4 + 5 * methods {
            return None;
        }
        let num = |s: &str| s.parse::<f32>().ok();
        let (y_prob, y_logit) = (num(f[2])?, num(f[3])?);
        let mut row = Row {
            image: f[0].to_string(),
            class: f[1].parse().ok()?,
            scores: vec![],
            flat: vec![],
            millis: vec![],
        };
        for m in 0..methods {
            let g = &f[4 + 5 * m..9 + 5 * m];
            row.scores.push(MapScores {
                y_prob,
                y_logit,
                o_prob: num(g[0])?,
                o_logit: num(g[1])?,
                removed_logit: num(g[2])?,
            });
            row.flat.push(g[3] == "1");
            row.millis.push(g[4].parse().ok()?);
        }
        Some(row)
    }
}

/// Reads the rows of one or more CSVs written by [`run`] with these columns.
pub fn read_rows(paths: &[PathBuf], columns: &[Column]) -> Result<Vec<Row>> {
    let mut rows = vec![];
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?;
        let mut lines = text.lines();
        if lines.next() != Some(header(columns).as_str()) {
            return Err(Error::Invalid(format!(
                "{} was written for other methods (its header differs)",
                p.display()
            )));
        }
        rows.extend(lines.filter_map(|l| Row::parse(l, columns.len())));
    }
    rows.sort_by(|a, b| a.image.cmp(&b.image));
    rows.dedup_by(|a, b| a.image == b.image);
    Ok(rows)
}

/// What is explained in each image: which class, at which layer (`None`: the model's usual one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub target: Target,
    pub layer: Option<&'a str>,
}

/// What a run did: rows computed now, and the images it could not read (each with the reason),
/// which are left out rather than ending a run of hours.
#[derive(Debug, Default)]
pub struct Outcome {
    pub computed: usize,
    pub unreadable: Vec<String>,
}

/// Evaluates `items` into `csv`, appending one row per image as soon as it is done; rows
/// already in `csv` are kept and their images skipped (resume). `progress(done, total,
/// computed_now)` after each image.
pub fn run(
    model: &Model,
    items: &[Item],
    columns: &[Column],
    subject: Subject,
    csv: &Path,
    monitor: &Monitor,
    mut progress: impl FnMut(usize, usize, usize),
) -> Result<Outcome> {
    // Before anything is written: a wrong layer name leaves no half-started run behind.
    let layer = model.layer_index(subject.layer)?;
    let io = |source| Error::Io {
        path: csv.to_owned(),
        source,
    };
    let done: HashSet<String> = if csv.exists() {
        read_rows(&[csv.to_path_buf()], columns)?
            .into_iter()
            .map(|r| r.image)
            .collect()
    } else {
        std::fs::write(csv, format!("{}\n", header(columns))).map_err(io)?;
        HashSet::new()
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(csv)
        .map_err(io)?;
    let mut outcome = Outcome::default();
    for (n, item) in items.iter().enumerate() {
        if monitor.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if done.contains(&item.id.replace(',', "_")) {
            progress(n + 1, items.len(), outcome.computed);
            continue;
        }
        let image = match load_image(&item.file) {
            Ok(image) => image,
            Err(e) => {
                outcome.unreadable.push(e.to_string());
                progress(n + 1, items.len(), outcome.computed);
                continue;
            }
        };
        let (input, _) = model.preprocess.prepare(&image);
        let mut session = Session::new(model, input, layer)?;
        let class = match subject.target {
            Target::Predicted => session.top_class(),
            Target::Label => *item
                .label
                .iter()
                .filter(|c| **c < session.probs.len())
                .max_by(|a, b| session.probs[**a].total_cmp(&session.probs[**b]))
                .ok_or_else(|| Error::Invalid(format!("{}: label out of range", item.id)))?,
        };
        let mut results = vec![];
        for c in columns {
            results.push(session.explain(c.method, class, &c.options, monitor)?);
        }
        let maps: Vec<&crate::cam::Map> = results.iter().map(|r| &r.map).collect();
        let row = Row {
            image: item.id.replace(',', "_"),
            class,
            scores: score_maps(&session, &maps, class)?,
            flat: results.iter().map(|r| r.flat).collect(),
            millis: results
                .iter()
                .map(|r| r.elapsed.as_secs_f64() * 1e3)
                .collect(),
        };
        writeln!(file, "{}", row.to_csv()).map_err(io)?;
        file.flush().map_err(io)?;
        outcome.computed += 1;
        progress(n + 1, items.len(), outcome.computed);
    }
    Ok(outcome)
}

/// Per method: Average Drop %, Increase in Confidence %, Win %, mean drop in logit, flat maps.
/// Times stay in the rows CSV only, so that two runs of the same subset give identical summaries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub images: usize,
    pub score: String,
    pub methods: Vec<MethodSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodSummary {
    pub method: String,
    pub average_drop: f32,
    pub increase_in_confidence: f32,
    pub win: f32,
    pub logit_drop: f32,
    pub flat_maps: usize,
}

pub fn summarize(rows: &[Row], columns: &[Column], score: Score) -> Summary {
    let pairs = |m: usize| -> Vec<(f32, f32)> {
        rows.iter()
            .map(|r| (r.scores[m].y(score), r.scores[m].o(score)))
            .collect()
    };
    let drops: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| r.scores.iter().map(|s| s.drop_percent(score)).collect())
        .collect();
    let wins = win_percent(&drops);
    Summary {
        images: rows.len(),
        score: match score {
            Score::Probability => "softmax probability".into(),
            Score::Logit => "logit".into(),
        },
        methods: columns
            .iter()
            .enumerate()
            .map(|(m, column)| MethodSummary {
                method: column.label.clone(),
                average_drop: average_drop(&pairs(m)),
                increase_in_confidence: increase_in_confidence(&pairs(m)),
                win: wins.get(m).copied().unwrap_or(0.0),
                logit_drop: crate::metrics::mean_logit_drop(
                    &rows.iter().map(|r| r.scores[m]).collect::<Vec<_>>(),
                ),
                flat_maps: rows.iter().filter(|r| r.flat[m]).count(),
            })
            .collect(),
    }
}

/// Reads one metric of a method's summary.
type Metric = fn(&MethodSummary) -> f32;

impl Summary {
    /// One bar chart PNG per metric in `dir` (`chart-average-drop.png`, …); returns the paths.
    pub fn write_charts(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let labels: Vec<String> = self.methods.iter().map(|m| m.method.clone()).collect();
        let metrics: [(&str, &str, Metric); 4] = [
            ("average-drop", "Average Drop % (lower is better)", |m| {
                m.average_drop
            }),
            (
                "increase-in-confidence",
                "Increase in Confidence % (higher is better)",
                |m| m.increase_in_confidence,
            ),
            ("win", "Win %", |m| m.win),
            ("logit-drop", "Drop in logit (higher is better)", |m| {
                m.logit_drop
            }),
        ];
        let mut out = vec![];
        for (file, title, f) in metrics {
            let values: Vec<f32> = self.methods.iter().map(f).collect();
            let title = format!("{title} — {} images, {}", self.images, self.score);
            let img = crate::chart::bar_chart(&title, &labels, &values, 900, 420);
            let path = dir.join(format!("chart-{file}.png"));
            img.save(&path)
                .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))?;
            out.push(path);
        }
        Ok(out)
    }

    /// A Markdown table in the layout of the paper's Tables 1–4 (methods as columns).
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "{} images; scores: {}.\n\n| metric |",
            self.images, self.score
        );
        for m in &self.methods {
            s.push_str(&format!(" {} |", m.method));
        }
        s.push_str("\n|---|");
        s.push_str(&"---:|".repeat(self.methods.len()));
        let mut line = |name: &str, f: &dyn Fn(&MethodSummary) -> String| {
            s.push_str(&format!("\n| {name} |"));
            for m in &self.methods {
                s.push_str(&format!(" {} |", f(m)));
            }
        };
        line("Average Drop % (lower is better)", &|m| {
            format!("{:.2}", m.average_drop)
        });
        line("Increase in Confidence % (higher is better)", &|m| {
            format!("{:.2}", m.increase_in_confidence)
        });
        line("Win %", &|m| format!("{:.2}", m.win));
        line("Drop in logit (higher is better)", &|m| {
            format!("{:.3}", m.logit_drop)
        });
        line("flat maps", &|m| m.flat_maps.to_string());
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                file: PathBuf::from(format!("{i}.png")),
                id: format!("{i}.png"),
                label: vec![i],
            })
            .collect()
    }

    #[test]
    fn subsets_are_seeded_and_shards_partition_them() {
        let a = select(items(50), Some(20), 7, None);
        assert_eq!(a, select(items(50), Some(20), 7, None));
        assert_ne!(a, select(items(50), Some(20), 8, None));
        let mut shards: Vec<Item> = (0..3)
            .flat_map(|i| select(items(50), Some(20), 7, Some((i, 3))))
            .collect();
        shards.sort_by(|x, y| x.id.cmp(&y.id));
        let mut whole = a.clone();
        whole.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(shards, whole);
    }

    #[test]
    fn groups_parse_ranges_and_lists() {
        assert_eq!(
            parse_group("cat=281-285").unwrap(),
            ("cat".into(), vec![281, 282, 283, 284, 285])
        );
        assert_eq!(parse_group("x=1,5").unwrap().1, vec![1, 5]);
        assert!(parse_group("cat").is_err());
    }

    #[test]
    fn rows_round_trip_through_csv() {
        let row = Row {
            image: "a.png".into(),
            class: 3,
            scores: vec![
                MapScores {
                    y_prob: 0.5,
                    y_logit: 2.0,
                    o_prob: 0.25,
                    o_logit: 1.0,
                    removed_logit: -1.0
                };
                2
            ],
            flat: vec![false, true],
            millis: vec![1.5, 20.0],
        };
        assert_eq!(Row::parse(&row.to_csv(), 2).unwrap(), row);
    }
}
