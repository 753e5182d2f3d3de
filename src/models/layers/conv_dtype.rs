//! A convolution's weights in a reduced float type (see `crate::compute::precision`).

use super::Conv;
use super::reduced::{cast, im2col_forced};
use burn::tensor::DType;

impl Conv {
    /// Runs in `dtype` (see `precision`), weights cast once here, inputs as they are read; on
    /// burn's kernels (camlens' CPU kernels are f32; on a GPU, burn's autotuned implicit GEMM
    /// uses the tensor cores that make `auto` reduce) unless `reduced::im2col_forced`. Grouped
    /// (depthwise) ones stay f32: no matrix product, so no tensor cores, and rounding them was
    /// most of f16's error on Lite0 (GradCAM Average Drop, 8 photos: 0.41 → 0.14 points off).
    pub fn set_dtype(&mut self, dtype: DType) {
        if self.groups > 1 {
            return;
        }
        cast(&mut self.weight, dtype);
        cast(&mut self.bias, dtype);
        if dtype != DType::F32 {
            self.host = None;
            self.gemm &= im2col_forced();
        }
    }
}
