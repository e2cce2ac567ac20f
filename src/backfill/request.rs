//! Backfill requests: small YAML files under `backfills/` that go through a pull request like any
//! change (`dbt-incr backfill new` writes one), are validated by `dbt-incr check` while pending,
//! and record every run (`dbt-incr backfill run`).
//!
//! ```yaml
//! version: 1
//! model: fct_events
//! start: "2024-01-03"
//! end: "2024-01-05"
//! reason: "the loader re-delivered Jan 3-4 with corrected amounts"
//! requested_by: "Jane Doe <jane@example.com>"
//! requested_on: "2024-11-29"
//! spec_hash: "sha256:3f9e0c1a2b4d5e6f"
//! runs:
//!   - started: "2024-11-29T10:16:05Z"
//!     …
//! ```
//!
//! `spec_hash` is the hash of the model's settings (the `settings:` line of its generated file)
//! when the request was made: a request reviewed against one spec is flagged once the spec
//! changes. Recording a run rewrites the `runs:` section only ([`Request::render_over`]): the text
//! above it, comments added in review included, is kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::time::{self, Bound};
use crate::dialect::Strategy;
use crate::error::{Diagnostic, Error};
use crate::plan::Plan;
use crate::project::read_text;
use crate::render::header::settings_line;
use crate::spec::Model;
use crate::workspace::write_atomic;

/// The folder, under the project root, that holds the requests.
pub const DIR: &str = "backfills";

/// A backfill request, as its file holds it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub version: u32,
    pub model: String,
    pub start: String,
    pub end: String,
    pub reason: String,
    pub requested_by: String,
    /// The day it was requested, `YYYY-MM-DD` (UTC).
    pub requested_on: String,
    /// [`spec_hash`] of the model when it was requested.
    pub spec_hash: String,
    #[serde(default)]
    pub runs: Vec<Run>,
}

/// One run of a request, as `dbt-incr backfill run` records it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub started: String,
    pub finished: String,
    pub by: String,
    /// Whether it ran with `--again` (the request had run before).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub again: bool,
    /// The backfill's dbt command line.
    pub command: String,
    /// dbt's status for the model (`success`, `error`, `skipped`), or `error` when dbt ran nothing.
    pub result: String,
    /// dbt's message for the model (`OK`, `INSERT 0 42`, the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The adapter's row count for the model, where it reports one (`rows_affected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_affected: Option<i64>,
    /// Seconds dbt took for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The downstream build's outcome: `success (N nodes)`, `error: …`, `skipped: …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downstream: Option<String>,
    /// `dbt-incr verify`'s outcome over the window (`--verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

impl Request {
    /// Whether a run of it succeeded: a request that is done is not pending any more.
    pub fn is_done(&self) -> bool {
        self.runs.iter().any(|r| r.result == "success")
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
        let mut out = String::new();
        out.push_str("# A dbt-incr backfill request: review it in a pull request like any change, then run it with\n");
        out.push_str("#   dbt-incr backfill run <this file>\n");
        out.push_str("# `dbt-incr backfill plan` shows the dbt commands and SQL it runs; `dbt-incr check` validates it.\n");
        out.push_str(&format!("version: {}\n", self.version));
        out.push_str(&format!("model: {}\n", q(&self.model)));
        out.push_str(&format!("start: {}\n", q(&self.start)));
        out.push_str(&format!("end: {}\n", q(&self.end)));
        out.push_str(&format!("reason: {}\n", q(&self.reason)));
        out.push_str(&format!("requested_by: {}\n", q(&self.requested_by)));
        out.push_str(&format!("requested_on: {}\n", q(&self.requested_on)));
        out.push_str(&format!("spec_hash: {}\n", q(&self.spec_hash)));
        out.push_str(&self.render_runs());
        out
    }

    /// The file's text, keeping `original` (the file as it is, comments added in review
    /// included) above its `runs:` and writing the runs below; the whole file rendered anew when
    /// the original does not read back as this request with its runs replaced (a key after
    /// `runs:`, a flow-style or indented `runs`).
    pub fn render_over(&self, original: &str) -> String {
        let mut head = String::new();
        for line in original.split_inclusive('\n') {
            if line.starts_with("runs:") {
                break;
            }
            head.push_str(line);
        }
        if !head.is_empty() && !head.ends_with('\n') {
            head.push('\n');
        }
        let text = format!("{head}{}", self.render_runs());
        match serde_saphyr::from_str::<Request>(&text) {
            Ok(back) if back == *self => text,
            _ => self.render(),
        }
    }

