//! ONNX Resize on `[N, C, H, W]` maps: the linear and cubic combinations burn's interpolation
//! computes exactly as ONNX defines them, and nearest-neighbour with any coordinate transform
//! and rounding (the source pixel of each output pixel computed on the host, then gathered).

use super::context::{Args, Src};
use crate::error::{Error, Result};
use crate::models::value::Value;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Int, Tensor, TensorData};
use onnx_ir::Node;
use onnx_ir::node::resize::{
    CoordinateTransformMode as C, NearestMode, ResizeConfig, ResizeMode, ResizeScales, ResizeSizes,
};

#[derive(Debug)]
pub(super) struct Resize {
    how: How,
    size: ResizeTo,
}

/// How a Resize samples.
#[derive(Debug)]
enum How {
    /// burn's interpolation.
    Burn {
        mode: burn::tensor::ops::InterpolateMode,
        align_corners: bool,
    },
    /// The source pixel of each output pixel, by ONNX's formulas.
    Nearest {
        coords: onnx_ir::node::resize::CoordinateTransformMode,
        rounding: onnx_ir::node::resize::NearestMode,
    },
}

/// A Resize's target: ONNX's full-rank sizes or scales.
#[derive(Debug, Clone)]
enum ResizeTo {
    Sizes(Src),
    Scales(Vec<f32>),
}

operators! {
    Resize, |node, cx| {
        ["Resize"] Node::Resize(n) => compile_resize(&n.config, cx.name)?,
    }
}

impl Resize {
    pub(super) fn run(&self, a: &Args) -> Result<Value> {
        let size = match &self.size {
            ResizeTo::Sizes(s) => ResizeTo::Sizes(Src::Static(a.src(s)?)),
            s => s.clone(),
        };
        resize(a.x()?, &self.how, &size)
    }
}

fn compile_resize(c: &ResizeConfig, name: &str) -> std::result::Result<Resize, String> {
    let (mode, align_corners) = match (&c.mode, &c.coordinate_transformation_mode) {
        (ResizeMode::Nearest, C::TfCropAndResize) => {
            return Err(format!(
                "node '{name}': Resize with tf_crop_and_resize coordinates is not supported yet"
            ));
        }
        (ResizeMode::Nearest, coords) => {
            return Ok(Resize {
                how: How::Nearest {
                    coords: coords.clone(),
                    rounding: c.nearest_mode.clone(),
                },
                size: size(c, name)?,
            });
        }
        (ResizeMode::Linear, C::AlignCorners) => (InterpolateMode::Bilinear, true),
        (ResizeMode::Linear, C::HalfPixel | C::PytorchHalfPixel) => {
            (InterpolateMode::Bilinear, false)
        }
        (ResizeMode::Cubic, C::AlignCorners) if c.cubic_coeff_a == -0.75 => {
            (InterpolateMode::Bicubic, true)
        }
        (ResizeMode::Cubic, C::HalfPixel | C::PytorchHalfPixel) if c.cubic_coeff_a == -0.75 => {
            (InterpolateMode::Bicubic, false)
        }
        (m, t) => {
            return Err(format!(
                "node '{name}': Resize {m:?} with {t:?} coordinates is not supported yet"
            ));
        }
    };
    Ok(Resize {
        how: How::Burn {
            mode,
            align_corners,
        },
        size: size(c, name)?,
    })
}

fn size(c: &ResizeConfig, name: &str) -> std::result::Result<ResizeTo, String> {
    Ok(match (&c.sizes, &c.scales) {
        (Some(ResizeSizes::Static(s)), _) => {
            ResizeTo::Sizes(Src::Static(s.iter().map(|&v| v as i64).collect()))
        }
        (Some(ResizeSizes::Runtime(r)), _) => ResizeTo::Sizes(Src::Input(r.input_index)),
        (None, Some(ResizeScales::Static(s))) => ResizeTo::Scales(s.clone()),
        _ => {
            return Err(format!(
                "node '{name}': Resize with scales computed in the graph is not supported yet"
            ));
        }
    })
}

