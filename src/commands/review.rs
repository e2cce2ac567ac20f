//! `dbt-incr plan`: per changed model, what changed in its spec, what it means for the data, and
//! which models need `--full-refresh` (the review itself is in `crate::review`).

use std::fmt::Write as _;
use std::process::ExitCode;

use super::PlanArgs;
use crate::report::Format;
use crate::review::{Action, Entry, review};

/// Runs `plan`: the review as text or JSON; 0, or 2 on error.
pub fn run(args: &PlanArgs) -> ExitCode {
    let (plan, comparison) = match super::plan_and_compare(args) {
        Ok(ok) => ok,
        Err(e) => return super::print_error(&e, args.format),
    };
    let entries = review(&plan, &comparison);
    let out = match args.format {
        Format::Json => json(&entries),
        Format::Text | Format::Github => text(&entries),
    };
    print!("{out}");
    ExitCode::SUCCESS
}

/// The review as text: one block per entry, then the models that need a full refresh.
pub fn text(entries: &[Entry]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str("dbt-incr plan: no model or macro would change\n");
        return out;
    }
    for e in entries {
        let _ = writeln!(out, "{} {} ({}): {}", e.kind, e.name, e.path, e.change);
        for n in &e.notes {
            let change = match (&n.before, &n.after) {
                (Some(b), Some(a)) => format!("{}: {b} → {a}", n.setting),
                (None, Some(a)) => format!("{}: (none) → {a}", n.setting),
                (Some(b), None) => format!("{}: {b} → (none)", n.setting),
                (None, None) => n.setting.clone(),
            };
            let _ = writeln!(out, "  - {change}\n    {}", n.meaning);
        }
    }
    let rebuild: Vec<&str> = entries.iter().filter(|e| e.notes.iter().any(|n| n.action == Action::FullRefresh)).map(|e| e.name.as_str()).collect();
    out.push('\n');
    if rebuild.is_empty() {
        out.push_str("No model needs --full-refresh.\n");
    } else {
        let _ = writeln!(out, "Needs --full-refresh after `dbt-incr generate`: dbt run -s {} --full-refresh", rebuild.join(" "));
    }
    out
}

/// The review as one JSON document.
pub fn json(entries: &[Entry]) -> String {
    let full_refresh: Vec<&str> = entries.iter().filter(|e| e.notes.iter().any(|n| n.action == Action::FullRefresh)).map(|e| e.name.as_str()).collect();
    let mut out = serde_json::to_string_pretty(&serde_json::json!({ "entries": entries, "full_refresh": full_refresh })).expect("plain data serializes");
    out.push('\n');
    out
}
