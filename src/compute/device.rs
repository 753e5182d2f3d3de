//! Where the tensors live: a GPU through wgpu when there is one, burn's flex CPU backend otherwise,
//! with the reason kept so the CLI and the app can say which and why.

use crate::compute::precision::{self, Precision, Resolved};
use crate::error::{Error, Result};
use burn::tensor::Device;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevicePref {
    #[default]
    Auto,
    Gpu,
    Cpu,
}

impl std::str::FromStr for DevicePref {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "gpu" | "wgpu" => Ok(Self::Gpu),
            "cpu" | "flex" => Ok(Self::Cpu),
            other => Err(Error::Invalid(format!(
                "unknown device '{other}': expected auto, gpu or cpu"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// wgpu on an adapter: its name, whether it is a software rasteriser (lavapipe), and the
    /// shader compiler in use.
    Gpu {
        adapter: String,
        software: bool,
        compiler: Option<&'static str>,
    },
    /// burn's flex backend, and why the GPU was not used.
    Cpu { reason: String },
}

impl Backend {
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::Gpu { .. })
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Gpu {
                adapter,
                software,
                compiler,
            } => write!(
                f,
                "GPU (wgpu{}): {adapter}{}",
                compiler.map(|c| format!(", {c}")).unwrap_or_default(),
                if *software { " [software]" } else { "" }
            ),
            Backend::Cpu { reason } => write!(f, "CPU (flex): {reason}"),
        }
    }
}

/// A device ready for tensors, with what it is.
#[derive(Debug, Clone)]
pub struct Compute {
    pub device: Device,
    pub backend: Backend,
    /// burn's wgpu handles, so the app's renderer can share the one GPU device.
    pub wgpu: Option<burn::tensor::wgpu::WgpuSetup>,
    /// The largest single buffer the device accepts; batches of masked inputs are sized to it.
    pub max_buffer_bytes: u64,
    /// The float type of the models' weighted layers here (see `precision`).
    pub precision: Resolved,
}

impl Compute {
    pub fn cpu(reason: impl Into<String>) -> Self {
        Self {
            device: Device::flex(),
            backend: Backend::Cpu {
                reason: reason.into(),
            },
            wgpu: None,
            // No hard limit on the CPU, but flex gains nothing from batches past ~8–16 inputs
            // (measured: larger ones only add memory traffic), so keep a batch's peak small.
            max_buffer_bytes: 64 << 20,
            precision: Resolved::f32(),
        }
    }

    /// The same device with the weighted layers' float type decided for `pref`.
    pub fn with_precision(mut self, pref: Precision) -> Result<Self> {
        let cores = precision::tensor_cores(&self.device);
        self.precision = precision::decide(pref, &self.device, cores)?;
        Ok(self)
    }

    /// The device line: the backend, then the precision and its tensor cores.
    pub fn label(&self) -> String {
        format!("{}; {}", self.backend, self.precision)
    }
}

/// Makes glibc keep large freed blocks for reuse instead of returning them to the kernel at once:
/// the CPU backend allocates and frees the same multi-megabyte activations for every batch, and
/// fresh mappings cost a page fault per 4 KiB (measured on Lite0's ScoreCAM++: 4.4 s → 3.2 s for
/// 128 masked inputs). Call once at start-up, before any work; binaries do, the library never
/// does on its own.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before other threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 2 << 30);
    }
}

/// The shader compiler burn's runtime chose for `device`: WGSL in this build; SPIR-V (Vulkan) or
/// MSL (Metal) where burn's `vulkan` or `metal` features are compiled in.
pub fn compiler(device: &Device) -> Option<&'static str> {
    use burn_backend::Backend as _;
    let name = burn_dispatch::Dispatch::name(device.as_dispatch());
    [("spirv", "SPIR-V"), ("msl", "MSL"), ("wgsl", "WGSL")]
        .into_iter()
        .find(|(tag, _)| name.contains(tag))
        .map(|(_, label)| label)
}

/// Picks the device. `Auto` takes a hardware GPU and falls back to the CPU on a software adapter
/// (flex is far faster than lavapipe) or when wgpu finds none; `Gpu` insists on wgpu, software
/// adapters included; `Cpu` never touches wgpu.
pub fn select(pref: DevicePref) -> Result<Compute> {
    if pref == DevicePref::Cpu {
        return Ok(Compute::cpu("requested with --device cpu"));
    }
    let init = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup());
    let outcome = match init {
        Ok(Ok((device, setup))) => {
            let info = setup.adapter.get_info();
            let limits = setup.device.limits();
            Ok(Compute {
                backend: Backend::Gpu {
                    adapter: info.name,
                    software: info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu,
                    compiler: compiler(&device),
                },
                device,
                max_buffer_bytes: limits
                    .max_buffer_size
                    .min(limits.max_storage_buffer_binding_size),
                wgpu: Some(setup),
                precision: Resolved::f32(),
            })
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("wgpu panicked while looking for an adapter".to_string()),
    };
    match (pref, outcome) {
        // Mesa's lavapipe crashes the process compiling cubecl's SPIR-V (builds with
        // `gpu-vulkan`): refuse rather than crash.
        (
            DevicePref::Gpu,
            Ok(Compute {
                backend:
                    Backend::Gpu {
                        adapter,
                        software: true,
                        compiler: Some("SPIR-V"),
                    },
                ..
            }),
        ) => Err(Error::Device(format!(
            "{adapter} is a software adapter, and it crashes compiling this build's SPIR-V \
             kernels: use --device cpu (faster there anyway) or a build without gpu-vulkan"
        ))),
        (DevicePref::Gpu, Ok(gpu)) => Ok(gpu),
        (DevicePref::Gpu, Err(e)) => Err(Error::Device(format!("no usable GPU: {e}"))),
        (_, Ok(gpu)) => match &gpu.backend {
            Backend::Gpu {
                adapter,
                software: true,
                ..
            } => {
                let c = Compute::cpu(format!(
                    "only a software adapter ({adapter}) was found; the CPU backend is faster"
                ));
                log::info!("{}", c.backend);
                Ok(c)
            }
            _ => Ok(gpu),
        },
        (_, Err(e)) => {
            let c = Compute::cpu(format!("no GPU found ({e})"));
            log::info!("{}", c.backend);
            Ok(c)
        }
    }
}
