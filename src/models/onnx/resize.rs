//! ONNX Resize on `[N, C, H, W]` maps, for the combinations burn's interpolation computes
//! exactly as ONNX defines them.

use super::ops::{Kind, ResizeTo, Src};
use crate::error::{Error, Result};
use crate::models::value::Value;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use onnx_ir::node::resize::{
    CoordinateTransformMode as C, NearestMode, ResizeConfig, ResizeMode, ResizeScales, ResizeSizes,
};

pub fn compile(c: &ResizeConfig, name: &str) -> std::result::Result<Kind, String> {
    let (mode, align_corners) = match (&c.mode, &c.coordinate_transformation_mode) {
        (ResizeMode::Nearest, C::Asymmetric) if c.nearest_mode == NearestMode::Floor => {
            (InterpolateMode::Nearest, false)
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
    let size = match (&c.sizes, &c.scales) {
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
    };
    Ok(Kind::Resize {
        mode,
        align_corners,
        size,
    })
}

pub fn run(
    x: &Value,
    mode: &InterpolateMode,
    align_corners: bool,
    size: &ResizeTo,
) -> Result<Value> {
    let t = x.to_rank::<4>()?;
    let [_, _, h, w] = t.dims();
    let (oh, ow) = match size {
        ResizeTo::Sizes(Src::Static(s)) => match s.as_slice() {
            [.., a, b] => (*a as usize, *b as usize),
            _ => return Err(Error::Invalid("Resize sizes of rank < 2".into())),
        },
        ResizeTo::Sizes(Src::Input(_)) => unreachable!("read by the caller"),
        ResizeTo::Scales(s) => match s.as_slice() {
            [.., a, b] => (
                (h as f32 * a).floor() as usize,
                (w as f32 * b).floor() as usize,
            ),
            _ => return Err(Error::Invalid("Resize scales of rank < 2".into())),
        },
    };
    Ok(Value::R4(interpolate(
        t,
        InterpolateOptions::new(mode.clone())
            .with_align_corners(align_corners)
            .with_output_size([oh.max(1), ow.max(1)]),
    )))
}