    /// The `runs:` section (empty without runs).
    fn render_runs(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
        let mut out = String::new();
        if !self.runs.is_empty() {
            out.push_str("runs:\n");
            for r in &self.runs {
                out.push_str(&format!("  - started: {}\n", q(&r.started)));
                out.push_str(&format!("    finished: {}\n", q(&r.finished)));
                out.push_str(&format!("    by: {}\n", q(&r.by)));
                if r.again {
                    out.push_str("    again: true\n");
                }
                out.push_str(&format!("    command: {}\n", q(&r.command)));
                out.push_str(&format!("    result: {}\n", q(&r.result)));
                if let Some(m) = &r.message {
                    out.push_str(&format!("    message: {}\n", q(m)));
                }
                if let Some(n) = r.rows_affected {
                    out.push_str(&format!("    rows_affected: {n}\n"));
                }
                if let Some(s) = r.seconds {
                    out.push_str(&format!("    seconds: {s:.2}\n"));
                }
                if let Some(d) = &r.downstream {
                    out.push_str(&format!("    downstream: {}\n", q(d)));
                }
                if let Some(v) = &r.verify {
                    out.push_str(&format!("    verify: {}\n", q(v)));
                }
            }
        }
        out
    }
}

/// The hash of a model's settings (what decides the rows in its table): `sha256:` and 16 hex digits.
pub fn spec_hash(model: &Model) -> String {
    let sum = Sha256::digest(settings_line(model).as_bytes());
    let hex: String = sum.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Reads a request file.
pub fn read(path: &Path) -> Result<Request, Error> {
    let text = read_text(path)?;
    parse(path, &text)
}

/// Parses a request file's text.
pub fn parse(path: &Path, text: &str) -> Result<Request, Error> {
    serde_saphyr::from_str::<Request>(text).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((0, 0));
        let message = e.to_string().lines().next().unwrap_or("").to_string();
        let message = message.trim_start_matches("error: ");
        // serde-saphyr says where; the diagnostic shows it.
        let message = match message.split_once(": ") {
            Some((at, rest)) if at.starts_with("line ") => rest,
            _ => message,
        };
        let d = Diagnostic::new(format!("not a backfill request: {message}"));
        let d = if line > 0 { d.at(path, text, line, column) } else { d.in_file(path) };
        d.hint("a request holds version, model, start, end, reason, requested_by, requested_on, spec_hash and runs; `dbt-incr backfill new` writes one").into()
    })
}

/// The request files under the project's `backfills/`, sorted, relative to `root`.
pub fn list(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let dir = root.join(DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(Error::io(&dir, "read directory"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .filter_map(|p| p.file_name().map(|n| Path::new(DIR).join(n)))
        .collect();
    files.sort();
    Ok(files)
}

/// What is wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem { message: message.into(), hint: Some(hint.into()) }
}

/// A request to make: what `dbt-incr backfill new` was given.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub model: String,
    pub start: String,
    pub end: String,
    pub reason: String,
    pub requested_by: String,
    /// `YYYY-MM-DD`.
    pub requested_on: String,
}

/// The request for `new`, validated against the plan (an error lists every problem).
pub fn create(plan: &Plan, new: &NewRequest) -> Result<Request, Error> {
    let model = find_model(plan, &new.model)?;
    let request = Request {
        version: 1,
        model: new.model.clone(),
        start: new.start.trim().replace('T', " "),
        end: new.end.trim().replace('T', " "),
        reason: new.reason.trim().to_string(),
        requested_by: new.requested_by.trim().to_string(),
        requested_on: new.requested_on.clone(),
        spec_hash: spec_hash(model),
        runs: Vec::new(),
    };
    let problems = validate(plan, &request);
    if problems.is_empty() {
        return Ok(request);
    }
    Err(Error::Invalid(
        problems
            .into_iter()
            .map(|p| {
                let d = Diagnostic::new(p.message);
                match p.hint {
                    Some(h) => d.hint(h),
                    None => d,
                }
            })
            .collect(),
    ))
}

/// Where `request` goes: `backfills/<requested_on>-<model>.yml`, or `-2`, `-3`, … when taken.
pub fn new_path(root: &Path, request: &Request) -> PathBuf {
    let base = format!("{}-{}", request.requested_on, request.model);
    (1..)
        .map(|n| Path::new(DIR).join(if n == 1 { format!("{base}.yml") } else { format!("{base}-{n}.yml") }))
        .find(|p| !root.join(p).exists())
        .expect("some name is free")
}

/// Writes a new request under `root` (at [`new_path`]); returns its path relative to `root`.
pub fn write_new(root: &Path, request: &Request) -> Result<PathBuf, Error> {
    let path = new_path(root, request);
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir, "create"))?;
    write_atomic(&root.join(&path), &request.render())?;
    Ok(path)
}

/// A model of the plan, or an error with the spec's models.
pub fn find_model<'p>(plan: &'p Plan, name: &str) -> Result<&'p Model, Error> {
    plan.models.iter().find(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = plan.models.iter().map(|m| m.name.as_str()).collect();
        let d = Diagnostic::new(format!("no model `{name}` in the spec")).did_you_mean(name, names.iter().copied());
        let d = if d.hint.is_some() { d } else { d.hint(format!("the spec's models: {}", names.join(", "))) };
        d.into()
    })
}

