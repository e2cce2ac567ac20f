//! Keyword case, the house style a spec chooses (`keyword_case: lower | upper`): the SQL keywords
//! of generated files, and nothing else, in that case.
//!
//! Generated files are dbt Jinja around SQL, so the scan leaves alone everything that is not SQL
//! text: Jinja tags (`{{ … }}`, `{% … %}`, `{# … #}`, which may hold words like `if` or `not` that
//! Jinja needs in lower case), string literals (`'…'`), quoted identifiers (`"…"`, `` `…` ``) and
//! `--` comments. Functions (`coalesce`, `row_number`), types and literals (`true`, `null` is a
//! keyword) keep their case: sqlfluff checks keywords (CP01) apart from functions (CP03), types
//! (CP05) and literals (CP04).

use crate::spec::KeywordCase;

/// The SQL keywords generated files use, lower case. Templates and macros write them in lower
/// case; `keyword_case: upper` turns these (and only these) to upper case.
const KEYWORDS: &[&str] = &[
    "all", "and", "as", "asc", "between", "by", "case", "cross", "day", "delete", "desc", "distinct", "else", "end",
    "exists", "from", "full", "group", "having", "hour", "in", "inner", "interval", "is", "join", "last", "left",
    "limit", "minute", "not", "null", "nulls", "on", "or", "order", "outer", "over", "partition", "qualify",
    "right", "select", "then", "union", "using", "when", "where", "with",
];

/// `text` (a generated file) with its SQL keywords in `case`. Lower case returns it unchanged:
/// templates are written in lower case.
pub fn apply(text: &str, case: KeywordCase) -> String {
    if case == KeywordCase::Lower {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        // Jinja: copied up to its closing delimiter.
        let close = if rest.starts_with("{{") {
            Some("}}")
        } else if rest.starts_with("{%") {
            Some("%}")
        } else if rest.starts_with("{#") {
            Some("#}")
        } else {
            None
        };
        if let Some(close) = close {
            let end = jinja_end(rest, close);
            out.push_str(&rest[..end]);
            i += end;
            continue;
        }
        let c = bytes[i];
        if c == b'-' && rest.starts_with("--") {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            i += end;
            continue;
        }
        if matches!(c, b'\'' | b'"' | b'`') {
            // A quoted string or identifier, up to its closing quote (a doubled quote escapes
            // one; a Jinja tag inside is copied with it).
            let mut j = 1;
            while j < rest.len() {
                if rest.as_bytes()[j] == c {
                    if rest.as_bytes().get(j + 1) == Some(&c) {
                        j += 2;
                        continue;
                    }
                    j += 1;
                    break;
                }
                j += 1;
            }
            out.push_str(&rest[..j.min(rest.len())]);
            i += j.min(rest.len());
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let len = rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(rest.len());
            let word = &rest[..len];
            // A word right after `.` is a column or a table, not a keyword.
            let qualified = out.ends_with('.');
            if !qualified && KEYWORDS.contains(&word) {
                out.push_str(&word.to_ascii_uppercase());
            } else {
                out.push_str(word);
            }
            i += len;
            continue;
        }
        let ch = rest.chars().next().expect("not at the end");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The length of the Jinja tag `rest` starts with, up to and with `close`; a string literal in
/// an expression may hold the delimiter (`post_hook="… {{ this }} …"`), a comment may not.
fn jinja_end(rest: &str, close: &str) -> usize {
    let bytes = rest.as_bytes();
    let mut quote: Option<u8> = None;
    let mut j = 2;
    while j < bytes.len() {
        let b = bytes[j];
        match quote {
            Some(_) if b == b'\\' => j += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if close != "#}" && (b == b'\'' || b == b'"') => quote = Some(b),
            None if bytes[j..].starts_with(close.as_bytes()) => return j + close.len(),
            None => {}
        }
        j += 1;
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sql_keywords_change() {
        let text = "{# marker: select from #}\n{%- if not incremental %}\nselect *, 'from where' as x, \"order\" -- from here\nfrom {{ source('raw', 'events') }} as s\nwhere s.from is not null and coalesce(a, b) > interval '3 day'\n{%- endif %}\n";
        let want = "{# marker: select from #}\n{%- if not incremental %}\nSELECT *, 'from where' AS x, \"order\" -- from here\nFROM {{ source('raw', 'events') }} AS s\nWHERE s.from IS NOT NULL AND coalesce(a, b) > INTERVAL '3 day'\n{%- endif %}\n";
        assert_eq!(apply(text, KeywordCase::Upper), want);
        assert_eq!(apply(text, KeywordCase::Lower), text);
        // A delimiter inside a Jinja string does not end the tag.
        let hook = "{{ config(post_hook=\"delete from {{ this }} where d = true\") }}\nselect 1";
        assert_eq!(apply(hook, KeywordCase::Upper), "{{ config(post_hook=\"delete from {{ this }} where d = true\") }}\nSELECT 1");
        assert_eq!(apply("{# a … b #} select", KeywordCase::Upper), "{# a … b #} SELECT");
    }
}
