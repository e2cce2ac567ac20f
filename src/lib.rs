//! dbt-incr: generates dbt incremental models that stay equal to a full refresh through late
//! data, duplicates and backfills, plus the dispatchable macro package they call.
//!
//! The pipeline: [`project`] finds the dbt project and its specs, [`spec`] parses and validates
//! them against a [`dialect`], [`render`] turns each model into text, [`generate`] plans and
//! writes the files. [`macros`] is the dbt macro package the models call.

pub mod audit;
pub mod check;
pub mod cli;
pub mod compile;
pub mod dialect;
pub mod error;
pub mod generate;
pub mod macros;
pub mod ownership;
pub mod project;
pub mod properties;
pub mod render;
pub mod review;
pub mod scaffold;
pub mod schema;
pub mod spec;
