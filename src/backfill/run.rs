//! `dbt-incr backfill run FILE`: a reviewed request, run through the user's dbt: the backfill
//! (`dbt run -s MODEL --vars …`), then the downstream build (`dbt build -s MODEL+`), optionally
//! `verify` over the window; the outcome is recorded in the request file. A request that ran
//! successfully is not run again unless asked (`--again`): a backfill is idempotent, so a rerun is
//! safe, but it must be deliberate.

use std::path::{Path, PathBuf};

use super::dbt::{self, Dbt, NodeResult, Output};
use super::request::{self, Request, Run};
use super::steps::{backfill_args, downstream_args};
use super::verify::{self, Found};
use crate::error::{Diagnostic, Error};
use crate::plan::Plan;
use crate::workspace::write_atomic;

/// The result of a run recorded before dbt starts and replaced by the outcome when it ends: one
/// left in a file is a run still going, or one that was interrupted (killed, Ctrl-C, a lost CI
/// runner) before it could record its outcome.
pub const RUNNING: &str = "running";

/// What `backfill run` was asked to do beyond the backfill.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run a request that already ran successfully.
    pub again: bool,
    /// Build the model and everything downstream afterwards (`dbt build -s MODEL+`).
    pub downstream: bool,
    /// Compare the table with a full refresh over the window afterwards.
    pub verify: bool,
    /// Who runs it, for the record.
    pub by: String,
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// The request file (as found).
    pub path: PathBuf,
    pub request: Request,
    /// The record written to the file.
    pub run: Run,
    /// The models downstream, from the manifest of the backfill's own dbt invocation.
    pub downstream: Option<Vec<String>>,
    /// The downstream build's failing nodes.
    pub downstream_failures: Vec<NodeResult>,
    pub verified: Option<Found>,
}

impl Outcome {
    /// The backfill succeeded, the downstream build too (or was not asked for), and the table
    /// equals a full refresh over the window (or that was not asked for).
    pub fn ok(&self) -> bool {
        self.run.result == "success" && self.downstream_failures.is_empty() && !self.run.downstream.as_deref().is_some_and(|d| d.starts_with("error")) && self.run.verify.as_deref().is_none_or(|v| v.starts_with("equal"))
    }
}

/// A request file given on the command line: as given, else under the project root.
pub fn locate(root: &Path, file: &Path) -> Result<PathBuf, Error> {
    if file.is_file() {
        return Ok(file.to_path_buf());
    }
    let under = root.join(file);
    if under.is_file() {
        return Ok(under);
    }
    Err(Diagnostic::new(format!("no backfill request {}", file.display())).hint(format!("requests live under {}/ in the project; `dbt-incr backfill new` writes one", request::DIR)).into())
}

