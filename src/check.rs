//! Compares what `generate` would write with what is on disk: the engine of `generate`'s
//! safety checks and of `dbt-incr check` and `dbt-incr diff`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use similar::TextDiff;

use crate::error::{Diagnostic, Error};
use crate::generate::Plan;
use crate::macros;
use crate::ownership::{self, Ownership};

/// How a file on disk differs from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Planned, not on disk.
    Missing,
    /// Planned, on disk with other content (written by dbt-incr).
    Changed,
    /// Planned, on disk with other content, and edited by hand since dbt-incr wrote it.
    HandEdited,
    /// Planned, but a file dbt-incr did not write is in the way.
    Foreign,
    /// Written by dbt-incr, but no spec produces it any more.
    Orphaned,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Missing => "missing",
            Status::Changed => "changed",
            Status::HandEdited => "hand-edited",
            Status::Foreign => "foreign",
            Status::Orphaned => "orphaned",
        }
    }

    /// What the status means, and what `generate` does about it.
    pub fn explain(self) -> &'static str {
        match self {
            Status::Missing => "not generated yet; `dbt-incr generate` writes it",
            Status::Changed => "out of date; `dbt-incr generate` rewrites it",
            Status::HandEdited => "edited by hand since it was generated; `dbt-incr generate` refuses to overwrite it without --force",
            Status::Foreign => "not written by dbt-incr; `dbt-incr generate` refuses to overwrite it (move it away or rename the model)",
            Status::Orphaned => "generated earlier, but no spec produces it any more; `dbt-incr generate --prune` removes it",
        }
    }
}

/// One file that differs.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Relative to the project root.
    pub path: PathBuf,
    pub status: Status,
    /// For an orphan: whether it was also edited by hand.
    pub hand_edited: bool,
    /// The disk's text (`None` when missing).
    pub old: Option<String>,
    /// The planned text (`None` for an orphan).
    pub new: Option<String>,
}

impl Finding {
    /// `git diff`-style unified diff, `/dev/null` for the absent side.
    pub fn diff(&self) -> String {
        let shown = self.path.to_string_lossy().replace('\\', "/");
        let (a, b) = (format!("a/{shown}"), format!("b/{shown}"));
        let old = self.old.as_deref().unwrap_or("");
        let new = self.new.as_deref().unwrap_or("");
        let a = if self.old.is_some() { a.as_str() } else { "/dev/null" };
        let b = if self.new.is_some() { b.as_str() } else { "/dev/null" };
        let diff = TextDiff::from_lines(old, new);
        let mut out = diff.unified_diff().context_radius(3).header(a, b).to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// Everything that differs between a plan and the disk.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Sorted by path.
    pub findings: Vec<Finding>,
    /// Planned files identical on disk.
    pub unchanged: Vec<PathBuf>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }

    /// "2 changed, 1 orphaned".
    pub fn tally(&self) -> String {
        let parts: Vec<String> = [Status::Missing, Status::Changed, Status::HandEdited, Status::Foreign, Status::Orphaned]
            .into_iter()
            .filter(|s| self.count(*s) > 0)
            .map(|s| format!("{} {}", self.count(s), s.name()))
            .collect();
        parts.join(", ")
    }
}

/// Reads every planned file, and every file dbt-incr generated earlier under the model folder
/// and the macro package folder, and says what differs.
///
/// A generated file no planned file matches is an orphan unless its header names a spec file
/// that still exists and was not read this time (it belongs to another `--spec` run).
pub fn compare(plan: &Plan) -> Result<Comparison, Error> {
    let root = &plan.project.root;
    let mut comparison = Comparison::default();
    for file in &plan.files {
        let path = root.join(&file.path);
        let old = match read_lossy(&path)? {
            None => {
                comparison.findings.push(Finding { path: file.path.clone(), status: Status::Missing, hand_edited: false, old: None, new: Some(file.contents.clone()) });
                continue;
            }
            Some(old) => old,
        };
        if ownership::same_text(&old, &file.contents) {
            comparison.unchanged.push(file.path.clone());
            continue;
        }
        let status = match Ownership::of(&old) {
            Ownership::Foreign => Status::Foreign,
            Ownership::HandEdited => Status::HandEdited,
            Ownership::Pristine | Ownership::Unhashed => Status::Changed,
        };
        comparison.findings.push(Finding { path: file.path.clone(), status, hand_edited: status == Status::HandEdited, old: Some(old), new: Some(file.contents.clone()) });
    }

    let planned: BTreeSet<&Path> = plan.files.iter().map(|f| f.path.as_path()).collect();
    let read_now: BTreeSet<String> = plan.specs.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect();
    let dirs = [PathBuf::from(&plan.project.model_path), Path::new(&plan.project.macro_path).join(macros::PACKAGE_DIR)];
    // Planned files were read above: the walk does not open them again.
    for path in ownership::marked_files(root, &dirs, |p| planned.contains(p)) {
        if planned.contains(path.as_path()) {
            continue;
        }
        let Some(old) = read_lossy(&root.join(&path))? else { continue };
        if let Some((spec, _)) = ownership::origin(&old)
            && !read_now.contains(&spec)
            && (root.join(&spec).is_file() || Path::new(&spec).is_file())
        {
            continue;
        }
        let hand_edited = Ownership::of(&old) == Ownership::HandEdited;
        comparison.findings.push(Finding { path, status: Status::Orphaned, hand_edited, old: Some(old), new: None });
    }
    comparison.findings.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(comparison)
}

