//! `dbt-incr backfill new|plan|run`: backfill requests as reviewed files (`crate::backfill`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::backfill::dbt::Dbt;
use crate::backfill::request::{self, NewRequest};
use crate::backfill::run::{self, Options, Outcome};
use crate::backfill::steps::{self, Steps};
use crate::backfill::time;
use crate::commands::ProfileArgs;
use crate::error::{Diagnostic, Error};
use crate::plan::{self, Plan, Request as PlanRequest};

/// The project and spec every backfill command reads.
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectArgs {
    /// The dbt project (folder holding dbt_project.yml).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// A spec file, or a folder of *.yml specs [default: incremental.yml in the project].
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Passed to dbt when it runs, and read for the dialect.
    #[command(flatten)]
    pub profile: ProfileArgs,
}

impl ProjectArgs {
    pub fn plan(&self) -> Result<Plan, Error> {
        plan::plan(&PlanRequest { project_dir: self.project.clone(), spec: self.spec.clone(), dialect: None, dialect_overrides_spec: false, profiles_dir: self.profile.profiles_dir.clone(), target: self.profile.target.clone() })
    }
}

/// How to run the user's dbt.
#[derive(Debug, Clone, clap::Args)]
pub struct DbtArgs {
    /// The dbt executable [default: `dbt` on PATH].
    #[arg(long, value_name = "PATH", default_value = "dbt")]
    pub dbt: PathBuf,
}

impl DbtArgs {
    pub fn dbt(&self, project: &ProjectArgs, project_dir: &Path) -> Dbt {
        Dbt { exe: self.dbt.clone(), project_dir: project_dir.to_path_buf(), profiles_dir: project.profile.profiles_dir.clone(), target: project.profile.target.clone() }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a backfill request (backfills/<date>-<model>.yml) to review in a pull request.
    #[command(after_help = "Examples:\n  dbt-incr backfill new fct_events --start 2024-01-03 --end 2024-01-05 --reason \"the loader re-delivered Jan 3-4\"\n\nThe window is [start, end), end excluded. Exit status: 0 written, 2 error (nothing written).")]
    New(NewArgs),
    /// Print, for review, what pending requests (or the given ones) run: the dbt commands, the SQL, the models downstream.
    #[command(after_help = "Examples:\n  dbt-incr backfill plan\n  dbt-incr backfill plan backfills/2024-11-29-fct_events.yml --touched\n\n--touched asks the warehouse, through `dbt show`, how many keys and rows the backfill touches.\nExit status: 0, 1 a request has problems, 2 error.")]
    Plan(PlanArgs),
    /// Run a request through dbt (the backfill, then `dbt build -s MODEL+`) and record the outcome in it.
    #[command(after_help = "Examples:\n  dbt-incr backfill run backfills/2024-11-29-fct_events.yml\n  dbt-incr backfill run backfills/2024-11-29-fct_events.yml --verify --target prod\n  dbt-incr backfill run backfills/2024-11-29-fct_events.yml --again\n\nA request that already ran successfully is refused unless --again. Exit status: 0 success,\n1 dbt failed or the table differs from a full refresh (--verify), 2 error.")]
    Run(RunArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// The model to backfill, as in the spec.
    pub model: String,
    /// First instant of the window (a date like 2024-01-03, or a timestamp).
    #[arg(long, value_name = "WHEN")]
    pub start: String,
    /// End of the window, excluded.
    #[arg(long, value_name = "WHEN")]
    pub end: String,
    /// Why the window is re-processed.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who asks for it [default: git's user.name and user.email, else $USER].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// The day of the request, YYYY-MM-DD [default: today, UTC].
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Request files [default: every pending request under backfills/].
    pub files: Vec<PathBuf>,
    /// Ask the warehouse, through `dbt show`, how many keys and rows each backfill touches.
    #[arg(long)]
    pub touched: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub dbt: DbtArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The request file.
    pub file: PathBuf,
    /// Run a request that already ran successfully (a backfill is idempotent: safe, but deliberate).
    #[arg(long)]
    pub again: bool,
    /// Afterwards, check that the table equals a full refresh over the window (`dbt-incr verify`).
    #[arg(long)]
    pub verify: bool,
    /// Skip `dbt build -s MODEL+` after the backfill.
    #[arg(long)]
    pub no_downstream: bool,
    /// Who runs it, for the record [default: git's user.name and user.email, else $USER].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub dbt: DbtArgs,
}

pub fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::New(args) => new(args),
        Command::Plan(args) => plan_requests(args),
        Command::Run(args) => run_request(args),
    }
}

