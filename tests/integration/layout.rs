//! The shape of the source tree: no module imports one that imports it back, no folder holds
//! more files than a reader takes in at a glance, and function size stays clippy's rule
//! (`too_many_lines` at 100 lines, which CI's `cargo clippy --all-targets -- -D warnings`
//! enforces).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/cam/score.rs` → `[cam, score]`; `src/cam/mod.rs` → `[cam]`; the crate roots → `[]`.
fn module_of(path: &Path) -> Module {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    // The library's root; the binary's (`main`) is a crate of its own.
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

/// The longest known module that a path written in `current` names.
fn resolve(known: &BTreeSet<Module>, current: &Module, parts: &[&str]) -> Option<Module> {
    let (mut base, mut rest): (Module, &[&str]) = match parts.first()? {
        &"crate" | &"camlens" => (vec![], &parts[1..]),
        &"super" | &"self" => (current.clone(), parts),
        _ => return None,
    };
    while let Some(&head) = rest.first() {
        match head {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    let mut best = None;
    for i in 0..=rest.len() {
        let mut cand = base.clone();
        cand.extend(rest[..i].iter().map(|s| s.to_string()));
        if known.contains(&cand) {
            best = Some(cand);
        }
    }
    best
}

/// Every `crate::…`, `super::…`, `self::…` path in `text`, `use` groups expanded.
fn paths(text: &str) -> Vec<Vec<String>> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = vec![];
    // `use a::b::{c, d::e}` → a::b::c, a::b::d::e (one level of braces is all the tree uses).
    for stmt in text.split(';') {
        let Some(start) = stmt.find("use ") else {
            continue;
        };
        let body = stmt[start + 4..].trim();
        if let Some((head, group)) = body.split_once('{') {
            let head: Vec<String> = head
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            for item in group.trim_end_matches('}').split(',') {
                let mut p = head.clone();
                p.extend(
                    item.split_whitespace()
                        .next()
                        .unwrap_or("")
                        .split("::")
                        .filter(|s| !s.is_empty() && *s != "self")
                        .map(str::to_string),
                );
                out.push(p);
            }
        }
    }
    // Inline paths (and `use` lines without braces).
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if (i == 0 || !is_word(chars[i - 1])) && is_word(chars[i]) {
            let mut j = i;
            let mut segs = vec![String::new()];
            while j < chars.len() {
                if is_word(chars[j]) {
                    segs.last_mut().unwrap().push(chars[j]);
                    j += 1;
                } else if chars[j] == ':' && chars.get(j + 1) == Some(&':') {
                    segs.push(String::new());
                    j += 2;
                } else {
                    break;
                }
            }
            segs.retain(|s| !s.is_empty());
            if segs.len() > 1 && ["crate", "super", "self", "camlens"].contains(&segs[0].as_str()) {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut files = vec![];
    rust_files(&src(), &mut files);
    let known: BTreeSet<Module> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for f in &files {
        let module = module_of(f);
        let text = std::fs::read_to_string(f).unwrap();
        // Unit tests may use anything of their module's.
        let code = text.split("#[cfg(test)]").next().unwrap();
        // A path may also start at a child module this file declares (`mod x;` … `x::f()`).
        let children: Vec<String> = code
            .lines()
            .filter_map(|l| {
                let l = l
                    .trim()
                    .trim_start_matches("pub ")
                    .trim_start_matches("pub(crate) ");
                let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
                Some(name.trim().to_string())
            })
            .collect();
        let mut found = paths(code);
        for child in &children {
            let prefix = format!("{child}::");
            for (i, _) in code.match_indices(&prefix) {
                let before = code[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                found.push(vec!["self".to_string(), child.clone()]);
            }
        }
        for p in found {
            let p: Vec<&str> = p.iter().map(String::as_str).collect();
            if let Some(t) = resolve(&known, &module, &p)
                && t != module
            {
                edges.entry(module.clone()).or_default().insert(t);
            }
        }
    }
    let mut cycles = vec![];
    for (a, targets) in &edges {
        for b in targets {
            if a < b && edges.get(b).is_some_and(|t| t.contains(a)) {
                cycles.push(format!("{} <-> {}", a.join("/"), b.join("/")));
            }
        }
    }
    let imports: usize = edges.values().map(BTreeSet::len).sum();
    assert!(
        imports > 50,
        "the scan found {imports} imports: too few to be right"
    );
    assert!(
        cycles.is_empty(),
        "modules that import each other: {cycles:?}"
    );
}

/// A folder of more source files than this is split by what belongs together.
const MAX_FILES_PER_FOLDER: usize = 9;

#[test]
fn no_folder_holds_more_than_nine_source_files() {
    let mut files = vec![];
    rust_files(&src(), &mut files);
    let mut per_folder: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for f in &files {
        *per_folder
            .entry(f.parent().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(per_folder.len() > 10, "the scan found too few folders");
    let crowded: Vec<String> = per_folder
        .iter()
        .filter(|(_, n)| **n > MAX_FILES_PER_FOLDER)
        .map(|(d, n)| format!("{} ({n} files)", d.display()))
        .collect();
    assert!(crowded.is_empty(), "crowded folders: {crowded:?}");
}

/// The function-size rule is clippy's: the lint is on and its threshold is 100 lines.
#[test]
fn clippy_refuses_functions_over_100_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(root.join("clippy.toml")).unwrap();
    assert!(
        config
            .lines()
            .any(|l| l.replace(' ', "") == "too-many-lines-threshold=100"),
        "clippy.toml sets too-many-lines-threshold = 100"
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let lints = manifest.split("[lints.clippy]").nth(1).unwrap_or_default();
    assert!(
        lints
            .lines()
            .any(|l| l.replace(' ', "") == "too_many_lines=\"warn\""),
        "Cargo.toml's [lints.clippy] turns too_many_lines on"
    );
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.contains("cargo clippy --all-targets -- -D warnings"),
        ".ci/run runs clippy with warnings as errors"
    );
}
