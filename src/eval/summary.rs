//! Summaries of rows: the paper's metrics per column, as Markdown, JSON and bar charts.

use super::columns::Column;
use super::rows::Row;
use crate::error::Result;
use crate::faithfulness::metrics::{Score, average_drop, increase_in_confidence, win_percent};
use serde::Serialize;
use std::path::{Path, PathBuf};

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
    /// Mean deletion AUC (RISE), where every row has it.
    pub deletion_auc: Option<f32>,
    /// Mean insertion AUC (RISE), where every row has it.
    pub insertion_auc: Option<f32>,
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
                logit_drop: crate::faithfulness::metrics::mean_logit_drop(
                    &rows.iter().map(|r| r.scores[m]).collect::<Vec<_>>(),
                ),
                flat_maps: rows.iter().filter(|r| r.flat[m]).count(),
                deletion_auc: mean_auc(rows, |a| a[m].0),
                insertion_auc: mean_auc(rows, |a| a[m].1),
            })
            .collect(),
    }
}

/// The mean of one AUC over rows, if every row has the curves.
fn mean_auc(rows: &[Row], pick: impl Fn(&[(f32, f32)]) -> f32) -> Option<f32> {
    let values: Option<Vec<f32>> = rows.iter().map(|r| r.aucs.as_deref().map(&pick)).collect();
    let values = values.filter(|v| !v.is_empty())?;
    Some(values.iter().sum::<f32>() / values.len() as f32)
}

/// One metric of the summaries: its chart's file name, its title (table row and chart), how it
/// is read from a method's summary and how many decimals the table shows.
struct Metric {
    file: &'static str,
    title: &'static str,
    value: fn(&MethodSummary) -> Option<f32>,
    decimals: usize,
}

const METRICS: [Metric; 6] = [
    Metric {
        file: "average-drop",
        title: "Average Drop % (lower is better)",
        value: |m| Some(m.average_drop),
        decimals: 2,
    },
    Metric {
        file: "increase-in-confidence",
        title: "Increase in Confidence % (higher is better)",
        value: |m| Some(m.increase_in_confidence),
        decimals: 2,
    },
    Metric {
        file: "win",
        title: "Win %",
        value: |m| Some(m.win),
        decimals: 2,
    },
    Metric {
        file: "logit-drop",
        title: "Drop in logit (higher is better)",
        value: |m| Some(m.logit_drop),
        decimals: 3,
    },
    Metric {
        file: "deletion",
        title: "Deletion AUC, RISE (lower is better)",
        value: |m| m.deletion_auc,
        decimals: 4,
    },
    Metric {
        file: "insertion",
        title: "Insertion AUC, RISE (higher is better)",
        value: |m| m.insertion_auc,
        decimals: 4,
    },
];

impl Summary {
    /// One bar chart PNG per metric in `dir` (`chart-average-drop.png`, …); returns the paths.
    pub fn write_charts(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let labels: Vec<String> = self.methods.iter().map(|m| m.method.clone()).collect();
        let mut out = vec![];
        for metric in &METRICS {
            // Deletion and insertion where the run computed them.
            let Some(values) = self
                .methods
                .iter()
                .map(metric.value)
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let title = format!("{} — {} images, {}", metric.title, self.images, self.score);
            let img = crate::draw::chart::bar_chart(&title, &labels, &values, 900, 420);
            let path = dir.join(format!("chart-{}.png", metric.file));
            crate::draw::overlay::save_png(&img, &path, true)?;
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
        for metric in METRICS
            .iter()
            .filter(|metric| self.methods.iter().all(|m| (metric.value)(m).is_some()))
        {
            line(metric.title, &|m| {
                format!("{:.*}", metric.decimals, (metric.value)(m).unwrap_or(0.0))
            });
        }
        line("flat maps", &|m| m.flat_maps.to_string());
        s.push('\n');
        s
    }
}
