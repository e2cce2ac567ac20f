"""Real-engine suite: generated models under real dbt, on one engine per process.

Promise under test: after every phase of loads and `dbt run`s, the incremental table of a generated
model holds exactly the rows (as a multiset) a `--full-refresh` build of the same model holds, and
its unique key is unique and not null.

Every scenario is data under tests/engines/fixtures/<scenario>/ (see fixtures/README.md): a
scenario.yml (model spec, strategies, per-phase options) and one folder per phase with CSV rows to
append and SQL to run. All scenarios advance together, phase by phase, so each phase costs a few
dbt invocations in total (load, incremental run(s), full refresh, check), all in this one Python
process through dbtRunner.

Run through tests/engines/run, which runs this once per engine (each in its engine's venv) and
then tests/engines/report.py over the results. Options: --engine (required), --scenario, --keep,
--results FILE. Each engine is a module of tests/engines/engines/.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dbt.cli.main import dbtRunner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import engines  # noqa: E402
ROOT = HERE.parent.parent
FIXTURES = HERE / "fixtures"
PROJECT_ASSETS = HERE / "project"
BIN = Path(os.environ.get("DBT_INCR_BIN", ROOT / "target" / "release" / "dbt-incr"))

ABBR = {"delete+insert": "di", "merge": "mg", "append": "ap", "microbatch": "mb", "insert_overwrite": "io"}
# Every fixture event_time lies in this range; microbatch runs are given it explicitly.
MB_START, MB_END = "2024-01-01", "2024-01-08"
INC, FULL, RAW = "inc", "fr", "raw"


# ---------------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Scenario:
    name: str
    dir: Path
    description: str
    proves: str
    strategies: list[str]
    tables: dict[str, dict[str, str]]
    model: dict
    phases: list[dict]
    models_sql: list[str] = field(default_factory=list)
    data_dir: Path | None = None
    # Spec keys for one strategy only (e.g. partition_by for insert_overwrite).
    strategy_keys: dict = field(default_factory=dict)

    @property
    def key(self) -> list[str]:
        k = self.model.get("unique_key") or []
        return [k] if isinstance(k, str) else list(k)

    def model_name(self, strategy: str) -> str:
        return f"{self.name}__{ABBR[strategy]}"

    def upstream(self) -> list[str]:
        return [Path(f).stem for f in self.models_sql]

    def phase_dir(self, phase: int) -> Path:
        return (self.data_dir or self.dir) / str(phase)


def load_scenarios(only: list[str] | None) -> list[Scenario]:
    out = []
    for d in sorted(p for p in FIXTURES.iterdir() if (p / "scenario.yml").is_file()):
        if d.name == "shop" or (only and d.name not in only):
            continue
        raw = yaml.safe_load((d / "scenario.yml").read_text())
        out.append(
            Scenario(
                name=d.name,
                dir=d,
                description=raw["description"],
                proves=raw["proves"],
                strategies=raw["strategies"],
                tables=raw["tables"],
                model=raw["model"],
                phases=[p or {} for p in raw["phases"]],
                models_sql=raw.get("models_sql", []),
                data_dir=(FIXTURES / raw["data_dir"]) if raw.get("data_dir") else None,
                strategy_keys=raw.get("strategy_keys", {}),
            )
        )
    return out


def csv_insert(engine, table: str, columns: dict[str, str], path: Path) -> str | None:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    names = list(rows[0].keys())
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise SystemExit(f"{path}: columns {unknown} are not declared for table {table}")
    values = ",\n".join("(" + ", ".join(engine.literal(r[n], columns[n]) for n in names) + ")" for r in rows)
    return f"insert into {table} ({', '.join(names)}) values\n{values}"


# ---------------------------------------------------------------------------------------------
# dbt in this process


class Dbt:
    """One dbtRunner for one project; collects log() lines of run-operations."""

    def __init__(self, project: Path):
        self.project = project
        self.messages: list[str] = []
        self.runner = dbtRunner(callbacks=[self._event])
        self.invocations = 0
        self.warnings: list[str] = []
        self.collect_warnings = False

    def _event(self, event) -> None:
        if event.info.name == "JinjaLogInfo":
            self.messages.append(event.info.msg)
        elif event.info.level in ("warn", "error") and self.collect_warnings:
            self.warnings.append(f"{event.info.name}: {event.info.msg}")

    def quiet_parse(self, target: str) -> list[str]:
        """`dbt parse` of the project; every warning or error dbt raised (deprecations included)."""
        self.warnings, self.collect_warnings = [], True
        try:
            res = self.invoke(["parse", "--no-partial-parse"], target)
        finally:
            self.collect_warnings = False
        return self.warnings + ([] if res.success else [f"dbt parse failed: {res.exception}"])

    def invoke(self, command: list[str], target: str, vars: dict | None = None, extra: list[str] | None = None):
        # A separate target path per (target, vars) keeps each one's partial-parse cache valid.
        tag = target + ("-" + hashlib.sha1(json.dumps(vars, sort_keys=True).encode()).hexdigest()[:8] if vars else "")
        argv = [
            *command,
            "--project-dir", str(self.project),
            "--profiles-dir", str(self.project),
            "--target", target,
            "--target-path", str(self.project / "target" / tag),
            "--log-path", str(self.project / "logs"),
            "--log-level", "none",  # failures are reported from the results; details in logs/dbt.log
            "--log-level-file", "debug",
        ]
        if vars:
            argv += ["--vars", json.dumps(vars)]
        argv += extra or []
        self.invocations += 1
        return self.runner.invoke(argv)

    def operation(self, macro: str, args: dict, target: str = INC):
        self.messages.clear()
        res = self.invoke(["run-operation", macro, "--args", json.dumps(args)], target)
        if not res.success:
            raise RuntimeError(f"run-operation {macro} failed: {res.exception}")
        return list(self.messages)

    def exec(self, statements: list[str], target: str = INC) -> None:
        if statements:
            self.operation("dbt_incr_test_exec", {"statements": statements}, target)

    def run(self, models: list[str], target: str, vars: dict | None = None, extra: list[str] | None = None) -> dict[str, tuple[str, str]]:
        """Runs the models in one invocation; {model: (status, message)}."""
        res = self.invoke(["run", "--select", *models], target, vars, extra)
        out: dict[str, tuple[str, str]] = {}
        if res.result is not None and hasattr(res.result, "results"):
            for r in res.result.results:
                out[r.node.name] = (str(r.status), r.message or "")
        for m in models:
            out.setdefault(m, ("error", f"no result: {res.exception}"))
        return out

    def check(self, models: list[tuple[str, list[str]]]) -> dict[str, dict]:
        lines = self.operation(
            "dbt_incr_test_check",
            {"models": [{"name": n, "key": k} for n, k in models], "full_refresh_schema": FULL},
        )
        found = [l for l in lines if l.startswith("DBT_INCR_CHECK ")]
        if not found:
            raise RuntimeError("the check macro reported nothing")
        return {r["name"]: r for r in json.loads(found[-1][len("DBT_INCR_CHECK "):])}


def profiles(engine, workdir: Path, name: str, inc_schema: str = INC, full_schema: str = FULL) -> str:
    outputs = {target: engine.output(workdir, name, schema) for target, schema in ((INC, inc_schema), (FULL, full_schema))}
    return yaml.safe_dump({name: {"target": INC, "outputs": outputs}}, sort_keys=False)


def generate(project: Path) -> None:
    p = subprocess.run([str(BIN), "generate", "--project", str(project), "--quiet"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"dbt-incr generate failed ({p.returncode}):\n{p.stdout}{p.stderr}")


def problem(check: dict | None) -> str | None:
    """What is wrong with one model's check result, or None when it is equal."""
    if check is None:
        return "no check result"
    if "error" in check:
        return check["error"]
    bad = []
    if check["only_incremental"] or check["only_full_refresh"]:
        bad.append(f"{check['only_incremental']} rows only in incremental, {check['only_full_refresh']} only in full refresh "
                   f"({check['incremental_rows']} vs {check['full_refresh_rows']} rows)")
    if check["duplicate_keys"]:
        bad.append(f"{check['duplicate_keys']} duplicate keys")
    if check["null_keys"]:
        bad.append(f"{check['null_keys']} null keys")
    return "; ".join(bad) or None


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Cell:
    """One scenario x engine x strategy: its phases' outcomes."""

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    phases: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


