//! The review behind `dbt-incr plan`: what a regeneration changes, model by model, and what that
//! means for the data already in the warehouse (which changes need `--full-refresh`, and why).
//!
//! The previous settings of a model are read back from the `settings:` line in the header of its
//! generated file ([`header::settings_line`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dialect::Dialect;
use crate::plan::Plan;
use crate::render::header::{self, recorded_settings, settings};
use crate::render::macros;
use crate::spec::Model;
use crate::workspace::{Comparison, Status};

/// What a regeneration does to one model or macro file.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The model's name, or the macro file's name.
    pub name: String,
    pub kind: &'static str,
    pub path: String,
    /// `added`, `removed`, `changed`, `moved`.
    pub change: &'static str,
    pub notes: Vec<Note>,
}

/// One change and what it means for the data.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    /// The setting that changed (`lookback`, `unique_key`, …), or `model`, `sql`, `macro`.
    pub setting: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// What it means for the data already in the table, and why.
    pub meaning: String,
    /// What to run beyond the usual `dbt run`: `none` or `full-refresh`.
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    None,
    FullRefresh,
}

fn note(setting: &str, before: Option<&str>, after: Option<&str>, meaning: String, action: Action) -> Note {
    Note { setting: setting.to_string(), before: before.map(str::to_string), after: after.map(str::to_string), meaning, action }
}

/// The review of a comparison: one entry per model or macro file that would change.
pub fn review(plan: &Plan, comparison: &Comparison) -> Vec<Entry> {
    let mut entries = Vec::new();
    let by_path: BTreeMap<PathBuf, &Model> = plan.models.iter().map(|m| (plan.model_path(m), m)).collect();
    let macro_dir = Path::new(&plan.project.macro_path).join(macros::PACKAGE_DIR);
    // A model whose file moves (its `path` changed) shows as a missing file and an orphan.
    let orphan_models: BTreeMap<String, (String, &str)> = comparison
        .findings
        .iter()
        .filter(|f| f.status == Status::Orphaned && is_sql(&f.path))
        .filter_map(|f| {
            let old = f.old.as_deref()?;
            header::origin(old).map(|(_, model)| (model, (shown(&f.path), old)))
        })
        .collect();
    let mut macro_changes: Vec<(String, String, String)> = Vec::new();

    for f in &comparison.findings {
        let path = shown(&f.path);
        if f.path.starts_with(&macro_dir) {
            macro_changes.push((path, f.old.clone().unwrap_or_default(), f.new.clone().unwrap_or_default()));
            continue;
        }
        if !is_sql(&f.path) {
            continue;
        }
        if let Some(model) = by_path.get(f.path.as_path()) {
            let name = model.name.clone();
            match f.status {
                Status::Missing => match orphan_models.get(&name) {
                    Some((from, old_text)) => {
                        let mut notes = vec![note(
                            "path",
                            Some(from),
                            Some(&shown(&f.path)),
                            "the file moves; dbt names the table after the model, not the folder, so the table and its rows stay (unless a folder-level `+schema` config differs). `dbt-incr generate --prune` deletes the old file.".into(),
                            Action::None,
                        )];
                        // A model that moves may change too: every change of its settings counts.
                        let new: BTreeMap<String, String> = settings(model).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                        match recorded_settings(old_text) {
                            None => notes.push(note("settings", None, None, "the previous file records no settings (written by an older dbt-incr or edited), so what else changed in the spec is unknown: read the diff.".into(), Action::None)),
                            Some(old) => notes.extend(setting_notes(model, &old, &new)),
                        }
                        entries.push(Entry { name, kind: "model", path, change: "moved", notes });
                    }
                    None => entries.push(Entry {
                        name,
                        kind: "model",
                        path,
                        change: "added",
                        notes: vec![note("model", None, None, "a new model: its first `dbt run` builds the table in full; later runs are incremental.".into(), Action::None)],
                    }),
                },
                Status::Changed | Status::HandEdited => {
                    let mut notes = Vec::new();
                    if f.status == Status::HandEdited {
                        notes.push(note("file", None, None, "the file was edited by hand; `dbt-incr generate` refuses to overwrite it without --force, and the hand edit is lost then.".into(), Action::None));
                    }
                    let new: BTreeMap<String, String> = settings(model).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    match f.old.as_deref().and_then(recorded_settings) {
                        None => notes.push(note("settings", None, None, "the previous file records no settings (written by an older dbt-incr or edited), so what changed in the spec is unknown: read the diff.".into(), Action::None)),
                        Some(old) => notes.extend(setting_notes(model, &old, &new)),
                    }
                    if notes.iter().all(|n| n.setting == "file") {
                        notes.push(note("sql", None, None, "the SQL changes with no change to the spec (a dbt-incr upgrade): the rows a run produces should not change; `dbt-incr compile` shows the new SQL.".into(), Action::None));
                    }
                    entries.push(Entry { name, kind: "model", path, change: "changed", notes });
                }
                Status::Foreign => entries.push(Entry {
                    name,
                    kind: "model",
                    path,
                    change: "blocked",
                    notes: vec![note("file", None, None, "a file dbt-incr did not write is where this model goes; `dbt-incr generate` refuses to overwrite it.".into(), Action::None)],
                }),
                Status::Orphaned => {}
            }
        } else if f.status == Status::Orphaned {
            let Some((_, name)) = f.old.as_deref().and_then(header::origin) else { continue };
            if plan.models.iter().any(|m| m.name == name) {
                continue; // Moved: reported with its new path.
            }
            entries.push(Entry {
                name,
                kind: "model",
                path,
                change: "removed",
                notes: vec![note(
                    "model",
                    None,
                    None,
                    "no spec produces this model any more: `dbt-incr generate --prune` deletes the file; its table stays in the warehouse until you drop it.".into(),
                    Action::None,
                )],
            });
        }
    }

    for (path, old, new) in macro_changes {
        entries.push(macro_entry(plan, &path, &old, &new));
    }
    entries
}

