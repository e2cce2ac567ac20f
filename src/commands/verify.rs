//! `dbt-incr verify MODEL…`: does each table still hold exactly what a full refresh would build?
//! Compared on the warehouse through the user's dbt (`crate::backfill::verify`); exit 0 equal,
//! 1 different, 2 error.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::backfill::{DbtArgs, ProjectArgs};
use crate::backfill::verify::{self, Found, text};
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The models to compare, as in the spec.
    #[arg(required = true)]
    pub models: Vec<String>,
    /// Compare only rows whose event time (else load time) is at or after this (with --end).
    #[arg(long, value_name = "WHEN")]
    pub start: Option<String>,
    /// ... and before this (excluded).
    #[arg(long, value_name = "WHEN")]
    pub end: Option<String>,
    /// How many differing keys to show per model.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub sample: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub dbt: DbtArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> Result<ExitCode, Error> {
    let plan = args.project.plan()?;
    let checks = verify::checks(&plan, &args.models, args.start.as_deref(), args.end.as_deref())?;
    let dbt = args.dbt.dbt(&args.project, &plan.project.root);
    let found = verify::verify(&dbt, &checks, args.sample)?;
    match args.format {
        Format::Text => {
            for f in &found {
                print!("{}", found_text(f));
            }
        }
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&found).expect("plain data serialises");
            s.push('\n');
            print!("{s}");
        }
    }
    Ok(if found.iter().any(|f| f.error.is_some()) {
        ExitCode::from(2)
    } else if found.iter().all(Found::is_equal) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One model's comparison: the verdict and counts, then a sample of differing rows per key.
pub fn found_text(f: &Found) -> String {
    let mut out = String::new();
    let window = f.window.as_ref().map(|w| format!(", {} in [{}, {})", w.column, w.start, w.end)).unwrap_or_default();
    if let Some(e) = &f.error {
        let _ = writeln!(out, "{}: error: {e}", f.model);
        return out;
    }
    if f.is_equal() {
        let _ = writeln!(out, "{}: equal to a full refresh ({} rows{window})", f.model, f.table_rows);
        return out;
    }
    let _ = writeln!(
        out,
        "{}: DIFFERENT from a full refresh ({} rows in the table, {} in a full refresh{window}): {} row(s) only in the table, {} only in a full refresh, {} key(s) differ",
        f.model, f.table_rows, f.full_refresh_rows, f.only_in_table, f.only_in_full_refresh, f.keys_differing
    );
    if !f.only_table_columns.is_empty() {
        let _ = writeln!(out, "  columns only in the table: {}", f.only_table_columns.join(", "));
    }
    if !f.only_full_refresh_columns.is_empty() {
        let _ = writeln!(out, "  columns only in a full refresh: {}", f.only_full_refresh_columns.join(", "));
    }
    let groups = f.sample_by_key();
    if !groups.is_empty() {
        let _ = writeln!(out, "  differing rows, first {} key(s):", groups.len());
    }
    // In the table's column order (the JSON object comes back sorted by name).
    let mut columns: Vec<&String> = f.columns.iter().collect();
    for row in &f.sample {
        columns.extend(row.values.keys().filter(|k| !f.columns.contains(k)));
    }
    columns.dedup();
    for (key, rows) in groups {
        let _ = writeln!(out, "    {key}");
        for row in &rows {
            let values: Vec<String> = columns.iter().filter(|c| row.values.contains_key(**c)).map(|c| format!("{c}={}", text(row.values.get(*c)))).collect();
            let side = if row.table > row.full_refresh { format!("table ×{}", row.table - row.full_refresh) } else { format!("full refresh ×{}", row.full_refresh - row.table) };
            let _ = writeln!(out, "      {side:<16} {}", values.join(", "));
        }
        if let [a, b] = &rows[..] {
            let differ: Vec<&String> = columns.iter().copied().filter(|k| a.values.get(*k) != b.values.get(*k)).collect();
            if !differ.is_empty() {
                let _ = writeln!(out, "      {:<16} {}", "differs in", differ.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            }
        }
    }
    out
}
