//! The command line: parses arguments, hands them to the command's file under `commands/`, maps
//! the outcome to an exit code (0 success, 1 findings or changes where a command says so, 2 error).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{self, PlanArgs};
use crate::error::Error;

const EXAMPLES: &str = "\
Examples:
  dbt-incr generate                              # incremental.yml in the current dbt project
  dbt-incr generate --project examples/shop      # another project
  dbt-incr generate --spec specs/ --dialect snowflake
  dbt-incr dialects                              # what each warehouse supports
  dbt-incr backfill new fct_events --start 2024-01-03 --end 2024-01-05 --reason \"…\"
  dbt-incr verify fct_events                     # does the table still equal a full refresh?";

/// Generate dbt incremental models that stay equal to a full refresh through late data,
/// duplicates and backfills.
#[derive(Debug, Parser)]
#[command(name = "dbt-incr", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write one incremental model per spec entry, and the dbt_incr macro package, into a dbt project.
    #[command(after_help = "Examples:\n  dbt-incr generate\n  dbt-incr generate --project examples/shop\n  dbt-incr generate --spec specs/ --dialect bigquery\n\nExit status: 0 on success, 2 on any error (nothing is written then).")]
    Generate(commands::generate::Args),
    /// Compare what `generate` would write with the disk: exit 0 identical, 1 anything would change, 2 error.
    #[command(after_help = "Examples:\n  dbt-incr check\n  dbt-incr check --format github     # annotations in GitHub Actions\n  dbt-incr check --format json\n\nReports missing, changed, hand-edited, foreign (in the way) and orphaned files, each with a\nunified diff; validates pending backfill requests (backfills/*.yml). Exit status: 0 up to date,\n1 something would change or a pending request has problems, 2 error.")]
    Check(PlanArgs),
    /// Show the diff `generate` would make, without failing (coloured on a terminal).
    Diff(PlanArgs),
    /// Review summary: per changed model, what changed in its spec and what it means for the data.
    #[command(after_help = "Examples:\n  dbt-incr plan\n  dbt-incr plan --format json\n\nSays, with the reason, which changes need `dbt run --full-refresh` (key, dedup order,\nload_time, source) and which do not (lookback, strategy, columns under on_schema_change).")]
    Plan(PlanArgs),
    /// Print the SQL a generated model runs, compiled offline under a mock dbt context.
    #[command(after_help = "Examples:\n  dbt-incr compile fct_events\n  dbt-incr compile fct_events --dialect bigquery --branch backfill\n\nThe mock answers `is_incremental()` and the backfill vars per branch, reads the source's\ncolumns from the spec (or a stand-in list), and uses 2024-03-01 as a BigQuery watermark.")]
    Compile(commands::compile::Args),
    /// List the dialects with their strategies and capabilities.
    Dialects,
    /// Write a commented starter incremental.yml into a dbt project (never overwrites one).
    #[command(after_help = "Examples:\n  dbt-incr init\n  dbt-incr init --project analytics\n\nExit status: 0 on success, 2 on any error (an existing incremental.yml is one).")]
    Init(commands::scaffold::InitArgs),
    /// Add a model to incremental.yml (comments and order kept), then generate.
    #[command(after_help = "Examples:\n  dbt-incr new fct_events --from \"source('raw', 'events')\" --unique-key event_id\n  dbt-incr new fct_lines --from \"ref('stg_lines')\" --unique-key order_id,line_no --load-time _loaded_at\n\nWith target/manifest.json and target/catalog.json (`dbt docs generate`), lists the source's columns\nand proposes the load-time column. Exit status: 0 on success, 2 on any error (nothing is written then).")]
    New(commands::scaffold::NewArgs),
    /// Report the classic mistakes of hand-written incremental models, with the spec entry to replace each.
    #[command(after_help = "Examples:\n  dbt-incr audit\n  dbt-incr audit --project analytics --format github\n\nExit status: 0 no findings, 1 findings, 2 error. Every rule: docs/audit.md.")]
    Audit(commands::audit::Args),
    /// Backfill requests as reviewed files: write one, review what it runs, run it and record the outcome.
    #[command(subcommand)]
    Backfill(commands::backfill::Command),
    /// Check on the warehouse, through dbt, that a model's table equals what a full refresh would build.
    #[command(after_help = "Examples:\n  dbt-incr verify fct_events\n  dbt-incr verify fct_events fct_order_lines --start 2024-01-01 --end 2024-02-01 --target prod\n\nCompiles each model's full-refresh query with dbt (`--vars '{dbt_incr_full_refresh: true}'`) and\ncompares it with the table as multisets of rows, in the dbt_incr_verify macro (`dbt run-operation`);\nnothing is created. Exit status: 0 equal, 1 different (with a sample of differing rows per key), 2 error.")]
    Verify(commands::verify::Args),
    /// Print the JSON Schema of the spec (incremental.yml), for editors.
    #[command(after_help = "Examples:\n  dbt-incr schema > incremental.schema.json\n\nThen start incremental.yml with:\n  # yaml-language-server: $schema=incremental.schema.json")]
    Schema,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let outcome: Result<ExitCode, Error> = match cli.command {
        // These print their own errors, in the format asked for.
        Command::Check(args) => return commands::check::run(commands::check::Command::Check, &args),
        Command::Diff(args) => return commands::check::run(commands::check::Command::Diff, &args),
        Command::Plan(args) => return commands::review::run(&args),
        Command::Generate(args) => commands::generate::run(args).map(|()| ExitCode::SUCCESS),
        Command::Compile(args) => commands::compile::run(args).map(|()| ExitCode::SUCCESS),
        Command::Dialects => {
            commands::dialects::run();
            Ok(ExitCode::SUCCESS)
        }
        Command::Init(args) => commands::scaffold::run_init(args).map(|()| ExitCode::SUCCESS),
        Command::New(args) => commands::scaffold::run_new(args).map(|()| ExitCode::SUCCESS),
        Command::Audit(args) => commands::audit::run(args),
        Command::Backfill(command) => commands::backfill::run(command),
        Command::Verify(args) => commands::verify::run(args),
        Command::Schema => {
            commands::schema::run();
            Ok(ExitCode::SUCCESS)
        }
    };
    outcome.unwrap_or_else(|e| {
        eprint!("{e}");
        ExitCode::from(2)
    })
}
