//! Pictures: colormaps, overlays and captioned sheets (PNG and NPY files), the colour-scale
//! legend, and charts.

pub mod chart;
pub mod legend;
pub mod overlay;
