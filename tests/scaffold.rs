//! `dbt-incr init` and `dbt-incr new` on temporary copies of the fixture projects under
//! `tests/fixtures/projects/` (manifest.json and catalog.json in dbt's format), driving the real
//! binary. Outputs and resulting specs are snapshotted in `snapshots/scaffold/`.

mod common;
use common::root;

use std::path::{Path, PathBuf};
use std::process::Command;


fn snapshot(name: &str, value: &str) {
    common::snapshot("scaffold", name, value);
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

struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn project(name: &str) -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&root().join("tests/fixtures/projects").join(name), &dir);
    Project { _tmp: tmp, dir }
}

/// Runs dbt-incr in `dir`; returns (exit code, stdout + stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(args).arg("--project").arg(dir).env("HOME", dir).env_remove("DBT_PROFILES_DIR").env_remove("DBT_TARGET").current_dir(dir.parent().unwrap()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), text.replace(&dir.display().to_string(), "<project>"))
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn init_writes_a_starter_spec_that_new_fills() {
    let p = project("scaffold");
    std::fs::remove_file(p.dir.join("incremental.yml")).unwrap();
    let (code, out) = run(&p.dir, &["init"]);
    assert_eq!(code, 0, "{out}");
    let starter = read(&p.dir, "incremental.yml");
    snapshot("init.incremental", &starter);
    // Refuses to overwrite.
    let (code, out) = run(&p.dir, &["init"]);
    assert_eq!(code, 2);
    snapshot("init.refused", &out);
    assert_eq!(read(&p.dir, "incremental.yml"), starter);
    // The starter's commented example stays; the new entry validates and generates.
    let (code, out) = run(&p.dir, &["new", "fct_events", "--from", "source('raw', 'events')", "--unique-key", "event_id"]);
    assert_eq!(code, 0, "{out}");
    snapshot("init.then_new", &read(&p.dir, "incremental.yml"));
    assert!(p.dir.join("models/fct_events.sql").is_file() && p.dir.join("models/fct_events.yml").is_file());
}

#[test]
fn new_proposes_the_loader_column_and_keeps_comments() {
    let p = project("scaffold");
    let (code, out) = run(&p.dir, &["new", "fct_events", "--from", "source('raw','events')", "--unique-key", "event_id", "--event-time", "event_at"]);
    assert_eq!(code, 0, "{out}");
    snapshot("new.loader_column.out", &out);
    snapshot("new.loader_column.spec", &read(&p.dir, "incremental.yml"));
    snapshot("new.loader_column.properties", &read(&p.dir, "models/fct_events.yml"));
}

#[test]
fn new_from_a_ref_with_a_composite_key() {
    let p = project("scaffold");
    let (code, out) = run(&p.dir, &["new", "fct_order_lines", "--from", "ref('stg_orders')", "--unique-key", "order_id,line_no", "--lookback", "2 days"]);
    assert_eq!(code, 0, "{out}");
    snapshot("new.ref_composite.out", &out);
    snapshot("new.ref_composite.spec", &read(&p.dir, "incremental.yml"));
    snapshot("new.ref_composite.properties", &read(&p.dir, "models/fct_order_lines.yml"));
}

