//! YAML and shape errors from serde-saphyr, explained: where they are (line, column and the key
//! path, read back from the text), what was expected there, and how to write it.

use std::path::Path;

use super::model::{MODEL_KEYS, TOP_KEYS};
use super::names::escape;
use crate::error::Diagnostic;

/// A YAML or shape error from serde-saphyr as a diagnostic: its location, the key it is under
/// (found from the text: serde-saphyr does not say), and a message in our words.
pub(crate) fn yaml_diagnostic(file: &Path, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((0, 0));
    let raw = yaml_message(e);
    let unknown = unknown_field(&raw).is_some() || raw.starts_with("duplicate mapping key");
    // An unknown key is reported at the key itself; a wrong shape at the value, which may be a
    // mapping whose first key sits at the position.
    let path = if line > 0 { key_path_at(text, line, column, unknown) } else { None };
    let mut d = Diagnostic::new(raw.clone()).at(file, text, line, column);
    if let Some(p) = &path {
        d = d.key(p.clone());
    }
    if let Some(unknown) = unknown_field(&raw) {
        return unknown_key(d, unknown, path.as_deref());
    }
    if let Some(key) = raw.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        d.message = format!("key `{}` is given twice (a YAML key given twice is an error, not an override)", escape(key));
        return d.hint("keep one of the two; which one was meant cannot be guessed");
    }
    if let Some(missing) = raw.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        d.message = format!("the spec has no `{missing}:`");
        d.key = Some(missing.to_string());
        return d.hint(if missing == "version" { "start the spec with `version: 1`" } else { "list the models under `models:`; see docs/spec.md" });
    }
    if raw.starts_with("multiple YAML documents") || raw.contains("Documents") {
        d.message = "the file holds more than one YAML document (a `---` line after the first)".into();
        return d.hint("a spec is one document: list every model under one `models:`, or put each spec in its own file of a --spec folder");
    }
    if raw.contains("budget") || raw.contains("limit") || raw.contains("alias replay") {
        let lower = raw.to_ascii_lowercase();
        let split = "split it into several files in a --spec folder (these limits keep memory bounded)";
        let (message, hint) = if lower.contains("recursion") || lower.contains("depth") || lower.contains("nesting") {
            ("the spec is nested too deeply (dbt-incr reads at most 32 levels)", "a spec is a flat list of models whose values are names or lists of names")
        } else if lower.contains("alias") || lower.contains("anchor") {
            ("the spec expands YAML aliases (`*name`) too many times (a \"billion laughs\" input?)", "write the values out, or use `defaults:` for what models share")
        } else if lower.contains("scalar") || lower.contains("bytes") {
            ("the spec holds more text than dbt-incr reads in one file", split)
        } else {
            ("the spec holds more YAML nodes than dbt-incr reads in one file", split)
        };
        d.message = message.to_string();
        return d.hint(hint);
    }
    if raw.starts_with("unsupported tag") {
        return d.hint("YAML tags (`!tag`) are not part of the spec format; remove it");
    }
    if raw.contains("found a tab") || raw.contains("tabs") {
        d.message = format!("a tab character where YAML expects spaces ({raw})");
        return d.hint("YAML indents with spaces only: replace the tab characters on this line or the next");
    }
    // serde reports an untagged one-or-many value at an entry inside it, when it is a list.
    let untagged = raw.contains("did not match any variant");
    let (path, in_list) = match path {
        Some(p) if untagged && p.ends_with(']') => (Some(p[..p.rfind('[').unwrap_or(p.len())].to_string()), true),
        p => (p, false),
    };
    if let Some(p) = &path {
        d = d.key(p.clone());
    }
    if let Some(p) = path.as_deref()
        && let Some(expected) = expected_shape(p)
        && is_shape_error(&raw)
    {
        let got = if in_list { Shape::List } else { shape_at(text, line, column) };
        let list_like = expected.contains("list");
        d.message = match got {
            Shape::Null => format!("`{}` has no value", leaf(p)),
            Shape::List if list_like => format!("`{}` must be {expected}; this list holds something that is not a plain name", leaf(p)),
            ref got => format!("`{}` must be {expected}, not {}", leaf(p), got.describe()),
        };
        let base = leaf(p).split('[').next().unwrap_or("");
        let example = if LIST_OR_STRING_KEYS.contains(&base) { shape_hint(p).replace("unique_key", base) } else { shape_hint(p).to_string() };
        return d.hint(match got {
            Shape::Null => format!("{example}, or remove the key to use its default"),
            _ => example,
        });
    }
    if path.as_deref().is_none_or(|p| p.starts_with('[')) && raw.contains("expected mapping") {
        d.message = "the spec must be a mapping of keys (`version:`, `models:`, …)".into();
        d.key = None;
        return d.hint("start with `version: 1`, then `models:` with one `- name: …` entry per model; see docs/spec.md");
    }
    if is_shape_error(&raw) {
        return d.hint("see docs/spec.md for the type of each key");
    }
    d.hint("this is not valid YAML here: check the indentation (spaces, not tabs) and that each `key: value` lines up with its siblings")
}

