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

/// A table format config an adapter takes, and which of its values can merge.
#[derive(Debug)]
pub struct TableFormat {
    /// dbt's config key on this adapter, also the spec key.
    pub key: &'static str,
    /// The values the adapter takes.
    pub values: &'static [&'static str],
    /// The values whose tables support merge, and delete+insert (and microbatch).
    pub merge_values: &'static [&'static str],
    pub delete_insert_values: &'static [&'static str],
    /// Written when the spec names none: for a merge or delete+insert model, and for the others.
    pub default_merge: Option<&'static str>,
    pub default_other: Option<&'static str>,
}

/// How far the promise is proven on a dialect, strongest first (`dbt-incr dialects` shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proof {
    /// Generated models run under the real dbt adapter on the real engine, phase after phase,
    /// incremental compared with a full refresh (tests/engines), and the compiled SQL of every
    /// branch runs on the engine (tests/differential).
    EndToEnd,
    /// Generated models run under the real dbt adapter against an emulator of the warehouse
    /// (tests/engines): the adapter's materialization and our SQL run together; the warehouse's
    /// own semantics are not proven.
    Emulated,
    /// The compiled SQL of every branch runs on the real engine and its rows equal DuckDB's
    /// (tests/differential); the adapter's materialization is reviewed, not run.
    Executed,
    /// The adapter's materialization macros were read and the generated SQL checked against
    /// them and the warehouse's documentation (docs/dialects/<name>.md); nothing runs here.
    Reviewed,
}

impl Proof {
    pub fn describe(self) -> &'static str {
        match self {
            Proof::EndToEnd => "real adapter end to end",
            Proof::Emulated => "real adapter on an emulator",
            Proof::Executed => "compiled SQL executed on the engine",
            Proof::Reviewed => "reviewed against adapter source",
        }
    }
}

