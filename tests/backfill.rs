//! Backfill requests and `verify`, through the real binary on a temporary project
//! (`tests/fixtures/backfills/`): `backfill new` writes a request, `check` validates the pending
//! ones, `backfill plan` shows what one runs, and `backfill run` and `verify` drive a stand-in
//! dbt (`tests/fixtures/backfills/fake-dbt`), whose invocations are snapshotted. Real dbt runs
//! the same cycle in tests/backfill/run.
//!
//! Accept new snapshots with `INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test --test backfill`.

mod common;
use common::{Run, root};

use std::path::{Path, PathBuf};
use std::process::Command;

use dbt_incr::backfill::request::{self, spec_hash};
use dbt_incr::plan::{self, Request};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/backfills")
}

/// A temporary dbt project with the fixture spec, and optionally the fixture requests.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(with_requests: bool) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dbt_project.yml"), "name: shop\nversion: '1.0'\nprofile: shop\n").unwrap();
        std::fs::copy(fixtures().join("incremental.yml"), dir.path().join("incremental.yml")).unwrap();
        std::fs::write(dir.path().join("profiles.yml"), "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n    prod: {type: duckdb, path: prod.duckdb}\n").unwrap();
        let project = Project { dir };
        project.run(&["generate", "--quiet"], &[]).expect(0);
        if with_requests {
            let plan = plan::plan(&Request { project_dir: project.path().to_path_buf(), ..Request::default() }).unwrap();
            std::fs::create_dir_all(project.path().join("backfills")).unwrap();
            for entry in std::fs::read_dir(fixtures().join("requests")).unwrap() {
                let path = entry.unwrap().path();
                let mut text = std::fs::read_to_string(&path).unwrap();
                for m in &plan.models {
                    text = text.replace(&format!("{{hash:{}}}", m.name), &spec_hash(m));
                }
                std::fs::write(project.path().join("backfills").join(path.file_name().unwrap()), text).unwrap();
            }
        }
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap()
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_dbt-incr"))
            .args(args)
            .current_dir(self.path())
            .env("HOME", self.path())
            .env_remove("DBT_PROFILES_DIR")
            .env_remove("DBT_TARGET")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let clean = |b: &[u8]| mask(&String::from_utf8(b.to_vec()).unwrap().replace(&self.path().display().to_string(), "[PROJECT]"));
        // The repository's path (the fake dbt's) differs between clones.
        let args = args.join(" ").replace(&root().display().to_string(), "[REPO]");
        Run { args, code: out.status.code().unwrap(), stdout: clean(&out.stdout).replace(&root().display().to_string(), "[REPO]"), stderr: clean(&out.stderr).replace(&root().display().to_string(), "[REPO]") }
    }

    /// The fake dbt's invocations so far, paths masked.
    fn dbt_log(&self) -> String {
        let log = self.path().join("dbt.log");
        let text = std::fs::read_to_string(log).unwrap_or_default();
        mask(&text.replace(&self.path().display().to_string(), "[PROJECT]"))
    }
}

/// Run times and spec hashes masked, so snapshots hold still.
fn mask(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for key in ["started: ", "finished: "] {
            if let Some(at) = l.find(key)
                && l[at..].contains("T")
            {
                let end = l.trim_end().len();
                l = format!("{}{key}\"[TIME]\"{}", &l[..at], &l[end..]);
            }
        }
        out.push_str(&l);
    }
    // `(… to …, by …)` of a refusal.
    let mut masked = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find("Z to ") {
        let start = rest[..at].rfind('(').map_or(at, |p| p + 1);
        masked.push_str(&rest[..start]);
        masked.push_str("[TIME] to [TIME]");
        let after = &rest[at + 5..];
        let end = after.find('Z').map_or(0, |e| e + 1);
        rest = &after[end..];
    }
    masked.push_str(rest);
    masked
}

fn snapshot(name: &str, value: &str) {
    common::snapshot("backfill", name, value);
}