/// The last part of a key path, for messages: `models[0].name` -> `name`, `columns[1]` -> `columns[1]`.
fn leaf(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Whether serde-saphyr's message says a value has the wrong shape (rather than bad syntax).
fn is_shape_error(message: &str) -> bool {
    ["expected ", "invalid ", "cannot deserialize"].iter().any(|p| message.starts_with(p)) || message.contains("did not match any variant")
}

/// Keys whose value is one string.
const STRING_KEYS: &[&str] = &[
    "dialect",
    "name",
    "from",
    "load_time",
    "event_time",
    "lookback",
    "incremental_strategy",
    "path",
    "on_schema_change",
    "begin",
    "file_format",
    "table_type",
    "batch_size",
];
/// Keys whose value is a string or a list of strings.
const LIST_OR_STRING_KEYS: &[&str] = &["unique_key", "tie_breaker", "tags", "cluster_by", "order_by"];

/// What the value at `path` must be, in words; `None` for a path that is not in the format.
fn expected_shape(path: &str) -> Option<&'static str> {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let in_model = parent.is_some_and(|p| p == "defaults" || (p.starts_with("models[") && p.ends_with(']') && !p.contains('.')));
    if let Some((base, _index)) = last.split_once('[') {
        return match (parent, base) {
            (None, "models") => Some("a mapping of model keys (`name:`, `from:`, …)"),
            (Some(_), "columns" | "unique_key" | "tie_breaker" | "cluster_by" | "order_by") if in_model => Some("a column name"),
            (Some(_), "tags") if in_model => Some("a tag (a string)"),
            _ => None,
        };
    }
    match (parent, last) {
        (None, "version") => Some("the number 1"),
        (None, "dialect") => Some("a dialect name"),
        (None, "models") => Some("a list of models (`- name: …` entries)"),
        (None, "defaults") => Some("a mapping of model keys"),
        (Some(_), "columns") if in_model => Some("a list of column names"),
        (Some(_), "partition_by") if in_model => Some("a column name or a mapping `{field, data_type, granularity}`"),
        (Some(_), k) if in_model && STRING_KEYS.contains(&k) => Some("a string"),
        (Some(_), k) if in_model && LIST_OR_STRING_KEYS.contains(&k) => Some("a name or a list of names"),
        _ => None,
    }
}