fn setting_notes(model: &Model, old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<Note> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let order = ["dialect", "from", "unique_key", "load_time", "tie_breaker", "event_time", "lookback", "strategy", "columns", "on_schema_change"];
    let mut keys: Vec<&String> = keys.into_iter().collect();
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    let mut notes = Vec::new();
    let rebuild = |what: &str| format!("needs `dbt run -s {} --full-refresh`: {what}", model.name);
    for key in keys {
        let (before, after) = (old.get(key).map(String::as_str), new.get(key).map(String::as_str));
        if before == after {
            continue;
        }
        let shown = |v: Option<&str>, none: &str| v.map_or_else(|| none.to_string(), str::to_string);
        let (meaning, action) = match key.as_str() {
            "lookback" => {
                let (b, a) = (shown(before, "?"), shown(after, "?"));
                let wider = minutes(after) >= minutes(before);
                let meaning = if wider {
                    format!("the next incremental run re-reads rows loaded in the {a} before the target's newest {}, instead of {b}; re-read rows are deduplicated and never replace newer versions, so no backfill or --full-refresh is needed.", model.load_time)
                } else {
                    format!("incremental runs now re-read only {a} (was {b}) before the target's newest {}: rows arriving later than that are missed. The table is unaffected; no backfill needed.", model.load_time)
                };
                (meaning, Action::None)
            }
            "unique_key" => (
                rebuild(&format!(
                    "the table holds one row per {} (the old key); incremental runs would match on {}, so rows deduplicated under the old key are neither replaced nor merged.",
                    shown(before, "(none: append-only)"),
                    shown(after, "(none: append-only)")
                )),
                Action::FullRefresh,
            ),
            "tie_breaker" => (
                rebuild(&format!(
                    "the dedup order changes (ties on {} now broken by {}, was {}); rows already in the table were picked under the old order, and only keys an incremental run re-reads would switch.",
                    model.load_time,
                    shown(after, "every other column"),
                    shown(before, "every other column")
                )),
                Action::FullRefresh,
            ),
            "load_time" => (
                rebuild(&format!(
                    "the dedup order (latest {a}) and the incremental window (max({a}) in the table) change; rows already in the table were picked and filtered by {b}.",
                    a = shown(after, "?"),
                    b = shown(before, "?")
                )),
                Action::FullRefresh,
            ),
            "from" => (
                rebuild(&format!("the model reads {} instead of {}; the table holds rows of the old relation (skip the rebuild only if both hold the same rows).", shown(after, "?"), shown(before, "?"))),
                Action::FullRefresh,
            ),
            "event_time" => (
                format!("backfill windows are measured on {} from now on (was {}); rows in the table are unaffected, no rebuild needed.", shown(after, model.load_time.as_str()), shown(before, model.load_time.as_str())),
                Action::None,
            ),
            "strategy" => strategy_note(before, after),
            "columns" => columns_note(model, before, after),
            "on_schema_change" => (
                format!("later column changes are applied with on_schema_change='{}' instead of '{}'; no effect on the rows already in the table.", shown(after, "?"), shown(before, "?")),
                Action::None,
            ),
            "dialect" => (format!("the model is now written for {} instead of {}.", shown(after, "?"), shown(before, "?")), Action::None),
            "partition_by" if model.dialect.name == "bigquery" => (rebuild("BigQuery cannot change the partitioning of an existing table in place."), Action::FullRefresh),
            "partition_by" => (
                rebuild("a table's partitioning is set only when dbt creates it (`partitioned by` in its create statement); runs against the old table would write or overwrite the old partitions."),
                Action::FullRefresh,
            ),
            "cluster_by" if model.dialect.name == "snowflake" => ("dbt-snowflake sets the clustering key only when it creates the table: it applies after a --full-refresh (rows are unchanged without one).".into(), Action::None),
            "cluster_by" => ("applies to data written from the next run; a --full-refresh re-clusters the existing rows (optional).".into(), Action::None),
            "deleted" => (
                rebuild("deletes already loaded before this run are applied only by a rebuild (or a backfill of their window); later ones are applied as they arrive."),
                Action::FullRefresh,
            ),
            "order_by" => (rebuild("a ClickHouse table's sorting key is fixed when it is created."), Action::FullRefresh),
            "file_format" | "table_type" => (rebuild(&format!("the table is stored as {} instead of {}; an existing table keeps its format until it is rebuilt, and merging into the old one may fail.", shown(after, "the default"), shown(before, "the default"))), Action::FullRefresh),
            "begin" => ("microbatch `begin`: where a full refresh starts; takes effect at the next --full-refresh.".into(), Action::None),
            "batch_size" => ("microbatch runs and backfills now replace batches of a different size; the rows in the table are unaffected.".into(), Action::None),
            "tags" => ("selection only (`dbt run -s tag:…`); no effect on data.".into(), Action::None),
            _ => ("read the diff.".into(), Action::None),
        };
        notes.push(note(key, before, after, meaning, action));
    }
    notes
}

