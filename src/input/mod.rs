//! What comes in: weight files as named tensors, class names, the bundled sample photos, and
//! photos made into the model's input (resampled, cropped, normalised, the crop remembered).

pub mod labels;
pub mod preprocess;
pub mod resample;
pub mod samples;
pub mod weights;
