//! Detectors: a graph whose output is one row of box and class scores per anchor (or query),
//! decoded and filtered by camlens' own non-maximum suppression. Three layouts are read:
//! - YOLOv8 / YOLO11 (Ultralytics' export): `[N, 4 + K, A]`, per anchor the box's centre,
//!   width and height in input pixels, then K class probabilities (the sigmoid is in the graph);
//!   a box's score is its best class's probability. Ultralytics' defaults: score ≥ 0.25, IoU 0.7.
//! - YOLOv5: `[N, A, 5 + K]`, the box, an objectness, then K class probabilities; a box's
//!   score is objectness × its best class's. Its defaults: score ≥ 0.25, IoU 0.45.
//! - DETR (a set of Q queries, two outputs): class logits `[N, Q, K + 1]` (the last is "no
//!   object") and boxes `[N, Q, 4]` (centre, width, height as fractions of the input); a
//!   query's class scores are the softmax's K first entries. No suppression: Hugging Face's
//!   `post_process_object_detection` keeps every query scoring ≥ 0.5.
//!
//! Each layout is first brought to camlens' rows `[N, A, 4 + K]`: the box (centre, width,
//! height, input pixels) and each class's final score, so that decoding, suppression and the
//! scores of a box read one layout.
//!
//! Suppression is per class, as Ultralytics' (its boxes are offset by class before one NMS):
//! boxes by decreasing score (ties by anchor), each kept unless it overlaps a kept box of its
//! class by more than the IoU threshold; at most `max` boxes.
//!
//! Explaining a box (`box_scores`): on each input, the output row that matches the box best
//! (pytorch-grad-cam's `FasterRCNNBoxScoreTarget`: the highest IoU among the rows whose best
//! class is the box's, at least 0.5) gives the box's class score; none matching gives zero. On
//! the photo itself the box's own row matches it (IoU 1), so gradient methods explain the
//! box's class score at its row; on a masked input the box may have moved to another row, and
//! the score methods read whichever row found it. Unlike pytorch-grad-cam on Faster R-CNN,
//! the rows are read before any score threshold, so a weakened box counts with its low score
//! rather than dropping to zero at the detector's threshold; IoU is not added to the score.

use crate::compute::tensor_io::to_vec;
use crate::error::Result;
use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::Serialize;

/// The lowest IoU at which an output row is taken for the box being explained.
pub const MATCH_IOU: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectFormat {
    YoloV8,
    YoloV5,
    Detr,
}

impl DetectFormat {
    /// The YOLO layout of an output of shape `[1, a, b]`, and its class count: YOLOv8's where
    /// the anchors (many) are the last axis, YOLOv5's where they are the middle one.
    pub fn of_shape(dims: &[usize]) -> Option<(Self, usize)> {
        match *dims {
            [1, c, a] if c > 4 && a > c => Some((DetectFormat::YoloV8, c - 4)),
            [1, a, c] if c > 5 && a > c => Some((DetectFormat::YoloV5, c - 5)),
            _ => None,
        }
    }

    /// The class count of a YOLO output `[1, a, b]` read as this layout (a declared format,
    /// where the shape alone is ambiguous).
    pub fn classes_of(self, dims: &[usize]) -> Option<usize> {
        match (self, dims) {
            (DetectFormat::YoloV8, [1, c, _]) if *c > 4 => Some(c - 4),
            (DetectFormat::YoloV5, [1, _, c]) if *c > 5 => Some(c - 5),
            _ => None,
        }
    }

    pub fn default_thresholds(self) -> Thresholds {
        let (score, iou) = match self {
            DetectFormat::YoloV8 => (0.25, 0.7),
            DetectFormat::YoloV5 => (0.25, 0.45),
            // A set prediction has no duplicates to suppress: no overlap is above an IoU of 1.
            DetectFormat::Detr => (0.5, 1.0),
        };
        Thresholds {
            score,
            iou,
            max: 300,
        }
    }

