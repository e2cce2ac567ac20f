//! The shipped example project holds exactly what `dbt-incr generate` writes for it, so readers
//! browsing examples/shop see current output and the README's first command changes nothing.

use std::process::Command;

#[test]
fn shipped_example_is_up_to_date() {
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/shop");
    let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr")).args(["check", "--project", project]).output().unwrap();
    assert!(
        out.status.success(),
        "examples/shop is stale: run `cargo run -- generate --project examples/shop`\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
