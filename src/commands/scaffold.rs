//! `dbt-incr init` (a commented starter spec) and `dbt-incr new` (add a model entry to the spec,
//! keeping its comments and order, then generate).
//!
//! `new` reads `target/manifest.json` and `target/catalog.json` when both exist to list the
//! source's columns and propose its load-time column (`crate::project::catalog`); the spec's
//! text is edited by `crate::spec::edit`.

use std::path::{Path, PathBuf};

use crate::commands::ProfileArgs;
use crate::error::{Diagnostic, Error};
use crate::plan::{self, Request};
use crate::project::catalog::{catalog_columns, is_load_time, is_timestamp_like, propose_deleted, propose_load_time};
use crate::project::{DEFAULT_SPEC, Project, read_text};
use crate::render::header::Ownership;
use crate::spec::edit::{STARTER, append_model};
use crate::spec::{self, DialectChoice, Relation, SpecSource, parse_relation};
use crate::workspace::{self, WriteReport, write_atomic};

#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    #[command(flatten)]
    pub profile: ProfileArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// The model's name.
    pub name: String,
    /// What it reads: source('s', 't') or ref('m').
    #[arg(long, value_name = "RELATION")]
    pub from: String,
    /// The column(s) identifying a row, comma-separated.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub unique_key: Vec<String>,
    /// The column the loader stamps when it writes a row [default: proposed from the catalog].
    #[arg(long, value_name = "COL")]
    pub load_time: Option<String>,
    /// The business timestamp (backfill windows).
    #[arg(long, value_name = "COL")]
    pub event_time: Option<String>,
    /// e.g. `3 days` [default: the spec's defaults].
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// How the loader marks deleted rows, e.g. `_fivetran_deleted` or `_ab_cdc_deleted_at is not null`
    /// [default: proposed from the catalog when it shows a loader's tombstone column].
    #[arg(long, value_name = "CONDITION")]
    pub deleted: Option<String>,
    /// Subfolder of the project's first model path to write the model in, e.g. `marts/events`
    /// [default: the spec's defaults, else the model path itself].
    #[arg(long, value_name = "FOLDER")]
    pub path: Option<String>,
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    #[command(flatten)]
    pub profile: ProfileArgs,
}