const FAKE: &str = "tests/fixtures/backfills/fake-dbt";

fn fake_dbt() -> String {
    root().join(FAKE).display().to_string()
}

#[test]
fn new_writes_a_request_file() {
    let p = Project::new(false);
    let args = ["backfill", "new", "fct_events", "--start", "2024-01-03", "--end", "2024-01-05", "--reason", "the loader re-delivered Jan 3-4", "--by", "Jane Doe <jane@example.com>", "--date", "2024-11-29"];
    let first = p.run(&args, &[]).expect(0);
    let written = p.read("backfills/2024-11-29-fct_events.yml");
    snapshot("new", &format!("{}\n==> backfills/2024-11-29-fct_events.yml <==\n{written}", first.shown()));
    // The file reads back as written, against the current spec.
    let plan = plan::plan(&Request { project_dir: p.path().to_path_buf(), ..Request::default() }).unwrap();
    let req = request::read(&p.path().join("backfills/2024-11-29-fct_events.yml")).unwrap();
    assert_eq!(req.render(), written);
    assert!(request::validate(&plan, &req).is_empty());
    assert_eq!(req.spec_hash, spec_hash(&plan.models[0]));
    // A second request on the same day gets its own file.
    p.run(&args, &[]).expect(0);
    assert!(p.path().join("backfills/2024-11-29-fct_events-2.yml").is_file());
    p.run(&["check"], &[]).expect(0);
    // Nothing is written for a request with problems, and every problem is said.
    let bad = p.run(&["backfill", "new", "fct_page_views", "--start", "2024-01-05", "--end", "2024-01-03", "--reason", "", "--by", "x", "--date", "2024-11-29"], &[]).expect(2);
    let unknown = p.run(&["backfill", "new", "fct_event", "--start", "2024-01-03", "--end", "2024-01-04", "--reason", "r", "--by", "x"], &[]).expect(2);
    snapshot("new@refused", &format!("{}\n{}", bad.shown(), unknown.shown()));
    assert!(!p.path().join("backfills/2024-11-29-fct_page_views.yml").exists());
}

#[test]
fn check_validates_pending_requests() {
    let p = Project::new(true);
    for format in ["text", "json", "github"] {
        let run = p.run(&["check", "--format", format], &[]).expect(1);
        snapshot(&format!("check@{format}"), &run.shown());
    }
}

#[test]
fn plan_shows_commands_sql_and_downstream() {
    let p = Project::new(true);
    std::fs::create_dir_all(p.path().join("target")).unwrap();
    std::fs::write(
        p.path().join("target/manifest.json"),
        r#"{"nodes": {"model.shop.fct_events": {"resource_type": "model", "name": "fct_events"}, "model.shop.fct_daily": {"resource_type": "model", "name": "fct_daily"}, "model.shop.fct_weekly": {"resource_type": "model", "name": "fct_weekly"}}, "child_map": {"model.shop.fct_events": ["model.shop.fct_daily"], "model.shop.fct_daily": ["model.shop.fct_weekly"]}}"#,
    )
    .unwrap();
    std::fs::write(p.path().join("backfills/2024-11-30-fct_views_daily.yml"), p.read("backfills/before_begin.yml").replace("2023-12-30", "2024-01-03").replace("2024-01-02", "2024-01-05")).unwrap();
    let valid = p.run(&["backfill", "plan", "backfills/2024-11-29-fct_events.yml", "backfills/2024-11-30-fct_views_daily.yml"], &[]).expect(0);
    snapshot("plan", &valid.shown());
    let problems = p.run(&["backfill", "plan", "backfills/empty_window.yml", "backfills/unknown_model.yml"], &[]).expect(1);
    snapshot("plan@problems", &problems.shown());
    let log = p.path().join("dbt.log").display().to_string();
    let touched = p.run(&["backfill", "plan", "backfills/2024-11-29-fct_events.yml", "--touched", "--dbt", &fake_dbt(), "--target", "prod"], &[("FAKE_DBT_LOG", &log)]).expect(0);
    let line = touched.stdout.lines().find(|l| l.contains("touches")).unwrap_or_default().to_string();
    assert_eq!(line, "  touches (dbt show): keys_in_window=2, versions_read=3, earliest_event_at=2024-01-03T09:00:00, latest_event_at=2024-01-04T08:00:00, table_rows_rewritten=2");
    let shown = p.dbt_log();
    assert!(shown.starts_with("show --inline {%- set dbt_incr_type = dbt_incr_type_of('event_at', adapter.get_columns_in_relation(source('raw', 'events'))) -%}\nwith dbt_incr_keys as ("), "{shown}");
    assert!(shown.contains("{{ dbt_incr_in_window('dbt_incr_window.event_at', '2024-01-03', '2024-01-05', dbt_incr_type) }}") && shown.contains("--target prod"), "{shown}");
    // Without a request given, the pending ones (every fixture request but done.yml).
    let all = p.run(&["backfill", "plan"], &[]).expect(1);
    assert_eq!(all.stdout.lines().filter(|l| l.starts_with("backfills/")).count(), 11, "{}", all.stdout);
}