RESULTS: dict[tuple[str, str, str], Cell] = {}


def cell(scenario: str, engine: str, strategy: str) -> Cell:
    return RESULTS.setdefault((scenario, engine, strategy), Cell())


def judge(c: Cell, phase: int, opts: dict, engine: str, strategy: str, run: tuple[str, str], full: tuple[str, str], check: dict | None) -> None:
    c.phases += 1
    where = f"phase {phase}"
    expect_error = opts.get("expect_error")
    status, message = run
    if expect_error:
        if status == "success":
            c.failures.append(f"{where}: run succeeded, expected an error containing {expect_error!r}")
        elif expect_error not in message:
            c.failures.append(f"{where}: error does not contain {expect_error!r}: {message.strip()[:300]}")
        else:
            c.notes.append(f"{where}: run failed as expected ({expect_error})")
    elif status != "success":
        c.failures.append(f"{where}: incremental run {status}: {message.strip()[:400]}")
        return
    if full[0] != "success":
        c.failures.append(f"{where}: full refresh {full[0]}: {full[1].strip()[:400]}")
        return
    wrong = problem(check)
    # expect_fail entries: a strategy, or engine/strategy.
    if {strategy, f"{engine}/{strategy}"} & set(opts.get("expect_fail") or []):
        if wrong is None:
            c.failures.append(f"{where}: EXPECTED FAILURE did not happen: incremental equals full refresh")
        else:
            why = f" ({opts['why']})" if opts.get("why") else ""
            c.notes.append(f"{where}: failed as expected{why}: {wrong}")
    elif wrong is not None:
        c.failures.append(f"{where}: {wrong}")


