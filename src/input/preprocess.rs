//! From a file on disk to the model's input tensor, remembering where the crop came from so that
//! a map computed on the 224×224 input can be placed back on the original photo.

use crate::error::{Error, Result};
use burn::tensor::{Device, Tensor, TensorData};
use image::{RgbImage, imageops::FilterType};
use std::path::{Path, PathBuf};

/// The file extensions camlens opens as images (file dialogs' filter, folders' contents).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"];

/// Whether a file's name says it is an image camlens opens.
pub fn is_image_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        IMAGE_EXTENSIONS.contains(&e.as_str())
    })
}

/// Files as given; a folder stands for the images directly inside it, sorted by name.
pub fn image_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = vec![];
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            inside.sort();
            files.extend(inside.into_iter().filter(|f| is_image_file(f)));
        } else {
            files.push(p.clone());
        }
    }
    files
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
    /// Whether the photo is cropped first (TensorFlow's recipe) or resized first (torchvision's).
    pub order: Order,
}

/// In which order the photo is cut and scaled: the two recipes give inputs a few grey levels
/// apart, which moves maps by a few per cent of their range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// TensorFlow's `central_crop` of `crop_fraction` of the shorter side, then a resize of the
    /// crop to the input size (EfficientNet-Lite0's recipe).
    CropThenResize,
    /// torchvision's `Resize(round(size / crop_fraction))` of the whole photo with Pillow's
    /// antialiased convolution resampling, then `CenterCrop(size)` with its rounding.
    ResizeThenCrop,
    /// YOLO's letterbox: the longer side resized to the input size, the photo centred on grey
    /// 114 (Ultralytics' `LetterBox`, its padding rounded as there); nothing cropped.
    Letterbox,
    /// The whole photo resized to the square input, its aspect not kept; nothing cropped.
    Stretch,
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
            order: Order::ResizeThenCrop,
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
            order: Order::CropThenResize,
        }
    }

    /// Where the model's input comes from in a photo of this size.
    pub fn crop_box(&self, width: u32, height: u32) -> CropBox {
        match self.order {
            Order::Letterbox => {
                let ((nw, nh), (left, top)) = self.letterbox(width, height);
                let (kx, ky) = (width as f32 / nw as f32, height as f32 / nh as f32);
                CropBox {
                    x: -(left as f32) * kx,
                    y: -(top as f32) * ky,
                    width: self.size as f32 * kx,
                    height: self.size as f32 * ky,
                    image_width: width,
                    image_height: height,
                }
            }
            Order::Stretch => CropBox {
                x: 0.0,
                y: 0.0,
                width: width as f32,
                height: height as f32,
                image_width: width,
                image_height: height,
            },
            Order::CropThenResize => {
                let (x, y, side) = self.central_crop(width, height);
                CropBox::square(x, y, side, width, height)
            }
            Order::ResizeThenCrop => {
                let ((rw, rh), (left, top)) = self.resize_then_crop(width, height);
                // The crop of the resized photo, in the photo's own pixels (each axis scaled by
                // its own factor: the longer side's size is truncated).
                let (kx, ky) = (width as f32 / rw as f32, height as f32 / rh as f32);
                CropBox {
                    x: left as f32 * kx,
                    y: top as f32 * ky,
                    width: self.size as f32 * kx,
                    height: self.size as f32 * ky,
                    image_width: width,
                    image_height: height,
                }
            }
        }
    }

    /// TensorFlow's `central_crop`: `(x, y, side)` of the centred square.
    fn central_crop(&self, width: u32, height: u32) -> (u32, u32, u32) {
        let side = ((self.crop_fraction as f64) * width.min(height) as f64).floor() as u32;
        let side = side.max(1);
        (
            (width - side).div_ceil(2),
            (height - side).div_ceil(2),
            side,
        )
    }

    /// torchvision's `Resize(round(size / crop_fraction))` then `CenterCrop(size)`: the resized
    /// photo's size, and the crop's top-left corner in it.
    fn resize_then_crop(&self, width: u32, height: u32) -> ((u32, u32), (u32, u32)) {
        let short_side = (self.size as f64 / self.crop_fraction as f64).round() as u64;
        let short_side = short_side.max(self.size as u64);
        let (w, h) = (width as u64, height as u64);
        // torchvision: the shorter side becomes `short_side`, the longer `int(short_side · long /
        // short)` (truncated).
        let (rw, rh) = if w <= h {
            (short_side, short_side * h / w)
        } else {
            (short_side * w / h, short_side)
        };
        // CenterCrop: int(round((resized − size) / 2)), Python's round (half to even).
        let offset = |n: u64| {
            let twice = n - self.size as u64;
            let half = twice / 2;
            if twice % 2 == 1 && half % 2 == 1 {
                half + 1
            } else {
                half
            }
        };
        (
            (rw as u32, rh as u32),
            (offset(rw) as u32, offset(rh) as u32),
        )
    }

    /// Ultralytics' `LetterBox`: the resized photo's size and its top-left corner in the input.
    fn letterbox(&self, width: u32, height: u32) -> ((u32, u32), (u32, u32)) {
        let s = self.size as f64;
        let r = s / width.max(height) as f64;
        let nw = ((width as f64 * r).round() as u32).clamp(1, self.size);
        let nh = ((height as f64 * r).round() as u32).clamp(1, self.size);
        let pad = |n: u32| ((self.size - n) as f64 / 2.0 - 0.1).round().max(0.0) as u32;
        ((nw, nh), (pad(nw), pad(nh)))
    }

    /// The `size`×`size` RGB pixels the model sees.
    fn pixels(&self, img: &RgbImage) -> RgbImage {
        match self.order {
            Order::Letterbox => {
                let ((nw, nh), (left, top)) = self.letterbox(img.width(), img.height());
                let resized = pillow_resize(img, nw, nh, self.filter);
                let mut out = RgbImage::from_pixel(self.size, self.size, image::Rgb([114; 3]));
                image::imageops::replace(&mut out, &resized, left as i64, top as i64);
                out
            }
            Order::Stretch => pillow_resize(img, self.size, self.size, self.filter),
            Order::CropThenResize => {
                let (x, y, side) = self.central_crop(img.width(), img.height());
                let view = image::imageops::crop_imm(img, x, y, side, side).to_image();
                let filter = match self.filter {
                    Resample::Bilinear => FilterType::Triangle,
                    Resample::Bicubic => FilterType::CatmullRom,
                };
                image::imageops::resize(&view, self.size, self.size, filter)
            }
            Order::ResizeThenCrop => {
                let ((rw, rh), (left, top)) = self.resize_then_crop(img.width(), img.height());
                let resized = pillow_resize(img, rw, rh, self.filter);
                image::imageops::crop_imm(&resized, left, top, self.size, self.size).to_image()
            }
        }
    }

    /// Crops, resizes and normalises one image into `[3, size, size]` floats (CHW).
    pub fn prepare(&self, img: &RgbImage) -> (Vec<f32>, CropBox) {
        let crop = self.crop_box(img.width(), img.height());
        let resized = self.pixels(img);
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
        let fit = match self.order {
            Order::Letterbox => "letterbox (longer side to the size, grey 114 around)".into(),
            Order::Stretch => "the whole photo resized (aspect not kept)".into(),
            _ => format!("centre crop {:.3} of the shorter side", self.crop_fraction),
        };
        write!(
            f,
            "{s}×{s}, {fit}, {}, mean {}, std {}",
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

/// Where the model's input came from in the original image: a rectangle in the photo's pixels
/// (a square for TensorFlow's crop; torchvision's is a square of the resized photo, whose two
/// axes are scaled by slightly different factors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub image_width: u32,
    pub image_height: u32,
}

impl CropBox {
    pub fn square(x: u32, y: u32, side: u32, image_width: u32, image_height: u32) -> Self {
        Self {
            x: x as f32,
            y: y as f32,
            width: side as f32,
            height: side as f32,
            image_width,
            image_height,
        }
    }

    /// The same box on the photo scaled by `k` (a display copy of it).
    pub fn scaled(&self, k: f32, image_width: u32, image_height: u32) -> Self {
        Self {
            x: self.x * k,
            y: self.y * k,
            width: self.width * k,
            height: self.height * k,
            image_width,
            image_height,
        }
    }

    /// A point of the model's `size`×`size` input in the photo's pixels, clipped to the photo.
    pub fn to_photo(&self, x: f32, y: f32, size: usize) -> [f32; 2] {
        let s = size as f32;
        [
            (self.x + x * self.width / s).clamp(0.0, self.image_width as f32),
            (self.y + y * self.height / s).clamp(0.0, self.image_height as f32),
        ]
    }

    /// Where a photo pixel's centre falls in the box, as `(u, v)` in 0–1, if it falls inside.
    pub fn uv(&self, px: u32, py: u32) -> Option<(f32, f32)> {
        let u = (px as f32 + 0.5 - self.x) / self.width;
        let v = (py as f32 + 0.5 - self.y) / self.height;
        ((0.0..1.0).contains(&u) && (0.0..1.0).contains(&v)).then_some((u, v))
    }
}

/// A resize as Pillow's `Image.resize` computes it (see `resample.rs`).
fn pillow_resize(img: &RgbImage, width: u32, height: u32, filter: Resample) -> RgbImage {
    let filter = match filter {
        Resample::Bilinear => crate::input::resample::Filter::Bilinear,
        Resample::Bicubic => crate::input::resample::Filter::Bicubic,
    };
    crate::input::resample::resize(img, width, height, filter)
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
    if reader.format() == Some(image::ImageFormat::Jpeg)
        && let Some(img) = decode_jpeg_as_pil(path)
    {
        return Ok(img);
    }
    reader.no_limits();
    let img = reader
        .decode()
        .map_err(|e| err(format!("not a readable image ({e})")))?;
    Ok(match img {
        // Pillow reads 16-bit RGB as its high bytes (the image crate would round).
        image::DynamicImage::ImageRgb16(_) | image::DynamicImage::ImageRgba16(_) => {
            let wide = img.to_rgb16();
            RgbImage::from_fn(wide.width(), wide.height(), |x, y| {
                image::Rgb(wide.get_pixel(x, y).0.map(|v| (v >> 8) as u8))
            })
        }
        img => img.to_rgb8(),
    })
}

/// A JPEG decoded by libjpeg-turbo's own code (the `mozjpeg` fork, built from source), as PIL
/// decodes it: the same integer IDCT, "fancy" chroma upsampling and colour conversion, so the
/// pixels are PIL's exactly (the image crate's decoder differs by up to 4 grey levels on 14 % of
/// ImageNet's values, which moves probabilities by 3·10⁻³). `None` where libjpeg refuses the
/// file (CMYK, corrupt): the image crate then decodes it or says why not.
fn decode_jpeg_as_pil(path: &Path) -> Option<RgbImage> {
    let bytes = std::fs::read(path).ok()?;
    // libjpeg reports errors by unwinding through the wrapper.
    std::panic::catch_unwind(|| {
        let mut d = mozjpeg::Decompress::new_mem(&bytes).ok()?.rgb().ok()?;
        let (w, h) = (d.width() as u32, d.height() as u32);
        let pixels: Vec<[u8; 3]> = d.read_scanlines().ok()?;
        d.finish().ok()?;
        RgbImage::from_raw(w, h, pixels.concat())
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_box_is_a_centred_square_of_the_shorter_side() {
        let p = Preprocess::efficientnet_lite();
        let c = p.crop_box(451, 300);
        assert_eq!((c.width, c.height), (262.0, 262.0));
        assert_eq!((c.x, c.y), (95.0, 19.0));
    }

    #[test]
    fn torchvision_resizes_then_crops_with_its_roundings() {
        let p = Preprocess::torchvision();
        // 451×300 → Resize(256): 384×256 (384.85 truncated); CenterCrop(224): left
        // round(80) = 80, top round(16) = 16.
        assert_eq!(p.resize_then_crop(451, 300), ((384, 256), (80, 16)));
        // Half-way offsets round to even as Python's round does: (257 − 224) / 2 = 16.5 → 16,
        // (259 − 224) / 2 = 17.5 → 18.
        assert_eq!(p.resize_then_crop(257, 256).1, (16, 16));
        assert_eq!(p.resize_then_crop(259, 256).1, (18, 16));
        let c = p.crop_box(451, 300);
        assert!((c.x - 80.0 * 451.0 / 384.0).abs() < 1e-4);
        assert!((c.height - 224.0 * 300.0 / 256.0).abs() < 1e-4);
        // Inception's 299: Resize(342).
        let p = Preprocess {
            size: 299,
            ..Preprocess::torchvision()
        };
        assert_eq!(p.resize_then_crop(500, 400).0, (427, 342));
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