#[test]
fn run_records_the_outcome_and_refuses_a_second_run() {
    let p = Project::new(true);
    let log = p.path().join("dbt.log").display().to_string();
    let env = [("FAKE_DBT_LOG", log.as_str())];
    let file = "backfills/2024-11-29-fct_events.yml";
    let fake = fake_dbt();
    let first = p.run(&["backfill", "run", file, "--dbt", &fake, "--by", "Ops <ops@example.com>"], &env).expect(0);
    let second = p.run(&["backfill", "run", file, "--dbt", &fake, "--by", "Ops <ops@example.com>"], &env).expect(2);
    let again = p.run(&["backfill", "run", file, "--dbt", &fake, "--by", "Ops <ops@example.com>", "--again", "--no-downstream"], &env).expect(0);
    snapshot(
        "run",
        &format!("{}\n{}\n{}\n==> {file} <==\n{}\n==> dbt invocations <==\n{}", first.shown(), second.shown(), again.shown(), mask(&p.read(file)), p.dbt_log()),
    );
    let req = request::read(&p.path().join(file)).unwrap();
    assert_eq!(req.runs.len(), 2);
    assert!(req.runs[1].again && req.runs[1].downstream.as_deref() == Some("skipped (--no-downstream)"));

    // A failed backfill is recorded, leaves the request pending, and may be run again as is.
    let failing = [("FAKE_DBT_LOG", log.as_str()), ("FAKE_DBT_FAIL", "1")];
    let other = "backfills/future_window.yml";
    std::fs::write(p.path().join(other), p.read(other).replace("2204-01-05", "2024-01-05")).unwrap();
    let failed = p.run(&["backfill", "run", other, "--dbt", &fake, "--by", "Ops"], &failing).expect(1);
    snapshot("run@failed", &format!("{}\n==> {other} <==\n{}", failed.shown(), mask(&p.read(other))));
    p.run(&["backfill", "run", other, "--dbt", &fake, "--by", "Ops"], &env).expect(0);

    // A request with problems is not run.
    let refused = p.run(&["backfill", "run", "backfills/spec_changed.yml", "--dbt", &fake], &env).expect(2);
    assert!(refused.stderr.contains("the spec of fct_events changed since the request was made"), "{}", refused.stderr);
}

