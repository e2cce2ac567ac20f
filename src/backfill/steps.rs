//! What a backfill request runs, for review (`dbt-incr backfill plan`) and for `backfill run`:
//! the exact dbt commands, the SQL of the backfill branch compiled offline for the project's
//! dialect, the models downstream (from a manifest, when there is one), and, through
//! `dbt show`, how many keys and rows it touches.

use std::path::PathBuf;

use serde_json::Value;

use super::dbt::{Dbt, Output};
use super::request::{Problem, Request, vars};
use super::time::Bound;
use crate::calendar;
use crate::compile::{self, Branch, Mock};
use crate::dialect::Strategy;
use crate::error::{Diagnostic, Error};
use crate::plan::Plan;
use crate::spec::Model;

/// The dbt arguments of the backfill itself: `run -s MODEL --vars …`, or for a microbatch model
/// dbt's own `--event-time-start/--event-time-end`.
pub fn backfill_args(model: &Model, request: &Request) -> Vec<String> {
    let mut args = vec!["run".to_string(), "--select".to_string(), model.name.clone()];
    if model.strategy == Strategy::Microbatch {
        args.extend(["--event-time-start".to_string(), request.start.clone(), "--event-time-end".to_string(), request.end.clone()]);
    } else {
        args.extend(["--vars".to_string(), vars(request)]);
    }
    args
}

/// The dbt arguments of the downstream build: the model again (incrementally), its tests, and
/// everything downstream.
pub fn downstream_args(model: &Model) -> Vec<String> {
    vec!["build".to_string(), "--select".to_string(), format!("{}+", model.name)]
}

/// A request, reviewed: what it would run.
#[derive(Debug)]
pub struct Steps {
    /// The request file, relative to the project root.
    pub path: PathBuf,
    pub request: Request,
    /// What is wrong with it (`dbt-incr check` reports the same).
    pub problems: Vec<Problem>,
    /// The model, when the spec has it.
    pub model: Option<Model>,
    /// The dbt commands, in order, as a user would type them.
    pub commands: Vec<String>,
    /// The SQL of the backfill (for a microbatch model, its first batch), compiled offline for
    /// the model's dialect, or why it could not be.
    pub sql: Result<String, String>,
    /// Notes on the SQL (stand-in columns, the batch shown).
    pub sql_notes: Vec<String>,
    /// The models downstream, from the manifest; `None` without one.
    pub downstream: Option<Vec<String>>,
    /// The manifest read (or looked for).
    pub manifest: PathBuf,
}

/// What `request` would run, compiled for the plan's dialect; `manifest` lists the models
/// downstream when it exists.
pub fn steps(plan: &Plan, path: PathBuf, request: Request, dbt: &Dbt, manifest: PathBuf) -> Result<Steps, Error> {
    let problems = super::request::validate(plan, &request);
    let found = plan.model_file(&request.model);
    let mut steps = Steps { path, problems, model: found.map(|(m, _)| m.clone()), commands: Vec::new(), sql: Err("no such model".into()), sql_notes: Vec::new(), downstream: None, manifest, request };
    let Some((model, file)) = found else { return Ok(steps) };
    steps.commands = vec![dbt.shown(&backfill_args(model, &steps.request)), dbt.shown(&downstream_args(model))];
    steps.downstream = crate::project::manifest::downstream(&steps.manifest, &model.name)?;
    let valid_window = matches!((Bound::parse(&steps.request.start), Bound::parse(&steps.request.end)), (Ok(s), Ok(e)) if s < e);
    if !valid_window {
        steps.sql = Err("the window is not valid".into());
        return Ok(steps);
    }
    let (branch, mock) = if model.strategy == Strategy::Microbatch {
        let batch = first_batch(&steps.request.start, model.batch_size.as_deref().unwrap_or("day"));
        steps.sql_notes.push(format!("dbt runs one batch per {} of the window; the first, [{}, {}), is shown", model.batch_size.as_deref().unwrap_or("day"), batch.0, batch.1));
        (Branch::Incremental, Mock { batch: Some(batch), ..Mock::default() })
    } else {
        (Branch::Backfill, Mock { vars: Some((Some(steps.request.start.clone()), Some(steps.request.end.clone()))), ..Mock::default() })
    };
    let mut mock = mock;
    // The input's real columns, where `dbt docs generate` left them in target/catalog.json.
    if model.columns.is_none()
        && let Ok(Some(columns)) = crate::project::catalog::catalog_columns(&plan.project.root, &model.from)
        && !columns.is_empty()
    {
        mock.source_columns = Some(columns);
        steps.sql_notes.push("the input's columns are read from target/catalog.json".to_string());
    }
    steps.sql = match compile::compile_with(model, &file.contents, model.dialect, branch, &mock) {
        Ok(c) => {
            if let Some(stand_ins) = c.stand_ins {
                steps.sql_notes.push(format!("the spec has no `columns`, so the model reads its input's columns at run time; compiled here with stand-ins ({})", stand_ins.join(", ")));
            }
            steps.sql_notes.push(format!("compiled offline for {}: relations as `schema.table`; dbt renders them in full", model.dialect.name));
            Ok(c.sql)
        }
        Err(e) => Err(e.to_string().trim_end().to_string()),
    };
    Ok(steps)
}

