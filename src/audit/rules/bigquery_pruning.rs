//! `bigquery-pruning`: a subquery watermark on BigQuery.

use super::{Context, Hit, Rule};

pub const WHY: &str = "BigQuery prunes partitions only on constant filters: a subquery watermark makes every incremental run scan the whole source table";
pub const FIX: &str = "read the watermark first (`run_query`) and inline it as a literal (`where _loaded_at > timestamp('2024-03-01 00:00:00')`)";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if m.dialect != "bigquery" {
        return Vec::new();
    }
    let Some(r) = m.target_ranges().find(|r| r.bound.contains("select")) else { return Vec::new() };
    vec![Hit { rule: Rule::BigqueryPruning, line: r.line, message: format!("the filter on `{}` compares with a subquery on {{{{ this }}}}, which BigQuery cannot use to prune partitions", r.column) }]
}
