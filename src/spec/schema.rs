//! The JSON Schema of the spec format (`dbt-incr schema`), for editors: with
//! `# yaml-language-server: $schema=<path or URL of incremental.schema.json>` at the top of an
//! `incremental.yml`, the YAML language server completes keys and flags mistakes as you type.
//!
//! Built from the same tables the validator uses (dialects, strategies, model keys), so it cannot
//! drift from them. It checks the shape of a spec; rules that need more than shape (a strategy
//! the dialect lacks, `columns` leaving out the key, reserved words, …) are left to
//! `dbt-incr generate`, which explains them.

use serde_json::{Value, json};

use crate::dialect::{Dialect, Strategy};
use super::model::{DEFAULT_LOOKBACK, MODEL_KEYS};

const IDENTIFIER: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
const NAME_IN_QUOTES: &str = r#"\s*['"][A-Za-z_][A-Za-z0-9_]*['"]\s*"#;

/// The schema, as a JSON value.
pub fn schema() -> Value {
    let strategies: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
    let dialects: Vec<&str> = Dialect::names().collect();
    let relation = format!(r"^\s*(ref\({NAME_IN_QUOTES}(,{NAME_IN_QUOTES})?\)|source\({NAME_IN_QUOTES},{NAME_IN_QUOTES}\))\s*$");

    let mut model_properties = serde_json::Map::new();
    let mut add = |key: &str, value: Value| {
        assert!(MODEL_KEYS.contains(&key), "schema describes unknown model key {key}");
        model_properties.insert(key.to_string(), value);
    };
    add("name", json!({ "$ref": "#/$defs/identifier", "description": "The model's name: its file name (<name>.sql) and its table name." }));
    add("from", json!({
        "type": "string",
        "pattern": relation,
        "description": "The relation the model reads: ref('model'), ref('package', 'model') or source('source', 'table').",
        "examples": ["source('raw', 'events')", "ref('stg_events')"]
    }));
    add("unique_key", json!({ "$ref": "#/$defs/names", "description": "Column(s) identifying a row. dbt config: unique_key. Omit for an append-only model." }));
    add("load_time", json!({ "$ref": "#/$defs/identifier", "description": "Column the loader stamps when it writes a row; the incremental window is measured on it." }));
    add("event_time", json!({ "$ref": "#/$defs/identifier", "description": "Business-time column: backfill windows (and microbatch batches) are measured on it. dbt config (microbatch): event_time." }));
    add("lookback", json!({
        "type": "string",
        "pattern": r"^\s*[0-9]+\s+(minute|minutes|hour|hours|day|days)\s*$",
        "default": DEFAULT_LOOKBACK.to_string(),
        "description": "How far before the target's newest load_time an incremental run re-reads the source: <n> minutes, hours or days. dbt config (microbatch): lookback, in batches.",
        "examples": ["3 days", "12 hours", "0 minutes"]
    }));
    add("incremental_strategy", json!({
        "enum": strategies,
        "description": "dbt config: incremental_strategy. Default: the dialect's best safe choice (append for a model without unique_key). insert_overwrite only on spark, with unique_key and partition_by: every partition a run touches is rebuilt in full; refused elsewhere (it loses rows)."
    }));
    add("columns", json!({
        "type": "array",
        "items": { "$ref": "#/$defs/identifier" },
        "minItems": 1,
        "uniqueItems": true,
        "description": "Columns to keep. Default: every column of the source, read at run time."
    }));
    add("tie_breaker", json!({ "$ref": "#/$defs/names", "description": "Columns that order two versions of a key loaded at the same time. Default: every other column." }));
    add("path", json!({
        "type": "string",
        "pattern": r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*/?$",
        "description": "Subfolder under the project's first model path where the model file is written.",
        "examples": ["marts", "marts/finance"]
    }));
    add("on_schema_change", json!({
        "enum": ["append_new_columns", "sync_all_columns", "fail", "ignore"],
        "default": "append_new_columns",
        "description": "dbt config: on_schema_change."
    }));
    add("tags", json!({
        "oneOf": [
            { "$ref": "#/$defs/tag" },
            { "type": "array", "items": { "$ref": "#/$defs/tag" }, "minItems": 1 }
        ],
        "description": "dbt config: tags."
    }));
    add("partition_by", json!({
        "oneOf": [
            { "$ref": "#/$defs/identifier" },
            {
                "type": "object",
                "additionalProperties": false,
                "required": ["field"],
                "properties": {
                    "field": { "$ref": "#/$defs/identifier" },
                    "data_type": { "enum": ["timestamp", "datetime", "date"], "default": "timestamp" },
                    "granularity": { "enum": ["hour", "day", "month", "year"] }
                }
            }
        ],
        "description": "BigQuery: the date or time column to partition by (a TIMESTAMP by day), or dbt-bigquery's mapping; a microbatch model's granularity is its batch_size. Spark: the partition column (a date column; required by insert_overwrite). dbt config: partition_by."
    }));
    add("cluster_by", json!({ "$ref": "#/$defs/names", "description": "Column(s) to cluster by (snowflake, bigquery; liquid clustering on databricks). dbt config: cluster_by, or liquid_clustered_by on databricks." }));
    add("deleted", json!({
        "type": "string",
        "pattern": r"^\s*[A-Za-z_][A-Za-z0-9_]*(\s+is\s+not\s+null|\s*=\s*('[^'\\]+'|true))?\s*$",
        "description": "How the loader marks a deleted row: a boolean column (true means deleted), `col is not null`, or `col = 'value'`. A key whose newest version is a delete is removed. Needs a unique_key and merge, delete+insert or microbatch.",
        "examples": ["_fivetran_deleted", "_ab_cdc_deleted_at is not null", "op = 'd'"]
    }));
    add("order_by", json!({ "$ref": "#/$defs/names", "description": "ClickHouse only: the MergeTree sorting key [default: the unique key, each column through assumeNotNull]. dbt config: order_by." }));
    add("file_format", json!({ "enum": ["delta", "iceberg", "hudi", "parquet", "orc"], "description": "Spark and Databricks: the table format (Spark: merge and delete+insert need delta, iceberg or hudi; Databricks: merge needs delta or hudi, delete+insert needs delta) [spark default: delta for merge, parquet otherwise]. dbt config: file_format." }));
    add("table_type", json!({ "enum": ["hive", "iceberg"], "description": "Athena: the table type (merge needs iceberg) [default: iceberg for merge]. dbt config: table_type." }));
    add("begin", json!({
        "type": "string",
        "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        "description": "Microbatch only: the first event date dbt builds from. dbt config: begin.",
        "examples": ["2024-01-01"]
    }));
    add("batch_size", json!({
        "enum": ["hour", "day", "month", "year"],
        "default": "day",
        "description": "Microbatch only: the size of one batch. dbt config: batch_size."
    }));

    let mut defaults_properties = model_properties.clone();
    defaults_properties.remove("name");
    defaults_properties.remove("from");

    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dbt-incr spec (incremental.yml), version 1",
        "description": "Incremental models for dbt-incr to generate. See docs/spec.md.",
        "type": "object",
        "additionalProperties": false,
        "required": ["version", "models"],
        "properties": {
            "version": { "const": 1, "description": "Spec format version." },
            "dialect": { "enum": dialects, "description": "Warehouse dialect. Default: --dialect, else the adapter of the profile's target (--target, DBT_TARGET, the profile's `target:`)." },
            "keyword_case": { "enum": ["lower", "upper"], "default": "lower", "description": "How generated SQL writes its keywords (sqlfluff's capitalisation.keywords policy); the same in every spec of a project." },
            "defaults": {
                "type": "object",
                "additionalProperties": false,
                "properties": defaults_properties,
                "description": "Model keys applied to every model that does not set them."
            },
            "models": {
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/model" },
                "description": "One entry per generated model."
            }
        },
        // load_time is required of each model unless `defaults:` gives it.
        "if": {
            "required": ["defaults"],
            "properties": { "defaults": { "required": ["load_time"] } }
        },
        "else": {
            "properties": { "models": { "items": { "required": ["load_time"] } } }
        },
        "$defs": {
            "identifier": {
                "type": "string",
                "pattern": IDENTIFIER,
                "maxLength": 127,
                "description": "A plain SQL name: letters, digits and _, starting with a letter or _ (and not a reserved word)."
            },
            "names": {
                "oneOf": [
                    { "$ref": "#/$defs/identifier" },
                    { "type": "array", "items": { "$ref": "#/$defs/identifier" }, "minItems": 1, "uniqueItems": true }
                ]
            },
            "tag": { "type": "string", "pattern": "^[A-Za-z0-9_-]+$" },
            "model": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name", "from"],
                "properties": model_properties
            }
        }
    })
}

/// The schema as `dbt-incr schema` prints it (and docs/incremental.schema.json holds it).
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value serialises");
    text.push('\n');
    text
}