/// Runs the request at `path` and records the outcome in it. `note` receives progress lines.
pub fn run(plan: &Plan, dbt: &Dbt, path: &Path, options: &Options, note: &mut dyn FnMut(&str)) -> Result<Outcome, Error> {
    // Comments added in review above `runs:` are kept when the run is recorded.
    let original = crate::project::read_text(path)?;
    let mut req = request::parse(path, &original)?;
    let problems = request::validate(plan, &req);
    if !problems.is_empty() {
        let diags = problems
            .into_iter()
            .map(|p| {
                let d = Diagnostic::new(format!("{}: {}", path.display(), p.message));
                match p.hint {
                    Some(h) => d.hint(h),
                    None => d,
                }
            })
            .collect();
        return Err(Error::Invalid(diags));
    }
    if let Some(last) = req.runs.last().filter(|r| r.result == RUNNING)
        && !options.again
    {
        return Err(Diagnostic::new(format!("{} has a run with no outcome: started {} by {}", path.display(), last.started, last.by))
            .hint("it is still running, or it was interrupted before it could record its outcome; if no run is in progress, pass --again (a backfill is idempotent: running it again is safe)")
            .into());
    }
    let again = req.is_done() || req.runs.last().is_some_and(|r| r.result == RUNNING);
    if req.is_done() && !options.again {
        let last = req.runs.iter().rev().find(|r| r.result == "success").expect("done means a successful run");
        return Err(Diagnostic::new(format!("{} already ran successfully ({} to {}, by {})", path.display(), last.started, last.finished, last.by))
            .hint("a backfill is idempotent, so running it again is safe, but it must be deliberate: pass --again")
            .into());
    }
    let model = request::find_model(plan, &req.model)?.clone();
    let started = request::now();
    let args = backfill_args(&model, &req);
    // Recorded before dbt starts, so a run that never ends is seen (and not started twice by mistake).
    let pending = Run {
        started: started.clone(),
        by: options.by.clone(),
        again,
        command: dbt.shown(&args),
        result: RUNNING.into(),
        message: Some("no outcome recorded: still running, or interrupted".into()),
        ..Run::default()
    };
    let mut with_pending = req.clone();
    with_pending.runs.push(pending.clone());
    write_atomic(path, &with_pending.render_over(&original))?;
    note(&format!("backfill: {}", dbt.shown(&args)));
    let backfill = match dbt.invoke(&args, "backfill", Output::Inherit).and_then(|b| b.results().map(|r| (b, r))) {
        Ok(done) => done,
        Err(e) => {
            // dbt could not be run, or left no results: the attempt is recorded as failed.
            let failed = Run { result: "error".into(), message: Some(e.to_string().lines().next().unwrap_or_default().to_string()), finished: request::now(), ..pending };
            req.runs.push(failed);
            write_atomic(path, &req.render_over(&original))?;
            return Err(e);
        }
    };
    let (backfill, results) = backfill;
    let node = results.iter().find(|r| r.unique_id.starts_with("model.") && r.name == model.name);
    let mut record = Run {
        started,
        by: options.by.clone(),
        again,
        command: backfill.shown.clone(),
        result: node.map_or_else(|| "error".to_string(), |n| n.status.clone()),
        message: node.and_then(|n| n.message.clone()).or_else(|| (!backfill.success()).then(|| format!("dbt exited with {}", backfill.code.map_or("a signal".to_string(), |c| c.to_string())))),
        rows_affected: node.and_then(|n| n.rows_affected),
        seconds: node.map(|n| (n.seconds * 100.0).round() / 100.0),
        ..Run::default()
    };
    if !backfill.success() && record.result == "success" {
        record.result = "error".into();
    }
    // From here on every failure is recorded in the run, never left as `running`.
    let first_line = |e: &Error| e.to_string().lines().next().unwrap_or_default().to_string();
    let downstream = crate::project::manifest::downstream(&dbt::manifest(&backfill.target_path), &model.name).ok().flatten();
    let mut downstream_failures = Vec::new();
    let mut verified = None;
    if record.result != "success" {
        record.downstream = Some("not run: the backfill failed".into());
    } else if !options.downstream {
        record.downstream = Some("skipped (--no-downstream)".into());
    } else {
        let args = downstream_args(&model);
        note(&format!("downstream: {} ({})", dbt.shown(&args), downstream.as_ref().map_or_else(|| "models downstream unknown".to_string(), |d| if d.is_empty() { "no model downstream".to_string() } else { d.join(", ") })));
        match dbt.invoke(&args, "build", Output::Inherit).and_then(|b| b.results().map(|r| (b, r))) {
            Ok((build, results)) => {
                downstream_failures = results.iter().filter(|r| !matches!(r.status.as_str(), "success" | "pass" | "skipped" | "warn" | "no-op")).cloned().collect();
                record.downstream = Some(if build.success() && downstream_failures.is_empty() {
                    format!("success ({} nodes)", results.len())
                } else {
                    let names: Vec<String> = downstream_failures.iter().map(|r| format!("{} {}", r.name, r.status)).collect();
                    format!("error: {} of {} nodes failed ({})", downstream_failures.len(), results.len(), if names.is_empty() { format!("dbt exited with {:?}", build.code) } else { names.join(", ") })
                });
            }
            Err(e) => record.downstream = Some(format!("error: {}", first_line(&e))),
        }
    }
    if options.verify && record.result == "success" {
        note(&format!("verify: {} over [{}, {})", model.name, req.start, req.end));
        match verify::checks(plan, std::slice::from_ref(&model.name), Some(&req.start), Some(&req.end)).and_then(|checks| verify::verify(dbt, &checks, 10)) {
            Ok(found) => {
                let f = found.into_iter().next();
                record.verify = Some(match &f {
                    Some(f) if f.is_equal() => format!("equal ({} rows in the window)", f.table_rows),
                    Some(f) if f.error.is_some() => format!("error: {}", f.error.as_deref().unwrap_or_default()),
                    Some(f) => format!("different: {} row(s) only in the table, {} only in a full refresh, {} key(s)", f.only_in_table, f.only_in_full_refresh, f.keys_differing),
                    None => "error: no result".into(),
                });
                verified = f;
            }
            Err(e) => record.verify = Some(format!("error: {}", first_line(&e))),
        }
    }
    record.finished = request::now();
    req.runs.push(record.clone());
    write_atomic(path, &req.render_over(&original))?;
    Ok(Outcome { path: path.to_path_buf(), request: req, run: record, downstream, downstream_failures, verified })
}
