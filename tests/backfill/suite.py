"""Backfills and verify under real dbt, through the dbt-incr CLI, on a copy of examples/shop.

On each engine (DuckDB, PostgreSQL):

1. the generated runbook reaches dbt: the model's description in dbt's manifest is the docs block
   of <model>.md;
2. `dbt-incr verify` reports both models equal to a full refresh after correct runs;
3. negative controls: an in-place fix of fct_events without a backfill (event 2, Jan 1), and with
   fct_order_lines at `lookback: 0 minutes` a straggler (order 102, loaded before the table's
   newest load time, ordered Jan 3): verify reports both with their differing rows, and a window
   that includes each difference reports it while one that excludes it reports equal;
4. the request cycle: `backfill new` over Jan 1, `check`, `backfill plan --touched`,
   `backfill run --verify` (equal afterwards, recorded in the file), a second run refused,
   `--again` (on PostgreSQL: new and run --verify only).

dbt is the real one (`.venv/bin/dbt`): the CLI runs it as a subprocess, as users run it; the
setup runs (seed, incremental runs) go through dbtRunner in this process. Options: --engine
(repeatable; default both), --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import yaml
from dbt.cli.main import dbtRunner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "engines"))
import engines  # noqa: E402

BIN = Path(os.environ.get("DBT_INCR_BIN", ROOT / "target" / "release" / "dbt-incr"))
DBT = Path(os.environ.get("DBT", ROOT / ".venv" / "bin" / "dbt"))
WINDOW_A = ("2024-01-01", "2024-01-02")  # holds the in-place fix (event 2), not the straggler
WINDOW_B = ("2024-01-02", "2024-01-05")  # holds the straggler (order 102), not the fix


class Failed(Exception):
    pass


def expect(cond: bool, what: str, detail: str = "") -> None:
    if not cond:
        raise Failed(what + (f"\n{detail}" if detail else ""))


class Shop:
    """A copy of examples/shop on one engine."""

    def __init__(self, engine: str, workdir: Path, log):
        self.engine = engine
        self.log = log
        self.dir = workdir / f"shop_{engine}"
        shutil.copytree(ROOT / "examples" / "shop", self.dir, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*", "backfills"))
        module = engines.load(engine)
        output = module.output(workdir, "shop", "main")
        (self.dir / "profiles.yml").write_text(yaml.safe_dump({"shop": {"target": "dev", "outputs": {"dev": output}}}, sort_keys=False))
        self.output = output
        # The straggler control: order lines re-read nothing before the table's newest load time.
        spec = (self.dir / "incremental.yml").read_text()
        spec = spec.replace("    lookback: 2 days\n", "    lookback: 0 minutes\n").replace("dialect: duckdb\n", f"dialect: {module.DIALECT}\n")
        expect("lookback: 0 minutes" in spec, "examples/shop/incremental.yml: fct_order_lines no longer sets `lookback: 2 days`")
        (self.dir / "incremental.yml").write_text(spec)
        self.cli(["generate", "--quiet"])
        self.runner = dbtRunner()

    def dbt(self, args: list[str]) -> None:
        """dbt in this process (setup only)."""
        res = self.runner.invoke([*args, "--project-dir", str(self.dir), "--profiles-dir", str(self.dir), "--log-level", "none", "--log-level-file", "debug", "--log-path", str(self.dir / "logs")])
        if self.engine == "duckdb":
            # dbt-duckdb keeps its database open in the process between invocations; the CLI's
            # dbt (another process) could not open it then.
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            if DuckDBConnectionManager._ENV is not None:
                DuckDBConnectionManager._ENV.close()
                DuckDBConnectionManager._ENV = None
        if not res.success:
            raise Failed(f"dbt {' '.join(args)} failed: {res.exception}")

    def cli(self, args: list[str], code: int = 0) -> str:
        """dbt-incr in the project; checks its exit code, returns its stdout."""
        full = [str(BIN), *args]
        if args[0] in ("verify", "backfill") and args[:2] != ["backfill", "new"]:
            full += ["--dbt", str(DBT)]
        t0 = time.monotonic()
        p = subprocess.run(full, cwd=self.dir, capture_output=True, text=True)
        self.log(f"    {time.monotonic() - t0:5.1f}s  dbt-incr {' '.join(args)}  -> {p.returncode}")
        expect(p.returncode == code, f"dbt-incr {' '.join(args)}: exit {p.returncode}, expected {code}", p.stdout + p.stderr)
        return p.stdout

    def sql(self, statements: list[str]) -> None:
        """Changes to the raw tables, straight through the engine's own client."""
        if self.engine == "duckdb":
            import duckdb

            con = duckdb.connect(self.output["path"])
            try:
                for s in statements:
                    con.execute(s)
            finally:
                con.close()
        else:
            import psycopg2

            o = self.output
            con = psycopg2.connect(host=o["host"], port=o["port"], user=o["user"], password=o["password"], dbname=o["dbname"])
            try:
                with con, con.cursor() as cur:
                    for s in statements:
                        cur.execute(s)
            finally:
                con.close()

    def verify(self, models: list[str], window: tuple[str, str] | None, code: int) -> dict[str, dict]:
        args = ["verify", *models, "--format", "json"]
        if window:
            args += ["--start", window[0], "--end", window[1]]
        return {f["model"]: f for f in json.loads(self.cli(args, code))}


