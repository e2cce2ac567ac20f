//! Turns a validated [`Model`] into the text of its dbt model file.
//!
//! Every decision is made here, in a [`ModelContext`]; `templates/model.sql` only lays it out.

use minijinja::Environment;
use serde::Serialize;

use super::header::{self, MARKER};
use crate::dialect::Strategy;
use crate::error::Error;
use crate::spec::model::DeletedTest;
use crate::spec::{Model, TimeUnit};

const MODEL_TEMPLATE: &str = include_str!("../../templates/model.sql");

/// The text renderer for generated files. Build once, render many.
pub struct Renderer {
    env: Environment<'static>,
}

#[derive(Serialize)]
struct ConfigEntry {
    key: &'static str,
    value: String,
}

/// What the model template needs, all decided.
#[derive(Serialize)]
struct ModelContext<'a> {
    marker: &'static str,
    spec_path: &'a str,
    name: &'a str,
    /// The model's resolved settings, one line, read back by `dbt-incr plan` (src/review.rs).
    settings: String,
    config: Vec<ConfigEntry>,
    /// The strategy in dbt's spelling for the adapter.
    strategy: &'static str,
    /// insert_overwrite: `dbt_incr_overwrite`'s arguments up to `deleted`, or none.
    overwrite: Option<String>,
    microbatch: bool,
    /// Whether rows are deduplicated on a unique key (false for append-only facts).
    dedup: bool,
    /// Jinja list literal of the spec's `columns`, if any.
    columns: Option<String>,
    select_list: String,
    from: String,
    load_time: &'a str,
    lookback: String,
    lookback_amount: u32,
    lookback_unit: &'static str,
    /// Column a backfill window is measured on: event_time, else load_time.
    window_column: &'a str,
    /// The Jinja variable holding that column's type at run time.
    window_column_type: &'static str,
    /// Empty when the model has none.
    event_time: &'a str,
    batch_size: &'a str,
    unique_key: String,
    unique_key_text: String,
    /// Jinja list of the spec's `tie_breaker`, or `none`.
    tie_breaker: String,
    /// SQL true for a row that is not a delete / that is one, when the model has `deleted`.
    not_deleted: Option<String>,
    deleted_condition: String,
    /// The spec's `deleted`, as written.
    deleted_text: String,
    tie_breaker_text: String,
}

/// `['a', 'b']`: identifiers are validated, so no escaping is needed.
fn jinja_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn jinja_str(s: &str) -> String {
    format!("'{s}'")
}

