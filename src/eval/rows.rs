//! One CSV row per image: the class explained and, per column, its scores, flat flag and time.

use super::columns::Column;
use crate::error::{Access, Error, Result};
use crate::faithfulness::metrics::MapScores;
use serde::Serialize;
use std::path::PathBuf;

/// One CSV row: the image, the class explained and, per method, its scores and time (and, when
/// the run computes them, its deletion and insertion AUCs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub image: String,
    pub class: usize,
    pub scores: Vec<MapScores>,
    pub flat: Vec<bool>,
    pub millis: Vec<f64>,
    /// Per method `(deletion AUC, insertion AUC)`, where the run computes the curves.
    pub aucs: Option<Vec<(f32, f32)>>,
}

/// The CSV header for `columns`; with `curves`, each column's two AUCs at the end.
pub fn header(columns: &[Column], curves: bool) -> String {
    let mut h = "image,class,y_prob,y_logit".to_string();
    for c in columns {
        let id = &c.id;
        h.push_str(&format!(
            ",{id}:o_prob,{id}:o_logit,{id}:removed_logit,{id}:flat,{id}:ms"
        ));
    }
    if curves {
        for c in columns {
            let id = &c.id;
            h.push_str(&format!(",{id}:deletion_auc,{id}:insertion_auc"));
        }
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
        for (d, i) in self.aucs.iter().flatten() {
            s.push_str(&format!(",{d},{i}"));
        }
        s
    }

    pub fn parse(line: &str, methods: usize) -> Option<Row> {
        let f: Vec<&str> = line.split(',').collect();
        let curves = f.len() == 4 + 7 * methods;
        if f.len() != 4 + 5 * methods && !curves {
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
            aucs: None,
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
        if curves {
            let at = 4 + 5 * methods;
            row.aucs = Some(
                (0..methods)
                    .map(|m| Some((num(f[at + 2 * m])?, num(f[at + 2 * m + 1])?)))
                    .collect::<Option<_>>()?,
            );
        }
        Some(row)
    }
}

/// Reads the rows of one or more CSVs written by [`run`] with these columns.
pub fn read_rows(paths: &[PathBuf], columns: &[Column]) -> Result<Vec<Row>> {
    let mut rows = vec![];
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(Error::io(Access::Read, p))?;
        let mut lines = text.lines();
        let first = lines.next();
        if ![false, true]
            .iter()
            .any(|&curves| first == Some(header(columns, curves).as_str()))
        {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            aucs: None,
        };
        assert_eq!(Row::parse(&row.to_csv(), 2).unwrap(), row);
        let with = Row {
            aucs: Some(vec![(0.125, 0.75), (0.5, 0.25)]),
            ..row
        };
        assert_eq!(Row::parse(&with.to_csv(), 2).unwrap(), with);
    }
}
