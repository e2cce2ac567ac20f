//! The spec entry that would replace a hand-written model with a generated one: built from what
//! dbt's artifacts and the model say (its one input, its key, the loader's column), validated by
//! the spec parser before it is shown. A model whose logic a generated model would drop (joins,
//! aggregates, filters, computed or renamed columns) gets the reason instead of an entry.

use std::fmt::Write as _;
use std::path::Path;

use super::analysis::{Against, Clause, Parsed};
use super::rendering::THIS_SCHEMA;
use super::rules::{Context, is_load_column};
use crate::project::catalog::propose_load_time;
use crate::spec::{self, DialectChoice, SpecSource};

/// The entry (`  - name: …` lines), or why none is proposed.
pub fn propose(name: &str, dialect: &str, m: &Context<'_>) -> Result<String, String> {
    if crate::dialect::Dialect::find(dialect).is_none() {
        return Err(format!("dbt-incr does not generate for the adapter `{dialect}`"));
    }
    lost_logic(m.full)?;
    let inputs: Vec<String> = (0..m.full.scopes.len()).flat_map(|s| m.full.inputs(s)).filter(|r| !r.starts_with(&format!("{THIS_SCHEMA}."))).fold(Vec::new(), |mut acc, r| {
        if !acc.contains(&r) {
            acc.push(r);
        }
        acc
    });
    let from = match inputs.as_slice() {
        [one] => m.relations.get(one).ok_or_else(|| format!("it reads `{one}`, which is neither a ref() nor a source()"))?,
        [] => return Err("it reads no ref() or source()".to_string()),
        many => return Err(format!("it reads {} relations; a generated model reads one", many.len())),
    };
    let from_call = from.jinja_call();
    let catalog: Vec<String> = m.facts.get(&from_call).map(|f| f.columns.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default();
    let in_input = |c: &str| catalog.is_empty() || catalog.iter().any(|n| n.eq_ignore_ascii_case(c));
    let window = m.filter.iter().find(|r| r.against != Against::Other);
    let load_time = match window {
        Some(r) if is_load_column(&r.column) => r.column.clone(),
        _ => match propose_load_time(&catalog) {
            Some(c) => c,
            None if catalog.is_empty() => {
                return Err(format!(
                    "no load-time column is known{}: run `dbt docs generate` so audit can read the input's columns",
                    window.map(|r| format!(" (the filter uses `{}`, an event time)", r.column)).unwrap_or_default()
                ));
            }
            None => return Err(format!("{from_call} has no column a loader stamps (its columns: {}); have the loader add one", catalog.join(", "))),
        },
    };
    let event_time = window
        .map(|r| r.column.clone())
        .filter(|c| !c.eq_ignore_ascii_case(&load_time) && m.is_time(c) && in_input(c))
        .or_else(|| m.config.get("event_time").and_then(|v| v.as_str()).map(str::to_string));
    for k in &m.unique_key {
        if m.key_sources(k) != [k.clone()] {
            return Err(format!("its unique_key `{k}` is computed in the model (from {}), not a column of the input", m.key_sources(k).join(", ")));
        }
        if !in_input(k) {
            return Err(format!("its unique_key `{k}` is not a column of {from_call}"));
        }
    }
    let columns = explicit_columns(m.full);
    let mut s = format!("  - name: {name}\n    from: {from_call}\n");
    match m.unique_key.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(s, "    unique_key: {one}");
        }
        many => {
            let _ = writeln!(s, "    unique_key: [{}]", many.join(", "));
        }
    }
    let _ = writeln!(s, "    load_time: {load_time}");
    if let Some(e) = &event_time {
        let _ = writeln!(s, "    event_time: {e}");
    }
    if let Some(strategy) = m.strategy.as_deref().filter(|s| matches!(*s, "merge" | "delete+insert" | "microbatch")) {
        let _ = writeln!(s, "    incremental_strategy: {strategy}");
    }
    if m.strategy.as_deref() == Some("microbatch") {
        for key in ["begin", "batch_size"] {
            if let Some(v) = m.config.get(key).and_then(|v| v.as_str()) {
                let _ = writeln!(s, "    {key}: {}", v.get(..10).filter(|_| key == "begin").unwrap_or(v));
            }
        }
    }
    if let Some(cols) = columns {
        let mut cols = cols;
        for required in m.unique_key.iter().chain([&load_time]).chain(event_time.iter()) {
            if !cols.iter().any(|c| c.eq_ignore_ascii_case(required)) {
                cols.push(required.clone());
            }
        }
        let _ = writeln!(s, "    columns: [{}]", cols.join(", "));
    }
    if m.unique_key.is_empty() {
        s.push_str("    lookback: 0 minutes\n");
    } else {
        let lookback = window.and_then(|r| lookback_of(&r.lookback_text)).unwrap_or_else(|| "3 days".to_string());
        let _ = writeln!(s, "    lookback: {lookback}");
    }
    let text = format!("version: 1\ndialect: {dialect}\nmodels:\n{s}");
    let choice = DialectChoice::default();
    match spec::parse(SpecSource { path: Path::new("incremental.yml"), text: &text }, &choice) {
        Ok(_) => Ok(s),
        Err(e) => Err(format!("the entry would not validate: {}", e.to_string().lines().next().unwrap_or("").trim_start_matches("error: "))),
    }
}