/// `dbt-incr init`.
pub fn run_init(args: InitArgs) -> Result<(), Error> {
    let path = init(&args.project, &args.profile)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `dbt-incr new`.
pub fn run_new(args: NewArgs) -> Result<(), Error> {
    let name = args.name.clone();
    let req = NewModel {
        project_dir: args.project,
        profiles_dir: args.profile.profiles_dir,
        target: args.profile.target,
        name: args.name,
        from: args.from,
        unique_key: args.unique_key,
        load_time: args.load_time,
        event_time: args.event_time,
        lookback: args.lookback,
        deleted: args.deleted,
        path: args.path,
    };
    let outcome = new_model(&req)?;
    for note in &outcome.notes {
        println!("{note}");
    }
    println!("added {name} to {}", outcome.spec_path.display());
    for path in &outcome.written.written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Writes a starter `incremental.yml` into the project. Refuses to overwrite one.
pub fn init(project_dir: &Path, profile: &ProfileArgs) -> Result<PathBuf, Error> {
    // init writes only incremental.yml beside dbt_project.yml: no model path matters.
    let project = Project::read(project_dir)?.with_profile(profile.profiles_dir.as_deref(), profile.target.as_deref())?;
    let path = project.root.join(DEFAULT_SPEC);
    if path.exists() {
        return Err(Diagnostic::new(format!("{} already exists; init does not overwrite it", path.display()))
            .hint("add models with `dbt-incr new NAME --from \"source('raw', 'events')\"`, or edit it by hand")
            .into());
    }
    let which = match &profile.target {
        Some(t) => format!("target `{t}`"),
        None => "default target".to_string(),
    };
    let dialect = match project.profile_adapter()?.map(|(a, _)| a).filter(|a| crate::dialect::Dialect::find(a).is_some()) {
        Some(a) => format!("dialect: {a}                     # from your profile's {which}"),
        None => "# dialect: duckdb                 # optional; default: the adapter of your profile's default target".to_string(),
    };
    let text = STARTER.replace("{dialect}", &dialect);
    write_atomic(&path, &text)?;
    Ok(path)
}

/// What `new` is asked to add.
#[derive(Debug, Clone, Default)]
pub struct NewModel {
    pub project_dir: PathBuf,
    /// `--profiles-dir`.
    pub profiles_dir: Option<PathBuf>,
    /// `--target`.
    pub target: Option<String>,
    pub name: String,
    pub from: String,
    pub unique_key: Vec<String>,
    pub load_time: Option<String>,
    pub event_time: Option<String>,
    pub lookback: Option<String>,
    /// `deleted:`, as the spec writes it.
    pub deleted: Option<String>,
    /// `path:`, the subfolder of the model path.
    pub path: Option<String>,
}

/// What `new` did.
#[derive(Debug)]
pub struct NewOutcome {
    /// Notes and warnings to show (columns found, the load-time proposal, …).
    pub notes: Vec<String>,
    pub spec_path: PathBuf,
    pub written: WriteReport,
}

const EVENT_TIME_WARNING: &str = "filtering on an event time loses late rows: a row whose event happened before the target's newest event time (a retried upload, a late device, a backfilled day) is loaded after the watermark has passed it, so no incremental run reads it again";

/// Adds a model entry to the spec, validates the whole spec, then generates. Nothing is written
/// on any error.
pub fn new_model(req: &NewModel) -> Result<NewOutcome, Error> {
    let project = Project::load(&req.project_dir)?.with_profile(req.profiles_dir.as_deref(), req.target.as_deref())?;
    let spec_path = project.root.join(DEFAULT_SPEC);
    if !spec_path.is_file() {
        return Err(Diagnostic::new(format!("no spec: {} does not exist", spec_path.display())).hint("create one with `dbt-incr init`").into());
    }
    let relation = parse_relation(&req.from).map_err(|p| Diagnostic::new(format!("invalid --from `{}`: {p}", req.from)).hint("write `source('raw', 'events')`, `ref('stg_events')` or `ref('package', 'model')`"))?;
    if let Some(path) = &req.path {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        if parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
            return Err(Diagnostic::new(format!("invalid --path `{}`: it must be a folder inside the model path", path.escape_debug()))
                .hint("a relative folder such as `marts` or `marts/finance`: letters, digits, `_` and `-` in each part")
                .into());
        }
    }
    refuse_taken_name(&project, req)?;
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

    let deleted = match (&req.deleted, propose_deleted(&names)) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(d)) if !req.unique_key.is_empty() => {
            notes.push(format!("deleted: `{d}` (the loader's delete marker; a key whose newest version is a delete is removed; pass --deleted to choose another)"));
            Some(d)
        }
        (None, Some(d)) => {
            notes.push(format!("note: {} marks deletes (`{d}`), but without --unique-key deletes cannot be applied", relation.jinja_call()));
            None
        }
        (None, None) => None,
    };
    let original = read_text(&spec_path)?;
    let entry = entry_text(req, &relation, &load_time, load_time_comment, deleted.as_deref());
    let updated = append_model(&original, &entry).map_err(|m| Diagnostic::new(m).in_file(&spec_path))?;
    let shown = project.display_path(&spec_path);
    let choice = DialectChoice { cli: None, cli_overrides_spec: false, profile: project.profile_adapter()? };
    let parsed = spec::parse(SpecSource { path: &shown, text: &updated }, &choice)?;
    if let Some(model) = parsed.models.iter().find(|m| m.name == req.name) {
        notes.extend(landing_note(&project, model));
    }

    write_atomic(&spec_path, &updated)?;
    let result = plan::plan(&Request { project_dir: project.root.clone(), spec: None, dialect: None, dialect_overrides_spec: false, profiles_dir: project.profiles_dir.clone(), target: project.target_name.clone() }).and_then(|plan| workspace::write(&plan));
    match result {
        Ok(written) => Ok(NewOutcome { notes, spec_path: shown, written }),
        Err(e) => {
            write_atomic(&spec_path, &original)?;
            Err(e)
        }
    }
}

