#!/usr/bin/env python3
"""What the generated SQL costs on DuckDB, against a full refresh and the usual alternatives.

usage: sql_bench.py --rows 1000000 [--rows 10000000] [--repeats 3] --work DIR --out results.json
       --dbt PATH/TO/dbt --dbt-incr PATH/TO/dbt-incr

For each history size: a raw table of N rows over two years, written in load-time order (~5 %
corrections, ~1 % exact duplicates), then one day's batch of BATCH_ROWS rows (new rows, late rows
with old event times, corrections of recent and of old keys, exact duplicates). Five models are
built on the history, the batch is appended, and each model runs incrementally in its own
`dbt run -s MODEL` (its own DuckDB process, so none reads the source from another's warm buffers):

  gen_events          dbt-incr's model, default strategy (delete+insert on DuckDB)
  gen_events_merge    dbt-incr's model, incremental_strategy: merge
  hand_minimal        hand-written: load-time lookback + QUALIFY dedup, delete+insert, no guard
  microbatch          dbt microbatch on event_at, batch_size day, over the 3 lookback days + today
  naive               event-time filter (event_at > max(event_at) in the target), append

Times are in-database: the sum of the SQL statement times dbt logs for the model (its debug JSON
log), and run_results.json execution_time (which adds dbt's own work between statements). The
full refresh of gen_events over history + batch is the reference, for time and for equality
(rows lost / extra per model, counted on a hash of each row; first repeat only).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import duckdb

BATCH_ROWS = 15_000
T0 = "2024-01-01 00:00:00"
T_END = "2026-01-01 00:00:00"  # history is loaded in [T0, T_END); the batch on the day after
LOOKBACK_DAYS = 3
COLS = "event_id, customer_id, amount, event_at, loaded_at"
MODELS = ["gen_events", "gen_events_merge", "hand_minimal", "microbatch", "naive"]

PROJECT = """name: bench
version: "1.0.0"
profile: bench
model-paths: ["models"]
macro-paths: ["macros"]
"""
PROFILES = """bench:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('BENCH_DUCKDB') }}"
      threads: 1
"""
SOURCES = """version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: events
        identifier: raw_events
        config:
          event_time: event_at
"""
SPEC = f"""version: 1
dialect: duckdb
defaults:
  lookback: {LOOKBACK_DAYS} days
models:
  - name: gen_events
    from: source('raw', 'events')
    unique_key: event_id
    load_time: loaded_at
    event_time: event_at
  - name: gen_events_merge
    from: source('raw', 'events')
    unique_key: event_id
    load_time: loaded_at
    event_time: event_at
    incremental_strategy: merge
