//! `microbatch-no-event-time`: a microbatch model, or one of its inputs, without `event_time`.

use super::{Context, Hit, Rule};

pub const WHY: &str = "dbt filters a microbatch model's inputs to each batch by their `event_time`: an input without it is read whole by every batch, so each batch writes rows of other batches (duplicates, or overwrites a batch with the wrong rows)";
pub const FIX: &str = "set `event_time` in the config of the model and of each input it reads (`config: {event_time: event_at}` in their YAML), or read the input through `.render()` with a filter of your own";

pub fn check(m: &Context<'_>) -> Vec<Hit> {
    if m.strategy.as_deref() != Some("microbatch") {
        return Vec::new();
    }
    if m.config.get("event_time").and_then(|v| v.as_str()).is_none() {
        return vec![Hit { rule: Rule::MicrobatchNoEventTime, line: None, message: "the microbatch model has no `event_time`: dbt cannot tell which batch a row belongs to".to_string() }];
    }
    if !m.manifest {
        return Vec::new();
    }
    let missing: Vec<String> = m.inputs().into_iter().filter(|i| m.facts.get(i).is_some_and(|f| f.event_time.is_none())).collect();
    if missing.is_empty() {
        return Vec::new();
    }
    vec![Hit { rule: Rule::MicrobatchNoEventTime, line: None, message: format!("{} {} no `event_time`: every batch reads all of it", missing.join(", "), if missing.len() == 1 { "has" } else { "have" }) }]
}