/// An example of the right shape for the key at `path`.
fn shape_hint(path: &str) -> &'static str {
    let last = leaf(path);
    let base = last.split('[').next().unwrap_or(last);
    match base {
        "version" => "write `version: 1`",
        "models" if last.contains('[') => "each model is a mapping: `- name: fct_events` with its keys indented below",
        "models" => "list each model as `- name: …` under `models:`",
        "defaults" => "`defaults:` holds model keys, e.g. `lookback: 3 days`, indented below it",
        "columns" if last.contains('[') => "each column is a plain name: `columns: [id, amount, loaded_at]`",
        "columns" => "write `columns: [id, amount, loaded_at]`",
        "unique_key" | "tie_breaker" | "cluster_by" | "order_by" | "tags" if last.contains('[') => "list plain names: `[a, b]`",
        "unique_key" | "tie_breaker" | "cluster_by" | "order_by" | "tags" => "write one name (`unique_key: id`) or a list of plain names (`unique_key: [id, day]`); quote a value YAML reads as a number or true/false",
        "name" => "write the model's name: `name: fct_events`",
        "from" => "write `from: ref('model')` or `from: source('source', 'table')`",
        "lookback" => "write `lookback: 3 days` (minutes, hours or days)",
        "begin" => "write `begin: 2024-01-01`",
        "partition_by" => "write `partition_by: event_at`, or `partition_by: {field: event_at, data_type: datetime, granularity: month}`",
        "dialect" => "write a dialect name, e.g. `dialect: snowflake` (see `dbt-incr dialects`)",
        _ => "see docs/spec.md for what this key takes",
    }
}

/// The kind of YAML value at a position, read from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Null,
    List,
    Mapping,
    Scalar(String),
}

impl Shape {
    fn describe(&self) -> String {
        match self {
            Shape::Null => "nothing".into(),
            Shape::List => "a list".into(),
            Shape::Mapping => "a mapping".into(),
            Shape::Scalar(s) => format!("`{}`", escape(s)),
        }
    }
}

/// What the value starting at `line`:`column` (1-based) looks like.
fn shape_at(text: &str, line: usize, column: usize) -> Shape {
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else { return Shape::Null };
    let rest: String = l.chars().skip(column.saturating_sub(1)).collect();
    // serde-saphyr points an empty value at the colon after its key.
    let rest = rest.strip_prefix(':').unwrap_or(&rest).trim();
    let rest = match rest.find(" #") {
        Some(i) => rest[..i].trim_end(),
        None => rest,
    };
    if rest.is_empty() || rest.starts_with('#') || rest == "~" || rest == "null" || rest == "Null" || rest == "NULL" {
        return Shape::Null;
    }
    if line_nodes(l).iter().any(|(c, k)| k.is_some() && *c == byte_offset(l, column.saturating_sub(1))) {
        return Shape::Mapping;
    }
    if rest.starts_with('[') || rest.starts_with("- ") || rest == "-" {
        return Shape::List;
    }
    if rest.starts_with('{') {
        return Shape::Mapping;
    }
    let value = rest.trim_end_matches(',').trim_end_matches([']', '}']);
    Shape::Scalar(value.to_string())
}

/// The byte offset of character `chars` in `line` (its length when past the end).
fn byte_offset(line: &str, chars: usize) -> usize {
    line.char_indices().nth(chars).map_or(line.len(), |(i, _)| i)
}

/// The structure of one YAML line: `- ` entries (None) and `key:` keys, with 0-based columns,
/// outermost first. Only block-style structure is recognised; flow collections are values.
fn line_nodes(line: &str) -> Vec<(usize, Option<&str>)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b'#' {
            break;
        }
        if bytes[i] == b'-' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            out.push((i, None));
            i += 1;
            continue;
        }
        if let Some((key, _after)) = key_at(line, i) {
            out.push((i, Some(key)));
        }
        break;
    }
    out
}

/// A mapping key starting at byte `i` of `line`: `key:` followed by a space or the line's end;
/// quoted keys are returned without their quotes.
fn key_at(line: &str, i: usize) -> Option<(&str, usize)> {
    let rest = &line[i..];
    let first = rest.chars().next()?;
    if first == '"' || first == '\'' {
        let close = rest[1..].find(first)? + 1;
        let after = &rest[close + 1..];
        return after.starts_with(':').then(|| (&rest[1..close], i + close + 2));
    }
    if matches!(first, '[' | '{' | '&' | '*' | '!' | '|' | '>' | '?') {
        return None;
    }
    let mut search = 0;
    while let Some(colon) = rest[search..].find(':') {
        let at = search + colon;
        let next = rest[at + 1..].chars().next();
        if next.is_none() || next == Some(' ') || next == Some('\t') {
            let key = rest[..at].trim_end();
            if key.is_empty() || key.contains(" #") || key.contains(['[', '{', ',']) {
                return None;
            }
            return Some((key, i + at + 1));
        }
        search = at + 1;
    }
    None
}