# ---------------------------------------------------------------------------------------------
# The scenario suite on one engine


def run_engine(name: str, scenarios: list[Scenario], workdir: Path, log) -> None:
    engine = engines.load(name)
    project = workdir / f"engines_{name}"
    (project / "models").mkdir(parents=True)
    shutil.copytree(PROJECT_ASSETS / "macros", project / "macros")
    (project / "dbt_project.yml").write_text(yaml.safe_dump({
        "name": "dbt_incr_engines", "version": "1.0.0", "profile": "dbt_incr_engines",
        "model-paths": ["models"], "macro-paths": ["macros"], "flags": {"send_anonymous_usage_stats": False},
    }, sort_keys=False))
    (project / "profiles.yml").write_text(profiles(engine, workdir, "dbt_incr_engines"))
    engine_name = name

    # Spec: one model per scenario x strategy the engine accepts.
    spec_models = []
    plans: list[tuple[Scenario, list[str]]] = []
    for s in scenarios:
        strategies = [
            st for st in s.strategies
            if st in engine.STRATEGIES and (st != "microbatch" or bool(s.key) == engine.MICROBATCH_KEYED)
        ]
        plans.append((s, strategies))
        for st in strategies:
            entry = {"name": s.model_name(st), **engine.SPEC_DEFAULTS, **s.model, **s.strategy_keys.get(st, {}), "incremental_strategy": st, "path": s.name}
            first_table = next(iter(s.tables.values()))
            if st == "microbatch" or (st == "append" and engine.APPEND_BY_POSITION):
                entry.setdefault("columns", list(first_table.keys()))
            if st == "microbatch":
                entry.setdefault("begin", MB_START)
                entry.setdefault("batch_size", "day")
            spec_models.append(entry)
        for f in s.models_sql:
            (project / "models" / s.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(s.dir / f, project / "models" / s.name / f)
    (project / "incremental.yml").write_text(yaml.safe_dump({"version": 1, "dialect": engine.DIALECT, "models": spec_models}, sort_keys=False))
    (project / "models" / "sources.yml").write_text(yaml.safe_dump({"version": 2, "sources": [{
        "name": "raw", "schema": RAW,
        # event_time on the inputs, as microbatch models want (dbt warns without it, and then
        # cannot filter the input to the batch itself; the generated model filters it anyway).
        "tables": [
            {"name": f"{s.name}__{t}", **({"config": {"event_time": s.model["event_time"]}} if s.model.get("event_time") in cols else {})}
            for s in scenarios for t, cols in s.tables.items()
        ],
    }]}, sort_keys=False))
    generate(project)

    dbt = Dbt(project)
    # Generated files must not make dbt warn (deprecations included), and every model must
    # compile outside a run too (dbt compile / docs generate render microbatch models without
    # a batch).
    warned = dbt.quiet_parse(INC)
    if warned:
        raise RuntimeError("dbt parse of the generated project warned:\n  " + "\n  ".join(warned))
    setup = engine.reset_sql([RAW, INC, FULL])
    for s in scenarios:
        for t, cols in s.tables.items():
            setup.append(engine.create_table_sql(f"{RAW}.{s.name}__{t}", cols))
    dbt.exec(setup)

    for phase in range(1, max(len(s.phases) for s in scenarios) + 1):
        t0 = time.monotonic()
        active = [(s, sts) for s, sts in plans if len(s.phases) >= phase and sts]
        # 1. load this phase's data
        statements = []
        for s, sts in active:
            opts = s.phases[phase - 1]
            if opts.get("empty_target"):
                statements += [engine.delete_all_sql(f"{INC}.{s.model_name(st)}") for st in sts]
            d = s.phase_dir(phase)
            for f in sorted(d.iterdir()) if d.is_dir() else []:
                if f.suffix == ".csv":
                    table = f.name.split(".")[0]
                    stmt = csv_insert(engine, f"{RAW}.{s.name}__{table}", s.tables[table], f)
                    if stmt:
                        statements.append(stmt)
                elif f.suffix == ".sql":
                    statements.append(engine.fixture_sql(f.read_text()))
        dbt.exec(statements)

        # 2. incremental runs: one invocation per distinct vars. --event-time-start/-end reach only
        #    the microbatch models (their explicit range); the others ignore them.
        groups: dict[str, list[str]] = {}
        for s, sts in active:
            opts = s.phases[phase - 1]
            for st in sts:
                # A microbatch model is backfilled by its event-time range (always given here);
                # it gets a phase's backfill vars only to show they fail.
                vars = opts.get("vars") if st != "microbatch" or opts.get("expect_error") else None
                g = groups.setdefault(json.dumps(vars or {}, sort_keys=True), [])
                g += [u for u in s.upstream() if u not in g] + [s.model_name(st)]
        runs: dict[str, tuple[str, str]] = {}
        for vars_key, models in groups.items():
            runs.update(dbt.run(models, INC, json.loads(vars_key) or None, ["--event-time-start", MB_START, "--event-time-end", MB_END]))

        # 3. full refresh of the same models into another schema
        every = []
        for s, sts in active:
            every += s.upstream() + [s.model_name(st) for st in sts]
        engine.before_full_refresh(FULL)
        full = dbt.run(every, FULL, None, ["--full-refresh", "--event-time-start", MB_START, "--event-time-end", MB_END])

        # 4. compare
        checks = dbt.check([(s.model_name(st), s.key) for s, sts in active for st in sts])
        for s, sts in active:
            for st in sts:
                m = s.model_name(st)
                judge(cell(s.name, engine_name, st), phase, s.phases[phase - 1], engine_name, st, runs.get(m, ("error", "not run")), full.get(m, ("error", "not run")), checks.get(m))
        log(f"  {engine_name} phase {phase}: {len(active)} scenarios, {sum(len(x) for _, x in active)} models, {time.monotonic() - t0:.1f}s")
    res = dbt.invoke(["compile"], INC)
    if not res.success:
        raise RuntimeError(f"dbt compile of the generated project (outside a run: microbatch models have no batch) failed: {res.exception}")
    log(f"  {engine_name}: {dbt.invocations} dbt invocations")


# ---------------------------------------------------------------------------------------------
# The shipped example


def run_shop(workdir: Path, log) -> None:
    """examples/shop, copied: generate, seed, build; then new seed rows and an in-place fix
    followed by a backfill, each checked against a full refresh."""
    engine = engines.load("duckdb")
    fixture = FIXTURES / "shop"
    spec = yaml.safe_load((fixture / "scenario.yml").read_text())
    project = workdir / "shop"
    shutil.copytree(ROOT / "examples" / "shop", project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", "*.duckdb.wal"))
    generate(project)
    shutil.copy(PROJECT_ASSETS / "macros" / "dbt_incr_test.sql", project / "macros" / "dbt_incr_test.sql")
    (project / "profiles.yml").write_text(profiles(engine, workdir, "shop", inc_schema="main", full_schema=FULL))
    shop_spec = yaml.safe_load((project / "incremental.yml").read_text())
    models = []
    for m in shop_spec["models"]:
        key = m.get("unique_key") or []
        models.append((m["name"], [key] if isinstance(key, str) else key, m.get("incremental_strategy", "delete+insert")))
    names = [n for n, _, _ in models]

    dbt = Dbt(project)
    for phase, opts in enumerate(spec["phases"], start=1):
        opts = opts or {}
        d = fixture / str(phase)
        files = sorted(d.iterdir()) if d.is_dir() else []
        csvs = [f for f in files if f.suffix == ".csv"]
        for f in csvs:  # new rows for a seed: appended to the seed file, then `dbt seed`
            seed = project / "seeds" / f.name
            rows = f.read_text().splitlines()[1:]
            with seed.open("a") as out:
                if not seed.read_text().endswith("\n"):
                    out.write("\n")
                out.write("\n".join(rows) + "\n")
        if phase == 1 or csvs:
            res = dbt.invoke(["seed"], INC)
            if not res.success:
                raise RuntimeError(f"shop: dbt seed failed: {res.exception}")
        dbt.exec([f.read_text() for f in files if f.suffix == ".sql"])
        runs = dbt.run(names, INC, opts.get("vars"))
        full = dbt.run(names, FULL, None, ["--full-refresh"])
        checks = dbt.check([(n, k) for n, k, _ in models])
        for n, _, st in models:
            judge(cell("shop example", "duckdb", st), phase, opts, "duckdb", st, runs[n], full[n], checks.get(n))
        log(f"  shop phase {phase}: {opts.get('note', '')}")


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", required=True, choices=engines.ALL, help="the engine this process runs")
    ap.add_argument("--scenario", action="append", help="only this scenario (repeatable; 'shop' for the example)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--results", type=Path, help="write the results here as JSON (for report.py)")
    args = ap.parse_args()
    name = args.engine
    engine = engines.load(name)
    started = time.monotonic()
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # dbt seed of examples/shop: its column_types name columns that only some seeds have.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="agate")

    def log(msg: str) -> None:
        print(msg, flush=True)

    if not BIN.is_file():
        print(f"missing {BIN}: run `cargo build --release` first", file=sys.stderr)
        return 2
    only = [s for s in (args.scenario or []) if s != "shop"] or None
    scenarios = load_scenarios(only) if (not args.scenario or only) else []
    skipped = {s.name: engine.SKIP[s.name] for s in scenarios if s.name in engine.SKIP}
    scenarios = [s for s in scenarios if s.name not in skipped]
    workdir = Path(tempfile.mkdtemp(prefix=f"dbt-incr-engines-{name}-"))
    log(f"{name}: work directory {workdir}")
    crashed = []
    try:
        t0 = time.monotonic()
        engine.start(workdir)
        log(f"{name}: started in {time.monotonic() - t0:.1f}s")
        if scenarios:
            try:
                run_engine(name, scenarios, workdir, log)
            except Exception as e:  # noqa: BLE001 - reported as a failure of the engine
                crashed.append(f"{name}: {type(e).__name__}: {e}")
        if name == "duckdb" and (not args.scenario or "shop" in args.scenario):
            t0 = time.monotonic()
            try:
                run_shop(workdir, log)
            except Exception as e:  # noqa: BLE001
                crashed.append(f"shop: {type(e).__name__}: {e}")
            log(f"shop example: {time.monotonic() - t0:.1f}s")
    finally:
        engine.stop()
        if not args.keep and not crashed and all(c.ok for c in RESULTS.values()):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept work directory: {workdir}")
    seconds = time.monotonic() - started
    log(f"{name}: {seconds:.1f}s")
    results = {
        "engine": name, "proof": engine.PROOF, "seconds": round(seconds, 1), "crashed": crashed, "skipped": skipped,
        "cells": [
            {"scenario": sc, "engine": e, "strategy": st, "phases": c.phases, "failures": c.failures, "notes": c.notes}
            for (sc, e, st), c in sorted(RESULTS.items())
        ],
    }
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1))
    failed = sum(1 for c in RESULTS.values() if not c.ok) + len(crashed)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
