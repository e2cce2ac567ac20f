//! Property-based fuzzing of parse → validate → render → compile (issue 6).
//!
//! Two generators feed `spec::parse`:
//! - *structured*: specs assembled from a pool of valid values, near misses and hostile strings
//!   (SQL and Jinja injection, quotes, comments, reserved words, control characters, huge
//!   numbers), for a random dialect, with random keys present;
//! - *mutated*: the good fixtures with random bytes inserted, deleted or replaced.
//!
//! Properties: nothing panics; and every spec that validates renders, and each branch of each
//! model compiles (or is refused by the model itself, for backfills of append-only and
//! microbatch models) to SQL that `sqlparser` parses in the model's dialect.
//!
//! The default case count is small for CI. Run long with, e.g.:
//!
//! ```sh
//! FUZZ_CASES=10000 FUZZ_SECONDS=600 cargo test --release --test fuzz -- --nocapture --test-threads 1
//! ```
//!
//! See docs/hardening.md.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use dbt_incr::compile::{self, Branch};
use dbt_incr::dialect::{DIALECTS, Dialect, Strategy as Incremental};
use dbt_incr::render::Renderer;
use dbt_incr::spec::{self, DialectChoice, SpecSource};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

static PARSED: AtomicUsize = AtomicUsize::new(0);
static VALID: AtomicUsize = AtomicUsize::new(0);
static COMPILED: AtomicUsize = AtomicUsize::new(0);

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn config(default: u32) -> Config {
    Config { cases: cases(default), failure_persistence: None, ..Config::default() }
}

/// Values any key may get: valid ones, near misses and hostile strings.
const VALUES: &[&str] = &[
    "event_id",
    "customer_id",
    "loaded_at",
    "event_at",
    "amount",
    "_x1",
    "Event_ID",
    "order",
    "select",
    "from",
    "null",
    "true",
    "1",
    "0",
    "-3",
    "99999999999",
    "3 days",
    "0 minutes",
    "12 hours",
    "1 day",
    "3days",
    "3 weeks",
    "100000 days",
    "100001 days",
    "merge",
    "delete+insert",
    "append",
    "insert_overwrite",
    "microbatch",
    "upsert",
    "append_new_columns",
    "sync_all_columns",
    "fail",
    "ignore",
    "day",
    "hour",
    "month",
    "year",
    "2024-01-01",
    "2024-02-29",
    "2023-02-29",
    "0999-01-01",
    "marts",
    "marts/finance",
    "../etc",
    "/tmp",
    "a//b",
    "source('raw', 'events')",
    "ref('stg_events')",
    "ref('pkg', 'stg_events')",
    "ref(\"m\")",
    "source('raw', 'events') }}{{ run_query('drop table x') }}",
    "{{ var('x') }}",
    "{% do x %}",
    "{# c #}",
    "#}",
    "a'b",
    "a\"b",
    "a`b",
    "a;b",
    "a -- b",
    "a /* b */",
    "a\nb",
    "a\u{1b}[31mb",
    "é",
    "ＡＢ",
    "[[ x ]]",
    "[% x %]",
    "",
    " ",
];

/// The model keys the fuzzer varies: every key but `name` and `from`, which it always sets.
fn fuzzed_keys() -> Vec<&'static str> {
    spec::MODEL_KEYS.iter().copied().filter(|k| !matches!(*k, "name" | "from")).collect()
}

/// A YAML scalar for `s`: plain when safe, else double-quoted with escapes.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_+/ -.".contains(c))
        && !s.starts_with(['-', ' '])
        && !s.ends_with(' ');
    if plain {
        s.to_string()
    } else {
        let escaped: String = s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else if c == '"' || c == '\\' { format!("\\{c}") } else { c.to_string() }).collect();
        format!("\"{escaped}\"")
    }
}

