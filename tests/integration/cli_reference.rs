//! docs/cli.md is the binary's own `--help`, for every command: generated, so it cannot drift.
//! `UPDATE_DOCS=1 cargo test --release cli_reference` writes it again after a change to the CLI.

use std::path::Path;
use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_camlens"))
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a help text lists under "Commands:" (clap's own `help` left out).
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// `camlens` and each command, depth first, each as a section holding its help text.
fn reference() -> String {
    let mut doc = String::from(
        "# Command-line reference\n\n\
         Every command's `--help`, as the binary prints it. Generated: \
         `UPDATE_DOCS=1 cargo test --release cli_reference` writes this file, and the test \
         fails when the binary and the file differ.\n",
    );
    let mut stack = vec![vec![]];
    while let Some(path) = stack.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let title = std::iter::once("camlens")
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        doc += &format!("\n## {title}\n\n```text\n{}\n```\n", text.trim_end());
        for sub in subcommands(&text).into_iter().rev() {
            let mut p = path.clone();
            p.push(sub);
            stack.push(p);
        }
    }
    doc
}

#[test]
fn cli_reference_is_the_binarys_help() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let want = reference();
    assert!(
        want.contains("## camlens explain") && want.contains("## camlens eval merge"),
        "the reference misses commands:\n{want}"
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/cli.md differs from the binary's --help: run \
         `UPDATE_DOCS=1 cargo test --release cli_reference` and commit it"
    );
}

/// docs/models.md's operator list is `camlens ops`' output, between two markers.
#[test]
fn the_operator_list_in_the_docs_is_the_binarys() {
    let out = Command::new(env!("CARGO_BIN_EXE_camlens"))
        .arg("ops")
        .output()
        .unwrap();
    assert!(out.status.success(), "camlens ops failed");
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains("Conv")
            && listing.contains("LayerNormalization")
            && listing.lines().count() >= 5,
        "camlens ops lists too little:\n{listing}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/models.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- camlens ops -->\n", "<!-- end camlens ops -->");
    let (before, rest) = doc
        .split_once(start)
        .expect("docs/models.md has the start marker");
    let (have, after) = rest
        .split_once(end)
        .expect("docs/models.md has the end marker");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{before}{start}{listing}{end}{after}")).unwrap();
        return;
    }
    assert!(
        have == listing,
        "docs/models.md's operators differ from `camlens ops`: run \
         `UPDATE_DOCS=1 cargo test --release cli_reference` and commit it"
    );
}
