//! What of a segmenter's or detector's answer an image is explained for, chosen per image
//! before any map and set on the model (`models::Focus`): the predicted pixels of a class, or
//! one of the boxes. Classifiers are explained whole.

use crate::error::{Error, Result};
use crate::models::detection::{Detection, Thresholds};
use crate::models::{Focus, Model, Segmentation, Task};

/// Which class (or box) an image is explained for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ClassChoice {
    /// The predicted (most probable) class; a segmenter's class with the most pixels; a
    /// detector's best box.
    #[default]
    Predicted,
    /// This class, checked against the model's classes (a detector's best box of it).
    Index(usize),
    /// The most probable of these (a label that is a group of classes, as "cat" for ImageNet).
    MostProbableOf(Vec<usize>),
    /// A detector's box, by its index among the boxes `Model::detect` lists (best first).
    Box(usize),
}

impl From<Option<usize>> for ClassChoice {
    fn from(class: Option<usize>) -> Self {
        class.map_or(ClassChoice::Predicted, ClassChoice::Index)
    }
}

/// A detector's boxes on one image and the one explained.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// In the model's input pixels, best first.
    pub boxes: Vec<Detection>,
    pub chosen: usize,
}

impl Detected {
    pub fn chosen(&self) -> &Detection {
        &self.boxes[self.chosen]
    }
}

/// What of the answer is explained.
#[derive(Debug, Clone, PartialEq)]
pub enum Chosen {
    /// A segmenter's per-pixel classes; the explained region is the class's pixels.
    Pixels(Segmentation),
    Box(Detected),
}

/// For a segmenter or a detector: what `choice` picks on this prepared input, set on the model
/// as its focus, with the class explained; `None` for a classifier.
pub fn choose(
    model: &Model,
    input: &[f32],
    choice: &ClassChoice,
    thresholds: Option<Thresholds>,
) -> Result<Option<(Chosen, usize)>> {
    match model.task() {
        Task::Classify => {
            if let ClassChoice::Box(_) = choice {
                return Err(Error::Invalid(format!(
                    "a box is a detector's; {} classifies whole images",
                    model.name
                )));
            }
            Ok(None)
        }
        Task::Segment => {
            let seg = model.segment(input)?;
            let class = region_class(&seg, choice)?;
            model.set_focus(Focus::Pixels(seg.mask(class, &model.classes)?))?;
            Ok(Some((Chosen::Pixels(seg), class)))
        }
        Task::Detect(_) => {
            let boxes = model.detect(input, thresholds)?;
            let chosen = chosen_box(model, &boxes, choice)?;
            model.set_focus(Focus::Box(boxes[chosen]))?;
            let class = boxes[chosen].class;
            Ok(Some((Chosen::Box(Detected { boxes, chosen }), class)))
        }
    }
}

/// A segmenter's class: the one with the most pixels unless one is named.
fn region_class(seg: &Segmentation, choice: &ClassChoice) -> Result<usize> {
    let counts = seg.counts();
    match choice {
        ClassChoice::Predicted => Ok(seg.largest()),
        ClassChoice::Index(c) => Ok(*c),
        ClassChoice::MostProbableOf(group) => group
            .iter()
            .copied()
            .filter(|&c| c < seg.classes)
            .max_by_key(|&c| counts[c])
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "label {group:?} is out of range: this model has {} classes",
                    seg.classes
                ))
            }),
        ClassChoice::Box(_) => Err(Error::Invalid(
            "a box is a detector's; this model segments (use segment:CLASS)".into(),
        )),
    }
}

/// A detector's box: the best, the best of a class (or of a group), or one by index.
fn chosen_box(model: &Model, boxes: &[Detection], choice: &ClassChoice) -> Result<usize> {
    if boxes.is_empty() {
        return Err(Error::Invalid(format!(
            "{} finds no box on this photo at its score threshold: nothing to explain (a lower \
             --score lists weaker boxes)",
            model.name
        )));
    }
    let name = |k: usize| {
        model
            .classes
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    };
    let first_of = |wanted: &[usize]| boxes.iter().position(|b| wanted.contains(&b.class));
    let found = match choice {
        ClassChoice::Predicted => Some(0),
        ClassChoice::Box(i) if *i < boxes.len() => Some(*i),
        ClassChoice::Box(i) => {
            return Err(Error::Invalid(format!(
                "box {i}: this photo has {} boxes (0 to {}), as `camlens detect` lists them",
                boxes.len(),
                boxes.len() - 1
            )));
        }
        ClassChoice::Index(c) => first_of(&[*c]),
        ClassChoice::MostProbableOf(group) => first_of(group),
    };
    found.ok_or_else(|| {
        let mut present: Vec<String> = boxes.iter().map(|b| name(b.class)).collect();
        present.dedup();
        let wanted = match choice {
            ClassChoice::Index(c) => format!("class {c} '{}'", name(*c)),
            other => format!("{other:?}"),
        };
        Error::Invalid(format!(
            "no box of {wanted} on this photo; its boxes are of: {}",
            present.join(", ")
        ))
    })
}
