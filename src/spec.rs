//! The spec format (v1): what users write in `incremental.yml`, parsed with source positions and
//! validated into [`Model`]s that can always be generated.
//!
//! Validation collects every problem of a file before giving up, so a user fixes them in one go.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::dialect::{Dialect, Strategy};
use crate::error::{Diagnostic, Error};

/// Default `lookback` when neither the model nor `defaults:` sets one.
pub const DEFAULT_LOOKBACK: Lookback = Lookback { amount: 3, unit: TimeUnit::Day };

/// Largest `lookback` amount accepted, to keep date arithmetic in every warehouse's range.
const MAX_LOOKBACK_AMOUNT: u32 = 100_000;

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
    "path",
    "on_schema_change",
    "tags",
    "partition_by",
    "cluster_by",
    "begin",
    "batch_size",
];

// ---------------------------------------------------------------------------------------------
// Raw form: exactly what the YAML says, with positions.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    version: Spanned<u32>,
    dialect: Option<Spanned<String>>,
    #[serde(default)]
    defaults: Option<RawModel>,
    models: Spanned<Vec<Spanned<RawModel>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    unique_key: Option<Spanned<OneOrMany>>,
    load_time: Option<Spanned<String>>,
    event_time: Option<Spanned<String>>,
    lookback: Option<Spanned<String>>,
    incremental_strategy: Option<Spanned<String>>,
    columns: Option<Spanned<Vec<Spanned<String>>>>,
    tie_breaker: Option<Spanned<OneOrMany>>,
    path: Option<Spanned<String>>,
    on_schema_change: Option<Spanned<String>>,
    tags: Option<Spanned<OneOrMany>>,
    partition_by: Option<Spanned<String>>,
    cluster_by: Option<Spanned<OneOrMany>>,
    begin: Option<Spanned<String>>,
    batch_size: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validated form.

/// A spec file, validated.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// Path as given (relative to the project when found there), shown in headers and errors.
    pub path: PathBuf,
    pub dialect: Option<String>,
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
    /// Subfolder under the project's first model path; empty for none.
    pub path: Vec<String>,
    pub on_schema_change: String,
    pub tags: Vec<String>,
    pub partition_by: Option<String>,
    pub cluster_by: Vec<String>,
    pub begin: Option<String>,
    pub batch_size: Option<String>,
    /// The dialect this model was validated for.
    pub dialect: &'static Dialect,
    /// Line of the model's entry in its spec file.
    pub line: usize,
}

/// Everything needed to turn a spec file's text into validated models.
pub struct SpecSource<'a> {
    /// Shown in errors and headers.
    pub path: &'a Path,
    pub text: &'a str,
}

/// How the dialect was chosen when the spec does not say.
#[derive(Debug, Clone, Default)]
pub struct DialectChoice {
    /// `--dialect`.
    pub cli: Option<String>,
    /// Whether `--dialect` wins over the spec's `dialect:` (`compile` renders any dialect).
    pub cli_overrides_spec: bool,
    /// The adapter type of the profile's default target, and where it was read.
    pub profile: Option<(String, PathBuf)>,
}

