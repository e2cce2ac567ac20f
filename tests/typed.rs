//! Generated models against the types a warehouse's catalog reports for their input.
//!
//! Each `tests/fixtures/typed/<case>.yml` names a dialect, a spec entry, the input's columns as
//! that warehouse's catalog reports them (name and type, in order), and what each compiled
//! branch must contain (`expect`) or must not (`not`), or the compile error it must stop with
//! (`error`). The compiled branches are snapshotted in `snapshots/typed/`. A new case is a new
//! file.

mod common;
use common::{root, snapshot};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dbt_incr::compile::{self, Branch, Mock};
use dbt_incr::dialect::Dialect;
use dbt_incr::render::Renderer;
use dbt_incr::spec::{self, DialectChoice, SpecSource};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    dialect: String,
    spec: serde_json::Value,
    columns: Vec<BTreeMap<String, String>>,
    #[serde(default)]
    expect: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    not: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    error: Option<String>,
    /// Configs dbt resolves for the model from dbt_project.yml (`+require_partition_filter: true`).
    #[serde(default)]
    config: serde_json::Map<String, serde_json::Value>,
}

#[test]
fn typed_inputs() {
    let dir = root().join("tests/fixtures/typed");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yml")).collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert!(!case.description.is_empty(), "{stem}: say what the case shows");
        let dialect = Dialect::find(&case.dialect).unwrap_or_else(|| panic!("{stem}: unknown dialect {}", case.dialect));
        let spec_text = format!("version: 1\ndialect: {}\nmodels:\n  - {}\n", dialect.name, case.spec);
        let shown = std::path::PathBuf::from(format!("typed/{stem}.yml"));
        let parsed = spec::parse(SpecSource { path: &shown, text: &spec_text }, &DialectChoice::default()).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let model = &parsed.models[0];
        let text = Renderer::new().model(model, "typed.yml").unwrap();
        let columns: Vec<(String, String)> = case.columns.iter().flat_map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone()))).collect();
        let mock = Mock { vars: None, source_columns: Some(columns), batch: None, config: case.config.clone() };

        let mut out = String::new();
        let mut errors = Vec::new();
        for branch in Branch::ALL {
            match compile::compile_with(model, &text, dialect, branch, &mock) {
                Ok(c) => {
                    for want in case.expect.get(branch.name()).into_iter().flatten() {
                        assert!(c.sql.contains(want.as_str()), "{stem} {branch}: expected `{want}` in\n{}", c.sql);
                    }
                    for unwanted in case.not.get(branch.name()).into_iter().flatten() {
                        assert!(!c.sql.contains(unwanted.as_str()), "{stem} {branch}: `{unwanted}` must not appear in\n{}", c.sql);
                    }
                    writeln!(out, "==> {branch} <==\n{}", c.sql).unwrap();
                }
                Err(e) => {
                    errors.push(e.to_string());
                    writeln!(out, "==> {branch} <==\n{}\n", e.to_string().trim_end()).unwrap();
                }
            }
        }
        for branch in case.expect.keys().chain(case.not.keys()) {
            assert!(Branch::ALL.iter().any(|b| b.name() == branch), "{stem}: no branch `{branch}`");
        }
        match &case.error {
            Some(want) => assert!(errors.iter().any(|e| e.contains(want.as_str())), "{stem}: expected the error `{want}`, got {errors:?}"),
            None => {
                // A microbatch model refuses backfill vars on purpose; nothing else may fail.
                let refused = |e: &String| e.contains("is a microbatch model") || e.contains("append-only");
                assert!(errors.iter().all(refused), "{stem}: {errors:?}");
            }
        }
        snapshot("typed", &stem, &out);
    }
}
