//! Finding a project's incremental models as dbt does, and what dbt knows about their inputs.
//!
//! With `target/manifest.json` (after `dbt parse`), every root-project model node gives its
//! resolved config (`materialized`, `incremental_strategy`, `unique_key`, …: dict configs,
//! dbt_project.yml, conditionals, all resolved by dbt), its file and its raw code; the tests and
//! constraints on each relation (`unique`, `not_null`, …) and, with `target/catalog.json`, its
//! columns. Without a manifest, every `.sql` file under every `model-paths` entry is a candidate,
//! with the config of its dbt_project.yml folder and its properties YAML; the rendering then adds
//! what its own `config()` says (keyword or dict form, conditionals evaluated under the mock).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::rendering::MacroFile;
use crate::error::{Diagnostic, Error};
use crate::project::{Project, folder_config, read_text};
use crate::spec::Relation;

/// How the models were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoundBy {
    /// `target/manifest.json`: dbt's resolved config.
    Manifest,
    /// The model files, dbt_project.yml and properties YAML.
    Files,
}

/// A model that is, or may be, incremental.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: String,
    /// Relative to the project root, `/`-separated (`../` when under a model path outside it).
    pub file: String,
    pub text: String,
    /// dbt's resolved config (manifest), or dbt_project.yml's and the properties YAML's.
    pub config: Map<String, Value>,
    /// Not SQL (a Python model).
    pub python: bool,
}

/// What dbt's artifacts say about one relation (a model, seed, snapshot or source).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `config.event_time`.
    pub event_time: Option<String>,
    /// Column sets with a uniqueness test or constraint (`unique`, `unique_combination_of_columns`,
    /// `primary_key`), lowercase.
    pub unique: Vec<Vec<String>>,
    /// Columns with a `not_null` test or constraint, lowercase.
    pub not_null: Vec<String>,
    /// Columns from target/catalog.json, in table order, with their types.
    pub columns: Vec<(String, String)>,
}

/// The project's models and what dbt knows about the relations they read.
#[derive(Debug)]
pub struct Discovery {
    pub found_by: FoundBy,
    pub candidates: Vec<Candidate>,
    /// By relation (`source('s', 't')`, `ref('m')`); empty without a manifest.
    pub facts: HashMap<String, Facts>,
    pub catalog: bool,
    /// The root project first, then each installed package, with their macro files.
    pub packages: Vec<(String, Vec<MacroFile>)>,
    pub project_name: String,
}

/// Reads the project: its candidates, facts and macros.
pub fn discover(project: &Project) -> Result<Discovery, Error> {
    let root = &project.root;
    let project_name = project.name.clone().unwrap_or_else(|| "project".to_string());
    let manifest_path = root.join("target/manifest.json");
    let (found_by, candidates, facts, catalog) = if manifest_path.is_file() {
        let (candidates, facts, catalog) = from_manifest(root, &manifest_path, &project_name)?;
        (FoundBy::Manifest, candidates, facts, catalog)
    } else {
        (FoundBy::Files, from_files(project, &project_name)?, HashMap::new(), false)
    };
    let packages = macro_packages(project, &project_name);
    Ok(Discovery { found_by, candidates, facts, catalog, packages, project_name })
}

#[derive(Deserialize)]
struct RawManifest {
    #[serde(default)]
    nodes: HashMap<String, RawNode>,
    #[serde(default)]
    sources: HashMap<String, RawNode>,
}

#[derive(Deserialize)]
struct RawNode {
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    package_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    source_name: Option<String>,
    #[serde(default)]
    original_file_path: String,
    #[serde(default)]
    raw_code: Option<String>,
    #[serde(default)]
    raw_sql: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    config: Map<String, Value>,
    #[serde(default)]
    columns: HashMap<String, RawColumn>,
    #[serde(default)]
    constraints: Vec<RawConstraint>,
    #[serde(default)]
    test_metadata: Option<RawTest>,
    #[serde(default)]
    column_name: Option<String>,
    #[serde(default)]
    attached_node: Option<String>,
    #[serde(default)]
    depends_on: RawDepends,
}

#[derive(Deserialize, Default)]
struct RawColumn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    constraints: Vec<RawConstraint>,
}

#[derive(Deserialize)]
struct RawConstraint {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    columns: Vec<String>,
}

#[derive(Deserialize)]
struct RawTest {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kwargs: Map<String, Value>,
}

#[derive(Deserialize, Default)]
struct RawDepends {
    #[serde(default)]
    nodes: Vec<String>,
}

#[derive(Deserialize)]
struct RawCatalog {
    #[serde(default)]
    nodes: HashMap<String, RawCatalogNode>,
    #[serde(default)]
    sources: HashMap<String, RawCatalogNode>,
}

#[derive(Deserialize)]
struct RawCatalogNode {
    #[serde(default)]
    columns: HashMap<String, RawCatalogColumn>,
}

#[derive(Deserialize)]
struct RawCatalogColumn {
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    index: u64,
}

/// dbt's artifacts can be large (100 MB on a big project): read without the spec's size limit.
fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(Error::io(path, "read"))?;
    serde_json::from_slice(&bytes).map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", path.display())).hint("regenerate it with `dbt parse` (or `dbt docs generate` for catalog.json)").into())
}