/// Parses and validates one spec file.
pub fn parse(source: SpecSource<'_>, choice: &DialectChoice) -> Result<SpecFile, Error> {
    let file = source.path;
    let text = source.text;
    let options = serde_saphyr::options! { with_snippet: false };
    let raw: RawSpec = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((0, 0));
        let message = yaml_message(&e);
        let mut d = Diagnostic::new(message.clone()).at(file, text, line, column);
        if let Some(unknown) = unknown_field(&message) {
            let top = ["version", "dialect", "defaults", "models"];
            d = d.key(unknown).did_you_mean(unknown, MODEL_KEYS.iter().copied().chain(top));
            if d.hint.is_none() {
                d = d.hint(format!("valid keys: {} (top level: {})", MODEL_KEYS.join(", "), top.join(", ")));
            }
        }
        Error::from(d)
    })?;

    let mut v = Validator { file, text, diags: Vec::new() };

    if raw.version.value != 1 {
        v.err(&raw.version, "version", format!("unsupported spec version {}", raw.version.value), Some("this dbt-incr reads `version: 1`"));
    }

    let dialect = v.dialect(raw.dialect.as_ref(), choice);

    let defaults = raw.defaults.unwrap_or_default();
    if let Some(n) = &defaults.name {
        v.err(n, "defaults.name", "`name` cannot have a default", Some("give each model its own name"));
    }
    if let Some(f) = &defaults.from {
        v.err(f, "defaults.from", "`from` cannot have a default", Some("give each model its own `from`"));
    }

    if raw.models.value.is_empty() {
        v.err(&raw.models, "models", "the spec has no models", Some("add at least one entry under `models:`"));
    }

    let mut models = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in raw.models.value.iter().enumerate() {
        let key = format!("models[{i}]");
        if let Some(dialect) = dialect
            && let Some(model) = v.model(&entry.value, &defaults, &key, (entry.referenced.line() as usize, entry.referenced.column() as usize), dialect)
        {
            if let Some(first) = seen.get(&model.name) {
                let name = entry.value.name.as_ref().expect("validated");
                v.err(name, &format!("{key}.name"), format!("model `{}` is defined twice", model.name), Some(&format!("the first definition is on line {first}")));
            } else {
                seen.insert(model.name.clone(), model.line);
                models.push(model);
            }
        }
    }

    if v.diags.is_empty() {
        Ok(SpecFile { path: file.to_path_buf(), dialect: dialect.map(|d| d.name.to_string()), models })
    } else {
        Err(Error::Invalid(v.diags))
    }
}

/// serde-saphyr's message, without its own location (we print ours) and in our words where
/// the problem is one users often make.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 4 column 5: unknown field ..." -> "unknown field ..."
    let message = match first.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest,
        _ => first,
    };
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key);
        return format!("key `{key}` is given twice (a YAML key given twice is an error, not an override)");
    }
    if let Some(field) = unknown_field(message) {
        return format!("unknown key `{field}`");
    }
    message.to_string()
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown key `"))?;
    rest.split('`').next()
}

