//! `dbt-incr init` (a commented starter spec) and `dbt-incr new` (add a model entry to the spec,
//! keeping its comments and order, then generate).
//!
//! `new` reads `target/manifest.json` and `target/catalog.json` when both exist to list the
//! source's columns and propose its load-time column.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::audit::{LOADER_COLUMNS, is_load_time, is_timestamp_like};
use crate::error::{Diagnostic, Error};
use crate::generate::{self, Request, WriteReport};
use crate::project::{DEFAULT_SPEC, Project, read_text};
use crate::spec::{self, DialectChoice, Relation, SpecSource, parse_relation};

/// The starter spec `init` writes; `{dialect}` is replaced by a `dialect:` line.
const STARTER: &str = "\
# dbt-incr spec: one incremental model per entry under `models:`.
# After editing, run `dbt-incr generate`; or add an entry with
#   dbt-incr new fct_events --from \"source('raw', 'events')\" --unique-key event_id
# Every key is described in docs/spec.md of dbt-incr.
version: 1
{dialect}
defaults:
  # How far before the target's newest load_time each incremental run re-reads the source, so
  # rows committed late or out of order are caught. Larger is safer and costs more.
  lookback: 3 days

models:
  # - name: fct_events                  # the model (and table) name
  #   from: source('raw', 'events')     # ref('model') | ref('package', 'model') | source('source', 'table')
  #   unique_key: event_id              # a column or a list: one row per key is kept
  #   load_time: _loaded_at             # when the loader wrote the row (not the event time!)
  #   event_time: event_at              # business time: backfill windows are measured on it
  #   path: marts                       # optional subfolder under the model path
";

/// Writes a starter `incremental.yml` into the project. Refuses to overwrite one.
pub fn init(project_dir: &Path) -> Result<PathBuf, Error> {
    let project = Project::load(project_dir)?;
    let path = project.root.join(DEFAULT_SPEC);
    if path.exists() {
        return Err(Diagnostic::new(format!("{} already exists; init does not overwrite it", path.display()))
            .hint("add models with `dbt-incr new NAME --from \"source('raw', 'events')\"`, or edit it by hand")
            .into());
    }
    let dialect = match project.profile_adapter().map(|(a, _)| a).filter(|a| crate::dialect::Dialect::find(a).is_some()) {
        Some(a) => format!("dialect: {a}                     # from your profile's default target"),
        None => "# dialect: duckdb                 # optional; default: the adapter of your profile's default target".to_string(),
    };
    let text = STARTER.replace("{dialect}", &dialect);
    write_atomic(&path, &text)?;
    Ok(path)
}

fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".dbt-incr-").tempfile_in(dir).map_err(Error::io(dir, "create a temporary file in"))?;
    tmp.write_all(text.as_bytes()).map_err(Error::io(tmp.path(), "write"))?;
    tmp.persist(path).map_err(|e| Error::Io { path: path.to_path_buf(), action: "replace", source: e.error })?;
    Ok(())
}

/// What `new` is asked to add.
#[derive(Debug, Clone, Default)]
pub struct NewModel {
    pub project_dir: PathBuf,
    pub name: String,
    pub from: String,
    pub unique_key: Vec<String>,
    pub load_time: Option<String>,
    pub event_time: Option<String>,
    pub lookback: Option<String>,
}