fn resize(x: &Value, how: &How, size: &ResizeTo) -> Result<Value> {
    let t = x.to_rank::<4>()?;
    let [_, _, h, w] = t.dims();
    let ((oh, ow), scales) = match size {
        ResizeTo::Sizes(Src::Static(s)) => match s.as_slice() {
            [.., a, b] => (
                (*a as usize, *b as usize),
                (*a as f32 / h as f32, *b as f32 / w as f32),
            ),
            _ => return Err(Error::Invalid("Resize sizes of rank < 2".into())),
        },
        ResizeTo::Sizes(Src::Input(_)) => unreachable!("read by the caller"),
        ResizeTo::Scales(s) => match s.as_slice() {
            [.., a, b] => (
                (
                    (h as f32 * a).floor() as usize,
                    (w as f32 * b).floor() as usize,
                ),
                (*a, *b),
            ),
            _ => return Err(Error::Invalid("Resize scales of rank < 2".into())),
        },
    };
    let (oh, ow) = (oh.max(1), ow.max(1));
    Ok(Value::R4(match how {
        // Bilinear as two matrix products, the same numbers on every backend (see
        // compute::resize); bicubic through burn's kernel.
        How::Burn {
            mode: InterpolateMode::Bilinear,
            align_corners,
        } => crate::compute::resize::bilinear(t, oh, ow, *align_corners),
        How::Burn {
            mode,
            align_corners,
        } => interpolate(
            t,
            InterpolateOptions::new(mode.clone())
                .with_align_corners(*align_corners)
                .with_output_size([oh, ow]),
        ),
        How::Nearest { coords, rounding } => {
            let device = t.device();
            let index = |n: usize, out: usize, scale: f32| {
                let idx: Vec<i64> = (0..out)
                    .map(|i| nearest_source(i, n, out, scale, coords, rounding) as i64)
                    .collect();
                Tensor::<1, Int>::from_data(TensorData::new(idx, [out]), &device)
            };
            t.select(2, index(h, oh, scales.0))
                .select(3, index(w, ow, scales.1))
        }
    }))
}

/// ONNX Resize's nearest source of output pixel `i` along an axis of `n` pixels resized to
/// `out` with `scale`.
fn nearest_source(
    i: usize,
    n: usize,
    out: usize,
    scale: f32,
    coords: &C,
    rounding: &NearestMode,
) -> usize {
    let x = i as f32;
    let at = match coords {
        C::HalfPixel => (x + 0.5) / scale - 0.5,
        C::PytorchHalfPixel if out > 1 => (x + 0.5) / scale - 0.5,
        C::PytorchHalfPixel => 0.0,
        C::AlignCorners if out > 1 => x * (n as f32 - 1.0) / (out as f32 - 1.0),
        C::AlignCorners => 0.0,
        C::Asymmetric => x / scale,
        C::TfHalfPixelForNn => (x + 0.5) / scale,
        C::TfCropAndResize => unreachable!("refused at compile"),
    };
    let half = (at - at.floor() - 0.5).abs() < 1e-6;
    let j = match rounding {
        NearestMode::Floor => at.floor(),
        NearestMode::Ceil => at.ceil(),
        NearestMode::RoundPreferFloor if half => at.floor(),
        NearestMode::RoundPreferCeil if half => at.ceil(),
        _ => at.round(),
    };
    j.clamp(0.0, n as f32 - 1.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_sources_follow_onnx() {
        let src = |n, out, c: C, r: NearestMode| -> Vec<usize> {
            let scale = out as f32 / n as f32;
            (0..out)
                .map(|i| nearest_source(i, n, out, scale, &c, &r))
                .collect()
        };
        // PyTorch's nearest: asymmetric, floor.
        assert_eq!(
            src(4, 8, C::Asymmetric, NearestMode::Floor),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
        // ONNX's default (half_pixel, round_prefer_floor) downsampling 4 → 2: x = 2i + 0.5.
        assert_eq!(
            src(4, 2, C::HalfPixel, NearestMode::RoundPreferFloor),
            [0, 2]
        );
        assert_eq!(
            src(4, 2, C::HalfPixel, NearestMode::RoundPreferCeil),
            [1, 3]
        );
        // TensorFlow's nearest: (i + 0.5) / scale, 3 → 2: 0.75, 2.25.
        assert_eq!(src(3, 2, C::TfHalfPixelForNn, NearestMode::Floor), [0, 2]);
        assert_eq!(
            src(3, 5, C::AlignCorners, NearestMode::RoundPreferCeil),
            [0, 1, 1, 2, 2]
        );
    }
}
