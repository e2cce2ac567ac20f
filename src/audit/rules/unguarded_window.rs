//! `unguarded-window`: a batch-window filter outside the `is_incremental()` guard.

use super::{Context, Hit, Rule};
use crate::audit::analysis::{Against, shown};

pub const WHY: &str = "a filter outside `{% if is_incremental() %}` runs on the first run and on --full-refresh too: the full refresh reads only the window (history is never built), or reads a target that does not exist yet";
pub const FIX: &str = "move the window into `{% if is_incremental() %} … {% endif %}` so a full refresh reads everything";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    let Some(r) = m.unguarded.first() else { return Vec::new() };
    let what = match r.against {
        Against::Target => "reads the target in a full refresh, when it may not exist yet".to_string(),
        _ => format!("limits the full refresh to the window `{}`", shown(&r.bound)),
    };
    vec![Hit { rule: Rule::UnguardedWindow, line: r.line, message: format!("the filter on `{}` is outside the is_incremental() guard: it {what}", r.column) }]
}
