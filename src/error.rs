//! One error type for everything a user can trigger, rendered with file, line, column, key,
//! the offending source line with a caret, and a hint (by annotate-snippets).

use std::fmt;
use std::path::PathBuf;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

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

/// Text from user files made safe for a terminal: control characters (but tabs) escaped, so a
/// spec cannot move the cursor or recolour the screen through an error message.
fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return s.to_string();
    }
    s.chars().flat_map(|c| if c.is_control() && c != '\t' { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
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

/// Rendered by annotate-snippets (the renderer of rustc and cargo) in rustc's layout: the message,
/// `--> file:line:column`, the source line with a caret labelled with the key, then the hint.
/// Everything taken from user files goes through `printable` first.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = printable(&self.message);
        let key = self.key.as_deref().map(|k| format!("`{}`", printable(k)));
        let hint = self.hint.as_deref().map(printable);
        let file = self.location.as_ref().map(|loc| printable(&loc.file.display().to_string()));
        let mut group = Group::with_title(Level::ERROR.primary_title(&message));
        let mut key_shown = false;
        let source;
        if let (Some(loc), Some(file)) = (&self.location, &file) {
            match (&self.source_line, loc.line) {
                (Some(text), line) if line > 0 => {
                    // Escape each character on its own, so the caret lands on what is shown.
                    let caret = loc.column.saturating_sub(1);
                    let (mut shown, mut at) = (String::new(), None);
                    for (i, c) in text.chars().enumerate() {
                        if i == caret {
                            at = Some(shown.len());
                        }
                        shown.push_str(&printable(c.encode_utf8(&mut [0; 4])));
                    }
                    let at = at.unwrap_or(shown.len());
                    source = shown;
                    let label = key.as_deref().map(|k| format!("key {k}"));
                    key_shown = true;
                    let caret = AnnotationKind::Primary.span(at..at).label(label);
                    group = group.element(Snippet::source(&source).path(file.as_str()).line_start(line).annotation(caret));
                }
                (_, 0) => group = group.element(Origin::path(file.as_str())),
                (_, line) => group = group.element(Origin::path(file.as_str()).line(line).char_column(loc.column.max(1))),
            }
        }
        if let Some(key) = key.as_deref().filter(|_| !key_shown) {
            group = group.element(Level::NOTE.with_name("key").message(key));
        }
        if let Some(hint) = &hint {
            group = group.element(Level::HELP.with_name("hint").message(hint.as_str()));
        }
        writeln!(f, "{}", Renderer::plain().render(&[group]))
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

    /// The messages of the variants and layouts no fixture reaches, and the cause kept as source().
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
        assert_eq!(two.to_string(), "error: first\n  |\n  = key: `models[0].name`\n\nerror: second\n  |\n  = hint: fix it\n");
        let file_only = Error::from(Diagnostic::new("bad").in_file("dbt_project.yml").key("model-paths"));
        assert_eq!(file_only.to_string(), "error: bad\n --> dbt_project.yml\n  = key: `model-paths`\n");
    }
}
