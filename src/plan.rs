//! Specs + project -> every file the project should hold, in memory. Nothing here touches the
//! disk but to read the project and its specs; `crate::workspace` compares a plan with the disk
//! and writes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error};
use crate::project::{Project, read_text};
use crate::render::properties::Description;
use crate::render::{Renderer, header, macros, properties, runbook};
use crate::spec::{self, DialectChoice, Model, SpecSource};

/// What to plan: which project, which specs, which dialect.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub project_dir: PathBuf,
    /// `--spec`: a file or a directory of specs; default `incremental.yml` in the project.
    pub spec: Option<PathBuf>,
    /// `--dialect`.
    pub dialect: Option<String>,
    /// Whether `--dialect` wins over a spec's `dialect:` (for offline compiles).
    pub dialect_overrides_spec: bool,
    /// `--profiles-dir`.
    pub profiles_dir: Option<PathBuf>,
    /// `--target`.
    pub target: Option<String>,
}

/// One file to write, its path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Everything a project should hold, as text.
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
    let project = Project::load(&request.project_dir)?.with_profile(request.profiles_dir.as_deref(), request.target.as_deref())?;
    let spec_files = project.spec_files(request.spec.as_deref())?;
    let choice = DialectChoice { cli: request.dialect.clone(), cli_overrides_spec: request.dialect_overrides_spec, profile: project.profile_adapter()? };

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
    // One macro package per project: its specs agree on the keyword case.
    let cases: BTreeMap<&str, &Path> = specs.iter().map(|s| (s.keyword_case.name(), s.path.as_path())).collect();
    let case = specs.first().map(|s| s.keyword_case).unwrap_or_default();
    if cases.len() > 1 {
        let listed: Vec<String> = cases.iter().map(|(c, p)| format!("{c} in {}", p.display())).collect();
        diags.push(Diagnostic::new(format!("the specs disagree on keyword_case ({})", listed.join(", "))).key("keyword_case").hint("the macro package is shared by every model of the project: set the same keyword_case in every spec"));
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
        files.push(GeneratedFile { path, contents: macros::with_header_in(source, case) });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan { project, models, files, specs: spec_paths })
}

/// Each model's files (its model, its properties file and its runbook), in spec order, each stamped with its
/// content hash. Rendering is most of a plan's time and models are independent, so they are
/// rendered on every core, in contiguous slices whose results are joined in order.
fn render_models(project: &Project, entries: &[(String, Model)]) -> Result<Vec<GeneratedFile>, Error> {
    let renderer = Renderer::new();
    let render_slice = |slice: &[(String, Model)]| -> Result<Vec<GeneratedFile>, Error> {
        let mut files = Vec::with_capacity(slice.len() * 3);
        for (spec_path, model) in slice {
            let mut path = PathBuf::from(&project.model_path);
            path.extend(&model.path);
            path.push(format!("{}.sql", model.name));
            // Every file gets its content hash, whoever rendered it (stamping is idempotent).
            // The runbook is a docs block beside the model, unless `docs-paths` leave its folder out.
            let description = if project.reads_docs_in(path.parent().unwrap_or(Path::new(""))) {
                files.push(GeneratedFile { path: path.with_extension("md"), contents: header::stamp(&runbook::render(model, spec_path)) });
                Description::DocsBlock
            } else {
                Description::Inline
            };
            let properties = header::stamp(&properties::render(model, spec_path, description));
            files.push(GeneratedFile { path: path.with_extension("yml"), contents: properties });
            let contents = header::stamp(&renderer.model(model, spec_path)?);
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
    let mut files = Vec::with_capacity(entries.len() * 3);
    for part in parts {
        files.extend(part?);
    }
    Ok(files)
}