fn entry_text(req: &NewModel, relation: &Relation, load_time: &str, load_time_comment: Option<&str>, deleted: Option<&str>) -> Vec<String> {
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
    if let Some(p) = &req.path {
        lines.push(format!("  path: {p}"));
    }
    if let Some(d) = deleted {
        // Quoted when it holds a quote or `=`: a YAML scalar that reads back as written.
        if d.contains(['\'', '=']) { lines.push(format!("  deleted: \"{d}\"")) } else { lines.push(format!("  deleted: {d}")) }
    }
    lines
}

/// Refuses a name that is already a model, seed or snapshot of the project (dbt fails with
/// "found two models with the name"), unless it is dbt-incr's own file at the place `new` writes
/// to (an orphan `generate` would overwrite anyway).
fn refuse_taken_name(project: &Project, req: &NewModel) -> Result<(), Error> {
    let mut own = PathBuf::from(&project.model_path);
    own.extend(req.path.iter().flat_map(|p| p.split('/')).filter(|p| !p.is_empty()));
    own.push(format!("{}.sql", req.name));
    let taken: Vec<PathBuf> = project
        .resources_named(&req.name)
        .into_iter()
        .filter(|p| !(*p == own && std::fs::read_to_string(project.root.join(p)).is_ok_and(|t| Ownership::of(&t).is_generated())))
        .collect();
    let Some(first) = taken.first() else { return Ok(()) };
    let listed: Vec<String> = taken.iter().map(|p| p.display().to_string()).collect();
    Err(Diagnostic::new(format!("`{}` is already a model of this project: {}", req.name, listed.join(", ")))
        .hint(format!("dbt refuses two models with one name (\"found two models with the name\"): choose another name, or replace {} with a spec entry by hand (`dbt-incr audit` proposes one)", first.display()))
        .into())
}

/// Where dbt builds the model's table, read as dbt's default `generate_database_name`,
/// `generate_schema_name` and `generate_alias_name` do: the target dbt would use, with the
/// folder's `+database`/`+schema`/`+alias` from dbt_project.yml.
fn landing_note(project: &Project, model: &spec::Model) -> Option<String> {
    let target = project.target().ok().flatten()?; // an unknown --target was reported when the dialect was read
    let config = project.folder_config(&model.path);
    let text = |k: &str| config.get(k).and_then(|v| v.as_str().map(str::to_string));
    let base_schema = target.schema.clone().unwrap_or_else(|| "<schema>".to_string());
    let (schema, schema_why) = match text("schema") {
        Some(custom) => (format!("{base_schema}_{}", custom.trim()), format!("; schema = the target's `{base_schema}` + `_` + dbt_project.yml's `+schema: {custom}` for this folder")),
        None => (base_schema, String::new()),
    };
    let database = text("database").or(target.database.clone());
    let alias = text("alias").unwrap_or_else(|| model.name.clone());
    let relation = match database {
        Some(db) => format!("{db}.{schema}.{alias}"),
        None => format!("{schema}.{alias}"),
    };
    let mut note = format!("lands in: {relation} (target `{}` of {}{schema_why})", target.name, target.file.display());
    if let Some(file) = overriding_macro(project, "generate_schema_name") {
        note.push_str(&format!("; the project overrides generate_schema_name in {}, which may put it elsewhere", file.display()));
    }
    Some(note)
}

/// The first file under the project's macro paths defining macro `name`.
fn overriding_macro(project: &Project, name: &str) -> Option<PathBuf> {
    let needle = format!("macro {name}(");
    let mut stack: Vec<PathBuf> = project.macro_paths.iter().map(|p| project.root.join(p)).collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "sql")
                && std::fs::read_to_string(&path).is_ok_and(|t| t.replace(char::is_whitespace, " ").contains(&needle))
            {
                return Some(project.display_path(&path));
            }
        }
    }
    None
}
