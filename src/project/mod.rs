//! The dbt project dbt-incr writes into: where its models and macros go, which adapter its
//! profile uses, and where its specs are. [`catalog`] reads what dbt's artifacts say about a
//! relation's columns.

pub mod catalog;
pub mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{Diagnostic, Error};
use crate::spec::MAX_SPEC_BYTES;

/// The spec file looked for beside `dbt_project.yml` when `--spec` is not given.
pub const DEFAULT_SPEC: &str = "incremental.yml";

/// The parts of a dbt project dbt-incr needs.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// First entry of `model-paths` (dbt's default: `models`): where dbt-incr writes models.
    pub model_path: String,
    /// First entry of `macro-paths` (dbt's default: `macros`): where it writes its macros.
    pub macro_path: String,
    /// Every entry of `model-paths`, as written (they may lead out of the project: dbt reads
    /// them, and so do read-only commands).
    pub model_paths: Vec<String>,
    /// Every entry of `macro-paths`, as written.
    pub macro_paths: Vec<String>,
    /// `packages-install-path` (dbt's default: `dbt_packages`).
    pub packages_path: String,
    /// The project's `name`.
    pub name: Option<String>,
    pub profile: Option<String>,
    /// `docs-paths`, when set (dbt's default: every resource path, the model paths included).
    pub docs_paths: Option<Vec<String>>,
    /// The `models:` tree of dbt_project.yml (`+materialized: incremental` per folder), as
    /// written; `Null` when absent.
    pub models_config: serde_json::Value,
    /// The `vars:` of dbt_project.yml; `Null` when absent.
    pub vars: serde_json::Value,
    /// `--profiles-dir`: looked in first for `profiles.yml`, as dbt does.
    pub profiles_dir: Option<PathBuf>,
    /// `--target`: the profile's output to read instead of its default (dbt's `--target`).
    pub target_name: Option<String>,
}

/// The target of the project's profile that dbt would use: what `new` needs to say where a
/// table lands, and what gives the dialect when the spec names none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The profiles.yml it came from.
    pub file: PathBuf,
    /// The target's name (`--target`, else `DBT_TARGET`, else `target:` of the profile, else
    /// dbt's default `dev`).
    pub name: String,
    /// `type:`, the adapter.
    pub adapter: Option<String>,
    /// `schema:` (`dataset:` on BigQuery), as written.
    pub schema: Option<String>,
    /// `database:` (`project:` on BigQuery, `dbname:` on Postgres and Redshift, `catalog:` on
    /// Databricks, the file's stem on DuckDB), as written.
    pub database: Option<String>,
}

#[derive(Deserialize)]
struct RawProject {
    #[serde(rename = "model-paths")]
    model_paths: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(rename = "macro-paths")]
    macro_paths: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(rename = "docs-paths")]
    docs_paths: Option<Vec<String>>,
    profile: Option<String>,
}