/// A lookback such as `3 days` in minutes, for comparing; 0 when unreadable.
fn minutes(lookback: Option<&str>) -> u64 {
    let Some((amount, unit)) = lookback.and_then(|l| l.split_once(' ')) else { return 0 };
    let per = match unit.trim_end_matches('s') {
        "minute" => 1,
        "hour" => 60,
        _ => 1440,
    };
    amount.parse::<u64>().unwrap_or(0) * per
}

fn strategy_note(before: Option<&str>, after: Option<&str>) -> (String, Action) {
    let how = |s: &str| match s {
        "merge" => "a MERGE on the unique key",
        "delete+insert" => "a delete of the batch's keys, then an insert",
        "append" => "plain inserts",
        "microbatch" => "dbt's microbatch (each event_time batch replaced as a whole)",
        "insert_overwrite" => "an overwrite of every partition the run touches, rebuilt in full from the input",
        _ => "another statement",
    };
    let (b, a) = (before.unwrap_or("?"), after.unwrap_or("?"));
    let mut meaning = format!("dbt writes each run with {} instead of {}", how(a), how(b));
    if a == "microbatch" || b == "microbatch" {
        meaning.push_str(
            "; the incremental window moves between the load-time lookback and event_time batches (late rows count only when their batch is re-run under microbatch). The table's rows stay; no rebuild needed.",
        );
    } else if a == "insert_overwrite" {
        meaning.push_str("; a run produces the same rows, so no rebuild is needed if the table is already partitioned by `partition_by` (a change of partition_by or file_format is listed separately and needs one).");
    } else {
        meaning.push_str("; a run produces the same rows, so no rebuild is needed.");
    }
    (meaning, Action::None)
}

