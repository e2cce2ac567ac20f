//! The command line: parses arguments, runs a command, maps the outcome to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::compile::{self, Branch};
use crate::dialect::{DIALECTS, Strategy};
use crate::error::Error;
use crate::generate::{self, Request};

const EXAMPLES: &str = "\
Examples:
  dbt-incr generate                              # incremental.yml in the current dbt project
  dbt-incr generate --project examples/shop      # another project
  dbt-incr generate --spec specs/ --dialect snowflake
  dbt-incr dialects                              # what each warehouse supports";

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
    Generate {
        /// The dbt project (folder holding dbt_project.yml).
        #[arg(long, default_value = ".", value_name = "DIR")]
        project: PathBuf,
        /// A spec file, or a folder of *.yml specs [default: incremental.yml in the project].
        #[arg(long, value_name = "PATH")]
        spec: Option<PathBuf>,
        /// Warehouse dialect, when the spec has no `dialect:` [default: the profile's adapter].
        #[arg(long, value_name = "NAME")]
        dialect: Option<String>,
        /// Print nothing on success.
        #[arg(long, short)]
        quiet: bool,
        /// Overwrite generated files edited by hand (never files dbt-incr did not write).
        #[arg(long)]
        force: bool,
        /// Delete orphans: files dbt-incr generated that no spec produces any more.
        #[arg(long)]
        prune: bool,
    },
    /// Compare what `generate` would write with the disk: exit 0 identical, 1 anything would change, 2 error.
    #[command(after_help = "Examples:\n  dbt-incr check\n  dbt-incr check --format github     # annotations in GitHub Actions\n  dbt-incr check --format json\n\nReports missing, changed, hand-edited, foreign (in the way) and orphaned files, each with a\nunified diff. Exit status: 0 up to date, 1 something would change, 2 error.")]
    Check(crate::check::Args),
    /// Show the diff `generate` would make, without failing (coloured on a terminal).
    Diff(crate::check::Args),
    /// Review summary: per changed model, what changed in its spec and what it means for the data.
    #[command(after_help = "Examples:\n  dbt-incr plan\n  dbt-incr plan --format json\n\nSays, with the reason, which changes need `dbt run --full-refresh` (key, dedup order,\nload_time, source) and which do not (lookback, strategy, columns under on_schema_change).")]
    Plan(crate::check::Args),
    /// Print the SQL a generated model runs, compiled offline under a mock dbt context.
    #[command(after_help = "Examples:\n  dbt-incr compile fct_events\n  dbt-incr compile fct_events --dialect bigquery --branch backfill\n\nThe mock answers `is_incremental()` and the backfill vars per branch, reads the source's\ncolumns from the spec (or a stand-in list), and uses 2024-03-01 as a BigQuery watermark.")]
    Compile {
        /// The model's name, as in the spec.
        model: String,
        #[arg(long, default_value = ".", value_name = "DIR")]
        project: PathBuf,
        #[arg(long, value_name = "PATH")]
        spec: Option<PathBuf>,
        /// Compile for this dialect instead of the spec's.
        #[arg(long, value_name = "NAME")]
        dialect: Option<String>,
        /// Which branch of the model to compile [default: all three].
        #[arg(long, value_enum)]
        branch: Option<Branch>,
    },
    /// List the dialects with their strategies and capabilities.
    Dialects,
    /// Write a commented starter incremental.yml into a dbt project (never overwrites one).
    #[command(after_help = "Examples:\n  dbt-incr init\n  dbt-incr init --project analytics\n\nExit status: 0 on success, 2 on any error (an existing incremental.yml is one).")]
    Init {
        #[arg(long, default_value = ".", value_name = "DIR")]
        project: PathBuf,
    },
    /// Add a model to incremental.yml (comments and order kept), then generate.
    #[command(after_help = "Examples:\n  dbt-incr new fct_events --from \"source('raw', 'events')\" --unique-key event_id\n  dbt-incr new fct_lines --from \"ref('stg_lines')\" --unique-key order_id,line_no --load-time _loaded_at\n\nWith target/manifest.json and target/catalog.json (`dbt docs generate`), lists the source's columns\nand proposes the load-time column. Exit status: 0 on success, 2 on any error (nothing is written then).")]
    New {
        /// The model's name.
        name: String,
        /// What it reads: source('s', 't') or ref('m').
        #[arg(long, value_name = "RELATION")]
        from: String,
        /// The column(s) identifying a row, comma-separated.
        #[arg(long, value_name = "COLS", value_delimiter = ',')]
        unique_key: Vec<String>,
        /// The column the loader stamps when it writes a row [default: proposed from the catalog].
        #[arg(long, value_name = "COL")]
        load_time: Option<String>,
        /// The business timestamp (backfill windows).
        #[arg(long, value_name = "COL")]
        event_time: Option<String>,
        /// e.g. `3 days` [default: the spec's defaults].
        #[arg(long, value_name = "DURATION")]
        lookback: Option<String>,
        #[arg(long, default_value = ".", value_name = "DIR")]
        project: PathBuf,
    },
    /// Report the classic mistakes of hand-written incremental models, with the spec entry to replace each.
    #[command(after_help = "Examples:\n  dbt-incr audit\n  dbt-incr audit --project analytics --format github\n\nExit status: 0 no findings, 1 findings, 2 error. Every rule: docs/audit.md.")]
    Audit {
        #[arg(long, default_value = ".", value_name = "DIR")]
        project: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: crate::audit::Format,
        /// Warehouse dialect [default: the profile's adapter]; enables dialect rules (bigquery).
        #[arg(long, value_name = "NAME")]
        dialect: Option<String>,
    },
    /// Print the JSON Schema of the spec (incremental.yml), for editors.
    #[command(after_help = "Examples:\n  dbt-incr schema > incremental.schema.json\n\nThen start incremental.yml with:\n  # yaml-language-server: $schema=incremental.schema.json")]
    Schema,
}

