//! Detectors: a graph whose output is one row of box and class scores per anchor, decoded and
//! filtered by camlens' own non-maximum suppression. Two layouts are read:
//! - YOLOv8 / YOLO11 (Ultralytics' export): `[N, 4 + K, A]`, per anchor the box's centre,
//!   width and height in input pixels, then K class probabilities (the sigmoid is in the graph);
//!   a box's score is its best class's probability. Ultralytics' defaults: score ≥ 0.25, IoU 0.7.
//! - YOLOv5: `[N, A, 5 + K]`, the box, an objectness, then K class probabilities; a box's
//!   score is objectness × its best class's. Its defaults: score ≥ 0.25, IoU 0.45.
//!
//! Suppression is per class, as Ultralytics' (its boxes are offset by class before one NMS):
//! boxes by decreasing score (ties by anchor), each kept unless it overlaps a kept box of its
//! class by more than the IoU threshold; at most `max` boxes.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectFormat {
    YoloV8,
    YoloV5,
}

impl DetectFormat {
    /// The layout of an output of shape `[1, a, b]`, and its class count: YOLOv8's where the
    /// anchors (many) are the last axis, YOLOv5's where they are the middle one.
    pub fn of_shape(dims: &[usize]) -> Option<(Self, usize)> {
        match *dims {
            [1, c, a] if c > 4 && a > c => Some((DetectFormat::YoloV8, c - 4)),
            [1, a, c] if c > 5 && a > c => Some((DetectFormat::YoloV5, c - 5)),
            _ => None,
        }
    }

    pub fn default_thresholds(self) -> Thresholds {
        Thresholds {
            score: 0.25,
            iou: match self {
                DetectFormat::YoloV8 => 0.7,
                DetectFormat::YoloV5 => 0.45,
            },
            max: 300,
        }
    }
}

impl std::fmt::Display for DetectFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DetectFormat::YoloV8 => "YOLOv8 boxes [N, 4 + classes, anchors]",
            DetectFormat::YoloV5 => "YOLOv5 boxes [N, anchors, 5 + classes]",
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

/// The boxes of one image's output `out` (shape `dims`, `[1, a, b]`), after suppression.
pub fn decode(
    format: DetectFormat,
    out: &[f32],
    dims: [usize; 3],
    t: Thresholds,
) -> Vec<Detection> {
    let [_, d1, d2] = dims;
    let (anchors, get): (usize, Box<dyn Fn(usize, usize) -> f32>) = match format {
        DetectFormat::YoloV8 => (d2, Box::new(move |a, j| out[j * d2 + a])),
        DetectFormat::YoloV5 => (d1, Box::new(move |a, j| out[a * d2 + j])),
    };
    let (first_class, classes) = match format {
        DetectFormat::YoloV8 => (4, d1 - 4),
        DetectFormat::YoloV5 => (5, d2 - 5),
    };
    let mut candidates = vec![];
    for a in 0..anchors {
        let objectness = match format {
            DetectFormat::YoloV8 => 1.0,
            DetectFormat::YoloV5 => get(a, 4),
        };
        let (class, best) = (0..classes)
            .map(|k| (k, get(a, first_class + k)))
            .fold((0, f32::MIN), |b, c| if c.1 > b.1 { c } else { b });
        let score = objectness * best;
        if score < t.score {
            continue;
        }
        let (cx, cy, w, h) = (get(a, 0), get(a, 1), get(a, 2), get(a, 3));
        candidates.push(Detection {
            class,
            score,
            anchor: a,
            x1: cx - w / 2.0,
            y1: cy - h / 2.0,
            x2: cx + w / 2.0,
            y2: cy + h / 2.0,
        });
    }
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

    /// YOLOv8's layout, anchors last: the box from the centre, the best class, the threshold.
    #[test]
    fn yolov8_rows_decode_to_corner_boxes() {
        // Two anchors, two classes: rows cx, cy, w, h, p0, p1.
        let out = [
            10.0, 50.0, 20.0, 60.0, 4.0, 10.0, 6.0, 10.0, 0.1, 0.2, 0.8, 0.1,
        ];
        let t = DetectFormat::YoloV8.default_thresholds();
        let found = decode(DetectFormat::YoloV8, &out, [1, 6, 2], t);
        assert_eq!(found.len(), 1);
        let b = found[0];
        // Anchor 0's best class is 1 (0.8); anchor 1's best (0.2) is under the threshold.
        assert_eq!((b.class, b.anchor, b.score), (1, 0, 0.8));
        assert_eq!([b.x1, b.y1, b.x2, b.y2], [8.0, 17.0, 12.0, 23.0]);
    }
}
