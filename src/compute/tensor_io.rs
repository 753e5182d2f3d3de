//! Reading results back to the host without panicking on a device error, and host kernels run
//! on the CPU backend's buffers.

use crate::error::{Error, Result};
use burn::tensor::{DType, Device, Tensor, TensorData};

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_data()
        .map_err(|e| Error::Device(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| Error::Device(format!("{e:?}")))
}

/// Whether camlens' CPU kernels can take `x`: an untracked f32 tensor on the CPU backend.
pub fn host_tensor<const D: usize>(x: &Tensor<D>) -> bool {
    !x.is_autodiff() && x.dtype() == DType::F32 && x.device().without_autodiff() == Device::flex()
}

/// `kernel` (input floats and `[batch, channels, h, w]` → output floats and shape) run on `x`'s
/// host memory. Flex hands a uniquely held tensor's buffer over without a copy, and takes the
/// result's.
pub fn on_host(
    x: Tensor<4>,
    kernel: impl FnOnce(&[f32], [usize; 4]) -> (Vec<f32>, [usize; 4]),
) -> Tensor<4> {
    let dims = x.dims();
    let device = x.device();
    let data = x.into_data();
    let (out, shape) = kernel(data.as_slice::<f32>().expect("an f32 tensor"), dims);
    Tensor::from_data(TensorData::new(out, shape), &device)
}