/// `git config user.name` and `user.email`, else $USER, else `unknown`.
fn who() -> String {
    let git = |key: &str| -> Option<String> {
        let out = std::process::Command::new("git").args(["config", key]).output().ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !v.is_empty()).then_some(v)
    };
    match (git("user.name"), git("user.email")) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (Some(n), None) => n,
        (None, Some(e)) => e,
        (None, None) => std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into()),
    }
}

fn new(args: NewArgs) -> Result<ExitCode, Error> {
    let plan = args.project.plan()?;
    let requested_on = match &args.date {
        Some(d) => time::Bound::parse(d).map(|b| b.date()).map_err(|e| Diagnostic::new(format!("--date: {e}")).hint("write the day as YYYY-MM-DD"))?,
        None => time::today(),
    };
    let new = NewRequest { model: args.model, start: args.start, end: args.end, reason: args.reason, requested_by: args.by.unwrap_or_else(who), requested_on };
    let req = request::create(&plan, &new)?;
    let path = request::write_new(&plan.project.root, &req)?;
    println!("wrote {}", path.display());
    println!("review it in a pull request; `dbt-incr backfill plan {}` shows what it runs, `dbt-incr backfill run {}` runs it", path.display(), path.display());
    Ok(ExitCode::SUCCESS)
}

