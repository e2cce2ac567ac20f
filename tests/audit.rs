//! `dbt-incr audit` on the fixture projects under `tests/fixtures/projects/audit_*`, driving the
//! real binary. Conventions, so a new case is a new fixture model file and no new test code:
//!
//! - `models/**/bad_<rule>.sql` (or `bad_<rule>__<variant>.sql`) must get exactly the findings of
//!   `<rule>` (the rule code with `-` as `_`);
//! - every other model (`ok_*`, generated, not incremental) must get none.
//!
//! The text, JSON and GitHub outputs are snapshotted in `snapshots/audit/`.

mod common;
use common::root;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;


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

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sql_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
}

/// Runs audit on a temporary copy of `project`; returns (exit code, stdout).
fn audit(project: &Path, format: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("p");
    copy_dir(project, &copy);
    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(["audit", "--project"]).arg(&copy).args(["--format", format]).env("HOME", tmp.path()).env_remove("DBT_PROFILES_DIR").output().unwrap();
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
    for project in projects() {
        let name = project.file_name().unwrap().to_string_lossy().into_owned();
        let (code, json) = audit(&project, "json");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut files = Vec::new();
        sql_files(&project.join("models"), &mut files);
        let mut any_bad = false;
        for file in files {
            let rel = file.strip_prefix(&project).unwrap().to_string_lossy().replace('\\', "/");
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            let found: BTreeSet<String> = report["models"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["file"] == rel.as_str())
                .flat_map(|m| m["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().replace('-', "_")))
                .collect();
            match stem.strip_prefix("bad_") {
                Some(rule) => {
                    any_bad = true;
                    let rule = rule.split("__").next().unwrap().to_string();
                    assert_eq!(found, BTreeSet::from([rule]), "{name}/{rel}: expected exactly its planted mistake");
                }
                None => assert!(found.is_empty(), "{name}/{rel}: a correct model got findings {found:?}"),
            }
        }
        assert_eq!(code, if any_bad { 1 } else { 0 }, "{name}: exit code");
    }
}

#[test]
fn outputs() {
    for project in projects() {
        let name = project.file_name().unwrap().to_string_lossy().into_owned();
        for format in ["text", "json", "github"] {
            let (_, out) = audit(&project, format);
            snapshot(&format!("{name}.{format}"), &out);
        }
    }
}

#[test]
fn every_rule_has_a_fixture() {
    let mut planted = BTreeSet::new();
    for project in projects() {
        let mut files = Vec::new();
        sql_files(&project.join("models"), &mut files);
        for f in files {
            if let Some(rule) = f.file_stem().unwrap().to_string_lossy().strip_prefix("bad_") {
                planted.insert(rule.split("__").next().unwrap().to_string());
            }
        }
    }
    let docs = std::fs::read_to_string(root().join("docs/audit.md")).unwrap();
    for rule in ["event_time_filter", "no_lookback", "no_dedup", "no_empty_fallback", "append_with_lookback", "nondeterministic_dedup", "bigquery_pruning"] {
        assert!(planted.contains(rule), "no fixture model bad_{rule}.sql");
        assert!(docs.contains(&format!("`{}`", rule.replace('_', "-"))), "docs/audit.md does not describe `{rule}`");
    }
}

#[test]
fn missing_project_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(["audit", "--project"]).arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dbt_project.yml"));
}