/// A file's text (`None` when absent); invalid UTF-8 is read lossily, so it compares as different.
fn read_lossy(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if path.is_dir() => Err(Diagnostic::new(format!("{} is a folder where dbt-incr writes a file", path.display())).hint(e.to_string()).into()),
        Err(e) => Err(Error::Io { path: path.to_path_buf(), action: "read", source: e }),
    }
}

// ---------------------------------------------------------------------------------------------
// Output of `check` and `diff`.

/// How `check`, `diff` and `plan` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Status lines, unified diffs and a summary.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::…`), diffs in collapsed groups.
    Github,
}

/// ANSI colours for diffs: on a terminal unless `NO_COLOR`, or forced either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// Colours a unified diff: headers bold, hunks cyan, removals red, additions green.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, newline) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let code = if body.starts_with("---") || body.starts_with("+++") {
            "1"
        } else if body.starts_with("@@") {
            "36"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with('+') {
            "32"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let _ = write!(out, "\x1b[{code}m{body}\x1b[0m{newline}");
        }
    }
    out
}

/// The text report: each finding's status line and diff, then the summary line.
pub fn text_report(comparison: &Comparison, color: bool, verb: &str) -> String {
    let mut out = String::new();
    for f in &comparison.findings {
        let edited = if f.status == Status::Orphaned && f.hand_edited { " (and edited by hand)" } else { "" };
        let _ = writeln!(out, "{}: {}{edited}: {}", shown(&f.path), f.status.name(), f.status.explain());
        let diff = f.diff();
        out.push_str(&if color { colorize(&diff) } else { diff });
    }
    let _ = writeln!(out, "{}", summary_line(comparison, verb));
    out
}

