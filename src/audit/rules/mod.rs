//! The rules, one file each: what each catches (`check`), why it loses or duplicates rows, and the
//! fix. Every rule reads the same [`Context`]: the model's config and its two parsed renderings,
//! the incremental filter found by comparing them, and what dbt's artifacts say about its inputs.

mod append_with_lookback;
mod batch_aggregate;
mod bigquery_pruning;
mod clock_window;
mod event_time_filter;
mod insert_overwrite_partial;
mod microbatch_no_event_time;
mod no_dedup;
mod no_empty_fallback;
mod no_lookback;
mod nondeterministic_dedup;
mod nullable_key;
mod unguarded_window;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::analysis::{Against, Parsed, Range};
use super::discovery::Facts;
use crate::project::catalog::{is_load_time, is_timestamp_like};
use crate::spec::Relation;

/// One mistake a rule catches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    EventTimeFilter,
    NoLookback,
    NoDedup,
    NoEmptyFallback,
    AppendWithLookback,
    NondeterministicDedup,
    BigqueryPruning,
    ClockWindow,
    BatchAggregate,
    UnguardedWindow,
    InsertOverwritePartial,
    MicrobatchNoEventTime,
    NullableKey,
}

impl Rule {
    pub const ALL: [Rule; 13] = [
        Rule::EventTimeFilter,
        Rule::NoLookback,
        Rule::NoDedup,
        Rule::NoEmptyFallback,
        Rule::AppendWithLookback,
        Rule::NondeterministicDedup,
        Rule::BigqueryPruning,
        Rule::ClockWindow,
        Rule::BatchAggregate,
        Rule::UnguardedWindow,
        Rule::InsertOverwritePartial,
        Rule::MicrobatchNoEventTime,
        Rule::NullableKey,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::EventTimeFilter => "event-time-filter",
            Rule::NoLookback => "no-lookback",
            Rule::NoDedup => "no-dedup",
            Rule::NoEmptyFallback => "no-empty-fallback",
            Rule::AppendWithLookback => "append-with-lookback",
            Rule::NondeterministicDedup => "nondeterministic-dedup",
            Rule::BigqueryPruning => "bigquery-pruning",
            Rule::ClockWindow => "clock-window",
            Rule::BatchAggregate => "batch-aggregate",
            Rule::UnguardedWindow => "unguarded-window",
            Rule::InsertOverwritePartial => "insert-overwrite-partial",
            Rule::MicrobatchNoEventTime => "microbatch-no-event-time",
            Rule::NullableKey => "nullable-key",
        }
    }

    /// Why the mistake loses or duplicates rows.
    pub fn why(self) -> &'static str {
        match self {
            Rule::EventTimeFilter => event_time_filter::WHY,
            Rule::NoLookback => no_lookback::WHY,
            Rule::NoDedup => no_dedup::WHY,
            Rule::NoEmptyFallback => no_empty_fallback::WHY,
            Rule::AppendWithLookback => append_with_lookback::WHY,
            Rule::NondeterministicDedup => nondeterministic_dedup::WHY,
            Rule::BigqueryPruning => bigquery_pruning::WHY,
            Rule::ClockWindow => clock_window::WHY,
            Rule::BatchAggregate => batch_aggregate::WHY,
            Rule::UnguardedWindow => unguarded_window::WHY,
            Rule::InsertOverwritePartial => insert_overwrite_partial::WHY,
            Rule::MicrobatchNoEventTime => microbatch_no_event_time::WHY,
            Rule::NullableKey => nullable_key::WHY,
        }
    }

    /// How to fix it in the hand-written model.
    pub fn fix(self) -> &'static str {
        match self {
            Rule::EventTimeFilter => event_time_filter::FIX,
            Rule::NoLookback => no_lookback::FIX,
            Rule::NoDedup => no_dedup::FIX,
            Rule::NoEmptyFallback => no_empty_fallback::FIX,
            Rule::AppendWithLookback => append_with_lookback::FIX,
            Rule::NondeterministicDedup => nondeterministic_dedup::FIX,
            Rule::BigqueryPruning => bigquery_pruning::FIX,
            Rule::ClockWindow => clock_window::FIX,
            Rule::BatchAggregate => batch_aggregate::FIX,
            Rule::UnguardedWindow => unguarded_window::FIX,
            Rule::InsertOverwritePartial => insert_overwrite_partial::FIX,
            Rule::MicrobatchNoEventTime => microbatch_no_event_time::FIX,
            Rule::NullableKey => nullable_key::FIX,
        }
    }

    fn check(self, m: &Context<'_>) -> Vec<Hit> {
        match self {
            Rule::EventTimeFilter => event_time_filter::check(m),
            Rule::NoLookback => no_lookback::check(m),
            Rule::NoDedup => no_dedup::check(m),
            Rule::NoEmptyFallback => no_empty_fallback::check(m),
            Rule::AppendWithLookback => append_with_lookback::check(m),
            Rule::NondeterministicDedup => nondeterministic_dedup::check(m),
            Rule::BigqueryPruning => bigquery_pruning::check(m),
            Rule::ClockWindow => clock_window::check(m),
            Rule::BatchAggregate => batch_aggregate::check(m),
            Rule::UnguardedWindow => unguarded_window::check(m),
            Rule::InsertOverwritePartial => insert_overwrite_partial::check(m),
            Rule::MicrobatchNoEventTime => microbatch_no_event_time::check(m),
            Rule::NullableKey => nullable_key::check(m),
        }
    }
}