impl Renderer {
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .block_delimiters("[%", "%]")
            .variable_delimiters("[[", "]]")
            .comment_delimiters("[#", "#]")
            .keep_trailing_newline(true)
            .build()
            .expect("static delimiters are valid");
        env.set_syntax(syntax);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template("model.sql", MODEL_TEMPLATE).expect("templates/model.sql parses");
        Renderer { env }
    }

    /// The model file for `model`, declared in the spec at `spec_path` (as shown in its header).
    pub fn model(&self, model: &Model, spec_path: &str) -> Result<String, Error> {
        let ctx = model_context(model, spec_path);
        let template = self.env.get_template("model.sql").expect("registered");
        let mut text = template.render(minijinja::value::Serde(&ctx)).map_err(|source| Error::Template { name: "model.sql".into(), source })?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(header::stamp(&super::case::apply(&text, model.keyword_case)))
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

fn config_entries(model: &Model) -> Vec<ConfigEntry> {
    let dialect = model.dialect;
    let adapter_strategy = dialect.adapter_strategy(model.strategy).expect("validated against the dialect");
    let mut config = vec![
        ConfigEntry { key: "materialized", value: jinja_str("incremental") },
        ConfigEntry { key: "incremental_strategy", value: jinja_str(adapter_strategy) },
    ];
    if !model.unique_key.is_empty() {
        config.push(ConfigEntry { key: "unique_key", value: jinja_list(&model.unique_key) });
    }
    config.push(ConfigEntry { key: "on_schema_change", value: jinja_str(&model.on_schema_change) });
    if let Some(format) = &dialect.table_format {
        let updates = matches!(model.strategy, Strategy::Merge | Strategy::DeleteInsert);
        let default = if updates { format.default_merge } else { format.default_other };
        if let Some(value) = model.table_format.as_deref().or(default) {
            config.push(ConfigEntry { key: format.key, value: jinja_str(value) });
        }
    }
    if model.strategy == Strategy::Microbatch {
        let event_time = model.event_time.as_deref().expect("validated: microbatch has event_time");
        let batch_size = model.batch_size.as_deref().unwrap_or("day");
        config.push(ConfigEntry { key: "event_time", value: jinja_str(event_time) });
        config.push(ConfigEntry { key: "begin", value: jinja_str(model.begin.as_deref().expect("validated: microbatch has begin")) });
        config.push(ConfigEntry { key: "batch_size", value: jinja_str(batch_size) });
        config.push(ConfigEntry { key: "lookback", value: microbatch_lookback(model.lookback.amount, model.lookback.unit, batch_size).to_string() });
    }
    if dialect.overwrite_partitions
        && let Some(p) = &model.partition_by
    {
        // Spark: identity partitions on the column.
        config.push(ConfigEntry { key: "partition_by", value: jinja_list(std::slice::from_ref(&p.field)) });
    } else if let Some(p) = &model.partition_by {
        // BigQuery takes partition_by as dbt-bigquery's mapping. A microbatch model's partitions are its
        // batches (dbt-bigquery requires granularity = batch_size).
        let batch = (model.strategy == Strategy::Microbatch).then(|| model.batch_size.as_deref().unwrap_or("day"));
        let granularity = p.granularity.as_deref().or(batch).unwrap_or("day");
        config.push(ConfigEntry { key: "partition_by", value: format!("{{'field': '{}', 'data_type': '{}', 'granularity': '{granularity}'}}", p.field, p.data_type) });
    }
    if let Some((key, _)) = dialect.cluster_config
        && !model.cluster_by.is_empty()
    {
        config.push(ConfigEntry { key, value: jinja_list(&model.cluster_by) });
    }
    if dialect.order_by {
        // A MergeTree sorted by the unique key: dbt-clickhouse's default (tuple()) leaves the
        // delete and the guard's join to scan the whole table. Each key column through
        // assumeNotNull: a Nullable column in a sorting key is refused (allow_nullable_key is
        // off by default), and ClickHouse still uses such a key for `(k) in (…)` and `k = …`.
        let order_by = if model.order_by.is_empty() {
            model.unique_key.iter().map(|k| format!("assumeNotNull({k})")).collect()
        } else {
            model.order_by.clone()
        };
        if !order_by.is_empty() {
            config.push(ConfigEntry { key: "order_by", value: jinja_list(&order_by) });
        }
    }
    if model.strategy == Strategy::InsertOverwrite {
        // Drops the touched partitions the rebuild leaves empty (a dynamic overwrite would keep
        // them as they were): macros/dbt_incr/overwrite.sql. A Jinja string, rendered by dbt when
        // the hook runs.
        let format = model.table_format.as_deref().or(dialect.table_format.as_ref().and_then(|f| f.default_other)).unwrap_or("parquet");
        let drop = if matches!(format, "iceberg" | "delta" | "hudi") { "delete" } else { "partition" };
        config.push(ConfigEntry { key: "pre_hook", value: format!("\"{{{{ dbt_incr_overwrite_pre_hook({}, '{drop}') }}}}\"", overwrite_args(model)) });
    }
    if let Some(d) = model.deleted.as_ref().filter(|_| model.strategy != Strategy::InsertOverwrite) {
        // (insert_overwrite rebuilds partitions without the deleted keys: no hook.)
        // A key whose newest version is a delete is written as that delete (so merge and
        // delete+insert replace the key's row); this removes it. A Jinja string, rendered by dbt
        // when the hook runs.
        let condition = d.condition(dialect.true_literal).replace('"', "\\\"");
        let statement = if dialect.name == "bigquery" && model.partition_by.is_some() {
            // A partitioned BigQuery table may require a partition filter on every query, DELETE
            // included (macros/dbt_incr/partition_filter.sql); the filter is always true.
            format!("delete from {{{{ this }}}} where ({condition}){{% set f = dbt_incr_partition_filter() | trim %}}{{% if f %}} and {{{{ f }}}}{{% endif %}}")
        } else {
            format!("delete from {{{{ this }}}} where {condition}")
        };
        config.push(ConfigEntry { key: "post_hook", value: format!("\"{statement}\"") });
    }
    if !model.tags.is_empty() {
        config.push(ConfigEntry { key: "tags", value: jinja_list(&model.tags) });
    }
    config
}

/// The arguments `dbt_incr_overwrite` and its pre-hook take, as Jinja, up to `deleted`.
fn overwrite_args(model: &Model) -> String {
    let p = model.partition_by.as_ref().map(|p| p.field.as_str()).unwrap_or_default();
    let event_time = model.event_time.as_deref().map(jinja_str).unwrap_or_else(|| "none".to_string());
    let columns = model.columns.as_deref().map(jinja_list).unwrap_or_else(|| "none".to_string());
    let tie_breaker = model.tie_breaker.as_deref().map(jinja_list).unwrap_or_else(|| "none".to_string());
    let deleted = match &model.deleted {
        None => "none".to_string(),
        Some(d) => {
            let (test, value) = match &d.test {
                DeletedTest::IsTrue => ("is_true", String::new()),
                DeletedTest::NotNull => ("not_null", String::new()),
                DeletedTest::Equals(v) => ("equals", v.clone()),
            };
            format!("['{}', '{test}', '{value}']", d.column)
        }
    };
    format!(
        "{}, {}, '{}', {event_time}, '{p}', {}, '{}', {columns}, {tie_breaker}, {deleted}",
        model.from.jinja_call(),
        jinja_list(&model.unique_key),
        model.load_time,
        model.lookback.amount,
        model.lookback.unit.name()
    )
}

/// dbt's microbatch `lookback` counts batches; the spec's lookback is a duration. Round up.
fn microbatch_lookback(amount: u32, unit: TimeUnit, batch_size: &str) -> u64 {
    let minutes = u64::from(amount)
        * match unit {
            TimeUnit::Minute => 1,
            TimeUnit::Hour => 60,
            TimeUnit::Day => 1440,
        };
    let batch_minutes: u64 = match batch_size {
        "hour" => 60,
        "day" => 1440,
        "month" => 31 * 1440,
        _ => 366 * 1440,
    };
    minutes.div_ceil(batch_minutes)
}

fn model_context<'a>(model: &'a Model, spec_path: &'a str) -> ModelContext<'a> {
    let select_list = match &model.columns {
        Some(cols) => cols.join(",\n        "),
        None => "*".to_string(),
    };
    let unique_key_text = match model.unique_key.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    };
    let tie_breaker_text = match &model.tie_breaker {
        Some(cols) => cols.join(", "),
        None => "every other column".to_string(),
    };
    ModelContext {
        marker: MARKER,
        spec_path,
        name: &model.name,
        settings: header::settings_line(model),
        config: config_entries(model),
        strategy: model.dialect.adapter_strategy(model.strategy).expect("validated against the dialect"),
        overwrite: (model.strategy == Strategy::InsertOverwrite).then(|| overwrite_args(model)),
        microbatch: model.strategy == Strategy::Microbatch,
        dedup: !model.unique_key.is_empty(),
        columns: model.columns.as_deref().map(jinja_list),
        select_list,
        from: model.from.jinja_call(),
        load_time: &model.load_time,
        lookback: model.lookback.to_string(),
        lookback_amount: model.lookback.amount,
        lookback_unit: model.lookback.unit.name(),
        window_column: model.event_time.as_deref().unwrap_or(&model.load_time),
        window_column_type: if model.event_time.is_some() { "event_time_type" } else { "load_time_type" },
        event_time: model.event_time.as_deref().unwrap_or(""),
        batch_size: model.batch_size.as_deref().unwrap_or("day"),
        unique_key: jinja_list(&model.unique_key),
        unique_key_text,
        tie_breaker: model.tie_breaker.as_deref().map(jinja_list).unwrap_or_else(|| "none".to_string()),
        not_deleted: model.deleted.as_ref().map(|d| d.kept(model.dialect.true_literal)),
        deleted_condition: model.deleted.as_ref().map(|d| d.condition(model.dialect.true_literal)).unwrap_or_default(),
        deleted_text: model.deleted.as_ref().map(|d| d.describe()).unwrap_or_default(),
        tie_breaker_text,
    }
}
