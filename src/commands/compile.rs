//! `dbt-incr compile MODEL`: the SQL each branch of a generated model runs, compiled offline.

use std::path::PathBuf;

use crate::commands::ProfileArgs;
use crate::compile::{self, Branch, Mock};
use crate::error::{Diagnostic, Error};
use crate::plan::{self, Request};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The model's name, as in the spec.
    pub model: String,
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Compile for this dialect instead of the spec's.
    #[arg(long, value_name = "NAME")]
    pub dialect: Option<String>,
    /// Which branch of the model to compile [default: all three].
    #[arg(long, value_enum)]
    pub branch: Option<Branch>,
    /// The columns of the model's input as the warehouse's catalog reports them, `name` or
    /// `name:type`, comma-separated (commas inside a type's brackets are kept: `amount:decimal(18,4)`)
    /// [default: the spec's `columns`, else stand-ins, said so].
    #[arg(long, value_name = "COLS")]
    pub columns: Option<String>,
}

pub fn run(args: Args) -> Result<(), Error> {
    let plan = plan::plan(&Request { project_dir: args.project, spec: args.spec, dialect: args.dialect, dialect_overrides_spec: true, profiles_dir: args.profile.profiles_dir, target: args.profile.target })?;
    let model = &args.model;
    let Some((m, file)) = plan.model_file(model) else {
        let names: Vec<&str> = plan.models.iter().map(|m| m.name.as_str()).collect();
        let d = Diagnostic::new(format!("no model `{model}` in the spec")).did_you_mean(model, names.iter().copied());
        let d = if d.hint.is_some() { d } else { d.hint(format!("the spec's models: {}", names.join(", "))) };
        return Err(d.into());
    };
    // What dbt_project.yml sets for the model's folder (`+require_partition_filter: true`, …),
    // which dbt-incr's macros may read with config.get.
    let mut mock = Mock { config: plan.project.folder_config(&m.path), ..Mock::default() };
    if let Some(list) = &args.columns {
        mock.source_columns = Some(parse_columns(list)?);
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

/// `name[:type],…` with commas inside `()`, `<>` or `[]` of a type kept. A name is what the
/// catalog reports, so it may be a reserved word or hold spaces (generated SQL quotes it); it may
/// not be empty, hold a control character or a quote.
fn parse_columns(list: &str) -> Result<Vec<(String, String)>, Error> {
    let mut entries = Vec::new();
    let (mut depth, mut current) = (0i32, String::new());
    for c in list.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    entries.push(current);
    entries
        .iter()
        .map(|entry| {
            let (name, dtype) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
            let name = name.trim();
            if name.is_empty() || name.chars().any(|c| c.is_control() || matches!(c, '"' | '`' | '\'' )) {
                return Err(Diagnostic::new(format!("--columns: `{name}` is not a column name")).hint("write `--columns id,amount:decimal(18,4),loaded_at:timestamp`").into());
            }
            Ok((name.to_string(), dtype.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_columns;

    #[test]
    fn columns_keep_commas_inside_types() {
        let got = parse_columns("id:integer, user ,amount:decimal(18,4),tags:map<string,string>,Full Name:text").unwrap();
        let want = [("id", "integer"), ("user", ""), ("amount", "decimal(18,4)"), ("tags", "map<string,string>"), ("Full Name", "text")];
        assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
        assert!(parse_columns("id,,x").is_err());
        assert!(parse_columns("a\"b").is_err());
    }
}
