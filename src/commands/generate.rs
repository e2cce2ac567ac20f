//! `dbt-incr generate`: plan every file, refuse what must not be overwritten, write what changed.

use std::path::PathBuf;

use crate::error::Error;
use crate::commands::ProfileArgs;
use crate::plan::{self, Request};
use crate::workspace::{self, WriteOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
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
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
    /// Overwrite generated files edited by hand (never files dbt-incr did not write).
    #[arg(long)]
    pub force: bool,
    /// Delete orphans: files dbt-incr generated that no spec produces any more.
    #[arg(long)]
    pub prune: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    let plan = plan::plan(&Request { project_dir: args.project, spec: args.spec, dialect: args.dialect, dialect_overrides_spec: false, profiles_dir: args.profile.profiles_dir, target: args.profile.target })?;
    let report = workspace::write_with(&plan, WriteOptions { force: args.force, prune: args.prune })?;
    for path in &report.orphans {
        eprintln!("orphan: {} (no spec produces it any more; `dbt-incr generate --prune` deletes it)", path.display());
    }
    if !args.quiet {
        for path in &report.written {
            println!("wrote {}", path.display());
        }
        for path in &report.removed {
            println!("deleted {}", path.display());
        }
        println!("{} model(s): {} file(s) written, {} unchanged", plan.models.len(), report.written.len(), report.unchanged.len());
    }
    Ok(())
}