/// What only reading commands (`audit`) use; a dbt_project.yml they cannot read still loads,
/// without them.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawExtras {
    #[serde(rename = "packages-install-path")]
    packages_path: Option<String>,
    name: Option<String>,
    models: serde_json::Value,
    vars: serde_json::Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProfile {
    target: Option<String>,
    outputs: BTreeMap<String, RawOutput>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOutput {
    #[serde(rename = "type")]
    adapter: Option<String>,
    schema: Option<String>,
    dataset: Option<String>,
    database: Option<String>,
    project: Option<String>,
    dbname: Option<String>,
    catalog: Option<String>,
    /// dbt-duckdb's database file: its stem is the database unless `database:` is set.
    path: Option<String>,
}

/// A value of profiles.yml as dbt reads it: dbt renders every value with Jinja, and profiles
/// commonly read the environment (`target: "{{ env_var('DBT_TARGET', 'dev') }}"`). `env_var(name,
/// default)` is rendered as dbt does; `None` for anything else dbt-incr cannot render (another
/// function, an unset variable without a default).
fn profile_value(text: &str) -> Option<String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Some(text.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.add_function("env_var", |name: String, default: Option<String>| -> Result<String, minijinja::Error> {
        std::env::var(&name).ok().or(default).ok_or_else(|| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("env var {name} is not set")))
    });
    let value = env.render_str(text, ()).ok()?;
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

impl Project {
    /// The project for a command that writes into it: the first `model-paths` and `macro-paths`
    /// entries (where dbt-incr writes) must stay inside the project. Other entries are only read.
    pub fn load(root: &Path) -> Result<Project, Error> {
        Project::load_checked(root, true)
    }

    /// The project for a command that only reads it (`audit`) or writes nothing under a model or
    /// macro path (`init`): no path is refused.
    pub fn read(root: &Path) -> Result<Project, Error> {
        Project::load_checked(root, false)
    }

    fn load_checked(root: &Path, writes: bool) -> Result<Project, Error> {
        let file = root.join("dbt_project.yml");
        if !file.is_file() {
            let what = if root.is_dir() { "has no dbt_project.yml" } else { "is not a folder" };
            return Err(Diagnostic::new(format!("no dbt project: {} {what}", root.display()))
                .hint("run dbt-incr in a dbt project, or pass --project DIR (the folder holding dbt_project.yml)")
                .into());
        }
        let text = read_text(&file)?;
        let options = serde_saphyr::options! { with_snippet: false };
        let raw: RawProject = serde_saphyr::from_str_with_options(&text, options).map_err(|e| {
            let mut d = crate::spec::yaml::yaml_diagnostic(&file, &text, &e);
            d.message = format!("cannot read dbt_project.yml: {}", d.message);
            if d.key.as_deref().is_some_and(|k| k.contains("-paths")) {
                d.hint = Some("write a list of folders: `model-paths: [\"models\"]`".into());
            } else if d.message.contains("the spec") || d.hint.as_deref().is_some_and(|h| h.contains("docs/spec.md")) {
                d.hint = Some("dbt-incr reads `model-paths`, `macro-paths` and `profile` from dbt_project.yml; check the YAML around this line".into());
            }
            Error::from(d)
        })?;
        // dbt-incr writes into the first model and macro path; those may not leave the project.
        let first = |paths: &Option<Spanned<Vec<Spanned<String>>>>, default: &str, key: &str| -> Result<String, Error> {
            // dbt's default when the key is absent, checked the same way (it may be a symlink).
            let entries: Vec<(String, Option<(usize, usize)>)> = match &paths {
                Some(paths) => paths.value.iter().map(|p| (p.value.clone(), Some((p.referenced.line() as usize, p.referenced.column() as usize)))).collect(),
                None => vec![(default.to_string(), None)],
            };
            for (i, (value, at)) in entries.iter().enumerate().take(usize::from(writes)) {
                let path = Path::new(value);
                let bad = if value.trim().is_empty() {
                    Some("is empty")
                } else if path.is_absolute() || path.has_root() {
                    Some("is absolute")
                } else if path.components().any(|c| matches!(c, std::path::Component::ParentDir | std::path::Component::Prefix(_))) {
                    Some("leaves the project through `..`")
                } else if let Ok(resolved) = std::fs::canonicalize(root.join(path))
                    && let Ok(project) = std::fs::canonicalize(root)
                    && !resolved.starts_with(&project)
                {
                    Some("leads out of the project through a symlink")
                } else {
                    None
                };
                if let Some(why) = bad {
                    let d = Diagnostic::new(format!("`{key}` entry `{}` {why}", value.escape_debug()));
                    let d = match at {
                        Some((line, column)) => d.at(&file, &text, *line, *column).key(format!("{key}[{i}]")),
                        None => d.in_file(&file).key(format!("{key} (default `{default}`)")),
                    };
                    return Err(d.hint("dbt-incr writes only inside the project: use a folder under it, such as `models`").into());
                }
            }
            match entries.first() {
                Some((p, _)) => Ok(p.trim_end_matches('/').to_string()),
                None => Ok(default.to_string()),
            }
        };
        let all = |paths: &Option<Spanned<Vec<Spanned<String>>>>, default: &str| -> Vec<String> {
            match paths {
                Some(p) => p.value.iter().map(|v| v.value.trim_end_matches('/').to_string()).filter(|v| !v.trim().is_empty()).collect(),
                None => vec![default.to_string()],
            }
        };
        let extras: RawExtras = serde_saphyr::from_str(&text).unwrap_or_default();
        Ok(Project {
            model_path: first(&raw.model_paths, "models", "model-paths")?,
            macro_path: first(&raw.macro_paths, "macros", "macro-paths")?,
            model_paths: all(&raw.model_paths, "models"),
            macro_paths: all(&raw.macro_paths, "macros"),
            packages_path: extras.packages_path.unwrap_or_else(|| "dbt_packages".to_string()),
            name: extras.name,
            profile: raw.profile,
            docs_paths: raw.docs_paths.map(|paths| paths.into_iter().map(|p| p.trim_end_matches('/').to_string()).collect()),
            models_config: extras.models,
            vars: extras.vars,
            profiles_dir: None,
            target_name: None,
            root: root.to_path_buf(),
        })
    }

    /// Whether dbt reads docs blocks (`.md` files) in `dir`, a folder relative to the root: always
    /// without `docs-paths`, else when a docs path holds it.
    pub fn reads_docs_in(&self, dir: &Path) -> bool {
        match &self.docs_paths {
            None => true,
            Some(paths) => paths.iter().any(|p| p == "." || p.is_empty() || dir.starts_with(p)),
        }
    }

    /// The project with `--profiles-dir` and `--target` set; refuses a folder without a
    /// `profiles.yml`, as dbt does.
    pub fn with_profile(mut self, dir: Option<&Path>, target: Option<&str>) -> Result<Project, Error> {
        self.target_name = target.map(str::to_string);
        if let Some(dir) = dir {
            if !dir.join("profiles.yml").is_file() {
                return Err(Diagnostic::new(format!("--profiles-dir {}: no profiles.yml in it", dir.display()))
                    .hint("pass the folder that holds profiles.yml (as `dbt --profiles-dir` takes it)")
                    .into());
            }
            self.profiles_dir = Some(dir.to_path_buf());
        }
        Ok(self)
    }

    /// Where `profiles.yml` is looked for, first first: `--profiles-dir`, `DBT_PROFILES_DIR`, the
    /// project, the current folder (dbt's own default when run from elsewhere), `~/.dbt`.
    fn profiles_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        dirs.extend(self.profiles_dir.clone());
        if let Some(dir) = std::env::var_os("DBT_PROFILES_DIR").filter(|d| !d.is_empty()) {
            dirs.push(PathBuf::from(dir));
        }
        dirs.push(self.root.clone());
        if let Ok(cwd) = std::env::current_dir() {
            dirs.push(cwd);
        }
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(PathBuf::from(home).join(".dbt"));
        }
        dirs
    }

    /// The target dbt would use — `--target`, else `DBT_TARGET`, else the profile's `target:`,
    /// else `dev` — from the first `profiles.yml` (in dbt's order, [`Project::profiles_dirs`])
    /// that defines the project's profile. `None` without a profile; an error when a target
    /// chosen by `--target` or `DBT_TARGET` is not among the profile's outputs, as in dbt.
    pub fn target(&self) -> Result<Option<Target>, Error> {
        let Some(name) = self.profile.as_ref() else { return Ok(None) };
        let chosen = self.target_name.clone().map(|t| (t, "--target")).or_else(|| {
            std::env::var("DBT_TARGET").ok().filter(|t| !t.is_empty()).map(|t| (t, "DBT_TARGET"))
        });
        for dir in self.profiles_dirs() {
            let file = dir.join("profiles.yml");
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let Ok(mut profiles) = serde_saphyr::from_str::<BTreeMap<String, RawProfile>>(&text) else { continue };
            let Some(mut profile) = profiles.remove(name) else { continue };
            let target = match &chosen {
                Some((target, from)) => {
                    if !profile.outputs.contains_key(target) {
                        let known: Vec<&str> = profile.outputs.keys().map(String::as_str).collect();
                        return Err(Diagnostic::new(format!("{from} `{target}`: profile `{name}` in {} has no such target", file.display()))
                            .hint(format!("its targets: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") }))
                            .into());
                    }
                    target.clone()
                }
                None => match profile.target.as_deref().map(profile_value) {
                    Some(Some(target)) => target,
                    // A `target:` dbt-incr cannot render (a Jinja form beyond env_var): it does not
                    // guess which output dbt would take.
                    Some(None) => return Ok(None),
                    None => "dev".to_string(),
                },
            };
            let output = profile.outputs.remove(&target).unwrap_or_default();
            let field = |v: Option<String>| v.as_deref().and_then(profile_value);
            let output = RawOutput {
                adapter: field(output.adapter),
                schema: field(output.schema),
                dataset: field(output.dataset),
                database: field(output.database),
                project: field(output.project),
                dbname: field(output.dbname),
                catalog: field(output.catalog),
                path: field(output.path),
            };
            return Ok(Some(Target {
                file,
                name: target,
                adapter: output.adapter.clone(),
                schema: output.schema.or(output.dataset),
                database: output.database.or(output.project).or(output.dbname).or(output.catalog).or_else(|| {
                    // dbt-duckdb names the database after the file (`:memory:` is `memory`).
                    let path = output.path.filter(|_| output.adapter.as_deref() == Some("duckdb"))?;
                    let stem = Path::new(path.trim_start_matches(':').trim_end_matches(':')).file_stem()?.to_string_lossy().to_string();
                    Some(stem)
                }),
            }));
        }
        Ok(None)
    }

    /// The adapter type of the target dbt would use ([`Project::target`]), and the profiles.yml
    /// it came from.
    pub fn profile_adapter(&self) -> Result<Option<(String, PathBuf)>, Error> {
        Ok(self.target()?.and_then(|target| Some((target.adapter?, target.file))))
    }

    /// The configs dbt_project.yml's `models:` tree gives a model in `folders` (relative to its
    /// model path): `+key` at any level, and plain `key: scalar` for the keys listed in
    /// [`FOLDER_CONFIG_KEYS`]; the deepest level wins, as in dbt.
    pub fn folder_config(&self, folders: &[String]) -> serde_json::Map<String, serde_json::Value> {
        folder_config(&self.models_config, self.name.as_deref().unwrap_or_default(), folders)
    }

    /// Every model, seed or snapshot of this project named `name` (ignoring case): files
    /// `<name>.sql` / `<name>.py` under the model paths, and nodes of `target/manifest.json`
    /// when it exists. dbt refuses two resources with one name.
    pub fn resources_named(&self, name: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for model_path in &self.model_paths {
            find_named(&self.root.join(model_path), name, &mut found, 0);
        }
        let mut found: Vec<PathBuf> = found.into_iter().map(|p| self.display_path(&p)).collect();
        if let Ok(text) = std::fs::read_to_string(self.root.join("target/manifest.json"))
            && let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(nodes) = manifest.get("nodes").and_then(serde_json::Value::as_object)
        {
            for node in nodes.values() {
                let field = |k: &str| node.get(k).and_then(serde_json::Value::as_str).unwrap_or_default();
                let package_ok = self.name.as_deref().is_none_or(|p| field("package_name") == p);
                if package_ok && matches!(field("resource_type"), "model" | "seed" | "snapshot") && field("name").eq_ignore_ascii_case(name) {
                    let path = match field("original_file_path") {
                        // An older or trimmed manifest: name the node, unless a file was found.
                        "" if !found.is_empty() => continue,
                        "" => PathBuf::from(format!("target/manifest.json ({})", field("unique_id"))),
                        p => PathBuf::from(p),
                    };
                    if !found.contains(&path) {
                        found.push(path);
                    }
                }
            }
        }
        found.sort();
        found
    }

    /// The spec files to read: `--spec` (a file, or every `*.yml`/`*.yaml` in a directory, sorted),
    /// else `incremental.yml` beside `dbt_project.yml`.
    pub fn spec_files(&self, spec: Option<&Path>) -> Result<Vec<PathBuf>, Error> {
        let Some(spec) = spec else {
            let default = self.root.join(DEFAULT_SPEC);
            if !default.is_file() {
                return Err(Diagnostic::new(format!("no spec: {} does not exist", default.display()))
                    .hint("create it (see README), or pass --spec PATH")
                    .into());
            }
            return Ok(vec![default]);
        };
        if spec.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(spec)
                .map_err(Error::io(spec, "read directory"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Diagnostic::new(format!("no spec: {} holds no *.yml file", spec.display()))
                    .hint("put spec files (`*.yml` or `*.yaml`) in it, or pass --spec FILE")
                    .into());
            }
            Ok(files)
        } else if spec.is_file() {
            Ok(vec![spec.to_path_buf()])
        } else {
            Err(Diagnostic::new(format!("no spec: {} does not exist", spec.display()))
                .hint("--spec takes a spec file or a folder of them; a relative path is taken from the current folder, not from --project")
                .into())
        }
    }

    /// `path` as shown to users and in headers: relative to the project when inside it.
    pub fn display_path(&self, path: &Path) -> PathBuf {
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        abs(path).strip_prefix(abs(&self.root)).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Reads a UTF-8 text file of bounded size, with a clear error otherwise.
pub fn read_text(path: &Path) -> Result<String, Error> {
    let meta = std::fs::metadata(path).map_err(Error::io(path, "read"))?;
    if meta.len() > MAX_SPEC_BYTES {
        return Err(Diagnostic::new(format!("{} is {} bytes; dbt-incr reads files up to {MAX_SPEC_BYTES} bytes", path.display(), meta.len()))
            .in_file(path)
            .hint("a spec this large is not a spec: split it into several files in a --spec folder")
            .into());
    }
    let bytes = std::fs::read(path).map_err(Error::io(path, "read"))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        let text = String::from_utf8_lossy(valid);
        let shown = text.lines().nth(line - 1).map(|l| format!("{l}\u{FFFD}")).unwrap_or_else(|| "\u{FFFD}".to_string());
        Error::from(Diagnostic {
            message: format!("the file is not valid UTF-8 (byte 0x{:02x} at offset {})", e.as_bytes()[valid.len()], valid.len()),
            location: Some(crate::error::Location { file: path.to_path_buf(), line, column }),
            key: None,
            hint: Some("save it as UTF-8".into()),
            source_line: Some(shown),
        })
    })
}

