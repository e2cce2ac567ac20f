//! Plans every file a project should hold, in memory, then writes them atomically.
//!
//! Nothing touches the disk until every spec has validated and every file has rendered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::check::{self, Status};
use crate::error::{Diagnostic, Error};
use crate::macros;
use crate::ownership;
use crate::project::{Project, read_text};
use crate::render::{MARKER, Renderer};
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
    /// The spec files read, as shown in headers (relative to the project when inside it).
    pub specs: Vec<PathBuf>,
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
    // Spec texts by shown path, to point at both definitions of a model defined twice.
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
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
            Ok(s) => {
                texts.insert(shown.clone(), text);
                specs.push(s)
            }
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
                        .at(&s.path, &texts[&s.path], m.line, m.column)
                        .key("name")
                        .hint(format!("it is also defined at {}:{line}; model names become file and table names, so they are unique across specs", first.display())),
                );
            } else {
                owner.insert(m.name.clone(), (s.path.clone(), m.line));
            }
        }
    }
    if !diags.is_empty() {
        return Err(Error::Invalid(diags));
    }

    let spec_paths: Vec<PathBuf> = specs.iter().map(|s| s.path.clone()).collect();
    let mut entries: Vec<(String, Model)> = Vec::new();
    for s in specs {
        let spec_path = s.path.to_string_lossy().replace('\\', "/");
        entries.extend(s.models.into_iter().map(|model| (spec_path.clone(), model)));
    }
    let mut files = render_models(&project, &entries)?;
    let models: Vec<Model> = entries.into_iter().map(|(_, model)| model).collect();
    for (name, source) in macros::FILES {
        let path = Path::new(&project.macro_path).join(macros::PACKAGE_DIR).join(name);
        files.push(GeneratedFile { path, contents: ownership::stamp(&macros::with_header(source)) });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan { project, models, files, specs: spec_paths })
}

/// Each model's files (its model and its properties file), in spec order, each stamped with its
/// content hash. Rendering is most of a plan's time and models are independent, so they are
/// rendered on every core, in contiguous slices whose results are joined in order.
fn render_models(project: &Project, entries: &[(String, Model)]) -> Result<Vec<GeneratedFile>, Error> {
    let renderer = Renderer::new();
    let render_slice = |slice: &[(String, Model)]| -> Result<Vec<GeneratedFile>, Error> {
        let mut files = Vec::with_capacity(slice.len() * 2);
        for (spec_path, model) in slice {
            let mut path = PathBuf::from(&project.model_path);
            path.extend(&model.path);
            path.push(format!("{}.sql", model.name));
            // Every file gets its content hash, whoever rendered it (stamping is idempotent).
            let properties = ownership::stamp(&crate::properties::render(model, spec_path));
            files.push(GeneratedFile { path: path.with_extension("yml"), contents: properties });
            let contents = ownership::stamp(&renderer.model(model, spec_path)?);
            files.push(GeneratedFile { path, contents });
        }
        Ok(files)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    // Small plans stay on one thread: spawning costs more than rendering a few hundred models.
    let slice_len = entries.len().div_ceil(threads).max(500);
    if entries.len() <= slice_len {
        return render_slice(entries);
    }
    let parts: Vec<Result<Vec<GeneratedFile>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = entries.chunks(slice_len).map(|slice| scope.spawn(move || render_slice(slice))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut files = Vec::with_capacity(entries.len() * 2);
    for part in parts {
        files.extend(part?);
    }
    Ok(files)
}

/// What a write changed.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    /// Generated earlier, produced by no spec now, and left in place (no `prune`).
    pub orphans: Vec<PathBuf>,
    /// Orphans deleted (`prune`).
    pub removed: Vec<PathBuf>,
}

/// How far `write` may go with files already on disk. The default overwrites only files
/// dbt-incr wrote and nobody edited since, and deletes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Overwrite (or, with `prune`, delete) generated files edited by hand. Never files dbt-incr
    /// did not write.
    pub force: bool,
    /// Delete orphans: generated files no spec produces any more.
    pub prune: bool,
}

/// Writes every planned file that differs from the disk, each atomically (temporary file in the
/// same folder, then rename). Unchanged files are left alone, so their mtimes stay put. Safe
/// defaults: see [`write_with`] and [`WriteOptions`].
pub fn write(plan: &Plan) -> Result<WriteReport, Error> {
    write_with(plan, WriteOptions::default())
}

