//! Names in a spec: SQL identifiers (plain, never quoted, no reserved words), `ref()`/`source()`
//! calls, dates, and how a user's value is shown back in a message.

use super::model::Relation;

/// Words reserved in the SQL of at least one supported warehouse (or in dbt's Jinja): as bare
/// names they would change the meaning of the generated SQL, or fail to parse. Generated SQL
/// does not quote names (quoting changes their case on some warehouses), so these are refused.
pub const RESERVED_WORDS: &[&str] = &[
    "all", "alter", "and", "any", "array", "as", "asc", "asof", "between", "both", "by", "case", "cast", "check", "collate",
    "column", "constraint", "create", "cross", "cube", "current_date", "current_time", "current_timestamp",
    "current_user", "default", "delete", "desc", "distinct", "drop", "else", "end", "except", "exists", "false",
    "fetch", "for", "foreign", "from", "full", "grant", "group", "grouping", "having", "ilike", "in", "inner", "insert",
    "intersect", "interval", "into", "is", "join", "lateral", "leading", "left", "like", "limit", "minus", "natural",
    "none", "not", "null", "offset", "on", "or", "order", "outer", "over", "partition", "pivot", "primary", "qualify",
    "range", "references", "regexp", "right", "rlike", "rollup", "row", "rows", "sample", "select", "session_user",
    "set", "some", "table", "tablesample", "then", "to", "top", "trailing", "true", "union", "unique", "unnest",
    "unpivot", "update", "user", "using", "values", "when", "where", "window", "with",
    // Found by tests/fuzz.rs (keywords_as_names_are_refused_or_parse): not reserved everywhere,
    // but the generated SQL does not parse with them as bare names in at least one dialect.
    "analyze", "cluster", "connect_by_root", "distribute", "exclude", "explain", "returning", "sort", "struct", "trim",
    "view",
    // PostgreSQL's reserved keywords and those that may only name functions or types
    // (`select word, catcode from pg_get_keywords() where catcode in ('R', 'T')`): as bare column
    // names they fail to parse, or, like `user` and `localtime`, are evaluated as functions.
    "analyse", "asymmetric", "authorization", "binary", "collation", "concurrently", "current_catalog", "current_role",
    "current_schema", "deferrable", "do", "freeze", "initially", "isnull", "localtime", "localtimestamp", "notnull",
    "only", "overlaps", "placing", "similar", "symmetric", "system_user", "variadic", "verbose",
];

/// Why `s` is not a plain identifier, or `None` when it is one.
pub fn identifier_problem(s: &str) -> Option<&'static str> {
    let mut chars = s.chars();
    match chars.next() {
        None => Some("it is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => Some("it must start with a letter or `_`"),
        _ if s.len() > 127 => Some("it is longer than 127 characters"),
        _ if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Some("it may hold only letters, digits and `_`"),
        _ if RESERVED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) => Some("it is a reserved word in SQL"),
        _ => None,
    }
}

/// Values left to fill in (`load_time: TODO`, `from: source('TODO', 'TODO')`): valid names to a
/// parser, but not what the user means; dbt would fail later, at parse or run time.
pub const PLACEHOLDERS: &[&str] = &["todo", "fixme", "tbd"];

/// Whether `s` is a placeholder left to fill in.
pub fn is_placeholder(s: &str) -> bool {
    PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(s.trim()))
}

pub(super) fn identifier_hint(problem: &str, what: &str) -> &'static str {
    if problem.contains("placeholder") {
        "replace it with the real name (dbt-incr audit writes `TODO` where it could not tell; target/catalog.json lists the columns)"
    } else if problem.contains("reserved") && what == "model name" {
        "choose another model name (e.g. `fct_orders`): generated SQL does not quote names"
    } else if problem.contains("reserved") {
        "rename the column in a staging model (e.g. `order` -> `order_id`), so the generated SQL needs no quoting"
    } else {
        "use letters, digits and `_`, starting with a letter or `_`"
    }
}

/// Parses `ref('m')`, `ref('pkg', 'm')` or `source('s', 't')` (single or double quotes).
pub fn parse_relation(text: &str) -> Result<Relation, String> {
    let text = text.trim();
    let (func, rest) = text.split_once('(').ok_or("expected a ref(...) or source(...) call")?;
    let func = func.trim();
    let args = rest.strip_suffix(')').ok_or("the call is not closed with `)`")?;
    let args: Vec<String> = args
        .split(',')
        .map(|a| {
            let a = a.trim();
            let unquoted = a
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| a.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                .ok_or_else(|| format!("argument {a} must be a quoted name"))?;
            match identifier_problem(unquoted) {
                None => Ok(unquoted.to_string()),
                Some(problem) => Err(format!("name `{unquoted}` is not valid: {problem}")),
            }
        })
        .collect::<Result<_, _>>()?;
    match (func, args.as_slice()) {
        ("ref", [m]) => Ok(Relation::Ref { package: None, model: m.clone() }),
        ("ref", [p, m]) => Ok(Relation::Ref { package: Some(p.clone()), model: m.clone() }),
        ("source", [s, t]) => Ok(Relation::Source { source: s.clone(), table: t.clone() }),
        ("ref", _) => Err("ref() takes one or two names".into()),
        ("source", _) => Err("source() takes two names".into()),
        _ => Err(format!("`{func}` is neither ref nor source")),
    }
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD` (year 1000 or later).
pub(super) fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if !(b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (s[..4].parse::<i64>(), s[5..7].parse::<i64>(), s[8..10].parse::<i64>()) else { return false };
    year >= 1000 && (1..=12).contains(&month) && (1..=crate::calendar::days_in_month(year, month)).contains(&day)
}

/// Shows a user value in a message without letting control characters or huge strings through.
pub(super) fn escape(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(|c| if c.is_control() { c.escape_debug().collect::<Vec<_>>() } else { vec![c] }).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
