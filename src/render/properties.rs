//! The dbt properties file written beside each generated model (`<name>.yml`): its description,
//! data tests on the unique key, and dbt unit tests (dbt ≥ 1.8) of both branches.
//!
//! The unit tests feed the model a late row, a correction, a duplicate and a stale version, and
//! state the rows it must return. The fixtures name only the columns the spec knows (unique key,
//! load time, event time); the others are null. Values are numbers for keys and timestamps for
//! times, so a key column must hold numbers or text.
//!
//! The `this` fixture is written as SQL (`format: sql`): a dict fixture makes dbt read the
//! model's own table for column types, which does not exist on a first `dbt build`.
//!
//! Unit tests are left out (with a comment saying why) where they could not run:
//! - microbatch models (dbt feeds them batches, which unit tests do not model);
//! - the incremental branch on a dialect whose watermark is read with a query before the model
//!   runs (BigQuery): in a unit test `this` is a CTE, not a table;
//! - models without `columns` on dialects without QUALIFY: there dedup names the columns, and in
//!   a unit test the source is a fixture whose columns cannot be read at run time.

use std::fmt::Write as _;

use crate::dialect::Strategy;
use super::header::MARKER;
use crate::spec::{Model, TimeUnit};

/// Minutes since 1970-01-01 00:00 of the target's newest load time in the incremental fixture.
const T0: i64 = 19_875 * 1440; // 2024-06-01 00:00:00

/// Where a model's description (its summary and backfill runbook, `super::runbook`) lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Description {
    /// In the docs block of `<model>.md`, beside the model: `description: '{{ doc("…") }}'`.
    DocsBlock,
    /// In the properties file itself, where the project's `docs-paths` leave the model folder out.
    Inline,
}

/// The properties file of `model`, declared in the spec at `spec_path`.
pub fn render(model: &Model, spec_path: &str, description: Description) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {MARKER} from {spec_path} (model {}).", model.name);
    out.push_str("# Do not edit by hand: change the spec and run `dbt-incr generate`.\n");
    out.push_str("version: 2\n\nmodels:\n");
    let _ = writeln!(out, "  - name: {}", model.name);
    match description {
        Description::DocsBlock => {
            let _ = writeln!(out, "    description: '{{{{ doc(\"{}\") }}}}'", super::runbook::doc_name(model));
        }
        Description::Inline => {
            out.push_str("    description: |\n");
            for line in super::runbook::body(model).lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
    }
    match model.unique_key.as_slice() {
        [] => {}
        [key] => {
            let _ = writeln!(out, "    columns:\n      - name: {key}\n        data_tests:\n          - unique\n          - not_null");
        }
        keys => {
            out.push_str("    columns:\n");
            for key in keys {
                let _ = writeln!(out, "      - name: {key}\n        data_tests:\n          - not_null");
            }
            // Under `arguments:` as dbt 1.11 requires (without it: a deprecation warning).
            out.push_str("    data_tests:\n      - dbt_incr_unique_combination:\n          arguments:\n");
            let _ = writeln!(out, "            columns: [{}]", keys.join(", "));
        }
    }
    out.push('\n');
    out.push_str(&unit_tests(model));
    out
}

/// One sentence on what the model holds and how incremental runs read it (the first paragraph of
/// its description).
pub fn summary(model: &Model) -> String {
    let from = model.from.jinja_call();
    if model.strategy == Strategy::Microbatch {
        let event = model.event_time.as_deref().unwrap_or(&model.load_time);
        let batch = model.batch_size.as_deref().unwrap_or("day");
        let rows = if model.unique_key.is_empty() {
            "every row is kept as loaded".to_string()
        } else {
            format!("one row per {}, the version with the latest {}", model.unique_key.join(", "), model.load_time)
        };
        return format!("Incremental model of {from}, built by dbt's microbatch one {batch} of {event} at a time: {rows}. A scheduled run re-runs the batches of the last {}.", model.lookback);
    }
    if model.unique_key.is_empty() {
        return format!(
            "Incremental copy of {from}, append-only: every row is kept as loaded; incremental runs read rows whose {} is newer than the target's newest.",
            model.load_time
        );
    }
    let key = model.unique_key.join(", ");
    format!(
        "Incremental model of {from}: one row per {key}, the version with the latest {}. Incremental runs re-read rows loaded within {} of the target's newest {}, and never replace a row with an older version.",
        model.load_time, model.lookback, model.load_time
    )
}

