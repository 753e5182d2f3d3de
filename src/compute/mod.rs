//! Where and how numbers are computed: the device (wgpu GPU or flex CPU, and why), its kernel
//! cache on disk, the weighted layers' float type, and tensors brought back to the host.

pub mod device;
pub mod kernel_cache;
pub mod precision;
pub mod resize;
pub mod tensor_io;