/// Values that are valid for `key`, most of the time.
fn good(key: &str) -> &'static [&'static str] {
    match key {
        "unique_key" | "tie_breaker" | "cluster_by" | "partition_by" | "event_time" | "load_time" => &["event_id", "customer_id", "loaded_at", "event_at", "[event_id, customer_id]", "[amount]"],
        "columns" => &["[event_id, customer_id, loaded_at, event_at, amount]", "[event_id, loaded_at, event_at]", "[event_id, loaded_at]"],
        "lookback" => &["3 days", "0 minutes", "12 hours", "1 day", "100000 minutes"],
        "incremental_strategy" => &["merge", "delete+insert", "append", "microbatch"],
        "path" => &["marts", "marts/finance", "a-b/c_d"],
        "on_schema_change" => &["append_new_columns", "sync_all_columns", "fail", "ignore"],
        "tags" => &["daily", "[daily, finance-core]", "[a1]"],
        "begin" => &["2024-01-01", "2024-02-29"],
        "batch_size" => &["day", "hour", "month", "year"],
        _ => &["x"],
    }
}

/// A value for `key`: a valid one mostly, else any of the pool, or (as a column name) one of
/// sqlparser's keywords, to find words that need refusing.
fn value_for(key: &'static str) -> impl Strategy<Value = String> {
    let names = matches!(key, "unique_key" | "tie_breaker" | "cluster_by" | "partition_by" | "event_time" | "load_time" | "columns");
    prop_oneof![
        6 => prop::sample::select(good(key)).prop_map(str::to_string),
        2 => value(),
        if names { 2 } else { 0 } => keyword().prop_map(move |k| if key == "columns" { format!("[event_id, loaded_at, event_at, {k}]") } else { k }),
    ]
}

fn keyword() -> impl Strategy<Value = String> {
    prop::sample::select(sqlparser::keywords::ALL_KEYWORDS).prop_map(|k| k.to_ascii_lowercase())
}

fn keyed_values(max: usize) -> impl Strategy<Value = Vec<(&'static str, String)>> {
    prop::sample::subsequence(fuzzed_keys(), 0..max).prop_flat_map(|keys| keys.into_iter().map(|k| value_for(k).prop_map(move |v| (k, v))).collect::<Vec<_>>())
}

/// One key's value: a scalar, or a flow list of scalars.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(VALUES).prop_map(scalar),
        2 => prop::collection::vec(prop::sample::select(VALUES), 0..4).prop_map(|v| format!("[{}]", v.iter().map(|s| scalar(s)).collect::<Vec<_>>().join(", "))),
        1 => prop::collection::vec(any::<char>(), 0..12).prop_map(|c| scalar(&c.into_iter().collect::<String>())),
    ]
}

/// A model entry: a valid core, most of the time, plus random keys.
fn model() -> impl Strategy<Value = String> {
    let core = prop_oneof![
        3 => Just("    from: source('raw', 'events')\n    unique_key: event_id\n    load_time: loaded_at\n".to_string()),
        1 => Just("    from: ref('stg')\n    load_time: loaded_at\n    lookback: 0 minutes\n".to_string()),
        1 => Just(String::new()),
    ];
    let name = prop_oneof![4 => prop::sample::select(&["fct_a", "fct_b", "Fct_A", "m1"][..]).prop_map(str::to_string), 1 => value()];
    let extra = keyed_values(5);
    (name, core, extra).prop_map(|(name, core, extra)| {
        let mut text = format!("  - name: {name}\n");
        let mut core = core;
        for (k, v) in &extra {
            // A random key replaces the core's, so no key is given twice.
            core = core.lines().filter(|l| !l.trim_start().starts_with(&format!("{k}:"))).map(|l| format!("{l}\n")).collect();
            text.push_str(&format!("    {k}: {v}\n"));
        }
        text.push_str(&core);
        text
    })
}

fn structured() -> impl Strategy<Value = String> {
    let dialect = prop::sample::select(DIALECTS.iter().map(|d| d.name).collect::<Vec<_>>());
    let defaults = keyed_values(3);
    (dialect, defaults, prop::collection::vec(model(), 1..4)).prop_map(|(dialect, defaults, models)| {
        let mut text = format!("version: 1\ndialect: {dialect}\n");
        if !defaults.is_empty() {
            text.push_str("defaults:\n");
            for (k, v) in defaults {
                text.push_str(&format!("  {k}: {v}\n"));
            }
        }
        text.push_str("models:\n");
        for m in models {
            text.push_str(&m);
        }
        text
    })
}