/// The candidates, the facts by relation, and whether a catalog was read.
type FromManifest = (Vec<Candidate>, HashMap<String, Facts>, bool);

fn from_manifest(root: &Path, path: &Path, project: &str) -> Result<FromManifest, Error> {
    let manifest: RawManifest = read_json(path)?;
    let catalog_path = root.join("target/catalog.json");
    let catalog: Option<RawCatalog> = if catalog_path.is_file() { Some(read_json(&catalog_path)?) } else { None };
    let mut candidates = Vec::new();
    // unique_id -> relation key
    let mut keys: HashMap<&str, String> = HashMap::new();
    let mut facts: HashMap<String, Facts> = HashMap::new();
    for (id, node) in manifest.nodes.iter().chain(manifest.sources.iter()) {
        let relation = match node.resource_type.as_str() {
            "source" => Relation::Source { source: node.source_name.clone().unwrap_or_default(), table: node.name.clone() },
            "model" | "seed" | "snapshot" => Relation::Ref { package: None, model: node.name.clone() },
            _ => continue,
        };
        let key = relation.jinja_call();
        keys.insert(id.as_str(), key.clone());
        let f = facts.entry(key).or_default();
        f.event_time = node.config.get("event_time").and_then(Value::as_str).map(str::to_string);
        for (name, column) in &node.columns {
            let name = if column.name.is_empty() { name.to_ascii_lowercase() } else { column.name.to_ascii_lowercase() };
            for c in &column.constraints {
                match c.kind.as_str() {
                    "not_null" => f.not_null.push(name.clone()),
                    "unique" => f.unique.push(vec![name.clone()]),
                    "primary_key" => {
                        f.unique.push(vec![name.clone()]);
                        f.not_null.push(name.clone());
                    }
                    _ => {}
                }
            }
        }
        for c in &node.constraints {
            if matches!(c.kind.as_str(), "primary_key" | "unique") && !c.columns.is_empty() {
                f.unique.push(c.columns.iter().map(|c| c.to_ascii_lowercase()).collect());
                if c.kind == "primary_key" {
                    f.not_null.extend(c.columns.iter().map(|c| c.to_ascii_lowercase()));
                }
            }
        }
        if let Some(columns) = catalog.as_ref().and_then(|c| if node.resource_type == "source" { c.sources.get(id) } else { c.nodes.get(id) }) {
            let mut cols: Vec<(u64, String, String)> = columns.columns.iter().map(|(k, v)| (v.index, if v.name.is_empty() { k.clone() } else { v.name.clone() }, v.kind.clone())).collect();
            cols.sort();
            // Snowflake folds unquoted names to upper case; models spell them in lower case.
            let fold = |n: String| if n.chars().any(|c| c.is_ascii_lowercase()) { n } else { n.to_ascii_lowercase() };
            f.columns = cols.into_iter().map(|(_, n, t)| (fold(n), t)).collect();
        }
        if node.resource_type == "model" && node.package_name == project && node.config.get("materialized").and_then(Value::as_str) == Some("incremental") {
            let text = node.raw_code.clone().or_else(|| node.raw_sql.clone()).unwrap_or_default();
            candidates.push(Candidate {
                name: node.name.clone(),
                file: node.original_file_path.replace('\\', "/"),
                text,
                config: node.config.clone(),
                python: node.language.as_deref() == Some("python"),
            });
        }
    }
    // Tests, attached to the relation they test.
    for node in manifest.nodes.values() {
        let Some(test) = &node.test_metadata else { continue };
        let attached = node.attached_node.as_deref().or_else(|| node.depends_on.nodes.last().map(String::as_str));
        let Some(key) = attached.and_then(|a| keys.get(a)) else { continue };
        let column = node.column_name.clone().or_else(|| test.kwargs.get("column_name").and_then(Value::as_str).map(str::to_string)).map(|c| c.trim_matches('"').to_ascii_lowercase());
        let f = facts.entry(key.clone()).or_default();
        match test.name.as_str() {
            "unique" => f.unique.extend(column.map(|c| vec![c])),
            "not_null" => f.not_null.extend(column),
            "unique_combination_of_columns" => {
                let cols: Vec<String> = test.kwargs.get("combination_of_columns").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect()).unwrap_or_default();
                if !cols.is_empty() {
                    f.unique.push(cols);
                }
            }
            _ => {}
        }
    }
    candidates.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((candidates, facts, catalog.is_some()))
}