/// `YYYY-MM-DD HH:MM:SS` of `minutes` since the Unix epoch.
fn timestamp(minutes: i64) -> String {
    let days = minutes.div_euclid(1440);
    let rem = minutes.rem_euclid(1440);
    format!("{} {:02}:{:02}:00", crate::calendar::date_text(days), rem / 60, rem % 60)
}

/// A timestamp constant as `dbt_incr_timestamp_literal` writes it (dbt renders SQL fixtures
/// before the project's macros are available, so the macro cannot be called there).
fn timestamp_literal(dialect: &str, value: &str) -> String {
    match dialect {
        "bigquery" => format!("timestamp('{value}')"),
        "sqlserver" => format!("cast('{value}' as datetime2)"),
        "clickhouse" => format!("parseDateTime64BestEffort('{value}', 6)"),
        _ => format!("cast('{value}' as timestamp)"),
    }
}

fn lookback_minutes(model: &Model) -> i64 {
    i64::from(model.lookback.amount)
        * match model.lookback.unit {
            TimeUnit::Minute => 1,
            TimeUnit::Hour => 60,
            TimeUnit::Day => 1440,
        }
}

/// One fixture row: a key number (`None` for append-only models), a load time, an event time.
struct Row {
    key: Option<u32>,
    loaded: i64,
    event: i64,
    note: &'static str,
}

impl Row {
    fn new(key: Option<u32>, loaded: i64, note: &'static str) -> Row {
        Row { key, loaded, event: loaded - 60, note }
    }
}

/// Appends one fixture row to `out`, written in place (10,000 models write 150,000 of them).
fn yaml_row(out: &mut String, model: &Model, row: &Row, with_event: bool) {
    out.push_str("          - {");
    let mut sep = "";
    if let Some(k) = row.key {
        for key in &model.unique_key {
            let _ = write!(out, "{sep}{key}: {k}");
            sep = ", ";
        }
    }
    if with_event && let Some(e) = &model.event_time {
        let _ = write!(out, "{sep}{e}: \"{}\"", timestamp(row.event));
        sep = ", ";
    }
    let _ = write!(out, "{sep}{}: \"{}\"}}", model.load_time, timestamp(row.loaded));
    if !row.note.is_empty() {
        let _ = write!(out, "  # {}", row.note);
    }
    out.push('\n');
}

fn unit_tests(model: &Model) -> String {
    let name = &model.name;
    if model.strategy == Strategy::Microbatch {
        return "# No unit tests: dbt runs a microbatch model one batch at a time, which unit tests do not model.\n".to_string();
    }
    let mut out = String::new();
    let mut skipped = Vec::new();
    if model.columns.is_none() && !model.dialect.qualify && !model.unique_key.is_empty() {
        let _ = writeln!(
            out,
            "# No unit tests: {name} reads its source's columns at run time (no `columns` in the spec), and in a\n# unit test the source is a fixture whose columns cannot be read. List `columns` in the spec to get them."
        );
        return out;
    }
    let lookback = lookback_minutes(model);
    let from = model.from.jinja_call();
    out.push_str("unit_tests:\n");

    // Full refresh: every source row, deduplicated to the latest version per key.
    let t = T0;
    let (given, expected): (Vec<Row>, Vec<Row>) = if model.unique_key.is_empty() {
        let rows = vec![Row::new(None, t, ""), Row::new(None, t + 60, "a row equal to the next one: both are kept"), Row::new(None, t + 60, "")];
        let expected = vec![Row::new(None, t, ""), Row::new(None, t + 60, ""), Row::new(None, t + 60, "")];
        (rows, expected)
    } else {
        let given = vec![
            Row::new(Some(1), t, "first version of key 1"),
            Row::new(Some(1), t + 60, "correction of key 1: loaded later, wins"),
            Row::new(Some(2), t, "duplicate of key 2 ..."),
            Row::new(Some(2), t, "... kept once"),
            Row { key: Some(3), loaded: t, event: t - 30 * 1440, note: "late row: old event time" },
        ];
        let expected = vec![Row::new(Some(1), t + 60, ""), Row::new(Some(2), t, ""), Row::new(Some(3), t, "")];
        (given, expected)
    };
    let _ = writeln!(out, "  - name: {name}__full_refresh");
    let what = if model.unique_key.is_empty() { "every source row is kept as loaded" } else { "every source row, deduplicated to the latest version of each key" };
    let _ = writeln!(out, "    description: \"Full refresh: {what}.\"");
    let _ = writeln!(out, "    model: {name}");
    out.push_str("    overrides:\n      macros:\n        is_incremental: false\n");
    let _ = writeln!(out, "    given:\n      - input: {from}\n        rows:");
    for r in &given {
        yaml_row(&mut out, model, r, true);
    }
    out.push_str("    expect:\n      rows:\n");
    for r in &expected {
        yaml_row(&mut out, model, r, false);
    }

    if model.dialect.literal_watermark || model.strategy == Strategy::InsertOverwrite {
        let why = if model.strategy == Strategy::InsertOverwrite { "with insert_overwrite".to_string() } else { format!("on {}", model.dialect.name) };
        skipped.push(format!(
            "# No incremental unit test: {why} the watermark is read from the target with a query before the model\n# runs, and in a unit test the target (`this`) is a fixture, not a table.\n"
        ));
    } else {
        out.push('\n');
        out.push_str(&incremental_test(model, lookback, &from));
    }
    for s in skipped {
        out.push_str(&s);
    }
    out
}

