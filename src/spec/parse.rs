//! Reading a spec file: the raw YAML form with positions, the parser's limits, and the file-level
//! checks (version, dialect, models defined twice). Each model entry is checked by
//! [`super::validate`]; YAML and shape errors are explained by [`super::yaml`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::{KeywordCase, MAX_SPEC_BYTES, Model, SpecFile};
use super::names::escape;
use super::validate::Validator;
use super::yaml::{unknown_keys, yaml_diagnostic};
use crate::error::{Diagnostic, Error};

// ---------------------------------------------------------------------------------------------
// Raw form: exactly what the YAML says, with positions.

#[derive(Debug, Deserialize)]
pub(super) struct RawSpec {
    version: Spanned<u32>,
    #[serde(default, deserialize_with = "present")]
    dialect: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    keyword_case: Option<Spanned<String>>,
    #[serde(default)]
    defaults: Option<RawModel>,
    #[serde(default)]
    models: Option<Spanned<Vec<Spanned<RawModel>>>>,
    /// Keys the format does not have, reported all at once (with their positions, found in the text).
    #[serde(flatten)]
    unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawModel {
    #[serde(default, deserialize_with = "present")]
    pub(super) name: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) from: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) unique_key: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) load_time: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) event_time: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) lookback: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) incremental_strategy: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) columns: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) tie_breaker: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) path: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) on_schema_change: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) tags: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) partition_by: Option<Spanned<RawPartitionBy>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) cluster_by: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) order_by: Option<Spanned<OneOrMany>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) file_format: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) table_type: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) deleted: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) begin: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) batch_size: Option<Spanned<String>>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

/// `partition_by: column` or dbt-bigquery's mapping `{field, data_type, granularity}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawPartitionBy {
    Field(String),
    Config(RawPartitionConfig),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPartitionConfig {
    pub(super) field: String,
    #[serde(default)]
    pub(super) data_type: Option<String>,
    #[serde(default)]
    pub(super) granularity: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
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
    pub(super) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
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

    let mut v = Validator { file, text, diags: Vec::new(), reserved: (&[], "") };

    // Unknown keys, every one of them (serde collects them instead of stopping at the first).
    let mut unknown: Vec<(String, String)> = raw.unknown.keys().map(|k| (k.clone(), k.clone())).collect();
    if let Some(d) = &raw.defaults {
        unknown.extend(d.unknown.keys().map(|k| (format!("defaults.{k}"), k.clone())));
    }
    for (i, m) in raw.models.iter().flat_map(|m| m.value.iter()).enumerate() {
        unknown.extend(m.value.unknown.keys().map(|k| (format!("models[{i}].{k}"), k.clone())));
    }
    if !unknown.is_empty() {
        v.diags.extend(unknown_keys(file, text, &unknown));
    }
    let Some(entries) = &raw.models else {
        // A misspelt `models:` is reported above as an unknown key, with the right spelling.
        if raw.unknown.is_empty() {
            let last = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#')).last().map_or(1, |(i, _)| i + 1);
            v.diags.push(Diagnostic::new("the spec has no `models:`").at(file, text, last, 1).key("models").hint("list the models under `models:`; see docs/spec.md"));
        }
        return Err(Error::Invalid(v.diags));
    };

    if raw.version.value != 1 {
        v.err(&raw.version, "version", format!("unsupported spec version {}", raw.version.value), Some("this dbt-incr reads `version: 1`"));
    }

    let dialect = v.dialect(raw.dialect.as_ref(), choice);
    if let Some(d) = dialect {
        v.reserved = (d.reserved, d.name);
    }
    let keyword_case = match &raw.keyword_case {
        None => KeywordCase::default(),
        Some(k) => KeywordCase::parse(&k.value).unwrap_or_else(|| {
            let d = v.diag(k, "keyword_case", format!("unknown keyword_case `{}`", escape(&k.value))).one_of(&k.value, &["lower", "upper"]);
            v.diags.push(d);
            KeywordCase::default()
        }),
    };

    let defaults = raw.defaults.unwrap_or_default();
    if let Some(n) = &defaults.name {
        v.err(n, "defaults.name", "`name` cannot have a default", Some("give each model its own name"));
    }
    if let Some(f) = &defaults.from {
        v.err(f, "defaults.from", "`from` cannot have a default", Some("give each model its own `from`"));
    }

    if entries.value.is_empty() {
        v.err(entries, "models", "the spec has no models", Some("add at least one entry under `models:`"));
    }

    let mut models = Vec::new();
    // Keyed case-insensitively: warehouses fold unquoted names, and some file systems do too.
    let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (i, entry) in entries.value.iter().enumerate() {
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
                models.push(Model { keyword_case, ..model });
            }
        }
    }

    if v.diags.is_empty() {
        Ok(SpecFile { path: file.to_path_buf(), dialect: dialect.map(|d| d.name.to_string()), keyword_case, models })
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
