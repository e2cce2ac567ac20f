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
    let mut req = request::read(path)?;
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
    let again = req.is_done();
    if again && !options.again {
        let last = req.runs.iter().rev().find(|r| r.result == "success").expect("done means a successful run");
        return Err(Diagnostic::new(format!("{} already ran successfully ({} to {}, by {})", path.display(), last.started, last.finished, last.by))
            .hint("a backfill is idempotent, so running it again is safe, but it must be deliberate: pass --again")
            .into());
    }
    let model = request::find_model(plan, &req.model)?.clone();
    let started = request::now();
    let args = backfill_args(&model, &req);
    note(&format!("backfill: {}", dbt.shown(&args)));
    let backfill = dbt.invoke(&args, "backfill", Output::Inherit)?;
    let results = backfill.results()?;
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
    let downstream = crate::project::manifest::downstream(&dbt::manifest(&backfill.target_path), &model.name)?;
    let mut downstream_failures = Vec::new();
    let mut verified = None;
    if record.result != "success" {
        record.downstream = Some("not run: the backfill failed".into());
    } else if !options.downstream {
        record.downstream = Some("skipped (--no-downstream)".into());
    } else {
        let args = downstream_args(&model);
        note(&format!("downstream: {} ({})", dbt.shown(&args), downstream.as_ref().map_or_else(|| "models downstream unknown".to_string(), |d| if d.is_empty() { "no model downstream".to_string() } else { d.join(", ") })));
        let build = dbt.invoke(&args, "build", Output::Inherit)?;
        let results = build.results()?;
        downstream_failures = results.iter().filter(|r| !matches!(r.status.as_str(), "success" | "pass" | "skipped" | "warn" | "no-op")).cloned().collect();
        record.downstream = Some(if build.success() && downstream_failures.is_empty() {
            format!("success ({} nodes)", results.len())
        } else {
            let names: Vec<String> = downstream_failures.iter().map(|r| format!("{} {}", r.name, r.status)).collect();
            format!("error: {} of {} nodes failed ({})", downstream_failures.len(), results.len(), if names.is_empty() { format!("dbt exited with {:?}", build.code) } else { names.join(", ") })
        });
    }
    if options.verify && record.result == "success" {
        note(&format!("verify: {} over [{}, {})", model.name, req.start, req.end));
        let checks = verify::checks(plan, std::slice::from_ref(&model.name), Some(&req.start), Some(&req.end))?;
        match verify::verify(dbt, &checks, 10) {
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
            Err(e) => record.verify = Some(format!("error: {}", e.to_string().lines().next().unwrap_or_default())),
        }
    }
    record.finished = request::now();
    req.runs.push(record.clone());
    write_atomic(path, &req.render())?;
    Ok(Outcome { path: path.to_path_buf(), request: req, run: record, downstream, downstream_failures, verified })
}
