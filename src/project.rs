//! The dbt project dbt-incr writes into: where its models and macros go, which adapter its
//! profile uses, and where its specs are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Diagnostic, Error};
use crate::spec::MAX_SPEC_BYTES;

/// The spec file looked for beside `dbt_project.yml` when `--spec` is not given.
pub const DEFAULT_SPEC: &str = "incremental.yml";

/// The parts of a dbt project dbt-incr needs.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// First entry of `model-paths` (dbt's default: `models`).
    pub model_path: String,
    /// First entry of `macro-paths` (dbt's default: `macros`).
    pub macro_path: String,
    pub profile: Option<String>,
}

#[derive(Deserialize)]
struct RawProject {
    #[serde(rename = "model-paths")]
    model_paths: Option<Vec<String>>,
    #[serde(rename = "macro-paths")]
    macro_paths: Option<Vec<String>>,
    profile: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProfile {
    target: Option<String>,
    outputs: BTreeMap<String, RawOutput>,
}

#[derive(Deserialize)]
struct RawOutput {
    #[serde(rename = "type")]
    adapter: Option<String>,
}

impl Project {
    pub fn load(root: &Path) -> Result<Project, Error> {
        let file = root.join("dbt_project.yml");
        let text = read_text(&file)?;
        let raw: RawProject = serde_saphyr::from_str_with_options(&text, serde_saphyr::options! { with_snippet: false }).map_err(|e| {
            let (line, col) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((0, 0));
            Diagnostic::new(format!("cannot read dbt_project.yml: {}", e.without_snippet().to_string().lines().next().unwrap_or(""))).at(&file, &text, line, col)
        })?;
        let first = |paths: Option<Vec<String>>, default: &str, key: &str| -> Result<String, Error> {
            let p = paths.and_then(|p| p.into_iter().next()).unwrap_or_else(|| default.to_string());
            let path = Path::new(&p);
            if path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                return Err(Diagnostic::new(format!("`{key}` entry `{p}` leaves the project")).in_file(&file).key(key).hint("dbt-incr writes only inside the project").into());
            }
            Ok(p.trim_end_matches('/').to_string())
        };
        Ok(Project {
            model_path: first(raw.model_paths, "models", "model-paths")?,
            macro_path: first(raw.macro_paths, "macros", "macro-paths")?,
            profile: raw.profile,
            root: root.to_path_buf(),
        })
    }

    /// The adapter type of the profile's default target, and the profiles.yml it came from:
    /// `profiles.yml` in the project, then `~/.dbt/profiles.yml` (dbt's own order, less
    /// `DBT_PROFILES_DIR`, which comes first when set).
    pub fn profile_adapter(&self) -> Option<(String, PathBuf)> {
        let name = self.profile.as_ref()?;
        let mut dirs = Vec::new();
        if let Some(dir) = std::env::var_os("DBT_PROFILES_DIR") {
            dirs.push(PathBuf::from(dir));
        }
        dirs.push(self.root.clone());
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(PathBuf::from(home).join(".dbt"));
        }
        for dir in dirs {
            let file = dir.join("profiles.yml");
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let Ok(mut profiles) = serde_saphyr::from_str::<BTreeMap<String, RawProfile>>(&text) else { continue };
            let Some(profile) = profiles.remove(name) else { continue };
            let target = profile.target.clone().unwrap_or_else(|| "dev".to_string());
            let adapter = profile.outputs.get(&target).and_then(|o| o.adapter.clone());
            return adapter.map(|a| (a, file));
        }
        None
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
                return Err(Diagnostic::new(format!("no spec: {} holds no *.yml file", spec.display())).into());
            }
            Ok(files)
        } else if spec.is_file() {
            Ok(vec![spec.to_path_buf()])
        } else {
            Err(Diagnostic::new(format!("no spec: {} does not exist", spec.display())).into())
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
        return Err(Diagnostic::new(format!("{} is {} bytes; dbt-incr reads files up to {MAX_SPEC_BYTES} bytes", path.display(), meta.len())).into());
    }
    let bytes = std::fs::read(path).map_err(Error::io(path, "read"))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Error::from(Diagnostic {
            message: "the file is not valid UTF-8".into(),
            location: Some(crate::error::Location { file: path.to_path_buf(), line, column }),
            key: None,
            hint: Some("save it as UTF-8".into()),
            source_line: None,
        })
    })
}
