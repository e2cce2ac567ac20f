//! The backfill runbook of a model: how to re-process a window, what runs downstream afterwards,
//! what it costs, and when a full refresh is needed instead. It is written as a dbt docs block
//! (`<model>.md` beside the model, its properties' description `{{ doc("dbt_incr__<model>") }}`),
//! so `dbt docs` shows it on the model's page; where the project's `docs-paths` leave the model
//! folder out, the same text is the description itself.
//!
//! The text depends on the spec alone (never on `target/manifest.json`, which `dbt-incr check`
//! in CI usually lacks): downstream models are selected with `dbt build -s <model>+`, and
//! `dbt-incr backfill plan` lists them from the manifest when there is one.

use std::fmt::Write as _;

use super::header::MARKER;
use super::properties::summary;
use crate::dialect::{Microbatch, Strategy};
use crate::spec::Model;

/// The docs block's name: `dbt_incr__<model>`.
pub fn doc_name(model: &Model) -> String {
    format!("dbt_incr__{}", model.name)
}

/// The `<model>.md` file: the marker header (a Jinja comment, which dbt's docs parser skips),
/// then the docs block.
pub fn render(model: &Model, spec_path: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{{# {MARKER} from {spec_path} (model {}).", model.name);
    out.push_str("   Do not edit by hand: change the spec and run `dbt-incr generate`. #}\n");
    let _ = writeln!(out, "{{% docs {} %}}", doc_name(model));
    out.push_str(&body(model));
    out.push_str("{% enddocs %}\n");
    out
}

/// One setting whose change needs `--full-refresh` instead of a backfill, and why: the rules
/// `dbt-incr plan` applies (`crate::review`, whose tests hold the two together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub settings: Vec<&'static str>,
    pub why: String,
}

/// The settings of `model` whose change needs a full refresh, in the order the runbook lists them.
pub fn full_refresh_rules(model: &Model) -> Vec<Rule> {
    let rule = |settings: &[&'static str], why: &str| Rule { settings: settings.to_vec(), why: why.to_string() };
    let mut rules = Vec::new();
    if model.unique_key.is_empty() {
        rules.push(rule(&["unique_key"], "the table holds every row as loaded; with a key, incremental runs would match on it, and rows already there were never deduplicated"));
    } else {
        rules.push(rule(&["unique_key"], "the table holds one row per old key; a backfill rewrites only the keys of its window"));
    }
    rules.push(rule(&["tie_breaker", "load_time"], "the dedup order changes; rows already in the table were picked under the old order"));
    rules.push(rule(&["from"], "the table holds rows of the old relation"));
    if !model.unique_key.is_empty() {
        rules.push(rule(&["deleted"], "deletes loaded before the change are applied only by a full refresh (or a backfill of their window)"));
    }
    let columns = if model.dialect.inserts_by_position(model.strategy) {
        Some(format!("{}'s {} inserts by column position and ignores on_schema_change: the next run would fail or shift values", model.dialect.name, model.strategy.name()))
    } else {
        match model.on_schema_change.as_str() {
            "fail" => Some("with on_schema_change='fail' the next incremental run fails on the new columns".to_string()),
            "ignore" => Some("with on_schema_change='ignore' new columns are never added and removed ones make incremental runs fail".to_string()),
            _ => None,
        }
    };
    if let Some(why) = columns {
        rules.push(Rule { settings: vec!["columns"], why });
    }
    if model.dialect.partition_by {
        rules.push(rule(&["partition_by"], &format!("{} cannot change the partitioning of an existing table in place", model.dialect.name)));
    }
    if model.dialect.order_by {
        rules.push(rule(&["order_by"], "a ClickHouse table's sorting key is fixed when it is created"));
    }
    if let Some(format) = &model.dialect.table_format {
        rules.push(Rule { settings: vec![format.key], why: "an existing table keeps its format until it is rebuilt".to_string() });
    }
    rules
}

/// The runbook in Markdown, free of Jinja delimiters (dbt renders a docs block's text).
pub fn body(model: &Model) -> String {
    let name = &model.name;
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", summary(model));
    out.push_str("#### Backfill runbook\n\n");
    let also = if model.unique_key.is_empty() && model.strategy != Strategy::Microbatch { "" } else { "backfill them over the same window too, or " };
    let downstream = format!(
        "**Afterwards**, rebuild what reads it: `dbt build -s {name}+` runs {name} once more (incrementally, as the next scheduled run would), its tests, and every model downstream. Tables and views downstream are rebuilt in full; incremental models downstream read only what their own incremental filter selects, and rewritten rows keep their `{lt}`: {also}run them with `--full-refresh`. `dbt-incr backfill plan` lists the models downstream from `target/manifest.json`.\n\n",
        lt = model.load_time
    );
    if model.strategy == Strategy::Microbatch {
        microbatch(model, &mut out);
        out.push_str(&downstream);
    } else if model.unique_key.is_empty() {
        let _ = writeln!(
            out,
            "**No backfill.** {name} has no unique key: every row is a fact appended once, and a backfill would append its window a second time (dbt-incr refuses the backfill vars on it). To re-derive its history, run a full refresh:\n\n```\ndbt run -s {name} --full-refresh\ndbt build -s {name}+\n```\n"
        );
        let _ = writeln!(out, "Incremental runs read rows loaded after the table's newest `{lt}`: a row loaded with an older `{lt}` (a straggler) or corrected in place is never read; only a full refresh picks it up.\n", lt = model.load_time);
        out.push_str(&downstream);
    } else {
        keyed(model, &mut out);
        out.push_str(&downstream);
    }
    let window = model.event_time.as_deref().unwrap_or(&model.load_time);
    let _ = writeln!(
        out,
        "**Check** that the table still holds what a full refresh would build, on your warehouse through your dbt profile (a month at a time on a large table): `dbt-incr verify {name} --start START --end END` (exit 0 equal, 1 different, with the differing rows per key). Without a window it compares the whole table. The window is on `{window}`.\n"
    );
    out.push_str(&full_refresh(model));
    out
}

fn keyed(model: &Model, out: &mut String) {
    let name = &model.name;
    let key = model.unique_key.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    let lt = &model.load_time;
    let (column, what) = match &model.event_time {
        Some(e) => (e.as_str(), "the event time"),
        None => (lt.as_str(), "the load time: this model has no `event_time`"),
    };
    let deletes = match &model.deleted {
        Some(d) => format!(" (and its deletes, `{}`, at any load time)", d.describe()),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "**A window** is `[START, END)` of `{column}` ({what}), END excluded; START and END are dates (`2024-01-01`) or timestamps (`2024-01-01 06:00:00`). A backfill re-reads every version of each {key} that has a row with `{column}` in the window, whole keys, versions outside the window too, loaded no later than the table's newest `{lt}`{deletes}; keeps the latest of each as a full refresh would; and writes those keys. Rows of other keys are untouched, and running the same backfill twice gives the same table.\n"
    );
    if model.strategy == Strategy::InsertOverwrite {
        let p = model.partition_by.as_ref().map_or("its partition column", |p| p.field.as_str());
        let _ = writeln!(
            out,
            "With insert_overwrite, the backfill rewrites whole partitions of `{p}`: every partition holding a version of those keys, each rebuilt from the input as a full refresh builds it (a partition left empty is dropped by the model's pre-hook).\n"
        );
    }
    let _ = writeln!(
        out,
        "**When.** Incremental runs read rows by `{lt}`: a row corrected in place in the source (its `{lt}` unchanged), or loaded more than {} behind the table's newest `{lt}`, is never read. Backfill the window of `{column}` those rows fall in.\n",
        model.lookback
    );
    let _ = writeln!(
        out,
        "**Backfill a window**:\n\n```\ndbt run -s {name} --vars '{{backfill_start: \"START\", backfill_end: \"END\"}}'\n```\n\nor as a request reviewed in a pull request, run with one command:\n\n```\ndbt-incr backfill new {name} --start START --end END --reason \"why\"\ndbt-incr backfill run backfills/<date>-{name}.yml\n```\n"
    );
    let cost_window = match &model.event_time {
        Some(e) => format!("the input's rows in the window (a scan on `{e}`, pruned only where the input is partitioned or clustered on it)"),
        None => format!("the input's rows in the window (on `{lt}`, pruned like an incremental run)"),
    };
    let _ = writeln!(
        out,
        "**Cost.** An incremental run reads the rows loaded in the last {} before the table's newest `{lt}`. A backfill reads {cost_window} and every version of the keys found there (a lookup on {key} over the whole input), deduplicates those keys and rewrites them. A full refresh reads the whole input, deduplicates all of it and rewrites the whole table: backfill when the window holds a small share of the keys, full-refresh when it holds most.\n",
        model.lookback
    );
}

fn microbatch(model: &Model, out: &mut String) {
    let name = &model.name;
    let event = model.event_time.as_deref().unwrap_or(&model.load_time);
    let batch = model.batch_size.as_deref().unwrap_or("day");
    let keyed = !model.unique_key.is_empty();
    let how = match (keyed, model.dialect.microbatch) {
        (true, Microbatch::MergeOnKey) => format!(
            "each batch reads every version of each {} with a row in the batch, from the whole input, and writes a key only if its newest version lies in the batch, merged on the key",
            model.unique_key.join(", ")
        ),
        _ => "each batch's rows replace the batch's window of the table".to_string(),
    };
    let _ = writeln!(
        out,
        "**A window** is a range of `{event}` batches: dbt runs {name} one `{batch}` of `{event}` at a time and replaces that batch; {how}. A late row counts only when its batch is re-run. The backfill vars are refused on this model: re-run the batches of a window with dbt's own flags (START rounds down to its batch).\n"
    );
    let _ = writeln!(
        out,
        "**Backfill a window**:\n\n```\ndbt run -s {name} --event-time-start START --event-time-end END\n```\n\nor as a request reviewed in a pull request, run with one command:\n\n```\ndbt-incr backfill new {name} --start START --end END --reason \"why\"\ndbt-incr backfill run backfills/<date>-{name}.yml\n```\n"
    );
    let _ = writeln!(
        out,
        "**Cost.** A scheduled run re-runs the batches of its lookback ({}); a backfill runs one batch per `{batch}` of the window, each reading its slice of the input{}; a full refresh runs every batch from `begin`{}.\n",
        model.lookback,
        if keyed { " and every version of its keys" } else { "" },
        model.begin.as_deref().map(|b| format!(" ({b})")).unwrap_or_default()
    );
}

fn full_refresh(model: &Model) -> String {
    let name = &model.name;
    let mut out = format!("**Full refresh**:\n\n```\ndbt run -s {name} --full-refresh\n```\n\n");
    out.push_str("It is needed instead of a backfill (the rules `dbt-incr plan` applies to a spec change) when:\n\n");
    for r in full_refresh_rules(model) {
        let settings = r.settings.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or ");
        let _ = writeln!(out, "- {settings} changed: {};", r.why);
    }
    let _ = writeln!(out, "- rows were removed from the source table without a delete marker: only a full refresh removes them from the table.");
    out
}
