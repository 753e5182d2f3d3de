//! Class names. ImageNet's 1000 come from torchvision's `_IMAGENET_CATEGORIES` (BSD-3-Clause,
//! credited in assets/NOTICE); a fine-tuned model's come from a labels file beside its weights.

use crate::error::{Access, Error, Result};
use std::path::Path;

static IMAGENET: &str = include_str!("../../assets/imagenet-classes.txt");

pub fn imagenet() -> Vec<String> {
    IMAGENET.lines().map(str::to_string).collect()
}

/// Names for a model with `classes` outputs loaded from `weights`: a labels file beside it
/// (`<stem>.labels.txt`, `<stem>.txt`, `labels.txt`, `classes.txt`; one name a line), else
/// ImageNet's for 1000 classes, else "class N".
pub fn for_weights(weights: &Path, classes: usize) -> Result<Vec<String>> {
    Ok(beside(weights, classes)?
        .or_else(|| known(classes))
        .unwrap_or_else(|| numbered(classes)))
}

/// The first labels file beside `weights` with exactly `classes` names.
fn beside(weights: &Path, classes: usize) -> Result<Option<Vec<String>>> {
    let dir = weights.parent().unwrap_or(Path::new("."));
    let stem = weights
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let candidates = [
        dir.join(format!("{stem}.labels.txt")),
        dir.join(format!("{stem}.txt")),
        dir.join("labels.txt"),
        dir.join("classes.txt"),
    ];
    for file in candidates.iter().filter(|p| p.is_file()) {
        let names = read(file)?;
        if names.len() == classes {
            return Ok(Some(names));
        }
        log::warn!(
            "{} has {} names but the model has {classes} classes; ignoring it",
            file.display(),
            names.len()
        );
    }
    Ok(None)
}

/// ImageNet's names for a 1000-class head.
fn known(classes: usize) -> Option<Vec<String>> {
    (classes == 1000).then(imagenet)
}

fn numbered(classes: usize) -> Vec<String> {
    (0..classes).map(|i| format!("class {i}")).collect()
}

/// One name a line, blank lines skipped.
pub fn read(file: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(Error::io(Access::Read, file.to_owned()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Names for an ONNX model: the labels file its `model.json` names (which must fit), else a
/// labels file beside it, else ImageNet's for 1000 classes, else the names its exporter stored
/// in the graph's metadata, else "negative"/"positive" for a single logit, else "class N". A single-logit head is read as two classes, "not X" and "X", where one
/// name X is given.
pub fn for_onnx(
    model: &Path,
    classes: usize,
    named: Option<&Path>,
    metadata: Option<Vec<String>>,
) -> Result<Vec<String>> {
    let fit = |names: Vec<String>| match names.as_slice() {
        [one] if classes == 2 => Some(vec![format!("not {one}"), one.clone()]),
        _ => (names.len() == classes).then_some(names),
    };
    if let Some(file) = named {
        let names = read(file)?;
        let n = names.len();
        return fit(names).ok_or_else(|| {
            Error::Invalid(format!(
                "{} has {n} names but the model has {classes} classes",
                file.display()
            ))
        });
    }
    if let Some(names) = beside(model, classes)?.or_else(|| known(classes)) {
        return Ok(names);
    }
    if let Some(names) = metadata.and_then(fit) {
        return Ok(names);
    }
    Ok(if classes == 2 {
        vec!["negative".into(), "positive".into()]
    } else {
        numbered(classes)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn imagenet_has_1000_names_in_torchvision_order() {
        let names = super::imagenet();
        assert_eq!(names.len(), 1000);
        assert_eq!(names[282], "tiger cat");
        assert_eq!(names[967], "espresso");
    }
}
