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
    #[serde(default, deserialize_with = "present")]
    dialect: Option<Spanned<String>>,
    #[serde(default)]
    defaults: Option<RawModel>,
    models: Spanned<Vec<Spanned<RawModel>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    #[serde(default, deserialize_with = "present")]
    name: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    from: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    unique_key: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    load_time: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    event_time: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    lookback: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    incremental_strategy: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    columns: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default, deserialize_with = "present")]
    tie_breaker: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    path: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    on_schema_change: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    tags: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    partition_by: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    cluster_by: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    begin: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    batch_size: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A key that is present must have a value: `lookback:` with nothing after it is an error, not
/// the default.
fn present<'de, D, T>(d: D) -> Result<Option<Spanned<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Spanned::<T>::deserialize(d).map(Some)
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
    /// Column of the model's first key on that line.
    pub column: usize,
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

/// Limits on what the YAML parser will do for one spec, so a hostile file (alias bombs, deep
/// nesting, millions of nodes) costs bounded memory and time. A spec of 10,000 models with
/// every key set fits well inside them.
fn parser_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        reject_unsupported_tags: true,
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 32,
            flow_nesting_limit: 32,
            max_nodes: 2_000_000,
            max_events: 4_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_total_scalar_bytes: MAX_SPEC_BYTES as usize,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
    }
}

/// Top-level keys of a spec.
pub const TOP_KEYS: &[&str] = &["version", "dialect", "defaults", "models"];