/// What `new` did.
#[derive(Debug)]
pub struct NewOutcome {
    /// Notes and warnings to show (columns found, the load-time proposal, …).
    pub notes: Vec<String>,
    pub spec_path: PathBuf,
    pub written: WriteReport,
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

const EVENT_TIME_WARNING: &str = "filtering on an event time loses late rows: a row whose event happened before the target's newest event time (a retried upload, a late device, a backfilled day) is loaded after the watermark has passed it, so no incremental run reads it again";

/// Adds a model entry to the spec, validates the whole spec, then generates. Nothing is written
/// on any error.
pub fn new_model(req: &NewModel) -> Result<NewOutcome, Error> {
    let project = Project::load(&req.project_dir)?;
    let spec_path = project.root.join(DEFAULT_SPEC);
    if !spec_path.is_file() {
        return Err(Diagnostic::new(format!("no spec: {} does not exist", spec_path.display())).hint("create one with `dbt-incr init`").into());
    }
    let relation = parse_relation(&req.from).map_err(|p| Diagnostic::new(format!("invalid --from `{}`: {p}", req.from)).hint("write `source('raw', 'events')`, `ref('stg_events')` or `ref('package', 'model')`"))?;
    let mut notes = Vec::new();

    let columns = catalog_columns(&project.root, &relation)?;
    let names: Vec<String> = columns.iter().flatten().map(|(n, _)| n.clone()).collect();
    match &columns {
        None => notes.push("note: no target/manifest.json and target/catalog.json: run `dbt docs generate` to let dbt-incr list the columns and propose the load-time column".to_string()),
        Some(c) if c.is_empty() => notes.push(format!("note: {} is not in target/catalog.json; run `dbt docs generate` after it exists", relation.jinja_call())),
        Some(c) => {
            let listed: Vec<String> = c.iter().map(|(n, t)| if t.is_empty() { n.clone() } else { format!("{n} ({t})") }).collect();
            notes.push(format!("columns of {}: {}", relation.jinja_call(), listed.join(", ")));
        }
    }
    let check_column = |col: &str, flag: &str| -> Result<(), Error> {
        if !names.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(col)) {
            return Err(Diagnostic::new(format!("{flag} `{col}` is not a column of {}", relation.jinja_call()))
                .hint(format!("its columns: {}", names.join(", ")))
                .did_you_mean(col, names.iter().map(String::as_str))
                .into());
        }
        Ok(())
    };
    for k in &req.unique_key {
        check_column(k, "--unique-key")?;
    }
    if let Some(e) = &req.event_time {
        check_column(e, "--event-time")?;
    }
    let mut load_time_comment = None;
    let load_time = match &req.load_time {
        Some(l) => {
            check_column(l, "--load-time")?;
            if !is_load_time(l) && names.iter().filter(|n| is_load_time(n)).count() > 0 {
                let loaders: Vec<&String> = names.iter().filter(|n| is_load_time(n)).collect();
                notes.push(format!("warning: --load-time `{l}` does not look like a load time, but {} does; {EVENT_TIME_WARNING}", loaders.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")));
            }
            l.clone()
        }
        None => match propose_load_time(&names) {
            Some(l) => {
                notes.push(format!("load_time: `{l}` (a loader's column; pass --load-time to choose another)"));
                l
            }
            None => {
                let stamps: Vec<&String> = names.iter().filter(|n| is_timestamp_like(n)).collect();
                match stamps.first() {
                    Some(first) => {
                        notes.push(format!(
                            "warning: {} has no load-time column, only event-like timestamps ({}); using `{first}` as load_time. {EVENT_TIME_WARNING}. Have the loader stamp a load time and pass --load-time.",
                            relation.jinja_call(),
                            stamps.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                        ));
                        load_time_comment = Some("WARNING: an event time, not a load time: late rows are lost (see `dbt-incr new` output)");
                        (*first).clone()
                    }
                    None => {
                        let d = Diagnostic::new(format!("no --load-time, and no timestamp column of {} to propose", relation.jinja_call()));
                        let d = if columns.is_none() {
                            d.hint("pass --load-time COLUMN (the column your loader stamps), or run `dbt docs generate` so dbt-incr can read the columns")
                        } else {
                            d.hint("pass --load-time COLUMN: the column your loader stamps when it writes a row")
                        };
                        return Err(d.into());
                    }
                }
            }
        },
    };

    let original = read_text(&spec_path)?;
    let entry = entry_text(req, &relation, &load_time, load_time_comment);
    let updated = append_model(&original, &entry).map_err(|m| Diagnostic::new(m).in_file(&spec_path))?;
    let shown = project.display_path(&spec_path);
    let choice = DialectChoice { cli: None, cli_overrides_spec: false, profile: project.profile_adapter() };
    spec::parse(SpecSource { path: &shown, text: &updated }, &choice)?;

    write_atomic(&spec_path, &updated)?;
    let result = generate::plan(&Request { project_dir: project.root.clone(), spec: None, dialect: None, dialect_overrides_spec: false }).and_then(|plan| generate::write(&plan));
    match result {
        Ok(written) => Ok(NewOutcome { notes, spec_path: shown, written }),
        Err(e) => {
            write_atomic(&spec_path, &original)?;
            Err(e)
        }
    }
}

fn entry_text(req: &NewModel, relation: &Relation, load_time: &str, load_time_comment: Option<&str>) -> Vec<String> {
    let mut lines = vec![format!("- name: {}", req.name), format!("  from: {}", relation.jinja_call())];
    match req.unique_key.as_slice() {
        [] => {}
        [one] => lines.push(format!("  unique_key: {one}")),
        many => lines.push(format!("  unique_key: [{}]", many.join(", "))),
    }
    match load_time_comment {
        Some(c) => lines.push(format!("  load_time: {load_time}   # {c}")),
        None => lines.push(format!("  load_time: {load_time}")),
    }
    if let Some(e) = &req.event_time {
        lines.push(format!("  event_time: {e}"));
    }
    if let Some(l) = &req.lookback {
        lines.push(format!("  lookback: {l}"));
    }
    lines
}

/// Appends `entry` (lines starting at `- name:`, indented relative to the list item) to the
/// top-level `models:` list of `text`, at the end of the list, keeping everything else as is.
pub fn append_model(text: &str, entry: &[String]) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let top_level = |l: &str| !l.is_empty() && !l.starts_with([' ', '\t', '#']) && !l.starts_with("- ");
    let Some(models_at) = lines.iter().position(|l| l.starts_with("models:")) else {
        return Err("the spec has no top-level `models:` list to add to".to_string());
    };
    let after_key = lines[models_at]["models:".len()..].split(" #").next().unwrap_or("").trim();
    let flow_empty = after_key == "[]";
    if !after_key.is_empty() && !flow_empty {
        return Err("`models:` is written inline; dbt-incr new can only add to a block list (one `- name:` per entry)".to_string());
    }
    // The list runs until the next top-level key.
    let end = lines[models_at + 1..].iter().position(|l| top_level(l)).map_or(lines.len(), |p| models_at + 1 + p);
    // Indentation of existing items, else two spaces.
    let indent = lines[models_at + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map(|l| l[..l.len() - l.trim_start().len()].to_string())
        .unwrap_or_else(|| "  ".to_string());
    // Insert after the last line of the list that is not blank (comments trailing the list stay
    // above the new entry, blank lines before the next key stay below it).
    let last_content = lines[models_at + 1..end].iter().rposition(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|p| models_at + 1 + p);
    let insert_at = last_content.map_or(models_at + 1, |p| p + 1);
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + entry.len() + 1);
    for (i, l) in lines.iter().enumerate() {
        if i == insert_at {
            if last_content.is_some() && lines[models_at + 1..insert_at].iter().any(|l| l.trim_start().starts_with("- ")) {
                out.push(String::new());
            }
            out.extend(entry.iter().map(|e| format!("{indent}{e}")));
        }
        if i == models_at && flow_empty {
            out.push(l.replacen("[]", "", 1).trim_end().to_string());
        } else {
            out.push((*l).to_string());
        }
    }
    if insert_at >= lines.len() {
        if lines[models_at + 1..].iter().any(|l| l.trim_start().starts_with("- ")) {
            out.push(String::new());
        }
        out.extend(entry.iter().map(|e| format!("{indent}{e}")));
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Vec<String> {
        vec!["- name: b".to_string(), "  from: ref('x')".to_string()]
    }

    #[test]
    fn appends_at_the_end_of_the_list() {
        let text = "version: 1\nmodels:\n  # first\n  - name: a\n    from: ref('y')\n\n# trailing\ndialect: duckdb\n";
        assert_eq!(
            append_model(text, &entry()).unwrap(),
            "version: 1\nmodels:\n  # first\n  - name: a\n    from: ref('y')\n\n  - name: b\n    from: ref('x')\n\n# trailing\ndialect: duckdb\n"
        );
    }

    #[test]
    fn fills_an_empty_list() {
        assert_eq!(append_model("version: 1\nmodels: []\n", &entry()).unwrap(), "version: 1\nmodels:\n  - name: b\n    from: ref('x')\n");
        assert_eq!(append_model("models:\n  # - name: example\n", &entry()).unwrap(), "models:\n  # - name: example\n  - name: b\n    from: ref('x')\n");
    }

    #[test]
    fn keeps_unindented_lists() {
        assert_eq!(append_model("models:\n- name: a\n  from: ref('y')\n", &entry()).unwrap(), "models:\n- name: a\n  from: ref('y')\n\n- name: b\n  from: ref('x')\n");
    }

    #[test]
    fn proposes_loader_columns_first() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(propose_load_time(&cols(&["id", "updated_at", "_FIVETRAN_SYNCED"])).as_deref(), Some("_FIVETRAN_SYNCED"));
        assert_eq!(propose_load_time(&cols(&["id", "event_at", "etl_load_ts"])).as_deref(), Some("etl_load_ts"));
        assert_eq!(propose_load_time(&cols(&["id", "event_at", "created_at"])), None);
    }
}
