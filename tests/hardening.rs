//! Hardening (issue 6): nothing written outside the project or on any error, hostile and huge
//! inputs end in a clear error with bounded memory, and the JSON Schema agrees with the parser.
//!
//! The hostile inputs are generated here, never committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dbt_incr::render::Renderer;
use dbt_incr::spec::{self, DialectChoice, SpecSource};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const GOOD: &str = "version: 1
dialect: duckdb
models:
  - name: fct_events
    from: source('raw', 'events')
    unique_key: event_id
    load_time: loaded_at
";

const BAD: &str = "version: 1
dialect: duckdb
models:
  - name: fct_broken
    from: source('raw', 'events')
    unique_key: event_id
    load_time: loaded_at
    lookback: 3 fortnights
";

/// A dbt project in a temporary folder.
fn project(spec: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dbt_project.yml"), "name: shop\nprofile: shop\n").unwrap();
    if let Some(spec) = spec {
        std::fs::write(dir.path().join("incremental.yml"), spec).unwrap();
    }
    dir
}

/// Runs the real binary under a 2 GiB address-space limit (bounded memory: a runaway parse
/// fails instead of swapping), with HOME pointed away from any real profile.
fn dbt_incr(args: &[&str], cwd: &Path) -> Output {
    let bin = env!("CARGO_BIN_EXE_dbt-incr");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
    Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v 2097152; exec '{bin}' {}", quoted.join(" ")))
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir` (following no symlinks) with its bytes and modification time.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, Option<std::time::SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel, (Vec::new(), None));
                stack.push(path);
            } else if meta.is_symlink() {
                out.insert(rel, (std::fs::read_link(&path).unwrap().to_string_lossy().as_bytes().to_vec(), None));
            } else {
                out.insert(rel, (std::fs::read(&path).unwrap(), meta.modified().ok()));
            }
        }
    }
    out
}

fn assert_failed_cleanly(out: &Output, expected: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "exit status {:?}\n{err}", out.status);
    assert!(err.contains(expected), "stderr lacks {expected:?}:\n{}", &err[..err.len().min(4000)]);
    assert!(err.len() < 20_000, "error output is {} bytes", err.len());
}

// ---------------------------------------------------------------------------------------------
// Nothing written on failure.

#[test]
fn a_bad_spec_last_in_a_folder_leaves_the_project_untouched() {
    let dir = project(None);
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("a_good.yml"), GOOD).unwrap();
    std::fs::write(specs.join("b_good.yml"), GOOD.replace("fct_events", "fct_orders")).unwrap();
    std::fs::write(specs.join("z_bad.yml"), BAD).unwrap();
    let before = tree(dir.path());
    let out = dbt_incr(&["generate", "--project", ".", "--spec", "specs"], dir.path());
    assert_failed_cleanly(&out, "invalid lookback unit `fortnights`");
    assert!(stderr(&out).contains("z_bad.yml:8:15"), "{}", stderr(&out));
    assert_eq!(tree(dir.path()), before, "the project changed although a spec was bad");
}

#[test]
fn a_bad_spec_leaves_earlier_generated_files_unchanged() {
    let dir = project(Some(GOOD));
    let out = dbt_incr(&["generate", "--quiet"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(dir.path().join("incremental.yml"), format!("{GOOD}{}", &BAD[BAD.find("  - name").unwrap()..])).unwrap();
    let before = tree(dir.path());
    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "fortnights");
    assert_eq!(tree(dir.path()), before);
}

// ---------------------------------------------------------------------------------------------
// Nothing written outside the project.

#[cfg(unix)]
#[test]
fn a_models_folder_symlinked_out_of_the_project_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let dir = project(Some(GOOD));
    std::os::unix::fs::symlink(outside.path(), dir.path().join("models")).unwrap();
    let before = tree(dir.path());
    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "model-paths");
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(tree(outside.path()), BTreeMap::new(), "a file was written outside the project");
    assert_eq!(tree(dir.path()), before);
}

#[cfg(unix)]
#[test]
fn a_subfolder_symlinked_out_of_the_models_folder_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let dir = project(Some(&GOOD.replace("    load_time: loaded_at\n", "    load_time: loaded_at\n    path: marts\n")));
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("models/marts")).unwrap();
    let before = tree(dir.path());
    let out = dbt_incr(&["generate"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("outside the project"), "{}", stderr(&out));
    assert_eq!(tree(outside.path()), BTreeMap::new(), "a file was written outside the project");
    assert_eq!(tree(dir.path()), before, "some files were written before the refusal");
}

#[cfg(unix)]
#[test]
fn a_macros_folder_symlinked_out_of_the_project_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let dir = project(Some(GOOD));
    std::os::unix::fs::symlink(outside.path(), dir.path().join("macros")).unwrap();
    let before = tree(dir.path());
    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "macro-paths");
    assert_eq!(tree(outside.path()), BTreeMap::new());
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn model_and_macro_paths_that_leave_the_project_are_refused() {
    for (line, expected) in [
        ("model-paths: [\"../elsewhere\"]", "leaves the project through `..`"),
        ("model-paths: [\"/tmp/models\"]", "is absolute"),
        ("macro-paths: [\"macros/../../x\"]", "`macro-paths` entry"),
        ("model-paths: \"models\"", "write a list of folders"),
    ] {
        let dir = project(Some(GOOD));
        std::fs::write(dir.path().join("dbt_project.yml"), format!("name: shop\n{line}\n")).unwrap();
        let before = tree(dir.path());
        let out = dbt_incr(&["generate"], dir.path());
        assert_failed_cleanly(&out, expected);
        assert!(stderr(&out).contains("dbt_project.yml:2:"), "{line}: no position\n{}", stderr(&out));
        assert_eq!(tree(dir.path()), before, "{line}");
    }
}

/// Only the paths dbt-incr writes into (the first `model-paths` and `macro-paths` entries) must
/// stay inside the project; a further entry outside it (`../../sources`) is only read, so no
/// command refuses it, and nothing is written there.
#[test]
fn a_second_model_path_outside_the_project_is_not_refused() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("warehouse/dbt");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::create_dir_all(outer.path().join("sources")).unwrap();
    std::fs::write(outer.path().join("sources/stg_events.sql"), "select 1 as id\n").unwrap();
    std::fs::write(dir.join("dbt_project.yml"), "name: shop\nprofile: shop\nmodel-paths: [\"models\", \"../../sources\"]\n").unwrap();
    let out = dbt_incr(&["init"], &dir);
    assert!(out.status.success(), "init: {}", stderr(&out));
    let out = dbt_incr(&["audit"], &dir);
    assert_eq!(out.status.code(), Some(0), "audit: {}", stderr(&out));
    std::fs::write(dir.join("incremental.yml"), GOOD).unwrap();
    let out = dbt_incr(&["generate"], &dir);
    assert!(out.status.success(), "generate: {}", stderr(&out));
    let out = dbt_incr(&["new", "fct_orders", "--from", "source('shop', 'orders')", "--unique-key", "order_id", "--load-time", "_loaded_at"], &dir);
    assert!(out.status.success(), "new: {}", stderr(&out));
    assert_eq!(tree(&outer.path().join("sources")).len(), 1, "nothing is written outside the project");
}

#[test]
fn a_spec_file_name_cannot_inject_jinja_into_the_header() {
    let choice = DialectChoice::default();
    for name in ["specs/x#}{{ run_query('drop') }}.yml", "a{%x%}.yml", "a\nb.yml"] {
        let err = spec::parse(SpecSource { path: Path::new(name), text: GOOD }, &choice).unwrap_err().to_string();
        assert!(err.contains("spec file name"), "{name}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// CLI and project errors.

#[test]
fn cli_and_project_errors_say_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    let out = dbt_incr(&["generate"], empty.path());
    assert_failed_cleanly(&out, "no dbt project");
    assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));

    let dir = project(None);
    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "incremental.yml does not exist");

    let out = dbt_incr(&["generate", "--spec", "nope.yml"], dir.path());
    assert_failed_cleanly(&out, "hint: --spec takes");

    std::fs::write(dir.path().join("incremental.yml"), GOOD.replace("dialect: duckdb\n", "")).unwrap();
    let out = dbt_incr(&["generate", "--dialect", "snowflak"], dir.path());
    assert_failed_cleanly(&out, "did you mean `snowflake`?");

    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "no dialect");

    let out = dbt_incr(&["generat"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("generate"), "{}", stderr(&out));

    std::fs::write(dir.path().join("dbt_project.yml"), "name: shop\nmodel-paths: [models\n").unwrap();
    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "cannot read dbt_project.yml");
}

// ---------------------------------------------------------------------------------------------
// Large and hostile inputs.

fn parse(text: &str) -> Result<spec::SpecFile, String> {
    spec::parse(SpecSource { path: Path::new("big.yml"), text }, &DialectChoice::default()).map_err(|e| e.to_string())
}

#[test]
fn ten_thousand_models_in_one_spec() {
    let mut text = String::from("version: 1\ndialect: snowflake\ndefaults:\n  load_time: loaded_at\n  lookback: 2 days\nmodels:\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "  - name: fct_{i}\n    from: source('raw', 't{i}')\n    unique_key: [id, day]\n    event_time: event_at\n    columns: [id, day, event_at, loaded_at, amount]\n    tags: [daily, team_{}]\n",
            i % 7
        ));
    }
    let start = Instant::now();
    let spec = parse(&text).unwrap();
    assert_eq!(spec.models.len(), 10_000);
    let renderer = Renderer::new();
    for m in spec.models.iter().step_by(97) {
        renderer.model(m, "big.yml").unwrap();
    }
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());

    // A duplicate at the very end is still found, with both lines.
    text.push_str("  - name: fct_5\n    from: ref('x')\n    unique_key: id\n");
    let err = parse(&text).unwrap_err();
    assert!(err.contains("model `fct_5` is defined twice"), "{}", &err[..err.len().min(2000)]);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for (open, close) in [("[", "]"), ("{a: ", "}")] {
        let text = format!("version: 1\nmodels: {}{}\n", open.repeat(100_000), close.repeat(100_000));
        let err = parse(&text).unwrap_err();
        if open == "[" {
            assert!(err.contains("nested too deeply"), "{}", &err[..err.len().min(2000)]);
        }
        assert!(err.len() < 2000, "{} bytes of error", err.len());
    }
    // Block-style nesting, 100,000 levels of `- `.
    let mut text = String::from("version: 1\nmodels:\n");
    for i in 0..100_000 {
        text.push_str(&" ".repeat(i % 200));
        text.push_str("- \n");
    }
    assert!(parse(&text).is_err());
    // Through the binary, in a thread-sized stack.
    let dir = project(Some(&format!("version: 1\nmodels: {}\n", "[".repeat(100_000))));
    let out = dbt_incr(&["generate", "--dialect", "duckdb"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn alias_bombs_are_refused() {
    // Billion laughs: 9 levels of 10 aliases, 10^9 strings if expanded.
    let mut text = String::from("version: 1\nmodels:\n  - name: a\n    from: ref('x')\n    load_time: l\n    tags: [&a0 [x, x, x, x, x, x, x, x, x, x]");
    for level in 1..9 {
        text.push_str(&format!(", &a{level} [{}]", vec![format!("*a{}", level - 1); 10].join(", ")));
    }
    text.push_str("]\n");
    let start = Instant::now();
    let err = parse(&text).unwrap_err();
    assert!(err.contains("aliases"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    // The same through dbt_project.yml.
    let dir = project(Some(GOOD));
    std::fs::write(dir.path().join("dbt_project.yml"), format!("name: shop\nvars: {}\n", &text[text.find("[&a0").unwrap()..])).unwrap();
    let out = dbt_incr(&["generate"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).len() < 20_000);
}

#[test]
fn huge_strings() {
    // 10 MB in one name: a clear error, shown truncated.
    let text = format!("version: 1\ndialect: duckdb\nmodels:\n  - name: {}\n    from: ref('x')\n    load_time: l\n    lookback: 0 days\n", "a".repeat(10_000_000));
    let err = parse(&text).unwrap_err();
    assert!(err.contains("longer than 127 characters"), "{}", &err[..2000.min(err.len())]);
    assert!(err.len() < 2000, "{} bytes of error", err.len());

    // 100 MB file: refused before it is read.
    let dir = project(None);
    let big = format!("version: 1\nmodels:\n  - name: x\n    from: \"{}\"\n", "x".repeat(100 * 1024 * 1024));
    std::fs::write(dir.path().join("incremental.yml"), big).unwrap();
    let out = dbt_incr(&["generate", "--dialect", "duckdb"], dir.path());
    assert_failed_cleanly(&out, "dbt-incr reads files up to");
}

#[test]
fn non_utf8_bytes_are_a_clear_error() {
    let dir = project(None);
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("event_id").unwrap();
    bytes.splice(at..at, [0xff, 0xfe]);
    std::fs::write(dir.path().join("incremental.yml"), &bytes).unwrap();
    let before = tree(dir.path());
    let out = dbt_incr(&["generate"], dir.path());
    assert_failed_cleanly(&out, "not valid UTF-8 (byte 0xff");
    assert!(stderr(&out).contains("incremental.yml:6:17"), "{}", stderr(&out));
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let text = "version: 1\ndialect: duckdb\nmodels:\n  - name: \"a\\e[2Jb\"\n    from: ref('x')\n    load_time: l\n    unknown\u{1b}[31m: 1\n";
    let err = parse(text).unwrap_err();
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// JSON Schema.

fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn fixtures(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yml")).collect();
    files.sort();
    files
}

#[test]
fn schema_command_prints_the_documented_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dbt_incr(&["schema"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let documented = std::fs::read_to_string(root().join("docs/incremental.schema.json")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == documented,
        "docs/incremental.schema.json is stale: run `cargo run -- schema > docs/incremental.schema.json`"
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&dbt_incr::spec::schema::schema()).expect("the schema is a valid JSON Schema")
}

#[test]
fn schema_accepts_every_good_spec() {
    let validator = validator();
    let mut files = fixtures(&root().join("tests/fixtures/specs"));
    for d in std::fs::read_dir(root().join("tests/fixtures/dialects")).unwrap() {
        files.extend(fixtures(&d.unwrap().path()));
    }
    files.push(root().join("examples/shop/incremental.yml"));
    assert!(files.len() > 15, "{} good specs", files.len());
    for file in files {
        let json = yaml_to_json(&std::fs::read_to_string(&file).unwrap());
        let errors: Vec<String> = validator.iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

/// Bad fixtures whose problem is not one of shape: the schema cannot see them (they need the
/// dialect, several keys at once, or facts the schema does not hold), `generate` explains them.
const BEYOND_THE_SCHEMA: &[&str] = &[
    "append_with_key",
    "append_clickhouse_without_columns",
    "append_with_lookback",
    "batch_size_not_microbatch",
    "begin_feb_30",
    "begin_not_microbatch",
    "cluster_by_too_many",
    "column_case_duplicate",
    "columns_missing_key",
    "defaults_name",
    "delete_insert_iceberg_databricks",
    "deleted_not_in_columns",
    "deleted_without_key",
    "duplicate_key",
    "duplicate_model",
    "file_format_on_duckdb",
    "iceberg_metadata_column",
    "insert_overwrite",
    "insert_overwrite_postgres",
    "insert_overwrite_without_key",
    "insert_overwrite_without_partition_by",
    "lookback_huge",
    "merge_on_parquet",
    "merge_without_key",
    "microbatch_granularity_not_batch",
    "microbatch_key_replaces_window",
    "microbatch_no_begin",
    "microbatch_no_event_time",
    "microbatch_partition_not_event_time",
    "microbatch_spark",
    "model_name_too_long_sqlserver",
    "model_name_case",
    "no_key_default_lookback",
    "partition_by_on_postgres",
    "reserved_column",
    "reserved_on_dialect",
    "reserved_name",
    "strategy_not_on_dialect",
    "sync_all_columns_spark",
    "sync_all_columns_databricks",
    "lookback_amount",
    "placeholder_todo",
];

/// Bad fixtures that are not YAML a schema could be applied to at all.
const NOT_A_DOCUMENT: &[&str] = &["alias_bomb", "deep_nesting", "duplicate_key", "empty_spec", "multiple_documents", "not_yaml", "tab_indent", "yaml_tag"];

#[test]
fn schema_rejects_the_bad_specs_of_shape() {
    let validator = validator();
    let mut rejected = 0;
    for file in fixtures(&root().join("tests/fixtures/errors")) {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        if NOT_A_DOCUMENT.contains(&stem.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let Ok(json) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
            panic!("{stem}: not YAML; list it in NOT_A_DOCUMENT");
        };
        let valid = validator.is_valid(&json);
        if BEYOND_THE_SCHEMA.contains(&stem.as_str()) {
            continue;
        }
        assert!(!valid, "{stem}: the schema accepts this bad spec; tighten the schema or list it in BEYOND_THE_SCHEMA");
        rejected += 1;
    }
    assert!(rejected >= 40, "only {rejected} bad specs rejected by the schema");
}

#[test]
fn schema_knows_every_model_key() {
    let schema = dbt_incr::spec::schema::schema();
    let properties = schema["$defs"]["model"]["properties"].as_object().unwrap();
    let keys: Vec<&str> = properties.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = spec::MODEL_KEYS.to_vec();
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
}