fn from_files(project: &Project, project_name: &str) -> Result<Vec<Candidate>, Error> {
    let root = &project.root;
    let mut candidates = Vec::new();
    let properties = properties_config(project);
    for model_path in &project.model_paths {
        let dir = root.join(model_path);
        if !dir.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        collect(&dir, "sql", &mut files)?;
        files.sort();
        for file in files {
            let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let folders: Vec<String> = file.strip_prefix(&dir).ok().map(|p| p.parent().map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect()).unwrap_or_default()).unwrap_or_default();
            let mut config = folder_config(&project.models_config, project_name, &folders);
            if let Some(own) = properties.get(&name) {
                config.extend(own.clone());
            }
            let text = read_text(&file)?;
            let lower = text.to_ascii_lowercase();
            let says_incremental = config.get("materialized").and_then(Value::as_str) == Some("incremental");
            if !says_incremental && !lower.contains("incremental") {
                continue;
            }
            // Under the model path as written, so a path outside the project shows as `../shared/x.sql`.
            let shown = format!("{}/{}", model_path.trim_end_matches('/'), file.strip_prefix(&dir).unwrap_or(&file).to_string_lossy().replace('\\', "/"));
            candidates.push(Candidate { name, file: shown, text, config, python: false });
        }
    }
    Ok(candidates)
}

/// `file` relative to `root`, `/`-separated; through `..` when outside it.
fn relative(root: &Path, file: &Path) -> String {
    if let Ok(r) = file.strip_prefix(root) {
        return r.to_string_lossy().replace('\\', "/");
    }
    file.to_string_lossy().replace('\\', "/")
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let path = entry.map_err(Error::io(dir, "read directory"))?.path();
        if path.is_dir() {
            collect(&path, ext, out)?;
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

/// The `config:` of each model in the properties YAML files under the model paths (`models: -
/// name: x  config: {materialized: incremental}`), by model name.
fn properties_config(project: &Project) -> BTreeMap<String, Map<String, Value>> {
    let mut out = BTreeMap::new();
    for model_path in &project.model_paths {
        let mut files = Vec::new();
        let dir = project.root.join(model_path);
        let _ = collect(&dir, "yml", &mut files);
        let _ = collect(&dir, "yaml", &mut files);
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            if !text.contains("config") {
                continue;
            }
            let Ok(doc) = serde_saphyr::from_str::<Value>(&text) else { continue };
            for model in doc.get("models").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(name), Some(config)) = (model.get("name").and_then(Value::as_str), model.get("config").and_then(Value::as_object)) {
                    out.insert(name.to_string(), config.clone());
                }
            }
        }
    }
    out
}

/// The macro files of the project (every `macro-paths` entry) and of each package installed under
/// `packages-install-path`, each under its package's name.
fn macro_packages(project: &Project, project_name: &str) -> Vec<(String, Vec<MacroFile>)> {
    let read_macros = |root: &Path, paths: &[String], package: &str| -> Vec<MacroFile> {
        let mut files = Vec::new();
        for p in paths {
            let _ = collect(&root.join(p), "sql", &mut files);
        }
        files.sort();
        files
            .into_iter()
            .filter_map(|f| {
                let text = std::fs::read_to_string(&f).ok()?;
                Some(MacroFile { package: package.to_string(), path: relative(&project.root, &f), text })
            })
            .collect()
    };
    let mut out = vec![(project_name.to_string(), read_macros(&project.root, &project.macro_paths, project_name))];
    let packages_dir = project.root.join(&project.packages_path);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&packages_dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect()).unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        let (name, paths) = match Project::read(&dir) {
            Ok(p) => (p.name.unwrap_or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()), p.macro_paths),
            Err(_) => (dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), vec!["macros".to_string()]),
        };
        let files = read_macros(&dir, &paths, &name);
        out.push((name, files));
    }
    out
}

/// Whether a model's text says it is incremental in a form the renderer may not evaluate as
/// dbt's target would: a `materialized` value (keyword or dict form) that mentions `incremental`,
/// such as `materialized=('incremental' if target.name == 'prod' else 'table')`.
pub fn says_incremental(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("materialized").any(|(i, _)| {
        let rest = lower[i + "materialized".len()..].trim_start_matches(['"', '\'']).trim_start();
        let Some(value) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else { return false };
        let value = value.trim_start();
        let end = if value.starts_with('(') {
            let mut depth = 0;
            value.char_indices().find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            }).map_or(value.len(), |(e, _)| e)
        } else {
            value.find([',', ')', '\n', '}']).unwrap_or(value.len())
        };
        let v = &value[..end.min(value.len())];
        v.contains("'incremental'") || v.contains("\"incremental\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_forms_that_say_incremental() {
        assert!(says_incremental("{{ config({\"materialized\": \"incremental\", \"unique_key\": \"id\"}) }}"));
        assert!(says_incremental("config(\n materialized=(\n  'incremental' if target.name == 'prod'\n  else 'table'\n ),\n unique_key='id')"));
        assert!(!says_incremental("config(materialized='table') -- net_incremental_acv"));
    }

    #[test]
    fn folder_config_deepest_wins() {
        let tree = serde_json::json!({"p": {"+materialized": "view", "events": {"+materialized": "incremental", "+unique_key": "id", "raw": {}}}});
        let c = folder_config(&tree, "p", &["events".into(), "raw".into()]);
        assert_eq!(c.get("materialized"), Some(&Value::from("incremental")));
        assert_eq!(c.get("unique_key"), Some(&Value::from("id")));
        assert_eq!(folder_config(&tree, "p", &["marts".into()]).get("materialized"), Some(&Value::from("view")));
    }
}