/// The dotted key path (`models[2].columns[1]`) of the node at `line`:`column` (1-based), read
/// from the indentation of block-style YAML. Best effort: `None` when the text does not say.
///
/// `key_at_position`: whether a key starting exactly at the position is part of the path (it is
/// for an error about the key itself; not for one about a mapping value starting there).
pub(crate) fn key_path_at(text: &str, line: usize, column: usize, key_at_position: bool) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = line.checked_sub(1)?;
    let current = *lines.get(here)?;
    // serde-saphyr counts columns in characters; the line is sliced in bytes.
    let col0 = byte_offset(current, column.saturating_sub(1));

    // Segments innermost first: Ok(key) or Err(index).
    let mut segments: Vec<Result<String, usize>> = Vec::new();
    let nodes: Vec<(usize, Option<&str>)> = line_nodes(current).into_iter().filter(|(c, k)| *c < col0 || (*c == col0 && (k.is_none() || key_at_position))).collect();
    // Inside a flow list on this line (`columns: [a, [b]]`): the index of the entry.
    if let Some((_, Some(key))) = nodes.last()
        && let Some((_, value_start)) = key_at(current, nodes.last().unwrap().0)
    {
        let value = &current[value_start..];
        let offset = value.len() - value.trim_start().len();
        if value.trim_start().starts_with('[') && col0 > value_start + offset {
            let inside = &current[value_start + offset + 1..col0.min(current.len())];
            let mut depth = 0i32;
            let mut index = 0;
            for c in inside.chars() {
                match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth -= 1,
                    ',' if depth == 0 => index += 1,
                    _ => {}
                }
            }
            segments.push(Err(index));
        }
        let _ = key;
    }
    let mut scope = push_line(&lines, here, &nodes, &mut segments).unwrap_or_else(|| {
        let indent = current.len() - current.trim_start().len();
        indent.min(col0)
    });
    let mut row = here;
    while row > 0 && (scope > 0 || segments.last().is_some_and(|s| s.is_err())) {
        row -= 1;
        let nodes = line_nodes(lines[row]);
        // A key is a parent of what is more indented; a `- ` entry may sit at its key's column.
        let parents: Vec<(usize, Option<&str>)> = nodes.into_iter().filter(|(c, k)| *c < scope || (k.is_some() && *c == scope && segments.last().is_some_and(|s| s.is_err()))).collect();
        if parents.is_empty() {
            continue;
        }
        if let Some(new_scope) = push_line(&lines, row, &parents, &mut segments) {
            scope = new_scope;
        }
    }
    if segments.is_empty() {
        return None;
    }
    let mut path = String::new();
    for segment in segments.iter().rev() {
        match segment {
            Ok(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Err(index) => path.push_str(&format!("[{index}]")),
        }
    }
    Some(path)
}

/// Pushes the segments of `nodes` (on line `row`) innermost first; returns the column of the
/// outermost, the scope its parents must be left of.
fn push_line(lines: &[&str], row: usize, nodes: &[(usize, Option<&str>)], segments: &mut Vec<Result<String, usize>>) -> Option<usize> {
    for (col, node) in nodes.iter().rev() {
        match node {
            Some(key) => segments.push(Ok((*key).to_string())),
            None => segments.push(Err(entry_index(lines, row, *col))),
        }
    }
    nodes.first().map(|(c, _)| *c)
}

/// The index of the `- ` entry at `col` on line `row` among its siblings above it.
fn entry_index(lines: &[&str], row: usize, col: usize) -> usize {
    let mut index = 0;
    for line in lines[..row].iter().rev() {
        let nodes = line_nodes(line);
        let Some(&(first, kind)) = nodes.first() else { continue };
        if first < col || (first == col && kind.is_some()) {
            break;
        }
        if nodes.iter().any(|(c, k)| *c == col && k.is_none()) {
            index += 1;
        }
    }
    index
}

