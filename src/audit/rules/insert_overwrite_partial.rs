//! `insert-overwrite-partial`: insert_overwrite whose batch does not re-select whole partitions.

use serde_json::Value;

use super::{Context, Hit, Rule};
use crate::audit::analysis::shown;

pub const WHY: &str = "insert_overwrite replaces every partition the batch touches with the batch's rows: a batch that holds only part of a partition (rows after a timestamp watermark, or filtered on another column) deletes the rest of that partition";
pub const FIX: &str = "filter on the partition column truncated to the partition (`date(event_at) >= date_sub(date(_dbt_max_partition), interval 2 day)`), so each partition in the batch is re-selected whole";

/// The partition column and its data type, from `partition_by` (BigQuery's mapping, or Spark's
/// column list).
fn partition(config: &serde_json::Map<String, Value>) -> Option<(String, String)> {
    match config.get("partition_by")? {
        Value::Object(o) => Some((o.get("field")?.as_str()?.to_ascii_lowercase(), o.get("data_type").and_then(Value::as_str).unwrap_or("date").to_ascii_lowercase())),
        Value::String(s) => Some((s.to_ascii_lowercase(), "date".to_string())),
        Value::Array(a) => Some((a.first()?.as_str()?.to_ascii_lowercase(), "date".to_string())),
        _ => None,
    }
}

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if m.strategy.as_deref() != Some("insert_overwrite") {
        return Vec::new();
    }
    let Some((field, data_type)) = partition(m.config) else { return Vec::new() };
    let Some(r) = m.filter.first() else { return Vec::new() };
    let message = if r.column != field {
        format!("the batch is filtered on `{}` but the table is partitioned by `{field}`: each partition it touches is overwritten with only the rows of the batch", r.column)
    } else if data_type != "date" && !r.truncated {
        format!("the filter compares the {data_type} `{field}` itself (`{} > {}`): the partition holding the watermark is overwritten with only the rows after it", r.column, shown(&r.bound))
    } else {
        return Vec::new();
    };
    vec![Hit { rule: Rule::InsertOverwritePartial, line: r.line, message }]
}
