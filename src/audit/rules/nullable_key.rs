//! `nullable-key`: a unique_key column no test or constraint keeps from being NULL. Claimed only
//! with the manifest.

use super::{Context, Hit, Rule};

pub const WHY: &str = "a NULL key never matches in the merge (`NULL = NULL` is not true): every run that re-reads the row inserts it again, and delete+insert never deletes it";
pub const FIX: &str = "filter out or replace NULL keys before the merge (`where key is not null`, or `coalesce(key, '')` in a surrogate key), and test the key `not_null`";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if !m.manifest || !m.keyed() {
        return Vec::new();
    }
    let own = m.facts.get(&m.own);
    let inputs = m.inputs();
    let guarded_in_sql = |k: &str| m.incremental.preds().iter().any(|(_, p)| p.text.contains(&format!("{k} is not null")));
    let nullable: Vec<&String> = m
        .unique_key
        .iter()
        .filter(|k| {
            let own_test = own.is_some_and(|f| f.not_null.contains(k));
            let sources = m.key_sources(k);
            let upstream = sources.iter().all(|s| inputs.iter().filter_map(|i| m.facts.get(i)).any(|f| f.not_null.contains(s)));
            !own_test && !upstream && !guarded_in_sql(k)
        })
        .collect();
    if nullable.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = nullable.iter().map(|k| format!("`{k}`")).collect();
    vec![Hit {
        rule: Rule::NullableKey,
        line: m.filter.first().and_then(|r| r.line),
        message: format!("unique_key {} may be NULL: no not_null test or constraint on it in the model or in {}", list.join(", "), if inputs.is_empty() { "its input".to_string() } else { inputs.join(", ") }),
    }]
}
