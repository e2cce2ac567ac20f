#!/usr/bin/env python3
"""Writes a dbt project with N incremental models in its spec (for the benchmarks).

usage: make_project.py DIR N [--hand-written]
  Models cycle through the spec's shapes: single key with every column, composite key with a
  column list and merge, a tie breaker, a subfolder. --hand-written also writes, instead of a
  spec, N hand-written equivalent models (for the dbt parse comparison).
"""
import os
import sys

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
      path: "{{ env_var('BENCH_DUCKDB', 'bench.duckdb') }}"
      threads: 1
"""

SOURCES = """version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: events
"""

COLUMNS = "[event_id, customer_id, amount, event_at, loaded_at]"


def spec_entry(i):
    shape = i % 4
    lines = [f"  - name: m_{i:05d}", "    from: source('raw', 'events')"]
    if shape == 1:
        lines += ["    unique_key: [event_id, customer_id]", "    incremental_strategy: merge", f"    columns: {COLUMNS}"]
    else:
        lines += ["    unique_key: event_id"]
    lines += ["    load_time: loaded_at", "    event_time: event_at"]
    if shape == 2:
        lines += ["    lookback: 2 days", "    tie_breaker: [amount]"]
    if shape == 3:
        lines += [f"    path: group_{i % 50:02d}"]
    return "\n".join(lines)


# A hand-written model doing what a generated one does on its incremental path (load-time
# lookback from the target's watermark, dedup, never replace a newer version), without the
# backfill branch, the dispatch macros and the generated properties file.
HAND = """{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id') }}

with source_rows as (
    select * from {{ source('raw', 'events') }}
    {% if is_incremental() %}
    where loaded_at > (select max(loaded_at) - interval '3 day' from {{ this }})
    {% endif %}
),
latest as (
    select * from source_rows
    qualify row_number() over (partition by event_id order by loaded_at desc, customer_id, amount, event_at) = 1
)
select * from latest
{% if is_incremental() %}
where not exists (
    select 1 from {{ this }} as t
    where t.event_id = latest.event_id and t.loaded_at > latest.loaded_at
      and t.loaded_at > (select max(loaded_at) - interval '3 day' from {{ this }})
)
{% endif %}
"""


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    hand = "--hand-written" in sys.argv
    os.makedirs(os.path.join(root, "models"), exist_ok=True)
    with open(os.path.join(root, "dbt_project.yml"), "w") as f:
        f.write(PROJECT)
    with open(os.path.join(root, "profiles.yml"), "w") as f:
        f.write(PROFILES)
    with open(os.path.join(root, "models", "sources.yml"), "w") as f:
        f.write(SOURCES)
    if hand:
        for i in range(n):
            with open(os.path.join(root, "models", f"m_{i:05d}.sql"), "w") as f:
                f.write(HAND)
        return
    with open(os.path.join(root, "incremental.yml"), "w") as f:
        f.write("version: 1\ndialect: duckdb\ndefaults:\n  lookback: 3 days\nmodels:\n")
        f.write("\n".join(spec_entry(i) for i in range(n)))
        f.write("\n")


if __name__ == "__main__":
    main()
