//! The spec format (v1): what users write in `incremental.yml`, parsed with source positions and
//! validated into [`Model`]s that can always be generated.
//!
//! - [`model`]: the validated form (what the rest of dbt-incr reads) and the key names;
//! - [`parse`]: the raw YAML form, the parser's limits, file-level checks;
//! - [`validate`]: the checks of one model entry, key by key;
//! - [`refusals`]: the strategy a model gets, and every combination refused with its reason;
//! - [`yaml`]: YAML and shape errors explained with their key path;
//! - [`names`]: identifiers, reserved words, `ref()`/`source()` calls, dates;
//! - [`edit`]: adding an entry to a spec's text, comments and order kept;
//! - [`schema`]: the JSON Schema of the format, for editors.
//!
//! Validation collects every problem of a file before giving up, so a user fixes them in one go.

pub mod edit;
pub mod model;
pub mod names;
pub mod parse;
mod refusals;
pub mod schema;
mod validate;
pub mod yaml;

pub use model::{DEFAULT_LOOKBACK, KeywordCase, Lookback, MAX_SPEC_BYTES, MODEL_KEYS, Model, Relation, SpecFile, TOP_KEYS, TimeUnit};
pub use names::{PLACEHOLDERS, RESERVED_WORDS, identifier_problem, is_placeholder, parse_relation};
pub use parse::{DialectChoice, SpecSource, parse};