#[test]
fn new_warns_when_only_an_event_time_exists() {
    let p = project("scaffold");
    let (code, out) = run(&p.dir, &["new", "fct_clicks", "--from", "source('raw', 'clicks')", "--unique-key", "click_id"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning:") && out.contains("loses late rows"), "{out}");
    snapshot("new.event_time_only.out", &out);
    snapshot("new.event_time_only.spec", &read(&p.dir, "incremental.yml"));
}

#[test]
fn new_writes_nothing_on_error() {
    let cases: &[(&str, &[&str])] = &[
        ("duplicate_name", &["new", "fct_sessions", "--from", "source('raw', 'events')", "--unique-key", "event_id"]),
        ("unknown_column", &["new", "fct_x", "--from", "source('raw', 'events')", "--unique-key", "evnt_id"]),
        ("bad_from", &["new", "fct_x", "--from", "events"]),
        ("append_with_lookback", &["new", "fct_x", "--from", "source('raw', 'events')"]),
        ("bad_lookback", &["new", "fct_x", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--lookback", "3 weeks"]),
        ("bad_path", &["new", "fct_x", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--path", "../x"]),
    ];
    for (name, args) in cases {
        let p = project("scaffold");
        let before = read(&p.dir, "incremental.yml");
        let (code, out) = run(&p.dir, args);
        assert_eq!(code, 2, "{name}: {out}");
        snapshot(&format!("new.error.{name}"), &out);
        assert_eq!(read(&p.dir, "incremental.yml"), before, "{name}: the spec changed");
        assert!(!p.dir.join("models/fct_x.sql").exists() && !p.dir.join("macros").exists(), "{name}: files were generated");
    }
}

#[test]
fn new_without_a_catalog_needs_a_load_time() {
    let p = project("scaffold");
    std::fs::remove_dir_all(p.dir.join("target")).unwrap();
    let (code, out) = run(&p.dir, &["new", "fct_x", "--from", "source('raw', 'events')", "--unique-key", "event_id"]);
    assert_eq!(code, 2);
    snapshot("new.no_catalog.error", &out);
    let (code, out) = run(&p.dir, &["new", "fct_x", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--load-time", "_loaded_at"]);
    assert_eq!(code, 0, "{out}");
    snapshot("new.no_catalog.out", &out);
}

#[test]
fn new_proposes_the_loaders_delete_marker() {
    let p = project("scaffold");
    let (code, out) = run(&p.dir, &["new", "fct_accounts", "--from", "source('fivetran', 'accounts')", "--unique-key", "id"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("deleted: `_fivetran_deleted`"), "{out}");
    let spec = read(&p.dir, "incremental.yml");
    assert!(spec.contains("deleted: _fivetran_deleted") && spec.contains("load_time: _fivetran_synced"), "{spec}");
    assert!(read(&p.dir, "models/fct_accounts.sql").contains("post_hook=\"delete from {{ this }} where _fivetran_deleted = true\""));
    snapshot("new.delete_marker.out", &out);
}

#[test]
fn new_refuses_a_name_the_project_already_has() {
    // A SQL model, a Python model in a subfolder, and a seed known only from the manifest: dbt
    // would fail on each with "found two resources with the name".
    for (name, taken) in [("stg_orders", "models/stg_orders.sql"), ("stg_payments", "models/staging/stg_payments.py"), ("country_codes", "seeds/country_codes.csv")] {
        let p = project("scaffold");
        let before = read(&p.dir, "incremental.yml");
        let (code, out) = run(&p.dir, &["new", name, "--from", "source('raw', 'events')", "--unique-key", "event_id"]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.contains(&format!("`{name}` is already a model of this project: {taken}")), "{name}: {out}");
        assert_eq!(read(&p.dir, "incremental.yml"), before, "{name}: the spec changed");
        assert!(!p.dir.join("macros").exists(), "{name}: files were generated");
        if name == "stg_payments" {
            snapshot("new.error.taken_name", &out);
        }
    }
}

#[test]
fn new_path_puts_the_model_in_a_folder_and_says_where_its_table_lands() {
    let p = project("scaffold");
    let (code, out) = run(&p.dir, &["new", "fct_orders", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--path", "marts"]);
    assert_eq!(code, 0, "{out}");
    assert!(p.dir.join("models/marts/fct_orders.sql").is_file(), "{out}");
    assert!(read(&p.dir, "incremental.yml").contains("    path: marts\n") || read(&p.dir, "incremental.yml").contains("  path: marts\n"));
    // dbt's default generate_schema_name: the target's schema, `_`, the folder's +schema.
    assert!(out.contains("lands in: scaffold.main_marts.fct_orders (target `dev` of <project>/profiles.yml; schema = the target's `main` + `_` + dbt_project.yml's `+schema: marts`"), "{out}");
    snapshot("new.path.out", &out);
    // A project that overrides generate_schema_name is named as the reason it may differ.
    let p = project("scaffold");
    std::fs::create_dir_all(p.dir.join("macros/naming")).unwrap();
    std::fs::write(p.dir.join("macros/naming/schemas.sql"), "{% macro generate_schema_name(custom_schema_name, node) %}{{ custom_schema_name or target.schema }}{% endmacro %}\n").unwrap();
    let (code, out) = run(&p.dir, &["new", "fct_orders", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--path", "marts"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the project overrides generate_schema_name in macros/naming/schemas.sql"), "{out}");
}

#[test]
fn profiles_are_found_where_dbt_finds_them() {
    // profiles.yml in another folder, for a Snowflake target: found through --profiles-dir and
    // through DBT_PROFILES_DIR, and the dialect (from the spec-less profile) follows it.
    let p = project("scaffold");
    std::fs::remove_file(p.dir.join("profiles.yml")).unwrap();
    let elsewhere = p.dir.parent().unwrap().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("profiles.yml"), "scaffold:\n  target: prod\n  outputs:\n    prod:\n      type: snowflake\n      database: ANALYTICS\n      schema: DBT_PROD\n").unwrap();
    let spec = read(&p.dir, "incremental.yml").replace("dialect: duckdb\n", "");
    std::fs::write(p.dir.join("incremental.yml"), &spec).unwrap();

    // Without it, no profile: the spec names no dialect, so generate says what is missing.
    let (code, out) = run(&p.dir, &["generate"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("dialect"), "{out}");

    let dir = elsewhere.display().to_string();
    let (code, out) = run(&p.dir, &["generate", "--profiles-dir", &dir]);
    assert_eq!(code, 0, "{out}");
    assert!(read(&p.dir, "models/fct_sessions.sql").contains("snowflake"), "the profile's adapter was not used");

    let (code, out) = run(&p.dir, &["new", "fct_orders", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--path", "marts", "--profiles-dir", &dir]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("lands in: ANALYTICS.DBT_PROD_marts.fct_orders (target `prod` of"), "{out}");

    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(["check", "--project"]).arg(&p.dir).env("HOME", &p.dir).env("DBT_PROFILES_DIR", &elsewhere).current_dir(p.dir.parent().unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // An explicit folder without profiles.yml is an error, as in dbt.
    let (code, out) = run(&p.dir, &["check", "--profiles-dir", &p.dir.join("nowhere").display().to_string()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no profiles.yml in it"), "{out}");
}

#[test]
fn a_target_is_chosen_as_dbt_chooses_it() {
    // A profile whose default target is DuckDB and whose `prod` is Snowflake: `--target prod`
    // and `DBT_TARGET=prod` read prod (its adapter gives the dialect, its database and schema
    // where the table lands), as `dbt --target prod` would; a target the profile lacks is an error.
    let p = project("scaffold");
    std::fs::write(p.dir.join("profiles.yml"), "scaffold:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n    prod:\n      type: snowflake\n      database: ANALYTICS\n      schema: DBT_PROD\n").unwrap();
    let spec = read(&p.dir, "incremental.yml").replace("dialect: duckdb\n", "");
    std::fs::write(p.dir.join("incremental.yml"), &spec).unwrap();

    let (code, out) = run(&p.dir, &["generate"]);
    assert_eq!(code, 0, "{out}");
    assert!(!read(&p.dir, "models/fct_sessions.sql").contains("snowflake"), "the default target is DuckDB");

    let (code, out) = run(&p.dir, &["generate", "--target", "prod"]);
    assert_eq!(code, 0, "{out}");
    assert!(read(&p.dir, "models/fct_sessions.sql").contains("snowflake"), "--target prod was not read");
    let (code, out) = run(&p.dir, &["new", "fct_orders", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--path", "marts", "--target", "prod"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("lands in: ANALYTICS.DBT_PROD_marts.fct_orders (target `prod` of"), "{out}");

    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(["check", "--project"]).arg(&p.dir).env("HOME", &p.dir).env_remove("DBT_PROFILES_DIR").env("DBT_TARGET", "prod").current_dir(p.dir.parent().unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "DBT_TARGET=prod: the files were generated for prod: {}", String::from_utf8_lossy(&out.stderr));
    let (code, _) = run(&p.dir, &["check"]);
    assert_eq!(code, 1, "without a target, the default (DuckDB) differs from the files written for prod");

    let before = read(&p.dir, "incremental.yml");
    let (code, out) = run(&p.dir, &["generate", "--target", "staging"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--target `staging`: profile `scaffold` in <project>/profiles.yml has no such target"), "{out}");
    assert!(out.contains("its targets: dev, prod"), "{out}");
    assert_eq!(read(&p.dir, "incremental.yml"), before);
}

#[test]
fn profile_values_read_the_environment_as_dbt_renders_them() {
    // dbt renders profiles.yml with Jinja; env_var() with and without a default is read, so a
    // target chosen through the environment gives its adapter and its schema.
    let p = project("scaffold");
    std::fs::write(p.dir.join("profiles.yml"), "scaffold:\n  target: \"{{ env_var('SCAFFOLD_TARGET', 'dev') }}\"\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      schema: main\n    prod:\n      type: snowflake\n      database: ANALYTICS\n      schema: \"{{ env_var('SCAFFOLD_SCHEMA') }}\"\n").unwrap();
    let spec = read(&p.dir, "incremental.yml").replace("dialect: duckdb\n", "");
    std::fs::write(p.dir.join("incremental.yml"), &spec).unwrap();
    let run_with = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(args).arg("--project").arg(&p.dir).env("HOME", &p.dir).env_remove("DBT_PROFILES_DIR").env_remove("DBT_TARGET").env("SCAFFOLD_TARGET", "prod").env("SCAFFOLD_SCHEMA", "DBT_ANNA").current_dir(p.dir.parent().unwrap()).output().unwrap();
        (out.status.code().unwrap(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (code, out) = run(&p.dir, &["generate"]);
    assert_eq!(code, 0, "{out}");
    assert!(!read(&p.dir, "models/fct_sessions.sql").contains("snowflake"), "the default of env_var() is dev, DuckDB");
    let (code, out) = run_with(&["generate"]);
    assert_eq!(code, 0, "{out}");
    assert!(read(&p.dir, "models/fct_sessions.sql").contains("snowflake"), "SCAFFOLD_TARGET=prod was not read");
    let (code, out) = run_with(&["new", "fct_orders", "--from", "source('raw', 'events')", "--unique-key", "event_id", "--path", "marts"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("lands in: ANALYTICS.DBT_ANNA_marts.fct_orders (target `prod` of"), "{out}");
}