/// Parses and validates one spec file.
pub fn parse(source: SpecSource<'_>, choice: &DialectChoice) -> Result<SpecFile, Error> {
    let file = source.path;
    let text = source.text;
    if let Some(problem) = spec_path_problem(file) {
        return Err(Diagnostic::new(format!("spec file name {}: {problem}", escape(&file.to_string_lossy())))
            .in_file(file)
            .hint("rename the file with letters, digits, `_`, `-` and `.`; its path is written into each generated model's header")
            .into());
    }
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(Diagnostic::new("the spec is empty")
            .at(file, text, 1, 1)
            .hint("a spec starts with `version: 1` and lists its models under `models:`; see docs/spec.md")
            .into());
    }
    let raw: RawSpec = serde_saphyr::from_str_with_options(text, parser_options()).map_err(|e| Error::from(yaml_diagnostic(file, text, &e)))?;

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
    // Keyed case-insensitively: warehouses fold unquoted names, and some file systems do too.
    let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (i, entry) in raw.models.value.iter().enumerate() {
        let key = format!("models[{i}]");
        if let Some(dialect) = dialect
            && let Some(model) = v.model(&entry.value, &defaults, &key, (entry.referenced.line() as usize, entry.referenced.column() as usize), dialect)
        {
            let folded = model.name.to_ascii_lowercase();
            if let Some((first, line)) = seen.get(&folded) {
                let name = entry.value.name.as_ref().expect("validated");
                let message = if *first == model.name {
                    format!("model `{}` is defined twice", model.name)
                } else {
                    format!("model `{}` is defined twice (as `{first}` too; warehouses and some file systems ignore case)", model.name)
                };
                v.err(name, &format!("{key}.name"), message, Some(&format!("the first definition is on line {line}; rename or remove one")));
            } else {
                seen.insert(folded, (model.name.clone(), model.line));
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

/// Why a spec file's path cannot be shown in a generated header, if it cannot: the header is a
/// Jinja comment, so `#}` or `{{` in a file name would end it and inject Jinja.
fn spec_path_problem(path: &Path) -> Option<&'static str> {
    let text = path.to_string_lossy();
    if text.chars().any(|c| c.is_control()) {
        Some("holds a control character")
    } else if text.contains(['{', '}', '#', '%']) {
        Some("holds `{`, `}`, `#` or `%`, which could end the Jinja comment it is written into")
    } else {
        None
    }
}

/// A YAML or shape error from serde-saphyr as a diagnostic: its location, the key it is under
/// (found from the text: serde-saphyr does not say), and a message in our words.
pub(crate) fn yaml_diagnostic(file: &Path, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((0, 0));
    let raw = yaml_message(e);
    let unknown = unknown_field(&raw).is_some() || raw.starts_with("duplicate mapping key");
    // An unknown key is reported at the key itself; a wrong shape at the value, which may be a
    // mapping whose first key sits at the position.
    let path = if line > 0 { key_path_at(text, line, column, unknown) } else { None };
    let mut d = Diagnostic::new(raw.clone()).at(file, text, line, column);
    if let Some(p) = &path {
        d = d.key(p.clone());
    }
    if let Some(unknown) = unknown_field(&raw) {
        return unknown_key(d, unknown, path.as_deref());
    }
    if let Some(key) = raw.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        d.message = format!("key `{}` is given twice (a YAML key given twice is an error, not an override)", escape(key));
        return d.hint("keep one of the two; which one was meant cannot be guessed");
    }
    if let Some(missing) = raw.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        d.message = format!("the spec has no `{missing}:`");
        d.key = Some(missing.to_string());
        return d.hint(if missing == "version" { "start the spec with `version: 1`" } else { "list the models under `models:`; see docs/spec.md" });
    }
    if raw.starts_with("multiple YAML documents") || raw.contains("Documents") {
        d.message = "the file holds more than one YAML document (a `---` line after the first)".into();
        return d.hint("a spec is one document: list every model under one `models:`, or put each spec in its own file of a --spec folder");
    }
    if raw.contains("budget") || raw.contains("limit") || raw.contains("alias replay") {
        let lower = raw.to_ascii_lowercase();
        let split = "split it into several files in a --spec folder (these limits keep memory bounded)";
        let (message, hint) = if lower.contains("recursion") || lower.contains("depth") || lower.contains("nesting") {
            ("the spec is nested too deeply (dbt-incr reads at most 32 levels)", "a spec is a flat list of models whose values are names or lists of names")
        } else if lower.contains("alias") || lower.contains("anchor") {
            ("the spec expands YAML aliases (`*name`) too many times (a \"billion laughs\" input?)", "write the values out, or use `defaults:` for what models share")
        } else if lower.contains("scalar") || lower.contains("bytes") {
            ("the spec holds more text than dbt-incr reads in one file", split)
        } else {
            ("the spec holds more YAML nodes than dbt-incr reads in one file", split)
        };
        d.message = message.to_string();
        return d.hint(hint);
    }
    if raw.starts_with("unsupported tag") {
        return d.hint("YAML tags (`!tag`) are not part of the spec format; remove it");
    }
    if raw.contains("found a tab") || raw.contains("tabs") {
        d.message = format!("a tab character where YAML expects spaces ({raw})");
        return d.hint("YAML indents with spaces only: replace the tab characters on this line or the next");
    }
    // serde reports an untagged one-or-many value at an entry inside it, when it is a list.
    let untagged = raw.contains("did not match any variant");
    let (path, in_list) = match path {
        Some(p) if untagged && p.ends_with(']') => (Some(p[..p.rfind('[').unwrap_or(p.len())].to_string()), true),
        p => (p, false),
    };
    if let Some(p) = &path {
        d = d.key(p.clone());
    }
    if let Some(p) = path.as_deref()
        && let Some(expected) = expected_shape(p)
        && is_shape_error(&raw)
    {
        let got = if in_list { Shape::List } else { shape_at(text, line, column) };
        let list_like = expected.contains("list");
        d.message = match got {
            Shape::Null => format!("`{}` has no value", leaf(p)),
            Shape::List if list_like => format!("`{}` must be {expected}; this list holds something that is not a plain name", leaf(p)),
            ref got => format!("`{}` must be {expected}, not {}", leaf(p), got.describe()),
        };
        let base = leaf(p).split('[').next().unwrap_or("");
        let example = if LIST_OR_STRING_KEYS.contains(&base) { shape_hint(p).replace("unique_key", base) } else { shape_hint(p).to_string() };
        return d.hint(match got {
            Shape::Null => format!("{example}, or remove the key to use its default"),
            _ => example,
        });
    }
    if path.as_deref().is_none_or(|p| p.starts_with('[')) && raw.contains("expected mapping") {
        d.message = "the spec must be a mapping of keys (`version:`, `models:`, …)".into();
        d.key = None;
        return d.hint("start with `version: 1`, then `models:` with one `- name: …` entry per model; see docs/spec.md");
    }
    if is_shape_error(&raw) {
        return d.hint("see docs/spec.md for the type of each key");
    }
    d.hint("this is not valid YAML here: check the indentation (spaces, not tabs) and that each `key: value` lines up with its siblings")
}