#[test]
fn a_run_is_recorded_before_dbt_starts_so_an_interrupted_one_is_seen() {
    let p = Project::new(true);
    let log = p.path().join("dbt.log").display().to_string();
    let file = "backfills/2024-11-29-fct_events.yml";
    let watched = p.path().join(file).display().to_string();
    let env = [("FAKE_DBT_LOG", log.as_str()), ("FAKE_DBT_WATCH", watched.as_str())];
    let fake = fake_dbt();
    // A comment added in review stays through every record of a run.
    let commented = p.read(file).replace("reason:", "# agreed with finance in #data-ops, 2024-11-29\nreason:");
    std::fs::write(p.path().join(file), &commented).unwrap();
    p.run(&["backfill", "run", file, "--dbt", &fake, "--by", "Ops"], &env).expect(0);
    assert!(p.read(file).starts_with(commented.as_str()), "the reviewed text above runs: changed:\n{}", p.read(file));
    // While dbt ran, the file already held the run, as `running`.
    let seen = p.read(&format!("{file}.seen"));
    let mid = request::read(&p.path().join(format!("{file}.seen"))).unwrap();
    assert_eq!(mid.runs.len(), 1, "{seen}");
    assert_eq!(mid.runs[0].result, "running", "{seen}");
    assert_eq!(request::read(&p.path().join(file)).unwrap().runs[0].result, "success");

    // A run killed mid-way leaves that record: the next run is refused unless --again.
    std::fs::write(p.path().join(file), &seen).unwrap();
    let refused = p.run(&["backfill", "run", file, "--dbt", &fake, "--by", "Ops"], &env).expect(2);
    assert!(refused.stderr.contains("has a run with no outcome: started"), "{}", refused.stderr);
    assert!(refused.stderr.contains("still running, or it was interrupted"), "{}", refused.stderr);
    assert_eq!(p.read(file), seen, "a refused run changed the file");
    p.run(&["backfill", "run", file, "--dbt", &fake, "--by", "Ops", "--again"], &env).expect(0);
    let req = request::read(&p.path().join(file)).unwrap();
    let results: Vec<(&str, bool)> = req.runs.iter().map(|r| (r.result.as_str(), r.again)).collect();
    assert_eq!(results, [("running", false), ("success", true)]);

    // dbt that cannot be started: the attempt is recorded as an error, not left `running`.
    let other = "backfills/future_window.yml";
    std::fs::write(p.path().join(other), p.read(other).replace("2204-01-05", "2024-01-05")).unwrap();
    let missing = p.path().join("no-such-dbt").display().to_string();
    p.run(&["backfill", "run", other, "--dbt", &missing, "--by", "Ops"], &[]).expect(2);
    let req = request::read(&p.path().join(other)).unwrap();
    assert_eq!(req.runs.len(), 1);
    assert_eq!(req.runs[0].result, "error", "{:?}", req.runs[0]);
    assert!(!req.runs[0].finished.is_empty());
}

