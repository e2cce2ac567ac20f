//! Snapshot tests of everything dbt-incr emits, driven by fixture files:
//!
//! - `tests/fixtures/specs/*.yml` × every dialect: the generated model files, and the SQL of each
//!   branch compiled offline (or, where the dialect cannot keep the promise, the error);
//! - `tests/fixtures/dialects/<dialect>/*.yml`: dialect-specific specs, the same way;
//! - `tests/fixtures/errors/*.yml`: specs that must fail, with their messages;
//! - the macro package.
//!
//! Every compiled branch must parse with `sqlparser` in its dialect and pass the dialect's
//! capability checks. A new case is a new fixture file; accept new snapshots with
//! `INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test --test generate` and review the diff.

mod common;
use common::{root, snapshot};

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dbt_incr::compile::{self, Branch, MOCK_WATERMARK};
use dbt_incr::dialect::{DIALECTS, Dialect, Strategy};
use dbt_incr::error::Error;
use dbt_incr::render::macros;
use dbt_incr::render::{Renderer, runbook};
use dbt_incr::spec::{self, DialectChoice, Model, SpecSource};


fn fixtures(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}


/// Shown path of a fixture: relative to tests/fixtures, so snapshots do not depend on the checkout.
fn shown(path: &Path) -> PathBuf {
    path.strip_prefix(root().join("tests/fixtures")).unwrap().to_path_buf()
}

struct Rendered {
    model: Model,
    path: String,
    text: String,
}

fn render(path: &Path, choice: &DialectChoice) -> Result<Vec<Rendered>, Error> {
    let text = std::fs::read_to_string(path).unwrap();
    let shown = shown(path);
    let spec = spec::parse(SpecSource { path: &shown, text: &text }, choice)?;
    let renderer = Renderer::new();
    spec.models
        .into_iter()
        .map(|model| {
            let text = renderer.model(&model, &shown.to_string_lossy())?;
            let mut path = PathBuf::from("models");
            path.extend(&model.path);
            path.push(format!("{}.sql", model.name));
            Ok(Rendered { model, path: path.to_string_lossy().into_owned(), text })
        })
        .collect()
}

/// Parses `sql` with the dialect's sqlparser dialect; panics with the SQL on failure.
fn assert_parses(dialect: &Dialect, case: &str, sql: &str) {
    let parser = common::sqlparser_dialect(dialect.name);
    if let Err(e) = sqlparser::parser::Parser::parse_sql(parser.as_ref(), sql) {
        panic!("{case}: compiled SQL does not parse for {}: {e}\n{sql}", dialect.name);
    }
}