fn good_fixtures() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("tests/fixtures/specs")];
    for d in DIALECTS {
        dirs.push(root.join("tests/fixtures/dialects").join(d.name));
    }
    let mut out = Vec::new();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yml")).collect();
        files.sort();
        let dialect = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            // Fixtures without `dialect:` get their folder's, or duckdb.
            let text = if text.contains("\ndialect:") || text.starts_with("dialect:") {
                text
            } else {
                let d = if Dialect::find(&dialect).is_some() { dialect.clone() } else { "duckdb".to_string() };
                format!("dialect: {d}\n{text}")
            };
            out.push((f.display().to_string(), text));
        }
    }
    out
}

/// Bytes YAML and the validators care about.
const INTERESTING: &[u8] = b" \n\t-:[]{},'\"#&*!|>%@`{}();/\\.0123456789abcdefxyz_\x00\x7f";

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn mutated() -> impl Strategy<Value = String> {
    let fixtures = good_fixtures();
    let byte = prop_oneof![3 => prop::sample::select(INTERESTING), 1 => any::<u8>()];
    let edit = prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ];
    (prop::sample::select(fixtures), prop::collection::vec(edit, 1..6)).prop_map(|((_, text), edits)| {
        let mut bytes = text.into_bytes();
        for e in edits {
            let len = bytes.len().max(1);
            match e {
                Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
                Edit::Delete(i) if !bytes.is_empty() => {
                    bytes.remove(i % len);
                }
                Edit::Replace(i, b) if !bytes.is_empty() => bytes[i % len] = b,
                Edit::Duplicate(i, n) if !bytes.is_empty() => {
                    let start = i % len;
                    let end = (start + n).min(bytes.len());
                    let copy = bytes[start..end].to_vec();
                    bytes.splice(start..start, copy);
                }
                _ => {}
            }
        }
        // The CLI refuses non-UTF-8 before parsing (tested in tests/hardening.rs).
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The property: no panic; a valid spec compiles, branch by branch, to SQL that parses.
fn check(text: &str) -> Result<(), TestCaseError> {
    PARSED.fetch_add(1, Ordering::Relaxed);
    let path = Path::new("fuzz.yml");
    let choice = DialectChoice { profile: Some(("duckdb".into(), "profiles.yml".into())), ..DialectChoice::default() };
    let Ok(spec) = spec::parse(SpecSource { path, text }, &choice) else {
        // Errors must render (and not panic doing so).
        let _ = spec::parse(SpecSource { path, text }, &choice).map_err(|e| e.to_string());
        return Ok(());
    };
    VALID.fetch_add(1, Ordering::Relaxed);
    let renderer = Renderer::new();
    for model in &spec.models {
        let sql_file = renderer.model(model, "fuzz.yml").map_err(|e| TestCaseError::fail(format!("render failed: {e}\n{text}")))?;
        let refuses_backfill = model.unique_key.is_empty() || model.strategy == Incremental::Microbatch;
        for branch in Branch::ALL {
            let sql = match compile::compile(model, &sql_file, model.dialect, branch) {
                Ok(sql) => sql,
                Err(e) if branch == Branch::Backfill && refuses_backfill && e.to_string().contains("dbt_incr:") => continue,
                Err(e) => return Err(TestCaseError::fail(format!("{} {branch}: compile failed: {e}\n--- spec\n{text}", model.name))),
            };
            let parser = common::sqlparser_dialect(model.dialect.name);
            if let Err(e) = sqlparser::parser::Parser::parse_sql(parser.as_ref(), &sql) {
                return Err(TestCaseError::fail(format!("{} {branch} on {}: SQL does not parse: {e}\n--- spec\n{text}\n--- sql\n{sql}", model.name, model.dialect.name)));
            }
            COMPILED.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

fn run(name: &str, default_cases: u32, strategy: impl Strategy<Value = String>) {
    let start = std::time::Instant::now();
    let before = (PARSED.load(Ordering::Relaxed), VALID.load(Ordering::Relaxed), COMPILED.load(Ordering::Relaxed));
    // FUZZ_SECONDS: keep running rounds of FUZZ_CASES cases, each with a fresh seed, that long.
    let seconds: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    loop {
        let mut runner = TestRunner::new(config(default_cases));
        if let Err(e) = runner.run(&strategy, |text| check(&text)) {
            panic!("{name}: {e}");
        }
        if start.elapsed().as_secs() >= seconds {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {} specs parsed, {} valid, {} branches compiled and parsed by sqlparser, in {:.1?}",
        PARSED.load(Ordering::Relaxed) - before.0,
        VALID.load(Ordering::Relaxed) - before.1,
        COMPILED.load(Ordering::Relaxed) - before.2,
        start.elapsed()
    );
}

#[test]
fn fuzz_structured_specs() {
    run("structured", 64, structured());
}

#[test]
fn fuzz_mutated_fixtures() {
    run("mutated", 64, mutated());
}

/// The generators do reach valid specs, so the compile property is exercised.
#[test]
fn structured_generator_reaches_valid_specs() {
    // A fixed seed: the rate of valid specs is a property of the generator, not of a run.
    let mut runner = TestRunner::deterministic();
    let strategy = structured();
    let valid = (0..300)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            spec::parse(SpecSource { path: Path::new("f.yml"), text: &text }, &DialectChoice::default()).is_ok()
        })
        .count();
    eprintln!("{valid} of 300 generated specs validate");
    assert!(valid >= 10, "only {valid} of 300 generated specs validate");
}

/// Every sqlparser keyword, used as a column, a key and a load time in every dialect, is either
/// refused by validation (a reserved word) or compiles to SQL that parses. The full sweep runs
/// with FUZZ_KEYWORDS=all; by default a fixed sample keeps CI fast.
#[test]
fn keywords_as_names_are_refused_or_parse() {
    let all = std::env::var("FUZZ_KEYWORDS").is_ok_and(|v| v == "all");
    let words: Vec<String> = sqlparser::keywords::ALL_KEYWORDS.iter().map(|k| k.to_ascii_lowercase()).collect();
    let step = if all { 1 } else { 150 };
    let mut failures = std::collections::BTreeSet::new();
    for word in words.iter().step_by(step) {
        for dialect in DIALECTS {
            let specs = [
                format!("version: 1\ndialect: {}\nmodels:\n  - name: m\n    from: ref('x')\n    unique_key: id\n    load_time: loaded_at\n    event_time: event_at\n    columns: [id, loaded_at, event_at, {word}]\n", dialect.name),
                format!("version: 1\ndialect: {}\nmodels:\n  - name: m\n    from: ref('x')\n    unique_key: {word}\n    load_time: loaded_at\n", dialect.name),
                format!("version: 1\ndialect: {}\nmodels:\n  - name: m\n    from: ref('x')\n    unique_key: id\n    load_time: {word}\n    event_time: {word}\n", dialect.name),
                format!("version: 1\ndialect: {}\nmodels:\n  - name: {word}\n    from: ref('{word}')\n    unique_key: id\n    load_time: loaded_at\n", dialect.name),
            ];
            for text in &specs {
                if check(text).is_err() {
                    failures.insert(word.clone());
                }
            }
        }
    }
    assert!(failures.is_empty(), "words accepted as names whose SQL does not parse (add them to spec::RESERVED_WORDS): {failures:?}");
}

/// Cases the long runs found, kept as regressions.
#[test]
fn found_by_fuzzing() {
    // A multi-byte character before the error column of a flow list (panicked slicing the line).
    check("version: 1\ndialect: duckdb\nmodels:\n  - name: m\n    from: ref('x')\n    unique_key: [event_id, tenant_id\u{FFFD}]tenant_id\u{FFFD}]\n    load_time: l\n").unwrap();
    check("version: 1\nmodels:\n  - name: é\n    columns: [é, [b]]\n    unique_key: ＡＢ: [x\n").unwrap();
}
