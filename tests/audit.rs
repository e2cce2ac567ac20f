//! `dbt-incr audit` on the fixture projects under `tests/fixtures/projects/audit_*`, driving the
//! real binary. Conventions, so a new case is a new fixture model file and no new test code:
//!
//! - `bad_<rule>.sql` (or `bad_<rule>__<variant>.sql`) must get exactly the findings of `<rule>`
//!   (the rule code with `-` as `_`);
//! - `unreadable_*.sql` must be reported as not analysed, with a reason;
//! - every other model (`ok_*`, generated, not incremental) must get none;
//! - every incremental model is read: the report's `audited` counts the `bad_`, `ok_` and
//!   `unreadable_` files, and nothing else.
//!
//! A fixture is the dbt project itself, or a folder holding it (`<fixture>/<project>/`) beside
//! model folders it reads from outside (`model-paths: ["models", "../shared"]`). A fixture with
//! `target/manifest.json` is audited from it; `make_artifacts.py` beside it writes it.
//! The text, JSON and GitHub outputs are snapshotted in `snapshots/audit/`.

mod common;
use common::root;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use dbt_incr::audit::Rule;

fn snapshot(name: &str, value: &str) {
    common::snapshot("audit", name, value);
}

fn projects() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/projects"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("audit_"))
        .collect();
    out.sort();
    out
}

/// The folder holding dbt_project.yml, relative to the fixture ("" when it is the fixture).
fn project_dir(fixture: &Path) -> PathBuf {
    if fixture.join("dbt_project.yml").is_file() {
        return PathBuf::new();
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("dbt_project.yml").is_file()).collect();
    dirs.sort();
    PathBuf::from(dirs.first().unwrap_or_else(|| panic!("{}: no dbt_project.yml", fixture.display())).file_name().unwrap())
}

/// The model files of a fixture (not its macros, packages or artifacts).
fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() && !matches!(name.as_str(), "macros" | "dbt_packages" | "target") {
            sql_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
}

/// Runs audit on a temporary copy of `fixture`; returns (exit code, stdout).
fn audit(fixture: &Path, format: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("p");
    copy_dir(fixture, &copy);
    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr"))
        .args(["audit", "--project"])
        .arg(copy.join(project_dir(fixture)))
        .args(["--format", format])
        .env("HOME", tmp.path())
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn every_planted_mistake_is_found_and_correct_models_pass() {
    for fixture in projects() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let (code, json) = audit(&fixture, "json");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let project = fixture.join(project_dir(&fixture));
        let mut files = Vec::new();
        sql_files(&fixture, &mut files);
        let mut any_bad = false;
        let mut incremental = 0;
        for file in files {
            // As the report names it: relative to the project, through `..` when outside it.
            let rel = match file.strip_prefix(&project) {
                Ok(r) => r.to_string_lossy().replace('\\', "/"),
                Err(_) => format!("../{}", file.strip_prefix(&fixture).unwrap().to_string_lossy().replace('\\', "/")),
            };
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            let found: BTreeSet<String> = report["models"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["file"] == rel.as_str())
                .flat_map(|m| m["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().replace('-', "_")))
                .collect();
            let unread = report["not_analysed"].as_array().unwrap().iter().find(|n| n["file"] == rel.as_str());
            if stem.starts_with("unreadable_") {
                incremental += 1;
                let reason = unread.unwrap_or_else(|| panic!("{name}/{rel}: should be reported as not analysed"))["reason"].as_str().unwrap();
                assert!(!reason.is_empty(), "{name}/{rel}: no reason");
                continue;
            }
            assert!(unread.is_none(), "{name}/{rel}: not analysed: {}", unread.unwrap()["reason"]);
            match stem.strip_prefix("bad_") {
                Some(rule) => {
                    any_bad = true;
                    incremental += 1;
                    let rule = rule.split("__").next().unwrap().to_string();
                    assert_eq!(found, BTreeSet::from([rule]), "{name}/{rel}: expected exactly its planted mistake");
                }
                None => {
                    incremental += usize::from(stem.starts_with("ok_"));
                    assert!(found.is_empty(), "{name}/{rel}: a correct model got findings {found:?}");
                }
            }
        }
        assert_eq!(report["audited"], incremental, "{name}: every incremental model is read, and only those");
        assert_eq!(code, if any_bad || !report["not_analysed"].as_array().unwrap().is_empty() { 1 } else { 0 }, "{name}: exit code");
    }
}

/// A fixture's manifest says what its model files say: `make_artifacts.py` was run after the
/// last change to a model.
#[test]
fn fixture_manifests_match_their_models() {
    for fixture in projects() {
        let project = fixture.join(project_dir(&fixture));
        let Ok(text) = std::fs::read_to_string(project.join("target/manifest.json")) else { continue };
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        for node in manifest["nodes"].as_object().unwrap().values().filter(|n| n["resource_type"] == "model") {
            let file = project.join(node["original_file_path"].as_str().unwrap());
            let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
            assert_eq!(node["raw_code"].as_str().unwrap(), on_disk, "{}: the manifest is stale; run python3 {}/make_artifacts.py", file.display(), project.display());
        }
    }
}

#[test]
fn outputs() {
    for fixture in projects() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        for format in ["text", "json", "github"] {
            let (_, out) = audit(&fixture, format);
            snapshot(&format!("{name}.{format}"), &out);
        }
    }
}

#[test]
fn every_rule_has_a_fixture_and_docs() {
    let mut planted = BTreeSet::new();
    for fixture in projects() {
        let mut files = Vec::new();
        sql_files(&fixture, &mut files);
        for f in files {
            if let Some(rule) = f.file_stem().unwrap().to_string_lossy().strip_prefix("bad_") {
                planted.insert(rule.split("__").next().unwrap().to_string());
            }
        }
    }
    let docs = std::fs::read_to_string(root().join("docs/audit.md")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for rule in Rule::ALL {
        let code = rule.code();
        assert!(planted.contains(&code.replace('-', "_")), "no fixture model bad_{}.sql", code.replace('-', "_"));
        assert!(docs.contains(&format!("### `{code}`")), "docs/audit.md does not describe `{code}`");
        assert!(readme.contains(&format!("`{code}`")), "README.md does not list `{code}`");
    }
}

#[test]
fn missing_project_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(["audit", "--project"]).arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dbt_project.yml"));
}
