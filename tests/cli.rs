//! The command line, driven through the real binary on temporary dbt projects:
//! ownership (hand edits, `--force`, foreign files, orphans, `--prune`), `check` in every format
//! and exit code, `diff`, `compile` for every dialect and branch, and the review summary of
//! `plan`.
//!
//! Review cases are fixtures: `tests/fixtures/review/<case>.yml` is a spec that replaces
//! `base.yml` after a first `generate`; `plan` is snapshotted as `snapshots/cli/review@<case>`.
//! A new case is a new fixture file. Accept new snapshots with
//! `INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test --test cli` and review the diff.

mod common;
use common::{Run, root};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use dbt_incr::compile::{self, Branch};
use dbt_incr::dialect::DIALECTS;
use dbt_incr::plan::{self, Request};
use dbt_incr::render::header;


fn review_fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/review").join(name)).unwrap()
}

/// A temporary dbt project holding `spec` as incremental.yml.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(spec: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dbt_project.yml"), "name: shop\nversion: '1.0'\nprofile: shop\n").unwrap();
        let project = Project { dir };
        project.spec(spec);
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn spec(&self, spec: &str) {
        std::fs::write(self.path().join("incremental.yml"), spec).unwrap();
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap()
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn exists(&self, relative: &str) -> bool {
        self.path().join(relative).exists()
    }

    /// Runs the binary in the project folder.
    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr"))
            .args(args)
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .env("HOME", self.path())
            .env_remove("DBT_PROFILES_DIR")
            .output()
            .unwrap();
        let clean = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap().replace(&self.path().display().to_string(), "[PROJECT]");
        Run { args: args.join(" "), code: out.status.code().unwrap(), stdout: clean(&out.stdout), stderr: clean(&out.stderr) }
    }

    /// Every file under the project but the spec, with its contents.
    fn files(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut stack = vec![self.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push((path.strip_prefix(self.path()).unwrap().to_path_buf(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

fn snapshot(name: &str, value: &str) {
    common::snapshot("cli", name, &elide_whole_files(&mask_hashes(value)));
}

/// The body of a whole-file hunk (a missing or orphaned file) elided: the snapshots of
/// generated files show those texts, and the CLI snapshots should not change with every template
/// change.
fn elide_whole_files(text: &str) -> String {
    let mut out = String::new();
    let mut skipping: Option<char> = None;
    for line in text.split_inclusive('\n') {
        if let Some(sign) = skipping {
            if line.starts_with(sign) {
                continue;
            }
            out.push_str(&format!("{sign}[whole file]\n"));
            skipping = None;
        }
        if line.starts_with("@@ -0,0 ") {
            out.push_str("@@ -0,0 +1,N @@\n");
            skipping = Some('+');
        } else if line.starts_with("@@ ") && line.trim_end().ends_with(" +0,0 @@") {
            out.push_str("@@ -1,N +0,0 @@\n");
            skipping = Some('-');
        } else {
            out.push_str(line);
        }
    }
    if let Some(sign) = skipping {
        out.push_str(&format!("{sign}[whole file]\n"));
    }
    out
}

/// Content hashes change with every template change (snapshots/generated shows them); here they
/// would only add noise.
fn mask_hashes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("[sha256:") {
        let end = at + "[sha256:".len();
        out.push_str(&rest[..end]);
        let hex = rest[end..].chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 16 {
            out.push_str("HASH");
            rest = &rest[end + hex..];
        } else {
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

const MODEL: &str = "models/marts/fct_events.sql";

#[test]
fn generating_twice_changes_nothing() {
    let p = Project::new(&review_fixture("base.yml"));
    let first = p.run(&["generate"]).expect(0);
    assert!(first.stdout.contains("wrote models/marts/fct_events.sql"), "{}", first.stdout);
    let before = p.files();
    let second = p.run(&["generate"]).expect(0);
    assert!(second.stdout.contains(" 0 file(s) written"), "{}", second.stdout);
    assert_eq!(p.files(), before);
    p.run(&["check"]).expect(0);
    // Every generated file (models, properties, macros) carries a hash that matches.
    let generated: Vec<&(PathBuf, String)> = before.iter().filter(|(path, _)| path.starts_with("models") || path.starts_with("macros")).collect();
    assert!(generated.len() > 5, "{generated:?}");
    for (path, text) in generated {
        assert_eq!(header::Ownership::of(text), header::Ownership::Pristine, "{}", path.display());
    }
}

#[test]
fn hand_edited_files_are_refused_unless_force() {
    let p = Project::new(&review_fixture("base.yml"));
    p.run(&["generate"]).expect(0);
    let generated = p.read(MODEL);
    let edited = generated.replace("select *\nfrom latest", "select *\nfrom latest -- my fix");
    assert_ne!(edited, generated);
    p.write(MODEL, &edited);
    // A spec change that would rewrite other files too: nothing at all may be written.
    p.spec(&review_fixture("lookback_wider.yml").replace("load_time: loaded_at\n    incremental_strategy", "load_time: loaded_at\n    lookback: 9 days\n    incremental_strategy"));
    let before = p.files();
    let refused = p.run(&["generate"]).expect(2);
    snapshot("generate@hand_edited", &refused.shown());
    assert_eq!(p.files(), before, "a refused generate writes nothing");

    let forced = p.run(&["generate", "--force"]).expect(0);
    assert!(forced.stdout.contains("wrote models/marts/fct_events.sql"), "{}", forced.stdout);
    assert!(!p.read(MODEL).contains("my fix"));
    p.run(&["check"]).expect(0);
}

#[test]
fn foreign_files_are_never_overwritten() {
    let p = Project::new(&review_fixture("base.yml"));
    p.write(MODEL, "-- my own model\nselect 1 as id\n");
    let before = p.files();
    let refused = p.run(&["generate"]).expect(2);
    snapshot("generate@foreign", &refused.shown());
    assert_eq!(p.files(), before);
    let forced = p.run(&["generate", "--force"]).expect(2);
    assert!(forced.stderr.contains("dbt-incr did not write it"), "{}", forced.stderr);
    assert_eq!(p.files(), before, "--force never touches a foreign file");
    assert!(!p.exists("macros/dbt_incr/watermark.sql"), "nothing is written when one file is refused");
    let check = p.run(&["check"]).expect(1);
    assert!(check.stdout.contains("models/marts/fct_events.sql: foreign"), "{}", check.stdout);
}

#[test]
fn orphans_are_reported_and_removed_only_with_prune() {
    let p = Project::new(&review_fixture("base.yml"));
    p.run(&["generate"]).expect(0);
    p.spec(&review_fixture("model_removed.yml"));
    let kept = p.run(&["generate"]).expect(0);
    snapshot("generate@orphan", &kept.shown());
    assert!(p.exists("models/fct_orders.sql"), "an orphan stays without --prune");
    let check = p.run(&["check"]).expect(1);
    assert!(check.stdout.contains("models/fct_orders.sql: orphaned"), "{}", check.stdout);

    // A hand-edited orphan needs --force as well.
    let orphan = p.read("models/fct_orders.sql");
    p.write("models/fct_orders.sql", &orphan.replace("select *", "select * -- edited"));
    let refused = p.run(&["generate", "--prune"]).expect(2);
    assert!(refused.stderr.contains("refusing to delete models/fct_orders.sql"), "{}", refused.stderr);
    assert!(p.exists("models/fct_orders.sql"));
    let pruned = p.run(&["generate", "--prune", "--force"]).expect(0);
    snapshot("generate@prune", &pruned.shown());
    assert!(!p.exists("models/fct_orders.sql"));
    p.run(&["check"]).expect(0);
}

#[test]
fn orphans_of_another_spec_file_are_left_alone() {
    let p = Project::new(&review_fixture("base.yml"));
    p.run(&["generate"]).expect(0);
    // A second spec, generated on its own: its models are not orphans of the first.
    p.write("more/extra.yml", "version: 1\ndialect: duckdb\nmodels:\n  - name: fct_sessions\n    from: ref('stg_sessions')\n    unique_key: session_id\n    load_time: loaded_at\n");
    p.run(&["generate", "--spec", "more/extra.yml"]).expect(0);
    p.run(&["check"]).expect(0);
    p.run(&["check", "--spec", "more/extra.yml"]).expect(0);
    // Once that spec is gone, its models are orphans.
    std::fs::remove_file(p.path().join("more/extra.yml")).unwrap();
    let check = p.run(&["check"]).expect(1);
    assert!(check.stdout.contains("models/fct_sessions.sql: orphaned"), "{}", check.stdout);
}

/// A project with one file of each kind `check` reports: missing, changed, hand-edited, orphaned.
fn messy_project() -> Project {
    let p = Project::new(&review_fixture("base.yml"));
    p.run(&["generate"]).expect(0);
    std::fs::remove_file(p.path().join("macros/dbt_incr/watermark.sql")).unwrap();
    let model = p.read(MODEL);
    p.write(MODEL, &model.replace("-- never replace", "-- hand edit: never replace"));
    p.spec(&review_fixture("base.yml").replace("unique_key: order_id", "unique_key: order_id\n    path: staging"));
    p
}

#[test]
fn check_exit_codes_and_formats() {
    let p = messy_project();
    for format in ["text", "json", "github"] {
        let mut run = p.run(&["check", "--format", format]).expect(1);
        if format == "json" {
            let mut value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            for file in value["files"].as_array_mut().unwrap() {
                if file["status"] == "missing" || file["status"] == "orphaned" {
                    assert!(file["diff"].as_str().unwrap().contains("/dev/null"));
                    file["diff"] = "[whole file]".into();
                }
            }
            run.stdout = serde_json::to_string_pretty(&value).unwrap() + "\n";
        }
        snapshot(&format!("check@changed-{format}"), &run.shown());
    }
    assert!(!p.run(&["check"]).stdout.contains('\x1b'), "no colour when stdout is not a terminal");
    if let Ok(text) = serde_json_check(&p.run(&["check", "--format", "json"]).stdout) {
        assert_eq!(text, "changed");
    }

    let clean = Project::new(&review_fixture("base.yml"));
    clean.run(&["generate"]).expect(0);
    for format in ["text", "json", "github"] {
        let run = clean.run(&["check", "--format", format]).expect(0);
        snapshot(&format!("check@clean-{format}"), &run.shown());
    }

    let broken = Project::new("version: 1\ndialect: duckdb\nmodels:\n  - name: fct_events\n    from: source('raw', 'events')\n    unique_key: event_id\n    lookback: 3 weeks\n");
    for format in ["text", "json", "github"] {
        let run = broken.run(&["check", "--format", format]).expect(2);
        snapshot(&format!("check@error-{format}"), &run.shown());
    }
}

/// The `status` of a JSON report, checked to be valid JSON.
fn serde_json_check(text: &str) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(value["status"].as_str().unwrap_or_default().to_string())
}

#[test]
fn diff_never_fails_and_colours_only_when_asked_or_on_a_terminal() {
    let p = messy_project();
    let plain = p.run(&["diff"]).expect(0);
    assert!(!plain.stdout.contains('\x1b'));
    assert!(plain.stdout.contains("+++ b/models/staging/fct_orders.sql"), "{}", plain.stdout);
    snapshot("diff@changed", &plain.shown());
    let coloured = p.run(&["diff", "--color", "always"]).expect(0);
    assert!(coloured.stdout.contains("\x1b[32m+"), "{}", coloured.stdout);
    assert_eq!(p.run(&["diff", "--color", "never"]).stdout, plain.stdout);
    let broken = Project::new("version: 1\nmodels: []\n");
    broken.run(&["diff"]).expect(2);
}

#[test]
fn compile_every_dialect_and_branch() {
    let spec = "version: 1\nmodels:\n  - name: fct_events\n    from: source('raw', 'events')\n    unique_key: event_id\n    load_time: loaded_at\n    event_time: event_at\n";
    let p = Project::new(spec);
    for dialect in DIALECTS {
        let request = Request { project_dir: p.path().to_path_buf(), spec: None, dialect: Some(dialect.name.into()), dialect_overrides_spec: true, profiles_dir: None, target: None };
        let plan = plan::plan(&request).unwrap_or_else(|e| panic!("{}: {e}", dialect.name));
        let (model, file) = plan.model_file("fct_events").unwrap();
        let mut all = String::new();
        for branch in Branch::ALL {
            let run = p.run(&["compile", "fct_events", "--dialect", dialect.name, "--branch", branch.name()]).expect(0);
            let compiled = compile::compile_with(model, &file.contents, dialect, branch, &compile::Mock::default()).unwrap();
            // The spec has no `columns`: wherever the SQL names them, compile says they are stand-ins.
            let note = match &compiled.stand_ins {
                Some(cols) => format!("-- note: the spec has no `columns`, so this model reads its input's columns at run time; compiled here with stand-ins ({}). Pass --columns to compile with the real ones.\n", cols.join(", ")),
                None => String::new(),
            };
            assert_eq!(compiled.stand_ins.is_some(), compiled.sql.contains("payload"), "{} {branch}: the note shows exactly when stand-ins are in the SQL", dialect.name);
            let expected = format!("{note}{}", compiled.sql);
            assert_eq!(run.stdout, expected, "{} {branch}", dialect.name);
            let real = p.run(&["compile", "fct_events", "--dialect", dialect.name, "--branch", branch.name(), "--columns", "event_id:integer,amount,event_at,loaded_at"]).expect(0);
            assert!(!real.stdout.contains("stand-in") && !real.stdout.contains("payload"), "{} {branch}: {}", dialect.name, real.stdout);
            assert!(run.stdout.to_lowercase().contains("select"), "{} {branch}: {}", dialect.name, run.stdout);
            all.push_str(&format!("-- fct_events · {} · {branch}\n{expected}", dialect.name));
        }
        // Without --branch: all three, each under a title line.
        let every = p.run(&["compile", "fct_events", "--dialect", dialect.name]).expect(0);
        assert_eq!(every.stdout.replace("\n\n-- fct_events", "\n-- fct_events"), all, "{}", dialect.name);
    }
    let unknown = p.run(&["compile", "fct_event", "--dialect", "duckdb"]).expect(2);
    snapshot("compile@unknown_model", &unknown.shown());
    p.run(&["compile", "fct_events", "--dialect", "oracle"]).expect(2);
}

#[test]
fn review_summary_per_fixture() {
    let dir = root().join("tests/fixtures/review");
    // A case is `<case>.yml` (replacing base.yml) or a folder `<case>/` with its own
    // `before.yml` and `after.yml` (another dialect, say).
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yml")).collect();
    cases.sort();
    let mut seen = BTreeSet::new();
    for case in cases {
        let stem = case.file_stem().unwrap().to_string_lossy().into_owned();
        if stem == "base" {
            continue;
        }
        let (before, after) = if case.is_dir() { (case.join("before.yml"), case.join("after.yml")) } else { (dir.join("base.yml"), case.clone()) };
        let p = Project::new(&std::fs::read_to_string(&before).unwrap());
        p.run(&["generate"]).expect(0);
        p.spec(&std::fs::read_to_string(&after).unwrap());
        let run = p.run(&["plan"]).expect(0);
        snapshot(&format!("review@{stem}"), &run.shown());
        seen.insert(stem);
    }
    assert!(seen.len() >= 10, "{seen:?}");
}

#[test]
fn review_summary_json_and_full_refresh_list() {
    let p = Project::new(&review_fixture("base.yml"));
    p.run(&["generate"]).expect(0);
    p.spec(&review_fixture("unique_key.yml"));
    let run = p.run(&["plan", "--format", "json"]).expect(0);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["full_refresh"], serde_json::json!(["fct_orders"]));
    snapshot("review@unique_key-json", &run.shown());
}

/// A macro file from an older dbt-incr: the review names the models that reach the changed
/// macros on their dialect, through dispatch.
#[test]
fn review_summary_of_a_macro_change() {
    let two_dialects = Project::new(&review_fixture("base.yml"));
    two_dialects.write("specs/snowflake.yml", &review_fixture("model_added.yml").replace("dialect: duckdb", "dialect: snowflake").replace("fct_", "sf_"));
    two_dialects.write("specs/duckdb.yml", &review_fixture("base.yml"));
    std::fs::remove_file(two_dialects.path().join("incremental.yml")).unwrap();
    two_dialects.run(&["generate", "--spec", "specs"]).expect(0);
    for (file, old, new) in [
        ("keep_newest.sql", "{% macro default__dbt_incr_keep_newest(", "{% macro default__dbt_incr_keep_newest( "),
        ("latest_per_key.sql", "{% macro snowflake__dbt_incr_latest_per_key(", "{% macro snowflake__dbt_incr_latest_per_key( "),
    ] {
        let path = format!("macros/dbt_incr/{file}");
        let text = two_dialects.read(&path);
        assert!(text.contains(old), "{file} has no `{old}`");
        two_dialects.write(&path, &header::stamp(&text.replace(old, new)));
    }
    let run = two_dialects.run(&["plan", "--spec", "specs"]).expect(0);
    snapshot("review@macro_changed", &run.shown());
}

#[test]
fn pre_commit_hook_runs_check() {
    let hooks = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    assert!(hooks.contains("entry: dbt-incr check"), "{hooks}");
}

/// No snapshot under snapshots/cli/ is left from a test or fixture that no longer exists.
#[test]
fn no_stale_cli_snapshots() {
    let mut expected: BTreeSet<String> = [
        "generate@hand_edited",
        "generate@foreign",
        "generate@orphan",
        "generate@prune",
        "diff@changed",
        "compile@unknown_model",
        "review@unique_key-json",
        "review@macro_changed",
        "two_specs_one_model",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    for state in ["changed", "clean", "error"] {
        for format in ["text", "json", "github"] {
            expected.insert(format!("check@{state}-{format}"));
        }
    }
    for entry in std::fs::read_dir(root().join("tests/fixtures/review")).unwrap() {
        let stem = entry.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned();
        if stem != "base" {
            expected.insert(format!("review@{stem}"));
        }
    }
    let Ok(entries) = std::fs::read_dir(root().join("snapshots/cli")) else { return };
    let stale: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.strip_suffix(".snap").is_some_and(|stem| !expected.contains(stem)))
        .collect();
    assert!(stale.is_empty(), "stale snapshots in snapshots/cli (delete them): {stale:#?}");
}

#[test]
fn a_model_defined_in_two_specs_points_at_both() {
    let spec = "version: 1\ndialect: duckdb\nmodels:\n  - name: fct_events\n    from: source('raw', 'events')\n    unique_key: event_id\n    load_time: loaded_at\n";
    let project = Project::new(spec);
    project.write("specs/a.yml", spec);
    project.write("specs/b.yml", &format!("# the same model again\n{spec}"));
    let run = project.run(&["generate", "--spec", "specs"]).expect(2);
    assert!(!project.exists("models/fct_events.sql"), "nothing is written");
    snapshot("two_specs_one_model", &run.shown());
}
