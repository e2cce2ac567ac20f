//! One error type for everything a user can trigger, rendered with file, line, column, key,
//! the offending source line with a caret, and a hint.

use std::fmt;
use std::path::PathBuf;

/// Where in which file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based; 0 when unknown.
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
}

/// A problem with the user's input, pointing at the place it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    /// Dotted path of the offending key, e.g. `models[2].lookback`.
    pub key: Option<String>,
    pub hint: Option<String>,
    /// The source line the location points into, kept to show it under the message.
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic { message: message.into(), location: None, key: None, hint: None, source_line: None }
    }

    pub fn at(mut self, file: impl Into<PathBuf>, source: &str, line: usize, column: usize) -> Self {
        self.source_line = (line > 0).then(|| source.lines().nth(line - 1).unwrap_or("").to_string());
        self.location = Some(Location { file: file.into(), line, column });
        self
    }

    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.location = Some(Location { file: file.into(), line: 0, column: 0 });
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds "did you mean `x`?" when one of `candidates` is close to `got`.
    pub fn did_you_mean<'a>(self, got: &str, candidates: impl IntoIterator<Item = &'a str>) -> Self {
        match closest(got, candidates) {
            Some(best) => self.hint(format!("did you mean `{best}`?")),
            None => self,
        }
    }
}

/// The candidate closest to `got`, if it is close enough to be a likely typo.
pub fn closest<'a>(got: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(got, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if let Some(loc) = &self.location {
            let file = loc.file.display();
            let key = self.key.as_deref().map(|k| format!(" (key `{k}`)")).unwrap_or_default();
            if loc.line > 0 {
                writeln!(f, "  --> {file}:{}:{}{key}", loc.line, loc.column)?;
            } else {
                writeln!(f, "  --> {file}{key}")?;
            }
            if let Some(text) = &self.source_line {
                let gutter = loc.line.to_string();
                let pad = " ".repeat(gutter.len());
                let caret_pad: String = text
                    .chars()
                    .take(loc.column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "{pad} |")?;
                writeln!(f, "{gutter} | {text}")?;
                writeln!(f, "{pad} | {caret_pad}^")?;
            }
        } else if let Some(key) = &self.key {
            writeln!(f, "  --> key `{key}`")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in a dbt-incr command.
#[derive(Debug)]
pub enum Error {
    /// Bad input: one or more problems in specs or project files. Nothing was written.
    Invalid(Vec<Diagnostic>),
    /// Reading or writing a file failed.
    Io { path: PathBuf, action: &'static str, source: std::io::Error },
    /// A template failed to render: a bug in dbt-incr, not in the user's input.
    Template { name: String, source: minijinja::Error },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, action: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, action, source }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Invalid(vec![d])
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(diags) => {
                for (i, d) in diags.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
            Error::Io { path, action, source } => {
                writeln!(f, "error: could not {action} {}: {source}", path.display())
            }
            Error::Template { name, source } => {
                writeln!(f, "error: internal template error in {name} (please report this): {source:#}")
            }
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