/// The last part of a key path, for messages: `models[0].name` -> `name`, `columns[1]` -> `columns[1]`.
fn leaf(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Whether serde-saphyr's message says a value has the wrong shape (rather than bad syntax).
fn is_shape_error(message: &str) -> bool {
    ["expected ", "invalid ", "cannot deserialize"].iter().any(|p| message.starts_with(p)) || message.contains("did not match any variant")
}

/// Keys whose value is one string.
const STRING_KEYS: &[&str] = &[
    "dialect",
    "name",
    "from",
    "load_time",
    "event_time",
    "lookback",
    "incremental_strategy",
    "path",
    "on_schema_change",
    "partition_by",
    "begin",
    "batch_size",
];
/// Keys whose value is a string or a list of strings.
const LIST_OR_STRING_KEYS: &[&str] = &["unique_key", "tie_breaker", "tags", "cluster_by"];

/// What the value at `path` must be, in words; `None` for a path that is not in the format.
fn expected_shape(path: &str) -> Option<&'static str> {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let in_model = parent.is_some_and(|p| p == "defaults" || (p.starts_with("models[") && p.ends_with(']') && !p.contains('.')));
    if let Some((base, _index)) = last.split_once('[') {
        return match (parent, base) {
            (None, "models") => Some("a mapping of model keys (`name:`, `from:`, …)"),
            (Some(_), "columns" | "unique_key" | "tie_breaker" | "cluster_by") if in_model => Some("a column name"),
            (Some(_), "tags") if in_model => Some("a tag (a string)"),
            _ => None,
        };
    }
    match (parent, last) {
        (None, "version") => Some("the number 1"),
        (None, "dialect") => Some("a dialect name"),
        (None, "models") => Some("a list of models (`- name: …` entries)"),
        (None, "defaults") => Some("a mapping of model keys"),
        (Some(_), "columns") if in_model => Some("a list of column names"),
        (Some(_), k) if in_model && STRING_KEYS.contains(&k) => Some("a string"),
        (Some(_), k) if in_model && LIST_OR_STRING_KEYS.contains(&k) => Some("a name or a list of names"),
        _ => None,
    }
}

/// An example of the right shape for the key at `path`.
fn shape_hint(path: &str) -> &'static str {
    let last = leaf(path);
    let base = last.split('[').next().unwrap_or(last);
    match base {
        "version" => "write `version: 1`",
        "models" if last.contains('[') => "each model is a mapping: `- name: fct_events` with its keys indented below",
        "models" => "list each model as `- name: …` under `models:`",
        "defaults" => "`defaults:` holds model keys, e.g. `lookback: 3 days`, indented below it",
        "columns" if last.contains('[') => "each column is a plain name: `columns: [id, amount, loaded_at]`",
        "columns" => "write `columns: [id, amount, loaded_at]`",
        "unique_key" | "tie_breaker" | "cluster_by" | "tags" if last.contains('[') => "list plain names: `[a, b]`",
        "unique_key" | "tie_breaker" | "cluster_by" | "tags" => "write one name (`unique_key: id`) or a list of plain names (`unique_key: [id, day]`); quote a value YAML reads as a number or true/false",
        "name" => "write the model's name: `name: fct_events`",
        "from" => "write `from: ref('model')` or `from: source('source', 'table')`",
        "lookback" => "write `lookback: 3 days` (minutes, hours or days)",
        "begin" => "write `begin: 2024-01-01`",
        "dialect" => "write a dialect name, e.g. `dialect: snowflake` (see `dbt-incr dialects`)",
        _ => "see docs/spec.md for what this key takes",
    }
}

