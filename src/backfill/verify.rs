//! `dbt-incr verify`: does a model's table still hold exactly what a full refresh would build?
//! On the user's warehouse, through their dbt: `dbt compile` with the var
//! `dbt_incr_full_refresh` gives each model's full-refresh query (the generated model honours
//! it), then `dbt run-operation dbt_incr_verify` (macros/dbt_incr/verify.sql) compares it, as a
//! subquery, with the table, and logs one JSON line read back here. Two dbt invocations whatever
//! the number of models; both share one target path and the same vars, so the second reuses the
//! first's parse.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dbt::{Dbt, Output};
use super::request::find_model;
use super::time::Bound;
use crate::dialect::Strategy;
use crate::error::{Diagnostic, Error};
use crate::plan::Plan;

/// The vars both invocations run with.
pub const VARS: &str = "{dbt_incr_full_refresh: true}";
/// The end of a microbatch model's default window (its start is `begin`).
const FAR_FUTURE: &str = "9999-12-31";

/// One model to compare, and the window to compare it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub model: String,
    pub key: Vec<String>,
    /// The event time (else the load time), when there is a window.
    pub window_column: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    /// A microbatch model compiles the same SQL in every branch (outside a batch: every batch).
    pub microbatch: bool,
}

/// The checks for `models` over the window `[start, end)` (both or neither). A microbatch model's
/// full refresh builds the batches from `begin` only, so its window starts at `begin` at the
/// earliest.
pub fn checks(plan: &Plan, models: &[String], start: Option<&str>, end: Option<&str>) -> Result<Vec<Check>, Error> {
    if start.is_some() != end.is_some() {
        return Err(Diagnostic::new("a window needs both --start and --end").hint("e.g. --start 2024-01-01 --end 2024-02-01 (end excluded); without both, the whole table is compared").into());
    }
    let mut bounds = Vec::new();
    for (flag, value) in [("--start", start), ("--end", end)] {
        if let Some(v) = value {
            bounds.push(Bound::parse(v).map_err(|e| Diagnostic::new(format!("{flag}: {e}")).hint("write a date like 2024-01-01 or a timestamp like 2024-01-01 06:00:00"))?);
        }
    }
    if let [s, e] = bounds[..]
        && s >= e
    {
        return Err(Diagnostic::new(format!("the window is empty: --start {} is not before --end {}", start.unwrap_or_default(), end.unwrap_or_default())).hint("the window is [start, end), end excluded").into());
    }
    if models.is_empty() {
        return Err(Diagnostic::new("no model to verify").hint(format!("name one or more: {}", plan.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "))).into());
    }
    let mut out = Vec::new();
    for name in models {
        let m = find_model(plan, name)?;
        let column = m.event_time.clone().unwrap_or_else(|| m.load_time.clone());
        let (mut s, mut e) = (start.map(|v| v.replace('T', " ")), end.map(|v| v.replace('T', " ")));
        if m.strategy == Strategy::Microbatch
            && let Some(begin) = &m.begin
        {
            match &s {
                Some(v) if super::time::compare(v, begin).is_ge() => {}
                Some(_) => s = Some(begin.clone()),
                None => {
                    s = Some(begin.clone());
                    e = Some(FAR_FUTURE.to_string());
                }
            }
        }
        let window_column = s.as_ref().map(|_| column);
        out.push(Check { model: m.name.clone(), key: m.unique_key.clone(), window_column, start: s, end: e, microbatch: m.strategy == Strategy::Microbatch });
    }
    Ok(out)
}

/// What the macro found for one model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Found {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub relation: String,
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub only_table_columns: Vec<String>,
    #[serde(default)]
    pub only_full_refresh_columns: Vec<String>,
    #[serde(default)]
    pub window: Option<Window>,
    #[serde(default)]
    pub table_rows: u64,
    #[serde(default)]
    pub full_refresh_rows: u64,
    #[serde(default)]
    pub only_in_table: u64,
    #[serde(default)]
    pub only_in_full_refresh: u64,
    #[serde(default)]
    pub keys_differing: u64,
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub sample: Vec<SampleRow>,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Window {
    pub column: String,
    pub start: String,
    pub end: String,
}

/// A row that differs: how often it is in the table and in a full refresh, and its values.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SampleRow {
    pub table: u64,
    pub full_refresh: u64,
    /// Column name to value (as text; `None` for NULL), in table order.
    pub values: serde_json::Map<String, Value>,
}

impl Found {
    pub fn is_equal(&self) -> bool {
        self.error.is_none() && self.status == "equal"
    }

    /// The sample grouped by key: each key's values, then its rows.
    pub fn sample_by_key(&self) -> Vec<(String, Vec<&SampleRow>)> {
        let mut out: Vec<(String, Vec<&SampleRow>)> = Vec::new();
        for row in &self.sample {
            let key = if self.key.is_empty() {
                "(no unique key)".to_string()
            } else {
                self.key.iter().map(|k| format!("{k}={}", text(row.values.get(k)))).collect::<Vec<_>>().join(", ")
            };
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, rows)) => rows.push(row),
                None => out.push((key, vec![row])),
            }
        }
        out
    }
}

