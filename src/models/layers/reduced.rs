//! A weighted layer computed in a reduced float type (see `crate::compute::precision`): the input is
//! cast to the weights' type as the layer reads it and the output back to the input's, so
//! everything between the weighted layers (and the gradients through them) stays f32.

use burn::tensor::{DType, FloatDType, Tensor};

/// `layer(x)`, computed in `dtype`; the output in `x`'s type.
pub fn run<const D: usize, const E: usize>(
    dtype: DType,
    x: Tensor<D>,
    layer: impl FnOnce(Tensor<D>) -> Tensor<E>,
) -> Tensor<E> {
    let outer = x.dtype();
    if outer == dtype {
        return layer(x);
    }
    layer(x.cast(FloatDType::from(dtype))).cast(FloatDType::from(outer))
}

/// A layer's weights, `t`, in `dtype` from now on (cast once, where the layer is set up).
pub fn cast<const D: usize>(t: &mut Tensor<D>, dtype: DType) {
    *t = t.clone().cast(FloatDType::from(dtype));
}

/// `CAMLENS_GPU_CONV=im2col` keeps camlens' im2col + matmul path for reduced-precision
/// convolutions on a GPU instead of burn's kernels: a benchmark switch (`tools/gpu_check.sh`
/// times both), read once.
pub fn im2col_forced() -> bool {
    static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| std::env::var("CAMLENS_GPU_CONV").is_ok_and(|v| v == "im2col"))
}