fn incremental_test(model: &Model, lookback: i64, from: &str) -> String {
    let name = &model.name;
    let watermark = T0 - lookback;
    let mut out = String::new();
    let (given, this, expected): (Vec<Row>, Vec<Row>, Vec<Row>) = if model.unique_key.is_empty() {
        // Append-only models have no lookback: rows newer than the target's newest are appended.
        let given = vec![
            Row::new(None, T0 - 60, "already in the target: not read again"),
            Row::new(None, T0, "loaded with the target's newest: not read again"),
            Row::new(None, T0 + 60, "new row ..."),
            Row::new(None, T0 + 60, "... and an equal one: facts, both appended"),
        ];
        let this = vec![Row::new(None, T0, "")];
        let expected = vec![Row::new(None, T0 + 60, ""), Row::new(None, T0 + 60, "")];
        (given, this, expected)
    } else {
        let mut given = vec![Row::new(Some(5), watermark - 60, "loaded before the lookback window: not read again")];
        let late_load = if lookback >= 2 { watermark + 1 } else { T0 + 1 };
        given.push(Row { key: Some(3), loaded: late_load, event: watermark - 30 * 1440, note: "late row: old event time, recent load time" });
        if lookback >= 2 {
            given.push(Row::new(Some(1), watermark + 1, "older version of key 1 than the target's: never replaces it"));
        }
        given.push(Row::new(Some(2), T0 + 60, "correction of key 2"));
        given.push(Row::new(Some(4), T0 + 60, "new key 4 ..."));
        given.push(Row::new(Some(4), T0 + 60, "... delivered twice"));
        let this = vec![Row::new(Some(1), T0, ""), Row::new(Some(2), T0, "")];
        let expected = vec![Row::new(Some(2), T0 + 60, ""), Row::new(Some(3), late_load, ""), Row::new(Some(4), T0 + 60, "")];
        (given, this, expected)
    };
    let _ = writeln!(out, "  - name: {name}__incremental");
    let _ = writeln!(
        out,
        "    description: \"Incremental run: reads rows loaded after the target's newest {} minus the lookback, deduplicates them, and skips versions older than the target's.\"",
        model.load_time
    );
    let _ = writeln!(out, "    model: {name}");
    out.push_str("    overrides:\n      macros:\n        is_incremental: true\n");
    let _ = writeln!(out, "    given:\n      - input: {from}\n        rows:");
    for r in &given {
        yaml_row(&mut out, model, r, true);
    }
    // The target as SQL: a dict fixture would make dbt read the model's table for column types,
    // and that table does not exist before the first run.
    out.push_str("      - input: this\n        format: sql\n        rows: |\n");
    for (i, r) in this.iter().enumerate() {
        if i > 0 {
            out.push_str("          union all\n");
        }
        let mut cells = Vec::new();
        if let Some(k) = r.key {
            for key in &model.unique_key {
                cells.push(format!("{k} as {key}"));
            }
        }
        cells.push(format!("{} as {}", timestamp_literal(model.dialect.name, &timestamp(r.loaded)), model.load_time));
        let _ = writeln!(out, "          select {}", cells.join(", "));
    }
    out.push_str("    expect:\n      rows:\n");
    for r in &expected {
        yaml_row(&mut out, model, r, false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(timestamp(super::T0), "2024-06-01 00:00:00");
        assert_eq!(timestamp(super::T0 - 3 * 1440 + 61), "2024-05-29 01:01:00");
        assert_eq!(timestamp(super::T0 - 100_000 * 1440), "1750-08-17 00:00:00");
    }
}
