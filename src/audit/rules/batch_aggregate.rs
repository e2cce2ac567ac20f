//! `batch-aggregate`: window functions or aggregates computed over only the batch.

use super::{Context, Hit, Rule};
use crate::audit::analysis::{Clause, shown};
use crate::audit::rendering::THIS_SCHEMA;

pub const WHY: &str = "the incremental filter keeps only the batch, so a window function (running totals, lag, session numbers) or an aggregate over it sees part of each group's history: the merge replaces the full-history value with the batch's";
pub const FIX: &str = "compute it over whole groups: re-select every row of the groups the batch touches (`where key in (select key from batch)`), or partition/group by the filtered time column so each group is re-read whole";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    let Some(r) = m.filter.first() else { return Vec::new() };
    let covers_filter = |terms: &[String]| terms.iter().any(|t| t.contains(r.column.as_str()));
    // The key, or the columns a computed key is built from.
    let sources: Vec<String> = m.unique_key.iter().flat_map(|k| m.key_sources(k)).collect();
    let covers = |key: &[String], terms: &[String]| !key.is_empty() && key.iter().all(|k| terms.iter().any(|t| t == k || t.ends_with(&format!(".{k}"))));
    let covers_key = |terms: &[String]| covers(&m.unique_key, terms) || covers(&sources, terms);
    // max()/min() of the filtered column (or of a column named after it, `received_at_date`)
    // is the same over the batch as over the whole history of a group the batch touches.
    let monotone = |(name, arg): &(String, String)| matches!(name.as_str(), "max" | "min") && arg.contains(r.column.as_str());
    for s in m.incremental.downstream(r.scope) {
        let scope = &m.incremental.scopes[s];
        // A HAVING filter keeps whole groups, aggregated over all their rows.
        if scope.reads.iter().any(|t| t.starts_with(&format!("{THIS_SCHEMA}."))) || (s == r.scope && r.clause == Clause::Having) {
            continue;
        }
        for w in &scope.windows {
            let dedup = matches!(w.func.as_str(), "row_number" | "rank" | "dense_rank") && covers_key(&w.partition);
            if dedup || covers_filter(&w.partition) {
                continue;
            }
            let over = if w.partition.is_empty() { "the whole batch".to_string() } else { format!("partition by {}", shown(&w.partition.join(", "))) };
            return vec![Hit { rule: Rule::BatchAggregate, line: w.line, message: format!("`{}({}) over ({over})` is computed over the batch only (the rows the filter on `{}` kept), not over each partition's whole history", w.func, shown(&w.args), r.column) }];
        }
        if let Some((agg, args)) = scope.aggregates.iter().find(|a| !monotone(a))
            && !covers_filter(&scope.group_by)
        {
            let by = if scope.group_by.is_empty() { String::new() } else { format!(" grouped by {}", shown(&scope.group_by.join(", "))) };
            return vec![Hit { rule: Rule::BatchAggregate, line: scope.line, message: format!("`{agg}({})`{by} is computed over the batch only (the rows the filter on `{}` kept), not over each group's whole history", shown(args), r.column) }];
        }
    }
    Vec::new()
}
