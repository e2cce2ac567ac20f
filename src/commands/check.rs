//! `dbt-incr check` and `dbt-incr diff`: what `generate` would change on disk, as status lines
//! and unified diffs (text, JSON or GitHub annotations). `check` fails when anything would change.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use super::PlanArgs;
use crate::report::{Format, colorize, gh_data, gh_property, shown};
use crate::workspace::{Comparison, Status};

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

/// Which of the two commands runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Exit 1 when anything would change.
    Check,
    /// The same diff, exit 0.
    Diff,
}

/// Runs `check` or `diff`: 0 clean (or `diff`), 1 `check` found changes, 2 error.
pub fn run(command: Command, args: &PlanArgs) -> ExitCode {
    let verb = match command {
        Command::Check => "check",
        Command::Diff => "diff",
    };
    let (_plan, comparison) = match super::plan_and_compare(args) {
        Ok(ok) => ok,
        Err(e) => return super::print_error(&e, args.format),
    };
    let out = match args.format {
        Format::Text => text_report(&comparison, args.color.enabled(), verb),
        Format::Json => json_report(&comparison),
        Format::Github => github_report(&comparison, verb),
    };
    print!("{out}");
    if command == Command::Check && !comparison.is_clean() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
