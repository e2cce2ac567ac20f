#!/usr/bin/env python3
"""Per-statement times of one incremental run of the generated and the hand-written model.

usage: target/bench-venv/bin/python benches/statements.py 10000000 WORK_DIR

Builds sql_bench.py's project and data in WORK_DIR, appends the batch, runs each model on its own,
and prints every SQL statement dbt ran for it with its time (from dbt's debug JSON log).
"""
import json
import os
import shutil
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sql_bench as sb  # noqa: E402

n, work = int(sys.argv[1]), os.path.abspath(sys.argv[2])
here = os.path.dirname(os.path.abspath(__file__))
args = types.SimpleNamespace(dbt=os.path.join(here, "..", "target", "bench-venv", "bin", "dbt"), dbt_incr=os.path.join(here, "..", "target", "release", "dbt-incr"))
os.makedirs(work, exist_ok=True)
bench = sb.Bench(args, work)
bench.write_project()
bench.setup(n)
bench.restore()
bench.query(sb.batch_sql(n))
print("| model | statement | time |\n|---|---|---|")
for model in ("gen_events", "hand_minimal"):
    bench.dbt("run", "-s", model)
    sql = None
    with open(os.path.join(bench.project, "logs", "dbt.log")) as f:
        for line in f:
            event = json.loads(line)
            name = event["info"]["name"]
            if name == "SQLQuery":
                sql = " ".join(event["data"]["sql"].split())
                sql = sql.split("*/", 1)[-1].strip()[:70]
            elif name == "SQLQueryStatus":
                print(f"| {model} | `{sql}` | {float(event['data']['elapsed']):.3f} s |")
shutil.rmtree(work)
