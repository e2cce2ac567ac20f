//! What dbt's own artifacts and loaders' conventions say about a relation's columns: the columns
//! listed in `target/catalog.json` (found through `target/manifest.json`), and which of them is
//! the loader's load-time stamp.

use std::path::Path;

use serde_json::Value;

use super::read_text;
use crate::error::{Diagnostic, Error};
use crate::spec::Relation;

/// Column names loaders stamp when they write a row: the right column for an incremental filter.
pub const LOADER_COLUMNS: &[&str] = &[
    "_fivetran_synced",
    "_airbyte_extracted_at",
    "_airbyte_emitted_at",
    "_airbyte_loaded_at",
    "_sdc_batched_at",
    "_sdc_extracted_at",
    "_sdc_received_at",
    "_loaded_at",
    "_etl_loaded_at",
    "_ingested_at",
    "_dlt_load_time",
    "_peerdb_synced_at",
    "_stitch_loaded_at",
    "loaded_at",
    "load_time",
    "load_ts",
    "ingested_at",
    "inserted_at",
    "_inserted_at",
    "received_at",
];

/// Whether `column` looks like a load (ingestion) timestamp.
pub fn is_load_time(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    LOADER_COLUMNS.contains(&c.as_str())
        || ["load", "ingest", "synced", "_sdc_", "_airbyte_", "_fivetran", "extracted", "inserted", "received", "arrived", "batched"].iter().any(|w| c.contains(w))
}

/// Whether `column` looks like a timestamp at all (event or load).
pub fn is_timestamp_like(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    is_load_time(&c) || c.ends_with("_at") || c.ends_with("_ts") || c.ends_with("_time") || c.ends_with("_date") || c.contains("timestamp") || c == "ts" || c.ends_with("time") || c.ends_with("date")
}

/// The columns of `relation` from `target/manifest.json` + `target/catalog.json`, in table order.
/// `Ok(None)` when the files are absent; an error when they exist but cannot be read.
pub fn catalog_columns(root: &Path, relation: &Relation) -> Result<Option<Vec<(String, String)>>, Error> {
    let manifest_path = root.join("target/manifest.json");
    let catalog_path = root.join("target/catalog.json");
    if !manifest_path.is_file() || !catalog_path.is_file() {
        return Ok(None);
    }
    let load = |path: &Path| -> Result<Value, Error> {
        let text = read_text(path)?;
        serde_json::from_str(&text).map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", path.display())).hint("regenerate it with `dbt docs generate`").into())
    };
    let manifest = load(&manifest_path)?;
    let catalog = load(&catalog_path)?;
    let (section, found) = match relation {
        Relation::Source { source, table } => (
            "sources",
            manifest.get("sources").and_then(Value::as_object).and_then(|m| {
                m.iter().find(|(_, v)| v.get("source_name").and_then(Value::as_str) == Some(source) && v.get("name").and_then(Value::as_str) == Some(table)).map(|(k, _)| k.clone())
            }),
        ),
        Relation::Ref { package, model } => (
            "nodes",
            manifest.get("nodes").and_then(Value::as_object).and_then(|m| {
                m.iter()
                    .find(|(_, v)| {
                        matches!(v.get("resource_type").and_then(Value::as_str), Some("model" | "seed" | "snapshot"))
                            && v.get("name").and_then(Value::as_str) == Some(model)
                            && package.as_deref().is_none_or(|p| v.get("package_name").and_then(Value::as_str) == Some(p))
                    })
                    .map(|(k, _)| k.clone())
            }),
        ),
    };
    let Some(id) = found else { return Ok(Some(Vec::new())) };
    let Some(columns) = catalog.get(section).and_then(|s| s.get(&id)).and_then(|n| n.get("columns")).and_then(Value::as_object) else {
        return Ok(Some(Vec::new()));
    };
    let mut cols: Vec<(u64, String, String)> = columns
        .iter()
        .map(|(k, v)| {
            let name = v.get("name").and_then(Value::as_str).unwrap_or(k).to_string();
            let ty = v.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            (v.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX), name, ty)
        })
        .collect();
    cols.sort();
    Ok(Some(cols.into_iter().map(|(_, n, t)| (n, t)).collect()))
}

/// The load-time column to propose among `columns`: a known loader column first (in
/// [`LOADER_COLUMNS`] order), then any column whose name says "loaded"/"ingested"/….
pub fn propose_load_time(columns: &[String]) -> Option<String> {
    let lower: Vec<String> = columns.iter().map(|c| c.to_ascii_lowercase()).collect();
    LOADER_COLUMNS
        .iter()
        .find_map(|l| lower.iter().position(|c| c == l))
        .or_else(|| lower.iter().position(|c| is_load_time(c)))
        .map(|i| columns[i].clone())
}

/// The tombstone columns loaders write, and how each marks a delete (a `deleted:` spec value).
pub const DELETE_MARKERS: &[(&str, &str)] = &[
    ("_fivetran_deleted", "_fivetran_deleted"),
    ("_ab_cdc_deleted_at", "_ab_cdc_deleted_at is not null"),
    ("_sdc_deleted_at", "_sdc_deleted_at is not null"),
    ("__deleted", "__deleted = 'true'"),
    ("_peerdb_is_deleted", "_peerdb_is_deleted"),
    ("_dlt_deleted", "_dlt_deleted"),
];

/// The `deleted:` value to propose among `columns`: a loader's known tombstone column.
pub fn propose_deleted(columns: &[String]) -> Option<String> {
    DELETE_MARKERS.iter().find_map(|(column, spec)| columns.iter().any(|c| c.eq_ignore_ascii_case(column)).then(|| spec.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposes_loader_columns_first() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(propose_load_time(&cols(&["id", "updated_at", "_FIVETRAN_SYNCED"])).as_deref(), Some("_FIVETRAN_SYNCED"));
        assert_eq!(propose_load_time(&cols(&["id", "event_at", "etl_load_ts"])).as_deref(), Some("etl_load_ts"));
        assert_eq!(propose_load_time(&cols(&["id", "event_at", "created_at"])), None);
        assert_eq!(propose_deleted(&cols(&["id", "_ab_cdc_deleted_at", "_airbyte_extracted_at"])).as_deref(), Some("_ab_cdc_deleted_at is not null"));
        assert_eq!(propose_deleted(&cols(&["ID", "_FIVETRAN_DELETED"])).as_deref(), Some("_fivetran_deleted"));
        assert_eq!(propose_deleted(&cols(&["id", "deleted"])), None);
    }
}