/// Everything wrong with a request against the current spec: the model exists and can be
/// backfilled, both ends are set and valid, start is before end and not before the model's
/// `begin`, the window does not lie in the future, a reason is given, and the model's spec is
/// unchanged since the request (else it is flagged: the request was reviewed against another spec).
pub fn validate(plan: &Plan, request: &Request) -> Vec<Problem> {
    let mut out = Vec::new();
    if request.version != 1 {
        out.push(problem(format!("version {} is not a request version dbt-incr knows", request.version), "write `version: 1`"));
    }
    let model = plan.models.iter().find(|m| m.name == request.model);
    match model {
        None => {
            let names: Vec<&str> = plan.models.iter().map(|m| m.name.as_str()).collect();
            let hint = match crate::error::closest(&request.model, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("the spec's models: {}", names.join(", ")),
            };
            out.push(problem(format!("no model `{}` in the spec", request.model), hint));
        }
        Some(m) if m.unique_key.is_empty() && m.strategy != Strategy::Microbatch => out.push(problem(
            format!("{} is append-only (no unique_key): a backfill would append its window a second time", m.name),
            format!("re-derive its history with `dbt run -s {} --full-refresh` instead", m.name),
        )),
        Some(_) => {}
    }
    let bound = |name: &str, value: &str, out: &mut Vec<Problem>| -> Option<Bound> {
        if value.trim().is_empty() {
            out.push(problem(format!("no {name}: a window needs both ends"), format!("set `{name}:` to a date like 2024-01-01 (the window is [start, end), end excluded)")));
            return None;
        }
        match Bound::parse(value) {
            Ok(b) => Some(b),
            Err(e) => {
                out.push(problem(format!("{name}: {e}"), "write a date like 2024-01-01 or a timestamp like 2024-01-01 06:00:00"));
                None
            }
        }
    };
    let start = bound("start", &request.start, &mut out);
    let end = bound("end", &request.end, &mut out);
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        out.push(problem(format!("the window is empty: start ({}) is not before end ({})", request.start, request.end), "the window is [start, end), end excluded: a single day 2024-01-03 is start 2024-01-03, end 2024-01-04"));
    }
    if let (Some(m), Some(s)) = (model, start)
        && let Some(begin) = m.begin.as_deref().and_then(|b| Bound::parse(b).ok())
        && s < begin
    {
        out.push(problem(
            format!("start ({}) is before the model's begin ({}): dbt builds no batch before begin", request.start, m.begin.as_deref().unwrap_or_default()),
            format!("start the window on {} or later", m.begin.as_deref().unwrap_or_default()),
        ));
    }
    match Bound::parse(&request.requested_on) {
        Err(e) => out.push(problem(format!("requested_on: {e}"), "write the day of the request, like 2024-11-29")),
        Ok(on) => {
            if let Some(e) = end
                && e.days > on.days + 1
            {
                out.push(problem(
                    format!("the window ends on {}, after the day it was requested ({}): there is nothing to backfill in the future (a typo in the year?)", e.date(), request.requested_on),
                    "end the window on the day after the last day to re-process",
                ));
            }
        }
    }
    if request.reason.trim().is_empty() {
        out.push(problem("no reason: say why the window is re-processed", "reviewers, and whoever looks at this table next, need to know (`--reason \"…\"`)"));
    }
    if request.requested_by.trim().is_empty() {
        out.push(problem("no requested_by: say who asked for it", "`--by \"Name <email>\"`"));
    }
    if let Some(m) = model {
        let now = spec_hash(m);
        if request.spec_hash != now {
            out.push(problem(
                format!("the spec of {} changed since the request was made (spec_hash {}, now {}): it was reviewed against another spec", m.name, request.spec_hash, now),
                format!("check the window against the new spec (`dbt-incr plan` says whether it needs a full refresh instead), then set `spec_hash: \"{now}\"` or file a new request"),
            ));
        }
    }
    out
}

/// A request file and what reading and validating it found.
#[derive(Debug)]
pub struct Checked {
    /// Relative to the project root.
    pub path: PathBuf,
    pub request: Option<Request>,
    pub problems: Vec<Problem>,
}

/// Every pending request of the project (not yet run successfully), validated: what `check` reports.
pub fn check_pending(plan: &Plan) -> Result<Vec<Checked>, Error> {
    let root = &plan.project.root;
    let mut out = Vec::new();
    for path in list(root)? {
        match read(&root.join(&path)) {
            Ok(request) if request.is_done() => {}
            Ok(request) => {
                let problems = validate(plan, &request);
                out.push(Checked { path, request: Some(request), problems });
            }
            Err(Error::Invalid(diags)) => {
                let problems = diags.into_iter().map(|d| Problem { message: d.message.trim_start_matches("not a backfill request: ").to_string(), hint: d.hint }).collect();
                out.push(Checked { path, request: None, problems });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// `--vars` of a keyed model's backfill, as dbt takes them (YAML).
pub fn vars(request: &Request) -> String {
    format!("{{backfill_start: \"{}\", backfill_end: \"{}\"}}", request.start, request.end)
}

/// Now, as a run record writes it.
pub fn now() -> String {
    time::instant_text(time::now_seconds())
}
