//! What persists between runs.

use crate::cam::{Method, Options};
use crate::compute::precision::Precision;
use crate::draw::overlay::{Colormap, View};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub methods: Vec<Method>,
    pub colormap: Colormap,
    pub alpha: f32,
    pub view: View,
    /// Whether exported PNGs get the colour scale under them (sheets always do).
    pub legend: bool,
    /// A detector's maps normalised inside its boxes (see `outputs::Look::in_boxes`).
    pub in_boxes: bool,
    pub options: Options,
    /// Weights file of the last model, `None` for the built-in one.
    pub weights: Option<PathBuf>,
    /// Float type of the convolutions and matrix products (see `crate::compute::precision`).
    pub precision: Precision,
}

impl Settings {
    /// How maps are drawn, for the exports.
    pub fn look(&self) -> crate::outputs::Look {
        crate::outputs::Look {
            view: self.view,
            colormap: self.colormap,
            alpha: self.alpha,
            legend: self.legend,
            in_boxes: self.in_boxes,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            methods: Method::DEFAULT.to_vec(),
            colormap: Colormap::Jet,
            alpha: 0.5,
            view: View::Overlay,
            legend: false,
            in_boxes: false,
            options: Options::default(),
            weights: None,
            precision: Precision::Auto,
        }
    }
}
