use std::path::PathBuf;

/// Everything that can go wrong for a user: each variant renders as one sentence that says what
/// was expected and what was found, so the CLI and the app can show it as it is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: Access,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a weights file: expected a PyTorch checkpoint (.pth/.pt, zip or legacy), a .safetensors file or an ONNX model (.onnx), found {found}"
    )]
    NotWeights { path: PathBuf, found: String },
    #[error(
        "{path} looks like a weights file but could not be read (truncated or corrupt?): {detail}"
    )]
    CorruptWeights { path: PathBuf, detail: String },
    #[error(
        "{path} holds no model camlens knows: expected ResNet-18/34/50, VGG-16/19 (with or without _bn), ViT-B/16 or EfficientNet-Lite0 weights, found {found}"
    )]
    UnknownArchitecture { path: PathBuf, found: String },
    #[error("weights for {model} do not fit: expected {expected}, found {found}")]
    WeightMismatch {
        model: String,
        expected: String,
        found: String,
    },
    #[error("cannot open image {path}: {detail}")]
    Image { path: PathBuf, detail: String },
    #[error(
        "image {path} is {width}×{height}; the largest image camlens opens is {max} pixels on a side"
    )]
    ImageTooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        max: u32,
    },
    #[error("class {index} is out of range: this model has {classes} classes (0–{last})", last = .classes.saturating_sub(1))]
    ClassOutOfRange { index: usize, classes: usize },
    #[error("unknown layer '{name}': this model's layers are {available}")]
    UnknownLayer { name: String, available: String },
    #[error("the compute device failed: {0}")]
    Device(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a failed file operation was trying to do, as its message says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Create,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Create => "create",
        })
    }
}

/// Runs `work`, turning a panic into `Error::Invalid("{what}: {why}")` with the panic's message
/// on one line. burn reports a shape mismatch deep inside an operation by panicking; in a model
/// read from a file that is the file's fault, and a sentence for the user, not the end of the
/// program or of the app's worker.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        let why = why
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("==="))
            .collect::<Vec<_>>()
            .join(" ");
        Err(Error::Invalid(format!("{what}: {why}")))
    })
}

impl Error {
    /// For `map_err`: the I/O error of `op` on `path`.
    pub fn io(op: Access, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_say_what_was_being_done() {
        let e = |op| Error::io(op, "/proc/x")(std::io::Error::other("denied")).to_string();
        assert_eq!(e(Access::Write), "cannot write /proc/x: denied");
        assert_eq!(e(Access::Read), "cannot read /proc/x: denied");
        assert_eq!(e(Access::Create), "cannot create /proc/x: denied");
    }
}
