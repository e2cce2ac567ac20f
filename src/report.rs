//! The output formats commands share: text (with optional colour), one JSON document, or GitHub
//! Actions workflow commands; and errors in each of them.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::Error;

/// How a command prints its report (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Readable text ending with a summary line (`check`/`diff`: status lines and unified diffs).
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands: annotations on files and lines (`::error file=…::…`).
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

pub fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Escapes the message of a workflow command.
pub fn gh_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn gh_property(text: &str) -> String {
    gh_data(text).replace(':', "%3A").replace(',', "%2C")
}