/// [`write`], refusing (exit 2, nothing written) to overwrite a file dbt-incr did not write, or
/// one edited by hand since it was generated unless `options.force`; orphans are reported, and
/// deleted when `options.prune`.
pub fn write_with(plan: &Plan, options: WriteOptions) -> Result<WriteReport, Error> {
    let root = &plan.project.root;
    // Check every destination before writing any, so a bad one leaves the project untouched.
    let mut inside = Inside::new(root)?;
    for file in &plan.files {
        inside.ensure(&file.path)?;
    }
    let comparison = check::compare(plan)?;
    let mut refused = Vec::new();
    for f in &comparison.findings {
        let shown = f.path.display();
        match f.status {
            Status::Foreign => refused.push(
                Diagnostic::new(format!("refusing to overwrite {shown}: dbt-incr did not write it (no `{MARKER}` in its first lines)"))
                    .in_file(&f.path)
                    .hint("move or rename that file, or change the model's name or `path` in the spec; --force never overwrites files dbt-incr did not write"),
            ),
            Status::HandEdited if !options.force => refused.push(
                Diagnostic::new(format!("refusing to overwrite {shown}: it was edited by hand since dbt-incr generated it"))
                    .in_file(&f.path)
                    .hint("move the change into the spec (`dbt-incr diff` shows it), or rerun with --force to overwrite it"),
            ),
            Status::Orphaned if options.prune && f.hand_edited && !options.force => refused.push(
                Diagnostic::new(format!("refusing to delete {shown}: no spec produces it any more, but it was edited by hand since dbt-incr generated it"))
                    .in_file(&f.path)
                    .hint("keep it by removing its `Generated by dbt-incr` header, or rerun with --prune --force to delete it"),
            ),
            _ => {}
        }
    }
    if !refused.is_empty() {
        return Err(Error::Invalid(refused));
    }

    let mut report = WriteReport { unchanged: comparison.unchanged, ..WriteReport::default() };
    // Folders made (or found) this run: one create_dir_all per folder, not per file.
    let mut created: HashSet<PathBuf> = HashSet::new();
    for f in comparison.findings {
        match (f.status, f.new) {
            (Status::Orphaned, _) if options.prune => {
                let path = root.join(&f.path);
                std::fs::remove_file(&path).map_err(Error::io(&path, "delete"))?;
                report.removed.push(f.path);
            }
            (Status::Orphaned, _) => report.orphans.push(f.path),
            (_, Some(contents)) => {
                let dest = root.join(&f.path);
                let dir = dest.parent().expect("files live in a folder");
                if !created.contains(dir) {
                    std::fs::create_dir_all(dir).map_err(Error::io(dir, "create folder"))?;
                    created.insert(dir.to_path_buf());
                }
                write_atomic(&dest, &contents)?;
                report.written.push(f.path);
            }
            (_, None) => unreachable!("only orphans have no planned text"),
        }
    }
    Ok(report)
}

/// Writes `contents` to `dest` through a temporary file in the same folder and a rename, so an
/// interrupted run leaves either the old file or the new one, never half of one.
///
/// No fsync per file: the rename already makes each replacement all-or-nothing for readers and
/// for a crash of this process, the files can be regenerated from the spec at any time, and
/// an fsync per file cost 40 s for 10,000 models (BENCHMARKS.md) where `cp -r` takes 0.5 s.
/// The folder must exist.
fn write_atomic(dest: &Path, contents: &str) -> Result<(), Error> {
    let dir = dest.parent().expect("files live in a folder");
    let mut tmp = tempfile::Builder::new().prefix(".dbt-incr-").tempfile_in(dir).map_err(Error::io(dir, "create a temporary file in"))?;
    tmp.write_all(contents.as_bytes()).map_err(Error::io(tmp.path(), "write"))?;
    tmp.persist(dest).map_err(|e| Error::Io { path: dest.to_path_buf(), action: "replace", source: e.error })?;
    Ok(())
}

/// Refuses destinations that would land outside the project: `..`, absolute paths, an existing
/// folder on the way that is a symlink leading out, or an existing file that is one.
///
/// The project root is resolved once and each folder once (10,000 models share a handful of
/// folders); per file, only an `lstat` to see whether the file itself is a symlink.
struct Inside<'a> {
    root: &'a Path,
    canonical_root: PathBuf,
    folders: HashMap<PathBuf, bool>,
}

impl<'a> Inside<'a> {
    fn new(root: &'a Path) -> Result<Inside<'a>, Error> {
        let canonical_root = std::fs::canonicalize(root).map_err(Error::io(root, "resolve"))?;
        Ok(Inside { root, canonical_root, folders: HashMap::new() })
    }

    /// Whether `path` (absolute), or its nearest existing ancestor, resolves inside the root.
    fn resolves_inside(&self, path: &Path) -> bool {
        let mut existing = path.to_path_buf();
        while !existing.exists() {
            if !existing.pop() {
                break;
            }
        }
        let resolved = std::fs::canonicalize(&existing).unwrap_or(existing);
        resolved.starts_with(&self.canonical_root)
    }

    fn ensure(&mut self, relative: &Path) -> Result<(), Error> {
        let escapes = relative.components().any(|c| !matches!(c, Component::Normal(_)));
        let dest = self.root.join(relative);
        let ok = !escapes && {
            let folder = relative.parent().unwrap_or(Path::new(""));
            let folder_ok = match self.folders.get(folder) {
                Some(ok) => *ok,
                None => {
                    let ok = self.resolves_inside(&self.root.join(folder));
                    self.folders.insert(folder.to_path_buf(), ok);
                    ok
                }
            };
            let is_symlink = std::fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink());
            folder_ok && (!is_symlink || self.resolves_inside(&dest))
        };
        if !ok {
            return Err(Diagnostic::new(format!("refusing to write {}: it would land outside the project {}", relative.display(), self.root.display()))
                .hint("check `path` in the spec and symlinks under the model and macro folders")
                .into());
        }
        Ok(())
    }
}
