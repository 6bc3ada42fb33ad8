//! Every file README.md and docs/*.md cite exists in the repository: relative links
//! (`[..](docs/XCLIENT.md)`) and paths in backticks (`crates/xclient/src/error.rs`, or a bare
//! `router.rs` in a module map). Their Rust snippets are compiled as doctests of the facade.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file of the repository (without `target/` and dot-directories), relative, with `/`.
fn repo_files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            repo_files(&path, root, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push(rel);
        }
    }
}

/// Relative link targets and backticked file paths in a Markdown text.
fn cited(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in text.split("](").skip(1) {
        let target = piece.split([')', '#']).next().unwrap_or("");
        if !target.is_empty() && !target.contains("://") {
            out.push(target.to_owned());
        }
    }
    const EXTENSIONS: &[&str] = &[".md", ".rs", ".toml", ".txt", ".csv", ".svg"];
    for (i, piece) in text.split('`').enumerate() {
        let is_path = piece
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
        if i % 2 == 1 && is_path && EXTENSIONS.iter().any(|e| piece.ends_with(e)) {
            out.push(piece.to_owned());
        }
    }
    out
}

#[test]
fn every_cited_file_exists() {
    let root = repo_root().canonicalize().unwrap();
    let mut files = Vec::new();
    repo_files(&root, &root, &mut files);
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut missing = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        let dir = doc.parent().unwrap();
        for target in cited(&text) {
            let exists = dir.join(&target).exists()
                || root.join(&target).exists()
                || files
                    .iter()
                    .any(|f| f == &target || f.ends_with(&format!("/{target}")));
            if !exists {
                missing.push(format!("{}: {target}", doc.display()));
            }
        }
    }
    assert!(missing.is_empty(), "cited but missing: {missing:#?}");
}
