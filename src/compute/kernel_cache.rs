//! Compiled kernels and autotune results kept on disk between launches, so that a second launch
//! on a GPU compiles and tunes nothing (cubecl's persistence, cargo feature `kernel-cache`).

use std::path::{Path, PathBuf};

/// Where the cache lives: the platform's cache folder (`$XDG_CACHE_HOME` or `~/.cache` on Linux,
/// `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows), under `camlens/kernels`.
pub fn dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(target_os = "windows") {
        var("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library/Caches"))
    } else {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))
    }?;
    Some(base.join("camlens").join("kernels"))
}

/// Turns on cubecl's kernel cache in [`dir`] (builds with the `kernel-cache` feature; elsewhere
/// kernels are compiled and tuned once per launch), unless cubecl was configured already. Where
/// that folder cannot be written, the cache goes to [`temp_dir`]; where neither can, cubecl's
/// caches are turned off, since cubecl would otherwise try its own folders and warn at every
/// kernel. A damaged cache file is set aside first ([`set_aside_damaged`]). The `CUBECL_*`
/// environment variables still apply; a `cubecl.toml` does not. Call once at start-up, before
/// any device; the binaries do. Returns the folder in use.
pub fn enable() -> Option<PathBuf> {
    #[cfg(feature = "kernel-cache")]
    {
        use burn_cubecl::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, cache::CacheConfig};
        let mut config = CubeClRuntimeConfig::default();
        let usable = dir()
            .into_iter()
            .chain(std::iter::once_with(temp_dir))
            .find(|d| match writable(d) {
                Ok(()) => true,
                Err(e) => {
                    log::warn!("cannot keep tuned kernels in {} ({e})", d.display());
                    false
                }
            });
        let Some(dir) = usable else {
            log::warn!("no kernel cache: kernels are tuned again at every launch");
            config.autotune.disable_cache = true;
            config.throughput.disable_cache = true;
            config.compilation.cache = false;
            config.environment.records.level = burn_cubecl::cubecl::records::RecordLevel::Off;
            CubeClRuntimeConfig::try_set(config.override_from_env());
            return None;
        };
        for (file, aside) in set_aside_damaged(&dir) {
            log::warn!(
                "the kernel cache {} was damaged: moved to {}; kernels are tuned again on this \
                 launch and kept in a new one",
                file.display(),
                aside.display()
            );
        }
        config.environment.path = CacheConfig::Directory(dir.clone());
        config.compilation.cache = true;
        CubeClRuntimeConfig::try_set(config.override_from_env()).then_some(dir)
    }
    #[cfg(not(feature = "kernel-cache"))]
    None
}

/// The fallback when [`dir`] cannot be written (a read-only home): `camlens-kernels-$USER` in the
/// temporary folder, kept until that is cleaned. Per user: another user's folder there would not
/// be writable, or worse, ours to trust.
pub fn temp_dir() -> PathBuf {
    let user = ["USER", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|u| !u.is_empty()));
    std::env::temp_dir().join(match user {
        Some(user) => format!("camlens-kernels-{user}"),
        None => "camlens-kernels".into(),
    })
}

/// Creates `dir` if needed and checks that a file can be written in it.
pub fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}

/// The cache's databases (`*.db`, SQLite's file format) that do not start with SQLite's header,
/// renamed to `*.db.damaged` with their journal files, so that the launch starts a new cache
/// instead of failing to open it on every kernel (cubecl then falls back to memory for the whole
/// run, warning each time, and tunes everything again at every launch). Returns (file, new name)
/// for each one moved.
pub fn set_aside_damaged(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    const HEADER: &[u8] = b"SQLite format 3\0";
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut moved = vec![];
    for path in entries.filter_map(|e| Some(e.ok()?.path())) {
        if path.extension().is_none_or(|x| x != "db") || !path.is_file() {
            continue;
        }
        let mut start = [0u8; HEADER.len()];
        let Ok(mut file) = std::fs::File::open(&path) else {
            continue;
        };
        let read = std::io::Read::read(&mut file, &mut start).unwrap_or(0);
        // An empty file is a database not yet written (SQLite's own rule).
        if read == 0 || start == HEADER {
            continue;
        }
        let aside = with_suffix(&path, ".damaged");
        if std::fs::rename(&path, &aside).is_ok() {
            for journal in ["-wal", "-shm", "-tshm", "-journal"] {
                let j = with_suffix(&path, journal);
                if j.exists() {
                    let _ = std::fs::rename(&j, with_suffix(&aside, journal));
                }
            }
            moved.push((path, aside));
        }
    }
    moved
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_databases_are_set_aside_and_good_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let mut good = b"SQLite format 3\0".to_vec();
        good.extend([7u8; 100]);
        std::fs::write(p("default.db"), &good).unwrap();
        std::fs::write(p("default.db-wal"), b"wal").unwrap();
        std::fs::write(p("new.db"), b"").unwrap();
        std::fs::write(p("broken.db"), b"\x00\x17garbage from a full disk").unwrap();
        std::fs::write(p("broken.db-wal"), b"its journal").unwrap();
        std::fs::write(p("notes.txt"), b"not a database").unwrap();

        let moved = set_aside_damaged(dir.path());
        assert_eq!(moved, vec![(p("broken.db"), p("broken.db.damaged"))]);
        assert!(!p("broken.db").exists() && !p("broken.db-wal").exists());
        assert_eq!(
            std::fs::read(p("broken.db.damaged-wal")).unwrap(),
            b"its journal"
        );
        assert_eq!(std::fs::read(p("default.db")).unwrap(), good);
        assert!(p("default.db-wal").exists() && p("new.db").exists() && p("notes.txt").exists());
        // A second look finds nothing more to move.
        assert!(set_aside_damaged(dir.path()).is_empty());
    }

    #[test]
    fn a_folder_under_a_file_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert!(writable(&file.join("kernels")).is_err());
        let fresh = dir.path().join("cache").join("kernels");
        writable(&fresh).unwrap();
        assert_eq!(
            std::fs::read_dir(&fresh).unwrap().count(),
            0,
            "the probe is removed"
        );
    }
}