#[test]
fn verify_reports_what_the_macro_found() {
    let p = Project::new(false);
    let log = p.path().join("dbt.log").display().to_string();
    let operation = p.path().join("operation.jsonl");
    let line = |found: serde_json::Value| {
        let event = serde_json::json!({"info": {"level": "info", "name": "JinjaLogInfo", "msg": format!("DBT_INCR_VERIFY {found}")}});
        std::fs::write(&operation, format!("{event}\n")).unwrap();
    };
    let op = operation.display().to_string();
    let env = [("FAKE_DBT_LOG", log.as_str()), ("FAKE_DBT_OPERATION", op.as_str())];
    let fake = fake_dbt();
    line(serde_json::json!([{"model": "fct_events", "relation": "\"shop\".\"main\".\"fct_events\"", "columns": ["event_id", "amount", "event_at", "loaded_at"], "only_table_columns": [], "only_full_refresh_columns": [], "window": null, "table_rows": 5, "full_refresh_rows": 5, "only_in_table": 0, "only_in_full_refresh": 0, "keys_differing": 0, "key": ["event_id"], "sample": [], "status": "equal"}]));
    let equal = p.run(&["verify", "fct_events", "--dbt", &fake], &env).expect(0);
    let row = |n_table: u64, n_full: u64, amount: &str| serde_json::json!({"table": n_table, "full_refresh": n_full, "values": {"event_id": "2", "amount": amount, "event_at": "2024-01-01 12:00:00", "loaded_at": "2024-01-01 13:00:00"}});
    line(serde_json::json!([{"model": "fct_events", "relation": "\"shop\".\"main\".\"fct_events\"", "columns": ["event_id", "amount", "event_at", "loaded_at"], "only_table_columns": [], "only_full_refresh_columns": [], "window": {"column": "event_at", "start": "2024-01-01", "end": "2024-01-02"}, "table_rows": 2, "full_refresh_rows": 2, "only_in_table": 1, "only_in_full_refresh": 1, "keys_differing": 1, "key": ["event_id"], "sample": [row(0, 1, "1035.5"), row(1, 0, "35.5")], "status": "different"}]));
    let different = p.run(&["verify", "fct_events", "--start", "2024-01-01", "--end", "2024-01-02", "--dbt", &fake, "--profiles-dir", "."], &env).expect(1);
    let json = p.run(&["verify", "fct_events", "--start", "2024-01-01", "--end", "2024-01-02", "--dbt", &fake, "--format", "json"], &env).expect(1);
    assert!(json.stdout.contains("\"keys_differing\": 1"), "{}", json.stdout);
    let half = p.run(&["verify", "fct_events", "--start", "2024-01-01", "--dbt", &fake], &env).expect(2);
    let unknown = p.run(&["verify", "fct_event", "--dbt", &fake], &env).expect(2);
    // A microbatch model's full refresh builds the batches from `begin`: its window starts there.
    line(serde_json::json!([{"model": "fct_views_daily", "error": "the table of fct_views_daily does not exist yet: run the model first"}]));
    let microbatch = p.run(&["verify", "fct_views_daily", "--dbt", &fake], &env).expect(2);
    let missing_dbt = p.run(&["verify", "fct_events", "--dbt", "/nonexistent/dbt"], &env).expect(2);
    let log = p.dbt_log();
    let checks: Vec<&str> = log.lines().filter(|l| l.starts_with("run-operation")).collect();
    assert!(checks.last().unwrap().contains(r#""start":"2024-01-01","end":"9999-12-31","window_column":"viewed_at""#) || checks.last().unwrap().contains(r#""window_column":"viewed_at""#), "{log}");
    snapshot(
        "verify",
        &[equal.shown(), different.shown(), half.shown(), unknown.shown(), microbatch.shown(), missing_dbt.shown().replace("os error 2", "[os error]"), format!("==> dbt invocations <==\n{log}")].join("\n"),
    );
}

/// The runbook is a docs block in `<model>.md` beside the model; where the project's `docs-paths`
/// leave the model folder out (dbt would not find the block), it is the description itself.
#[test]
fn runbook_is_inline_where_docs_paths_leave_the_models_out() {
    let p = Project::new(false);
    let yml = p.read("models/fct_events.yml");
    assert!(yml.contains("    description: '{{ doc(\"dbt_incr__fct_events\") }}'\n"), "{yml}");
    let md = p.read("models/fct_events.md");
    assert!(md.starts_with("{# Generated by dbt-incr [sha256:") && md.contains("{% docs dbt_incr__fct_events %}\n") && md.ends_with("{% enddocs %}\n"), "{md}");
    std::fs::write(p.path().join("dbt_project.yml"), "name: shop\nversion: '1.0'\nprofile: shop\ndocs-paths: [\"docs\"]\n").unwrap();
    p.run(&["generate", "--prune"], &[]).expect(0);
    assert!(!p.path().join("models/fct_events.md").exists());
    let yml = p.read("models/fct_events.yml");
    assert!(yml.contains("    description: |\n      Incremental model of source('raw', 'events')") && yml.contains("      #### Backfill runbook\n"), "{yml}");
    std::fs::write(p.path().join("dbt_project.yml"), "name: shop\nversion: '1.0'\nprofile: shop\ndocs-paths: [\"docs\", \"models\"]\n").unwrap();
    p.run(&["generate"], &[]).expect(0);
    assert!(p.path().join("models/fct_events.md").exists());
}