/// The kind of YAML value at a position, read from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Null,
    List,
    Mapping,
    Scalar(String),
}

impl Shape {
    fn describe(&self) -> String {
        match self {
            Shape::Null => "nothing".into(),
            Shape::List => "a list".into(),
            Shape::Mapping => "a mapping".into(),
            Shape::Scalar(s) => format!("`{}`", escape(s)),
        }
    }
}

/// What the value starting at `line`:`column` (1-based) looks like.
fn shape_at(text: &str, line: usize, column: usize) -> Shape {
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else { return Shape::Null };
    let rest: String = l.chars().skip(column.saturating_sub(1)).collect();
    // serde-saphyr points an empty value at the colon after its key.
    let rest = rest.strip_prefix(':').unwrap_or(&rest).trim();
    let rest = match rest.find(" #") {
        Some(i) => rest[..i].trim_end(),
        None => rest,
    };
    if rest.is_empty() || rest.starts_with('#') || rest == "~" || rest == "null" || rest == "Null" || rest == "NULL" {
        return Shape::Null;
    }
    if line_nodes(l).iter().any(|(c, k)| k.is_some() && *c == byte_offset(l, column.saturating_sub(1))) {
        return Shape::Mapping;
    }
    if rest.starts_with('[') || rest.starts_with("- ") || rest == "-" {
        return Shape::List;
    }
    if rest.starts_with('{') {
        return Shape::Mapping;
    }
    let value = rest.trim_end_matches(',').trim_end_matches([']', '}']);
    Shape::Scalar(value.to_string())
}

/// The byte offset of character `chars` in `line` (its length when past the end).
fn byte_offset(line: &str, chars: usize) -> usize {
    line.char_indices().nth(chars).map_or(line.len(), |(i, _)| i)
}

/// The structure of one YAML line: `- ` entries (None) and `key:` keys, with 0-based columns,
/// outermost first. Only block-style structure is recognised; flow collections are values.
fn line_nodes(line: &str) -> Vec<(usize, Option<&str>)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b'#' {
            break;
        }
        if bytes[i] == b'-' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            out.push((i, None));
            i += 1;
            continue;
        }
        if let Some((key, _after)) = key_at(line, i) {
            out.push((i, Some(key)));
        }
        break;
    }
    out
}

/// A mapping key starting at byte `i` of `line`: `key:` followed by a space or the line's end;
/// quoted keys are returned without their quotes.
fn key_at(line: &str, i: usize) -> Option<(&str, usize)> {
    let rest = &line[i..];
    let first = rest.chars().next()?;
    if first == '"' || first == '\'' {
        let close = rest[1..].find(first)? + 1;
        let after = &rest[close + 1..];
        return after.starts_with(':').then(|| (&rest[1..close], i + close + 2));
    }
    if matches!(first, '[' | '{' | '&' | '*' | '!' | '|' | '>' | '?') {
        return None;
    }
    let mut search = 0;
    while let Some(colon) = rest[search..].find(':') {
        let at = search + colon;
        let next = rest[at + 1..].chars().next();
        if next.is_none() || next == Some(' ') || next == Some('\t') {
            let key = rest[..at].trim_end();
            if key.is_empty() || key.contains(" #") || key.contains(['[', '{', ',']) {
                return None;
            }
            return Some((key, i + at + 1));
        }
        search = at + 1;
    }
    None
}

