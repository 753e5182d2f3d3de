//! From a file on disk to the model's input tensor, remembering where the crop came from so that
//! a map computed on the 224×224 input can be placed back on the original photo.

use crate::error::{Error, Result};
use burn::tensor::{Device, Tensor, TensorData};
use image::{RgbImage, imageops::FilterType};
use std::path::Path;

/// The file extensions camlens opens as images (file dialogs' filter, folders' contents).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"];

/// Whether a file's name says it is an image camlens opens.
pub fn is_image_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        IMAGE_EXTENSIONS.contains(&e.as_str())
    })
}

/// The largest side camlens decodes: a 20000×20000 photo would need 1.6 GB as RGBA.
pub const MAX_SIDE: u32 = 16384;

/// How a model wants its input prepared.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    /// Side of the square input.
    pub size: u32,
    /// Fraction of the shorter side kept by the centre crop (0.875 = 224/256, for every model here).
    pub crop_fraction: f32,
    /// Resampling filter for the crop → input resize.
    pub filter: Resample,
    /// Per-channel mean and std on the 0–255 scale.
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    Bilinear,
    Bicubic,
}

impl Preprocess {
    /// torchvision's ImageNet recipe: resize to 256, centre crop 224, ImageNet mean/std.
    pub fn torchvision() -> Self {
        Self {
            size: 224,
            crop_fraction: 0.875,
            filter: Resample::Bilinear,
            mean: [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0],
            std: [0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0],
        }
    }

    /// The EfficientNet-Lite recipe of its TensorFlow origin: centre crop 0.875, bicubic, (x−127)/128.
    pub fn efficientnet_lite() -> Self {
        Self {
            size: 224,
            crop_fraction: 0.875,
            filter: Resample::Bicubic,
            mean: [127.0; 3],
            std: [128.0; 3],
        }
    }

    /// The centre crop of an image of this size, as TensorFlow's `central_crop` computes it.
    pub fn crop_box(&self, width: u32, height: u32) -> CropBox {
        let side = ((self.crop_fraction as f64) * width.min(height) as f64).floor() as u32;
        let side = side.max(1);
        CropBox {
            x: (width - side).div_ceil(2),
            y: (height - side).div_ceil(2),
            side,
            image_width: width,
            image_height: height,
        }
    }

    /// Crops, resizes and normalises one image into `[3, size, size]` floats (CHW).
    pub fn prepare(&self, img: &RgbImage) -> (Vec<f32>, CropBox) {
        let crop = self.crop_box(img.width(), img.height());
        let view = image::imageops::crop_imm(img, crop.x, crop.y, crop.side, crop.side).to_image();
        let filter = match self.filter {
            Resample::Bilinear => FilterType::Triangle,
            Resample::Bicubic => FilterType::CatmullRom,
        };
        let resized = image::imageops::resize(&view, self.size, self.size, filter);
        let n = (self.size * self.size) as usize;
        let mut out = vec![0.0f32; 3 * n];
        for (i, p) in resized.pixels().enumerate() {
            for c in 0..3 {
                out[c * n + i] = (p[c] as f32 - self.mean[c]) / self.std[c];
            }
        }
        (out, crop)
    }

    /// A batch of prepared images as one `[B, 3, size, size]` tensor.
    pub fn batch(&self, images: &[Vec<f32>], device: &Device) -> Tensor<4> {
        let s = self.size as usize;
        let data: Vec<f32> = images.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(data, [images.len(), 3, s, s]), device)
    }
}

/// The recipe in words, as the app and `camlens layers` show it (mean and std on the 0–1 scale).
impl std::fmt::Display for Preprocess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let three = |v: [f32; 3]| {
            v.map(|x| format!("{:.3}", x / 255.0))
                .join("/")
                .replace(".000", "")
        };
        write!(
            f,
            "{s}×{s}, centre crop {:.3} of the shorter side, {}, mean {}, std {}",
            self.crop_fraction,
            match self.filter {
                Resample::Bilinear => "bilinear",
                Resample::Bicubic => "bicubic",
            },
            three(self.mean),
            three(self.std),
            s = self.size,
        )
    }
}

/// Where the model's input came from in the original image (a square, in original pixels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    pub x: u32,
    pub y: u32,
    pub side: u32,
    pub image_width: u32,
    pub image_height: u32,
}

/// Opens any image the `image` crate reads (16-bit, greyscale and alpha included) as 8-bit RGB.
/// Alpha is dropped as PIL's `convert("RGB")` does, so results match the Python tools.
pub fn load_image(path: &Path) -> Result<RgbImage> {
    let err = |detail: String| Error::Image {
        path: path.to_owned(),
        detail,
    };
    let reader = image::ImageReader::open(path)
        .map_err(|e| err(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| err(format!("not a readable image ({e})")))?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::ImageTooLarge {
            path: path.to_owned(),
            width,
            height,
            max: MAX_SIDE,
        });
    }
    if width == 0 || height == 0 {
        return Err(err("the image is empty (0 pixels)".into()));
    }
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| err(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    reader.no_limits();
    let img = reader
        .decode()
        .map_err(|e| err(format!("not a readable image ({e})")))?;
    Ok(img.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_box_is_a_centred_square_of_the_shorter_side() {
        let p = Preprocess::efficientnet_lite();
        let c = p.crop_box(451, 300);
        assert_eq!(c.side, 262);
        assert_eq!((c.x, c.y), (95, 19));
    }

    #[test]
    fn normalisation_follows_the_recipe() {
        let p = Preprocess::efficientnet_lite();
        let img = RgbImage::from_pixel(300, 300, image::Rgb([255, 127, 0]));
        let (x, _) = p.prepare(&img);
        let n = 224 * 224;
        assert!((x[0] - 1.0).abs() < 1e-6);
        assert!(x[n].abs() < 1e-6);
        assert!((x[2 * n] + 127.0 / 128.0).abs() < 1e-6);
    }
}