fn plan_requests(args: PlanArgs) -> Result<ExitCode, Error> {
    let plan = args.project.plan()?;
    let root = plan.project.root.clone();
    let dbt = args.dbt.dbt(&args.project, &root);
    let files: Vec<PathBuf> = if args.files.is_empty() {
        request::list(&root)?.into_iter().map(|p| root.join(p)).collect()
    } else {
        args.files.iter().map(|f| run::locate(&root, f)).collect::<Result<_, _>>()?
    };
    let mut out = String::new();
    let mut failed = false;
    let mut shown = 0;
    let mut touched_error = None;
    for file in &files {
        let relative = file.strip_prefix(&root).map(Path::to_path_buf).unwrap_or_else(|_| file.clone());
        let req = match request::read(file) {
            Ok(req) => req,
            Err(Error::Invalid(diags)) => {
                shown += 1;
                failed = true;
                let _ = writeln!(out, "{}: not a backfill request", relative.display());
                for d in diags {
                    let _ = writeln!(out, "  - {}", d.message);
                    if let Some(h) = &d.hint {
                        let _ = writeln!(out, "    hint: {h}");
                    }
                }
                out.push('\n');
                continue;
            }
            Err(e) => return Err(e),
        };
        if args.files.is_empty() && req.is_done() {
            continue;
        }
        shown += 1;
        let s = steps::steps(&plan, relative, req, &dbt, root.join("target/manifest.json"))?;
        failed |= !s.problems.is_empty();
        let touched = match (&s.model, args.touched && s.problems.is_empty()) {
            (Some(m), true) => match steps::touched(&dbt, m, &s.request) {
                Ok(t) => Some(Ok(t)),
                Err(e) => {
                    touched_error = Some(());
                    Some(Err(e.to_string()))
                }
            },
            _ => None,
        };
        out.push_str(&steps_text(&s, touched.as_ref()));
        out.push('\n');
    }
    if shown == 0 {
        let _ = writeln!(out, "dbt-incr backfill plan: no pending backfill request under {}/ (`dbt-incr backfill new MODEL --start … --end … --reason …` writes one)", request::DIR);
    }
    print!("{out}");
    Ok(if touched_error.is_some() {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One request's review: what, why, by whom, the commands, the models downstream, what it
/// touches, the SQL, and its problems.
pub fn steps_text(s: &Steps, touched: Option<&Result<steps::Touched, String>>) -> String {
    let r = &s.request;
    let path = s.path.to_string_lossy().replace('\\', "/");
    let mut out = String::new();
    let column = s.model.as_ref().map(|m| m.event_time.clone().unwrap_or_else(|| m.load_time.clone()));
    let _ = writeln!(out, "{path}: {} over [{}, {}){}", r.model, r.start, r.end, column.map(|c| format!(" of {c}")).unwrap_or_default());
    let _ = writeln!(out, "  reason:       {}", r.reason);
    let _ = writeln!(out, "  requested by: {} on {}", r.requested_by, r.requested_on);
    let status = match r.runs.last() {
        None => "pending (never run)".to_string(),
        Some(last) if last.result == run::RUNNING => format!("running since {} by {}, or interrupted: no outcome recorded (`backfill run --again` runs it again)", last.started, last.by),
        Some(last) if r.is_done() => format!("ran {} time(s); last: {} on {}", r.runs.len(), last.result, last.started),
        Some(last) => format!("pending; ran {} time(s) without success, last: {} on {}", r.runs.len(), last.result, last.started),
    };
    let _ = writeln!(out, "  status:       {status}");
    if !s.problems.is_empty() {
        out.push_str("  problems:\n");
        for p in &s.problems {
            let _ = writeln!(out, "    - {}", p.message);
            if let Some(h) = &p.hint {
                let _ = writeln!(out, "      hint: {h}");
            }
        }
    }
    let Some(model) = &s.model else { return out };
    let _ = writeln!(out, "  commands (`dbt-incr backfill run {path}` runs them and records the outcome in the file):");
    for c in &s.commands {
        let _ = writeln!(out, "    {c}");
    }
    let manifest = "target/manifest.json";
    match &s.downstream {
        Some(d) if d.is_empty() => {
            let _ = writeln!(out, "  downstream ({manifest}): no model reads {}", model.name);
        }
        Some(d) => {
            let _ = writeln!(out, "  downstream ({manifest}), rebuilt by `dbt build --select {}+`: {}", model.name, d.join(", "));
        }
        None if s.manifest.is_file() => {
            let _ = writeln!(out, "  downstream: {manifest} does not list {} (`dbt parse` refreshes it); `dbt build --select {}+` rebuilds whatever reads it", model.name, model.name);
        }
        None => {
            let _ = writeln!(out, "  downstream: unknown without target/manifest.json (`dbt parse` writes it); `dbt build --select {}+` rebuilds whatever reads {}", model.name, model.name);
        }
    }
    match touched {
        Some(Ok(t)) => {
            let pairs: Vec<String> = t.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(out, "  touches (dbt show): {}", pairs.join(", "));
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "  touches: could not ask the warehouse:");
            for line in e.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        None => {}
    }
    match &s.sql {
        Ok(sql) => {
            let _ = writeln!(out, "  SQL of the backfill ({}):", model.dialect.name);
            for n in &s.sql_notes {
                let _ = writeln!(out, "    -- {n}");
            }
            for line in sql.lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  SQL of the backfill: not compiled: {e}");
        }
    }
    out
}

fn run_request(args: RunArgs) -> Result<ExitCode, Error> {
    let plan = args.project.plan()?;
    let root = plan.project.root.clone();
    let path = run::locate(&root, &args.file)?;
    let dbt = args.dbt.dbt(&args.project, &root);
    let options = Options { again: args.again, downstream: !args.no_downstream, verify: args.verify, by: args.by.unwrap_or_else(who) };
    let outcome = run::run(&plan, &dbt, &path, &options, &mut |line| println!("dbt-incr backfill run: {line}"))?;
    print!("{}", outcome_text(&outcome));
    Ok(if outcome.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What a run did, as recorded.
pub fn outcome_text(o: &Outcome) -> String {
    let r = &o.run;
    let mut out = String::new();
    let _ = writeln!(out, "dbt-incr backfill run: {} {} over [{}, {}): {}", if r.again { "re-ran" } else { "ran" }, o.request.model, o.request.start, o.request.end, r.result);
    if let Some(m) = &r.message {
        let _ = writeln!(out, "  dbt:        {m}{}", r.rows_affected.map(|n| format!(" ({n} rows affected)")).unwrap_or_default());
    }
    if let Some(d) = &r.downstream {
        let _ = writeln!(out, "  downstream: {d}");
    }
    if let Some(v) = &r.verify {
        let _ = writeln!(out, "  verify:     {v}");
    }
    if let Some(f) = &o.verified
        && !f.is_equal()
    {
        out.push_str(&super::verify::found_text(f));
    }
    let _ = writeln!(out, "  recorded in {} (run {} of the request)", o.path.display(), o.request.runs.len());
    out
}
