//! `no-empty-fallback`: a watermark that is NULL on an empty target.

use super::{Context, EmptyTarget, Hit, Rule};
use crate::audit::analysis::{Against, shown};

pub const WHY: &str = "when the target exists but is empty (a failed first load, a truncate, --empty), max() is NULL, `col > NULL` is never true, and the model stays empty on every run";
pub const FIX: &str = "fall back to a far-past timestamp: `coalesce(max(_loaded_at), '1900-01-01')`, or for a watermark read into Jinja, check `is none`";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if let Some(r) = m.target_ranges().find(|r| r.bare_max) {
        return vec![Hit { rule: Rule::NoEmptyFallback, line: r.line, message: format!("the watermark of the filter on `{}` is a bare max(): on an empty target it is NULL and the filter matches nothing", r.column) }];
    }
    match &m.empty_target {
        EmptyTarget::Ranges(ranges) => {
            let null = |b: &str| b.contains("'none'") || b.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "none" || w == "null") || b.contains("''");
            ranges
                .iter()
                .find(|r| r.against != Against::Clock && null(&r.bound))
                .map(|r| Hit { rule: Rule::NoEmptyFallback, line: r.line, message: format!("the watermark read into Jinja is not checked for NULL: on an empty target the filter becomes `{} > {}` and matches nothing", r.column, shown(&r.bound)) })
                .into_iter()
                .collect()
        }
        EmptyTarget::Fails(why) if m.target_ranges().next().is_some() => {
            vec![Hit { rule: Rule::NoEmptyFallback, line: m.target_ranges().next().and_then(|r| r.line), message: format!("on an empty target (the watermark query answers NULL) the model fails: {why}") }]
        }
        _ => Vec::new(),
    }
}
