use std::process::ExitCode;

fn main() -> ExitCode {
    dbt_incr::cli::main()
}