/// The first batch of a window starting at `start`: `start` rounded down to `batch_size`, as dbt
/// renders batch bounds.
pub fn first_batch(start: &str, batch_size: &str) -> (String, String) {
    let Ok(b) = Bound::parse(start) else { return (start.to_string(), start.to_string()) };
    let date = b.date();
    let (y, m): (i64, i64) = (date[0..4].parse().unwrap_or(1970), date[5..7].parse().unwrap_or(1));
    let hour = b.micros / 3_600_000_000;
    let show = |days: i64, hour: i64| format!("{} {hour:02}:00:00+00:00", calendar::date_text(days));
    match batch_size {
        "hour" => (show(b.days, hour), if hour == 23 { show(b.days + 1, 0) } else { show(b.days, hour + 1) }),
        "month" => {
            let first = calendar::days_from_civil(y, m, 1);
            let next = if m == 12 { calendar::days_from_civil(y + 1, 1, 1) } else { calendar::days_from_civil(y, m + 1, 1) };
            (show(first, 0), show(next, 0))
        }
        "year" => (show(calendar::days_from_civil(y, 1, 1), 0), show(calendar::days_from_civil(y + 1, 1, 1), 0)),
        _ => (show(b.days, 0), show(b.days + 1, 0)),
    }
}

/// What the backfill touches, as the warehouse answers through `dbt show`: column name and value.
pub type Touched = Vec<(String, String)>;

/// The query behind [`touched`], for `dbt show --inline` (dbt renders its Jinja: `source()`,
/// `ref()` and the package's window macro).
pub fn touched_query(model: &Model, request: &Request) -> String {
    let from = format!("{{{{ {} }}}}", model.from.jinja_call());
    let this = format!("{{{{ ref('{}') }}}}", model.name);
    let column = model.event_time.as_deref().unwrap_or(&model.load_time);
    // The bounds typed by the column's type, as the model types them (UTC on a column with a
    // time zone): the input's, read once from the warehouse's catalog.
    let typed = format!("{{%- set dbt_incr_type = dbt_incr_type_of('{column}', adapter.get_columns_in_relation({})) -%}}\n", model.from.jinja_call());
    let window = |alias: &str| format!("{{{{ dbt_incr_in_window('{alias}.{column}', '{}', '{}', dbt_incr_type) }}}}", request.start, request.end);
    if model.unique_key.is_empty() {
        return format!(
            "{typed}select\n    (select count(*) from {from} as dbt_incr_source where {}) as rows_in_window,\n    (select count(*) from {this} as dbt_incr_table where {}) as table_rows_in_window",
            window("dbt_incr_source"),
            window("dbt_incr_table")
        );
    }
    let keys = model.unique_key.join(", ");
    let join = |alias: &str| model.unique_key.iter().map(|k| format!("dbt_incr_keys.{k} = {alias}.{k}")).collect::<Vec<_>>().join(" and ");
    let mut versions = format!(
        "    select dbt_incr_source.{column} as dbt_incr_time\n    from {from} as dbt_incr_source\n    inner join dbt_incr_keys on {}\n",
        join("dbt_incr_source")
    );
    if model.strategy != Strategy::Microbatch {
        let lt = &model.load_time;
        let newest = format!("(select max({lt}) from {this})");
        match &model.deleted {
            Some(d) => versions.push_str(&format!("    where dbt_incr_source.{lt} <= {newest} or {}\n", d.condition(model.dialect.true_literal))),
            None => versions.push_str(&format!("    where dbt_incr_source.{lt} <= {newest}\n")),
        }
    }
    format!(
        "{typed}with dbt_incr_keys as (\n    select distinct {keys}\n    from {from} as dbt_incr_window\n    where {}\n),\ndbt_incr_versions as (\n{versions})\nselect\n    (select count(*) from dbt_incr_keys) as keys_in_window,\n    (select count(*) from dbt_incr_versions) as versions_read,\n    (select min(dbt_incr_time) from dbt_incr_versions) as earliest_{column},\n    (select max(dbt_incr_time) from dbt_incr_versions) as latest_{column},\n    (select count(*) from {this} as dbt_incr_table inner join dbt_incr_keys on {}) as table_rows_rewritten",
        window("dbt_incr_window"),
        join("dbt_incr_table")
    )
}

/// Asks the warehouse, through `dbt show`, what the backfill touches.
pub fn touched(dbt: &Dbt, model: &Model, request: &Request) -> Result<Touched, Error> {
    let query = touched_query(model, request);
    let args: Vec<String> = ["show", "--inline", &query, "--output", "json", "--limit", "1"].map(str::to_string).to_vec();
    let shown = dbt.invoke(&args, "show", Output::Capture)?;
    if !shown.success() {
        return Err(shown.error("asking what the backfill touches"));
    }
    let preview = shown.events().find_map(|e| (e.pointer("/info/name").and_then(Value::as_str) == Some("ShowNode")).then(|| e.pointer("/data/preview").and_then(Value::as_str).map(str::to_string)).flatten());
    let rows: Vec<serde_json::Map<String, Value>> = preview.and_then(|p| serde_json::from_str(&p).ok()).ok_or_else(|| Diagnostic::new(format!("`{}` printed no result", shown.shown)))?;
    let row = rows.into_iter().next().unwrap_or_default();
    let mut out: Touched = row.into_iter().map(|(k, v)| (k, super::verify::text(Some(&v)))).collect();
    // In the query's order (dbt's JSON object comes back sorted).
    out.sort_by_key(|(k, _)| query.find(&format!(" as {k}")).unwrap_or(usize::MAX));
    Ok(out)
}
