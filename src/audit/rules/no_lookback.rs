//! `no-lookback`: the incremental filter starts exactly at the target's newest value.

use super::{Context, Hit, Rule};

pub const WHY: &str = "the filter starts exactly at the target's newest timestamp, so rows loaded out of order or committed late by a loader (same or earlier timestamp, different transaction) are skipped for good";
pub const FIX: &str = "re-read a window before the watermark (`max(_loaded_at) - interval '3 days'`) and let the merge on the unique key absorb the overlap";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if !m.keyed() {
        return Vec::new();
    }
    let Some(r) = m.target_ranges().find(|r| !r.lookback) else { return Vec::new() };
    vec![Hit { rule: Rule::NoLookback, line: r.line, message: format!("the filter on `{}` has no lookback: it starts exactly at the target's newest value", r.column) }]
}
