//! Backfills as a reviewed, repeatable procedure: request files under `backfills/` (`request`),
//! what a request runs (`steps`: the dbt commands, the compiled SQL, the models downstream, the
//! keys it touches), running it through the user's own dbt and recording the outcome (`run`),
//! and checking on the warehouse that a table still equals a full refresh (`verify`). Nothing
//! here talks to a warehouse but through dbt (`dbt`), and everything is read back from dbt's own
//! outputs.

pub mod dbt;
pub mod request;
pub mod run;
pub mod steps;
pub mod time;
pub mod verify;