/// Keys of dbt_project.yml's `models:` tree read as configs without a `+` (dbt reads a plain
/// key as a config when it is a known config and its value is not a folder).
pub const FOLDER_CONFIG_KEYS: &[&str] = &["materialized", "incremental_strategy", "unique_key", "partition_by", "event_time", "on_schema_change", "enabled", "schema", "database", "alias"];

/// The configs the `models:` tree `tree` gives a model of project `project_name` in `folders`;
/// see [`Project::folder_config`].
pub fn folder_config(tree: &serde_json::Value, project_name: &str, folders: &[String]) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{Map, Value};
    let mut out = Map::new();
    let take = |level: &Map<String, Value>, out: &mut Map<String, Value>| {
        for (k, v) in level {
            let key = k.strip_prefix('+').unwrap_or(k);
            if k.starts_with('+') || (!v.is_object() && FOLDER_CONFIG_KEYS.contains(&key)) {
                out.insert(key.to_string(), v.clone());
            }
        }
    };
    let Some(top) = tree.as_object() else { return out };
    take(top, &mut out);
    let Some(mut level) = top.get(project_name).and_then(Value::as_object) else { return out };
    take(level, &mut out);
    for folder in folders {
        let Some(next) = level.get(folder).and_then(Value::as_object) else { break };
        take(next, &mut out);
        level = next;
    }
    out
}

/// Files `<name>.sql` or `<name>.py` (name ignoring case) under `dir`, skipping hidden folders.
fn find_named(dir: &Path, name: &str, found: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    if depth > 32 {
        return;
    }
    for entry in entries.flatten() {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().to_string();
        if file_name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            find_named(&path, name, found, depth + 1);
        } else if let Some((stem, ext)) = file_name.rsplit_once('.')
            && matches!(ext, "sql" | "py")
            && stem.eq_ignore_ascii_case(name)
        {
            found.push(path);
        }
    }
}