def run_engine(engine: str, workdir: Path, log) -> None:
    t0 = time.monotonic()
    shop = Shop(engine, workdir, log)
    shop.dbt(["seed"])
    shop.dbt(["run"])

    # 1. The runbook reaches dbt's docs.
    manifest = json.loads((shop.dir / "target" / "manifest.json").read_text())
    for name in ("fct_events", "fct_order_lines"):
        description = manifest["nodes"][f"model.shop.{name}"]["description"]
        md = (shop.dir / "models" / "marts" / f"{name}.md").read_text()
        body = md.split(f"{{% docs dbt_incr__{name} %}}\n", 1)[1].split("{% enddocs %}", 1)[0].strip()
        expect(description == body, f"{name}: dbt's description is not the runbook's docs block", description[:300])
        expect(f"dbt run -s {name} --vars '{{backfill_start: \"START\", backfill_end: \"END\"}}'" in description and "#### Backfill runbook" in description, f"{name}: the runbook lacks its backfill command")
    log(f"  {engine}: runbook in dbt's manifest")

    # 2. Equal after correct runs.
    found = shop.verify(["fct_events", "fct_order_lines"], None, 0)
    expect(all(f["status"] == "equal" for f in found.values()), "verify after correct runs", json.dumps(found, indent=1))

    # 3. Negative controls. A later event moves fct_events' watermark past Jan 1 (lookback 3 days);
    #    then event 2 is fixed in place (its loaded_at unchanged: incremental runs cannot see it),
    #    and order 102 arrives loaded before the order lines' newest load time (lookback 0).
    shop.sql(["insert into main_raw.raw_events values (6, 13, 'purchase', 5.00, '2024-01-19 10:00:00', '2024-01-20 10:00:00')"])
    shop.dbt(["run"])
    shop.sql([
        "update main_raw.raw_events set amount = amount + 1000 where event_id = 2",
        "insert into main_raw.raw_order_lines values (102, 1, 'fig', 2, '2024-01-03 08:00:00', '2024-01-02 11:00:00')",
    ])
    shop.dbt(["run"])
    whole = shop.verify(["fct_events", "fct_order_lines"], None, 1)
    expect(whole["fct_events"]["status"] == "different" and whole["fct_order_lines"]["status"] == "different", "verify misses a negative control", json.dumps(whole, indent=1))
    ev = whole["fct_events"]
    expect(ev["only_in_table"] == 1 and ev["only_in_full_refresh"] == 1 and ev["keys_differing"] == 1, "fct_events: one row differs", json.dumps(ev, indent=1))
    amounts = sorted(float(r["values"]["amount"]) for r in ev["sample"] if r["values"]["event_id"] == "2")
    expect(amounts == [35.5, 1035.5], f"fct_events: the sample shows event 2 before and after the fix, got {amounts}", json.dumps(ev["sample"], indent=1))
    ol = whole["fct_order_lines"]
    expect(ol["only_in_table"] == 0 and ol["only_in_full_refresh"] == 1 and [r["values"]["order_id"] for r in ol["sample"]] == ["102"], "fct_order_lines: the straggler is missing", json.dumps(ol, indent=1))
    # (as text: what a user reads)
    a = shop.cli(["verify", "fct_events", "fct_order_lines", "--start", WINDOW_A[0], "--end", WINDOW_A[1]], 1)
    expect("fct_events: DIFFERENT from a full refresh" in a and "fct_order_lines: equal to a full refresh" in a, "a window holding only the fix", a)
    expect("    event_id=2\n" in a and "differs in       amount" in a, "verify's text names the key and the column that differ", a)
    b = shop.verify(["fct_events", "fct_order_lines"], WINDOW_B, 1)
    expect(b["fct_events"]["status"] == "equal" and b["fct_order_lines"]["status"] == "different", "a window holding only the straggler", json.dumps(b, indent=1))
    log(f"  {engine}: verify reports both negative controls, in the windows that hold them only")

    # 4. The request cycle: a reviewed backfill of the fixed window, run and recorded.
    out = shop.cli(["backfill", "new", "fct_events", "--start", WINDOW_A[0], "--end", WINDOW_A[1], "--reason", "event 2 corrected in place by the loader", "--by", "Test <test@example.com>"])
    path = out.split()[1]
    shop.cli(["check"])
    plan = shop.cli(["backfill", "plan", "--touched"])
    expect("touches (dbt show): keys_in_window=2, versions_read=2" in plan and "dbt run --select fct_events --vars" in plan, "backfill plan", plan)
    shop.cli(["backfill", "run", path, "--verify", "--by", "Ops <ops@example.com>"])
    request = yaml.safe_load((shop.dir / path).read_text())
    run = request["runs"][0]
    expect(run["result"] == "success" and run["verify"].startswith("equal") and run["downstream"].startswith("success"), "the run's record", json.dumps(request, indent=1))
    if engine == "postgres":
        expect(run.get("rows_affected") == 2, "PostgreSQL reports the rows the backfill wrote", json.dumps(run))
    refused = shop.cli(["backfill", "run", path], 2)
    if engine == "duckdb":
        shop.cli(["backfill", "run", path, "--again", "--no-downstream", "--by", "Ops <ops@example.com>"])
        request = yaml.safe_load((shop.dir / path).read_text())
        expect(len(request["runs"]) == 2 and request["runs"][1]["again"] is True, "--again is recorded", json.dumps(request, indent=1))
        shop.cli(["check"])
    del refused
    log(f"  {engine}: backfill new, check, plan, run --verify, refused twice, --again: {time.monotonic() - t0:.1f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", action="append", choices=["duckdb", "postgres"])
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="agate")
    for path, what in ((BIN, "cargo build --release"), (DBT, "scripts/python-env")):
        if not path.exists():
            print(f"tests/backfill: missing {path}: run {what}", file=sys.stderr)
            return 2

    def log(msg: str) -> None:
        print(msg, flush=True)

    started = time.monotonic()
    if not args.engine:
        # One process per engine, side by side (most of the time is dbt starting and parsing);
        # each one's output is printed when it ends.
        procs = {e: subprocess.Popen([sys.executable, __file__, "--engine", e, *(["--keep"] if args.keep else [])], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for e in ("duckdb", "postgres")}
        status = 0
        for e, p in procs.items():
            out, _ = p.communicate()
            print(f"== {e}\n{out}", end="", flush=True)
            status = status or p.returncode
        log(f"tests/backfill: {'ok' if status == 0 else 'FAILED'} in {time.monotonic() - started:.1f}s")
        return status
    workdir = Path(tempfile.mkdtemp(prefix="dbt-incr-backfill-"))
    failures = []
    for engine in args.engine:
        module = engines.load(engine)
        try:
            module.start(workdir)
            run_engine(engine, workdir, log)
        except Failed as e:
            failures.append(f"{engine}: {e}")
        except Exception as e:  # noqa: BLE001 - reported as the engine's failure
            failures.append(f"{engine}: {type(e).__name__}: {e}")
        finally:
            module.stop()
    if failures or args.keep:
        log(f"kept work directory: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    for f in failures:
        print(f"FAILED {f}", file=sys.stderr)
    log(f"tests/backfill: {'ok' if not failures else f'{len(failures)} failed'} in {time.monotonic() - started:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