    /// The defaults with `score` and `iou` where given; each must lie in 0–1.
    pub fn thresholds(self, score: Option<f32>, iou: Option<f32>) -> Result<Thresholds> {
        let mut t = self.default_thresholds();
        t.score = score.unwrap_or(t.score);
        t.iou = iou.unwrap_or(t.iou);
        match [t.score, t.iou].iter().all(|v| (0.0..=1.0).contains(v)) {
            true => Ok(t),
            false => Err(crate::error::Error::Invalid(
                "a detector's score and IoU thresholds are between 0 and 1".into(),
            )),
        }
    }

    /// camlens' rows `[N, A, 4 + K]` (see the module's comment) of the graph's output: one
    /// tensor for YOLO, DETR's logits and boxes; `size` is the input's side.
    pub fn rows(self, outputs: Vec<Tensor<3>>, size: usize) -> Tensor<3> {
        let mut outputs = outputs.into_iter();
        let first = outputs.next().expect("a detector has an output");
        match self {
            DetectFormat::YoloV8 => first.swap_dims(1, 2),
            DetectFormat::YoloV5 => {
                let [n, a, c] = first.dims();
                let objectness = first.clone().slice([0..n, 0..a, 4..5]);
                let classes = first.clone().slice([0..n, 0..a, 5..c]) * objectness;
                Tensor::cat(vec![first.slice([0..n, 0..a, 0..4]), classes], 2)
            }
            DetectFormat::Detr => {
                let boxes = outputs.next().expect("DETR's boxes") * size as f32;
                let [n, q, k1] = first.dims();
                let classes = softmax(first, 2).slice([0..n, 0..q, 0..k1 - 1]);
                Tensor::cat(vec![boxes, classes], 2)
            }
        }
    }
}

impl std::fmt::Display for DetectFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DetectFormat::YoloV8 => "YOLOv8 boxes [N, 4 + classes, anchors]",
            DetectFormat::YoloV5 => "YOLOv5 boxes [N, anchors, 5 + classes]",
            DetectFormat::Detr => {
                "DETR queries: class logits [N, queries, classes + 1] and boxes [N, queries, 4]"
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// The lowest score a box is kept with.
    pub score: f32,
    /// Overlap above which the lower-scored box of a class is suppressed.
    pub iou: f32,
    /// The most boxes kept.
    pub max: usize,
}

/// A box, in the model's input pixels (corners).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    pub class: usize,
    pub score: f32,
    /// The output row it comes from.
    pub anchor: usize,
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl Detection {
    fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }

    pub fn iou(&self, other: &Detection) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// Row `a` of one image's rows (`4 + classes` values each) as a box of its best class.
fn row_box(rows: &[f32], width: usize, a: usize) -> Detection {
    let r = &rows[a * width..(a + 1) * width];
    let (class, score) = r[4..]
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (k, &s)| if s > b.1 { (k, s) } else { b });
    let (cx, cy, w, h) = (r[0], r[1], r[2], r[3]);
    Detection {
        class,
        score,
        anchor: a,
        x1: cx - w / 2.0,
        y1: cy - h / 2.0,
        x2: cx + w / 2.0,
        y2: cy + h / 2.0,
    }
}

/// The boxes of one image's rows (`[1, A, 4 + K]`, flattened), after suppression.
pub fn decode(rows: &[f32], dims: [usize; 3], t: Thresholds) -> Vec<Detection> {
    let [_, anchors, width] = dims;
    let candidates = (0..anchors)
        .map(|a| row_box(rows, width, a))
        .filter(|d| d.score >= t.score)
        .collect();
    suppress(candidates, t.iou, t.max)
}

/// Per-class greedy non-maximum suppression (see the module's comment).
pub fn suppress(mut boxes: Vec<Detection>, iou: f32, max: usize) -> Vec<Detection> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.anchor.cmp(&b.anchor)));
    let mut kept: Vec<Detection> = vec![];
    for b in boxes {
        if kept.len() == max {
            break;
        }
        if kept.iter().all(|k| k.class != b.class || k.iou(&b) <= iou) {
            kept.push(b);
        }
    }
    kept
}

/// Each class's best score over the rows `[N, A, 4 + K]`: a detector's scores for the whole
/// image, where no box is being explained.
pub fn best_box_scores(rows: Tensor<3>) -> Tensor<2> {
    let [n, a, c] = rows.dims();
    rows.slice([0..n, 0..a, 4..c])
        .max_dim(1)
        .reshape([n, c - 4])
}

