//! `dbt-incr compile MODEL`: the SQL each branch of a generated model runs, compiled offline.

use std::path::PathBuf;

use crate::compile::{self, Branch, Mock};
use crate::error::{Diagnostic, Error};
use crate::plan::{self, Request};
use crate::spec::identifier_problem;

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
    /// The columns of the model's input, as `name` or `name:type`, comma-separated, for models
    /// that read them at run time [default: the spec's `columns`, else stand-ins, said so].
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub columns: Vec<String>,
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
    let mut mock = Mock::default();
    if !args.columns.is_empty() {
        let mut columns = Vec::new();
        for entry in &args.columns {
            let (name, dtype) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
            if let Some(problem) = identifier_problem(name.trim()) {
                return Err(Diagnostic::new(format!("--columns: `{}` is not a column name: {problem}", name.trim())).hint("write `--columns id,amount:numeric,loaded_at:timestamp`").into());
            }
            columns.push((name.trim().to_string(), dtype.trim().to_string()));
        }
        mock.source_columns = Some(columns);
    }
    let branches = args.branch.map(|b| vec![b]).unwrap_or_else(|| Branch::ALL.to_vec());
    for (i, b) in branches.iter().enumerate() {
        if branches.len() > 1 {
            if i > 0 {
                println!();
            }
            println!("-- {} · {} · {b}", m.name, m.dialect.name);
        }
        let compiled = compile::compile_with(m, &file.contents, m.dialect, *b, &mock)?;
        if let Some(stand_ins) = &compiled.stand_ins {
            println!("-- note: the spec has no `columns`, so this model reads its input's columns at run time; compiled here with stand-ins ({}). Pass --columns to compile with the real ones.", stand_ins.join(", "));
        }
        print!("{}", compiled.sql);
    }
    Ok(())
}