struct Validator<'a> {
    file: &'a Path,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn diag<T>(&self, at: &Spanned<T>, key: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(message)
            .at(self.file, self.text, at.referenced.line() as usize, at.referenced.column() as usize)
            .key(key)
    }

    fn err<T>(&mut self, at: &Spanned<T>, key: &str, message: impl Into<String>, hint: Option<&str>) {
        let mut d = self.diag(at, key, message);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.diags.push(d);
    }

    /// An error about a whole model entry (a missing key): points at the entry's first key.
    fn err_line(&mut self, at: (usize, usize), key: &str, message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::new(message).at(self.file, self.text, at.0, at.1).key(key);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.diags.push(d);
    }

    fn dialect(&mut self, spec: Option<&Spanned<String>>, choice: &DialectChoice) -> Option<&'static Dialect> {
        let known = || Dialect::names().collect::<Vec<_>>().join(", ");
        if let Some(s) = spec.filter(|_| !(choice.cli_overrides_spec && choice.cli.is_some())) {
            let Some(d) = Dialect::find(&s.value) else {
                let d = self
                    .diag(s, "dialect", format!("unknown dialect `{}`", s.value))
                    .hint(format!("dbt-incr knows: {}", known()))
                    .did_you_mean(&s.value, Dialect::names());
                self.diags.push(d);
                return None;
            };
            if let Some(cli) = &choice.cli
                && cli != d.name
            {
                self.err(s, "dialect", format!("the spec says dialect `{}` but --dialect says `{cli}`", d.name), Some("drop one of them, or make them agree"));
                return None;
            }
            return Some(d);
        }
        if let Some(cli) = &choice.cli {
            // Validated by the CLI already; an unknown name here is a programming error upstream.
            return match Dialect::find(cli) {
                Some(d) => Some(d),
                None => {
                    self.diags.push(
                        Diagnostic::new(format!("unknown dialect `{cli}` (from --dialect)")).hint(format!("dbt-incr knows: {}", known())).did_you_mean(cli, Dialect::names()),
                    );
                    None
                }
            };
        }
        if let Some((adapter, profile)) = &choice.profile {
            return match Dialect::find(adapter) {
                Some(d) => Some(d),
                None => {
                    self.diags.push(
                        Diagnostic::new(format!("the profile's default target uses adapter `{adapter}`, which dbt-incr does not know"))
                            .in_file(profile)
                            .hint(format!("set `dialect:` in the spec or pass --dialect; dbt-incr knows: {}", known())),
                    );
                    None
                }
            };
        }
        self.diags.push(
            Diagnostic::new("no dialect: the spec has no `dialect:`, no --dialect was given, and no profile was found")
                .in_file(self.file)
                .key("dialect")
                .hint(format!("add `dialect: duckdb` (or another of: {}) to the spec", known())),
        );
        None
    }

    fn model(&mut self, raw: &RawModel, defaults: &RawModel, key: &str, at: (usize, usize), dialect: &'static Dialect) -> Option<Model> {
        let before = self.diags.len();
        // A model's own value wins over its default.
        macro_rules! pick {
            ($field:ident) => {
                raw.$field.as_ref().or(defaults.$field.as_ref())
            };
        }
        let k = |field: &str| format!("{key}.{field}");

        let name = match &raw.name {
            Some(n) => {
                self.identifier(n, &k("name"), "model name");
                n.value.clone()
            }
            None => {
                self.err_line(at, &k("name"), "model has no `name`", Some("every model needs `name: <model_name>`"));
                String::new()
            }
        };
        let from = match &raw.from {
            Some(f) => self.relation(f, &k("from")),
            None => {
                self.err_line(at, &k("from"), format!("model `{name}` has no `from`"), Some("set `from: source('raw', 'events')` or `from: ref('stg_events')`"));
                None
            }
        };
        let unique_key = match pick!(unique_key) {
            Some(u) => self.identifiers(u, &k("unique_key"), "unique_key column"),
            None => Vec::new(),
        };
        let load_time = match pick!(load_time) {
            Some(l) => {
                self.identifier(l, &k("load_time"), "column name");
                l.value.clone()
            }
            None => {
                self.err_line(
                    at,
                    &k("load_time"),
                    format!("model `{name}` has no `load_time`"),
                    Some("name the column your loader stamps when it writes a row (e.g. `_loaded_at`, `_fivetran_synced`); the incremental window is measured on it"),
                );
                String::new()
            }
        };
        let event_time = pick!(event_time).map(|e| {
            self.identifier(e, &k("event_time"), "column name");
            e.value.clone()
        });
        let lookback = match pick!(lookback) {
            Some(l) => self.lookback(l, &k("lookback")).unwrap_or(DEFAULT_LOOKBACK),
            None => DEFAULT_LOOKBACK,
        };
        let columns = pick!(columns).map(|c| {
            if c.value.is_empty() {
                self.err(c, &k("columns"), "`columns` is empty", Some("list the columns to keep, or drop the key to keep them all"));
            }
            let mut out: Vec<String> = Vec::new();
            for (i, col) in c.value.iter().enumerate() {
                let ck = format!("{}[{i}]", k("columns"));
                if self.identifier(col, &ck, "column name") {
                    if out.contains(&col.value) {
                        self.err(col, &ck, format!("column `{}` is listed twice", col.value), None);
                    }
                    out.push(col.value.clone());
                }
            }
            out
        });
        let tie_breaker = pick!(tie_breaker).map(|t| self.identifiers(t, &k("tie_breaker"), "tie_breaker column"));
        let path = pick!(path).map(|p| self.path(p, &k("path"))).unwrap_or_default();
        let on_schema_change = match pick!(on_schema_change) {
            Some(o) => {
                const VALID: [&str; 4] = ["append_new_columns", "sync_all_columns", "fail", "ignore"];
                if !VALID.contains(&o.value.as_str()) {
                    let d = self.diag(o, &k("on_schema_change"), format!("unknown on_schema_change `{}`", o.value)).hint(format!("use one of: {}", VALID.join(", ")));
                    let d = match crate::error::closest(&o.value, VALID) {
                        Some(best) => d.hint(format!("did you mean `{best}`? (valid: {})", VALID.join(", "))),
                        None => d,
                    };
                    self.diags.push(d);
                }
                o.value.clone()
            }
            None => "append_new_columns".to_string(),
        };
        let tags = pick!(tags)
            .map(|t| {
                let tags = t.value.clone().into_vec();
                for tag in &tags {
                    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                        self.err(t, &k("tags"), format!("tag `{}` may hold only letters, digits, `_` and `-`", escape(tag)), None);
                    }
                }
                tags
            })
            .unwrap_or_default();
        let partition_by = pick!(partition_by).map(|p| {
            self.identifier(p, &k("partition_by"), "column name");
            if !dialect.partition_by {
                self.err(p, &k("partition_by"), format!("`partition_by` is not supported on {}", dialect.name), Some("drop it; this adapter has no partition config dbt-incr can set"));
            }
            p.value.clone()
        });
        let cluster_by = pick!(cluster_by)
            .map(|c| {
                if !dialect.cluster_by {
                    self.err(c, &k("cluster_by"), format!("`cluster_by` is not supported on {}", dialect.name), Some("drop it; this adapter has no clustering config dbt-incr can set"));
                }
                self.identifiers(c, &k("cluster_by"), "column name")
            })
            .unwrap_or_default();
        let begin = pick!(begin).map(|b| {
            if !is_iso_date(&b.value) {
                self.err(b, &k("begin"), format!("`begin` must be a date like 2024-01-01, got `{}`", escape(&b.value)), None);
            }
            b.value.clone()
        });
        let batch_size = pick!(batch_size).map(|b| {
            const VALID: [&str; 4] = ["hour", "day", "month", "year"];
            if !VALID.contains(&b.value.as_str()) {
                let d = self.diag(b, &k("batch_size"), format!("unknown batch_size `{}`", escape(&b.value))).hint(format!("use one of: {}", VALID.join(", ")));
                self.diags.push(d);
            }
            b.value.clone()
        });

        // Columns the model relies on must survive a `columns` subset.
        if let Some(cols) = &columns {
            let spanned = pick!(columns).expect("columns present");
            let required = unique_key.iter().map(|c| (c, "unique_key")).chain([(&load_time, "load_time")]).chain(event_time.iter().map(|c| (c, "event_time"))).chain(tie_breaker.iter().flatten().map(|c| (c, "tie_breaker")));
            for (col, role) in required {
                if !col.is_empty() && !cols.contains(col) {
                    self.err(spanned, &k("columns"), format!("`columns` leaves out `{col}`, the model's {role}"), Some(&format!("add `{col}` to `columns`")));
                }
            }
        }

        let strategy = self.strategy(pick!(incremental_strategy), &k("incremental_strategy"), at, dialect, &name, &unique_key, lookback, event_time.as_deref(), begin.as_deref(), partition_by.as_deref(), columns.as_ref());

        if self.diags.len() > before {
            return None;
        }
        Some(Model {
            name,
            from: from?,
            unique_key,
            load_time,
            event_time,
            lookback,
            strategy: strategy?,
            columns,
            tie_breaker,
            path,
            on_schema_change,
            tags,
            partition_by,
            cluster_by,
            begin,
            batch_size,
            dialect,
            line: at.0,
        })
    }

    /// Picks the strategy and refuses every combination that would break the promise.
    #[allow(clippy::too_many_arguments)]
    fn strategy(
        &mut self,
        given: Option<&Spanned<String>>,
        key: &str,
        at: (usize, usize),
        dialect: &'static Dialect,
        name: &str,
        unique_key: &[String],
        lookback: Lookback,
        event_time: Option<&str>,
        begin: Option<&str>,
        partition_by: Option<&str>,
        columns: Option<&Vec<String>>,
    ) -> Option<Strategy> {
        let refuse = |this: &mut Self, message: String, hint: &str| {
            match given {
                Some(g) => this.err(g, key, message, Some(hint)),
                None => this.err_line(at, key, message, Some(hint)),
            };
            None
        };
        let strategy = match given {
            Some(g) => match Strategy::parse(&g.value) {
                Some(s) => s,
                None => {
                    let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
                    let d = self.diag(g, key, format!("unknown incremental_strategy `{}`", escape(&g.value))).did_you_mean(&g.value, names.iter().copied());
                    let d = if d.hint.is_none() { d.hint(format!("use one of: {}", names.join(", "))) } else { d };
                    self.diags.push(d);
                    return None;
                }
            },
            None if unique_key.is_empty() => {
                if !lookback.is_zero() {
                    return refuse(
                        self,
                        format!("model `{name}` has no unique_key, so its only safe strategy is append, and append cannot re-read a lookback of {lookback} without duplicating rows"),
                        "set `unique_key` (the usual fix), or set `lookback: 0 minutes` if every load is atomic and rows never arrive late",
                    );
                }
                Strategy::Append
            }
            None => dialect.default_strategy,
        };
        if dialect.adapter_strategy(strategy).is_none() {
            let supported: Vec<&str> = dialect.strategies.iter().map(|(s, _)| s.name()).collect();
            return refuse(self, format!("{} does not support incremental_strategy `{strategy}`", dialect.name), &format!("{} supports: {}", dialect.name, supported.join(", ")));
        }
        match strategy {
            Strategy::InsertOverwrite => refuse(
                self,
                format!("insert_overwrite would lose data on {}: it replaces every partition (or the whole table) the batch touches with only the batch's rows, and a load-time lookback batch holds only some rows of each", dialect.name),
                &format!("use merge{}", if dialect.adapter_strategy(Strategy::DeleteInsert).is_some() { " or delete+insert" } else { "" }),
            ),
            Strategy::Merge | Strategy::DeleteInsert if unique_key.is_empty() => refuse(
                self,
                format!("{strategy} needs a unique_key: without one it cannot tell a new version of a row from a new row"),
                "set `unique_key` to the column(s) that identify a row",
            ),
            Strategy::Append if !unique_key.is_empty() => refuse(
                self,
                "append never replaces an earlier version of a key, so corrections and re-read rows would be duplicated".to_string(),
                "use merge or delete+insert with this unique_key, or drop unique_key for an append-only fact table",
            ),
            Strategy::Append if !lookback.is_zero() => refuse(
                self,
                format!("append with a lookback of {lookback} appends the re-read window again on every run"),
                "set `lookback: 0 minutes` (loads must be atomic and never late), or use a unique_key with merge or delete+insert",
            ),
            Strategy::Microbatch => {
                if event_time.is_none() {
                    return refuse(self, "microbatch needs `event_time`: dbt splits batches on it".to_string(), "set `event_time` to the business timestamp column");
                }
                if begin.is_none() {
                    return refuse(self, "microbatch needs `begin`, the first event date dbt builds from".to_string(), "set `begin: 2024-01-01` (the earliest event date)");
                }
                if dialect.name == "bigquery" && partition_by.is_none() {
                    return refuse(self, "microbatch on bigquery needs `partition_by`".to_string(), "set `partition_by` to the event_time column");
                }
                if dialect.name == "postgres" && unique_key.is_empty() {
                    return refuse(self, "microbatch on postgres runs as a merge and needs a unique_key".to_string(), "set `unique_key`");
                }
                if columns.is_none() {
                    return refuse(
                        self,
                        "microbatch needs `columns`: inside a batch dbt renders the input as a filtered subquery whose columns cannot be read ahead".to_string(),
                        "list the columns to keep under `columns`",
                    );
                }
                Some(strategy)
            }
            _ => Some(strategy),
        }
    }

    /// Checks a plain SQL identifier; returns whether it is valid.
    fn identifier(&mut self, s: &Spanned<String>, key: &str, what: &str) -> bool {
        match identifier_problem(&s.value) {
            None => true,
            Some(problem) => {
                self.err(s, key, format!("invalid {what} `{}`: {problem}", escape(&s.value)), Some("use letters, digits and `_`, starting with a letter or `_`"));
                false
            }
        }
    }

    fn identifiers(&mut self, s: &Spanned<OneOrMany>, key: &str, what: &str) -> Vec<String> {
        let values = s.value.clone().into_vec();
        if values.is_empty() {
            self.err(s, key, format!("`{}` is an empty list", key.rsplit('.').next().unwrap_or(key)), None);
        }
        let mut out: Vec<String> = Vec::new();
        for v in values {
            if let Some(problem) = identifier_problem(&v) {
                self.err(s, key, format!("invalid {what} `{}`: {problem}", escape(&v)), Some("use letters, digits and `_`, starting with a letter or `_`"));
            } else if out.contains(&v) {
                self.err(s, key, format!("`{v}` is listed twice"), None);
            } else {
                out.push(v);
            }
        }
        out
    }

    fn lookback(&mut self, s: &Spanned<String>, key: &str) -> Option<Lookback> {
        let hint = "write `<n> minutes`, `<n> hours` or `<n> days`, e.g. `3 days`";
        let mut parts = s.value.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            self.err(s, key, format!("invalid lookback `{}`", escape(&s.value)), Some(hint));
            return None;
        };
        let unit = match unit {
            "minute" | "minutes" => TimeUnit::Minute,
            "hour" | "hours" => TimeUnit::Hour,
            "day" | "days" => TimeUnit::Day,
            other => {
                let d = self.diag(s, key, format!("invalid lookback unit `{}`", escape(other))).did_you_mean(other, ["minutes", "hours", "days"]);
                let d = if d.hint.is_none() { d.hint(hint) } else { d };
                self.diags.push(d);
                return None;
            }
        };
        match n.parse::<u32>() {
            Ok(amount) if amount <= MAX_LOOKBACK_AMOUNT => Some(Lookback { amount, unit }),
            _ => {
                self.err(s, key, format!("invalid lookback amount `{}`", escape(n)), Some(&format!("use a whole number from 0 to {MAX_LOOKBACK_AMOUNT}")));
                None
            }
        }
    }

    fn relation(&mut self, s: &Spanned<String>, key: &str) -> Option<Relation> {
        match parse_relation(&s.value) {
            Ok(r) => Some(r),
            Err(problem) => {
                self.err(s, key, format!("invalid `from` `{}`: {problem}", escape(&s.value)), Some("write `ref('model')`, `ref('package', 'model')` or `source('source', 'table')`"));
                None
            }
        }
    }

    fn path(&mut self, s: &Spanned<String>, key: &str) -> Vec<String> {
        let hint = "a relative folder such as `marts` or `marts/finance`: letters, digits, `_` and `-` in each part";
        let value = s.value.trim_end_matches('/');
        let parts: Vec<&str> = value.split('/').collect();
        let bad = value.is_empty()
            || parts.iter().any(|p| p.is_empty() || *p == "." || *p == ".." || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if bad {
            self.err(s, key, format!("invalid path `{}`: it must stay inside the model folder", escape(&s.value)), Some(hint));
            return Vec::new();
        }
        parts.into_iter().map(str::to_string).collect()
    }
}

