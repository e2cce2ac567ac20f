//! One file per command. Each reads top-down: take the parsed arguments, call the layers below
//! (spec, plan, workspace, review, audit, compile), print a report, return the exit code.

pub mod audit;
pub mod backfill;
pub mod check;
pub mod compile;
pub mod dialects;
pub mod generate;
pub mod review;
pub mod scaffold;
pub mod schema;
pub mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::Error;
use crate::plan::{self, Plan, Request};
use crate::report::{ColorChoice, Format};
use crate::workspace::{Comparison, compare};

/// Where `profiles.yml` is and which of its targets to read, taken as dbt takes them: every
/// command that reads the profile (for the dialect, or where a table lands) flattens it in.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProfileArgs {
    /// The folder holding profiles.yml [default: DBT_PROFILES_DIR, the project, the current
    /// folder, ~/.dbt: dbt's order].
    #[arg(long, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// The profile's target to read (its adapter, schema, database) [default: DBT_TARGET, else
    /// the profile's `target:`].
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
}

/// Arguments shared by `check`, `diff` and `plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// The dbt project (folder holding dbt_project.yml).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// A spec file, or a folder of *.yml specs [default: incremental.yml in the project].
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Warehouse dialect, when the spec has no `dialect:` [default: the profile's adapter].
    #[arg(long, value_name = "NAME")]
    pub dialect: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Colour diffs [default: auto, on a terminal unless NO_COLOR is set].
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The plan for `args`, and how the disk differs from it.
fn plan_and_compare(args: &PlanArgs) -> Result<(Plan, Comparison), Error> {
    let request = Request { project_dir: args.project.clone(), spec: args.spec.clone(), dialect: args.dialect.clone(), dialect_overrides_spec: false, profiles_dir: args.profile.profiles_dir.clone(), target: args.profile.target.clone() };
    let plan = plan::plan(&request)?;
    let comparison = compare(&plan)?;
    Ok((plan, comparison))
}

/// Prints an error in the command's output format; exit 2.
fn print_error(error: &Error, format: Format) -> ExitCode {
    match format {
        Format::Text => eprint!("{error}"),
        Format::Json => print!("{}", crate::report::json_errors(error)),
        Format::Github => print!("{}", crate::report::github_errors(error)),
    }
    ExitCode::from(2)
}