fn columns_note(model: &Model, before: Option<&str>, after: Option<&str>) -> (String, Action) {
    let policy = model.on_schema_change.as_str();
    let set = |v: Option<&str>| -> Option<BTreeSet<String>> { v.map(|v| v.split(',').map(str::to_string).collect()) };
    let (old, new) = (set(before), set(after));
    let (added, removed): (Vec<String>, Vec<String>) = match (&old, &new) {
        (Some(o), Some(n)) => (n.difference(o).cloned().collect(), o.difference(n).cloned().collect()),
        _ => (Vec::new(), Vec::new()),
    };
    let what = match (&old, &new) {
        (Some(_), Some(_)) => {
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("added {}", added.join(", ")));
            }
            if !removed.is_empty() {
                parts.push(format!("removed {}", removed.join(", ")));
            }
            if parts.is_empty() {
                "column order changed".to_string()
            } else {
                parts.join("; ")
            }
        }
        (None, _) => "from every source column to a fixed list".to_string(),
        (_, None) => "from a fixed list to every source column".to_string(),
    };
    if model.dialect.inserts_by_position(model.strategy) {
        return (
            format!("columns {what}: {}'s {} inserts by column position and ignores on_schema_change, so the next run would fail or shift values into the wrong columns; needs `dbt run -s {} --full-refresh`.", model.dialect.name, model.strategy.name(), model.name),
            Action::FullRefresh,
        );
    }
    let on_added = match policy {
        "append_new_columns" | "sync_all_columns" => ("the next run adds the new columns to the table; rows already there hold null in them until a backfill of their window or a --full-refresh", Action::None),
        "fail" => ("the next incremental run fails on the schema change; run it with --full-refresh", Action::FullRefresh),
        _ => ("new columns are not added to the table; run --full-refresh to get them", Action::FullRefresh),
    };
    let on_removed = match policy {
        "append_new_columns" => ("removed columns stay in the table, null in rows written from now on", Action::None),
        "sync_all_columns" => ("the next run drops removed columns from the table, with their data", Action::None),
        "fail" => ("the next incremental run fails on the schema change; run it with --full-refresh", Action::FullRefresh),
        _ => ("the next incremental run fails: the table has columns the model no longer selects; run --full-refresh", Action::FullRefresh),
    };
    let mut effects = Vec::new();
    if !added.is_empty() || old.is_none() || new.is_none() {
        effects.push(on_added);
    }
    if !removed.is_empty() || old.is_none() || new.is_none() {
        effects.push(on_removed);
    }
    effects.dedup_by_key(|e| e.0);
    let action = if effects.iter().any(|e| e.1 == Action::FullRefresh) { Action::FullRefresh } else { Action::None };
    let effect: Vec<&str> = effects.iter().map(|e| e.0).collect();
    let effect = if effect.is_empty() { "the table's columns do not change".to_string() } else { effect.join("; ") };
    (format!("columns {what}: with on_schema_change='{policy}', {effect}."), action)
}

/// Which models a changed macro file touches, as precisely as the package's dispatch allows.
fn macro_entry(plan: &Plan, path: &str, old: &str, new: &str) -> Entry {
    let name = Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let change = match (old.is_empty(), new.is_empty()) {
        (true, _) => "added",
        (_, true) => "removed",
        _ => "changed",
    };
    let (old_defs, new_defs) = (definitions(old), definitions(new));
    let changed: BTreeSet<&String> = old_defs.keys().chain(new_defs.keys()).filter(|k| old_defs.get(*k) != new_defs.get(*k)).collect();

    // Every macro in the planned package: which dbt_incr_ names each one calls.
    let mut package: BTreeMap<String, String> = BTreeMap::new();
    for file in &plan.files {
        if file.path.starts_with(Path::new(&plan.project.macro_path).join(macros::PACKAGE_DIR)) {
            package.extend(definitions(&file.contents));
        }
    }
    package.extend(old_defs.clone());
    let mut touched: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for model in &plan.models {
        let Some((_, file)) = plan.model_file(&model.name) else { continue };
        let reached = reachable(&file.contents, model.dialect, &package);
        let hits: Vec<String> = changed.iter().filter(|c| reached.contains(c.as_str())).map(|c| c.to_string()).collect();
        if !hits.is_empty() {
            touched.insert(model.name.clone(), hits);
        }
    }
    let changed_list: Vec<&str> = changed.iter().map(|s| s.as_str()).collect();
    let meaning = if change != "changed" && touched.is_empty() {
        format!("a macro file {change} with the package; no model of this project calls what it defines.")
    } else if changed.is_empty() {
        "only comments or layout outside macro bodies changed; no model's SQL changes.".to_string()
    } else if touched.is_empty() {
        format!("changes {}; no model of this project calls them on its dialect, so no compiled SQL changes.", changed_list.join(", "))
    } else {
        let models: Vec<String> = touched.iter().map(|(m, via)| format!("{m} (via {})", via.join(", "))).collect();
        format!(
            "changes {}; touches {} model(s): {}. Their compiled SQL changes (`dbt-incr compile MODEL` shows it); no rebuild is implied by a macro change, read the macro diff.",
            changed_list.join(", "),
            touched.len(),
            models.join("; ")
        )
    };
    Entry { name, kind: "macro", path: path.to_string(), change, notes: vec![note("macro", None, None, meaning, Action::None)] }
}

