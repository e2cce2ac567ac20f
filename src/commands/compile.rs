//! `dbt-incr compile MODEL`: the SQL each branch of a generated model runs, compiled offline.

use std::path::PathBuf;

use crate::compile::{self, Branch};
use crate::error::{Diagnostic, Error};
use crate::plan::{self, Request};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The model's name, as in the spec.
    pub model: String,
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Compile for this dialect instead of the spec's.
    #[arg(long, value_name = "NAME")]
    pub dialect: Option<String>,
    /// Which branch of the model to compile [default: all three].
    #[arg(long, value_enum)]
    pub branch: Option<Branch>,
}

pub fn run(args: Args) -> Result<(), Error> {
    let plan = plan::plan(&Request { project_dir: args.project, spec: args.spec, dialect: args.dialect, dialect_overrides_spec: true })?;
    let model = &args.model;
    let Some((m, file)) = plan.model_file(model) else {
        let names: Vec<&str> = plan.models.iter().map(|m| m.name.as_str()).collect();
        let d = Diagnostic::new(format!("no model `{model}` in the spec")).did_you_mean(model, names.iter().copied());
        let d = if d.hint.is_some() { d } else { d.hint(format!("the spec's models: {}", names.join(", "))) };
        return Err(d.into());
    };
    let branches = args.branch.map(|b| vec![b]).unwrap_or_else(|| Branch::ALL.to_vec());
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
