//! The user's own dbt, run as a subprocess: everything dbt-incr asks of a warehouse goes through
//! it (their profile, their adapter, their credentials), and is read back from dbt's own outputs:
//! `run_results.json`, `manifest.json`, and its JSON log lines.
//!
//! Each kind of invocation gets its own target path under `target/dbt-incr/` (`backfill`,
//! `build`, `verify`, `show`), so dbt's artifacts are read from a known place, the user's
//! `target/` (and its partial-parse state) is left alone, and each keeps its own partial parse
//! across runs (dbt parses again whenever `--vars` change).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::error::{Diagnostic, Error};

/// How to run dbt: which executable, on which project, with which profile and target.
#[derive(Debug, Clone)]
pub struct Dbt {
    /// `dbt` (looked up on PATH) or a path.
    pub exe: PathBuf,
    pub project_dir: PathBuf,
    pub profiles_dir: Option<PathBuf>,
    pub target: Option<String>,
}

/// Where dbt's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// To the terminal, as dbt prints it.
    Inherit,
    /// Captured as JSON log lines, to read back.
    Capture,
}

/// One finished dbt invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The command line as a user would type it.
    pub shown: String,
    /// dbt's exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub target_path: PathBuf,
}

/// One node of `run_results.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeResult {
    pub unique_id: String,
    /// The node's name (the last part of its unique id for models).
    pub name: String,
    pub status: String,
    pub message: Option<String>,
    /// The adapter's `rows_affected`, where it reports one (PostgreSQL does, DuckDB does not).
    pub rows_affected: Option<i64>,
    pub seconds: f64,
    pub compiled_code: Option<String>,
}

impl Dbt {
    /// The words after `dbt` the user would type for `args`: the args, then --profiles-dir and
    /// --target when given (the profiles folder absolute when dbt runs it: it runs in the
    /// project, not in the current folder).
    fn user_args(&self, args: &[String], absolute: bool) -> Vec<String> {
        let mut out = args.to_vec();
        if let Some(p) = &self.profiles_dir {
            let p = if absolute { std::path::absolute(p).unwrap_or_else(|_| p.clone()) } else { p.clone() };
            out.push("--profiles-dir".into());
            out.push(p.to_string_lossy().into_owned());
        }
        if let Some(t) = &self.target {
            out.push("--target".into());
            out.push(t.clone());
        }
        out
    }

    /// `dbt …` as a user would type it in a POSIX shell.
    pub fn shown(&self, args: &[String]) -> String {
        let mut words = vec!["dbt".to_string()];
        words.extend(self.user_args(args, false).iter().map(|a| shell_quote(a)));
        words.join(" ")
    }

    /// The target path of an invocation kind, under the project's `target/dbt-incr/`.
    pub fn target_path(&self, purpose: &str) -> PathBuf {
        let dir = self.project_dir.join("target").join("dbt-incr").join(purpose);
        std::path::absolute(&dir).unwrap_or(dir)
    }

    /// Runs `dbt <args>` in the project, with its own target path for `purpose`.
    pub fn invoke(&self, args: &[String], purpose: &str, output: Output) -> Result<Invocation, Error> {
        let target_path = self.target_path(purpose);
        let mut argv = self.user_args(args, true);
        argv.push("--project-dir".into());
        argv.push(std::path::absolute(&self.project_dir).unwrap_or_else(|_| self.project_dir.clone()).to_string_lossy().into_owned());
        argv.push("--target-path".into());
        argv.push(target_path.to_string_lossy().into_owned());
        if output == Output::Capture {
            argv.push("--log-format".into());
            argv.push("json".into());
        }
        let mut command = Command::new(&self.exe);
        command.args(&argv).current_dir(&self.project_dir).stdin(Stdio::null());
        // A stale run_results.json must not be read as this invocation's.
        let _ = std::fs::remove_file(target_path.join("run_results.json"));
        let shown = self.shown(args);
        let spawn_error = |e: std::io::Error| -> Error {
            Diagnostic::new(format!("cannot run dbt ({}): {e}", self.exe.display()))
                .hint("install dbt with your adapter (pip install dbt-core dbt-<adapter>), or pass --dbt PATH to the dbt executable")
                .into()
        };
        let (code, stdout, stderr) = match output {
            Output::Inherit => {
                let status = command.status().map_err(spawn_error)?;
                (status.code(), String::new(), String::new())
            }
            Output::Capture => {
                let out = command.output().map_err(spawn_error)?;
                (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
            }
        };
        Ok(Invocation { shown, code, stdout, stderr, target_path })
    }
}

impl Invocation {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The nodes of this invocation's `run_results.json`; empty when dbt wrote none.
    pub fn results(&self) -> Result<Vec<NodeResult>, Error> {
        let path = self.target_path.join("run_results.json");
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path, "read"))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", path.display())))?;
        Ok(json
            .get("results")
            .and_then(Value::as_array)
            .map(|results| results.iter().map(node_result).collect())
            .unwrap_or_default())
    }

    /// The JSON log events of a captured invocation (lines that are not JSON are skipped).
    pub fn events(&self) -> impl Iterator<Item = Value> + '_ {
        self.stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok())
    }

    /// The log messages of a captured invocation, as `(level, event name, message)`.
    pub fn messages(&self) -> Vec<(String, String, String)> {
        self.events()
            .map(|e| {
                let s = |k: &str| e.get("info").and_then(|i| i.get(k)).and_then(Value::as_str).unwrap_or("").to_string();
                (s("level"), s("name"), s("msg"))
            })
            .collect()
    }

    /// What dbt said went wrong, in a line: the first line of its error messages that is
    /// neither a heading nor part of a traceback, else the last line of its output.
    pub fn failure(&self) -> String {
        let errors: Vec<String> = self.messages().into_iter().filter(|(level, _, msg)| level == "error" && !msg.trim().is_empty()).map(|(_, _, msg)| msg).collect();
        let text = if errors.is_empty() { format!("{}{}", self.stdout, self.stderr) } else { errors.join("\n") };
        let mut lines = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with("Traceback") {
                break;
            }
            if !line.is_empty() && line != "Encountered an error:" {
                lines.push(line);
            }
        }
        let chosen = if errors.is_empty() { lines.last() } else { lines.first() };
        chosen.map_or_else(|| "dbt printed no error".to_string(), |l| l.to_string())
    }

    /// An error saying this invocation failed, with what dbt said.
    pub fn error(&self, what: &str) -> Error {
        let code = self.code.map_or_else(|| "a signal".to_string(), |c| format!("exit {c}"));
        Diagnostic::new(format!("{what}: dbt failed ({code}): {}", self.failure()))
            .hint(format!("run it to see dbt's whole output: {}", self.shown))
            .into()
    }
}

fn node_result(r: &Value) -> NodeResult {
    let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
    let unique_id = s("unique_id").unwrap_or_default();
    let name = unique_id.rsplit('.').next().unwrap_or_default().to_string();
    let rows_affected = r.get("adapter_response").and_then(|a| a.get("rows_affected")).and_then(Value::as_i64).filter(|n| *n >= 0);
    NodeResult {
        name,
        status: s("status").unwrap_or_else(|| "unknown".into()),
        message: s("message"),
        rows_affected,
        seconds: r.get("execution_time").and_then(Value::as_f64).unwrap_or(0.0),
        compiled_code: s("compiled_code"),
        unique_id,
    }
}

/// `word` quoted for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The manifest dbt wrote in a target path.
pub fn manifest(target_path: &Path) -> PathBuf {
    target_path.join("manifest.json")
}