/// `{% macro name(…) %} … {% endmacro %}` blocks of a file: name → text of the block.
fn definitions(text: &str) -> BTreeMap<String, String> {
    let mut defs = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start().trim_start_matches("{%-").trim_start_matches("{%").trim_start();
        if let Some(rest) = trimmed.strip_prefix("macro ") {
            let name = rest.split('(').next().unwrap_or("").trim().to_string();
            current = Some((name, String::new()));
        }
        if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
        if trimmed.starts_with("endmacro") || line.contains("endmacro") {
            if let Some((name, body)) = current.take() {
                defs.insert(name, body);
            }
        }
    }
    defs
}

/// Every macro a model's SQL reaches on its dialect: direct calls, dispatch to the first of
/// `<dialect>__`, `<parent>__`, `default__` that exists, and calls inside those, transitively.
fn reachable<'p>(model_sql: &str, dialect: &Dialect, package: &'p BTreeMap<String, String>) -> BTreeSet<&'p str> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = called(model_sql);
    while let Some(name) = todo.pop() {
        let Some((key, body)) = package.get_key_value(&name) else { continue };
        if !seen.insert(key.as_str()) {
            continue;
        }
        todo.extend(called(body));
        if body.contains("adapter.dispatch") {
            let implementation = dialect.dispatch_prefixes().into_iter().map(|p| format!("{p}__{name}")).find(|n| package.contains_key(n));
            todo.extend(implementation);
        }
    }
    seen
}

/// Names holding `dbt_incr_` that a text mentions (calls, dispatch names, private helpers).
fn called(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|word| word.contains("dbt_incr_")).map(str::to_string).collect()
}

fn is_sql(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "sql")
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DIALECTS;
    use crate::render::runbook::full_refresh_rules;
    use crate::spec::{self, DialectChoice, SpecSource};

    /// The runbook's "full refresh instead" list (`render::runbook`) names exactly the settings
    /// whose change `plan` says needs `--full-refresh`, for every fixture model on every dialect.
    #[test]
    fn runbook_lists_the_full_refresh_rules_of_plan() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let list = |dir: &Path| -> Vec<PathBuf> { std::fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yml")).collect()).unwrap_or_default() };
        let mut files = list(&fixtures.join("specs"));
        for dialect in DIALECTS {
            files.extend(list(&fixtures.join("dialects").join(dialect.name)));
        }
        files.sort();
        let keys = [
            "dialect", "from", "unique_key", "load_time", "tie_breaker", "event_time", "lookback", "strategy", "columns", "on_schema_change", "partition_by", "cluster_by",
            "deleted", "order_by", "file_format", "table_type", "begin", "batch_size", "tags",
        ];
        let mut checked = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for dialect in DIALECTS {
                let choice = DialectChoice { cli: Some(dialect.name.to_string()), ..DialectChoice::default() };
                let Ok(parsed) = spec::parse(SpecSource { path: &file, text: &text }, &choice) else { continue };
                for model in &parsed.models {
                    let listed: BTreeSet<&str> = full_refresh_rules(model).iter().flat_map(|r| r.settings.clone()).collect();
                    for key in keys {
                        let applies = match key {
                            "partition_by" => dialect.partition_by,
                            "order_by" => dialect.order_by,
                            "file_format" | "table_type" => dialect.table_format.as_ref().is_some_and(|f| f.key == key),
                            "deleted" => !model.unique_key.is_empty(),
                            _ => true,
                        };
                        if !applies {
                            continue;
                        }
                        let (before, after) = match key {
                            "lookback" => ("3 days", "4 days"),
                            "columns" => ("a,b,c", "a,b,d"),
                            _ => ("x1", "x2"),
                        };
                        let old = BTreeMap::from([(key.to_string(), before.to_string())]);
                        let new = BTreeMap::from([(key.to_string(), after.to_string())]);
                        let notes = setting_notes(model, &old, &new);
                        let plan_says = notes.iter().any(|n| n.action == Action::FullRefresh);
                        assert_eq!(plan_says, listed.contains(key), "{} on {} ({}): plan says full refresh = {plan_says} for `{key}`, the runbook lists {listed:?}", model.name, dialect.name, file.display());
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 500, "checked {checked} rules");
    }
}
