//! The text of every file dbt-incr writes into a project, decided from validated models:
//!
//! - [`model`]: a model's SQL file (decisions in Rust, layout in `templates/model.sql`);
//! - [`properties`]: a model's properties YAML (description, data tests, unit tests);
//! - [`runbook`]: a model's backfill runbook, a dbt docs block in `<model>.md`;
//! - [`macros`]: the `dbt_incr` macro package (sources in `macros/dbt_incr/`);
//! - [`header`]: the marker, content hash and settings line every generated file starts with;
//! - [`case`]: the spec's keyword case, applied to the SQL of generated files.

pub mod case;
pub mod header;
pub mod macros;
pub mod model;
pub mod properties;
pub mod runbook;

pub use model::Renderer;