/// What each warehouse must (not) see in compiled SQL, beyond parsing.
fn assert_capabilities(dialect: &Dialect, model: &Model, branch: Branch, case: &str, sql: &str) {
    let lower = sql.to_lowercase();
    if !dialect.qualify {
        assert!(!lower.contains("qualify"), "{case}: {} has no QUALIFY\n{sql}", dialect.name);
    } else if !model.unique_key.is_empty() {
        assert!(lower.contains("qualify row_number()"), "{case}: {} should dedup with QUALIFY\n{sql}", dialect.name);
    }
    // `from t qualify …` reads `qualify` as an alias of t on Redshift (dbt-core #10424): the
    // relation before QUALIFY always carries an alias (or a WHERE stands between them).
    let lines: Vec<&str> = lower.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    for pair in lines.windows(2) {
        if pair[1].starts_with("qualify") {
            let words: Vec<&str> = pair[0].split_whitespace().collect();
            assert!(!(words.len() == 2 && words[0] == "from"), "{case}: QUALIFY right after an unaliased relation (`{}`)\n{sql}", pair[0]);
        }
    }
    if !dialect.correlated_exists {
        assert!(!lower.contains("exists ("), "{case}: {} has no correlated subqueries\n{sql}", dialect.name);
    }
    // Trino (and Athena, which runs Trino) cannot plan a correlated subquery that holds another
    // subquery, even an uncorrelated one ("Given correlated subquery is not supported",
    // trinodb/trino#18727).
    if matches!(dialect.name, "trino" | "athena") {
        for (at, _) in lower.match_indices("exists (") {
            let inner = parenthesised(&lower[at + "exists ".len()..]);
            // A derived table (`from (select …) as t`) is a relation, not a subquery expression.
            let nested = inner[1..].match_indices('(').filter(|(i, _)| {
                let (before, after) = inner[1..].split_at(*i);
                after[1..].trim_start().starts_with("select") && !before.trim_end().ends_with("from") && !before.trim_end().ends_with("join")
            });
            assert_eq!(nested.count(), 0, "{case}: a subquery inside a correlated subquery on {}\n{inner}", dialect.name);
        }
    }
    // Quoting: spec names are emitted bare (validated plain identifiers); names read from the
    // catalog at run time are quoted the dialect's way (`adapter.quote`). The other quote
    // character never appears: on BigQuery, Spark and Databricks a double quote starts a string,
    // not an identifier; elsewhere a backtick is a syntax error.
    let other = if dialect.quote == '"' { '`' } else { '"' };
    assert!(!sql.contains(other), "{case}: `{other}` does not quote identifiers on {}\n{sql}", dialect.name);
    if dialect.name == "sqlserver" {
        assert!(!lower.contains("as timestamp)"), "{case}: timestamp is a row-version type on SQL Server\n{sql}");
    }
    if branch == Branch::Incremental && model.strategy != Strategy::Microbatch {
        let expected = if model.strategy == Strategy::InsertOverwrite {
            // Read before the model runs and written as a constant: the overwrite may not read
            // the table it replaces.
            format!("{} > cast('{MOCK_WATERMARK}' as timestamp)", model.load_time)
        } else if model.lookback.is_zero() {
            format!("max({})", model.load_time)
        } else if dialect.literal_watermark {
            format!("timestamp('{MOCK_WATERMARK}', 'UTC')")
        } else {
            dialect
                .interval_example
                .replace('3', &model.lookback.amount.to_string())
                .replace("day", model.lookback.unit.name())
                .replace("{ts}", &format!("max({})", model.load_time))
        };
        assert!(lower.contains(&expected.to_lowercase()), "{case}: expected the {} watermark `{expected}`\n{sql}", dialect.name);
    }
    if branch == Branch::Backfill && model.strategy != Strategy::Microbatch {
        let column = model.event_time.as_deref().unwrap_or(&model.load_time);
        assert!(lower.contains(&format!("{column} >= ")), "{case}: backfill filters on {column}\n{sql}");
    }
}

/// The text from `text`'s opening parenthesis to its matching closing one.
fn parenthesised(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..=i];
                }
            }
            _ => {}
        }
    }
    text
}

/// Renders one spec for one dialect; snapshots the files and the compiled branches (or the error).
fn check_case(path: &Path, dialect: &'static Dialect, choice: &DialectChoice, seen: &mut BTreeSet<String>) {
    let stem = path.file_stem().unwrap().to_string_lossy();
    let name = format!("{stem}@{}", dialect.name);
    match render(path, choice) {
        Err(e) => {
            snapshot("generated", &name, &format!("error (exit 2):\n{e}"));
            seen.insert(format!("generated/{name}"));
        }
        Ok(rendered) => {
            let mut files = String::new();
            let mut compiled = String::new();
            for r in &rendered {
                writeln!(files, "==> {} <==\n{}", r.path, r.text).unwrap();
                for branch in Branch::ALL {
                    let case = format!("{name} {} {branch}", r.model.name);
                    // Backfill vars are refused where a backfill cannot be idempotent.
                    let refuses_backfill = r.model.unique_key.is_empty() || r.model.strategy == Strategy::Microbatch;
                    let sql = match compile::compile(&r.model, &r.text, dialect, branch) {
                        Err(e) if branch == Branch::Backfill && refuses_backfill => {
                            let message = e.to_string();
                            assert!(message.contains("dbt_incr:"), "{case}: {message}");
                            writeln!(compiled, "==> {} · {branch} <==\n{}\n", r.model.name, message.trim_end()).unwrap();
                            continue;
                        }
                        Err(e) => panic!("{case}: {e}"),
                        Ok(sql) => sql,
                    };
                    assert!(!(branch == Branch::Backfill && refuses_backfill), "{case}: backfill vars should be refused");
                    assert_parses(dialect, &case, &sql);
                    assert_capabilities(dialect, &r.model, branch, &case, &sql);
                    writeln!(compiled, "==> {} · {branch} <==\n{sql}", r.model.name).unwrap();
                }
            }
            snapshot("generated", &name, &files);
            snapshot("compiled", &name, &compiled);
            seen.insert(format!("generated/{name}"));
            seen.insert(format!("compiled/{name}"));
        }
    }
}

