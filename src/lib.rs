//! dbt-incr: generates dbt incremental models that stay equal to a full refresh through late
//! data, duplicates and backfills, plus the dispatchable macro package they call.
//!
//! The layers, from the bottom up; each imports only from layers above it in this list
//! (ARCHITECTURE.md says what each owns and where a new dialect, command, rule or test goes):

/// One error type, rendered with file, line, key and hint.
pub mod error;
/// The calendar as days since 1970-01-01 (spec dates, backfill bounds, test rows).
pub mod calendar;
/// Every warehouse as data: strategies, capabilities, dispatch parent.
pub mod dialect;
/// The spec format: types, parsing with positions, validation and refusals, JSON Schema.
pub mod spec;
/// The dbt project on disk (dbt_project.yml, profiles, catalog): read-only.
pub mod project;
/// The text of every generated file: models, properties, macro package, header.
pub mod render;
/// Offline compile of a generated model under a mock dbt context.
pub mod compile;
/// Specs + project -> every file in memory.
pub mod plan;
/// A plan against the disk: compare (ownership, orphans) and write atomically.
pub mod workspace;
/// What a regeneration means for the data (`plan`).
pub mod review;
/// The classic mistakes of hand-written incremental models (`audit`).
pub mod audit;
/// Backfill requests, running them through the user's dbt, and `verify` against a full refresh.
pub mod backfill;
/// Output formats shared by commands: text, JSON, GitHub annotations.
pub mod report;
/// One file per command: arguments in, layers called, report out.
pub mod commands;
/// The command line: clap definitions and dispatch to `commands`.
pub mod cli;
