//! Reading results back to the host without panicking on a device error.

use crate::error::{Error, Result};
use burn::tensor::Tensor;

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_data()
        .map_err(|e| Error::Device(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}
