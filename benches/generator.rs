//! In-process benchmarks of the generator: `generate` (plan + write into an empty project) and
//! `check` (plan + compare with an up-to-date project) on 1,000 and 10,000 models.
//!
//! `cargo bench --bench generator`; `benches/run` runs it with the rest and reads the medians
//! from target/criterion/. The spec is written here: four model shapes in turn (single key and
//! every column; composite key, column list and merge; tie breaker and another lookback; a
//! subfolder), all reading one source.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dbt_incr::plan::{self, Request};
use dbt_incr::workspace;

const SIZES: [usize; 2] = [1_000, 10_000];

/// The spec entries of `benches/make_project.py`, so in-process and whole-process figures
/// measure the same project.
fn spec(models: usize) -> String {
    let mut out = String::from("version: 1\ndialect: duckdb\ndefaults:\n  lookback: 3 days\nmodels:\n");
    for i in 0..models {
        out.push_str(&format!("  - name: m_{i:05}\n    from: source('raw', 'events')\n"));
        match i % 4 {
            1 => out.push_str(
                "    unique_key: [event_id, customer_id]\n    incremental_strategy: merge\n    columns: [event_id, customer_id, amount, event_at, loaded_at]\n",
            ),
            _ => out.push_str("    unique_key: event_id\n"),
        }
        out.push_str("    load_time: loaded_at\n    event_time: event_at\n");
        match i % 4 {
            2 => out.push_str("    lookback: 2 days\n    tie_breaker: [amount]\n"),
            3 => out.push_str(&format!("    path: group_{:02}\n", i % 50)),
            _ => {}
        }
    }
    out
}

/// An empty dbt project holding the spec, in a fresh temporary folder.
fn project(spec_text: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("dbt-incr-bench-").tempdir().expect("temp dir");
    write(dir.path(), "dbt_project.yml", "name: bench\nversion: \"1.0.0\"\nprofile: bench\nmodel-paths: [\"models\"]\nmacro-paths: [\"macros\"]\n");
    write(dir.path(), "incremental.yml", spec_text);
    dir
}

fn write(root: &Path, name: &str, text: &str) {
    std::fs::write(root.join(name), text).expect("write");
}

fn request(root: &Path) -> Request {
    Request { project_dir: root.to_path_buf(), ..Request::default() }
}

fn bench_generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    group.sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(2));
    for n in SIZES {
        let text = spec(n);
        // Each sample writes into its own empty project; creating and deleting it is not timed.
        group.bench_function(format!("{n}"), |b| {
            b.iter_batched(
                || project(&text),
                |dir| {
                    let plan = plan::plan(&request(dir.path())).expect("plan");
                    let report = workspace::write(&plan).expect("write");
                    assert_eq!(report.unchanged.len(), 0);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10).measurement_time(Duration::from_secs(15)).warm_up_time(Duration::from_secs(2));
    for n in SIZES {
        let dir = project(&spec(n));
        workspace::write(&plan::plan(&request(dir.path())).expect("plan")).expect("write");
        group.bench_function(format!("{n}"), |b| {
            b.iter(|| {
                let plan = plan::plan(&request(dir.path())).expect("plan");
                let comparison = workspace::compare(&plan).expect("compare");
                assert!(comparison.is_clean());
                black_box(comparison)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_generate, bench_check);
criterion_main!(benches);
