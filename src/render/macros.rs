//! The dbt macro package every generated model calls, shipped inside the binary.
//!
//! The sources live in `macros/dbt_incr/` of this repository, one file per macro: the dispatcher,
//! `default__`, and one override per warehouse that needs it, each with a comment saying why.

use super::header::{self, MARKER};

/// `(file name, source)` of every macro file, in the order they are written.
pub const FILES: &[(&str, &str)] = &[
    ("backfill.sql", include_str!("../../macros/dbt_incr/backfill.sql")),
    ("input.sql", include_str!("../../macros/dbt_incr/input.sql")),
    ("keep_newest.sql", include_str!("../../macros/dbt_incr/keep_newest.sql")),
    ("latest_per_key.sql", include_str!("../../macros/dbt_incr/latest_per_key.sql")),
    ("overwrite.sql", include_str!("../../macros/dbt_incr/overwrite.sql")),
    ("partition_filter.sql", include_str!("../../macros/dbt_incr/partition_filter.sql")),
    ("subtract_interval.sql", include_str!("../../macros/dbt_incr/subtract_interval.sql")),
    ("timestamp_literal.sql", include_str!("../../macros/dbt_incr/timestamp_literal.sql")),
    ("unique_combination.sql", include_str!("../../macros/dbt_incr/unique_combination.sql")),
    ("verify.sql", include_str!("../../macros/dbt_incr/verify.sql")),
    ("watermark.sql", include_str!("../../macros/dbt_incr/watermark.sql")),
    ("window.sql", include_str!("../../macros/dbt_incr/window.sql")),
];

/// Folder, under the project's first macro path, the package is written to.
pub const PACKAGE_DIR: &str = "dbt_incr";

/// A macro file as written into a project: the marker header, then the source, its SQL
/// keywords in `case`.
pub fn with_header_in(source: &str, case: crate::spec::KeywordCase) -> String {
    header::stamp(&super::case::apply(&with_header(source), case))
}

/// A macro file as written into a project: the marker header, then the source.
pub fn with_header(source: &str) -> String {
    header::stamp(&format!(
        "{{# {MARKER}: the dbt_incr macro package.\n   Do not edit by hand: run `dbt-incr generate` to rewrite it.\n   One macro family per file (dbt-utils style): a dispatcher, its default__ and the adapters'\n   overrides, with private helpers (_dbt_incr_…) beside what uses them. #}}\n{source}"
    ))
}
