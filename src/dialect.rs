//! Every warehouse dbt-incr generates for, as data.
//!
//! Adding a dialect means adding one [`Dialect`] record to [`DIALECTS`], its overrides (if any) in
//! `macros/dbt_incr/`, and a fixture folder under `tests/fixtures/dialects/`. Tests walk this table
//! and fail when one of those is missing.

use std::fmt;

/// How a model's new rows reach its table; the names are dbt's `incremental_strategy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    Merge,
    DeleteInsert,
    Append,
    InsertOverwrite,
    Microbatch,
}

impl Strategy {
    pub const ALL: [Strategy; 5] = [
        Strategy::Merge,
        Strategy::DeleteInsert,
        Strategy::Append,
        Strategy::InsertOverwrite,
        Strategy::Microbatch,
    ];

    /// The spelling used in specs (dbt's own spelling on most adapters).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Merge => "merge",
            Strategy::DeleteInsert => "delete+insert",
            Strategy::Append => "append",
            Strategy::InsertOverwrite => "insert_overwrite",
            Strategy::Microbatch => "microbatch",
        }
    }

    pub fn parse(text: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == text)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one warehouse (one dbt adapter) can do, as far as incremental models are concerned.
#[derive(Debug)]
pub struct Dialect {
    /// The dbt adapter type (`type:` in profiles.yml), also the `--dialect` value.
    pub name: &'static str,
    /// Strategies the adapter implements, in dbt's spelling for that adapter where it differs.
    pub strategies: &'static [(Strategy, &'static str)],
    /// Strategy used when a spec names none and the model has a unique key.
    pub default_strategy: Strategy,
    /// Whether `qualify` exists; without it dedup uses a ranked subquery.
    pub qualify: bool,
    /// Whether correlated `exists` subqueries work; without them the "never older" guard uses `not in`.
    pub correlated_exists: bool,
    /// Extra `config()` entries a merge needs on this adapter (e.g. a table format that supports it).
    pub merge_config: &'static [(&'static str, &'static str)],
    /// What `{ts}` minus 3 days looks like here (shown by `dialects`; checked against compiled SQL).
    pub interval_example: &'static str,
    /// Whether the incremental watermark is inlined as a literal at run time (partition pruning).
    pub literal_watermark: bool,
    /// Whether `partition_by` (daily partitions of a TIMESTAMP column) / `cluster_by` can be
    /// passed to this adapter.
    pub partition_by: bool,
    pub cluster_by: bool,
    /// The adapter this one inherits macros from (dbt dispatch tries `<name>__`, then
    /// `<parent>__`, then `default__`).
    pub parent: Option<&'static str>,
    /// One line on what to know about this warehouse.
    pub note: &'static str,
}

use Strategy::*;

/// The table. Facts come from the adapters' own materialization macros at the versions that
/// install beside dbt-core 1.11; docs/dialects/<name>.md has, per dialect, what each strategy
/// executes and where that was read.
pub static DIALECTS: &[Dialect] = &[
    Dialect {
        name: "athena",
        strategies: &[(Append, "append"), (InsertOverwrite, "insert_overwrite"), (Merge, "merge")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        merge_config: &[("table_type", "iceberg")],
        interval_example: "date_add('day', -3, {ts})",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "merge needs an Iceberg table; dbt-incr sets table_type='iceberg'",
    },
    Dialect {
        name: "bigquery",
        strategies: &[(Merge, "merge"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: true,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "timestamp_sub({ts}, interval 3 day)",
        literal_watermark: true,
        partition_by: true,
        cluster_by: true,
        parent: None,
        note: "watermark inlined as a literal so partition pruning still works; load_time must be TIMESTAMP",
    },
    Dialect {
        name: "clickhouse",
        strategies: &[(Append, "append"), (DeleteInsert, "delete_insert"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: false,
        correlated_exists: false,
        merge_config: &[],
        interval_example: "{ts} - interval 3 day",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "delete+insert is dbt-clickhouse's delete_insert (lightweight deletes)",
    },
    Dialect {
        name: "databricks",
        strategies: &[(Append, "append"), (Merge, "merge"), (InsertOverwrite, "insert_overwrite"), (DeleteInsert, "delete+insert"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: true,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "{ts} - interval 3 day",
        literal_watermark: false,
        partition_by: false,
        cluster_by: true,
        parent: Some("spark"),
        note: "Delta tables (the default) support every strategy",
    },
    Dialect {
        name: "duckdb",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: true,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "{ts} - interval '3 day'",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "merge and microbatch need DuckDB >= 1.4; delete+insert commits far faster than merge",
    },
    Dialect {
        name: "postgres",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: false,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "{ts} - interval '3 day'",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "merge needs PostgreSQL >= 15",
    },
    Dialect {
        name: "redshift",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: true,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "dateadd(day, -3, {ts})",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: Some("postgres"),
        note: "qualify exists since 2023",
    },
    Dialect {
        name: "snowflake",
        strategies: &[(Append, "append"), (Merge, "merge"), (DeleteInsert, "delete+insert"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: true,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "dateadd(day, -3, {ts})",
        literal_watermark: false,
        partition_by: false,
        cluster_by: true,
        parent: None,
        note: "insert_overwrite replaces the whole table here",
    },
    Dialect {
        name: "spark",
        strategies: &[(Append, "append"), (Merge, "merge"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        merge_config: &[("file_format", "delta")],
        interval_example: "{ts} - interval 3 day",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "merge needs Delta, Iceberg or Hudi; dbt-incr sets file_format='delta'",
    },
    Dialect {
        name: "sqlserver",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "dateadd(day, -3, {ts})",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "Fabric behaves alike",
    },
    Dialect {
        name: "trino",
        strategies: &[(Append, "append"), (Merge, "merge"), (DeleteInsert, "delete+insert"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        merge_config: &[],
        interval_example: "date_add('day', -3, {ts})",
        literal_watermark: false,
        partition_by: false,
        cluster_by: false,
        parent: None,
        note: "merge and delete+insert depend on the connector (Iceberg, Delta Lake, Hive ACID)",
    },
];

impl Dialect {
    pub fn find(name: &str) -> Option<&'static Dialect> {
        DIALECTS.iter().find(|d| d.name == name)
    }

    /// The macro prefixes dbt's `adapter.dispatch` tries here, in order.
    pub fn dispatch_prefixes(&self) -> Vec<&'static str> {
        let mut prefixes = vec![self.name];
        prefixes.extend(self.parent);
        prefixes.push("default");
        prefixes
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        DIALECTS.iter().map(|d| d.name)
    }

    /// dbt's spelling of `strategy` on this adapter, or `None` when the adapter lacks it.
    pub fn adapter_strategy(&self, strategy: Strategy) -> Option<&'static str> {
        self.strategies.iter().find(|(s, _)| *s == strategy).map(|(_, name)| *name)
    }
}