/// Why a generated model (one input, every row deduplicated per key, columns kept as they are)
/// would not do what this model does.
fn lost_logic(full: &Parsed) -> Result<(), String> {
    let mut lost = Vec::new();
    let mut add = |what: &str| {
        if !lost.contains(&what.to_string()) {
            lost.push(what.to_string());
        }
    };
    let dedup_aliases: Vec<&str> = full.scopes.iter().flat_map(|s| s.projection.iter().filter(|p| p.column.is_none() && p.name.is_some() && p.reads.is_empty()).filter_map(|p| p.name.as_deref())).collect();
    for s in &full.scopes {
        if s.joins > 0 {
            add("joins");
        }
        if s.set_operation {
            add("unions");
        }
        if !s.group_by.is_empty() || (!s.aggregates.is_empty() && !s.reads.iter().any(|r| r.starts_with(THIS_SCHEMA))) {
            add("aggregates");
        }
        if s.windows.iter().any(|w| !matches!(w.func.as_str(), "row_number" | "rank" | "dense_rank")) {
            add("window functions");
        }
        for p in &s.preds {
            let dedup = p.clause == Clause::Qualify || dedup_aliases.iter().any(|a| p.text.starts_with(&format!("{a} = ")) || p.text.starts_with(&format!("{a} <= ")));
            if !dedup {
                add("filters");
            }
        }
        for p in &s.projection {
            match (&p.column, &p.name) {
                (Some(c), Some(n)) if c != n => add("renamed columns"),
                (None, Some(_)) if !p.reads.is_empty() => add("computed columns"),
                _ => {}
            }
        }
    }
    if lost.is_empty() { Ok(()) } else { Err(format!("a generated model would drop its {}: keep it hand-written and fix it in place", lost.join(", "))) }
}

/// The plain columns the model keeps, when it lists them (no `*`).
fn explicit_columns(full: &Parsed) -> Option<Vec<String>> {
    let reader = full.scopes.iter().find(|s| s.reads.iter().any(|r| full.cte(r).is_none() && !r.starts_with(THIS_SCHEMA)))?;
    if reader.wildcard || reader.projection.is_empty() {
        return None;
    }
    reader.projection.iter().map(|p| p.column.clone()).collect()
}

/// `3 days` from `interval '3 day'`, `interval 3 day`, `dateadd(day, -3, …)`.
pub fn lookback_of(text: &str) -> Option<String> {
    let unit_of = |w: &str| -> Option<&'static str> {
        match w.trim_matches(|c: char| !c.is_ascii_alphabetic()) {
            "day" | "days" => Some("days"),
            "hour" | "hours" => Some("hours"),
            "minute" | "minutes" => Some("minutes"),
            _ => None,
        }
    };
    let words: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == '\'' || c == ')').filter(|w| !w.is_empty()).collect();
    for (i, w) in words.iter().enumerate() {
        if let Ok(n) = w.trim_start_matches('-').parse::<u32>() {
            let unit = words.get(i + 1).and_then(|w| unit_of(w)).or_else(|| i.checked_sub(1).and_then(|j| unit_of(words[j])));
            if let Some(u) = unit {
                let u = if n == 1 { u.trim_end_matches('s') } else { u };
                return Some(format!("{n} {u}"));
            }
        }
    }
    None
}
