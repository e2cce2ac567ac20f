//! `batch-aggregate`: window functions or aggregates computed over only the batch.

use super::{Context, Hit, Rule};
use crate::audit::rendering::THIS_SCHEMA;

pub const WHY: &str = "the incremental filter keeps only the batch, so a window function (running totals, lag, session numbers) or an aggregate over it sees part of each group's history: the merge replaces the full-history value with the batch's";
pub const FIX: &str = "compute it over whole groups: re-select every row of the groups the batch touches (`where key in (select key from batch)`), or partition/group by the filtered time column so each group is re-read whole";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    let Some(r) = m.filter.first() else { return Vec::new() };
    let covers_filter = |terms: &[String]| terms.iter().any(|t| t.contains(r.column.as_str()));
    let covers_key = |terms: &[String]| !m.unique_key.is_empty() && m.unique_key.iter().all(|k| terms.iter().any(|t| t == k || t.ends_with(&format!(".{k}"))));
    for s in m.incremental.downstream(r.scope) {
        let scope = &m.incremental.scopes[s];
        if scope.reads.iter().any(|t| t.starts_with(&format!("{THIS_SCHEMA}."))) {
            continue;
        }
        for w in &scope.windows {
            let dedup = matches!(w.func.as_str(), "row_number" | "rank" | "dense_rank") && covers_key(&w.partition);
            if dedup || covers_filter(&w.partition) {
                continue;
            }
            let over = if w.partition.is_empty() { "the whole batch".to_string() } else { format!("partition by {}", w.partition.join(", ")) };
            return vec![Hit { rule: Rule::BatchAggregate, line: w.line, message: format!("`{}() over ({over})` is computed over the batch only (the rows the filter on `{}` kept), not over each partition's whole history", w.func, r.column) }];
        }
        if let Some(agg) = scope.aggregates.first()
            && !covers_filter(&scope.group_by)
            && !(scope.group_by.is_empty() && scope.projection.len() == scope.aggregates.len() && scope.aggregates.iter().all(|a| a == "max"))
        {
            let by = if scope.group_by.is_empty() { String::new() } else { format!(" grouped by {}", scope.group_by.join(", ")) };
            return vec![Hit { rule: Rule::BatchAggregate, line: scope.line, message: format!("`{agg}()`{by} is computed over the batch only (the rows the filter on `{}` kept), not over each group's whole history", r.column) }];
        }
    }
    Vec::new()
}