fn all_cases() -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for path in fixtures(&root().join("tests/fixtures/specs")) {
        for dialect in DIALECTS {
            let choice = DialectChoice { cli: Some(dialect.name.to_string()), ..DialectChoice::default() };
            check_case(&path, dialect, &choice, &mut seen);
        }
    }
    for dialect in DIALECTS {
        for path in fixtures(&root().join("tests/fixtures/dialects").join(dialect.name)) {
            check_case(&path, dialect, &DialectChoice::default(), &mut seen);
        }
    }
    seen
}

#[test]
fn specs_for_every_dialect() {
    all_cases();
}

#[test]
fn bad_specs_fail_with_their_message() {
    // As if the profile's adapter were duckdb; fixtures that need another dialect say so.
    let choice = DialectChoice { profile: Some(("duckdb".into(), "profiles.yml".into())), ..DialectChoice::default() };
    let files = fixtures(&root().join("tests/fixtures/errors"));
    assert!(files.len() >= 30, "the bad-spec corpus has {} files", files.len());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        match render(&path, &choice) {
            Ok(_) => panic!("{} should fail", path.display()),
            Err(e) => snapshot("errors", &stem, &e.to_string()),
        }
    }
}

#[test]
fn macro_package() {
    for (file, source) in macros::FILES {
        snapshot("macros", file.trim_end_matches(".sql"), &macros::with_header(source));
    }
}

/// Each dialect has a fixture folder, and each fixture folder is a dialect.
#[test]
fn every_dialect_has_fixtures() {
    let dir = root().join("tests/fixtures/dialects");
    let folders: BTreeSet<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let dialects: BTreeSet<String> = Dialect::names().map(str::to_string).collect();
    assert_eq!(folders, dialects, "tests/fixtures/dialects/ must hold one folder per dialect in src/dialect.rs");
    for d in &dialects {
        assert!(!fixtures(&dir.join(d)).is_empty(), "tests/fixtures/dialects/{d}/ has no spec");
    }
}

/// Every `<prefix>__dbt_incr_*` override in the macro package names a known dialect, and every
/// dispatched macro has a `default__`.
#[test]
fn macro_overrides_name_known_dialects() {
    let known: BTreeSet<&str> = Dialect::names().chain(["default"]).collect();
    let mut dispatched = BTreeSet::new();
    for (file, source) in macros::FILES {
        for line in source.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("{% macro ") {
                let name = rest.split('(').next().unwrap();
                if let Some((prefix, macro_name)) = name.split_once("__") {
                    assert!(known.contains(prefix), "{file}: `{name}` overrides for unknown dialect `{prefix}`");
                    dispatched.insert(macro_name.to_string());
                }
            }
        }
    }
    for name in dispatched {
        let default = format!("macro default__{name}(");
        assert!(macros::FILES.iter().any(|(_, s)| s.contains(&default)), "`{name}` has overrides but no default__");
    }
}

/// No snapshot is left over from a fixture or dialect that no longer exists.
#[test]
fn no_stale_snapshots() {
    let mut expected = all_cases();
    for path in fixtures(&root().join("tests/fixtures/errors")) {
        expected.insert(format!("errors/{}", path.file_stem().unwrap().to_string_lossy()));
    }
    for (file, _) in macros::FILES {
        expected.insert(format!("macros/{}", file.trim_end_matches(".sql")));
    }
    let mut stale = Vec::new();
    for dialect in DIALECTS {
        expected.insert(format!("runbook/{}", dialect.name));
    }
    for folder in ["generated", "compiled", "errors", "macros", "runbook"] {
        let dir = root().join("snapshots").join(folder);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".snap")
                && !expected.contains(&format!("{folder}/{stem}"))
            {
                stale.push(format!("snapshots/{folder}/{name}"));
            }
        }
    }
    assert!(stale.is_empty(), "stale snapshots (delete them): {stale:#?}");
}

/// The specs whose runbooks are snapshotted for every dialect: a keyed model, an append-only one,
/// deletes, no event time, microbatch with and without a key.
const RUNBOOK_SPECS: &[&str] = &["basic.yml", "append_only.yml", "deletes.yml", "no_event_time.yml", "microbatch.yml", "microbatch_facts.yml"];