/// A rule's finding before it gets its file: the model line and what exactly is wrong.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: Rule,
    pub line: Option<usize>,
    pub message: String,
}

/// What happened when the model rendered on an existing but empty target.
#[derive(Debug, Clone)]
pub enum EmptyTarget {
    /// Nothing is read from the target in Jinja: the SQL is the same.
    NotRead,
    /// The incremental filter's ranges on that rendering.
    Ranges(Vec<Range>),
    /// It does not render or parse: why.
    Fails(String),
}

/// Everything a rule reads about one model.
#[derive(Debug)]
pub struct Context<'a> {
    pub dialect: &'a str,
    pub config: &'a Map<String, Value>,
    pub strategy: Option<String>,
    pub unique_key: Vec<String>,
    pub full: &'a Parsed,
    pub incremental: &'a Parsed,
    /// The range predicates only the incremental rendering has: the incremental filter.
    pub filter: Vec<Range>,
    /// Range predicates against the target or the clock that the full refresh has too.
    pub unguarded: Vec<Range>,
    pub empty_target: EmptyTarget,
    /// Rendered name -> relation.
    pub relations: &'a BTreeMap<String, Relation>,
    /// By relation (`ref('m')`); empty without a manifest.
    pub facts: &'a HashMap<String, Facts>,
    pub manifest: bool,
    /// The model's own relation (`ref('name')`).
    pub own: String,
    /// The first `is_incremental()` line of the model (where a finding goes without a better line).
    pub branch_line: Option<usize>,
}

impl Context<'_> {
    /// Runs every rule.
    pub fn findings(&self) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Rule::ALL.iter().flat_map(|r| r.check(self)).collect();
        for h in &mut hits {
            h.line = h.line.or(self.branch_line);
        }
        hits.sort_by_key(|h| (h.line, h.rule));
        // A macro expanded twice yields the same finding twice.
        hits.dedup_by(|a, b| a.rule == b.rule && a.line == b.line && a.message == b.message);
        hits
    }

    /// The filter's ranges against the target.
    pub fn target_ranges(&self) -> impl Iterator<Item = &Range> {
        self.filter.iter().filter(|r| r.against == Against::Target)
    }

    /// Append: `incremental_strategy='append'`, or no strategy and no key (dbt's default then).
    pub fn appends(&self) -> bool {
        match self.strategy.as_deref() {
            Some(s) => s == "append",
            None => self.unique_key.is_empty(),
        }
    }

    /// Whether the model merges or replaces rows by key.
    pub fn keyed(&self) -> bool {
        !self.unique_key.is_empty() && matches!(self.strategy.as_deref(), None | Some("merge" | "delete+insert" | "delete_insert"))
    }

    /// The relations the filter's scope reads (through CTEs and derived tables), as
    /// `ref('m')`/`source('s', 't')`; the model's inputs when there is no filter.
    pub fn inputs(&self) -> Vec<String> {
        let scopes: Vec<usize> = match self.filter.first() {
            Some(r) => vec![r.scope],
            None => (0..self.incremental.scopes.len()).collect(),
        };
        let mut out = Vec::new();
        for s in scopes {
            for name in self.incremental.inputs(s) {
                if let Some(r) = self.relations.get(&name) {
                    let call = r.jinja_call();
                    if !out.contains(&call) {
                        out.push(call);
                    }
                }
            }
        }
        out
    }

    /// The type target/catalog.json gives `column` in the filter's inputs, if known.
    pub fn column_type(&self, column: &str) -> Option<&str> {
        self.inputs().iter().filter_map(|i| self.facts.get(i)).flat_map(|f| f.columns.iter()).find(|(n, _)| n.eq_ignore_ascii_case(column)).map(|(_, t)| t.as_str())
    }

    /// Whether `column` is a time: by its catalog type, else by its name.
    pub fn is_time(&self, column: &str) -> bool {
        match self.column_type(column) {
            Some(t) => {
                let t = t.to_ascii_lowercase();
                t.contains("time") || t.contains("date")
            }
            None => is_time_name(column),
        }
    }
}

/// Whether a name looks like a time: `*_at`, `*_ts`, `*_tstamp`, `*_time`, `*_date`, `date_day`,
/// `*_dt`, a load time, ….
pub fn is_time_name(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    is_timestamp_like(&c) || is_load_time(&c) || c.ends_with("tstamp") || c.ends_with("_dt") || c == "dt" || c.starts_with("date_") || c.ends_with("_day") || c == "day" || c.ends_with("_hour") || c.ends_with("_month")
}

/// `column` as a load time (when the loader wrote the row), by name.
pub fn is_load_column(column: &str) -> bool {
    is_load_time(column)
}

impl Context<'_> {
    /// The input columns a key column comes from: itself, the column it renames, or the columns
    /// of the expression it is computed from (a surrogate key).
    pub fn key_sources(&self, key: &str) -> Vec<String> {
        for scope in &self.incremental.scopes {
            for p in &scope.projection {
                if p.name.as_deref() == Some(key) {
                    match &p.column {
                        Some(c) if c != key => return vec![c.clone()],
                        Some(_) => {}
                        None if !p.reads.is_empty() => return p.reads.clone(),
                        None => {}
                    }
                }
            }
        }
        vec![key.to_string()]
    }
}