/// A sample value as text: NULL for null.
pub fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "NULL".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Runs the comparison for `checks` through dbt: compile the full-refresh queries, then the macro.
pub fn verify(dbt: &Dbt, checks: &[Check], sample: u32) -> Result<Vec<Found>, Error> {
    let mut args = vec!["compile".to_string(), "--select".to_string()];
    args.extend(checks.iter().map(|c| c.model.clone()));
    args.extend(["--indirect-selection", "empty", "--vars", VARS].map(str::to_string));
    let compiled = dbt.invoke(&args, "verify", Output::Capture)?;
    if !compiled.success() {
        return Err(compiled.error("compiling the full-refresh queries"));
    }
    let results = compiled.results()?;
    let mut operation = Vec::new();
    for check in checks {
        let Some(sql) = results.iter().find(|r| r.unique_id.starts_with("model.") && r.name == check.model).and_then(|r| r.compiled_code.clone()) else {
            return Err(Diagnostic::new(format!("`{}` compiled no SQL for {}", compiled.shown, check.model)).hint("is the model disabled, or named differently in dbt?").into());
        };
        if !check.microbatch && !sql.contains("-- full refresh:") {
            return Err(Diagnostic::new(format!("the SQL dbt compiled for {} is not its full-refresh branch", check.model))
                .hint("the model was generated by an older dbt-incr, which ignores the var dbt_incr_full_refresh: run `dbt-incr generate`")
                .into());
        }
        operation.push(json!({
            "model": check.model, "query": sql, "unique_key": check.key,
            "window_column": check.window_column, "start": check.start, "end": check.end,
        }));
    }
    let args: Vec<String> = vec![
        "run-operation".into(),
        "dbt_incr_verify".into(),
        "--args".into(),
        json!({"checks": operation, "sample": sample}).to_string(),
        "--vars".into(),
        VARS.into(),
    ];
    let run = dbt.invoke(&args, "verify", Output::Capture)?;
    let line = run.messages().into_iter().find_map(|(_, _, msg)| msg.strip_prefix("DBT_INCR_VERIFY ").map(str::to_string));
    match line {
        Some(json) if run.success() => serde_json::from_str(&json).map_err(|e| Diagnostic::new(format!("cannot read what dbt_incr_verify reported: {e}")).into()),
        _ if !run.success() => Err(Diagnostic::new(format!("comparing through dbt: `dbt run-operation dbt_incr_verify` failed: {}", run.failure()))
            .hint("is the dbt_incr macro package current (`dbt-incr generate`)? dbt's whole output: logs/dbt.log in the project")
            .into()),
        _ => Err(Diagnostic::new("dbt_incr_verify reported nothing").hint("is the dbt_incr macro package current? run `dbt-incr generate`").into()),
    }
}
