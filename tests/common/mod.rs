//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a subset

use std::path::Path;

/// The `sqlparser` dialect that checks a warehouse's compiled SQL in tests (the audit layer owns
/// the mapping: production code parses hand-written models with it).
pub fn sqlparser_dialect(warehouse: &str) -> Box<dyn sqlparser::dialect::Dialect> {
    dbt_incr::audit::analysis::sqlparser_dialect(warehouse).unwrap_or_else(|| panic!("no sqlparser dialect for {warehouse}: add it to src/audit/analysis.rs"))
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Asserts `value` against `snapshots/<folder>/<name>.snap`, with explicit names (no module
/// prefix, no expression), so snapshot files are named after fixtures.
pub fn snapshot(folder: &str, name: &str, value: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots").join(folder));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), value));
}

/// One run of the dbt-incr binary, its output cleaned by the test that ran it.
pub struct Run {
    pub args: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the whole output when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "dbt-incr {}\n--- stdout\n{}\n--- stderr\n{}", self.args, self.stdout, self.stderr);
        self
    }

    /// The command, exit code and output, as snapshots show them.
    pub fn shown(&self) -> String {
        format!("$ dbt-incr {}\nexit: {}\n--- stdout\n{}--- stderr\n{}", self.args, self.code, self.stdout, self.stderr)
    }
}
