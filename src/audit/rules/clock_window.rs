//! `clock-window`: the incremental window is measured from the clock, not from the target.

use super::{Context, Hit, Rule};
use crate::audit::analysis::{Against, shown};

pub const WHY: &str = "a window measured from the clock forgets what the target holds: a run that is skipped or fails for longer than the window, or rows loaded later than the window after their timestamp, are never read";
pub const FIX: &str = "measure the window from the target's own newest load time (`_loaded_at > (select max(_loaded_at) - interval '3 days' from {{ this }})`)";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if m.target_ranges().next().is_some() {
        return Vec::new();
    }
    let Some(r) = m.filter.iter().find(|r| r.against == Against::Clock) else { return Vec::new() };
    vec![Hit { rule: Rule::ClockWindow, line: r.line, message: format!("the incremental filter keeps `{}` within a window of the clock (`{}`), not of the target's newest row", r.column, shown(&r.bound)) }]
}
