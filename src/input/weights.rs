//! Reading weights files into one flat map of named f32 tensors, whatever the container: PyTorch
//! zip or legacy pickle checkpoints, safetensors, and checkpoints that nest the weights under
//! `state_dict`, `model` or `module.` (DataParallel). The model code then takes what it needs by
//! torchvision's names, so architecture detection and shape checks see the whole file at once.

use crate::error::{Access, Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One tensor from a weights file, converted to f32 in row-major order.
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// All float tensors of a checkpoint, by their dotted PyTorch names.
#[derive(Debug, Clone, Default)]
pub struct WeightMap {
    pub source: PathBuf,
    pub tensors: BTreeMap<String, RawTensor>,
}

/// The files a model is opened from besides the built-in one: ONNX graphs and weights files
/// (`--model`, the app's model dialog, "Open with").
pub const MODEL_EXTENSIONS: [&str; 5] = ["onnx", "pth", "pt", "safetensors", "bin"];

/// Whether a file's name says it is a model camlens opens.
pub fn is_model_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        MODEL_EXTENSIONS.contains(&e.as_str())
    })
}

/// Prefixes under which training scripts commonly nest a model's state dict.
const NESTING_PREFIXES: [&str; 5] = [
    "state_dict.",
    "model_state_dict.",
    "model.",
    "net.",
    "module.",
];

impl WeightMap {
    pub fn load(path: &Path) -> Result<Self> {
        let mut head = [0u8; 16];
        let len = {
            use std::io::Read;
            let mut f =
                std::fs::File::open(path).map_err(Error::io(Access::Read, path.to_owned()))?;
            f.read(&mut head)
                .map_err(Error::io(Access::Read, path.to_owned()))?
        };
        let head = &head[..len];
        let map = if head.starts_with(b"PK\x03\x04") || head.first() == Some(&0x80) {
            Self::load_pytorch(path)?
        } else if looks_like_safetensors(head) {
            let bytes = std::fs::read(path).map_err(Error::io(Access::Read, path.to_owned()))?;
            Self::from_safetensors(&bytes, path)?
        } else {
            return Err(Error::NotWeights {
                path: path.to_owned(),
                found: describe_magic(head),
            });
        };
        Ok(map.unnested())
    }

    fn load_pytorch(path: &Path) -> Result<Self> {
        let corrupt = |detail: String| Error::CorruptWeights {
            path: path.to_owned(),
            detail,
        };
        let reader =
            pytorch_reader::PytorchReader::new(path).map_err(|e| corrupt(e.to_string()))?;
        let mut tensors = BTreeMap::new();
        for (name, t) in reader.tensors() {
            let Some(data) = to_f32(t.dtype(), &t.read().map_err(|e| corrupt(e.to_string()))?)
            else {
                continue; // integer bookkeeping such as num_batches_tracked
            };
            tensors.insert(
                name.clone(),
                RawTensor {
                    shape: t.shape().to_vec(),
                    data,
                },
            );
        }
        if tensors.is_empty() {
            return Err(Error::NotWeights {
                path: path.to_owned(),
                found: "a PyTorch file with no float tensors".into(),
            });
        }
        Ok(Self {
            source: path.to_owned(),
            tensors,
        })
    }

    /// Reads safetensors from memory; `origin` names the file in messages.
    pub fn from_safetensors(bytes: &[u8], origin: &Path) -> Result<Self> {
        let st =
            safetensors::SafeTensors::deserialize(bytes).map_err(|e| Error::CorruptWeights {
                path: origin.to_owned(),
                detail: e.to_string(),
            })?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let dtype = match view.dtype() {
                safetensors::Dtype::F32 => pytorch_reader::DType::F32,
                safetensors::Dtype::F64 => pytorch_reader::DType::F64,
                safetensors::Dtype::F16 => pytorch_reader::DType::F16,
                safetensors::Dtype::BF16 => pytorch_reader::DType::BF16,
                _ => continue,
            };
            let data = to_f32(dtype, view.data()).expect("float dtype");
            tensors.insert(
                name,
                RawTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(Self {
            source: origin.to_owned(),
            tensors,
        })
    }

    /// Strips one level of nesting at a time while every float tensor sits under the same prefix
    /// (or, for `state_dict.`-style wrappers, keeps only what is under it and drops optimiser state).
    fn unnested(mut self) -> Self {
        loop {
            let prefix = NESTING_PREFIXES.iter().find(|p| {
                let under = self.tensors.keys().filter(|k| k.starts_with(*p)).count();
                under > 0
                    && (under == self.tensors.len()
                        || (p.contains("state_dict") && under * 2 > self.tensors.len()))
            });
            let Some(prefix) = prefix else { return self };
            self.tensors = std::mem::take(&mut self.tensors)
                .into_iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v)))
                .collect();
        }
    }

    pub fn get(&self, name: &str) -> Option<&RawTensor> {
        self.tensors.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// A short description of what the file holds, for "found …" in error messages.
    pub fn summary(&self) -> String {
        let names: Vec<&str> = self.tensors.keys().take(4).map(String::as_str).collect();
        format!(
            "{} tensors ({}{})",
            self.tensors.len(),
            names.join(", "),
            if self.tensors.len() > 4 { ", …" } else { "" }
        )
    }
}

fn looks_like_safetensors(head: &[u8]) -> bool {
    head.len() >= 9 && head[8] == b'{' && u64::from_le_bytes(head[..8].try_into().unwrap()) > 1
}

fn describe_magic(head: &[u8]) -> String {
    if head.is_empty() {
        return "an empty file".into();
    }
    if head.starts_with(b"\x89PNG") {
        return "a PNG image".into();
    }
    if head.starts_with(&[0xff, 0xd8]) {
        return "a JPEG image".into();
    }
    if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return format!("text starting with {:?}", String::from_utf8_lossy(head));
    }
    format!("unknown bytes {:02x?}", &head[..head.len().min(8)])
}

fn to_f32(dtype: pytorch_reader::DType, bytes: &[u8]) -> Option<Vec<f32>> {
    use pytorch_reader::DType;
    Some(match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        DType::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        DType::F16 => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        DType::BF16 => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_files_are_told_from_images() {
        for m in ["net.onnx", "dir/NET.ONNX", "w.pth", "w.pt", "w.safetensors"] {
            assert!(is_model_file(Path::new(m)), "{m}");
        }
        for i in ["cat.jpg", "onnx.png", "model", "x.onnx.png"] {
            assert!(!is_model_file(Path::new(i)), "{i}");
        }
    }
}
