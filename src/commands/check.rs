//! `dbt-incr check` and `dbt-incr diff`: what `generate` would change on disk, as status lines
//! and unified diffs (text, JSON or GitHub annotations). `check` fails when anything would change.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use super::PlanArgs;
use crate::backfill::request::{Checked, Problem, check_pending};
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
    /// Pending backfill requests and their problems (left out when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    backfills: Vec<JsonRequest<'a>>,
}

#[derive(Serialize)]
struct JsonRequest<'a> {
    path: String,
    problems: &'a [Problem],
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

/// One JSON document: `{"status": "clean"|"changed", "files": [...], "unchanged": N}` (status is
/// the files'), and `"backfills": [{"path", "problems"}]` when there are pending requests.
pub fn json_report(comparison: &Comparison, requests: &[Checked]) -> String {
    let report = JsonReport {
        status: if comparison.is_clean() { "clean" } else { "changed" },
        backfills: requests.iter().map(|r| JsonRequest { path: shown(&r.path), problems: &r.problems }).collect(),
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
    let (plan, comparison) = match super::plan_and_compare(args) {
        Ok(ok) => ok,
        Err(e) => return super::print_error(&e, args.format),
    };
    // `check` also validates the pending backfill requests (backfills/*.yml).
    let requests = match command {
        Command::Check => match check_pending(&plan) {
            Ok(r) => r,
            Err(e) => return super::print_error(&e, args.format),
        },
        Command::Diff => Vec::new(),
    };
    let out = match args.format {
        Format::Text => text_report(&comparison, args.color.enabled(), verb) + &requests_text(&requests),
        Format::Json => json_report(&comparison, &requests),
        Format::Github => github_report(&comparison, verb) + &requests_github(&requests),
    };
    print!("{out}");
    let bad_requests = requests.iter().any(|r| !r.problems.is_empty());
    if command == Command::Check && (!comparison.is_clean() || bad_requests) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Each pending request's problems, then a summary line (nothing without requests).
pub fn requests_text(requests: &[Checked]) -> String {
    let mut out = String::new();
    if requests.is_empty() {
        return out;
    }
    for r in requests {
        for p in &r.problems {
            let _ = writeln!(out, "{}: backfill request: {}", shown(&r.path), p.message);
            if let Some(h) = &p.hint {
                let _ = writeln!(out, "  hint: {h}");
            }
        }
    }
    let bad = requests.iter().filter(|r| !r.problems.is_empty()).count();
    let _ = writeln!(out, "dbt-incr check: {} pending backfill request(s), {}", requests.len(), if bad == 0 { "all valid".to_string() } else { format!("{bad} with problems") });
    out
}

/// One `::error` annotation per problem of a pending request.
pub fn requests_github(requests: &[Checked]) -> String {
    let mut out = String::new();
    for r in requests {
        for p in &r.problems {
            let body = match &p.hint {
                Some(h) => format!("{}\nhint: {h}", p.message),
                None => p.message.clone(),
            };
            let _ = writeln!(out, "::error file={},line=1,title={}::{}", gh_property(&shown(&r.path)), gh_property("dbt-incr check: backfill request"), gh_data(&body));
        }
    }
    out
}