/// Unknown keys (`(key path, key name)`, as serde collected them) as diagnostics at the positions
/// where they stand in `text`; a key written in flow style (`{…}`), which the line scan does not
/// read, is reported without a position.
pub(crate) fn unknown_keys(file: &Path, text: &str, unknown: &[(String, String)]) -> Vec<Diagnostic> {
    let names: std::collections::BTreeSet<&str> = unknown.iter().map(|(_, k)| k.as_str()).collect();
    let mut found: std::collections::BTreeMap<String, (usize, usize)> = std::collections::BTreeMap::new();
    for (row, line) in text.lines().enumerate() {
        for (col, key) in line_nodes(line) {
            let Some(key) = key.filter(|k| names.contains(k)) else { continue };
            let column = line[..col].chars().count() + 1;
            if let Some(path) = key_path_at(text, row + 1, column, true) {
                found.entry(path).or_insert((row + 1, column));
                let _ = key;
            }
        }
    }
    // Flow style (`{a: 1, uniqe_key: id}`): the first `key:` in the text that stands alone.
    let in_flow = |key: &str| -> Option<(usize, usize)> {
        for (row, line) in text.lines().enumerate() {
            let mut from = 0;
            while let Some(at) = line[from..].find(key).map(|i| i + from) {
                let before = line[..at].chars().next_back();
                let after = line[at + key.len()..].trim_start().starts_with(':');
                if after && before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    return Some((row + 1, line[..at].chars().count() + 1));
                }
                from = at + key.len();
            }
        }
        None
    };
    unknown
        .iter()
        .map(|(path, key)| {
            let d = Diagnostic::new(String::new());
            match found.get(path).copied().or_else(|| in_flow(key)).as_ref() {
                Some(&(line, column)) => unknown_key(d.at(file, text, line, column).key(path.clone()), key, Some(path)),
                None => unknown_key(d.in_file(file).key(path.clone()), key, Some(path)),
            }
        })
        .collect()
}

/// An unknown key, with the keys valid where it stands.
fn unknown_key(mut d: Diagnostic, unknown: &str, path: Option<&str>) -> Diagnostic {
    let shown = escape(unknown);
    let Some(path) = path else {
        // Flow style (`{…}`): where the key stands is not known.
        d.message = format!("unknown key `{shown}`");
        let d = d.did_you_mean(unknown, MODEL_KEYS.iter().chain(TOP_KEYS).copied());
        return if d.hint.is_some() { d } else { d.hint(format!("the top level takes: {}; a model takes: {}", TOP_KEYS.join(", "), MODEL_KEYS.join(", "))) };
    };
    if !path.contains('.') {
        d.message = format!("unknown top-level key `{shown}`");
        if MODEL_KEYS.contains(&unknown) {
            return d.hint(format!("`{unknown}` is a model key: put it under a model in `models:`, or under `defaults:` to apply it to every model"));
        }
        let d = d.did_you_mean(unknown, TOP_KEYS.iter().copied());
        return if d.hint.is_some() { d } else { d.hint(format!("the top level takes: {}", TOP_KEYS.join(", "))) };
    }
    d.message = format!("unknown key `{shown}`");
    let under_defaults = path.starts_with("defaults.");
    let valid: Vec<&str> = MODEL_KEYS.iter().copied().filter(|k| !under_defaults || !matches!(*k, "name" | "from")).collect();
    if let Some(best) = crate::error::closest(unknown, valid.iter().copied()) {
        return d.hint(format!("did you mean `{best}`?"));
    }
    if TOP_KEYS.contains(&unknown) {
        return d.hint(format!("`{unknown}` is a top-level key: move it out of the model, to column 1"));
    }
    d.hint(format!("a model takes: {}", valid.join(", ")))
}

/// serde-saphyr's message, without its own location (we print ours).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 4 column 5: unknown field ..." -> "unknown field ..."
    let message = match first.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest,
        _ => first,
    };
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    message.to_string()
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown key `"))?;
    rest.split('`').next()
}