/// Every model's backfill runbook (the `<model>.md` docs block), per dialect: `snapshots/runbook/<dialect>`.
#[test]
fn runbooks_for_every_dialect() {
    for dialect in DIALECTS {
        let mut out = String::new();
        let mut paths: Vec<PathBuf> = RUNBOOK_SPECS.iter().map(|f| root().join("tests/fixtures/specs").join(f)).collect();
        paths.extend(fixtures(&root().join("tests/fixtures/dialects").join(dialect.name)));
        for path in paths {
            let choice = DialectChoice { cli: Some(dialect.name.to_string()), ..DialectChoice::default() };
            let shown = shown(&path).to_string_lossy().replace('\\', "/");
            match render(&path, &choice) {
                Err(e) => writeln!(out, "==> {shown}: refused on {}: {} <==\n", dialect.name, e.to_string().lines().next().unwrap_or_default()).unwrap(),
                Ok(rendered) => {
                    for r in rendered {
                        let text = runbook::render(&r.model, &shown);
                        for delimiter in ["{{", "{%", "{#"] {
                            let body = runbook::body(&r.model);
                            assert!(!body.contains(delimiter), "{shown} {}: the runbook holds `{delimiter}`, which dbt would render as Jinja", r.model.name);
                        }
                        writeln!(out, "==> {shown} · {} <==\n{text}", r.model.name).unwrap();
                    }
                }
            }
        }
        snapshot("runbook", dialect.name, &out);
    }
}

/// A runbook is the same on every dialect, but for the rules about settings only some dialects
/// have (partition_by, order_by, file_format, table_type, appending by position).
#[test]
fn runbooks_differ_only_where_dialects_do() {
    let path = root().join("tests/fixtures/specs/basic.yml");
    let dialect_lines = ["`partition_by`", "`order_by`", "`file_format`", "`table_type`", "appends by column position"];
    let mut seen: Option<(String, String)> = None;
    for dialect in DIALECTS {
        let choice = DialectChoice { cli: Some(dialect.name.to_string()), ..DialectChoice::default() };
        let Ok(rendered) = render(&path, &choice) else { continue };
        let body: String = runbook::body(&rendered[0].model).lines().filter(|l| !dialect_lines.iter().any(|d| l.contains(d))).map(|l| format!("{l}\n")).collect();
        match &seen {
            None => seen = Some((dialect.name.to_string(), body)),
            Some((first, text)) => assert_eq!(text, &body, "the runbook of basic.yml differs between {first} and {}", dialect.name),
        }
    }
}

/// The backfill vars reach the SQL only as a date or timestamp; `T` is read as a space (Trino and
/// Athena reject it in a cast), and the order check compares them as times, not as text.
#[test]
fn backfill_vars_are_checked() {
    let path = root().join("tests/fixtures/specs/basic.yml");
    let cases: &[(&str, &str, Result<&str, &str>)] = &[
        ("2024-01-01", "2024-02-01", Ok("'2024-01-01'")),
        ("2024-01-01T06:00:00", "2024-01-01 07:00:00", Ok("'2024-01-01 06:00:00'")),
        ("2024-01-01 06:00", "2024-01-01T06:30", Ok("'2024-01-01 06:30'")),
        ("2024-01-01 06:00:00.123456", "2024-01-02", Ok("'2024-01-01 06:00:00.123456'")),
        ("2024-1-01", "2024-02-01", Err("backfill_start must be a date or timestamp")),
        ("2024-01-01 6:00", "2024-02-01", Err("backfill_start must be a date or timestamp")),
        ("2024-01-01", "2024-02-01'; drop table x; --", Err("backfill_end must be a date or timestamp")),
        ("2024-01-01T07:00:00", "2024-01-01 06:00:00", Err("must be before backfill_end")),
        ("2024-01-01", "2024-01-01", Err("must be before backfill_end")),
        ("2024-02-30", "2024-03-01", Err("backfill_start must be a date or timestamp")),
        ("2024-13-01", "2024-14-01", Err("backfill_start must be a date or timestamp")),
        ("2024-02-29", "2024-03-01 24:00", Err("backfill_end must be a date or timestamp")),
        ("2023-02-28", "2023-03-01", Ok("'2023-02-28'")),
    ];
    for dialect in ["duckdb", "trino"] {
        let choice = DialectChoice { cli: Some(dialect.into()), cli_overrides_spec: true, profile: None };
        let rendered = render(&path, &choice).unwrap();
        let r = &rendered[0];
        for (start, end, want) in cases {
            let mock = compile::Mock { vars: Some((Some(start.to_string()), Some(end.to_string()))), source_columns: None, batch: None, config: Default::default() };
            let got = compile::compile_with(&r.model, &r.text, Dialect::find(dialect).unwrap(), Branch::Backfill, &mock);
            match (want, got) {
                (Ok(literal), Ok(c)) => {
                    assert!(c.sql.contains(literal), "{dialect} {start}..{end}: expected {literal} in\n{}", c.sql);
                    assert!(!c.sql.contains("T0"), "{dialect} {start}..{end}: a T reached the SQL\n{}", c.sql);
                }
                (Err(message), Err(e)) => assert!(e.to_string().contains(message), "{dialect} {start}..{end}: {e}"),
                (want, got) => panic!("{dialect} {start}..{end}: expected {want:?}, got {got:?}"),
            }
        }
    }
}