/// The dotted key path (`models[2].columns[1]`) of the node at `line`:`column` (1-based), read
/// from the indentation of block-style YAML. Best effort: `None` when the text does not say.
///
/// `key_at_position`: whether a key starting exactly at the position is part of the path (it is
/// for an error about the key itself; not for one about a mapping value starting there).
pub(crate) fn key_path_at(text: &str, line: usize, column: usize, key_at_position: bool) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = line.checked_sub(1)?;
    let current = *lines.get(here)?;
    // serde-saphyr counts columns in characters; the line is sliced in bytes.
    let col0 = byte_offset(current, column.saturating_sub(1));

    // Segments innermost first: Ok(key) or Err(index).
    let mut segments: Vec<Result<String, usize>> = Vec::new();
    let nodes: Vec<(usize, Option<&str>)> = line_nodes(current).into_iter().filter(|(c, k)| *c < col0 || (*c == col0 && (k.is_none() || key_at_position))).collect();
    // Inside a flow list on this line (`columns: [a, [b]]`): the index of the entry.
    if let Some((_, Some(key))) = nodes.last()
        && let Some((_, value_start)) = key_at(current, nodes.last().unwrap().0)
    {
        let value = &current[value_start..];
        let offset = value.len() - value.trim_start().len();
        if value.trim_start().starts_with('[') && col0 > value_start + offset {
            let inside = &current[value_start + offset + 1..col0.min(current.len())];
            let mut depth = 0i32;
            let mut index = 0;
            for c in inside.chars() {
                match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth -= 1,
                    ',' if depth == 0 => index += 1,
                    _ => {}
                }
            }
            segments.push(Err(index));
        }
        let _ = key;
    }
    let mut scope = push_line(&lines, here, &nodes, &mut segments).unwrap_or_else(|| {
        let indent = current.len() - current.trim_start().len();
        indent.min(col0)
    });
    let mut row = here;
    while row > 0 && (scope > 0 || segments.last().is_some_and(|s| s.is_err())) {
        row -= 1;
        let nodes = line_nodes(lines[row]);
        // A key is a parent of what is more indented; a `- ` entry may sit at its key's column.
        let parents: Vec<(usize, Option<&str>)> = nodes.into_iter().filter(|(c, k)| *c < scope || (k.is_some() && *c == scope && segments.last().is_some_and(|s| s.is_err()))).collect();
        if parents.is_empty() {
            continue;
        }
        if let Some(new_scope) = push_line(&lines, row, &parents, &mut segments) {
            scope = new_scope;
        }
    }
    if segments.is_empty() {
        return None;
    }
    let mut path = String::new();
    for segment in segments.iter().rev() {
        match segment {
            Ok(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Err(index) => path.push_str(&format!("[{index}]")),
        }
    }
    Some(path)
}

/// Pushes the segments of `nodes` (on line `row`) innermost first; returns the column of the
/// outermost, the scope its parents must be left of.
fn push_line(lines: &[&str], row: usize, nodes: &[(usize, Option<&str>)], segments: &mut Vec<Result<String, usize>>) -> Option<usize> {
    for (col, node) in nodes.iter().rev() {
        match node {
            Some(key) => segments.push(Ok((*key).to_string())),
            None => segments.push(Err(entry_index(lines, row, *col))),
        }
    }
    nodes.first().map(|(c, _)| *c)
}

/// The index of the `- ` entry at `col` on line `row` among its siblings above it.
fn entry_index(lines: &[&str], row: usize, col: usize) -> usize {
    let mut index = 0;
    for line in lines[..row].iter().rev() {
        let nodes = line_nodes(line);
        let Some(&(first, kind)) = nodes.first() else { continue };
        if first < col || (first == col && kind.is_some()) {
            break;
        }
        if nodes.iter().any(|(c, k)| *c == col && k.is_none()) {
            index += 1;
        }
    }
    index
}

