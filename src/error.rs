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

    /// For a value that must be one of a short list: "did you mean `x`? (valid: …)" when one is
    /// close to `got`, else "use one of: …".
    pub fn one_of(self, got: &str, candidates: &[&str]) -> Self {
        let list = candidates.join(", ");
        match closest(got, candidates.iter().copied()) {
            Some(best) => self.hint(format!("did you mean `{best}`? (valid: {list})")),
            None => self.hint(format!("use one of: {list}")),
        }
    }
}

/// Longest source line shown whole; longer ones are shown as a window around the column.
const MAX_SHOWN_LINE: usize = 120;

/// Text from user files made safe for a terminal: control characters (but tabs) escaped, so a
/// spec cannot move the cursor or recolour the screen through an error message.
fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return s.to_string();
    }
    s.chars().flat_map(|c| if c.is_control() && c != '\t' { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// The part of `line` to show and the caret's offset (in characters) within it: the whole line
/// when short, else a window around `column` (1-based, in characters) with `…` at cut ends.
fn source_window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    let caret = column.saturating_sub(1).min(chars.len());
    if chars.len() <= MAX_SHOWN_LINE {
        return (chars.iter().collect(), caret);
    }
    let start = caret.saturating_sub(MAX_SHOWN_LINE / 2);
    let end = (start + MAX_SHOWN_LINE).min(chars.len());
    let mut shown = String::new();
    let mut offset = caret - start;
    if start > 0 {
        shown.push('…');
        offset += 1;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, offset)
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
        writeln!(f, "error: {}", printable(&self.message))?;
        if let Some(loc) = &self.location {
            let file = printable(&loc.file.display().to_string());
            let key = self.key.as_deref().map(|k| format!(" (key `{}`)", printable(k))).unwrap_or_default();
            if loc.line > 0 {
                writeln!(f, "  --> {file}:{}:{}{key}", loc.line, loc.column)?;
            } else {
                writeln!(f, "  --> {file}{key}")?;
            }
            if let Some(text) = &self.source_line {
                let gutter = loc.line.to_string();
                let pad = " ".repeat(gutter.len());
                let (shown, caret) = source_window(text, loc.column);
                // Escape each character on its own, so the caret lines up with what is shown.
                let mut line = String::new();
                let mut caret_pad = String::new();
                for (i, c) in shown.chars().enumerate() {
                    let p = printable(&c.to_string());
                    if i < caret {
                        caret_pad.extend(p.chars().map(|c| if c == '\t' { '\t' } else { ' ' }));
                    }
                    line.push_str(&p);
                }
                writeln!(f, "{pad} |")?;
                writeln!(f, "{gutter} | {line}")?;
                writeln!(f, "{pad} | {caret_pad}^")?;
            }
        } else if let Some(key) = &self.key {
            writeln!(f, "  --> key `{}`", printable(key))?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {}", printable(hint))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in a dbt-incr command. Each message ends with a newline, as the
/// diagnostics do, so a command prints any of them with `eprint!`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: one or more problems in specs or project files. Nothing was written.
    #[error("{}", joined(.0))]
    Invalid(Vec<Diagnostic>),
    /// Reading or writing a file failed.
    #[error("error: could not {action} {}: {source}\n", printable(&path.display().to_string()))]
    Io { path: PathBuf, action: &'static str, source: std::io::Error },
    /// A template failed to render: a bug in dbt-incr, not in the user's input.
    #[error("error: internal template error in {name} (please report this): {source:#}\n")]
    Template { name: String, source: minijinja::Error },
}

/// Several diagnostics, one blank line between two.
fn joined(diags: &[Diagnostic]) -> String {
    diags.iter().map(Diagnostic::to_string).collect::<Vec<_>>().join("\n")
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

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of the variants no fixture reaches, byte for byte, and the cause kept as source().
    #[test]
    fn messages() {
        let io = Error::io("models/\x1b[2Jx.sql", "read")(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(io.to_string(), "error: could not read models/\\u{1b}[2Jx.sql: gone\n");
        assert_eq!(std::error::Error::source(&io).map(|s| s.to_string()).as_deref(), Some("gone"));

        let cause = minijinja::Environment::new().render_str("{{ 1 + }}", ()).unwrap_err();
        let template = Error::Template { name: "model.sql".into(), source: cause };
        let Error::Template { source, .. } = &template else { unreachable!() };
        let want = format!("error: internal template error in model.sql (please report this): {source:#}\n");
        assert_eq!(template.to_string(), want);
        assert!(std::error::Error::source(&template).is_some());

        let two = Error::Invalid(vec![Diagnostic::new("first").key("models[0].name"), Diagnostic::new("second").hint("fix it")]);
        assert_eq!(two.to_string(), "error: first\n  --> key `models[0].name`\n\nerror: second\n  = hint: fix it\n");
    }
}