/// A model that reads its input's columns at run time and finds none (a materialized view on
/// Postgres, missing privileges) stops with a message, instead of writing a table of no columns.
#[test]
fn no_columns_found_at_run_time_is_a_compile_error() {
    let path = root().join("tests/fixtures/specs/basic.yml");
    for dialect in DIALECTS {
        let choice = DialectChoice { cli: Some(dialect.name.into()), cli_overrides_spec: true, profile: None };
        let Ok(rendered) = render(&path, &choice) else { continue };
        for r in rendered.iter().filter(|r| r.model.columns.is_none() && !r.model.unique_key.is_empty()) {
            let mock = compile::Mock { vars: None, source_columns: Some(Vec::new()), batch: None, config: Default::default() };
            let err = compile::compile_with(&r.model, &r.text, dialect, Branch::FullRefresh, &mock).expect_err(dialect.name).to_string();
            assert!(err.contains("found none") && err.contains("`columns`"), "{}: {err}", dialect.name);
        }
    }
}

/// ClickHouse's default sorting key is the unique key through assumeNotNull: a Nullable column in
/// a MergeTree sorting key is refused (`allow_nullable_key` is off by default), which failed the
/// first run of every model whose key column is Nullable (tests/engines, clickhouse: every keyed
/// scenario). ClickHouse still uses `assumeNotNull(k)` for `(k) in (…)`. A spec's own order_by is
/// passed as written.
#[test]
fn clickhouse_default_sorting_key_takes_nullable_keys() {
    let path = root().join("tests/fixtures/dialects/clickhouse/order_by.yml");
    let choice = DialectChoice { cli: None, cli_overrides_spec: false, profile: None };
    let rendered = render(&path, &choice).expect("renders");
    let config = |name: &str| rendered.iter().find(|r| r.model.name == name).unwrap().text.clone();
    assert!(config("fct_events").contains("order_by=['assumeNotNull(event_id)']"), "{}", config("fct_events"));
    assert!(config("fct_page_views").contains("order_by=['viewed_at', 'view_id']"), "{}", config("fct_page_views"));
}

/// What `dbt-incr dialects` says about how a dialect is proven holds: an end-to-end dialect is an
/// engine of the real-engine suite that runs in CI, an emulated one an engine of that suite, an
/// executed one an engine of the differential suite; every dialect has its written review.
#[test]
fn every_dialect_is_proven_as_it_says() {
    use dbt_incr::dialect::Proof;
    let read = |p: &str| std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let list = |text: &str, marker: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(marker)).unwrap_or_else(|| panic!("no `{marker}` line"));
        line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()].split(',').map(|s| s.trim().trim_matches('"').to_string()).filter(|s| !s.is_empty()).collect()
    };
    let engines = list(&read("tests/engines/engines/__init__.py"), "ALL = [");
    let differential = list(&read("tests/differential/suite.py"), "ENGINES = [");
    for d in DIALECTS {
        assert!(root().join(format!("docs/dialects/{}.md", d.name)).is_file(), "docs/dialects/{}.md: every dialect has its written review", d.name);
        let in_engines = engines.contains(&d.name.to_string());
        let ci = in_engines && read(&format!("tests/engines/engines/{}.py", d.name)).contains("\nCI = True");
        let executed = differential.contains(&d.name.to_string());
        match d.proof {
            Proof::EndToEnd => assert!(ci && executed, "{}: end to end needs a CI engine in tests/engines and the differential suite", d.name),
            Proof::Emulated => assert!(in_engines, "{}: emulated needs an engine module in tests/engines", d.name),
            Proof::Executed => assert!(executed, "{}: executed needs the differential suite", d.name),
            Proof::Reviewed => {}
        }
    }
}