/// An unknown key, with the keys valid where it stands.
fn unknown_key(mut d: Diagnostic, unknown: &str, path: Option<&str>) -> Diagnostic {
    let shown = escape(unknown);
    let Some(path) = path else {
        // Flow style (`{…}`): where the key stands is not known.
        d.message = format!("unknown key `{shown}`");
        let d = d.did_you_mean(unknown, MODEL_KEYS.iter().chain(TOP_KEYS).copied());
        return if d.hint.is_some() { d } else { d.hint(format!("the top level takes: {}; a model takes: {}", TOP_KEYS.join(", "), MODEL_KEYS.join(", "))) };
    };
    if !path.contains('.') {
        d.message = format!("unknown top-level key `{shown}`");
        if MODEL_KEYS.contains(&unknown) {
            return d.hint(format!("`{unknown}` is a model key: put it under a model in `models:`, or under `defaults:` to apply it to every model"));
        }
        let d = d.did_you_mean(unknown, TOP_KEYS.iter().copied());
        return if d.hint.is_some() { d } else { d.hint(format!("the top level takes: {}", TOP_KEYS.join(", "))) };
    }
    d.message = format!("unknown key `{shown}`");
    let under_defaults = path.starts_with("defaults.");
    let valid: Vec<&str> = MODEL_KEYS.iter().copied().filter(|k| !under_defaults || !matches!(*k, "name" | "from")).collect();
    if let Some(best) = crate::error::closest(unknown, valid.iter().copied()) {
        return d.hint(format!("did you mean `{best}`?"));
    }
    if TOP_KEYS.contains(&unknown) {
        return d.hint(format!("`{unknown}` is a top-level key: move it out of the model, to column 1"));
    }
    d.hint(format!("a model takes: {}", valid.join(", ")))
}

