//! Faithfulness metrics of the paper's appendix A (see shared/docs/method.md), as plain functions
//! of per-image scores, plus the masked forward passes that produce those scores.
//!
//! Per image and class c: `Y = f_c(X)`, `O = f_c(X ⊙ L)` with `L` the normalised map at input
//! size multiplying the normalised input tensor, and for the drop in logit the logit of
//! `X ⊙ (1 − L)`.

use crate::cam::{Map, Session};
use crate::compute::tensor_io::to_vec;
use crate::error::Result;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// What `f_c` means for a metric.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
pub enum Score {
    /// Softmax probability (the default, as the paper's tables).
    #[default]
    #[value(name = "prob", alias = "probability")]
    Probability,
    /// Raw logit (as the ScoreCAM++ authors' code).
    Logit,
}

/// The scores of one map on one image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct MapScores {
    /// `f_c(X)`: probability and logit of the unmasked input.
    pub y_prob: f32,
    pub y_logit: f32,
    /// `f_c(X ⊙ L)`: the explained region kept.
    pub o_prob: f32,
    pub o_logit: f32,
    /// Logit of `X ⊙ (1 − L)`: the explained region removed.
    pub removed_logit: f32,
}

impl MapScores {
    pub fn y(&self, score: Score) -> f32 {
        match score {
            Score::Probability => self.y_prob,
            Score::Logit => self.y_logit,
        }
    }

    pub fn o(&self, score: Score) -> f32 {
        match score {
            Score::Probability => self.o_prob,
            Score::Logit => self.o_logit,
        }
    }

    /// This image's contribution to Average Drop, in percent: `100 · max(0, Y − O) / Y`.
    pub fn drop_percent(&self, score: Score) -> f32 {
        drop_percent(self.y(score), self.o(score))
    }

    /// Whether the map increased confidence (`O > Y`).
    pub fn increased(&self, score: Score) -> bool {
        self.o(score) > self.y(score)
    }

    /// "drop 12.3%" or "drop 0.0%, confidence up", as cards and sheets caption a map.
    pub fn caption(&self, score: Score) -> String {
        format!(
            "drop {:.1}%{}",
            self.drop_percent(score),
            if self.increased(score) {
                ", confidence up"
            } else {
                ""
            }
        )
    }

    /// The fall of the class logit when the explained region is removed.
    pub fn logit_drop(&self) -> f32 {
        self.y_logit - self.removed_logit
    }
}

/// `100 · max(0, Y − O) / Y`; 0 where `Y ≤ 0` (a logit can be negative: no meaningful drop).
pub fn drop_percent(y: f32, o: f32) -> f32 {
    if y > 0.0 {
        100.0 * (y - o).max(0.0) / y
    } else {
        0.0
    }
}

/// Average Drop % over images: `100 · mean_i max(0, Y_i − O_i) / Y_i`.
pub fn average_drop(pairs: &[(f32, f32)]) -> f32 {
    mean(pairs.iter().map(|&(y, o)| drop_percent(y, o)))
}

/// Increase in Confidence %: `100 · mean_i 1[O_i > Y_i]`.
pub fn increase_in_confidence(pairs: &[(f32, f32)]) -> f32 {
    100.0 * mean(pairs.iter().map(|&(y, o)| if o > y { 1.0 } else { 0.0 }))
}

/// Drops (in percentage points) closer than this are a tie. Two methods can produce the same
/// map by different arithmetic (GradCAM and XGradCAM do whenever the gradient is constant over
/// each channel, as under a global average pool); f32 rounding then separates their drops by
/// ~1e-5 points, which must not hand the image to whichever rounded down.
pub const WIN_TIE_POINTS: f32 = 1e-3;

/// Win %: for each image, the method(s) with the lowest drop win it, a tie (within
/// [`WIN_TIE_POINTS`]) splitting the image equally. `drops[i][m]` is method m's drop on image i;
/// returns one percentage per method.
pub fn win_percent(drops: &[Vec<f32>]) -> Vec<f32> {
    let methods = drops.first().map_or(0, Vec::len);
    let mut wins = vec![0.0f32; methods];
    for row in drops {
        let best = row.iter().copied().fold(f32::INFINITY, f32::min);
        let winners: Vec<usize> = (0..row.len())
            .filter(|&m| row[m] <= best + WIN_TIE_POINTS)
            .collect();
        for &m in &winners {
            wins[m] += 1.0 / winners.len() as f32;
        }
    }
    if drops.is_empty() {
        return wins;
    }
    wins.iter()
        .map(|w| 100.0 * w / drops.len() as f32)
        .collect()
}

