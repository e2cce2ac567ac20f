//! The strategy a model gets, and every combination refused because it would break the promise
//! ("incremental equals full refresh"), each with its reason and the fix.

use serde_saphyr::Spanned;

use super::model::Lookback;
use super::names::escape;
use super::validate::Validator;
use crate::dialect::{Dialect, Microbatch, Strategy};

impl Validator<'_> {
    /// Picks the strategy and refuses every combination that would break the promise.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn strategy(
        &mut self,
        given: Option<&Spanned<String>>,
        key: &str,
        at: (usize, usize),
        dialect: &'static Dialect,
        name: &str,
        unique_key: &[String],
        lookback: Lookback,
        event_time: Option<&str>,
        begin: Option<&str>,
        partition_by: Option<&str>,
        has_columns: bool,
        table_format: Option<&str>,
    ) -> Option<Strategy> {
        let refuse = |this: &mut Self, message: String, hint: &str| {
            match given {
                Some(g) => this.err(g, key, message, Some(hint)),
                None => this.err_line(at, key, message, Some(hint)),
            };
            None
        };
        let strategy = match given {
            Some(g) => match Strategy::parse(&g.value) {
                Some(s) => s,
                None => {
                    let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
                    let d = self.diag(g, key, format!("unknown incremental_strategy `{}`", escape(&g.value))).one_of(&g.value, &names);
                    self.diags.push(d);
                    return None;
                }
            },
            None if unique_key.is_empty() => {
                if !lookback.is_zero() {
                    return refuse(
                        self,
                        format!("model `{name}` has no unique_key, so its only safe strategy is append, and append cannot re-read a lookback of {lookback} without duplicating rows"),
                        "set `unique_key` (the usual fix), or set `lookback: 0 minutes` if every load is atomic and rows never arrive late",
                    );
                }
                Strategy::Append
            }
            None => dialect.default_strategy,
        };
        if dialect.adapter_strategy(strategy).is_none() {
            let supported: Vec<&str> = dialect.strategies.iter().map(|(s, _)| s.name()).collect();
            return refuse(self, format!("{} does not support incremental_strategy `{strategy}`", dialect.name), &format!("{} supports: {}", dialect.name, supported.join(", ")));
        }
        if let (Some(format), Some(value)) = (&dialect.table_format, table_format) {
            let allowed = match strategy {
                Strategy::Merge => Some(format.merge_values),
                Strategy::DeleteInsert | Strategy::Microbatch => Some(format.delete_insert_values),
                _ => None,
            };
            if let Some(allowed) = allowed.filter(|a| !a.contains(&value)) {
                return refuse(
                    self,
                    format!("{strategy} on {} needs a table that can update rows this way, and `{}: {value}` cannot", dialect.name, format.key),
                    &format!("set `{}` to one of: {}", format.key, allowed.join(", ")),
                );
            }
        }
        match strategy {
            Strategy::InsertOverwrite if !dialect.overwrite_partitions => refuse(
                self,
                format!("insert_overwrite would lose data on {}: it replaces every partition (or the whole table) the batch touches with only the batch's rows, and a load-time lookback batch holds only some rows of each", dialect.name),
                &format!("use merge{}", if dialect.adapter_strategy(Strategy::DeleteInsert).is_some() { " or delete+insert" } else { "" }),
            ),
            Strategy::InsertOverwrite if unique_key.is_empty() => refuse(
                self,
                "insert_overwrite rebuilds each partition a run touches from every version of its keys, and needs a unique_key to tell versions apart".to_string(),
                "set `unique_key`, or use append for immutable facts",
            ),
            Strategy::InsertOverwrite if partition_by.is_none() => refuse(
                self,
                format!("insert_overwrite on {} needs `partition_by`: without partitions it overwrites the whole table with one run's rows", dialect.name),
                "set `partition_by` to the column whose values are the table's partitions (an event date, typically)",
            ),
            Strategy::Merge | Strategy::DeleteInsert if unique_key.is_empty() => refuse(
                self,
                format!("{strategy} needs a unique_key: without one it cannot tell a new version of a row from a new row"),
                "set `unique_key` to the column(s) that identify a row",
            ),
            Strategy::Append if !unique_key.is_empty() => refuse(
                self,
                "append never replaces an earlier version of a key, so corrections and re-read rows would be duplicated".to_string(),
                "use merge or delete+insert with this unique_key, or drop unique_key for an append-only fact table",
            ),
            Strategy::Append if dialect.inserts_by_position(Strategy::Append) && !has_columns => refuse(
                self,
                format!("append on {} inserts by column position and ignores on_schema_change, so without `columns` a source column added or reordered would fail every run or shift values into the wrong columns", dialect.name),
                "list the columns under `columns`",
            ),
            Strategy::Append if !lookback.is_zero() => refuse(
                self,
                format!("append with a lookback of {lookback} appends the re-read window again on every run"),
                "set `lookback: 0 minutes` (loads must be atomic and never late), or use a unique_key with merge or delete+insert",
            ),
            Strategy::Microbatch => {
                if event_time.is_none() {
                    return refuse(self, "microbatch needs `event_time`: dbt splits batches on it".to_string(), "set `event_time` to the business timestamp column");
                }
                if begin.is_none() {
                    return refuse(self, "microbatch needs `begin`, the first event date dbt builds from".to_string(), "set `begin: 2024-01-01` (the earliest event date)");
                }
                match dialect.microbatch {
                    Microbatch::Refused(why) => {
                        return refuse(self, format!("microbatch is refused on {}: {why}", dialect.name), "use merge or delete+insert: their load-time window also catches late rows");
                    }
                    Microbatch::ReplaceWindow if !unique_key.is_empty() => {
                        return refuse(
                            self,
                            format!(
                                "microbatch on {} replaces each batch's event-time window and ignores the unique_key, so a key whose event_time changes between versions would be kept in two batches: the table would hold the key twice",
                                dialect.name
                            ),
                            "use delete+insert or merge with this unique_key (one row per key whatever event_time does), or drop unique_key if every row is an immutable fact",
                        );
                    }
                    Microbatch::MergeOnKey if unique_key.is_empty() => {
                        return refuse(self, format!("microbatch on {} merges each batch on the unique key and needs one", dialect.name), "set `unique_key`");
                    }
                    _ => {}
                }
                if dialect.name == "bigquery" {
                    let event_time = event_time.expect("checked above");
                    match partition_by {
                        None => return refuse(self, "microbatch on bigquery needs `partition_by`: dbt-bigquery overwrites the partitions each batch writes".to_string(), &format!("set `partition_by: {event_time}`")),
                        Some(p) if !p.eq_ignore_ascii_case(event_time) => {
                            return refuse(
                                self,
                                format!("microbatch on bigquery overwrites every partition a batch writes, so `partition_by` must be the event_time `{event_time}`: partitions of `{p}` hold rows of other batches, which each batch would erase"),
                                &format!("set `partition_by: {event_time}`"),
                            );
                        }
                        Some(_) => {}
                    }
                }
                Some(strategy)
            }
            _ => Some(strategy),
        }
    }
}