/// The row of one image's rows that matches `target` (see the module's comment).
pub fn best_match(rows: &[f32], width: usize, target: &Detection) -> Option<usize> {
    let anchors = rows.len() / width;
    (0..anchors)
        .map(|a| row_box(rows, width, a))
        .filter(|d| d.class == target.class)
        .map(|d| (d.anchor, d.iou(target)))
        .filter(|&(_, iou)| iou >= MATCH_IOU)
        .fold(None, |best: Option<(usize, f32)>, c| match best {
            Some(b) if b.1 >= c.1 => Some(b),
            _ => Some(c),
        })
        .map(|(a, _)| a)
}

/// The scores `[N, K]` of box `target` on rows `[N, A, 4 + K]`: its class's entry has the
/// value `log s` and the gradient of `s`, the class score at the row matching the box (zero
/// where none does); the other classes share `1 − s` evenly, untracked, so that the softmax
/// every score method and metric takes gives back `s` for the box's class (as a segmenter's
/// region scores do, `super::segmentation`).
pub fn box_scores(rows: Tensor<3>, target: &Detection) -> Result<Tensor<2>> {
    let [n, a, width] = rows.dims();
    let classes = width - 4;
    let c = target.class.min(classes - 1);
    let device = rows.device();
    let host = to_vec(rows.clone().detach())?;
    let matched: Vec<Option<usize>> = host
        .chunks(a * width)
        .map(|image| best_match(image, width, target))
        .collect();
    let index: Vec<i64> = matched
        .iter()
        .enumerate()
        .map(|(i, m)| (i * a + m.unwrap_or(0)) as i64)
        .collect();
    let found: Vec<f32> = matched
        .iter()
        .map(|m| if m.is_some() { 1.0 } else { 0.0 })
        .collect();
    let column = rows.slice([0..n, 0..a, 4 + c..5 + c]).reshape([n * a]);
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [n]), &device);
    let found = Tensor::<1>::from_data(TensorData::new(found, [n]), &device);
    let s = (column.select(0, index) * found).reshape([n, 1]);
    let values: Vec<f32> = to_vec(s.clone().detach())?;
    let others = (classes.max(2) - 1) as f32;
    let base: Vec<f32> = values
        .iter()
        .flat_map(|&s| {
            let rest = ((1.0 - s) / others).max(1e-30).ln();
            (0..classes).map(move |k| if k == c { s.max(1e-30).ln() } else { rest })
        })
        .collect();
    let base = Tensor::<2>::from_data(TensorData::new(base, [n, classes]), &device);
    let mut one_hot = vec![0.0f32; classes];
    one_hot[c] = 1.0;
    let one_hot = Tensor::<2>::from_data(TensorData::new(one_hot, [1, classes]), &device);
    // `s − s` is exactly zero: the value is `base` to the last bit, the gradient is `s`'s.
    Ok(base + (s.clone() - s.detach()).expand([n, classes]) * one_hot.expand([n, classes]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(class: usize, score: f32, anchor: usize, x1: f32) -> Detection {
        Detection {
            class,
            score,
            anchor,
            x1,
            y1: 0.0,
            x2: x1 + 10.0,
            y2: 10.0,
        }
    }

    /// Overlapping boxes of one class keep the best; another class's box over them stays; a
    /// box that overlaps by less than the threshold stays.
    #[test]
    fn suppression_is_per_class_and_by_overlap() {
        let boxes = vec![
            boxed(0, 0.5, 0, 0.0),
            boxed(0, 0.9, 1, 1.0),
            boxed(1, 0.4, 2, 0.0),
            boxed(0, 0.6, 3, 8.0),
        ];
        let kept: Vec<usize> = suppress(boxes, 0.5, 10).iter().map(|b| b.anchor).collect();
        assert_eq!(kept, [1, 3, 2]);
    }

    #[test]
    fn layouts_are_told_by_where_the_anchors_are() {
        let of = DetectFormat::of_shape;
        assert_eq!(of(&[1, 84, 8400]), Some((DetectFormat::YoloV8, 80)));
        assert_eq!(of(&[1, 25200, 85]), Some((DetectFormat::YoloV5, 80)));
        assert_eq!(of(&[1, 1000]), None);
        assert_eq!(of(&[1, 84, 84]), None);
    }

    /// A row's box from its centre, its best class, the score threshold.
    #[test]
    fn rows_decode_to_corner_boxes() {
        // Two anchors, two classes: cx, cy, w, h, p0, p1.
        let rows = [
            10.0, 20.0, 4.0, 6.0, 0.1, 0.8, 50.0, 60.0, 10.0, 10.0, 0.2, 0.1,
        ];
        let t = DetectFormat::YoloV8.default_thresholds();
        let found = decode(&rows, [1, 2, 6], t);
        assert_eq!(found.len(), 1);
        let b = found[0];
        // Anchor 0's best class is 1 (0.8); anchor 1's best (0.2) is under the threshold.
        assert_eq!((b.class, b.anchor, b.score), (1, 0, 0.8));
        assert_eq!([b.x1, b.y1, b.x2, b.y2], [8.0, 17.0, 12.0, 23.0]);
    }

    fn tensor(values: Vec<f32>, dims: [usize; 3]) -> Tensor<3> {
        Tensor::from_data(TensorData::new(values, dims), &Default::default())
    }

    /// Each layout to rows: YOLOv8's transposed, YOLOv5's classes times its objectness,
    /// DETR's softmax without "no object" and its boxes in input pixels.
    #[test]
    fn every_layout_becomes_rows_of_box_and_class_scores() {
        let v8 = tensor(vec![1., 2., 3., 4., 5., 6., 7., 8., 9., 10.], [1, 5, 2]);
        let rows = to_vec(DetectFormat::YoloV8.rows(vec![v8], 8)).unwrap();
        assert_eq!(rows, [1., 3., 5., 7., 9., 2., 4., 6., 8., 10.]);
        let v5 = tensor(vec![1., 2., 3., 4., 0.5, 0.2, 0.8], [1, 1, 7]);
        let rows = to_vec(DetectFormat::YoloV5.rows(vec![v5], 8)).unwrap();
        assert_eq!(rows, [1., 2., 3., 4., 0.1, 0.4]);
        let logits = tensor(vec![0.0, 0.0, 0.0], [1, 1, 3]);
        let boxes = tensor(vec![0.5, 0.25, 0.5, 0.5], [1, 1, 4]);
        let rows = to_vec(DetectFormat::Detr.rows(vec![logits, boxes], 8)).unwrap();
        let third = 1.0 / 3.0;
        let want = [4.0, 2.0, 4.0, 4.0, third, third];
        assert!(
            rows.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{rows:?}"
        );
    }

    /// On each input the box's score is read at the row of its class that overlaps it most
    /// (at least 0.5): here row 2 on the first input, none on the second (its only row of
    /// the class is elsewhere); the softmax of the scores gives back that score.
    #[test]
    fn a_box_is_scored_at_its_best_matching_row_or_zero() {
        let target = Detection {
            class: 1,
            score: 0.9,
            anchor: 0,
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
        };
        #[rustfmt::skip]
        let rows = vec![
            // Input 0: a row of class 0 on the box, two of class 1 (IoU 0.36 and 0.81).
            5.0, 5.0, 10.0, 10.0, 0.9, 0.1,
            8.0, 8.0, 10.0, 10.0, 0.1, 0.7,
            5.5, 5.5, 9.0, 9.0, 0.2, 0.6,
            // Input 1: class 1 far from the box.
            50.0, 50.0, 10.0, 10.0, 0.1, 0.8,
            5.0, 5.0, 10.0, 10.0, 0.9, 0.1,
            5.0, 5.0, 10.0, 10.0, 0.9, 0.2,
        ];
        assert_eq!(best_match(&rows[..18], 6, &target), Some(2));
        assert_eq!(best_match(&rows[18..], 6, &target), None);
        let scores = box_scores(tensor(rows, [2, 3, 6]), &target).unwrap();
        let p = to_vec(softmax(scores, 1)).unwrap();
        assert!((p[1] - 0.6).abs() < 1e-6 && p[3] < 1e-20, "{p:?}");
    }
}
