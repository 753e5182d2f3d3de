//! A weighted layer computed in a reduced float type (see `crate::precision`): the input is
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
