//! `append-with-lookback`: an append model whose filter re-reads a window.

use super::{Context, Hit, Rule};
use crate::audit::analysis::{Against, shown};

pub const WHY: &str = "append inserts every row the lookback re-reads a second time: every run duplicates the rows of the overlap window";
pub const FIX: &str = "give the model a unique_key with merge or delete+insert (then the lookback is safe), or drop the lookback for an append-only fact table whose loads are atomic";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if !m.appends() {
        return Vec::new();
    }
    let Some(r) = m.filter.iter().find(|r| r.lookback && r.against != Against::Other) else { return Vec::new() };
    let how = match m.strategy.as_deref() {
        Some(s) => format!("incremental_strategy='{s}'"),
        None => "no unique_key".to_string(),
    };
    vec![Hit { rule: Rule::AppendWithLookback, line: r.line, message: format!("the model appends ({how}) and its filter on `{}` re-reads a window (`{}`)", r.column, shown(&r.bound)) }]
}
