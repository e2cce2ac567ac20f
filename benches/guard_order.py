#!/usr/bin/env python3
"""Side experiment: does the keep-newest guard's target scan prune on DuckDB, and what would
writing the target in load-time order change?

usage: target/bench-venv/bin/python benches/guard_order.py 10000000 DB_PATH

Same history and batch as sql_bench.py. Builds the deduplicated target twice (as the full refresh
does, and the same followed by `order by loaded_at`), then times the incremental SELECT without
the guard, with it, and the DELETE's key probe, against each (median of 3, in-process DuckDB).
"""
import os
import statistics
import sys
import time

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sql_bench as sb  # noqa: E402

n, path = int(sys.argv[1]), sys.argv[2]
con = duckdb.connect(path)
con.execute(sb.history_sql(n))
dedup = "qualify row_number() over (partition by event_id order by loaded_at desc, customer_id, amount, event_at) = 1"


def t(sql, label):
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        con.execute(sql)
        runs.append(time.perf_counter() - start)
    print(f"| {label} | {statistics.median(runs):.3f} s |", flush=True)


print("| step | median of 3 |\n|---|---|")
t(f"create or replace table tgt_unordered as select * from raw_events {dedup}", "full refresh (as generated)")
t(f"create or replace table tgt_ordered as select * from (select * from raw_events {dedup}) order by loaded_at", "full refresh + `order by loaded_at`")
con.execute(sb.batch_sql(n))
wm = "(select max(loaded_at) - interval 3 day from {t})"
for tgt in ["tgt_unordered", "tgt_ordered"]:
    base = f"with s as (select * from raw_events where loaded_at > {wm.format(t=tgt)}), latest as (select * from s {dedup})"
    t(f"{base} select count(*) from latest", f"{tgt}: incremental SELECT without guard")
    guard = f"not exists (select 1 from {tgt} d where d.event_id = latest.event_id and d.loaded_at > latest.loaded_at and d.loaded_at > {wm.format(t=tgt)})"
    t(f"{base} select count(*) from latest where {guard}", f"{tgt}: incremental SELECT with guard")
    t(f"{base} select count(*) from {tgt} where event_id in (select event_id from latest)", f"{tgt}: delete+insert's key probe")
con.close()
os.remove(path)
