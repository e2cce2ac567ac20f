//! The spec's validated form: what a spec file becomes once every check has passed, and the
//! names of its keys. Everything here can be generated and keeps the "incremental equals full
//! refresh" promise.

use std::path::PathBuf;

use crate::dialect::{Dialect, Strategy};

/// Default `lookback` when neither the model nor `defaults:` sets one.
pub const DEFAULT_LOOKBACK: Lookback = Lookback { amount: 3, unit: TimeUnit::Day };

/// Largest `lookback` amount accepted, to keep date arithmetic in every warehouse's range.
pub const MAX_LOOKBACK_AMOUNT: u32 = 100_000;

/// Largest spec file read, so a hostile input cannot take the memory.
pub const MAX_SPEC_BYTES: u64 = 64 * 1024 * 1024;

/// Model keys valid under `models:` (and, but for `name` and `from`, under `defaults:`).
pub const MODEL_KEYS: &[&str] = &[
    "name",
    "from",
    "unique_key",
    "load_time",
    "event_time",
    "lookback",
    "incremental_strategy",
    "columns",
    "tie_breaker",
    "deleted",
    "path",
    "on_schema_change",
    "tags",
    "partition_by",
    "cluster_by",
    "order_by",
    "file_format",
    "table_type",
    "begin",
    "batch_size",
];

/// Top-level keys of a spec.
pub const TOP_KEYS: &[&str] = &["version", "dialect", "keyword_case", "defaults", "models"];

/// How SQL keywords are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeywordCase {
    #[default]
    Lower,
    Upper,
}

impl KeywordCase {
    pub fn parse(text: &str) -> Option<KeywordCase> {
        match text {
            "lower" => Some(KeywordCase::Lower),
            "upper" => Some(KeywordCase::Upper),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeywordCase::Lower => "lower",
            KeywordCase::Upper => "upper",
        }
    }
}


/// A spec file, validated.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// Path as given (relative to the project when found there), shown in headers and errors.
    pub path: PathBuf,
    pub dialect: Option<String>,
    /// How generated SQL writes its keywords.
    pub keyword_case: KeywordCase,
    pub models: Vec<Model>,
}

/// The relation a model reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    Ref { package: Option<String>, model: String },
    Source { source: String, table: String },
}

impl Relation {
    /// The dbt Jinja call, normalised: `ref('m')`, `ref('pkg', 'm')`, `source('s', 't')`.
    pub fn jinja_call(&self) -> String {
        match self {
            Relation::Ref { package: None, model } => format!("ref('{model}')"),
            Relation::Ref { package: Some(p), model } => format!("ref('{p}', '{model}')"),
            Relation::Source { source, table } => format!("source('{source}', '{table}')"),
        }
    }

    /// The names in the call, in order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Relation::Ref { package, model } => package.iter().map(String::as_str).chain([model.as_str()]).collect(),
            Relation::Source { source, table } => vec![source, table],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Minute,
    Hour,
    Day,
}

impl TimeUnit {
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
        }
    }
}

/// How far before the target's watermark an incremental run re-reads the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookback {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl Lookback {
    pub fn is_zero(self) -> bool {
        self.amount == 0
    }
}

impl std::fmt::Display for Lookback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.amount == 1 { "" } else { "s" };
        write!(f, "{} {}{plural}", self.amount, self.unit.name())
    }
}

/// How a loader marks a deleted row: a version of the key like any other, whose presence as the
/// newest version means the key is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub column: String,
    pub test: DeletedTest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletedTest {
    /// `_fivetran_deleted`: a boolean, true for a delete.
    IsTrue,
    /// `_ab_cdc_deleted_at is not null` (Airbyte), `_sdc_deleted_at is not null` (Stitch).
    NotNull,
    /// `op = 'd'` (Debezium), `__deleted = 'true'`.
    Equals(String),
}

impl Deleted {
    /// As written in a spec (and in the settings line).
    pub fn describe(&self) -> String {
        match &self.test {
            DeletedTest::IsTrue => self.column.clone(),
            DeletedTest::NotNull => format!("{} is not null", self.column),
            DeletedTest::Equals(v) => format!("{} = '{v}'", self.column),
        }
    }

    /// SQL true for a delete; `true_literal` is how the dialect writes true (SQL Server: 1).
    pub fn condition(&self, true_literal: &str) -> String {
        match &self.test {
            DeletedTest::IsTrue => format!("{} = {true_literal}", self.column),
            DeletedTest::NotNull => format!("{} is not null", self.column),
            DeletedTest::Equals(v) => format!("{} = '{v}'", self.column),
        }
    }

    /// SQL true for a row that is not a delete (a NULL flag is not a delete).
    pub fn kept(&self, true_literal: &str) -> String {
        match &self.test {
            DeletedTest::IsTrue => format!("({c} is null or {c} <> {true_literal})", c = self.column),
            DeletedTest::NotNull => format!("{} is null", self.column),
            DeletedTest::Equals(v) => format!("({c} is null or {c} <> '{v}')", c = self.column),
        }
    }
}

/// BigQuery partitioning, in dbt-bigquery's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionBy {
    pub field: String,
    /// `timestamp`, `datetime` or `date`.
    pub data_type: String,
    /// `hour`, `day`, `month` or `year`; `None`: day, or the batch size of a microbatch model.
    pub granularity: Option<String>,
}

impl PartitionBy {
    /// As the settings line shows it: the field, then the type and granularity when not default.
    pub fn describe(&self) -> String {
        match (self.data_type.as_str(), &self.granularity) {
            ("timestamp", None) => self.field.clone(),
            (ty, None) => format!("{} ({ty})", self.field),
            (ty, Some(g)) => format!("{} ({ty}, {g})", self.field),
        }
    }
}

/// One incremental model, validated against its dialect: everything here can be generated and
/// keeps the "incremental equals full refresh" promise.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub from: Relation,
    /// Empty for append-only models.
    pub unique_key: Vec<String>,
    pub load_time: String,
    pub event_time: Option<String>,
    pub lookback: Lookback,
    pub strategy: Strategy,
    /// `None`: every column of the source, read at run time.
    pub columns: Option<Vec<String>>,
    /// `None`: every column (of `columns`, else of the source) that is neither key nor load time.
    pub tie_breaker: Option<Vec<String>>,
    /// How the loader marks a deleted row (a tombstone), if it does.
    pub deleted: Option<Deleted>,
    /// Subfolder under the project's first model path; empty for none.
    pub path: Vec<String>,
    pub on_schema_change: String,
    pub tags: Vec<String>,
    pub partition_by: Option<PartitionBy>,
    /// Written in the adapter's clustering config (`cluster_by`, or `liquid_clustered_by` on Databricks).
    pub cluster_by: Vec<String>,
    /// ClickHouse's MergeTree sorting key; empty for the default (the unique key).
    pub order_by: Vec<String>,
    /// The table format (`file_format` on Spark/Databricks, `table_type` on Athena) the spec
    /// names; `None` for the dialect's default.
    pub table_format: Option<String>,
    pub begin: Option<String>,
    pub batch_size: Option<String>,
    /// The dialect this model was validated for.
    pub dialect: &'static Dialect,
    /// How its generated SQL writes keywords (its spec's `keyword_case`).
    pub keyword_case: KeywordCase,
    /// Line of the model's entry in its spec file.
    pub line: usize,
    /// Column of the model's first key on that line.
    pub column: usize,
}