/// How an adapter's microbatch replaces a batch, which decides whether a unique key stays unique.
/// Read in each adapter's `get_incremental_microbatch_sql` (docs/dialects/<name>.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Microbatch {
    /// Each batch is merged into the target on the unique key (which the adapter requires): a
    /// key is one row whatever its event_time does.
    MergeOnKey,
    /// Each batch's event-time window is deleted and written again (or the partitions the batch
    /// touches are overwritten): a key whose event_time moves would sit in two windows, so only
    /// models without a unique key (every row an immutable fact) can use it.
    ReplaceWindow,
    /// Microbatch cannot keep the promise here; the reason.
    Refused(&'static str),
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
    /// The table format the adapter takes in config (`file_format`, `table_type`), if it takes
    /// one: only some formats can merge.
    pub table_format: Option<TableFormat>,
    /// What `{ts}` minus 3 days looks like here (shown by `dialects`; checked against compiled SQL).
    pub interval_example: &'static str,
    /// Whether the incremental watermark is inlined as a literal at run time (partition pruning).
    pub literal_watermark: bool,
    /// Whether `partition_by` (partitions of a date or time column) can be passed to this adapter.
    pub partition_by: bool,
    /// Whether insert_overwrite is offered, as a rebuild of every partition a run touches from the
    /// input (`dbt_incr_overwrite`): the adapter overwrites partitions dynamically (only those the
    /// batch holds), with `partition_by` naming partition columns.
    pub overwrite_partitions: bool,
    /// The adapter's config key for clustering columns (the spec's `cluster_by`), if it has one,
    /// and how many columns it takes at most (BigQuery and Databricks: 4; Snowflake has no hard
    /// limit but recommends 3 or 4, 16 is refused here as a likely mistake).
    pub cluster_config: Option<(&'static str, usize)>,
    /// Whether the adapter takes `order_by` (the sorting key of a ClickHouse MergeTree table).
    pub order_by: bool,
    /// The adapter this one inherits macros from (dbt dispatch tries `<name>__`, then
    /// `<parent>__`, then `default__`).
    pub parent: Option<&'static str>,
    /// How microbatch replaces a batch (only meaningful where `strategies` has microbatch).
    pub microbatch: Microbatch,
    /// The character `adapter.quote` wraps an identifier in.
    pub quote: char,
    /// Words reserved on this warehouse beyond `spec::RESERVED_WORDS` (which holds those of
    /// most): refused as names in a spec for this dialect, since generated SQL does not quote
    /// spec names. From each warehouse's reserved-keyword page (docs/dialects/<name>.md).
    pub reserved: &'static [&'static str],
    /// The strategies the adapter inserts with by column position (not by name), so such a model
    /// must fix its columns in the spec, and reordering them needs a rebuild: a reordered or
    /// widened input would shift values. ClickHouse's append; Databricks' microbatch before DBR
    /// 18.0 (`insert into … replace where … table v`, docs/dialects/databricks.md).
    pub by_position: &'static [Strategy],
    /// Longest model name the adapter's temporary relations leave room for, if limited.
    pub max_model_name: Option<usize>,
    /// How the warehouse writes boolean true in a comparison (SQL Server has no boolean: a bit).
    pub true_literal: &'static str,
    /// How the promise is proven here.
    pub proof: Proof,
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
        table_format: Some(TableFormat { key: "table_type", values: &["hive", "iceberg"], merge_values: &["iceberg"], delete_insert_values: &["iceberg"], default_merge: Some("iceberg"), default_other: None }),
        interval_example: "date_add('day', -3, {ts})",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: false,
        parent: None,
        microbatch: Microbatch::Refused("dbt-athena runs microbatch as a merge on Iceberg and an insert_overwrite on Hive; dbt-incr does not offer it there"),
        quote: '"',
        reserved: &[],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::Reviewed,
        note: "merge needs an Iceberg table (table_type: iceberg, the default for merge); Hive tables append",
    },
    Dialect {
        name: "bigquery",
        strategies: &[(Merge, "merge"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: true,
        correlated_exists: true,
        table_format: None,
        interval_example: "timestamp_sub({ts}, interval 3 day)",
        literal_watermark: true,
        overwrite_partitions: false,
        partition_by: true,
        cluster_config: Some(("cluster_by", 4)),
        order_by: false,
        parent: None,
        microbatch: Microbatch::ReplaceWindow,
        quote: '`',
        reserved: &["assert_rows_modified", "at", "contains", "current", "define", "enum", "escape", "extract", "following", "groups", "hash", "if", "ignore", "lookup", "merge", "new", "no", "nulls", "of", "preceding", "proto", "recursive", "respect", "treat", "unbounded", "within"],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::Emulated,
        note: "watermark inlined as a constant of the load_time's type (TIMESTAMP, DATETIME or DATE) so partitions are pruned; the emulator runs merge (not dbt-bigquery's microbatch script)",
    },
    Dialect {
        name: "clickhouse",
        strategies: &[(Append, "append"), (DeleteInsert, "delete_insert"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: false,
        correlated_exists: false,
        table_format: None,
        interval_example: "{ts} - interval 3 day",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: true,
        parent: None,
        microbatch: Microbatch::Refused("dbt-clickhouse inserts a key-less batch without deleting its window first, so every re-run batch doubles its rows, and with a unique_key it deletes only the batch's keys inside the window, so a key whose event_time moved stays twice"),
        quote: '"',
        reserved: &[],
        by_position: &[Append],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::EndToEnd,
        note: "delete+insert is dbt-clickhouse's delete_insert (lightweight deletes); order_by defaults to the unique key (through assumeNotNull, so Nullable keys work)",
    },
    Dialect {
        name: "databricks",
        strategies: &[(Append, "append"), (Merge, "merge"), (InsertOverwrite, "insert_overwrite"), (DeleteInsert, "delete+insert"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: true,
        correlated_exists: true,
        table_format: Some(TableFormat { key: "file_format", values: &["delta", "iceberg", "hudi", "parquet"], merge_values: &["delta", "hudi"], delete_insert_values: &["delta"], default_merge: None, default_other: None }),
        interval_example: "{ts} - interval 3 day",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: Some(("liquid_clustered_by", 4)),
        order_by: false,
        parent: Some("spark"),
        microbatch: Microbatch::ReplaceWindow,
        quote: '`',
        reserved: &[],
        by_position: &[Microbatch],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::Reviewed,
        note: "delete+insert needs DBR 17.1+ or a SQL warehouse (checked at run time); cluster_by is liquid clustering",
    },
    Dialect {
        name: "duckdb",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: true,
        correlated_exists: true,
        table_format: None,
        interval_example: "{ts} - interval '3 day'",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: false,
        parent: None,
        microbatch: Microbatch::ReplaceWindow,
        quote: '"',
        reserved: &[],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::EndToEnd,
        note: "merge and microbatch need DuckDB >= 1.4; delete+insert commits far faster than merge",
    },
    Dialect {
        name: "postgres",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: false,
        correlated_exists: true,
        table_format: None,
        interval_example: "{ts} - interval '3 day'",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: false,
        parent: None,
        microbatch: Microbatch::MergeOnKey,
        quote: '"',
        reserved: &[],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::EndToEnd,
        note: "merge and microbatch (a merge per batch) need PostgreSQL >= 15",
    },
    Dialect {
        name: "redshift",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: DeleteInsert,
        qualify: true,
        correlated_exists: true,
        table_format: None,
        interval_example: "dateadd(day, -3, {ts})",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: false,
        parent: Some("postgres"),
        microbatch: Microbatch::ReplaceWindow,
        quote: '"',
        reserved: &["aes128", "aes256", "allowoverwrite", "authorization", "az64", "backup", "binary", "blanksasnull", "bytedict", "bzip2", "credentials", "current_user_id", "deferrable", "deflate", "defrag", "delta", "delta32k", "disable", "do", "emptyasnull", "enable", "encode", "encrypt", "encryption", "explicit", "freeze", "globaldict256", "globaldict64k", "gzip", "identity", "ignore", "initially", "isnull", "language", "localtime", "localtimestamp", "lun", "luns", "lzo", "lzop", "mostly16", "mostly32", "mostly8", "new", "notnull", "nulls", "off", "offline", "oid", "old", "only", "open", "overlaps", "parallel", "percent", "permissions", "placing", "raw", "readratio", "recover", "rejectlog", "resort", "respect", "restore", "similar", "snapshot", "sysdate", "system", "tag", "tdes", "text255", "text32k", "timestamp", "truncatecolumns", "verbose", "wallet", "without"],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::Reviewed,
        note: "qualify exists since 2023",
    },
    Dialect {
        name: "snowflake",
        strategies: &[(Append, "append"), (Merge, "merge"), (DeleteInsert, "delete+insert"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: true,
        correlated_exists: true,
        table_format: None,
        interval_example: "dateadd(day, -3, {ts})",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: Some(("cluster_by", 16)),
        order_by: false,
        parent: None,
        microbatch: Microbatch::ReplaceWindow,
        quote: '"',
        reserved: &[],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::Emulated,
        note: "insert_overwrite replaces the whole table here",
    },
    Dialect {
        name: "spark",
        strategies: &[(Append, "append"), (Merge, "merge"), (InsertOverwrite, "insert_overwrite"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        table_format: Some(TableFormat { key: "file_format", values: &["delta", "iceberg", "hudi", "parquet", "orc"], merge_values: &["delta", "iceberg", "hudi"], delete_insert_values: &["delta", "iceberg", "hudi"], default_merge: Some("delta"), default_other: Some("parquet") }),
        interval_example: "{ts} - interval 3 day",
        literal_watermark: false,
        overwrite_partitions: true,
        partition_by: true,
        cluster_config: None,
        order_by: false,
        parent: None,
        microbatch: Microbatch::Refused("dbt-spark runs microbatch as an insert_overwrite of the partitions a batch touches, which needs partition_by on a date column and leaves rows behind an empty batch"),
        quote: '`',
        reserved: &[],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::EndToEnd,
        note: "merge needs a Delta, Iceberg or Hudi table (file_format; delta by default, parquet otherwise); insert_overwrite rebuilds the partitions a run touches",
    },
    Dialect {
        name: "sqlserver",
        strategies: &[(Append, "append"), (DeleteInsert, "delete+insert"), (Merge, "merge"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        table_format: None,
        interval_example: "dateadd(day, -3, {ts})",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: false,
        parent: None,
        microbatch: Microbatch::ReplaceWindow,
        quote: '"',
        reserved: &["add", "authorization", "backup", "begin", "break", "browse", "bulk", "cascade", "checkpoint", "close", "clustered", "coalesce", "commit", "compute", "contains", "containstable", "continue", "convert", "current", "cursor", "database", "dbcc", "deallocate", "declare", "deny", "disk", "distributed", "double", "dump", "errlvl", "escape", "exec", "execute", "exit", "external", "file", "fillfactor", "freetext", "freetexttable", "function", "goto", "holdlock", "identity", "identity_insert", "identitycol", "if", "index", "key", "kill", "lineno", "load", "merge", "national", "nocheck", "nonclustered", "nullif", "of", "off", "offsets", "open", "opendatasource", "openquery", "openrowset", "openxml", "option", "percent", "plan", "precision", "print", "proc", "procedure", "public", "raiserror", "read", "readtext", "reconfigure", "replication", "restore", "restrict", "return", "revert", "revoke", "rollback", "rowcount", "rowguidcol", "rule", "save", "schema", "securityaudit", "semantickeyphrasetable", "semanticsimilaritydetailstable", "semanticsimilaritytable", "setuser", "shutdown", "statistics", "system_user", "textsize", "tran", "transaction", "trigger", "truncate", "try_convert", "tsequal", "updatetext", "use", "varying", "waitfor", "while", "within", "writetext"],
        by_position: &[],
        max_model_name: Some(95),
        true_literal: "1",
        proof: Proof::Reviewed,
        note: "not Microsoft Fabric: dbt-fabric's adapter type is fabric and dispatches to no sqlserver__ macro",
    },
    Dialect {
        name: "trino",
        strategies: &[(Append, "append"), (Merge, "merge"), (DeleteInsert, "delete+insert"), (Microbatch, "microbatch")],
        default_strategy: Merge,
        qualify: false,
        correlated_exists: true,
        table_format: None,
        interval_example: "date_add('day', -3, {ts})",
        literal_watermark: false,
        overwrite_partitions: false,
        partition_by: false,
        cluster_config: None,
        order_by: false,
        parent: None,
        microbatch: Microbatch::ReplaceWindow,
        quote: '"',
        reserved: &[],
        by_position: &[],
        max_model_name: None,
        true_literal: "true",
        proof: Proof::Reviewed,
        note: "merge and delete+insert depend on the connector (Iceberg, Delta Lake, Hive ACID)",
    },
];

impl Dialect {
    /// Whether `strategy` inserts by column position on this adapter ([`Dialect::by_position`]).
    pub fn inserts_by_position(&self, strategy: Strategy) -> bool {
        self.by_position.contains(&strategy)
    }

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
