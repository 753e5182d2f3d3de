//! Pictures: colormaps, overlays and captioned sheets (PNG and NPY files), the colour-scale
//! legend, charts, and a detector's boxes.

pub mod boxes;
pub mod chart;
pub mod legend;
pub mod overlay;
