//! `event-time-filter`: the incremental filter compares the target's newest value of an event
//! (business) time, not of the time the loader wrote the row.

use super::{Context, Hit, Rule, is_load_column};
use crate::project::catalog::propose_load_time;

pub const WHY: &str = "rows that arrive late (their event time is older than the target's newest) are never read again: the loader writes them after the watermark has passed their event time, so they are lost until a full refresh";
pub const FIX: &str = "filter on the load timestamp (`_loaded_at`, `_fivetran_synced`, …) with a lookback, and keep the event time for backfills";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    let Some(r) = m.target_ranges().find(|r| m.is_time(&r.column) && !is_load_column(&r.column)) else { return Vec::new() };
    let columns: Vec<String> = m.inputs().iter().filter_map(|i| m.facts.get(i)).flat_map(|f| f.columns.iter().map(|(n, _)| n.clone())).collect();
    let instead = propose_load_time(&columns).map(|c| format!(" (the input has `{c}`: filter on it)")).unwrap_or_default();
    vec![Hit {
        rule: Rule::EventTimeFilter,
        line: r.line,
        message: format!("the incremental filter compares `{}` with the target's newest value; `{}` is a time the source sets (when the event happened or the row changed), not the time the loader wrote the row{instead}", r.column, r.column),
    }]
}
