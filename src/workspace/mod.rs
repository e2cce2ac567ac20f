//! A plan against the project on disk: [`compare`] says what differs (and who owns each file),
//! [`write`] writes what changed atomically, [`scan`] reads files as dbt-incr sees them.

pub mod compare;
pub mod scan;
pub mod write;

pub use compare::{Comparison, Finding, Status, compare};
pub use write::{WriteOptions, WriteReport, write, write_atomic, write_with};