/// Mean drop in logit when the explained region is removed (higher is better).
pub fn mean_logit_drop(scores: &[MapScores]) -> f32 {
    mean(scores.iter().map(MapScores::logit_drop))
}

fn mean(values: impl Iterator<Item = f32>) -> f32 {
    let (sum, n) = values.fold((0.0f64, 0usize), |(s, n), v| (s + v as f64, n + 1));
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// Scores every map (normalised, input size) for `class` in one batched forward pass of
/// `2 × maps` inputs: `X ⊙ L` and `X ⊙ (1 − L)` for each.
pub fn score_maps(session: &Session, maps: &[&Map], class: usize) -> Result<Vec<MapScores>> {
    session.model.check_class(class)?;
    if maps.is_empty() {
        return Ok(vec![]);
    }
    let size = session.input_size();
    let n = maps.len();
    let device = &session.model.device;
    let data: Vec<f32> = maps.iter().flat_map(|m| m.data.iter().copied()).collect();
    let keep = Tensor::<4>::from_data(TensorData::new(data, [n, 1, size, size]), device);
    let remove = keep.clone().neg() + 1.0;
    let masks = Tensor::cat(vec![keep, remove], 0);
    let mut logits_all = vec![];
    let mut probs_all = vec![];
    let batch = session.model.auto_batch_size().max(1);
    for start in (0..2 * n).step_by(batch) {
        let end = (start + batch).min(2 * n);
        let m = masks.clone().slice([start..end, 0..1, 0..size, 0..size]);
        let logits = session.model.forward(session.x.clone() * m);
        let column = |t: Tensor<2>| t.slice([0..end - start, class..class + 1]);
        probs_all.extend(to_vec(column(session.model.probabilities(logits.clone())))?);
        logits_all.extend(to_vec(column(logits))?);
    }
    Ok((0..n)
        .map(|i| MapScores {
            y_prob: session.probs[class],
            y_logit: session.logits[class],
            o_prob: probs_all[i],
            o_logit: logits_all[i],
            removed_logit: logits_all[n + i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_drop_by_hand() {
        // Drops: (0.8−0.4)/0.8 = 50 %, none when O > Y, 25 %.
        let pairs = [(0.8, 0.4), (0.5, 0.9), (0.4, 0.3)];
        assert!((average_drop(&pairs) - 25.0).abs() < 1e-4);
    }

    #[test]
    fn y_equal_o_is_neither_a_drop_nor_an_increase() {
        let pairs = [(0.6, 0.6)];
        assert_eq!(average_drop(&pairs), 0.0);
        assert_eq!(increase_in_confidence(&pairs), 0.0);
    }

    #[test]
    fn o_above_y_counts_as_an_increase_and_no_drop() {
        let pairs = [(0.2, 0.5), (0.5, 0.2), (0.3, 0.31), (0.9, 0.1)];
        assert_eq!(increase_in_confidence(&pairs), 50.0);
        assert!((average_drop(&[(0.2, 0.5)])).abs() < 1e-6);
    }

    #[test]
    fn scores_of_a_blank_input_give_their_drop_and_no_logit_drop() {
        // What a flat (all-zero) map scores: O from the zero input, the removed logit unchanged
        // (that the forward passes produce these is tested on the real model, tests/lite0.rs).
        let s = MapScores {
            y_prob: 0.5,
            y_logit: 3.0,
            o_prob: 0.001,
            o_logit: -1.0,
            removed_logit: 3.0,
        };
        assert!((s.drop_percent(Score::Probability) - 99.8).abs() < 1e-3);
        assert_eq!(s.logit_drop(), 0.0);
        // A negative Y (logits) gives no drop rather than a sign-flipped one.
        assert_eq!(drop_percent(-2.0, -5.0), 0.0);
    }

    #[test]
    fn ties_split_the_win() {
        let drops = vec![vec![10.0, 10.0, 20.0], vec![5.0, 1.0, 3.0]];
        let w = win_percent(&drops);
        assert_eq!(w, vec![25.0, 75.0, 0.0]);
        assert!((w.iter().sum::<f32>() - 100.0).abs() < 1e-4);
        // The same map reached by other arithmetic ties; a real difference still decides.
        let drops = vec![vec![12.345_67, 12.345_68, 12.4], vec![3.0, 3.01, 2.99]];
        assert_eq!(win_percent(&drops), vec![25.0, 25.0, 50.0]);
    }
}