"""
DEDUP = "qualify row_number() over (partition by event_id order by loaded_at desc, customer_id, amount, event_at) = 1"
HAND = {
    "hand_minimal": f"""{{{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id') }}}}
select {COLS}
from {{{{ source('raw', 'events') }}}}
{{% if is_incremental() %}}
where loaded_at > (select max(loaded_at) - interval '{LOOKBACK_DAYS} day' from {{{{ this }}}})
{{% endif %}}
{DEDUP}
""",
    "microbatch": f"""{{{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_at',
    batch_size='day', lookback={LOOKBACK_DAYS}, begin='2024-01-01') }}}}
select {COLS}
from {{{{ source('raw', 'events') }}}}
{DEDUP}
""",
    "naive": f"""{{{{ config(materialized='incremental', incremental_strategy='append') }}}}
select {COLS}
from {{{{ source('raw', 'events') }}}}
{{% if is_incremental() %}}
where event_at > (select max(event_at) from {{{{ this }}}})
{{% endif %}}
{DEDUP}
""",
}


def history_sql(n):
    nb = round(n * 0.94)
    nc = round(n * 0.05)
    nd = n - nb - nc
    span = f"(epoch_us(timestamp '{T_END}') - epoch_us(timestamp '{T0}'))"
    return f"""
create or replace table base as
select
    i as event_id,
    hash(i, 'c') % 100000 as customer_id,
    cast((hash(i, 'a') % 100000) / 100.0 as decimal(10, 2)) as amount,
    make_timestamp(epoch_us(timestamp '{T0}') + cast(i * ({span}::double / {nb}) as bigint)) as loaded_at
from range({nb}) t(i);
create or replace table base2 as
select event_id, customer_id, amount, loaded_at,
    -- event time: up to 2 h before loading; 2 % arrive 1-30 days late
    loaded_at - to_seconds(cast(hash(event_id, 'e') % 7200 as bigint))
        - case when hash(event_id, 'l') % 50 = 0 then to_days(cast(1 + hash(event_id, 'd') % 30 as integer)) else interval 0 day end
        as event_at
from base;
create or replace table corrections as
select b.event_id, b.customer_id,
    cast((hash(j, 'a2') % 100000) / 100.0 as decimal(10, 2)) as amount,
    b.event_at,
    least(b.loaded_at + to_seconds(cast(1 + hash(j, 'g') % (30 * 86400) as bigint)),
          timestamp '{T_END}' - interval 1 second) as loaded_at
from range({nc}) t(j)
join base2 b on b.event_id = hash(j, 'k') % {nb};
create or replace table dups as
select b.event_id, b.customer_id, b.amount, b.event_at, b.loaded_at
from range({nd}) t(j)
join base2 b on b.event_id = hash(j, 'x') % {nb};
create or replace table raw_events as
select * from (
    select {COLS} from base2
    union all select {COLS} from corrections
    union all select {COLS} from dups
) order by loaded_at;
drop table base; drop table base2; drop table corrections; drop table dups;
checkpoint;
"""


def batch_sql(n):
    nb = round(n * 0.94)
    recent_first = round(nb * (1 - LOOKBACK_DAYS / 730))
    day = f"timestamp '{T_END}'"
    k = BATCH_ROWS
    n_new, n_late, n_rc, n_oc = round(k * 0.70), round(k * 0.10), round(k * 0.08), round(k * 0.07)
    n_dup = k - n_new - n_late - n_rc - n_oc
    return f"""
create or replace temp table batch as
select 1000000000 + r as event_id, hash(r, 'bc') % 100000 as customer_id,
    cast((hash(r, 'ba') % 100000) / 100.0 as decimal(10, 2)) as amount,
    {day} + to_seconds(cast(hash(r, 'bt') % 86400 as bigint)) - to_seconds(cast(hash(r, 'be') % 3600 as bigint)) as event_at,
    {day} + to_seconds(cast(hash(r, 'bt') % 86400 as bigint)) as loaded_at
from range({n_new}) t(r)
union all
-- late rows: new keys whose event time is 4-60 days old
select 2000000000 + r, hash(r, 'lc') % 100000,
    cast((hash(r, 'la') % 100000) / 100.0 as decimal(10, 2)),
    {day} - to_days(cast(4 + hash(r, 'ld') % 57 as integer)),
    {day} + to_seconds(cast(hash(r, 'lt') % 86400 as bigint))
from range({n_late}) t(r)
union all
-- corrections of keys loaded in the last {LOOKBACK_DAYS} days, and of keys of any age
select h.event_id, h.customer_id, cast((hash(r, c.tag) % 100000) / 100.0 as decimal(10, 2)), h.event_at,
    {day} + to_seconds(cast(hash(r, c.tag, 't') % 86400 as bigint))
from (
    select r, 'rc' as tag, {recent_first} + hash(r, 'rk') % ({nb} - {recent_first}) as id from range({n_rc}) t(r)
    union all
    select r, 'oc', hash(r, 'ok') % {nb} from range({n_oc}) t(r)
) c
join (select * from raw_events qualify row_number() over (partition by event_id order by loaded_at) = 1) h
    on h.event_id = c.id;
insert into batch select * from batch using sample {n_dup} rows (reservoir, 42);
insert into raw_events select {COLS} from batch order by loaded_at;
checkpoint;
"""


def filters_text(filters):
    return " AND ".join(filters) if isinstance(filters, list) else filters


def sh(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-5000:] + r.stderr[-5000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r


class Bench:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.project = os.path.join(work, "project")
        self.db = os.path.join(work, "bench.duckdb")
        self.pristine = os.path.join(work, "pristine.duckdb")
        self.env = dict(os.environ, BENCH_DUCKDB=self.db, DBT_PROFILES_DIR=self.project, DBT_SEND_ANONYMOUS_USAGE_STATS="false")

    def write_project(self):
        shutil.rmtree(self.project, ignore_errors=True)
        os.makedirs(os.path.join(self.project, "models", "hand"))
        files = {"dbt_project.yml": PROJECT, "profiles.yml": PROFILES, "models/sources.yml": SOURCES, "incremental.yml": SPEC}
        files.update({f"models/hand/{name}.sql": text for name, text in HAND.items()})
        for path, text in files.items():
            with open(os.path.join(self.project, path), "w") as f:
                f.write(text)
        sh([self.args.dbt_incr, "generate", "--project", self.project, "-q"])

    def dbt(self, *args):
        log_dir = os.path.join(self.project, "logs")
        shutil.rmtree(log_dir, ignore_errors=True)
        sh([self.args.dbt, *args, "--log-format-file", "json", "--log-level-file", "debug", "--log-path", log_dir], env=self.env, cwd=self.project)
        with open(os.path.join(self.project, "target", "run_results.json")) as f:
            results = json.load(f)["results"]
        sql = {}
        with open(os.path.join(log_dir, "dbt.log")) as f:
            for line in f:
                event = json.loads(line)
                if event["info"]["name"] != "SQLQueryStatus":
                    continue
                node = event["data"].get("node_info", {}).get("unique_id", "")
                name = node.rsplit(".", 1)[-1]
                sql[name] = sql.get(name, 0.0) + float(event["data"]["elapsed"])
        return {r["unique_id"].rsplit(".", 1)[-1]: {"execution_time": r["execution_time"], "sql_time": sql.get(r["unique_id"].rsplit(".", 1)[-1], 0.0)} for r in results}

    def query(self, sql, fetch=False):
        con = duckdb.connect(self.db)
        try:
            out = con.execute(sql).fetchall() if fetch else con.execute(sql)
            return out if fetch else None
        finally:
            con.close()

    def setup(self, n):
        for p in (self.db, self.pristine, self.db + ".wal"):
            if os.path.exists(p):
                os.remove(p)
        t = time.time()
        self.query(history_sql(n))
        gen_time = time.time() - t
        initial = self.dbt("run", "--full-refresh", "--exclude", "microbatch")
        # A microbatch model's first run processes every day since `begin` (730 batches); its
        # state after that is the deduplicated history, built here directly.
        self.query(f"create table main.microbatch as select {COLS} from main.raw_events {DEDUP}; checkpoint;")
        shutil.copyfile(self.db, self.pristine)
        return gen_time, initial

    def restore(self):
        if os.path.exists(self.db + ".wal"):
            os.remove(self.db + ".wal")
        shutil.copyfile(self.pristine, self.db)

    def incremental_run(self, n):
        self.restore()
        self.query(batch_sql(n))
        start = f"{T_END[:10]}"
        ev_start = self.query(f"select strftime(timestamp '{T_END}' - interval {LOOKBACK_DAYS} day, '%Y-%m-%d')", fetch=True)[0][0]
        ev_end = self.query(f"select strftime(timestamp '{T_END}' + interval 1 day, '%Y-%m-%d')", fetch=True)[0][0]
        del start
        # One dbt invocation (so one DuckDB process) per model: in a shared one, the first model
        # would read the source cold and the others from DuckDB's warm buffers.
        results = {}
        for model in MODELS:
            results.update(self.dbt("run", "-s", model, "--event-time-start", ev_start, "--event-time-end", ev_end))
        return results

    def equality(self, compare):
        """Full refresh of gen_events (timed); with `compare`, each model's incremental result
        against it: rows lost and extra, as EXCEPT ALL both ways would count them."""
        if compare:
            self.query(f"create or replace table main.inc_gen_events as select {COLS} from main.gen_events; checkpoint;")
        full = self.dbt("run", "--full-refresh", "-s", "gen_events")["gen_events"]
        if not compare:
            return full, None, None, None
        out = {}
        t = time.time()
        con = duckdb.connect(self.db)
        # Rows lost / extra as multisets (what EXCEPT ALL both ways counts), on a 64-bit hash of
        # each row: one hash aggregate per model instead of two EXCEPT ALLs of every column.
        row_hash = f"hash({COLS})"
        for m in ["inc_gen_events", "gen_events_merge", "hand_minimal", "microbatch", "naive"]:
            lost, extra = con.execute(f"""
                select coalesce(sum(greatest(a - b, 0)), 0), coalesce(sum(greatest(b - a, 0)), 0)
                from (
                    select h, count(*) filter (where side = 0) as a, count(*) filter (where side = 1) as b
                    from (select {row_hash} as h, 0 as side from main.gen_events
                          union all select {row_hash}, 1 from main.{m})
                    group by h
                )
                where a <> b""").fetchone()
            out[m.removeprefix("inc_")] = {"lost": int(lost), "extra": int(extra), "equal": lost == 0 and extra == 0}
        rows = con.execute("select count(*) from main.gen_events").fetchone()[0]
        con.close()
        return full, out, time.time() - t, rows

    def profile(self, n):
        """Rows scanned per table by each model's compiled incremental SELECT (DuckDB profiler)."""
        self.restore()
        self.query(batch_sql(n))
        sh([self.args.dbt, "compile", "-s", "gen_events", "hand_minimal", "naive", "--log-path", os.path.join(self.project, "logs")], env=self.env, cwd=self.project)
        out = {}
        for name in ["gen_events", "hand_minimal", "naive"]:
            path = None
            for root, _, files in os.walk(os.path.join(self.project, "target", "compiled")):
                if f"{name}.sql" in files:
                    path = os.path.join(root, f"{name}.sql")
            with open(path) as f:
                sql = f.read()
            prof = os.path.join(self.work, "profile.json")
            con = duckdb.connect(self.db)
            con.execute("set enable_profiling = 'json'")
            con.execute(f"set profiling_output = '{prof}'")
            t = time.time()
            rows = len(con.execute(sql).fetchall())
            elapsed = time.time() - t
            con.execute("set enable_profiling = 'no_output'")
            con.close()
            with open(prof) as f:
                p = json.load(f)
            scans = []

            def walk(node):
                if node.get("type") == "TABLE_SCAN":
                    info = node.get("extra_info", {})
                    scans.append({
                        "table": info.get("Table", "?").rsplit(".", 1)[-1],
                        "rows_scanned": node.get("rows_scanned"),
                        "row_groups": f"{node.get('row_groups_scanned')}/{node.get('total_row_groups_to_scan')}",
                        "filters": filters_text(info.get("Dynamic Filters") or info.get("Filters") or ""),
                    })
                for child in node.get("children", []):
                    walk(child)

            for node in p["operator"]:
                walk(node)
            out[name] = {"select_time": elapsed, "rows_out": rows, "total_rows_scanned": p["query"]["total_rows_scanned"], "scans": scans}
            if name == "gen_events":
                with open(os.path.join(self.work, f"gen_events.incremental.{n}.sql"), "w") as f:
                    f.write(sql)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dbt", required=True)
    ap.add_argument("--dbt-incr", required=True)
    args = ap.parse_args()
    args.dbt = os.path.abspath(args.dbt)
    args.dbt_incr = os.path.abspath(args.dbt_incr)
    os.makedirs(args.work, exist_ok=True)
    bench = Bench(args, os.path.abspath(args.work))
    bench.write_project()
    results = {"batch_rows": BATCH_ROWS, "lookback_days": LOOKBACK_DAYS, "sizes": {}}
    for n in args.rows:
        print(f"sql: {n:,} rows: generating history", file=sys.stderr)
        gen_time, initial = bench.setup(n)
        runs, fulls = [], []
        equality = None
        for rep in range(args.repeats):
            print(f"sql: {n:,} rows: run {rep + 1}/{args.repeats}", file=sys.stderr)
            runs.append(bench.incremental_run(n))
            full, eq, eq_time, truth_rows = bench.equality(compare=rep == 0)
            fulls.append(full)
            equality = equality or {"models": eq, "query_time": eq_time, "rows": truth_rows}
        med = {}
        for m in MODELS:
            med[m] = {k: statistics.median(r[m][k] for r in runs) for k in ("execution_time", "sql_time")}
            med[m]["runs_sql_time"] = [r[m]["sql_time"] for r in runs]
        med["full_refresh"] = {k: statistics.median(f[k] for f in fulls) for k in ("execution_time", "sql_time")}
        med["full_refresh"]["runs_sql_time"] = [f["sql_time"] for f in fulls]
        print(f"sql: {n:,} rows: profiling", file=sys.stderr)
        results["sizes"][str(n)] = {
            "history_rows": n,
            "history_generation_s": gen_time,
            "initial_full_refresh": initial,
            "median": med,
            "equality": equality,
            "profile": bench.profile(n),
        }
        for p in (bench.db, bench.pristine, bench.db + ".wal"):
            if os.path.exists(p):
                os.remove(p)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