/// Why `s` is not a plain identifier, or `None` when it is one.
pub fn identifier_problem(s: &str) -> Option<&'static str> {
    let mut chars = s.chars();
    match chars.next() {
        None => Some("it is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => Some("it must start with a letter or `_`"),
        _ if s.len() > 127 => Some("it is longer than 127 characters"),
        _ if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Some("it may hold only letters, digits and `_`"),
        _ => None,
    }
}

/// Parses `ref('m')`, `ref('pkg', 'm')` or `source('s', 't')` (single or double quotes).
pub fn parse_relation(text: &str) -> Result<Relation, String> {
    let text = text.trim();
    let (func, rest) = text.split_once('(').ok_or("expected a ref(...) or source(...) call")?;
    let func = func.trim();
    let args = rest.strip_suffix(')').ok_or("the call is not closed with `)`")?;
    let args: Vec<String> = args
        .split(',')
        .map(|a| {
            let a = a.trim();
            let unquoted = a
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| a.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                .ok_or_else(|| format!("argument {a} must be a quoted name"))?;
            match identifier_problem(unquoted) {
                None => Ok(unquoted.to_string()),
                Some(problem) => Err(format!("name `{unquoted}` is not valid: {problem}")),
            }
        })
        .collect::<Result<_, _>>()?;
    match (func, args.as_slice()) {
        ("ref", [m]) => Ok(Relation::Ref { package: None, model: m.clone() }),
        ("ref", [p, m]) => Ok(Relation::Ref { package: Some(p.clone()), model: m.clone() }),
        ("source", [s, t]) => Ok(Relation::Source { source: s.clone(), table: t.clone() }),
        ("ref", _) => Err("ref() takes one or two names".into()),
        ("source", _) => Err("source() takes two names".into()),
        _ => Err(format!("`{func}` is neither ref nor source")),
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

/// Shows a user value in a message without letting control characters or huge strings through.
fn escape(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(|c| if c.is_control() { c.escape_debug().collect::<Vec<_>>() } else { vec![c] }).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