/// "dbt-incr check: 9 file(s) up to date", or what would change and the command that does it.
pub fn summary_line(comparison: &Comparison, verb: &str) -> String {
    if comparison.is_clean() {
        return format!("dbt-incr {verb}: {} file(s) up to date", comparison.unchanged.len());
    }
    let prune = if comparison.count(Status::Orphaned) > 0 { " --prune" } else { "" };
    format!(
        "dbt-incr {verb}: {} file(s) would change ({}), {} up to date; run `dbt-incr generate{prune}`",
        comparison.findings.len(),
        comparison.tally(),
        comparison.unchanged.len()
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    status: &'static str,
    files: Vec<JsonFile<'a>>,
    unchanged: usize,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: String,
    status: Status,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    hand_edited: bool,
    explanation: &'a str,
    diff: String,
}

/// One JSON document: `{"status": "clean"|"changed", "files": [...], "unchanged": N}`.
pub fn json_report(comparison: &Comparison) -> String {
    let report = JsonReport {
        status: if comparison.is_clean() { "clean" } else { "changed" },
        files: comparison
            .findings
            .iter()
            .map(|f| JsonFile { path: shown(&f.path), status: f.status, hand_edited: f.hand_edited, explanation: f.status.explain(), diff: f.diff() })
            .collect(),
        unchanged: comparison.unchanged.len(),
    };
    let mut out = serde_json::to_string_pretty(&report).expect("plain data serializes");
    out.push('\n');
    out
}

/// GitHub Actions annotations (one `::error` per file, on its first line), each diff in a
/// collapsed group, then the summary as a notice (clean) or an error.
pub fn github_report(comparison: &Comparison, verb: &str) -> String {
    let mut out = String::new();
    for f in &comparison.findings {
        let _ = writeln!(
            out,
            "::error file={},line=1,title={}::{}",
            gh_property(&shown(&f.path)),
            gh_property(&format!("dbt-incr {verb}: {}", f.status.name())),
            gh_data(&format!("{} is {}: {}", shown(&f.path), f.status.name(), f.status.explain()))
        );
        let _ = writeln!(out, "::group::diff {}", gh_data(&shown(&f.path)));
        out.push_str(&f.diff());
        out.push_str("::endgroup::\n");
    }
    let level = if comparison.is_clean() { "notice" } else { "error" };
    let _ = writeln!(out, "::{level} title=dbt-incr {verb}::{}", gh_data(&summary_line(comparison, verb)));
    out
}

/// Errors as GitHub annotations, on the file and line they point at.
pub fn github_errors(error: &Error) -> String {
    let mut out = String::new();
    match error {
        Error::Invalid(diags) => {
            for d in diags {
                let mut props = Vec::new();
                if let Some(loc) = &d.location {
                    props.push(format!("file={}", gh_property(&loc.file.to_string_lossy())));
                    if loc.line > 0 {
                        props.push(format!("line={}", loc.line));
                        props.push(format!("col={}", loc.column.max(1)));
                    }
                }
                props.push("title=dbt-incr".to_string());
                let hint = d.hint.as_deref().map(|h| format!("\nhint: {h}")).unwrap_or_default();
                let _ = writeln!(out, "::error {}::{}", props.join(","), gh_data(&format!("{}{hint}", d.message)));
            }
        }
        other => {
            let _ = writeln!(out, "::error title=dbt-incr::{}", gh_data(other.to_string().trim_end()));
        }
    }
    out
}

#[derive(Serialize)]
struct JsonError {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

/// Errors as one JSON document: `{"status": "error", "errors": [...]}`.
pub fn json_errors(error: &Error) -> String {
    let errors: Vec<JsonError> = match error {
        Error::Invalid(diags) => diags
            .iter()
            .map(|d| JsonError {
                message: d.message.clone(),
                file: d.location.as_ref().map(|l| l.file.to_string_lossy().replace('\\', "/")),
                line: d.location.as_ref().map(|l| l.line).filter(|l| *l > 0),
                column: d.location.as_ref().map(|l| l.column).filter(|c| *c > 0),
                key: d.key.clone(),
                hint: d.hint.clone(),
            })
            .collect(),
        other => vec![JsonError {
            message: other.to_string().trim_end().trim_start_matches("error: ").to_string(),
            file: None,
            line: None,
            column: None,
            key: None,
            hint: None,
        }],
    };
    let mut out = serde_json::to_string_pretty(&serde_json::json!({ "status": "error", "errors": errors })).expect("plain data serializes");
    out.push('\n');
    out
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Escapes the message of a workflow command.
fn gh_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
fn gh_property(text: &str) -> String {
    gh_data(text).replace(':', "%3A").replace(',', "%2C")
}

// ---------------------------------------------------------------------------------------------
// The `check`, `diff` and `plan` commands.

/// Which of the three read-only commands runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Exit 1 when anything would change.
    Check,
    /// The same diff, exit 0.
    Diff,
    /// The review summary, exit 0.
    Plan,
}

/// Arguments shared by `check`, `diff` and `plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The dbt project (folder holding dbt_project.yml).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// A spec file, or a folder of *.yml specs [default: incremental.yml in the project].
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Warehouse dialect, when the spec has no `dialect:` [default: the profile's adapter].
    #[arg(long, value_name = "NAME")]
    pub dialect: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Colour diffs [default: auto, on a terminal unless NO_COLOR is set].
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Runs `check`, `diff` or `plan`: 0 clean (or `diff`/`plan`), 1 `check` found changes, 2 error.
pub fn run(command: Command, args: &Args) -> std::process::ExitCode {
    use std::process::ExitCode;
    let request = crate::generate::Request { project_dir: args.project.clone(), spec: args.spec.clone(), dialect: args.dialect.clone(), dialect_overrides_spec: false };
    let outcome = crate::generate::plan(&request).and_then(|plan| compare(&plan).map(|c| (plan, c)));
    let (plan, comparison) = match outcome {
        Ok(ok) => ok,
        Err(e) => {
            match args.format {
                Format::Text => eprint!("{e}"),
                Format::Json => print!("{}", json_errors(&e)),
                Format::Github => print!("{}", github_errors(&e)),
            }
            return ExitCode::from(2);
        }
    };
    let verb = match command {
        Command::Check => "check",
        Command::Diff => "diff",
        Command::Plan => "plan",
    };
    let out = match (command, args.format) {
        (Command::Plan, Format::Json) => crate::review::json(&crate::review::review(&plan, &comparison)),
        (Command::Plan, _) => crate::review::text(&crate::review::review(&plan, &comparison)),
        (_, Format::Text) => text_report(&comparison, args.color.enabled(), verb),
        (_, Format::Json) => json_report(&comparison),
        (_, Format::Github) => github_report(&comparison, verb),
    };
    print!("{out}");
    if command == Command::Check && !comparison.is_clean() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
