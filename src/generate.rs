//! Plans every file a project should hold, in memory, then writes them atomically.
//!
//! Nothing touches the disk until every spec has validated and every file has rendered.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::{Diagnostic, Error};
use crate::macros;
use crate::project::{Project, read_text};
use crate::render::Renderer;
use crate::spec::{self, DialectChoice, Model, SpecSource};

/// What `generate` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub project_dir: PathBuf,
    /// `--spec`: a file or a directory of specs; default `incremental.yml` in the project.
    pub spec: Option<PathBuf>,
    /// `--dialect`.
    pub dialect: Option<String>,
    /// Whether `--dialect` wins over a spec's `dialect:` (for offline compiles).
    pub dialect_overrides_spec: bool,
}

/// One file to write, its path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Everything a generate run would produce.
#[derive(Debug)]
pub struct Plan {
    pub project: Project,
    pub models: Vec<Model>,
    /// Sorted by path.
    pub files: Vec<GeneratedFile>,
}

impl Plan {
    /// A model and its generated file.
    pub fn model_file(&self, name: &str) -> Option<(&Model, &GeneratedFile)> {
        let model = self.models.iter().find(|m| m.name == name)?;
        let file = self.files.iter().find(|f| f.path == self.model_path(model))?;
        Some((model, file))
    }

    /// Where `model`'s file goes, relative to the project root.
    pub fn model_path(&self, model: &Model) -> PathBuf {
        let mut path = PathBuf::from(&self.project.model_path);
        path.extend(&model.path);
        path.push(format!("{}.sql", model.name));
        path
    }
}

/// Reads and validates every spec, then renders every file, without writing anything.
pub fn plan(request: &Request) -> Result<Plan, Error> {
    let project = Project::load(&request.project_dir)?;
    let spec_files = project.spec_files(request.spec.as_deref())?;
    let choice = DialectChoice { cli: request.dialect.clone(), cli_overrides_spec: request.dialect_overrides_spec, profile: project.profile_adapter() };

    let mut diags = Vec::new();
    let mut specs = Vec::new();
    for file in &spec_files {
        let shown = project.display_path(file);
        let text = match read_text(file) {
            Ok(t) => t,
            Err(Error::Invalid(d)) => {
                diags.extend(d);
                continue;
            }
            Err(e) => return Err(e),
        };
        match spec::parse(SpecSource { path: &shown, text: &text }, &choice) {
            Ok(s) => specs.push(s),
            Err(Error::Invalid(d)) => diags.extend(d),
            Err(e) => return Err(e),
        }
    }

    // Model names are unique across spec files: they become file and table names.
    let mut owner: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for s in &specs {
        for m in &s.models {
            if let Some((first, line)) = owner.get(&m.name) {
                diags.push(
                    Diagnostic::new(format!("model `{}` is defined in two specs", m.name))
                        .in_file(&s.path)
                        .key("name")
                        .hint(format!("it is also defined at {}:{line}", first.display())),
                );
            } else {
                owner.insert(m.name.clone(), (s.path.clone(), m.line));
            }
        }
    }
    if !diags.is_empty() {
        return Err(Error::Invalid(diags));
    }

    let renderer = Renderer::new();
    let mut files = Vec::new();
    let mut models = Vec::new();
    for s in specs {
        let spec_path = s.path.to_string_lossy().replace('\\', "/");
        for model in s.models {
            let mut path = PathBuf::from(&project.model_path);
            path.extend(&model.path);
            path.push(format!("{}.sql", model.name));
            files.push(GeneratedFile { path: path.with_extension("yml"), contents: crate::properties::render(&model, &spec_path) });
            files.push(GeneratedFile { path, contents: renderer.model(&model, &spec_path)? });
            models.push(model);
        }
    }
    for (name, source) in macros::FILES {
        let path = Path::new(&project.macro_path).join(macros::PACKAGE_DIR).join(name);
        files.push(GeneratedFile { path, contents: macros::with_header(source) });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan { project, models, files })
}

/// What a write changed.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
}

/// Writes every planned file that differs from the disk, each atomically (temporary file in the
/// same folder, then rename). Unchanged files are left alone, so their mtimes stay put.
///
/// No fsync per file: the rename already makes each replacement all-or-nothing for readers and
/// for a crash of this process, the files can be regenerated from the spec at any time, and
/// an fsync per file cost 40 s for 10,000 models (BENCHMARKS.md) where `cp -r` takes 0.5 s.
pub fn write(plan: &Plan) -> Result<WriteReport, Error> {
    let root = &plan.project.root;
    // Check every destination before writing any, so a bad one leaves the project untouched.
    for file in &plan.files {
        ensure_inside(root, &file.path)?;
    }
    let mut report = WriteReport::default();
    for file in &plan.files {
        let dest = root.join(&file.path);
        if std::fs::read(&dest).is_ok_and(|old| old == file.contents.as_bytes()) {
            report.unchanged.push(file.path.clone());
            continue;
        }
        let dir = dest.parent().expect("files live in a folder");
        std::fs::create_dir_all(dir).map_err(Error::io(dir, "create folder"))?;
        let mut tmp = tempfile::Builder::new().prefix(".dbt-incr-").tempfile_in(dir).map_err(Error::io(dir, "create a temporary file in"))?;
        tmp.write_all(file.contents.as_bytes()).map_err(Error::io(tmp.path(), "write"))?;
        tmp.persist(&dest).map_err(|e| Error::Io { path: dest.clone(), action: "replace", source: e.error })?;
        report.written.push(file.path.clone());
    }
    Ok(report)
}

/// Refuses a destination that would land outside the project: `..`, absolute paths, or an
/// existing folder on the way that is a symlink leading out.
fn ensure_inside(root: &Path, relative: &Path) -> Result<(), Error> {
    let escapes = relative.components().any(|c| !matches!(c, Component::Normal(_)));
    let canonical_root = std::fs::canonicalize(root).map_err(Error::io(root, "resolve"))?;
    let mut existing = root.join(relative);
    while !existing.exists() {
        if !existing.pop() {
            break;
        }
    }
    let resolved = std::fs::canonicalize(&existing).unwrap_or_else(|_| existing.clone());
    if escapes || !resolved.starts_with(&canonical_root) {
        return Err(Diagnostic::new(format!("refusing to write {}: it would land outside the project {}", relative.display(), root.display()))
            .hint("check `path` in the spec and symlinks under the model and macro folders")
            .into());
    }
    Ok(())
}
