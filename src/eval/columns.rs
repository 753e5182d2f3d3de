//! What an evaluation computes for each image: its columns (a method with its options, or the
//! variants of an ablation) and which class.

use crate::cam::{Method, Options};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ablation {
    /// Table 5: the gate function.
    #[value(name = "gates", alias = "gate")]
    Gates,
    /// Table 6: tanh in the normalisation only versus normalisation and upsampled sum.
    #[value(name = "norm", aliases = ["normalization", "normalisation"])]
    Normalization,
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
        for c in columns.iter_mut().filter(|c| c.method.uses_top_channels()) {
            c.label.push_str(&format!(" [approx.: top {n} channels]"));
        }
    }
    columns
}

/// Which class each image is explained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Target {
    #[default]
    Predicted,
    /// The labelled class (for a group, its most probable member).
    #[value(alias = "labelled")]
    Label,
}
