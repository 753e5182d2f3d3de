//! In which float type a model's convolutions and matrix products run: f32 everywhere by
//! default; f16 or bf16 (with f32 accumulation) on GPUs whose driver lists tensor-core
//! (cooperative-matrix) configurations for them, which is where reduced precision pays. Only the
//! weighted layers change type: their inputs are cast down as they are read and their outputs
//! back to f32 (see `models::layers::Conv`), so activations, gradients, the heads and all of the
//! CAM arithmetic stay f32.

use crate::error::{Error, Result};
use burn::tensor::{DType, Device};

/// What the user asked for (`--precision`, the app's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Precision {
    /// f16 where the device has f16 tensor cores, else bf16 where it has those, else f32.
    #[default]
    Auto,
    F32,
    F16,
    Bf16,
}

impl Precision {
    pub const ALL: [Precision; 4] = [
        Precision::Auto,
        Precision::F32,
        Precision::F16,
        Precision::Bf16,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown precision '{s}': expected auto, f32, f16 or bf16"
                ))
            })
    }
}

/// The float type the weighted layers run in on a device, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `F32`, `F16` or `BF16`.
    pub dtype: DType,
    /// The input types of the device's tensor-core configurations that accumulate in f32
    /// ("f16", "bf16"); empty on the CPU, on WGSL (which has none) and on software adapters.
    pub tensor_cores: Vec<String>,
}

impl Resolved {
    pub fn f32() -> Self {
        Self {
            dtype: DType::F32,
            tensor_cores: vec![],
        }
    }

    pub fn name(&self) -> &'static str {
        dtype_name(self.dtype)
    }
}

impl std::fmt::Display for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())?;
        if self.dtype != DType::F32 {
            f.write_str(" with f32 accumulation")?;
        }
        if self.tensor_cores.is_empty() {
            f.write_str(", no tensor cores")
        } else {
            write!(f, ", tensor cores: {}", self.tensor_cores.join(", "))
        }
    }
}

pub fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        _ => "f32",
    }
}

/// Decides `pref` on `device`, whose tensor-core types are `tensor_cores`. `Auto` takes f16
/// first: its 10-bit mantissa keeps maps closer to f32's than bf16's 7 bits, and the shipped
/// and tested models stay well inside its range (`tools/f16_range.py`). An explicit f16 or
/// bf16 is honoured wherever the backend has the type (the CPU computes it without tensor
/// cores, slower than f32: useful to see what the precision changes, not for speed).
pub fn decide(pref: Precision, device: &Device, tensor_cores: Vec<String>) -> Result<Resolved> {
    let has = |t: &str| tensor_cores.iter().any(|c| c == t);
    let dtype = match pref {
        Precision::F32 => DType::F32,
        Precision::Auto if has("f16") => DType::F16,
        Precision::Auto if has("bf16") => DType::BF16,
        Precision::Auto => DType::F32,
        Precision::F16 => DType::F16,
        Precision::Bf16 => DType::BF16,
    };
    if !device.supports_dtype(dtype) {
        return Err(Error::Device(format!(
            "--precision {pref}: this device does not compute in {}",
            dtype_name(dtype)
        )));
    }
    Ok(Resolved {
        dtype,
        tensor_cores,
    })
}

/// The input types of `device`'s cooperative-matrix configurations that accumulate in f32, as
/// its runtime registered them (cubecl's SPIR-V compiler on Vulkan and MSL on Metal register
/// them; WGSL registers none).
pub fn tensor_cores(device: &Device) -> Vec<String> {
    let device = device.clone().without_autodiff();
    #[allow(unreachable_patterns)]
    match device.as_dispatch() {
        burn_dispatch::DispatchDevice::Cube(cube) => {
            let client = cube.client();
            let mut types: Vec<String> = client
                .properties()
                .features
                .matmul
                .cmma
                .iter()
                .filter(|c| c.cd_type.to_string() == "f32" && c.a_type == c.b_type)
                .map(|c| c.a_type.to_string())
                .collect();
            types.sort();
            types.dedup();
            types
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
        }
        assert_eq!("BF16".parse::<Precision>().unwrap(), Precision::Bf16);
        let e = "fp8".parse::<Precision>().unwrap_err().to_string();
        assert!(e.contains("auto, f32, f16 or bf16"), "{e}");
    }

    #[test]
    fn auto_takes_f16_tensor_cores_first_then_bf16_else_f32() {
        let d = Device::flex();
        let cores = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let auto = |t: &[&str]| decide(Precision::Auto, &d, cores(t)).unwrap().dtype;
        assert_eq!(auto(&[]), DType::F32);
        assert_eq!(auto(&["bf16"]), DType::BF16);
        assert_eq!(auto(&["bf16", "f16"]), DType::F16);
        assert_eq!(
            decide(Precision::F32, &d, cores(&["f16"])).unwrap().dtype,
            DType::F32
        );
        // The CPU has no tensor cores: auto is f32 there, and says so.
        let cpu = decide(Precision::Auto, &d, tensor_cores(&d)).unwrap();
        assert_eq!(cpu.dtype, DType::F32);
        assert_eq!(cpu.to_string(), "f32, no tensor cores");
        let f16 = decide(Precision::F16, &d, vec![]).unwrap();
        assert_eq!(
            f16.to_string(),
            "f16 with f32 accumulation, no tensor cores"
        );
    }
}
