//! The crate's layers import only downwards (ARCHITECTURE.md). This reads every `crate::<module>`
//! path in `src/` (imports and qualified calls, not comments) and fails on one that names a layer
//! at or above the file's own, other than its own module.

mod common;
use common::root;

use std::path::{Path, PathBuf};

/// Bottom to top. Modules on one line are peers: they must not import each other.
const LAYERS: &[&[&str]] = &[
    &["error", "calendar"],
    &["dialect"],
    &["spec"],
    &["project", "render", "report"],
    &["compile"],
    &["plan"],
    &["workspace"],
    &["review", "audit", "backfill"],
    &["commands"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|peers| peers.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under src/ belongs to (`src/spec/parse.rs` -> `spec`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// `crate::name` paths outside `//` comments.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            found.push((n + 1, name));
            rest = &rest[at + 7..];
        }
    }
    found
}

#[test]
fn imports_only_run_downwards() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue;
        }
        let own = layer_of(&module).unwrap_or_else(|| panic!("src/{module} is in no layer: add it to LAYERS in tests/layers.rs and to ARCHITECTURE.md"));
        let text = std::fs::read_to_string(file).unwrap();
        for (line, target) in crate_paths(&text) {
            if target == module {
                continue;
            }
            let Some(theirs) = layer_of(&target) else {
                wrong.push(format!("{}:{line}: crate::{target} is in no layer", file.display()));
                continue;
            };
            if theirs >= own {
                wrong.push(format!("{}:{line}: {module} (layer {own}) imports crate::{target} (layer {theirs})", file.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that do not run downwards:\n{}", wrong.join("\n"));
}

#[test]
fn every_module_of_lib_has_a_layer() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("pub mod ").and_then(|r| r.strip_suffix(';')) {
            assert!(layer_of(name).is_some(), "src/lib.rs declares `{name}`, which tests/layers.rs puts in no layer");
        }
    }
}