/// serde-saphyr's message, without its own location (we print ours).
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
                let names: Vec<&str> = Dialect::names().collect();
                let d = self.diag(s, "dialect", format!("unknown dialect `{}`", escape(&s.value))).one_of(&s.value, &names);
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
                    let names: Vec<&str> = Dialect::names().collect();
                    self.diags.push(Diagnostic::new(format!("unknown dialect `{}` (from --dialect)", escape(cli))).one_of(cli, &names));
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
        let microbatch = pick!(incremental_strategy).is_some_and(|s| s.value == Strategy::Microbatch.name());

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
                self.err_line(at, &k("from"), format!("model `{}` has no `from`", escape(&name)), Some("set `from: source('raw', 'events')` or `from: ref('stg_events')`"));
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
                    format!("model `{}` has no `load_time`", escape(&name)),
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
                    if let Some(first) = out.iter().find(|o| o.eq_ignore_ascii_case(&col.value)) {
                        let message = if *first == col.value {
                            format!("column `{}` is listed twice", col.value)
                        } else {
                            format!("column `{}` is listed twice (as `{first}` too; unquoted SQL names ignore case)", col.value)
                        };
                        self.err(col, &ck, message, Some("remove the repeated entry"));
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
                    let d = self.diag(o, &k("on_schema_change"), format!("unknown on_schema_change `{}`", escape(&o.value))).one_of(&o.value, &VALID);
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
                        self.err(t, &k("tags"), format!("tag `{}` may hold only letters, digits, `_` and `-`", escape(tag)), Some("e.g. `tags: [daily, finance-core]`"));
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
                self.err(b, &k("begin"), format!("`begin` must be a date like 2024-01-01, got `{}`", escape(&b.value)), Some("write a real calendar date as YYYY-MM-DD: the first event date dbt builds from"));
            } else if raw.begin.is_some() && !microbatch {
                self.err(b, &k("begin"), "`begin` applies only to microbatch models", Some("drop it, or set `incremental_strategy: microbatch`"));
            }
            b.value.clone()
        });
        let batch_size = pick!(batch_size).map(|b| {
            const VALID: [&str; 4] = ["hour", "day", "month", "year"];
            if !VALID.contains(&b.value.as_str()) {
                let d = self.diag(b, &k("batch_size"), format!("unknown batch_size `{}`", escape(&b.value))).one_of(&b.value, &VALID);
                self.diags.push(d);
            } else if raw.batch_size.is_some() && !microbatch {
                self.err(b, &k("batch_size"), "`batch_size` applies only to microbatch models", Some("drop it, or set `incremental_strategy: microbatch`"));
            }
            b.value.clone()
        });

        // Columns the model relies on must survive a `columns` subset.
        if let Some(cols) = &columns {
            let spanned = pick!(columns).expect("columns present");
            let required = unique_key.iter().map(|c| (c, "unique_key")).chain([(&load_time, "load_time")]).chain(event_time.iter().map(|c| (c, "event_time"))).chain(tie_breaker.iter().flatten().map(|c| (c, "tie_breaker")));
            for (col, role) in required {
                if !col.is_empty() && !cols.contains(col) {
                    self.err(spanned, &k("columns"), format!("`columns` leaves out `{}`, the model's {role}", escape(col)), Some(&format!("add `{}` to `columns`", escape(col))));
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
            column: at.1,
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
                    let d = self.diag(g, key, format!("unknown incremental_strategy `{}`", escape(&g.value))).one_of(&g.value, &names);
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
                self.err(s, key, format!("invalid {what} `{}`: {problem}", escape(&s.value)), Some(identifier_hint(problem, what)));
                false
            }
        }
    }

    fn identifiers(&mut self, s: &Spanned<OneOrMany>, key: &str, what: &str) -> Vec<String> {
        let values = s.value.clone().into_vec();
        if values.is_empty() {
            self.err(s, key, format!("`{}` is an empty list", key.rsplit('.').next().unwrap_or(key)), Some("list at least one column, or remove the key"));
        }
        let mut out: Vec<String> = Vec::new();
        for v in values {
            if let Some(problem) = identifier_problem(&v) {
                self.err(s, key, format!("invalid {what} `{}`: {problem}", escape(&v)), Some(identifier_hint(problem, what)));
            } else if let Some(first) = out.iter().find(|o| o.eq_ignore_ascii_case(&v)) {
                let message = if *first == v { format!("`{v}` is listed twice") } else { format!("`{v}` is listed twice (as `{first}` too; unquoted SQL names ignore case)") };
                self.err(s, key, message, Some("remove the repeated entry"));
            } else {
                out.push(v);
            }
        }
        out
    }

    fn lookback(&mut self, s: &Spanned<String>, key: &str) -> Option<Lookback> {
        let hint = "write `<n> minutes`, `<n> hours` or `<n> days`, e.g. `3 days`";
        const UNITS: [&str; 6] = ["minute", "minutes", "hour", "hours", "day", "days"];
        let mut parts = s.value.split_whitespace();
        let (n, unit) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(unit), None) => (n, unit),
            (Some(one), None, None) => {
                // `3days` or `3`: say what is missing.
                let digits = one.find(|c: char| !c.is_ascii_digit()).unwrap_or(one.len());
                let (n, unit) = one.split_at(digits);
                let d = self.diag(s, key, format!("invalid lookback `{}`: it needs an amount and a unit", escape(&s.value)));
                let d = if n.is_empty() {
                    d.hint(hint)
                } else if unit.is_empty() {
                    d.hint(format!("add a unit: `{n} days`, `{n} hours` or `{n} minutes`"))
                } else {
                    match crate::error::closest(unit, UNITS) {
                        Some(best) => d.hint(format!("did you mean `{n} {best}`?")),
                        None => d.hint(hint),
                    }
                };
                self.diags.push(d);
                return None;
            }
            _ => {
                self.err(s, key, format!("invalid lookback `{}`", escape(&s.value)), Some(hint));
                return None;
            }
        };
        let unit = match unit.to_ascii_lowercase().as_str() {
            "minute" | "minutes" => TimeUnit::Minute,
            "hour" | "hours" => TimeUnit::Hour,
            "day" | "days" => TimeUnit::Day,
            "week" | "weeks" => {
                let days = n.parse::<u32>().map(|n| n.saturating_mul(7)).unwrap_or(7);
                self.err(s, key, format!("invalid lookback unit `{}`", escape(unit)), Some(&format!("write weeks as days: `{days} days` (units: minutes, hours, days)")));
                return None;
            }
            _ => {
                let d = self.diag(s, key, format!("invalid lookback unit `{}`", escape(unit))).one_of(&unit.to_ascii_lowercase(), &["minutes", "hours", "days"]);
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

/// Words reserved in the SQL of at least one supported warehouse (or in dbt's Jinja): as bare
/// names they would change the meaning of the generated SQL, or fail to parse. Generated SQL
/// does not quote names (quoting changes their case on some warehouses), so these are refused.
pub const RESERVED_WORDS: &[&str] = &[
    "all", "alter", "and", "any", "array", "as", "asc", "asof", "between", "both", "by", "case", "cast", "check", "collate",
    "column", "constraint", "create", "cross", "cube", "current_date", "current_time", "current_timestamp",
    "current_user", "default", "delete", "desc", "distinct", "drop", "else", "end", "except", "exists", "false",
    "fetch", "for", "foreign", "from", "full", "grant", "group", "grouping", "having", "ilike", "in", "inner", "insert",
    "intersect", "interval", "into", "is", "join", "lateral", "leading", "left", "like", "limit", "minus", "natural",
    "none", "not", "null", "offset", "on", "or", "order", "outer", "over", "partition", "pivot", "primary", "qualify",
    "range", "references", "regexp", "right", "rlike", "rollup", "row", "rows", "sample", "select", "session_user",
    "set", "some", "table", "tablesample", "then", "to", "top", "trailing", "true", "union", "unique", "unnest",
    "unpivot", "update", "user", "using", "values", "when", "where", "window", "with",
    // Found by tests/fuzz.rs (keywords_as_names_are_refused_or_parse): not reserved everywhere,
    // but the generated SQL does not parse with them as bare names in at least one dialect.
    "analyze", "cluster", "connect_by_root", "distribute", "exclude", "explain", "returning", "sort", "struct", "trim",
    "view",
];

/// Why `s` is not a plain identifier, or `None` when it is one.
pub fn identifier_problem(s: &str) -> Option<&'static str> {
    let mut chars = s.chars();
    match chars.next() {
        None => Some("it is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => Some("it must start with a letter or `_`"),
        _ if s.len() > 127 => Some("it is longer than 127 characters"),
        _ if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Some("it may hold only letters, digits and `_`"),
        _ if RESERVED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) => Some("it is a reserved word in SQL"),
        _ => None,
    }
}

fn identifier_hint(problem: &str, what: &str) -> &'static str {
    if problem.contains("reserved") && what == "model name" {
        "choose another model name (e.g. `fct_orders`): generated SQL does not quote names"
    } else if problem.contains("reserved") {
        "rename the column in a staging model (e.g. `order` -> `order_id`), so the generated SQL needs no quoting"
    } else {
        "use letters, digits and `_`, starting with a letter or `_`"
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

/// Whether `s` is a real calendar date written `YYYY-MM-DD` (year 1000 or later).
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if !(b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (s[..4].parse::<u32>(), s[5..7].parse::<u32>(), s[8..10].parse::<u32>()) else { return false };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1000 && (1..=days).contains(&day)
}

/// Shows a user value in a message without letting control characters or huge strings through.
fn escape(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(|c| if c.is_control() { c.escape_debug().collect::<Vec<_>>() } else { vec![c] }).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