/// Runs the command line and returns the process exit code: 0 success, 2 error.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let cli = match cli.command {
        Command::Check(args) => return crate::check::run(crate::check::Command::Check, &args),
        Command::Diff(args) => return crate::check::run(crate::check::Command::Diff, &args),
        Command::Plan(args) => return crate::check::run(crate::check::Command::Plan, &args),
        command => Cli { command },
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Generate { project, spec, dialect, quiet, force, prune } => {
            let plan = generate::plan(&Request { project_dir: project, spec, dialect, dialect_overrides_spec: false })?;
            let report = generate::write_with(&plan, generate::WriteOptions { force, prune })?;
            for path in &report.orphans {
                eprintln!("orphan: {} (no spec produces it any more; `dbt-incr generate --prune` deletes it)", path.display());
            }
            if !quiet {
                for path in &report.written {
                    println!("wrote {}", path.display());
                }
                for path in &report.removed {
                    println!("deleted {}", path.display());
                }
                println!(
                    "{} model(s): {} file(s) written, {} unchanged",
                    plan.models.len(),
                    report.written.len(),
                    report.unchanged.len()
                );
            }
            Ok(())
        }
        Command::Compile { model, project, spec, dialect, branch } => {
            let request = Request { project_dir: project, spec, dialect, dialect_overrides_spec: true };
            let plan = generate::plan(&request)?;
            let Some((m, file)) = plan.model_file(&model) else {
                let names: Vec<&str> = plan.models.iter().map(|m| m.name.as_str()).collect();
                let d = crate::error::Diagnostic::new(format!("no model `{model}` in the spec")).did_you_mean(&model, names.iter().copied());
                let d = if d.hint.is_some() { d } else { d.hint(format!("the spec's models: {}", names.join(", "))) };
                return Err(d.into());
            };
            let branches = branch.map(|b| vec![b]).unwrap_or_else(|| Branch::ALL.to_vec());
            for (i, b) in branches.iter().enumerate() {
                if branches.len() > 1 {
                    if i > 0 {
                        println!();
                    }
                    println!("-- {} · {} · {b}", m.name, m.dialect.name);
                }
                print!("{}", compile::compile(m, &file.contents, m.dialect, *b)?);
            }
            Ok(())
        }
        Command::Init { project } => {
            let path = crate::scaffold::init(&project)?;
            println!("wrote {}", path.display());
            Ok(())
        }
        Command::New { name, from, unique_key, load_time, event_time, lookback, project } => {
            let req = crate::scaffold::NewModel { project_dir: project, name: name.clone(), from, unique_key, load_time, event_time, lookback };
            let outcome = crate::scaffold::new_model(&req)?;
            for note in &outcome.notes {
                println!("{note}");
            }
            println!("added {name} to {}", outcome.spec_path.display());
            for path in &outcome.written.written {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Audit { project, format, dialect } => {
            let report = crate::audit::audit(&project, dialect.as_deref())?;
            print!("{}", crate::audit::format(&report, format));
            if report.finding_count() > 0 {
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Dialects => {
            print!("{}", dialects_table());
            Ok(())
        }
        Command::Check(_) | Command::Diff(_) | Command::Plan(_) => unreachable!("handled in main: they choose their exit code"),
        Command::Schema => {
            print!("{}", crate::schema::schema_text());
            Ok(())
        }
    }
}

/// The `dialects` table: one row per warehouse.
pub fn dialects_table() -> String {
    let mut rows = vec![[
        "dialect".to_string(),
        "strategies (default first)".to_string(),
        "qualify".to_string(),
        "minus 3 days".to_string(),
        "notes".to_string(),
    ]];
    for d in DIALECTS {
        let mut strategies: Vec<&str> = vec![d.default_strategy.name()];
        strategies.extend(
            Strategy::ALL.iter().filter(|s| **s != d.default_strategy && d.adapter_strategy(**s).is_some()).map(|s| s.name()),
        );
        rows.push([
            d.name.to_string(),
            strategies.join(", "),
            if d.qualify { "yes" } else { "no" }.to_string(),
            d.interval_example.replace("{ts}", "ts"),
            d.note.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out.push_str("\ninsert_overwrite is listed where the adapter has it but refused by dbt-incr: it drops rows a lookback batch does not re-read.\n");
    out
}
