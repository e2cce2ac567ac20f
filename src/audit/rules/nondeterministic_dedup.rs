//! `nondeterministic-dedup`: `row_number()` ordered only by a timestamp.

use super::{Context, Hit, Rule};

pub const WHY: &str = "row_number() ordered only by a timestamp picks an arbitrary row when two versions of a key share it, so a run and a full refresh can keep different versions";
pub const FIX: &str = "add tie breakers after the timestamp so the order is total (`order by _loaded_at desc, updated_at desc, <other columns>`)";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    let mut out = Vec::new();
    for scope in &m.incremental.scopes {
        for w in &scope.windows {
            if w.func != "row_number" || w.partition.is_empty() {
                continue;
            }
            if let [only] = w.order.as_slice() {
                let column = only.rsplit('.').next().unwrap_or(only).trim_matches('"').to_string();
                if m.is_time(&column) {
                    out.push(Hit { rule: Rule::NondeterministicDedup, line: w.line, message: format!("row_number() orders only by `{column}`: two versions of a key with the same `{column}` rank in any order") });
                }
            }
        }
    }
    out
}
