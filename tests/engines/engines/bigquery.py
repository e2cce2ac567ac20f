"""BigQuery through dbt-bigquery, on the crucible emulator (BigQuery's REST API on DuckDB).

start() runs `crucible serve` (in-memory DuckDB) on a free loopback port of this venv; dbt-bigquery
talks to it with a dummy OAuth token (`method: oauth-secrets`) and `api_endpoint`. Every statement
dbt-bigquery sends is its own, unchanged: no shim, no fix-up of its SQL.

What passing proves here: dbt-bigquery's merge materialization (CREATE OR REPLACE TABLE of the
`__dbt_tmp` table, the schema check through tables.get, MERGE, DROP) runs dbt-incr's model SQL,
parsed and typed by crucible, with BigQuery's "UPDATE/MERGE must match at most one source row for
each target row" error raised as BigQuery raises it (so a dedup regression fails here).

Not emulated (a pass does not prove them):
- BigQuery's type checks: DuckDB runs the SQL, so `timestamp_sub(<DATETIME>, …)` or a DATETIME
  compared with a TIMESTAMP passes here and fails on BigQuery. Every fixture column is a TIMESTAMP.
- NUMERIC(p,s): crucible does not return parameterised NUMERIC results; fixture `numeric(10,2)` is
  plain NUMERIC (scale 9) here.
- Scripting (DECLARE, multi-statement jobs): dbt-bigquery's microbatch and insert_overwrite run a
  script (`declare dbt_partitions_for_replacement …`), which crucible refuses, so microbatch is not
  run (dbt-incr refuses insert_overwrite).
- DELETE, UPDATE and DROP SCHEMA: the suite's own setup uses BigQuery-valid equivalents (MERGE …
  WHEN NOT MATCHED BY SOURCE THEN DELETE, MERGE … WHEN MATCHED THEN UPDATE, datasets.delete with
  deleteContents) — see delete_all_sql, fixture_sql, reset_sql.
- Partition pruning, require_partition_filter, slots, quotas, the project's default_time_zone
  (crucible is UTC), DML concurrency, costs.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from engines.base import *  # noqa: F401,F403

DIALECT = "bigquery"
PROOF = "emulated (crucible-emulator 0.1.0a2 on DuckDB)"
VENV = "bigquery"
CI = True
# dbt-bigquery offers merge, insert_overwrite and microbatch; dbt-incr refuses insert_overwrite,
# and dbt-bigquery's microbatch is a DECLARE script crucible cannot run (see the docstring).
STRATEGIES = ["merge"]
# dbt-bigquery replaces each batch's partitions: dbt-incr allows microbatch only without a key.
MICROBATCH_KEYED = False

PROJECT = "local-project"
TYPES = {"integer": "INT64", "timestamp": "TIMESTAMP", "numeric": "NUMERIC", "varchar": "STRING", "boolean": "BOOL", "date": "DATE"}

# The emulator has no DELETE statement; a model with `deleted` removes its deletes with a
# post-hook `delete from … where …`, which BigQuery runs and crucible cannot.
SKIP = {
    "deletes": "crucible has no DELETE, which the post-hook of a model with `deleted` runs",
    "overwrite_partitions": "its models have `deleted`, whose post-hook runs a DELETE crucible does not have",
}

_server: subprocess.Popen | None = None
_port: int | None = None


def column_type(fixture_type: str) -> str:
    base = fixture_type.split("(")[0].strip().lower()
    if base not in TYPES:
        raise ValueError(f"no BigQuery type for fixture type {fixture_type!r}")
    return TYPES[base]


def literal(value: str, fixture_type: str) -> str:
    sql_type = column_type(fixture_type)
    if value == "":
        return f"cast(null as {sql_type})"
    return "cast('" + value.replace("\\", "\\\\").replace("'", "\\'") + f"' as {sql_type})"


def create_table_sql(table: str, columns: dict[str, str]) -> str:
    return f"create table {table} ({', '.join(f'{c} {column_type(t)}' for c, t in columns.items())})"


def _endpoint() -> str:
    return f"http://127.0.0.1:{_port}"


def start(workdir) -> None:
    global _server, _port
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _port = s.getsockname()[1]
    s.close()
    log = open(Path(workdir) / "crucible.log", "wb")
    _server = subprocess.Popen(
        [sys.executable, "-m", "crucible.cli", "serve", "--dialect", "bigquery", "--host", "127.0.0.1", "--port", str(_port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{_endpoint()}/_crucible/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if _server.poll() is not None:
            raise RuntimeError(f"crucible exited with {_server.returncode}; see {workdir}/crucible.log")
        if time.monotonic() > deadline:
            raise RuntimeError(f"crucible did not answer in 60 s; see {workdir}/crucible.log")
        time.sleep(0.1)


def stop() -> None:
    global _server
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()
            _server.wait()
        _server = None


def output(workdir, name: str, schema: str) -> dict:
    return {
        "type": "bigquery", "method": "oauth-secrets", "token": "dummy-token-for-the-emulator",
        "project": PROJECT, "dataset": schema, "api_endpoint": _endpoint(),
        "threads": 1, "job_retries": 0, "location": "US",
    }


def reset_sql(schemas: list[str]) -> list[str]:
    """crucible has no DROP SCHEMA: each dataset is deleted with its tables through the REST API
    (datasets.delete?deleteContents=true, what `bq rm -r -d` calls), then created by SQL."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=_endpoint()))
    try:
        for s in schemas:
            client.delete_dataset(f"{PROJECT}.{s}", delete_contents=True, not_found_ok=True)
    finally:
        client.close()
    return [f"create schema {s}" for s in schemas]


def delete_all_sql(table: str) -> str:
    # No DELETE in crucible; this MERGE deletes every row on BigQuery too.
    return f"merge into {table} as t using (select 1 as one) as s on false when not matched by source then delete"


def fixture_sql(sql: str) -> str:
    """crucible has no UPDATE: a fixture's `update T set … where P` runs as the MERGE that does the
    same on BigQuery (every row of T matching P is updated once, from a one-row source)."""
    import sqlglot
    from sqlglot import exp

    trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    if not any(isinstance(t, exp.Update) for t in trees):
        return sql
    out = []
    for tree in trees:
        if isinstance(tree, exp.Update):
            if tree.args.get("from") or tree.args.get("joins"):
                raise ValueError(f"fixture UPDATE with FROM is not translated: {sql}")
            where = tree.args.get("where")
            condition = where.this.sql("bigquery") if where is not None else "true"
            sets = ", ".join(e.sql("bigquery") for e in tree.expressions)
            out.append(f"merge into {tree.this.sql('bigquery')} using (select 1 as dbt_incr_one) on {condition} "
                       f"when matched then update set {sets}")
        else:
            out.append(tree.sql("bigquery"))
    return ";\n".join(out)
