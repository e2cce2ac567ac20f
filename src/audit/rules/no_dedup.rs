//! `no-dedup`: a keyed model whose batch can hold several rows per key. Claimed only with the
//! manifest: when no test or constraint makes the key unique in the input, and nothing in the
//! model reduces the batch to one row per key.

use super::{Context, Hit, Rule};

pub const WHY: &str = "the input may hold several versions of a key (no unique test or constraint says otherwise), so one batch can too: merge fails with a duplicate-row error or picks one at random, and delete+insert inserts every version";
pub const FIX: &str = "deduplicate the batch to the latest version per key before the merge (`row_number() over (partition by key order by _loaded_at desc, <tie breakers>) = 1`), or test the key `unique` in the input if it is";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if !m.manifest || !m.keyed() || m.filter.is_empty() {
        return Vec::new();
    }
    let sources: Vec<String> = m.unique_key.iter().flat_map(|k| m.key_sources(k)).collect();
    if m.incremental.deduplicates(&m.unique_key) || m.incremental.deduplicates(&sources) {
        return Vec::new();
    }
    let inputs = m.inputs();
    let unique_upstream = inputs.iter().filter_map(|i| m.facts.get(i)).any(|f| f.unique.iter().any(|set| !set.is_empty() && set.iter().all(|c| sources.contains(c))));
    if unique_upstream || inputs.is_empty() {
        return Vec::new();
    }
    let key = m.unique_key.join(", ");
    let from = if sources.len() == m.unique_key.len() && sources.iter().zip(&m.unique_key).all(|(s, k)| s == k) { String::new() } else { format!(" (from {})", sources.join(", ")) };
    let r = &m.filter[0];
    vec![Hit {
        rule: Rule::NoDedup,
        line: r.line,
        message: format!("unique_key `{key}`{from} is not tested unique in {}, and nothing reduces the batch to one row per key before the merge", inputs.join(", ")),
    }]
}
